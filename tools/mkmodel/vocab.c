/*
 * vocab.c — mkmodel's built-in vocabulary: a small SentencePiece-style (`llama` model) vocabulary
 * with byte fallback, valid for any SentencePiece tokenizer:
 *   0 <unk> (UNKNOWN), 1 <s> (CONTROL, BOS), 2 </s> (CONTROL, EOS),
 *   3..258 <0x00>..<0xFF> (BYTE, score 0),
 *   then NORMAL pieces: "▁" (U+2581, the space marker), the printable ASCII characters, and
 *   multi-character pieces that are each the concatenation of two earlier pieces (so BPE-style
 *   merging can reach them), scored so that longer / earlier merges win.
 * Any text tokenizes: characters outside the pieces fall back to their UTF-8 bytes.
 * --vocab-size N pads it to N tokens with NORMAL pieces "<padK>" (K from 0): no two pieces of the
 * vocabulary concatenate to "<p" or "<pa", so no text merges into them; they give a file the
 * shapes of a real vocabulary (token_embd and output rows, logits) and show up only in generation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mkmodel.h"

enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_BYTE = 6 };

#define SP "\xe2\x96\x81" /* ▁ */

/* Multi-character pieces, in merge priority order; each is a concatenation of two earlier pieces. */
static const char *const MERGES[] = {
  SP "t", "he", SP "a", "in", SP "the", "er", "on", SP "s", "re", "an", "at", "en", "nd", SP "w",
  "is", SP "o", SP "b", SP "c", "ou", "it", "es", SP "f", "or", SP "h", "ing", SP "i", SP "p", SP "m",
  "ed", SP "and", SP "to", SP "of", SP "in", "ll", "ar", "as", SP "d", SP "l", "le", SP "is", "ic",
  SP "th", SP "that", SP "it", "al", "om", "ion", SP "T", SP "The", SP "he", SP "we", SP "be", SP "re",
  SP "on", SP "an", SP "wh", SP "was", SP "for", SP "so", "ent", SP "then",
};

typedef struct vocab_builder {
  char **tokens;
  float *scores;
  int32_t *types;
  uint32_t n, cap;
} vocab_builder;

static int add(vocab_builder *v, const char *text, float score, int32_t type) {
  if (v->n == v->cap) {
    uint32_t cap = v->cap ? v->cap * 2 : 512;
    char **t = realloc(v->tokens, cap * sizeof *t);
    if (t) v->tokens = t;
    float *s = realloc(v->scores, cap * sizeof *s);
    if (s) v->scores = s;
    int32_t *y = realloc(v->types, cap * sizeof *y);
    if (y) v->types = y;
    if (!t || !s || !y) return -1;
    v->cap = cap;
  }
  v->tokens[v->n] = strdup(text);
  if (!v->tokens[v->n]) return -1;
  v->scores[v->n] = score;
  v->types[v->n] = type;
  v->n++;
  return 0;
}

static void free_builder(vocab_builder *v) {
  for (uint32_t i = 0; i < v->n; i++) free(v->tokens[i]);
  free(v->tokens);
  free(v->scores);
  free(v->types);
}

static int build(vocab_builder *v, uint32_t pad_to) {
  char text[16];
  int rc = add(v, "<unk>", 0, TT_UNKNOWN) | add(v, "<s>", 0, TT_CONTROL) | add(v, "</s>", 0, TT_CONTROL);
  for (int b = 0; b < 256 && !rc; b++) {
    snprintf(text, sizeof text, "<0x%02X>", b);
    rc = add(v, text, 0, TT_BYTE);
  }
  /* single characters: low scores so that merges are preferred */
  rc |= add(v, SP, -1000.0f, TT_NORMAL);
  for (int c = 33; c < 127 && !rc; c++) {
    text[0] = (char)c;
    text[1] = 0;
    rc = add(v, text, -1000.0f - (float)c, TT_NORMAL);
  }
  for (size_t i = 0; i < sizeof MERGES / sizeof MERGES[0] && !rc; i++)
    rc = add(v, MERGES[i], -(float)(i + 1), TT_NORMAL);
  for (uint32_t k = 0; !rc && v->n < pad_to; k++) {
    snprintf(text, sizeof text, "<pad%u>", k);
    rc = add(v, text, -100000.0f, TT_NORMAL);
  }
  return rc;
}

int mk_builtin_vocab(pv_gguf_writer *w, uint32_t pad_to, uint32_t *n_vocab, pv_error *err) {
  vocab_builder v = {0};
  int rc = build(&v, pad_to) ? pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "mkmodel: out of memory for the vocabulary") : PAGEDVK_OK;
  if (!rc && pad_to && v.n > pad_to)
    rc = pv_fail(err, PAGEDVK_ERR_INVALID, "--vocab-size %u: the built-in vocabulary has %u tokens", pad_to, v.n);
  if (!rc) rc = pv_gguf_writer_add_str(w, "tokenizer.ggml.model", "llama", err);
  if (!rc) rc = pv_gguf_writer_add_str(w, "tokenizer.ggml.pre", "default", err);
  if (!rc) rc = pv_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)v.tokens, v.n, err);
  if (!rc) rc = pv_gguf_writer_add_arr(w, "tokenizer.ggml.scores", PV_GGUF_VT_FLOAT32, v.scores, v.n, err);
  if (!rc) rc = pv_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", PV_GGUF_VT_INT32, v.types, v.n, err);
  if (!rc) rc = pv_gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", 1, err);
  if (!rc) rc = pv_gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", 2, err);
  if (!rc) rc = pv_gguf_writer_add_u32(w, "tokenizer.ggml.unknown_token_id", 0, err);
  if (!rc) rc = pv_gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", true, err);
  if (!rc) rc = pv_gguf_writer_add_bool(w, "tokenizer.ggml.add_eos_token", false, err);
  *n_vocab = v.n;
  free_builder(&v);
  return rc;
}
