/*
 * spm.c — SentencePiece-style encoding (`tokenizer.ggml.model` = "llama") of one stretch of
 * text that holds no special tokens (spm.h).
 *
 * The text gets a leading space when asked (the vocabulary's add_space_prefix, at the start and
 * after a special token), every space becomes ▁ (U+2581), and it is cut into UTF-8 characters.
 * Then, repeatedly, the adjacent pair whose concatenation is a piece with the highest score is
 * merged; among equal scores the leftmost pair goes first. Pairs live in a pv_heap; an entry
 * whose symbols changed since it was pushed is stale and skipped, so the whole encoding costs
 * O(n log n). (A byte that does not start a well-formed UTF-8 character is a symbol of its own.)
 * What remains is looked up; a character that is no piece becomes its bytes' <0xNN>
 * pieces (byte fallback), or the unknown token when the vocabulary has no byte pieces.
 *
 * Only normal and user-defined pieces are produced: control, byte and unused pieces cannot be
 * reached by merging plain text.
 */
#include "text/spm.h"

#include <stdlib.h>
#include <string.h>

#include "base/heap.h"
#include "text/utf8.h"

typedef struct spm_sym {
  int32_t prev, next;
  uint32_t start, n; /* bytes of the escaped text; n = 0 once merged into its left neighbour */
} spm_sym;

typedef struct spm_pair {
  float score;
  int32_t left, right;
  uint32_t size; /* left.n + right.n when pushed */
} spm_pair;

/* Highest score first, then leftmost. */
static bool pair_before(const void *a, const void *b) {
  const spm_pair *x = a, *y = b;
  return x->score > y->score || (x->score == y->score && x->left < y->left);
}

static bool reachable(const pv_tokenizer *tok, int32_t id) {
  return id >= 0 && (tok->type[id] == PV_TOKEN_NORMAL || tok->type[id] == PV_TOKEN_USER_DEFINED);
}

typedef struct spm_state {
  const pv_tokenizer *tok;
  const char *text;
  spm_sym *sym;
  pv_heap heap; /* of spm_pair */
} spm_state;

static int try_pair(spm_state *s, int32_t left, int32_t right) {
  if (left < 0 || right < 0) return PAGEDVK_OK;
  const spm_sym *l = &s->sym[left], *r = &s->sym[right];
  int32_t id = pv_tok_map_get(s->tok, s->text + l->start, l->n + r->n);
  if (!reachable(s->tok, id)) return PAGEDVK_OK;
  spm_pair p = {s->tok->score[id], left, right, l->n + r->n};
  return pv_heap_push_with(&s->heap, &p, sizeof p, pair_before);
}

/* Copies text with an optional leading space, every ' ' written as ▁. */
static char *escape(const char *text, size_t len, bool space_prefix, size_t *out_len) {
  size_t spaces = space_prefix;
  for (size_t i = 0; i < len; i++) spaces += text[i] == ' ';
  char *buf = malloc(len + 2 * spaces + 1);
  if (!buf) return NULL;
  size_t at = 0;
  if (space_prefix) {
    memcpy(buf, "\xE2\x96\x81", 3);
    at = 3;
  }
  for (size_t i = 0; i < len; i++) {
    if (text[i] == ' ') {
      memcpy(buf + at, "\xE2\x96\x81", 3);
      at += 3;
    } else {
      buf[at++] = text[i];
    }
  }
  *out_len = at;
  return buf;
}

static int split_chars(spm_state *s, size_t len, int32_t *n_sym) {
  int32_t n = 0;
  for (size_t at = 0; at < len; n++) {
    size_t cl = pv_utf8_char_len(s->text + at, len - at);
    s->sym[n] = (spm_sym){n - 1, -1, (uint32_t)at, (uint32_t)cl};
    if (n > 0) s->sym[n - 1].next = n;
    at += cl;
  }
  *n_sym = n;
  return PAGEDVK_OK;
}

static int merge_all(spm_state *s, int32_t n_sym) {
  for (int32_t i = 1; i < n_sym; i++)
    if (try_pair(s, i - 1, i)) return PAGEDVK_ERR_NO_MEMORY;
  spm_pair p;
  while (pv_heap_pop_with(&s->heap, &p, sizeof p, pair_before)) {
    spm_sym *l = &s->sym[p.left], *r = &s->sym[p.right];
    if (l->n == 0 || r->n == 0 || l->n + r->n != p.size || l->next != p.right) continue; /* stale */
    l->n += r->n;
    r->n = 0;
    l->next = r->next;
    if (r->next >= 0) s->sym[r->next].prev = p.left;
    if (try_pair(s, l->prev, p.left) || try_pair(s, p.left, l->next)) return PAGEDVK_ERR_NO_MEMORY;
  }
  return PAGEDVK_OK;
}

static int emit(const spm_state *s, pv_tokens *out) {
  const pv_tokenizer *tok = s->tok;
  for (int32_t i = 0; i >= 0; i = s->sym[i].next) {
    const spm_sym *sy = &s->sym[i];
    int32_t id = pv_tok_map_get(tok, s->text + sy->start, sy->n);
    if (reachable(tok, id)) {
      if (pv_tokens_push(out, id)) return PAGEDVK_ERR_NO_MEMORY;
      continue;
    }
    for (uint32_t b = 0; b < sy->n; b++) { /* byte fallback */
      int32_t bid = tok->byte_id[(uint8_t)s->text[sy->start + b]];
      if (bid < 0) bid = tok->unk;
      if (bid >= 0 && pv_tokens_push(out, bid)) return PAGEDVK_ERR_NO_MEMORY;
      if (tok->byte_id[(uint8_t)s->text[sy->start + b]] < 0) break; /* one unknown per character */
    }
  }
  return PAGEDVK_OK;
}

int pv_spm_encode(const pv_tokenizer *tok, const char *text, size_t len, bool space_prefix, pv_tokens *out,
                  pv_error *err) {
  size_t n_bytes;
  spm_state s = {tok, NULL, NULL, {0}};
  pv_heap_init(&s.heap, sizeof(spm_pair), pair_before);
  char *buf = escape(text, len, space_prefix, &n_bytes);
  if (!buf) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenize: no memory");
  if (n_bytes == 0) {
    free(buf);
    return PAGEDVK_OK;
  }
  if (n_bytes > INT32_MAX) {
    free(buf);
    return pv_fail(err, PAGEDVK_ERR_TOO_LONG, "tokenize: text of %zu bytes is too long", n_bytes);
  }
  s.text = buf;
  s.sym = malloc(n_bytes * sizeof *s.sym);
  int32_t n_sym = 0;
  int rc = s.sym ? split_chars(&s, n_bytes, &n_sym) : PAGEDVK_ERR_NO_MEMORY;
  if (!rc) rc = merge_all(&s, n_sym);
  if (!rc) rc = emit(&s, out);
  pv_heap_free(&s.heap);
  free(s.sym);
  free(buf);
  return rc ? pv_fail(err, rc, "tokenize: no memory") : PAGEDVK_OK;
}
