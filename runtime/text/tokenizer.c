/*
 * tokenizer.c — the vocabulary shared by both tokenizer families: building it from plain arrays
 * or from GGUF metadata, the piece→id hash map, the merge table, special-token bookkeeping
 * (BOS/EOS/EOT, end-of-generation set), the split of text on special-token strings, and the
 * dispatch of raw text stretches to tok_spm.c or tok_bpe.c.
 *
 * Invariants: `map` finds every id by its exact piece (the first id wins for duplicate pieces);
 * `special` lists the control, user-defined and unknown ids longest piece first (ties by id), the
 * order in which text is split on them; the ids in `eog` are valid and distinct.
 */
#include "text/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* ---- small helpers ------------------------------------------------------------------------- */

static uint64_t pow2_at_least(uint64_t n) {
  uint64_t c = 16;
  while (c < n) c <<= 1;
  return c;
}

static uint64_t hash_bytes(const char *s, size_t len) { return XXH3_64bits(s, len); }

static uint64_t hash_u64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

size_t pv_utf8_len(uint8_t lead, size_t left) {
  size_t n = 1;
  if (lead >= 0xF0 && lead <= 0xF7) n = 4;
  else if (lead >= 0xE0) n = lead <= 0xEF ? 3 : 1;
  else if (lead >= 0xC0) n = 2;
  return n < left ? n : left;
}

int pv_tokens_push(pv_tokens *t, int32_t id) {
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    int32_t *ids = realloc(t->ids, cap * sizeof *ids);
    if (!ids) return PAGEDVK_ERR_NO_MEMORY;
    t->ids = ids;
    t->cap = cap;
  }
  t->ids[t->n++] = id;
  return PAGEDVK_OK;
}

void pv_tokens_free(pv_tokens *t) {
  free(t->ids);
  memset(t, 0, sizeof *t);
}

/* ---- piece → id ------------------------------------------------------------------------------ */

int32_t pv_tok_map_get(const pv_tokenizer *tok, const char *s, size_t len) {
  uint64_t i = hash_bytes(s, len) & tok->map.mask;
  for (;; i = (i + 1) & tok->map.mask) {
    uint32_t slot = tok->map.slots[i];
    if (!slot) return -1;
    uint32_t id = slot - 1;
    if (tok->length[id] == len && !memcmp(tok->text + tok->offset[id], s, len)) return (int32_t)id;
  }
}

static int map_build(pv_tokenizer *tok, pv_error *err) {
  uint64_t cap = pow2_at_least((uint64_t)tok->n_vocab * 2);
  tok->map.slots = pv_calloc(cap, sizeof *tok->map.slots);
  if (!tok->map.slots) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenizer: no memory for the piece map");
  tok->map.mask = cap - 1;
  for (uint32_t id = 0; id < tok->n_vocab; id++) {
    const char *s = tok->text + tok->offset[id];
    if (pv_tok_map_get(tok, s, tok->length[id]) >= 0) continue; /* duplicate piece: first wins */
    uint64_t i = hash_bytes(s, tok->length[id]) & tok->map.mask;
    while (tok->map.slots[i]) i = (i + 1) & tok->map.mask;
    tok->map.slots[i] = id + 1;
  }
  return PAGEDVK_OK;
}

int32_t pv_token_lookup(const pv_tokenizer *tok, const char *piece, size_t len) {
  return pv_tok_map_get(tok, piece, len);
}

/* ---- merges: (left, right) → rank, result ---------------------------------------------------- */

static int merge_insert(pv_merge_map *m, int32_t left, int32_t right, int32_t rank, int32_t result) {
  uint64_t key = (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
  uint64_t i = hash_u64(key) & m->mask;
  for (; m->keys[i]; i = (i + 1) & m->mask)
    if (m->keys[i] == key) return 0; /* keep the better (earlier) rank */
  m->keys[i] = key;
  m->rank[i] = rank;
  m->result[i] = result;
  return 1;
}

int32_t pv_merge_rank(const pv_tokenizer *tok, int32_t left, int32_t right, int32_t *result) {
  const pv_merge_map *m = &tok->merges;
  if (!m->keys || left < 0 || right < 0) return -1;
  uint64_t key = (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
  for (uint64_t i = hash_u64(key) & m->mask; m->keys[i]; i = (i + 1) & m->mask) {
    if (m->keys[i] == key) {
      *result = m->result[i];
      return m->rank[i];
    }
  }
  return -1;
}

/* Id of the piece left+right (-1 when absent, -2 when out of memory); *buf is scratch space. */
static int32_t merged_id(const pv_tokenizer *tok, const char *l, size_t ll, const char *r, size_t rl, char **buf,
                         size_t *cap) {
  if (ll + rl > *cap) {
    size_t c = (ll + rl) * 2 + 64;
    char *p = realloc(*buf, c);
    if (!p) return -2;
    *buf = p;
    *cap = c;
  }
  memcpy(*buf, l, ll);
  memcpy(*buf + ll, r, rl);
  return pv_tok_map_get(tok, *buf, ll + rl);
}

/* Parses "left right" (split at the first space after the first byte, as pieces of byte-level
 * vocabularies never contain a plain space). Merges naming unknown pieces are skipped. */
static int merges_build(pv_tokenizer *tok, const pv_vocab_desc *desc, pv_error *err) {
  uint64_t cap = pow2_at_least(desc->n_merges * 2 + 1);
  pv_merge_map *m = &tok->merges;
  m->keys = pv_calloc(cap, sizeof *m->keys);
  m->rank = pv_calloc(cap, sizeof *m->rank);
  m->result = pv_calloc(cap, sizeof *m->result);
  if (!m->keys || !m->rank || !m->result)
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenizer: no memory for %llu merges",
                   (unsigned long long)desc->n_merges);
  m->mask = cap - 1;
  uint64_t skipped = 0;
  char *joined = NULL;
  size_t joined_cap = 0;
  for (uint64_t r = 0; r < desc->n_merges; r++) {
    pv_gguf_str s = desc->merges[r];
    const char *sp = s.len > 1 ? memchr(s.ptr + 1, ' ', s.len - 1) : NULL;
    if (!sp) {
      free(joined);
      return pv_fail(err, PAGEDVK_ERR_FORMAT, "tokenizer.ggml.merges[%llu]: no space in '%.*s'",
                     (unsigned long long)r, (int)(s.len > 64 ? 64 : s.len), s.ptr);
    }
    size_t ll = (size_t)(sp - s.ptr), rl = s.len - ll - 1;
    int32_t left = pv_tok_map_get(tok, s.ptr, ll), right = pv_tok_map_get(tok, sp + 1, rl), result = -1;
    if (left >= 0 && right >= 0) { /* the merged piece: both halves side by side in `text` */
      const char *l = tok->text + tok->offset[left], *rt = tok->text + tok->offset[right];
      result = merged_id(tok, l, ll, rt, rl, &joined, &joined_cap);
      if (result == -2) {
        free(joined);
        return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenizer: no memory");
      }
    }
    if (left < 0 || right < 0 || result < 0 || r > INT32_MAX) {
      skipped++;
      continue;
    }
    merge_insert(m, left, right, (int32_t)r, result);
  }
  free(joined);
  if (skipped) pv_log(PV_LOG_WARN, "tokenizer: %llu merges name pieces absent from the vocabulary; ignored",
                      (unsigned long long)skipped);
  return PAGEDVK_OK;
}

/* ---- building ------------------------------------------------------------------------------- */

static int copy_pieces(pv_tokenizer *tok, const pv_vocab_desc *desc, pv_error *err) {
  uint64_t total = 0;
  for (uint32_t i = 0; i < desc->n_vocab; i++) {
    if (desc->pieces[i].len > UINT32_MAX || !pv_add_u64(total, desc->pieces[i].len + 1, &total))
      return pv_fail(err, PAGEDVK_ERR_FORMAT, "tokenizer.ggml.tokens[%u]: piece too long", i);
  }
  tok->text = malloc(total ? total : 1);
  tok->offset = pv_calloc(desc->n_vocab, sizeof *tok->offset);
  tok->length = pv_calloc(desc->n_vocab, sizeof *tok->length);
  tok->score = pv_calloc(desc->n_vocab, sizeof *tok->score);
  tok->type = pv_calloc(desc->n_vocab, sizeof *tok->type);
  if (!tok->text || !tok->offset || !tok->length || !tok->score || !tok->type)
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenizer: no memory for %u pieces", desc->n_vocab);
  uint64_t at = 0;
  for (uint32_t i = 0; i < desc->n_vocab; i++) {
    pv_gguf_str s = desc->pieces[i];
    if (s.len) memcpy(tok->text + at, s.ptr, s.len);
    tok->text[at + s.len] = 0;
    tok->offset[i] = at;
    tok->length[i] = (uint32_t)s.len;
    at += s.len + 1;
    tok->score[i] = desc->scores ? desc->scores[i] : 0.0f;
    int32_t t = desc->types ? desc->types[i] : PV_TOKEN_NORMAL;
    tok->type[i] = (uint8_t)((t >= PV_TOKEN_NORMAL && t <= PV_TOKEN_BYTE) ? t : PV_TOKEN_NORMAL);
  }
  return PAGEDVK_OK;
}

static int32_t valid_id(const pv_tokenizer *tok, int32_t id) {
  return (id >= 0 && (uint32_t)id < tok->n_vocab) ? id : -1;
}

typedef struct special_key {
  uint32_t length;
  int32_t id;
} special_key;

/* Longest piece first, then lower id. */
static int cmp_special(const void *a, const void *b) {
  const special_key *x = a, *y = b;
  if (x->length != y->length) return x->length > y->length ? -1 : 1;
  return (x->id > y->id) - (x->id < y->id);
}

static int specials_build(pv_tokenizer *tok, pv_error *err) {
  tok->special = pv_calloc(tok->n_vocab, sizeof *tok->special);
  special_key *keys = pv_calloc(tok->n_vocab, sizeof *keys);
  if (!tok->special || !keys) {
    free(keys);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenizer: no memory");
  }
  for (uint32_t id = 0; id < tok->n_vocab; id++) {
    uint8_t t = tok->type[id];
    if ((t == PV_TOKEN_CONTROL || t == PV_TOKEN_USER_DEFINED || t == PV_TOKEN_UNKNOWN) && tok->length[id])
      keys[tok->n_special++] = (special_key){tok->length[id], (int32_t)id};
  }
  qsort(keys, tok->n_special, sizeof *keys, cmp_special);
  for (uint32_t i = 0; i < tok->n_special; i++) tok->special[i] = keys[i].id;
  free(keys);
  return PAGEDVK_OK;
}

static void eog_add(pv_tokenizer *tok, int32_t id) {
  if (id < 0 || tok->n_eog == PV_TOK_MAX_EOG) return;
  for (uint32_t i = 0; i < tok->n_eog; i++)
    if (tok->eog[i] == id) return;
  tok->eog[tok->n_eog++] = id;
}

/* End-of-turn pieces of the common chat formats; a control or user-defined token with one of
 * these texts ends generation, and the first found is the EOT token when metadata names none. */
static const char *const EOT_PIECES[] = {"<|eot_id|>", "<|im_end|>",  "<|end|>", "<end_of_turn>",
                                         "<|eom_id|>", "<|endoftext|>", "<EOT>"};

static void eog_build(pv_tokenizer *tok) {
  eog_add(tok, tok->eos);
  for (size_t i = 0; i < PV_ARRAY_LEN(EOT_PIECES); i++) {
    int32_t id = pv_tok_map_get(tok, EOT_PIECES[i], strlen(EOT_PIECES[i]));
    if (id < 0 || (tok->type[id] != PV_TOKEN_CONTROL && tok->type[id] != PV_TOKEN_USER_DEFINED)) continue;
    if (tok->eot < 0) tok->eot = id;
    eog_add(tok, id);
  }
  eog_add(tok, tok->eot);
}

static void byte_ids_spm(pv_tokenizer *tok) {
  for (int b = 0; b < 256; b++) {
    char name[8];
    snprintf(name, sizeof name, "<0x%02X>", b);
    tok->byte_id[b] = pv_tok_map_get(tok, name, 6);
  }
}

static void byte_ids_bpe(pv_tokenizer *tok) {
  for (int b = 0; b < 256; b++) {
    char c = (char)b, mapped[4];
    size_t n = pv_bpe_map_bytes(&c, 1, mapped);
    tok->byte_id[b] = pv_tok_map_get(tok, mapped, n);
  }
}

static pv_tok_pre pre_from_name(const char *name) {
  if (!name || !strcmp(name, "default") || !strcmp(name, "gpt2") || !strcmp(name, "gpt-2")) return PV_PRE_GPT2;
  if (!strcmp(name, "llama-bpe") || !strcmp(name, "llama3") || !strcmp(name, "llama-v3")) return PV_PRE_LLAMA3;
  if (!strcmp(name, "qwen2")) return PV_PRE_QWEN2;
  pv_log(PV_LOG_WARN, "tokenizer: pre-tokenizer '%s' is not known; splitting text as GPT-2 does, "
         "which may give ids that differ from the model's own tokenizer", name);
  return PV_PRE_GPT2;
}

static void set_flags(pv_tokenizer *tok, const pv_vocab_desc *d) {
  bool spm = tok->kind == PV_TOK_SPM;
  tok->bos = valid_id(tok, d->bos >= 0 ? d->bos : (spm ? 1 : -1));
  tok->eos = valid_id(tok, d->eos >= 0 ? d->eos : (spm ? 2 : -1));
  tok->unk = valid_id(tok, d->unk >= 0 ? d->unk : (spm ? 0 : -1));
  tok->eot = valid_id(tok, d->eot);
  tok->pad = valid_id(tok, d->pad);
  tok->add_bos = d->add_bos >= 0 ? d->add_bos != 0 : (spm || tok->pre == PV_PRE_LLAMA3);
  tok->add_eos = d->add_eos > 0;
  tok->add_space_prefix = spm && (d->add_space_prefix != 0);
  tok->ignore_merges = !spm && tok->pre == PV_PRE_LLAMA3;
}

int pv_tokenizer_build(pv_tokenizer *tok, const pv_vocab_desc *desc, pv_error *err) {
  memset(tok, 0, sizeof *tok);
  if (!desc->model) return pv_fail(err, PAGEDVK_ERR_FORMAT, "tokenizer: no tokenizer.ggml.model");
  if (!strcmp(desc->model, "llama")) tok->kind = PV_TOK_SPM;
  else if (!strcmp(desc->model, "gpt2")) tok->kind = PV_TOK_BPE;
  else return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "tokenizer: model '%s' is not supported (llama, gpt2)",
                      desc->model);
  if (desc->n_vocab == 0 || desc->n_vocab > INT32_MAX)
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "tokenizer: vocabulary size %u out of range", desc->n_vocab);
  tok->n_vocab = desc->n_vocab;
  tok->pre = tok->kind == PV_TOK_BPE ? pre_from_name(desc->pre) : PV_PRE_GPT2;
  int rc = copy_pieces(tok, desc, err);
  if (!rc) rc = map_build(tok, err);
  if (!rc) rc = specials_build(tok, err);
  if (!rc && tok->kind == PV_TOK_BPE) rc = merges_build(tok, desc, err);
  if (!rc && tok->kind == PV_TOK_BPE) rc = pv_bpe_init(tok, err);
  if (rc) {
    pv_tokenizer_free(tok);
    return rc;
  }
  set_flags(tok, desc);
  if (tok->kind == PV_TOK_SPM) byte_ids_spm(tok);
  else byte_ids_bpe(tok);
  eog_build(tok);
  return PAGEDVK_OK;
}

void pv_tokenizer_free(pv_tokenizer *tok) {
  if (!tok) return;
  pv_bpe_free(tok);
  free(tok->text);
  free(tok->offset);
  free(tok->length);
  free(tok->score);
  free(tok->type);
  free(tok->map.slots);
  free(tok->merges.keys);
  free(tok->merges.rank);
  free(tok->merges.result);
  free(tok->special);
  memset(tok, 0, sizeof *tok);
}

/* ---- loading from GGUF -------------------------------------------------------------------- */

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

/* ---- queries -------------------------------------------------------------------------------- */

const char *pv_token_piece(const pv_tokenizer *tok, int32_t id) {
  if (id < 0 || (uint32_t)id >= tok->n_vocab) return NULL;
  return tok->text + tok->offset[id];
}

pv_token_type pv_token_get_type(const pv_tokenizer *tok, int32_t id) {
  if (id < 0 || (uint32_t)id >= tok->n_vocab) return PV_TOKEN_UNUSED;
  return (pv_token_type)tok->type[id];
}

bool pv_tokenizer_is_eog(const pv_tokenizer *tok, int32_t id) {
  for (uint32_t i = 0; i < tok->n_eog; i++)
    if (tok->eog[i] == id) return true;
  return false;
}

static size_t put(char *buf, size_t cap, size_t at, const char *s, size_t n) {
  if (at < cap) memcpy(buf + at, s, n < cap - at ? n : cap - at);
  return at + n;
}

/* SPM: the piece with every ▁ (U+2581) turned into a space. */
static size_t spm_unescape(const char *p, size_t len, char *buf, size_t cap) {
  size_t at = 0;
  for (size_t i = 0; i < len;) {
    if (i + 3 <= len && !memcmp(p + i, "\xE2\x96\x81", 3)) {
      at = put(buf, cap, at, " ", 1);
      i += 3;
    } else {
      at = put(buf, cap, at, p + i, 1);
      i++;
    }
  }
  return at;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

size_t pv_token_bytes(const pv_tokenizer *tok, int32_t id, bool special, char *buf, size_t cap) {
  const char *p = pv_token_piece(tok, id);
  if (!p) return 0;
  size_t len = tok->length[id];
  switch (tok->type[id]) {
    case PV_TOKEN_CONTROL: return special ? put(buf, cap, 0, p, len) : 0;
    case PV_TOKEN_USER_DEFINED: return put(buf, cap, 0, p, len);
    case PV_TOKEN_UNKNOWN: return special ? put(buf, cap, 0, p, len) : put(buf, cap, 0, "\xE2\x96\x85", 3);
    case PV_TOKEN_BYTE:
      if (tok->kind == PV_TOK_SPM && len == 6 && hex_digit(p[3]) >= 0 && hex_digit(p[4]) >= 0) {
        char b = (char)(hex_digit(p[3]) * 16 + hex_digit(p[4]));
        return put(buf, cap, 0, &b, 1);
      }
      break;
    default: break;
  }
  if (tok->kind == PV_TOK_SPM) return spm_unescape(p, len, buf, cap);
  return pv_bpe_unmap(p, len, buf, cap);
}

/* ---- encoding --------------------------------------------------------------------------------
 * The text is first cut into fragments: raw stretches and special tokens. Special tokens are
 * taken longest first: each one splits every raw fragment at each of its occurrences, left to
 * right. Control and unknown tokens take part only when parse_special is asked; user-defined
 * tokens always do. */

typedef struct fragment {
  int32_t id; /* -1: raw text [off, off + len) */
  size_t off, len;
} fragment;

typedef struct fragments {
  fragment *v;
  size_t n, cap;
} fragments;

static int frag_push(fragments *f, int32_t id, size_t off, size_t len) {
  if (f->n == f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 16;
    fragment *v = realloc(f->v, cap * sizeof *v);
    if (!v) return PAGEDVK_ERR_NO_MEMORY;
    f->v = v;
    f->cap = cap;
  }
  f->v[f->n++] = (fragment){id, off, len};
  return PAGEDVK_OK;
}

/* Splits the raw fragments of `in` on occurrences of special token `id`, into `out`. */
static int split_on(const pv_tokenizer *tok, const char *text, int32_t id, const fragments *in, fragments *out) {
  const char *piece = tok->text + tok->offset[id];
  size_t plen = tok->length[id];
  out->n = 0;
  for (size_t i = 0; i < in->n; i++) {
    fragment fr = in->v[i];
    if (fr.id >= 0 || fr.len < plen) {
      if (frag_push(out, fr.id, fr.off, fr.len)) return PAGEDVK_ERR_NO_MEMORY;
      continue;
    }
    size_t at = fr.off, end = fr.off + fr.len;
    const char *hit;
    while (at < end && (hit = memmem(text + at, end - at, piece, plen)) != NULL) {
      size_t pos = (size_t)(hit - text);
      if (pos > at && frag_push(out, -1, at, pos - at)) return PAGEDVK_ERR_NO_MEMORY;
      if (frag_push(out, id, pos, plen)) return PAGEDVK_ERR_NO_MEMORY;
      at = pos + plen;
    }
    if (at < end && frag_push(out, -1, at, end - at)) return PAGEDVK_ERR_NO_MEMORY;
  }
  return PAGEDVK_OK;
}

static bool takes_part(const pv_tokenizer *tok, int32_t id, bool parse_special) {
  return parse_special || tok->type[id] == PV_TOKEN_USER_DEFINED;
}

static int partition(const pv_tokenizer *tok, const char *text, size_t len, bool parse_special, fragments *out,
                     pv_error *err) {
  fragments tmp = {0};
  int rc = frag_push(out, -1, 0, len);
  for (uint32_t s = 0; !rc && s < tok->n_special; s++) {
    int32_t id = tok->special[s];
    if (!takes_part(tok, id, parse_special) || !memmem(text, len, tok->text + tok->offset[id], tok->length[id]))
      continue;
    rc = split_on(tok, text, id, out, &tmp);
    fragments swap = *out;
    *out = tmp;
    tmp = swap;
  }
  free(tmp.v);
  return rc ? pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenize: no memory") : PAGEDVK_OK;
}

static int encode_fragments(const pv_tokenizer *tok, const char *text, const fragments *fr, pv_tokens *out,
                            pv_error *err) {
  bool prev_special = true; /* SPM: a space prefix goes before text that starts or follows a special */
  for (size_t i = 0; i < fr->n; i++) {
    int rc;
    if (fr->v[i].id >= 0) {
      rc = pv_tokens_push(out, fr->v[i].id);
      if (rc) return pv_fail(err, rc, "tokenize: no memory");
      prev_special = true;
      continue;
    }
    if (tok->kind == PV_TOK_SPM)
      rc = pv_spm_encode(tok, text + fr->v[i].off, fr->v[i].len, tok->add_space_prefix && prev_special, out, err);
    else
      rc = pv_bpe_encode(tok, text + fr->v[i].off, fr->v[i].len, out, err);
    if (rc) return rc;
    prev_special = false;
  }
  return PAGEDVK_OK;
}

int pv_tokenize(const pv_tokenizer *tok, const char *text, size_t len, bool add_special, bool parse_special,
                pv_tokens *out, pv_error *err) {
  if (!text && len) return pv_fail(err, PAGEDVK_ERR_INVALID, "tokenize: NULL text");
  if (add_special && tok->add_bos && tok->bos >= 0 && pv_tokens_push(out, tok->bos))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenize: no memory");
  if (len) {
    fragments fr = {0};
    int rc = partition(tok, text, len, parse_special, &fr, err);
    if (!rc) rc = encode_fragments(tok, text, &fr, out, err);
    free(fr.v);
    if (rc) return rc;
  }
  if (add_special && tok->add_eos && tok->eos >= 0 && pv_tokens_push(out, tok->eos))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenize: no memory");
  return PAGEDVK_OK;
}
