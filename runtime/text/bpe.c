/*
 * bpe.c — byte-level BPE encoding (`tokenizer.ggml.model` = "gpt2") of one stretch of text that
 * holds no special tokens (bpe.h).
 *
 * 1. Pre-tokenization (pretok.h) cuts the text into words; no byte is ever lost.
 * 2. Each byte of a word becomes one character by the GPT-2 mapping (bytelevel.h).
 * 3. Merges: repeatedly the adjacent pair with the lowest merge rank is merged (leftmost first
 *    among equal ranks), using a pv_heap with stale-entry skipping: O(n log n) per word.
 *    Llama 3 first emits a word whole when the word itself is a piece (ignore_merges).
 */
#include "text/bpe.h"

#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "base/heap.h"
#include "text/bytelevel.h"
#include "text/pretok.h"

/* ---- merging one word ------------------------------------------------------------------------ */

typedef struct bpe_sym {
  int32_t prev, next, id;
  uint32_t start, n; /* bytes of the mapped word; n = 0 once merged away */
} bpe_sym;

typedef struct bpe_pair {
  int32_t rank, left, right, result;
  uint32_t ln, rn; /* sizes when pushed, to recognise stale entries */
} bpe_pair;

typedef struct bpe_work {
  char *mapped;
  size_t mapped_cap;
  bpe_sym *sym;
  size_t sym_cap;
  pv_heap heap; /* of bpe_pair */
} bpe_work;

/* Lowest rank first, then leftmost. */
static bool pair_before(const void *a, const void *b) {
  const bpe_pair *x = a, *y = b;
  return x->rank < y->rank || (x->rank == y->rank && x->left < y->left);
}

static int try_pair(const pv_tokenizer *tok, bpe_work *w, int32_t left, int32_t right) {
  if (left < 0 || right < 0) return PAGEDVK_OK;
  int32_t result;
  int32_t rank = pv_merge_rank(tok, w->sym[left].id, w->sym[right].id, &result);
  if (rank < 0) return PAGEDVK_OK;
  bpe_pair p = {rank, left, right, result, w->sym[left].n, w->sym[right].n};
  return pv_heap_push_with(&w->heap, &p, sizeof p, pair_before);
}

static int merge_word(const pv_tokenizer *tok, bpe_work *w, const char *word, size_t len, int32_t *n_sym) {
  int32_t n = 0;
  uint32_t at = 0;
  for (size_t i = 0; i < len; i++, n++) {
    uint32_t cl = (uint32_t)pv_bytelevel_width((uint8_t)word[i]);
    w->sym[n] = (bpe_sym){n - 1, i + 1 < len ? n + 1 : -1, tok->byte_id[(uint8_t)word[i]], at, cl};
    at += cl;
  }
  *n_sym = n;
  pv_heap_clear(&w->heap);
  for (int32_t i = 1; i < n; i++)
    if (try_pair(tok, w, i - 1, i)) return PAGEDVK_ERR_NO_MEMORY;
  bpe_pair p;
  while (pv_heap_pop_with(&w->heap, &p, sizeof p, pair_before)) {
    bpe_sym *l = &w->sym[p.left], *r = &w->sym[p.right];
    if (l->n != p.ln || r->n != p.rn || r->n == 0 || l->next != p.right) continue; /* stale */
    l->n += r->n;
    l->id = p.result;
    r->n = 0;
    l->next = r->next;
    if (r->next >= 0) w->sym[r->next].prev = p.left;
    if (try_pair(tok, w, l->prev, p.left) || try_pair(tok, w, p.left, l->next)) return PAGEDVK_ERR_NO_MEMORY;
  }
  return PAGEDVK_OK;
}

static int encode_word(const pv_tokenizer *tok, bpe_work *w, const char *word, size_t len, pv_tokens *out) {
  if ((2 * len + 1 > w->mapped_cap && PV_GROW(w->mapped, w->mapped_cap, 2 * len + 1)) ||
      (len > w->sym_cap && PV_GROW(w->sym, w->sym_cap, len)))
    return PAGEDVK_ERR_NO_MEMORY; /* (checked here first: a word rarely needs more room) */
  size_t mlen = pv_bytelevel_encode(word, len, w->mapped);
  if (tok->ignore_merges) {
    int32_t whole = pv_tok_map_get(tok, w->mapped, mlen);
    if (whole >= 0) return pv_tokens_push(out, whole);
  }
  int32_t n_sym;
  if (merge_word(tok, w, word, len, &n_sym)) return PAGEDVK_ERR_NO_MEMORY;
  for (int32_t i = 0; i >= 0 && n_sym > 0; i = w->sym[i].next) {
    int32_t id = w->sym[i].id >= 0 ? w->sym[i].id : tok->unk; /* a byte with no piece */
    if (id >= 0 && pv_tokens_push(out, id)) return PAGEDVK_ERR_NO_MEMORY;
  }
  return PAGEDVK_OK;
}

/* ---- one stretch of text ---------------------------------------------------------------------- */

typedef struct bpe_split {
  const pv_tokenizer *tok;
  bpe_work *w;
  pv_tokens *out;
} bpe_split;

static int on_word(void *user, const char *word, size_t len, pv_error *err) {
  bpe_split *b = user;
  if (encode_word(b->tok, b->w, word, len, b->out)) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenize: no memory");
  return PAGEDVK_OK;
}

int pv_bpe_encode(const pv_tokenizer *tok, const char *text, size_t len, pv_tokens *out, pv_error *err) {
  if (len > INT32_MAX / 2) return pv_fail(err, PAGEDVK_ERR_TOO_LONG, "tokenize: text of %zu bytes is too long", len);
  bpe_work w = {0};
  pv_heap_init(&w.heap, sizeof(bpe_pair), pair_before);
  bpe_split b = {tok, &w, out};
  int rc = pv_pretok_split(tok->pretok, text, len, on_word, &b, err);
  free(w.mapped);
  free(w.sym);
  pv_heap_free(&w.heap);
  return rc;
}
