/*
 * sampler.c — pv_sampler: penalties, log-probabilities, greedy, and the stochastic path
 * (temperature → top-k → top-p → min-p → draw) over a candidate scratch owned by the sampler.
 *
 * Invariant of the stochastic path: cand[0..n) are the surviving candidates; `sorted` says
 * whether they are in best-first order. Weights are exp((logit - max) / T) in (0, 1], the best
 * candidate (always kept by every filter) has weight exactly 1.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sample/logits.h"
#include "sample/penalty.h"
#include "sample/rng.h"
#include "sample/sampler.h"

/* Up to this k, top-k reads the row through a heap instead of copying it. */
#define HEAP_TOP_K_MAX 256u
/* The first best-first prefix top-p sorts; it grows fourfold while the mass is short. */
#define TOP_P_FIRST_CHUNK 64u

struct pv_sampler {
  float temperature;
  uint32_t top_k; /* 0 = off */
  float top_p;
  float min_p;
  pv_penalties penalties;
  uint32_t n_logprobs;
  int has_seed;
  uint64_t request_seed; /* params.seed when has_seed */
  uint64_t seed;         /* what the PRNG started from */
  uint32_t n_vocab;
  uint32_t max_tokens;   /* params.max_tokens: sizes the token counts once */
  pv_rng rng;
  pv_token_counts counts;
  pv_cand *cand; /* n_vocab entries when temperature > 0, else NULL */
};

static int alloc_scratch(pv_sampler *s, pv_error *err) {
  if (s->temperature == 0.0f) return PAGEDVK_OK;
  s->cand = malloc((size_t)s->n_vocab * sizeof *s->cand);
  if (!s->cand) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "sampler: no memory for %u candidates", s->n_vocab);
  return PAGEDVK_OK;
}

static void start_rng(pv_sampler *s, uint64_t seed) {
  s->seed = seed;
  pv_rng_seed(&s->rng, seed);
}

int pv_sampler_create(pv_sampler **out, const pagedvk_sampling_params *p, uint32_t n_vocab, pv_error *err) {
  *out = NULL;
  int rc = pv_sampling_params_check(p, err);
  if (rc != PAGEDVK_OK) return rc;
  if (n_vocab == 0 || n_vocab > INT32_MAX) return pv_fail(err, PAGEDVK_ERR_INVALID, "sampler: vocabulary of %u", n_vocab);
  pv_sampler *s = calloc(1, sizeof *s);
  if (!s) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "sampler: out of memory");
  s->temperature = p->temperature;
  s->top_k = (uint32_t)p->top_k;
  s->top_p = p->top_p;
  s->min_p = p->min_p;
  s->penalties = (pv_penalties){p->repetition_penalty, p->presence_penalty, p->frequency_penalty};
  s->n_logprobs = p->logprobs;
  s->has_seed = p->has_seed;
  s->request_seed = p->seed;
  s->n_vocab = n_vocab;
  s->max_tokens = p->max_tokens;
  start_rng(s, p->has_seed ? p->seed : pv_rng_entropy_seed());
  rc = pv_token_counts_init(&s->counts, err);
  if (!rc) rc = alloc_scratch(s, err);
  if (rc != PAGEDVK_OK) {
    pv_sampler_destroy(s);
    return rc;
  }
  *out = s;
  return PAGEDVK_OK;
}

void pv_sampler_destroy(pv_sampler *s) {
  if (!s) return;
  free(s->cand);
  pv_token_counts_free(&s->counts);
  free(s);
}

int pv_sampler_clone(pv_sampler **out, const pv_sampler *src, uint32_t index, pv_error *err) {
  *out = NULL;
  if (index == 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "sampler clone: index 0 is the original sample");
  pv_sampler *s = malloc(sizeof *s);
  if (!s) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "sampler clone: out of memory");
  *s = *src;
  s->cand = NULL;
  start_rng(s, src->has_seed ? pv_rng_derive_seed(src->request_seed, index) : pv_rng_entropy_seed());
  int rc = pv_token_counts_copy(&s->counts, &src->counts, err);
  if (rc != PAGEDVK_OK) {
    free(s);
    return rc;
  }
  rc = alloc_scratch(s, err);
  if (rc != PAGEDVK_OK) {
    pv_sampler_destroy(s);
    return rc;
  }
  *out = s;
  return PAGEDVK_OK;
}

uint64_t pv_sampler_seed(const pv_sampler *s) { return s->seed; }

static int check_token(const pv_sampler *s, int32_t token, pv_error *err) {
  if (token < 0 || (uint32_t)token >= s->n_vocab)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "token %d outside the vocabulary of %u", (int)token, s->n_vocab);
  return PAGEDVK_OK;
}

int pv_sampler_add_prompt(pv_sampler *s, const int32_t *tokens, size_t n, pv_error *err) {
  uint64_t distinct = (uint64_t)n + s->max_tokens;
  int rc0 = pv_token_counts_reserve(&s->counts, distinct < s->n_vocab ? (uint32_t)distinct : s->n_vocab, err);
  if (rc0 != PAGEDVK_OK) return rc0;
  for (size_t i = 0; i < n; i++) {
    int rc = check_token(s, tokens[i], err);
    if (!rc) rc = pv_token_counts_add(&s->counts, tokens[i], true, err);
    if (rc != PAGEDVK_OK) return rc;
  }
  return PAGEDVK_OK;
}

int pv_sampler_accept(pv_sampler *s, int32_t token, pv_error *err) {
  int rc = check_token(s, token, err);
  if (rc != PAGEDVK_OK) return rc;
  return pv_token_counts_add(&s->counts, token, false, err);
}

/* top-k: fills cand[0..n) with the surviving candidates (logits as values). */
static uint32_t gather_candidates(pv_sampler *s, const float *logits, bool *sorted) {
  uint32_t v = s->n_vocab;
  uint32_t k = (s->top_k > 0 && s->top_k < v) ? s->top_k : v;
  if (k <= HEAP_TOP_K_MAX) {
    *sorted = true;
    return pv_logits_top(logits, v, k, s->cand);
  }
  for (uint32_t i = 0; i < v; i++) s->cand[i] = (pv_cand){(int32_t)i, logits[i]};
  pv_cand_select(s->cand, v, k);
  *sorted = false;
  return k;
}

/* temperature: logits → weights exp((l - max) / T); the best candidate gets exactly 1. */
static void to_weights(pv_cand *c, uint32_t n, float max, float temperature) {
  for (uint32_t i = 0; i < n; i++) c[i].v = expf((c[i].v - max) / temperature);
}

static double mass(const pv_cand *c, uint32_t n) {
  double total = 0.0;
  for (uint32_t i = 0; i < n; i++) total += c[i].v;
  return total;
}

/* top-p: keeps the shortest best-first prefix with mass >= top_p * total, sorting the prefix
 * piece by piece (each piece is quickselected from the rest, so pieces are in order). */
static uint32_t apply_top_p(pv_cand *c, uint32_t n, bool sorted, float top_p) {
  double target = (double)top_p * mass(c, n), cum = 0.0;
  uint32_t ordered = sorted ? n : 0;
  for (uint32_t i = 0; i < n; i++) {
    if (i == ordered) {
      uint32_t want = ordered == 0 ? TOP_P_FIRST_CHUNK : ordered * 4;
      if (want > n || want < ordered) want = n;
      pv_cand_select(c + ordered, n - ordered, want - ordered);
      pv_cand_sort(c + ordered, want - ordered);
      ordered = want;
    }
    cum += c[i].v;
    if (cum >= target) return i + 1;
  }
  return n;
}

/* min-p: drops weights below min_p times the largest, keeping the order. */
static uint32_t apply_min_p(pv_cand *c, uint32_t n, float min_p) {
  float wmax = 0.0f;
  for (uint32_t i = 0; i < n; i++)
    if (c[i].v > wmax) wmax = c[i].v;
  float floor_w = min_p * wmax;
  uint32_t kept = 0;
  for (uint32_t i = 0; i < n; i++)
    if (c[i].v >= floor_w) c[kept++] = c[i];
  return kept;
}

/* One draw in proportion to the weights; zero weights are never chosen. */
static int32_t draw(pv_rng *rng, const pv_cand *c, uint32_t n) {
  double target = pv_rng_uniform(rng) * mass(c, n), cum = 0.0;
  int32_t last = c[0].id;
  for (uint32_t i = 0; i < n; i++) {
    if (c[i].v <= 0.0f) continue;
    cum += c[i].v;
    last = c[i].id;
    if (target < cum) return c[i].id;
  }
  return last; /* rounding left target at the very top: the last positive weight */
}

static int32_t sample_stochastic(pv_sampler *s, const float *logits, float max) {
  bool sorted;
  uint32_t n = gather_candidates(s, logits, &sorted);
  to_weights(s->cand, n, max, s->temperature);
  if (s->top_p < 1.0f) n = apply_top_p(s->cand, n, sorted, s->top_p);
  if (s->min_p > 0.0f) n = apply_min_p(s->cand, n, s->min_p);
  return draw(&s->rng, s->cand, n);
}

static void report_top(const pv_sampler *s, const float *logits, double lse, pv_sample_result *out) {
  pv_cand top[PV_MAX_LOGPROBS];
  out->n_top = pv_logits_top(logits, s->n_vocab, s->n_logprobs, top);
  for (uint32_t i = 0; i < out->n_top; i++) {
    out->top_ids[i] = top[i].id;
    out->top_logprobs[i] = (float)((double)top[i].v - lse);
  }
}

int pv_sample(pv_sampler *s, float *logits, uint32_t n_vocab, pv_sample_result *out, pv_error *err) {
  if (n_vocab != s->n_vocab)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "sample: row of %u logits, sampler made for %u", n_vocab, s->n_vocab);
  pv_penalties_apply(&s->penalties, &s->counts, logits, n_vocab);
  pv_logits_info info;
  int rc = pv_logits_stats(logits, n_vocab, &info, err);
  if (rc != PAGEDVK_OK) return rc;
  report_top(s, logits, info.lse, out);
  out->token = s->temperature == 0.0f ? info.argmax : sample_stochastic(s, logits, info.max);
  out->logprob = (float)((double)logits[out->token] - info.lse);
  return PAGEDVK_OK;
}

bool pv_sampler_plain(const pv_sampler *s) {
  return s->top_k == 0 && s->top_p >= 1.0f && s->min_p == 0.0f && s->n_logprobs == 0 &&
         pv_penalties_off(&s->penalties);
}

/* The allowed ids in increasing order, read from the bitset one word at a time. */
#define FOR_ALLOWED(allow, n_bits, t)                                                              \
  for (uint32_t w_ = 0; w_ * 64 < (n_bits); w_++)                                                  \
    for (uint64_t m_ = (allow)[w_]; m_; m_ &= m_ - 1)                                               \
      for (uint32_t t = w_ * 64 + (uint32_t)__builtin_ctzll(m_), once_ = 1; once_ && t < (n_bits); once_ = 0)

int pv_sample_allowed(pv_sampler *s, const float *logits, uint32_t n_vocab, const uint64_t *allow, uint32_t n_bits,
                      pv_sample_result *out, pv_error *err) {
  if (n_vocab != s->n_vocab)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "sample: row of %u logits, sampler made for %u", n_vocab, s->n_vocab);
  if (!pv_sampler_plain(s))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "sample: sampling among allowed tokens takes no filters or penalties");
  if (n_bits > n_vocab) n_bits = n_vocab;
  float max = -INFINITY;
  int32_t best = -1;
  FOR_ALLOWED(allow, n_bits, t) {
    const float l = logits[t];
    if (isnan(l) || l == INFINITY)
      return pv_fail(err, PAGEDVK_ERR_NONFINITE, "the model produced non-finite logits (NaN/inf): logit %u is %g", t,
                     (double)l);
    if (l > max) max = l, best = (int32_t)t;
  }
  if (best < 0) {
    FOR_ALLOWED(allow, n_bits, t) {
      (void)t;
      return pv_fail(err, PAGEDVK_ERR_NONFINITE, "the model produced non-finite logits: no allowed token's is finite");
    }
    return pv_fail(err, PAGEDVK_ERR_INVALID, "sample: no token is allowed");
  }
  double sum1 = 0; /* at temperature 1, for the log-probability */
  FOR_ALLOWED(allow, n_bits, t) sum1 += exp((double)logits[t] - max);
  memset(out, 0, sizeof *out);
  out->token = best;
  if (s->temperature > 0.0f) {
    const double inv_t = 1.0 / s->temperature;
    double sum = 0;
    FOR_ALLOWED(allow, n_bits, t) sum += exp(((double)logits[t] - max) * inv_t);
    double u = pv_rng_uniform(&s->rng) * sum, acc = 0;
    FOR_ALLOWED(allow, n_bits, t) {
      const double wgt = exp(((double)logits[t] - max) * inv_t);
      if (wgt == 0.0) continue;
      out->token = (int32_t)t;
      acc += wgt;
      if (acc > u) goto drawn;
    }
  drawn:;
  }
  out->logprob = (float)((double)logits[out->token] - max - log(sum1));
  return PAGEDVK_OK;
}
