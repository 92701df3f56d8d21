/*
 * beam.c — beam search bookkeeping: ranking extensions, live and finished beams, the stop test
 * and the final choice.
 *
 * Each beam (live or finished) owns a token array of max_len entries, allocated at creation;
 * a step builds the new live set in a second array of beams and swaps, so stepping allocates
 * nothing. Every live beam has the same length: the number of steps taken.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sample/beam.h"

typedef struct beam {
  int32_t *tokens; /* max_len entries */
  uint32_t len;
  float cum;
} beam;

typedef struct extension {
  float sum;
  uint32_t parent;
  uint32_t cand;
  int32_t token;
} extension;

typedef struct ranked_hyp {
  pv_beam_hyp hyp;
  uint32_t order; /* finished before live, then in insertion order */
} ranked_hyp;

struct pv_beam_search {
  pv_beam_config cfg;
  beam *live, *next, *fin;
  float *fin_score;
  uint32_t n_live, n_fin, steps;
  extension *ext;       /* width * max_cand */
  uint32_t *parent;     /* width */
  int32_t *token;       /* width */
  uint32_t *n_children; /* width */
  ranked_hyp *ranked;   /* n_best + width */
};

float pv_beam_score(float cum_logprob, uint32_t len, float length_penalty) {
  double l = len ? (double)len : 1.0;
  return (float)((double)cum_logprob / pow(l, (double)length_penalty));
}

static void free_beams(beam *bs, uint32_t n) {
  if (!bs) return;
  for (uint32_t i = 0; i < n; i++) free(bs[i].tokens);
  free(bs);
}

static beam *alloc_beams(uint32_t n, uint32_t max_len) {
  beam *bs = calloc(n, sizeof *bs);
  if (!bs) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    bs[i].tokens = malloc((size_t)max_len * sizeof *bs[i].tokens);
    if (!bs[i].tokens) {
      free_beams(bs, n);
      return NULL;
    }
  }
  return bs;
}

static int check_config(const pv_beam_config *c, pv_error *err) {
  if (c->width == 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "beam search: width 0");
  if (c->n_best == 0 || c->n_best > c->width)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "beam search: n_best %u outside 1..%u", c->n_best, c->width);
  if (c->max_cand == 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "beam search: max_cand 0");
  if (c->max_len == 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "beam search: max_len 0");
  if (!isfinite(c->length_penalty)) return pv_fail(err, PAGEDVK_ERR_INVALID, "beam search: length_penalty not finite");
  if ((uint64_t)c->width * c->max_cand > UINT32_MAX)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "beam search: width * max_cand too large");
  return PAGEDVK_OK;
}

int pv_beam_create(pv_beam_search **out, const pv_beam_config *cfg, pv_error *err) {
  *out = NULL;
  int rc = check_config(cfg, err);
  if (rc) return rc;
  pv_beam_search *b = calloc(1, sizeof *b);
  if (!b) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "beam search: out of memory");
  b->cfg = *cfg;
  uint32_t w = cfg->width;
  b->live = alloc_beams(w, cfg->max_len);
  b->next = alloc_beams(w, cfg->max_len);
  b->fin = alloc_beams(cfg->n_best, cfg->max_len);
  b->fin_score = calloc(cfg->n_best, sizeof *b->fin_score);
  b->ext = calloc((size_t)w * cfg->max_cand, sizeof *b->ext);
  b->parent = calloc(w, sizeof *b->parent);
  b->token = calloc(w, sizeof *b->token);
  b->n_children = calloc(w, sizeof *b->n_children);
  b->ranked = calloc((size_t)cfg->n_best + w, sizeof *b->ranked);
  if (!b->live || !b->next || !b->fin || !b->fin_score || !b->ext || !b->parent || !b->token || !b->n_children ||
      !b->ranked) {
    pv_beam_destroy(b);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "beam search: out of memory");
  }
  b->n_live = 1; /* the prompt: no tokens, log-probability 0 */
  *out = b;
  return PAGEDVK_OK;
}

void pv_beam_destroy(pv_beam_search *b) {
  if (!b) return;
  free_beams(b->live, b->cfg.width);
  free_beams(b->next, b->cfg.width);
  free_beams(b->fin, b->cfg.n_best);
  free(b->fin_score);
  free(b->ext);
  free(b->parent);
  free(b->token);
  free(b->n_children);
  free(b->ranked);
  free(b);
}

uint32_t pv_beam_n_live(const pv_beam_search *b) { return b->n_live; }

const int32_t *pv_beam_tokens(const pv_beam_search *b, uint32_t i, uint32_t *len, float *cum_logprob) {
  if (i >= b->n_live) return NULL;
  if (len) *len = b->live[i].len;
  if (cum_logprob) *cum_logprob = b->live[i].cum;
  return b->live[i].tokens;
}

static int ext_cmp(const void *pa, const void *pb) {
  const extension *a = pa, *b = pb;
  if (a->sum != b->sum) return a->sum > b->sum ? -1 : 1;
  if (a->parent != b->parent) return a->parent < b->parent ? -1 : 1;
  return a->cand < b->cand ? -1 : (a->cand > b->cand);
}

/* Lists every extension with a finite log-probability; fails on NaN. */
static int rank_extensions(pv_beam_search *b, const pv_cand *cands, uint32_t n_cand, uint32_t *n_ext,
                           pv_error *err) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < b->n_live; i++) {
    for (uint32_t j = 0; j < n_cand; j++) {
      pv_cand c = cands[(size_t)i * n_cand + j];
      if (isnan(c.v)) return pv_fail(err, PAGEDVK_ERR_INVALID, "beam search: NaN log-probability");
      if (c.v == -INFINITY) continue;
      b->ext[n++] = (extension){b->live[i].cum + c.v, i, j, c.id};
    }
  }
  qsort(b->ext, n, sizeof *b->ext, ext_cmp);
  *n_ext = n;
  return PAGEDVK_OK;
}

static void extend(beam *dst, const beam *parent, int32_t token, float sum) {
  memcpy(dst->tokens, parent->tokens, (size_t)parent->len * sizeof *dst->tokens);
  dst->tokens[parent->len] = token;
  dst->len = parent->len + 1;
  dst->cum = sum;
}

static uint32_t worst_finished(const pv_beam_search *b) {
  uint32_t w = 0;
  for (uint32_t i = 1; i < b->n_fin; i++)
    if (b->fin_score[i] < b->fin_score[w]) w = i;
  return w;
}

/* Keeps the hypothesis when there is room or it beats the worst kept one. */
static void add_finished(pv_beam_search *b, const beam *parent, int32_t token, float sum) {
  float score = pv_beam_score(sum, parent->len + 1, b->cfg.length_penalty);
  uint32_t slot = b->n_fin;
  if (b->n_fin == b->cfg.n_best) {
    slot = worst_finished(b);
    if (!(score > b->fin_score[slot])) return;
  } else {
    b->n_fin++;
  }
  extend(&b->fin[slot], parent, token, sum);
  b->fin_score[slot] = score;
}

int pv_beam_step(pv_beam_search *b, const pv_cand *cands, uint32_t n_cand, pv_beam_is_eog_fn is_eog, void *user,
                 pv_beam_step_out *out, pv_error *err) {
  if (pv_beam_is_done(b)) return pv_fail(err, PAGEDVK_ERR_INVALID, "beam search: step after the search is done");
  if (n_cand == 0 || n_cand > b->cfg.max_cand || !cands)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "beam search: %u candidates per beam (max %u)", n_cand, b->cfg.max_cand);
  uint32_t n_ext = 0;
  int rc = rank_extensions(b, cands, n_cand, &n_ext, err);
  if (rc) return rc;
  uint32_t n_new = 0, finished = 0, width = b->cfg.width;
  memset(b->n_children, 0, (size_t)width * sizeof *b->n_children);
  for (uint32_t r = 0; r < n_ext && n_new < width; r++) {
    const extension *e = &b->ext[r];
    if (is_eog && is_eog(e->token, user)) {
      if (r < width) {
        add_finished(b, &b->live[e->parent], e->token, e->sum);
        finished++;
      }
      continue;
    }
    extend(&b->next[n_new], &b->live[e->parent], e->token, e->sum);
    b->parent[n_new] = e->parent;
    b->token[n_new] = e->token;
    b->n_children[e->parent]++;
    n_new++;
  }
  beam *t = b->live;
  b->live = b->next;
  b->next = t;
  b->n_live = n_new;
  b->steps++;
  *out = (pv_beam_step_out){n_new, b->parent, b->token, b->n_children, finished};
  return PAGEDVK_OK;
}

/* The highest score live beam i could still reach (its cum_logprob can only fall). */
static float best_reachable(const pv_beam_search *b, const beam *lb) {
  float lp = b->cfg.length_penalty;
  uint32_t len = lp > 0.0f ? b->cfg.max_len : lb->len + 1;
  return pv_beam_score(lb->cum, len, lp);
}

/* n_best hypotheses are finished and no live beam can beat the worst of them. */
static bool finished_unbeatable(const pv_beam_search *b) {
  if (b->n_fin < b->cfg.n_best) return false;
  float worst = b->fin_score[worst_finished(b)];
  for (uint32_t i = 0; i < b->n_live; i++)
    if (best_reachable(b, &b->live[i]) > worst) return false;
  return true;
}

bool pv_beam_is_done(const pv_beam_search *b) {
  return b->n_live == 0 || b->steps >= b->cfg.max_len || finished_unbeatable(b);
}

static int ranked_cmp(const void *pa, const void *pb) {
  const ranked_hyp *a = pa, *b = pb;
  if (a->hyp.score != b->hyp.score) return a->hyp.score > b->hyp.score ? -1 : 1;
  return a->order < b->order ? -1 : (a->order > b->order);
}

static pv_beam_hyp make_hyp(const beam *bm, float score, bool eog) {
  return (pv_beam_hyp){bm->tokens, bm->len, bm->cum, score, eog};
}

uint32_t pv_beam_final(pv_beam_search *b, pv_beam_hyp *out, uint32_t max_out) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < b->n_fin; i++)
    b->ranked[n] = (ranked_hyp){make_hyp(&b->fin[i], b->fin_score[i], true), n}, n++;
  if (!finished_unbeatable(b)) {
    for (uint32_t i = 0; i < b->n_live; i++) {
      const beam *lb = &b->live[i];
      b->ranked[n] = (ranked_hyp){make_hyp(lb, pv_beam_score(lb->cum, lb->len, b->cfg.length_penalty), false), n};
      n++;
    }
  }
  qsort(b->ranked, n, sizeof *b->ranked, ranked_cmp);
  uint32_t k = n < b->cfg.n_best ? n : b->cfg.n_best;
  if (k > max_out) k = max_out;
  for (uint32_t i = 0; i < k; i++) out[i] = b->ranked[i].hyp;
  return k;
}
