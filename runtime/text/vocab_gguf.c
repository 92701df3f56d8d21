/*
 * vocab_gguf.c — pv_tokenizer_load: reads the `tokenizer.ggml.*` metadata of a GGUF file into a
 * pv_vocab_desc (model, pre-tokenizer, pieces, scores, token types of any integer width, merges,
 * special ids and flags) and builds the vocabulary from it (vocab.c).
 *
 * Invariant: arrays whose length or element type does not match the piece count are errors, not
 * guesses; what is copied here (names, scores, types) is freed before returning, as the build
 * copies what it keeps.
 */
#include <stdlib.h>
#include <string.h>

#include "text/vocab.h"

static int32_t meta_id(const pv_gguf_file *f, const char *key) {
  uint64_t v;
  return (pv_gguf_get_u64(f, key, &v) && v <= INT32_MAX) ? (int32_t)v : -1;
}

static int meta_flag(const pv_gguf_file *f, const char *key) {
  bool b;
  return pv_gguf_get_bool(f, key, &b) ? (int)b : -1;
}

static char *meta_cstr(const pv_gguf_file *f, const char *key) {
  pv_gguf_str s;
  if (!pv_gguf_get_str(f, key, &s)) return NULL;
  char *c = malloc(s.len + 1);
  if (c) {
    memcpy(c, s.ptr, s.len);
    c[s.len] = 0;
  }
  return c;
}

static bool is_int_type(pv_gguf_vtype t) {
  return t == PV_GGUF_VT_INT32 || t == PV_GGUF_VT_UINT32 || t == PV_GGUF_VT_INT8 || t == PV_GGUF_VT_UINT8 ||
         t == PV_GGUF_VT_INT16 || t == PV_GGUF_VT_UINT16 || t == PV_GGUF_VT_INT64 || t == PV_GGUF_VT_UINT64;
}

/* Reads element i of an integer array of any width. */
static int32_t arr_int(const pv_gguf_array *a, uint64_t i) {
  const uint8_t *p = a->data;
  switch (a->elem_type) {
    case PV_GGUF_VT_INT8: return (int8_t)p[i];
    case PV_GGUF_VT_UINT8: return p[i];
    case PV_GGUF_VT_INT16: { int16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case PV_GGUF_VT_UINT16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case PV_GGUF_VT_INT64: case PV_GGUF_VT_UINT64: { int64_t v; memcpy(&v, p + 8 * i, 8); return (int32_t)v; }
    default: { int32_t v; memcpy(&v, p + 4 * i, 4); return v; }
  }
}

typedef struct loaded_arrays {
  char *model, *pre;
  float *scores;
  int32_t *types;
} loaded_arrays;

static int read_arrays(const pv_gguf_file *f, pv_vocab_desc *d, loaded_arrays *la, pv_error *err) {
  const pv_gguf_array *toks = pv_gguf_get_arr(f, "tokenizer.ggml.tokens");
  if (!toks || toks->elem_type != PV_GGUF_VT_STRING || !toks->strs)
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "tokenizer.ggml.tokens: missing or not an array of strings");
  if (toks->n == 0 || toks->n > INT32_MAX)
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "tokenizer.ggml.tokens: %llu entries", (unsigned long long)toks->n);
  d->n_vocab = (uint32_t)toks->n;
  d->pieces = toks->strs;
  const pv_gguf_array *sc = pv_gguf_get_arr(f, "tokenizer.ggml.scores");
  if (sc && sc->n == toks->n && sc->elem_type == PV_GGUF_VT_FLOAT32) {
    la->scores = malloc(sc->n * sizeof *la->scores);
    if (!la->scores) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenizer: no memory");
    memcpy(la->scores, sc->data, sc->n * sizeof *la->scores);
    d->scores = la->scores;
  } else if (sc) {
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "tokenizer.ggml.scores: %llu %s entries for %u tokens",
                   (unsigned long long)sc->n, pv_gguf_vtype_name(sc->elem_type), d->n_vocab);
  }
  const pv_gguf_array *ty = pv_gguf_get_arr(f, "tokenizer.ggml.token_type");
  if (ty && ty->n == toks->n && is_int_type(ty->elem_type)) {
    la->types = malloc(ty->n * sizeof *la->types);
    if (!la->types) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenizer: no memory");
    for (uint64_t i = 0; i < ty->n; i++) la->types[i] = arr_int(ty, i);
    d->types = la->types;
  } else if (ty) {
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "tokenizer.ggml.token_type: %llu %s entries for %u tokens",
                   (unsigned long long)ty->n, pv_gguf_vtype_name(ty->elem_type), d->n_vocab);
  }
  const pv_gguf_array *mg = pv_gguf_get_arr(f, "tokenizer.ggml.merges");
  if (mg && (mg->elem_type != PV_GGUF_VT_STRING || !mg->strs))
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "tokenizer.ggml.merges: not an array of strings");
  if (mg) {
    d->n_merges = mg->n;
    d->merges = mg->strs;
  }
  return PAGEDVK_OK;
}

int pv_tokenizer_load(pv_tokenizer *tok, const pv_gguf_file *f, pv_error *err) {
  memset(tok, 0, sizeof *tok);
  loaded_arrays la = {0};
  pv_vocab_desc d = {0};
  la.model = meta_cstr(f, "tokenizer.ggml.model");
  la.pre = meta_cstr(f, "tokenizer.ggml.pre");
  d.model = la.model;
  d.pre = la.pre;
  int rc = d.model ? PAGEDVK_OK : pv_fail(err, PAGEDVK_ERR_FORMAT, "tokenizer.ggml.model: missing");
  if (!rc) rc = read_arrays(f, &d, &la, err);
  if (!rc) {
    d.bos = meta_id(f, "tokenizer.ggml.bos_token_id");
    d.eos = meta_id(f, "tokenizer.ggml.eos_token_id");
    d.eot = meta_id(f, "tokenizer.ggml.eot_token_id");
    d.unk = meta_id(f, "tokenizer.ggml.unknown_token_id");
    d.pad = meta_id(f, "tokenizer.ggml.padding_token_id");
    d.add_bos = meta_flag(f, "tokenizer.ggml.add_bos_token");
    d.add_eos = meta_flag(f, "tokenizer.ggml.add_eos_token");
    d.add_space_prefix = meta_flag(f, "tokenizer.ggml.add_space_prefix");
    rc = pv_tokenizer_build(tok, &d, err);
  }
  free(la.model);
  free(la.pre);
  free(la.scores);
  free(la.types);
  return rc;
}

