/*
 * vocab.h — the vocabulary, which is all a tokenizer holds (the encoders keep no state of their
 * own, so the struct keeps the name the entry point gives it: pv_tokenizer). Two families, as
 * GGUF files carry them:
 *   - SentencePiece style (`tokenizer.ggml.model` = "llama"): pieces with scores, ▁ for space,
 *     byte fallback pieces <0xNN> (encoder: spm.c);
 *   - byte-level BPE (`tokenizer.ggml.model` = "gpt2"): ranked merges, pieces written in the
 *     GPT-2 byte mapping (bytelevel.h), a regex pre-tokenizer chosen by `tokenizer.ggml.pre`
 *     (pretok.h) (encoder: bpe.c).
 * vocab.c builds it from plain arrays and answers queries; vocab_gguf.c reads the arrays from
 * GGUF metadata.
 *
 * Owns: a private copy of every piece (NUL-terminated), scores, token types, a piece→id hash map,
 * the merge map, the special-token list and the compiled pre-tokenizer. Nothing points into the
 * GGUF mapping once pv_tokenizer_load returns, so the file may be closed afterwards.
 * Invariants: ids are in [0, n_vocab); every special id (bos, eos, …) is -1 or a valid id; `map`
 * finds every id by its exact piece (the first id wins for duplicate pieces); `special` lists the
 * control, user-defined and unknown ids longest piece first (ties by id); the ids in `eog` are
 * valid and distinct; a tokenizer is immutable after building, so one may be shared by threads.
 */
#ifndef PV_VOCAB_H
#define PV_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "base/hmap.h"
#include "gguf/gguf.h"
#include "text/pretok.h"

typedef enum pv_tok_kind { PV_TOK_SPM = 1, PV_TOK_BPE = 2 } pv_tok_kind;

/* Token types, numbered as GGUF's `tokenizer.ggml.token_type` numbers them. */
typedef enum pv_token_type {
  PV_TOKEN_NORMAL = 1,
  PV_TOKEN_UNKNOWN = 2,
  PV_TOKEN_CONTROL = 3,
  PV_TOKEN_USER_DEFINED = 4,
  PV_TOKEN_UNUSED = 5,
  PV_TOKEN_BYTE = 6
} pv_token_type;

#define PV_TOK_MAX_EOG 16

/* A vocabulary described by plain arrays: what pv_tokenizer_load reads from GGUF metadata, and
 * what tests fill by hand. Optional arrays may be NULL; optional ids are -1 when absent. */
typedef struct pv_vocab_desc {
  const char *model;          /* "llama" (SentencePiece) or "gpt2" (byte-level BPE) */
  const char *pre;            /* pre-tokenizer name; NULL = "default" */
  uint32_t n_vocab;
  const pv_gguf_str *pieces;     /* n_vocab pieces */
  const float *scores;        /* n_vocab scores or NULL (all 0) */
  const int32_t *types;       /* n_vocab pv_token_type or NULL (all normal) */
  uint64_t n_merges;
  const pv_gguf_str *merges;     /* "left right", best first (BPE only) */
  int32_t bos, eos, eot, unk, pad;
  int add_bos, add_eos;       /* 1/0 from metadata, -1 = tokenizer's default */
  int add_space_prefix;       /* SPM: 1/0 from metadata, -1 = default (true) */
} pv_vocab_desc;

typedef struct pv_tokenizer {
  pv_tok_kind kind;
  pv_tok_pre pre;             /* BPE: the splitting rules (GPT-2's for SPM, unused there) */
  char *pre_unknown;          /* BPE: the unknown `tokenizer.ggml.pre` that fell back to GPT-2's; NULL */
  uint32_t n_vocab;
  char *text;                 /* all pieces, each NUL-terminated */
  uint64_t *offset;           /* piece i = text + offset[i] */
  uint32_t *length;
  float *score;
  uint8_t *type;              /* pv_token_type */
  pv_hmap map;                /* pv_hash_bytes(piece) → id */
  pv_hmap merges;             /* (left id << 32 | right id) → (rank << 32 | merged id) */
  int32_t bos, eos, eot, unk, pad;
  bool add_bos, add_eos;
  bool add_space_prefix;      /* SPM: a space is put before the text (▁ prefix) */
  bool ignore_merges;         /* BPE llama3, tekken: a pre-token that is itself a piece is emitted whole */
  int32_t byte_id[256];       /* SPM: id of <0xNN>; BPE: id of the one-char mapped piece; -1 none */
  int32_t *special;           /* control, user-defined and unknown ids, longest text first */
  uint32_t n_special;
  int32_t eog[PV_TOK_MAX_EOG];
  uint32_t n_eog;
  pv_pretok *pretok;          /* BPE: the compiled pre-tokenizer; NULL for SPM */
} pv_tokenizer;

/* Builds a tokenizer from `desc` (copies everything). */
int pv_tokenizer_build(pv_tokenizer *tok, const pv_vocab_desc *desc, pv_error *err);
/* Reads the `tokenizer.ggml.*` metadata of `f` and builds the tokenizer (vocab_gguf.c). */
int pv_tokenizer_load(pv_tokenizer *tok, const pv_gguf_file *f, pv_error *err);
void pv_tokenizer_free(pv_tokenizer *tok);

/* A growable list of token ids, what the encoders append to. */
typedef struct pv_tokens {
  int32_t *ids;
  size_t n, cap;
} pv_tokens;
int pv_tokens_push(pv_tokens *t, int32_t id);
void pv_tokens_free(pv_tokens *t);

/* The vocabulary's piece for `id` as stored ("▁Hello", "ĠHello", "<0x0A>"); NULL when out of range. */
const char *pv_token_piece(const pv_tokenizer *tok, int32_t id);
/* Id of an exact piece, -1 when absent. */
int32_t pv_token_lookup(const pv_tokenizer *tok, const char *piece, size_t len);
pv_token_type pv_token_get_type(const pv_tokenizer *tok, int32_t id);
bool pv_tokenizer_is_eog(const pv_tokenizer *tok, int32_t id);

/* ---- For the encoders (spm.c, bpe.c) -------------------------------------------------------- */
/* Id of an exact piece, -1 when absent (pv_token_lookup). */
int32_t pv_tok_map_get(const pv_tokenizer *tok, const char *s, size_t len);
/* BPE: rank of merging pieces left and right (-1 when they do not merge); *result = merged id. */
int32_t pv_merge_rank(const pv_tokenizer *tok, int32_t left, int32_t right, int32_t *result);

#endif /* PV_VOCAB_H */
