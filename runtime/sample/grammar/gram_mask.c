/*
 * gram_mask.c — which tokens may come next: the vocabulary's byte strings in prefix-trie order,
 * the mask of a state, and the cache of masks by state.
 *
 * pv_gram_vocab holds every token with a non-empty text (pv_token_bytes, as the detokenizer
 * writes it), sorted by its bytes, with lcp[i] = the length of the prefix token i shares with
 * token i-1. Walking the tokens in that order with one recognizer state per depth is a depth-
 * first walk of the prefix trie: token i starts from the state at depth lcp[i], so each shared
 * prefix is advanced once; when a byte at depth d is rejected, every following token with
 * lcp > d shares that dead prefix and is skipped without being read. Tokens with no text (control
 * tokens) are never allowed; end-of-generation tokens are allowed exactly when the state is
 * complete.
 *
 * Nodes the walk interns are rolled back when it ends, so a walk leaves the grammar's tables as
 * it found them. A state's mask depends only on the state (the stack set and the partial code
 * point), so masks are cached by state: a sequence that comes back to a state it (or any sequence
 * of the request) has seen — every character inside a JSON string, every digit of a number —
 * costs a hash lookup. The cache holds at most PV_GRAM_CACHE_BYTES and is emptied when full.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "sample/grammar/gram_internal.h"
#include "text/detok.h"

struct pv_gram_vocab {
  uint32_t n_vocab;
  uint32_t n_words;  /* ceil(n_vocab / 64) */
  char *bytes;       /* every token's bytes */
  uint64_t *off;     /* by id: offset into bytes */
  uint32_t *len;     /* by id: length (0: no text) */
  uint32_t *sorted;  /* ids with text, by bytes */
  uint32_t *lcp;     /* by sorted index */
  uint32_t n_sorted;
  uint32_t max_len;
  uint32_t *eog;     /* end-of-generation ids */
  uint32_t n_eog;
};

typedef struct sort_item {
  const char *p;
  uint32_t len, id;
} sort_item;

static int cmp_tokens(const void *a, const void *b) {
  const sort_item *x = a, *y = b;
  int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);
  if (c) return c;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id ? 1 : 0;
}

void pv_gram_vocab_destroy(pv_gram_vocab *v) {
  if (!v) return;
  free(v->bytes);
  free(v->off);
  free(v->len);
  free(v->sorted);
  free(v->lcp);
  free(v->eog);
  free(v);
}

uint32_t pv_gram_vocab_size(const pv_gram_vocab *v) { return v->n_vocab; }

int pv_gram_vocab_create(pv_gram_vocab **out, const pv_tokenizer *tok, pv_error *err) {
  *out = NULL;
  pv_gram_vocab *v = calloc(1, sizeof *v);
  const uint32_t n = tok->n_vocab;
  size_t cap_bytes = 0, n_bytes = 0;
  char buf[1024];
  int rc = v ? PAGEDVK_OK : PAGEDVK_ERR_NO_MEMORY;
  if (!rc) {
    v->n_vocab = n;
    v->n_words = (n + 63) / 64;
    v->off = malloc((size_t)n * sizeof *v->off);
    v->len = calloc(n, sizeof *v->len);
    v->sorted = malloc((size_t)n * sizeof *v->sorted);
    v->lcp = malloc((size_t)n * sizeof *v->lcp);
    v->eog = malloc((size_t)n * sizeof *v->eog);
    if (!v->off || !v->len || !v->sorted || !v->lcp || !v->eog) rc = PAGEDVK_ERR_NO_MEMORY;
  }
  for (uint32_t id = 0; id < n && !rc; id++) {
    size_t len = pv_token_bytes(tok, (int32_t)id, false, buf, sizeof buf);
    if (len > sizeof buf) len = 0; /* longer than any real token: never allowed */
    if (pv_tokenizer_is_eog(tok, (int32_t)id)) v->eog[v->n_eog++] = id;
    v->off[id] = n_bytes;
    if (!len) continue;
    if (pv_grow((void **)&v->bytes, &cap_bytes, n_bytes + len, 1, 4096)) {
      rc = PAGEDVK_ERR_NO_MEMORY;
      break;
    }
    memcpy(v->bytes + n_bytes, buf, len);
    n_bytes += len;
    v->len[id] = (uint32_t)len;
    v->sorted[v->n_sorted++] = id;
    if (len > v->max_len) v->max_len = (uint32_t)len;
  }
  if (!rc) {
    sort_item *items = malloc((size_t)v->n_sorted * sizeof *items + 1);
    if (!items) rc = PAGEDVK_ERR_NO_MEMORY;
    for (uint32_t i = 0; !rc && i < v->n_sorted; i++) {
      const uint32_t id = v->sorted[i];
      items[i] = (sort_item){v->bytes + v->off[id], v->len[id], id};
    }
    if (!rc) qsort(items, v->n_sorted, sizeof *items, cmp_tokens);
    for (uint32_t i = 0; !rc && i < v->n_sorted; i++) v->sorted[i] = items[i].id;
    free(items);
  }
  if (!rc) {
    for (uint32_t i = 0; i < v->n_sorted; i++) {
      uint32_t l = 0;
      if (i) {
        const uint32_t a = v->sorted[i - 1], b = v->sorted[i];
        const char *x = v->bytes + v->off[a], *y = v->bytes + v->off[b];
        const uint32_t m = v->len[a] < v->len[b] ? v->len[a] : v->len[b];
        while (l < m && x[l] == y[l]) l++;
      }
      v->lcp[i] = l;
    }
  }
  if (rc) {
    pv_gram_vocab_destroy(v);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "grammar: out of memory for the vocabulary");
  }
  *out = v;
  return PAGEDVK_OK;
}

/* ---- the walk ----------------------------------------------------------------------------------- */

#define DEAD UINT32_MAX

static uint64_t content_hash(const uint32_t *ids, uint32_t n, uint32_t utf_val, uint8_t need, uint8_t len) {
  uint64_t h = 0xcbf29ce484222325ull ^ (utf_val * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)need << 40) ^
               ((uint64_t)len << 48);
  for (uint32_t k = 0; k < n; k++) {
    h ^= ids[k];
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  return h;
}

static int walk_oom(pv_error *err) { return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "grammar: out of memory for a mask"); }

/* The walk's id of state s (interned by content for this walk generation). */
static int intern_wstate(pv_grammar *g, const pv_gram_state *s, uint32_t *id, pv_error *err) {
  const uint64_t h = content_hash(s->stacks, s->n, s->utf_val, s->utf_need, s->utf_len);
  const uint32_t b = (uint32_t)(h & (g->n_ws_heads - 1));
  if (g->ws_gen[b] == g->gen)
    for (uint32_t k = g->ws_heads[b]; k != DEAD; k = g->ws[k].next) {
      const pv_gram_wstate *w = &g->ws[k];
      if (w->hash == h && w->n == s->n && w->utf_val == s->utf_val && w->utf_need == s->utf_need &&
          w->utf_len == s->utf_len && (!s->n || !memcmp(g->pool + w->off, s->stacks, s->n * sizeof *s->stacks))) {
        *id = k;
        return PAGEDVK_OK;
      }
    }
  if (PV_GROW_U32(g->ws, g->cap_ws, (size_t)g->n_ws + 1) || pv_grow((void **)&g->pool, &g->cap_pool, g->n_pool + s->n + 1,
                                                                     sizeof *g->pool, 1024))
    return walk_oom(err);
  pv_gram_wstate *w = &g->ws[g->n_ws];
  *w = (pv_gram_wstate){h, g->n_pool, s->n, s->utf_val, g->ws_gen[b] == g->gen ? g->ws_heads[b] : DEAD, s->utf_need,
                        s->utf_len};
  if (s->n) memcpy(g->pool + g->n_pool, s->stacks, s->n * sizeof *s->stacks);
  g->n_pool += s->n;
  g->ws_heads[b] = g->n_ws;
  g->ws_gen[b] = g->gen;
  *id = g->n_ws++;
  return PAGEDVK_OK;
}

static uint32_t t_slot(const pv_grammar *g, uint64_t key) {
  uint32_t i = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (g->cap_t - 1);
  while (g->t_gen[i] == g->gen && g->t_key[i] != key) i = (i + 1) & (g->cap_t - 1);
  return i;
}

static int t_grow(pv_grammar *g, pv_error *err) {
  const uint32_t old_cap = g->cap_t, cap = old_cap ? old_cap * 2 : 4096;
  uint64_t *ok = g->t_key;
  uint32_t *ov = g->t_val, *og = g->t_gen;
  g->t_key = malloc((size_t)cap * sizeof *g->t_key);
  g->t_val = malloc((size_t)cap * sizeof *g->t_val);
  g->t_gen = calloc(cap, sizeof *g->t_gen);
  if (!g->t_key || !g->t_val || !g->t_gen) {
    free(g->t_key), free(g->t_val), free(g->t_gen);
    g->t_key = ok, g->t_val = ov, g->t_gen = og;
    return walk_oom(err);
  }
  g->cap_t = cap;
  for (uint32_t i = 0; i < old_cap; i++)
    if (og[i] == g->gen) {
      uint32_t j = t_slot(g, ok[i]);
      g->t_key[j] = ok[i], g->t_val[j] = ov[i], g->t_gen[j] = g->gen;
    }
  free(ok), free(ov), free(og);
  return PAGEDVK_OK;
}

/* The walk state after byte b from walk state `from` (DEAD when rejected): a transition found
 * once per walk, then looked up — inside a JSON string, thousands of tokens pass through the
 * same few states. */
static int wstep(pv_grammar *g, uint32_t from, uint8_t b, uint32_t *to, pv_error *err) {
  const uint64_t key = (uint64_t)from << 8 | b;
  uint32_t i = t_slot(g, key);
  if (g->t_gen[i] == g->gen) {
    *to = g->t_val[i];
    return PAGEDVK_OK;
  }
  const pv_gram_wstate *w = &g->ws[from];
  const pv_gram_state view = {g->pool + w->off, w->n, w->n, w->utf_val, w->utf_need, w->utf_len};
  bool alive;
  int rc = pv_gram_step_byte(g, &view, b, &g->step_out, &alive, err);
  *to = DEAD;
  if (!rc && alive) rc = intern_wstate(g, &g->step_out, to, err);
  if (rc) return rc;
  if ((g->n_t + 1) * 2 > g->cap_t) {
    if ((rc = t_grow(g, err))) return rc;
  }
  i = t_slot(g, key);
  g->t_key[i] = key, g->t_val[i] = *to, g->t_gen[i] = g->gen;
  g->n_t++;
  return PAGEDVK_OK;
}

static int walk_begin(pv_grammar *g, const pv_gram_vocab *v, pv_error *err) {
  if (++g->gen == 0) { /* wrapped: every stamp is stale */
    if (g->ws_gen) memset(g->ws_gen, 0, g->n_ws_heads * sizeof *g->ws_gen);
    if (g->t_gen) memset(g->t_gen, 0, g->cap_t * sizeof *g->t_gen);
    g->gen = 1;
  }
  g->n_ws = 0;
  g->n_pool = 0;
  g->n_t = 0;
  if (!g->ws_heads) {
    g->n_ws_heads = 1u << 14;
    g->ws_heads = malloc(g->n_ws_heads * sizeof *g->ws_heads);
    g->ws_gen = calloc(g->n_ws_heads, sizeof *g->ws_gen);
    if (!g->ws_heads || !g->ws_gen) return walk_oom(err);
  }
  if (!g->cap_t && t_grow(g, err)) return PAGEDVK_ERR_NO_MEMORY;
  if (g->n_depth < v->max_len + 1) {
    uint32_t *d = realloc(g->depth, (v->max_len + 1) * sizeof *d);
    if (!d) return walk_oom(err);
    g->depth = d;
    g->n_depth = v->max_len + 1;
  }
  return PAGEDVK_OK;
}

static int walk(pv_grammar *g, const pv_gram_vocab *v, const pv_gram_state *s, uint64_t *mask, uint32_t *n_allowed,
                pv_error *err) {
  memset(mask, 0, (size_t)v->n_words * sizeof *mask);
  *n_allowed = 0;
  int rc = walk_begin(g, v, err);
  const uint32_t node_mark = g->n_nodes;
  if (!rc) rc = intern_wstate(g, s, &g->depth[0], err);
  uint32_t valid = 0; /* depth[0..valid] are the states of the current token's prefix */
  for (uint32_t i = 0; i < v->n_sorted && !rc;) {
    const uint32_t id = v->sorted[i], len = v->len[id];
    const uint8_t *b = (const uint8_t *)v->bytes + v->off[id];
    if (v->lcp[i] < valid) valid = v->lcp[i];
    uint32_t d = valid;
    bool alive = true;
    while (d < len) {
      uint32_t to;
      rc = wstep(g, g->depth[d], b[d], &to, err);
      if (rc || to == DEAD) {
        alive = false;
        break;
      }
      g->depth[++d] = to;
    }
    if (rc) break;
    valid = d;
    i++;
    if (alive) {
      mask[id / 64] |= 1ull << (id % 64);
      (*n_allowed)++;
    } else {
      while (i < v->n_sorted && v->lcp[i] > d) i++; /* they share the rejected prefix */
    }
  }
  pv_gram_rollback(g, node_mark);
  if (!rc && pv_gram_state_complete(s))
    for (uint32_t k = 0; k < v->n_eog; k++) {
      mask[v->eog[k] / 64] |= 1ull << (v->eog[k] % 64);
      (*n_allowed)++;
    }
  return rc;
}

/* ---- the cache ---------------------------------------------------------------------------------- */

static uint64_t state_hash(const pv_gram_state *s) {
  uint64_t h = 0xcbf29ce484222325ull ^ (s->utf_val * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)s->utf_need << 40) ^
               ((uint64_t)s->utf_len << 48);
  for (uint32_t k = 0; k < s->n; k++) {
    h ^= s->stacks[k];
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  return h;
}

static bool key_equal(const pv_gram_cache_entry *e, const pv_gram_state *s) {
  return e->n_key == s->n + 2 && e->key[0] == s->utf_val &&
         e->key[1] == ((uint32_t)s->utf_need | (uint32_t)s->utf_len << 8) &&
         (!s->n || memcmp(e->key + 2, s->stacks, s->n * sizeof *s->stacks) == 0);
}

int pv_gram_mask(pv_grammar *g, const pv_gram_vocab *v, const pv_gram_state *s, const uint64_t **mask,
                 uint32_t *n_allowed, pv_error *err) {
  const uint64_t h = state_hash(s);
  const uint32_t b = (uint32_t)(h & (g->n_buckets - 1));
  for (pv_gram_cache_entry *e = g->buckets[b]; e; e = e->next)
    if (e->hash == h && key_equal(e, s)) {
      g->stats.masks_cached++;
      *mask = e->mask;
      *n_allowed = e->n_allowed;
      return PAGEDVK_OK;
    }
  const size_t bytes = (size_t)v->n_words * 8 + (s->n + 2) * 4 + sizeof(pv_gram_cache_entry);
  if (g->cache_bytes + bytes > PV_GRAM_CACHE_BYTES) pv_gram_cache_clear(g);
  pv_gram_cache_entry *e = calloc(1, sizeof *e);
  if (e) {
    e->key = malloc((s->n + 2) * sizeof *e->key);
    e->mask = malloc((size_t)v->n_words * sizeof *e->mask);
  }
  if (!e || !e->key || !e->mask) {
    if (e) free(e->key), free(e->mask), free(e);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "grammar: out of memory for a token mask");
  }
  int rc = walk(g, v, s, e->mask, &e->n_allowed, err);
  if (rc) {
    free(e->key), free(e->mask), free(e);
    return rc;
  }
  g->stats.masks_computed++;
  e->hash = h;
  e->n_key = s->n + 2;
  e->key[0] = s->utf_val;
  e->key[1] = (uint32_t)s->utf_need | (uint32_t)s->utf_len << 8;
  if (s->n) memcpy(e->key + 2, s->stacks, s->n * sizeof *s->stacks);
  e->next = g->buckets[b];
  g->buckets[b] = e;
  g->cache_bytes += bytes;
  g->n_entries++;
  *mask = e->mask;
  *n_allowed = e->n_allowed;
  return PAGEDVK_OK;
}

int pv_gram_apply(pv_grammar *g, const pv_gram_vocab *v, const pv_gram_state *s, float *logits, uint32_t n_logits,
                  pv_error *err) {
  const uint64_t *mask;
  uint32_t n_allowed;
  int rc = pv_gram_mask(g, v, s, &mask, &n_allowed, err);
  if (rc) return rc;
  if (!n_allowed)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "grammar: no token of the vocabulary can continue the text here");
  const uint32_t n = n_logits < v->n_vocab ? n_logits : v->n_vocab;
  for (uint32_t w = 0; w * 64 < n; w++) {
    uint64_t keep = mask[w];
    if (keep == ~0ull) continue;
    const uint32_t end = (w + 1) * 64 < n ? (w + 1) * 64 : n;
    for (uint32_t t = w * 64; t < end; t++)
      if (!(keep >> (t % 64) & 1)) logits[t] = -INFINITY;
  }
  for (uint32_t t = n; t < n_logits; t++) logits[t] = -INFINITY;
  return PAGEDVK_OK;
}

int pv_gram_accept_token(pv_grammar *g, const pv_gram_vocab *v, pv_gram_state *s, int32_t t, pv_error *err) {
  if (t < 0 || (uint32_t)t >= v->n_vocab)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "grammar: token %d is outside the vocabulary", t);
  for (uint32_t k = 0; k < v->n_eog; k++)
    if (v->eog[k] == (uint32_t)t) {
      if (pv_gram_state_complete(s)) return PAGEDVK_OK;
      return pv_fail(err, PAGEDVK_ERR_INVALID, "grammar: end of generation before the grammar is complete");
    }
  if (!v->len[t]) return pv_fail(err, PAGEDVK_ERR_INVALID, "grammar: token %d has no text", t);
  return pv_gram_accept_bytes(g, s, v->bytes + v->off[t], v->len[t], err);
}

int pv_gram_allows(pv_grammar *g, const pv_gram_vocab *v, const pv_gram_state *s, int32_t t, bool *ok, pv_error *err) {
  *ok = false;
  if (t < 0 || (uint32_t)t >= v->n_vocab) return PAGEDVK_OK;
  for (uint32_t k = 0; k < v->n_eog; k++)
    if (v->eog[k] == (uint32_t)t) {
      *ok = pv_gram_state_complete(s);
      return PAGEDVK_OK;
    }
  if (!v->len[t]) return PAGEDVK_OK;
  return pv_gram_try_bytes(g, s, v->bytes + v->off[t], v->len[t], ok, err);
}
