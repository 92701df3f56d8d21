/*
 * vocab.c — building the vocabulary from plain arrays (vocab.h): the private copy of the pieces,
 * the piece→id map, the merge map, special-token bookkeeping (BOS/EOS/EOT, the longest-first
 * special list, the end-of-generation set), the byte pieces, the compiled pre-tokenizer; and the
 * queries on it.
 *
 * Both maps are pv_hmap: pieces are keyed by their hash with the text compared in the vocabulary's
 * own copy; merges by the packed id pair, holding the rank and the merged id packed too.
 */
#include "text/vocab.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "text/bytelevel.h"

int pv_tokens_push(pv_tokens *t, int32_t id) {
  if (t->n == t->cap && PV_GROW(t->ids, t->cap, t->n + 1)) return PAGEDVK_ERR_NO_MEMORY;
  t->ids[t->n++] = id;
  return PAGEDVK_OK;
}

void pv_tokens_free(pv_tokens *t) {
  free(t->ids);
  memset(t, 0, sizeof *t);
}

/* ---- piece → id ------------------------------------------------------------------------------ */

typedef struct piece_key {
  const char *s;
  size_t len;
} piece_key;

static bool same_piece(uint64_t id, const void *key, void *user) {
  const pv_tokenizer *tok = user;
  const piece_key *k = key;
  return tok->length[id] == k->len && !memcmp(tok->text + tok->offset[id], k->s, k->len);
}

static int32_t map_find(const pv_tokenizer *tok, uint64_t hash, const char *s, size_t len) {
  piece_key k = {s, len};
  uint64_t id;
  return pv_hmap_find(&tok->map, hash, same_piece, &k, (void *)tok, &id) ? (int32_t)id : -1;
}

int32_t pv_tok_map_get(const pv_tokenizer *tok, const char *s, size_t len) {
  return map_find(tok, pv_hash_bytes(s, len), s, len);
}

static int map_build(pv_tokenizer *tok, pv_error *err) {
  if (pv_hmap_init(&tok->map, tok->n_vocab))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenizer: no memory for the piece map");
  for (uint32_t id = 0; id < tok->n_vocab; id++) {
    const char *s = tok->text + tok->offset[id];
    uint64_t h = pv_hash_bytes(s, tok->length[id]);
    if (map_find(tok, h, s, tok->length[id]) >= 0) continue; /* duplicate piece: first wins */
    if (pv_hmap_add(&tok->map, h, id)) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenizer: no memory");
  }
  return PAGEDVK_OK;
}

int32_t pv_token_lookup(const pv_tokenizer *tok, const char *piece, size_t len) {
  return pv_tok_map_get(tok, piece, len);
}

/* ---- merges: (left, right) → rank, result ---------------------------------------------------- */

static uint64_t pair_key(int32_t left, int32_t right) { return ((uint64_t)(uint32_t)left << 32) | (uint32_t)right; }

int32_t pv_merge_rank(const pv_tokenizer *tok, int32_t left, int32_t right, int32_t *result) {
  uint64_t v;
  if (left < 0 || right < 0 || !pv_hmap_get(&tok->merges, pair_key(left, right), &v)) return -1;
  *result = (int32_t)(uint32_t)v;
  return (int32_t)(v >> 32);
}

/* Id of the piece left+right (-1 when absent, -2 when out of memory); *buf is scratch space. */
static int32_t merged_id(const pv_tokenizer *tok, const char *l, size_t ll, const char *r, size_t rl, char **buf,
                         size_t *cap) {
  if (pv_grow((void **)buf, cap, ll + rl, 1, 64)) return -2;
  memcpy(*buf, l, ll);
  memcpy(*buf + ll, r, rl);
  return pv_tok_map_get(tok, *buf, ll + rl);
}

/* Adds merge `rank` unless the pair is there already (the earlier rank is the better one); the key
 * is known to be absent when added, so pv_hmap_add saves put's second search. */
static int merge_add(pv_hmap *m, int32_t left, int32_t right, int32_t rank, int32_t result) {
  uint64_t key = pair_key(left, right);
  if (pv_hmap_get(m, key, NULL)) return PAGEDVK_OK;
  return pv_hmap_add(m, key, ((uint64_t)(uint32_t)rank << 32) | (uint32_t)result);
}

/* Parses "left right" (split at the first space after the first byte, as pieces of byte-level
 * vocabularies never contain a plain space). Merges naming unknown pieces are skipped. */
static int merges_build(pv_tokenizer *tok, const pv_vocab_desc *desc, pv_error *err) {
  if (desc->n_merges > SIZE_MAX / 4 || pv_hmap_init(&tok->merges, (size_t)desc->n_merges))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenizer: no memory for %llu merges",
                   (unsigned long long)desc->n_merges);
  uint64_t skipped = 0;
  char *joined = NULL;
  size_t joined_cap = 0;
  int rc = PAGEDVK_OK;
  for (uint64_t r = 0; !rc && r < desc->n_merges; r++) {
    pv_gguf_str s = desc->merges[r];
    const char *sp = s.len > 1 ? memchr(s.ptr + 1, ' ', s.len - 1) : NULL;
    if (!sp) {
      char esc[96];
      rc = pv_fail(err, PAGEDVK_ERR_FORMAT, "tokenizer.ggml.merges[%llu]: no space in '%s'", (unsigned long long)r,
                   pv_escape(s.ptr, s.len, esc, sizeof esc));
      break;
    }
    size_t ll = (size_t)(sp - s.ptr), rl = s.len - ll - 1;
    int32_t left = pv_tok_map_get(tok, s.ptr, ll), right = pv_tok_map_get(tok, sp + 1, rl), result = -1;
    if (left >= 0 && right >= 0) { /* the merged piece: both halves side by side in `text` */
      const char *l = tok->text + tok->offset[left], *rt = tok->text + tok->offset[right];
      result = merged_id(tok, l, ll, rt, rl, &joined, &joined_cap);
      if (result == -2) rc = pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenizer: no memory");
    }
    if (left < 0 || right < 0 || result < 0 || r > INT32_MAX) {
      skipped++;
      continue;
    }
    if (merge_add(&tok->merges, left, right, (int32_t)r, result))
      rc = pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenizer: no memory");
  }
  free(joined);
  if (!rc && skipped)
    pv_log(PV_LOG_WARN, "tokenizer: %llu merges name pieces absent from the vocabulary; ignored",
           (unsigned long long)skipped);
  return rc;
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
  assert(tok->n_eog < PV_TOK_MAX_EOG); /* see the _Static_assert below eog_build's piece list */
  if (id < 0 || tok->n_eog == PV_TOK_MAX_EOG) return;
  for (uint32_t i = 0; i < tok->n_eog; i++)
    if (tok->eog[i] == id) return;
  tok->eog[tok->n_eog++] = id;
}

/* End-of-turn pieces of the common chat formats; a control or user-defined token with one of
 * these texts ends generation, and the first found is the EOT token when metadata names none. */
static const char *const EOT_PIECES[] = {"<|eot_id|>", "<|im_end|>",  "<|end|>", "<end_of_turn>",
                                         "<|eom_id|>", "<|endoftext|>", "<EOT>"};

/* eos, the pieces above and eot: PV_TOK_MAX_EOG holds them all, so eog_add never drops one */
_Static_assert(PV_ARRAY_LEN(EOT_PIECES) + 2 <= PV_TOK_MAX_EOG, "PV_TOK_MAX_EOG must hold every end-of-generation id");

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
    size_t n = pv_bytelevel_encode(&c, 1, mapped);
    tok->byte_id[b] = pv_tok_map_get(tok, mapped, n);
  }
}

static void set_flags(pv_tokenizer *tok, const pv_vocab_desc *d) {
  bool spm = tok->kind == PV_TOK_SPM;
  tok->bos = valid_id(tok, d->bos >= 0 ? d->bos : (spm ? 1 : -1));
  tok->eos = valid_id(tok, d->eos >= 0 ? d->eos : (spm ? 2 : -1));
  tok->unk = valid_id(tok, d->unk >= 0 ? d->unk : (spm ? 0 : -1));
  tok->eot = valid_id(tok, d->eot);
  tok->pad = valid_id(tok, d->pad);
  bool llama3_like = tok->pre == PV_PRE_LLAMA3 || tok->pre == PV_PRE_TEKKEN;
  tok->add_bos = d->add_bos >= 0 ? d->add_bos != 0 : (spm || llama3_like);
  tok->add_eos = d->add_eos > 0;
  tok->add_space_prefix = spm && (d->add_space_prefix != 0);
  tok->ignore_merges = !spm && llama3_like;
}

/* The BPE pre-tokenizer `name` stands for; an unknown name falls back to GPT-2's, with one
 * warning here and the name kept for `pagedvk info`. */
static int choose_pre(pv_tokenizer *tok, const char *name, pv_error *err) {
  bool known;
  tok->pre = pv_pretok_from_name(name, &known);
  if (known) return PAGEDVK_OK;
  char esc[96];
  pv_log(PV_LOG_WARN, "tokenizer: pre-tokenizer '%s' is not known; falling back to '%s' (GPT-2's splitting), "
         "which may give ids that differ from the model's own tokenizer", pv_escape(name, strlen(name), esc, sizeof esc),
         pv_pretok_name(tok->pre));
  tok->pre_unknown = strdup(name);
  return tok->pre_unknown ? PAGEDVK_OK : pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenizer: no memory");
}

int pv_tokenizer_build(pv_tokenizer *tok, const pv_vocab_desc *desc, pv_error *err) {
  memset(tok, 0, sizeof *tok);
  if (!desc->model) return pv_fail(err, PAGEDVK_ERR_FORMAT, "tokenizer: no tokenizer.ggml.model");
  if (!strcmp(desc->model, "llama")) tok->kind = PV_TOK_SPM;
  else if (!strcmp(desc->model, "gpt2")) tok->kind = PV_TOK_BPE;
  else {
    char esc[96];
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "tokenizer: model '%s' is not supported (llama, gpt2)",
                   pv_escape(desc->model, strlen(desc->model), esc, sizeof esc));
  }
  if (desc->n_vocab == 0 || desc->n_vocab > INT32_MAX)
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "tokenizer: vocabulary size %u out of range", desc->n_vocab);
  tok->n_vocab = desc->n_vocab;
  int rc = tok->kind == PV_TOK_BPE ? choose_pre(tok, desc->pre, err) : PAGEDVK_OK;
  if (!rc) rc = copy_pieces(tok, desc, err);
  if (!rc) rc = map_build(tok, err);
  if (!rc) rc = specials_build(tok, err);
  if (!rc && tok->kind == PV_TOK_BPE) rc = merges_build(tok, desc, err);
  if (!rc && tok->kind == PV_TOK_BPE) rc = pv_pretok_compile(tok->pre, &tok->pretok, err);
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
  pv_pretok_free(tok->pretok);
  free(tok->pre_unknown);
  free(tok->text);
  free(tok->offset);
  free(tok->length);
  free(tok->score);
  free(tok->type);
  pv_hmap_free(&tok->map);
  pv_hmap_free(&tok->merges);
  free(tok->special);
  memset(tok, 0, sizeof *tok);
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
