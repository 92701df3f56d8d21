/*
 * tok_bpe.c — byte-level BPE encoding (`tokenizer.ggml.model` = "gpt2") of one stretch of text
 * that holds no special tokens, and the byte ⇄ unicode mapping its pieces are written in.
 *
 * 1. Pre-tokenization: a PCRE2 regex (UTF + UCP, so \p{L}, \p{N} and \s are Unicode-aware) cuts
 *    the text into words; text between matches (only bytes that are not valid UTF-8) forms words
 *    too, so no byte is ever lost. The regex is chosen by `tokenizer.ggml.pre` (GPT-2, Llama 3,
 *    Qwen2); the contractions are spelled with explicit [sS]-style classes rather than (?i:…),
 *    because PCRE2's caseless UTF matching would also accept 'ſ' (U+017F) and 'K' (U+212A).
 * 2. Each byte of a word becomes one character by the GPT-2 mapping (printable Latin-1 maps to
 *    itself, the other 68 bytes to U+0100..U+0143, in byte order).
 * 3. Merges: repeatedly the adjacent pair with the lowest merge rank is merged (leftmost first
 *    among equal ranks), using a binary heap with stale-entry skipping: O(n log n) per word.
 *    Llama 3 first emits a word whole when the word itself is a piece (ignore_merges).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer.h"

/* ---- GPT-2 byte ⇄ unicode -------------------------------------------------------------------- */

static bool byte_is_printable(unsigned b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; }

static unsigned byte_to_cp(unsigned b) {
  if (byte_is_printable(b)) return b;
  if (b <= 0x20) return 0x100 + b;            /* 33 control and space bytes */
  if (b <= 0xA0) return 0x100 + 33 + (b - 0x7F); /* 0x7F..0xA0: 34 bytes */
  return 0x100 + 33 + 34;                     /* 0xAD, the soft hyphen */
}

/* The byte a code point stands for, or -1 when it is outside the mapping. */
static int cp_to_byte(unsigned cp) {
  if (cp < 0x100) return byte_is_printable(cp) ? (int)cp : -1;
  if (cp < 0x100 + 33) return (int)(cp - 0x100);
  if (cp < 0x100 + 33 + 34) return (int)(cp - 0x100 - 33 + 0x7F);
  if (cp == 0x100 + 33 + 34) return 0xAD;
  return -1;
}

/* Writes the mapped form of in[0..len) to out (room for 2 * len bytes); returns its length. */
size_t pv_bpe_map_bytes(const char *in, size_t len, char *out) {
  size_t at = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned cp = byte_to_cp((uint8_t)in[i]);
    if (cp < 0x80) {
      out[at++] = (char)cp;
    } else {
      out[at++] = (char)(0xC0 | (cp >> 6));
      out[at++] = (char)(0x80 | (cp & 0x3F));
    }
  }
  return at;
}

/* Decodes one UTF-8 character at p (len > 0); *n gets its length. Returns -1 when malformed. */
static long utf8_decode(const uint8_t *p, size_t len, size_t *n) {
  size_t cl = pv_utf8_len(p[0], len);
  *n = cl;
  if (cl == 1) return p[0] < 0x80 ? p[0] : -1;
  long cp = p[0] & (0xFF >> (cl + 1));
  for (size_t i = 1; i < cl; i++) {
    if ((p[i] & 0xC0) != 0x80) {
      *n = i;
      return -1;
    }
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  return cp;
}

size_t pv_bpe_unmap(const char *piece, size_t len, char *buf, size_t cap) {
  size_t at = 0;
  for (size_t i = 0; i < len;) {
    size_t n;
    long cp = utf8_decode((const uint8_t *)piece + i, len - i, &n);
    int b = cp >= 0 ? cp_to_byte((unsigned)cp) : -1;
    if (b >= 0) {
      if (at < cap) buf[at] = (char)b;
      at++;
    } else { /* outside the mapping: keep the text as it is */
      for (size_t k = 0; k < n; k++, at++)
        if (at < cap) buf[at] = piece[i + k];
    }
    i += n;
  }
  return at;
}

/* ---- pre-tokenizer regexes ---------------------------------------------------------------- */

#define CONTRACTIONS "'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]"

/* GPT-2 (OpenAI's encoder): contractions, optional space + letters / digits / other symbols,
 * then whitespace not followed by non-space (so a last space stays with the next word). */
static const char RE_GPT2[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* Llama 3 (tiktoken cl100k-style): one non-letter may lead letters, digits in runs of at most 3,
 * symbols take trailing newlines, newline runs take their leading whitespace. */
static const char RE_LLAMA3[] = CONTRACTIONS
    "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* Qwen2: as Llama 3 but every digit is a word of its own. */
static const char RE_QWEN2[] = CONTRACTIONS
    "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const char *pre_pattern(pv_tok_pre pre) {
  switch (pre) {
    case PV_PRE_LLAMA3: return RE_LLAMA3;
    case PV_PRE_QWEN2: return RE_QWEN2;
    default: return RE_GPT2;
  }
}

int pv_bpe_init(pv_tokenizer *tok, pv_error *err) {
  int code;
  PCRE2_SIZE at;
  const char *pat = pre_pattern(tok->pre);
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                                 PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &code, &at, NULL);
  if (!re) {
    char msg[256];
    pcre2_get_error_message(code, (PCRE2_UCHAR *)msg, sizeof msg);
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "tokenizer: pre-tokenizer regex at %zu: %s", (size_t)at, msg);
  }
  pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* optional: the interpreter is used when JIT is absent */
  tok->regex = re;
  return PAGEDVK_OK;
}

void pv_bpe_free(pv_tokenizer *tok) {
  pcre2_code_free((pcre2_code *)tok->regex);
  tok->regex = NULL;
}

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
  bpe_pair *heap;
  size_t n_heap, heap_cap;
} bpe_work;

static bool pair_before(const bpe_pair *a, const bpe_pair *b) {
  return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static int heap_push(bpe_work *w, bpe_pair p) {
  if (w->n_heap == w->heap_cap) {
    size_t cap = w->heap_cap ? w->heap_cap * 2 : 64;
    bpe_pair *v = realloc(w->heap, cap * sizeof *v);
    if (!v) return PAGEDVK_ERR_NO_MEMORY;
    w->heap = v;
    w->heap_cap = cap;
  }
  size_t i = w->n_heap++;
  w->heap[i] = p;
  while (i > 0 && pair_before(&w->heap[i], &w->heap[(i - 1) / 2])) {
    bpe_pair t = w->heap[i];
    w->heap[i] = w->heap[(i - 1) / 2];
    w->heap[(i - 1) / 2] = t;
    i = (i - 1) / 2;
  }
  return PAGEDVK_OK;
}

static bpe_pair heap_pop(bpe_work *w) {
  bpe_pair top = w->heap[0];
  w->heap[0] = w->heap[--w->n_heap];
  for (size_t i = 0;;) {
    size_t l = 2 * i + 1, r = l + 1, best = i;
    if (l < w->n_heap && pair_before(&w->heap[l], &w->heap[best])) best = l;
    if (r < w->n_heap && pair_before(&w->heap[r], &w->heap[best])) best = r;
    if (best == i) break;
    bpe_pair t = w->heap[i];
    w->heap[i] = w->heap[best];
    w->heap[best] = t;
    i = best;
  }
  return top;
}

static int try_pair(const pv_tokenizer *tok, bpe_work *w, int32_t left, int32_t right) {
  if (left < 0 || right < 0) return PAGEDVK_OK;
  int32_t result;
  int32_t rank = pv_merge_rank(tok, w->sym[left].id, w->sym[right].id, &result);
  if (rank < 0) return PAGEDVK_OK;
  return heap_push(w, (bpe_pair){rank, left, right, result, w->sym[left].n, w->sym[right].n});
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return PAGEDVK_OK;
  size_t c = *cap ? *cap : 64;
  while (c < need) c *= 2;
  void *q = realloc(*p, c * elem);
  if (!q) return PAGEDVK_ERR_NO_MEMORY;
  *p = q;
  *cap = c;
  return PAGEDVK_OK;
}

static int merge_word(const pv_tokenizer *tok, bpe_work *w, const char *word, size_t len, int32_t *n_sym) {
  int32_t n = 0;
  uint32_t at = 0;
  for (size_t i = 0; i < len; i++, n++) {
    uint32_t cl = byte_to_cp((uint8_t)word[i]) < 0x80 ? 1 : 2;
    w->sym[n] = (bpe_sym){n - 1, i + 1 < len ? n + 1 : -1, tok->byte_id[(uint8_t)word[i]], at, cl};
    at += cl;
  }
  *n_sym = n;
  w->n_heap = 0;
  for (int32_t i = 1; i < n; i++)
    if (try_pair(tok, w, i - 1, i)) return PAGEDVK_ERR_NO_MEMORY;
  while (w->n_heap > 0) {
    bpe_pair p = heap_pop(w);
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
  if (grow((void **)&w->mapped, &w->mapped_cap, 2 * len + 1, 1) ||
      grow((void **)&w->sym, &w->sym_cap, len, sizeof *w->sym))
    return PAGEDVK_ERR_NO_MEMORY;
  size_t mlen = pv_bpe_map_bytes(word, len, w->mapped);
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

static int split_and_encode(const pv_tokenizer *tok, bpe_work *w, pcre2_match_data *md, const char *text,
                            size_t len, pv_tokens *out, pv_error *err) {
  const pcre2_code *re = tok->regex;
  size_t at = 0;
  while (at < len) {
    int rc = pcre2_match(re, (PCRE2_SPTR)text, len, at, 0, md, NULL);
    size_t s = len, e = len;
    if (rc >= 0) {
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
      s = ov[0];
      e = ov[1] > s ? ov[1] : s + pv_utf8_char_len(text + s, len - s);
    } else if (rc != PCRE2_ERROR_NOMATCH) {
      char msg[256];
      pcre2_get_error_message(rc, (PCRE2_UCHAR *)msg, sizeof msg);
      return pv_fail(err, PAGEDVK_ERR_FORMAT, "tokenize: pre-tokenizer failed at byte %zu: %s", at, msg);
    }
    if (s > at && encode_word(tok, w, text + at, s - at, out)) goto oom; /* unmatched bytes */
    if (e > s && encode_word(tok, w, text + s, e - s, out)) goto oom;
    at = e;
  }
  return PAGEDVK_OK;
oom:
  return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenize: no memory");
}

int pv_bpe_encode(const pv_tokenizer *tok, const char *text, size_t len, pv_tokens *out, pv_error *err) {
  if (len > INT32_MAX / 2) return pv_fail(err, PAGEDVK_ERR_TOO_LONG, "tokenize: text of %zu bytes is too long", len);
  pcre2_match_data *md = pcre2_match_data_create_from_pattern(tok->regex, NULL);
  if (!md) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenize: no memory");
  bpe_work w = {0};
  int rc = split_and_encode(tok, &w, md, text, len, out, err);
  free(w.mapped);
  free(w.sym);
  free(w.heap);
  pcre2_match_data_free(md);
  return rc;
}
