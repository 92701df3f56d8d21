/*
 * tokenizer.h — text ⇄ token ids for the two vocabulary families GGUF files carry:
 *   - SentencePiece style (`tokenizer.ggml.model` = "llama"): pieces with scores, ▁ for space,
 *     byte fallback pieces <0xNN> (tok_spm.c);
 *   - byte-level BPE (`tokenizer.ggml.model` = "gpt2"): ranked merges, GPT-2 byte→unicode
 *     mapping, a regex pre-tokenizer chosen by `tokenizer.ggml.pre` (tok_bpe.c).
 * plus the streaming detokenizer (detok.c).
 *
 * Owns: a private copy of every piece (NUL-terminated), scores, token types, a piece→id hash map,
 * the merge table, the special-token list and the compiled pre-tokenizer. Nothing points into
 * the GGUF mapping once pv_tokenizer_load returns, so the file may be closed afterwards.
 * Invariants: ids are in [0, n_vocab); every special id (bos, eos, …) is -1 or a valid id;
 * a tokenizer is immutable after loading, so one may be shared by threads.
 */
#ifndef PV_TOKENIZER_H
#define PV_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "gguf/gguf.h"

typedef enum pv_tok_kind { PV_TOK_SPM = 1, PV_TOK_BPE = 2 } pv_tok_kind;

/* Pre-tokenizers for byte-level BPE, named by `tokenizer.ggml.pre`. */
typedef enum pv_tok_pre { PV_PRE_GPT2 = 0, PV_PRE_LLAMA3 = 1, PV_PRE_QWEN2 = 2 } pv_tok_pre;

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

typedef struct pv_tok_map {   /* open addressing: slot holds id + 1, 0 = empty */
  uint32_t *slots;
  uint64_t mask;
} pv_tok_map;

typedef struct pv_merge_map { /* (left id, right id) → rank and merged id */
  uint64_t *keys;             /* (left << 32 | right) + 1, 0 = empty */
  int32_t *rank;
  int32_t *result;
  uint64_t mask;
} pv_merge_map;

typedef struct pv_tokenizer {
  pv_tok_kind kind;
  pv_tok_pre pre;
  uint32_t n_vocab;
  char *text;                 /* all pieces, each NUL-terminated */
  uint64_t *offset;           /* piece i = text + offset[i] */
  uint32_t *length;
  float *score;
  uint8_t *type;              /* pv_token_type */
  pv_tok_map map;
  pv_merge_map merges;
  int32_t bos, eos, eot, unk, pad;
  bool add_bos, add_eos;
  bool add_space_prefix;      /* SPM: a space is put before the text (▁ prefix) */
  bool ignore_merges;         /* BPE llama3: a pre-token that is itself a piece is emitted whole */
  int32_t byte_id[256];       /* SPM: id of <0xNN>; BPE: id of the one-char mapped piece; -1 none */
  int32_t *special;           /* control, user-defined and unknown ids, longest text first */
  uint32_t n_special;
  int32_t eog[PV_TOK_MAX_EOG];
  uint32_t n_eog;
  void *regex;                /* pcre2_code_8 * (BPE) */
} pv_tokenizer;

/* Builds a tokenizer from `desc` (copies everything). */
int pv_tokenizer_build(pv_tokenizer *tok, const pv_vocab_desc *desc, pv_error *err);
/* Reads the `tokenizer.ggml.*` metadata of `f` and builds the tokenizer. */
int pv_tokenizer_load(pv_tokenizer *tok, const pv_gguf_file *f, pv_error *err);
void pv_tokenizer_free(pv_tokenizer *tok);

/* A growable list of token ids. */
typedef struct pv_tokens {
  int32_t *ids;
  size_t n, cap;
} pv_tokens;
int pv_tokens_push(pv_tokens *t, int32_t id);
void pv_tokens_free(pv_tokens *t);

/* Encodes `text` (len bytes, any bytes) and appends the ids to `out`.
 * add_special: put BOS first (and EOS last) when the vocabulary asks for them (add_bos/add_eos).
 * parse_special: text equal to a control token's piece becomes that token; otherwise control
 * tokens are never produced from text (user-defined tokens always are, as their tokenizers do). */
int pv_tokenize(const pv_tokenizer *tok, const char *text, size_t len, bool add_special, bool parse_special,
                pv_tokens *out, pv_error *err);

/* The vocabulary's piece for `id` as stored ("▁Hello", "ĠHello", "<0x0A>"); NULL when out of range. */
const char *pv_token_piece(const pv_tokenizer *tok, int32_t id);
/* Id of an exact piece, -1 when absent. */
int32_t pv_token_lookup(const pv_tokenizer *tok, const char *piece, size_t len);
pv_token_type pv_token_get_type(const pv_tokenizer *tok, int32_t id);
bool pv_tokenizer_is_eog(const pv_tokenizer *tok, int32_t id);

/* The bytes `id` stands for in text: ▁ → space (SPM), the byte of <0xNN>, byte-level pieces
 * mapped back to bytes (BPE). Control tokens give nothing unless `special`; the unknown token
 * gives ▅ (U+2585) unless `special`. May be an incomplete
 * UTF-8 sequence. Writes at most cap bytes and returns the full length (0 for an invalid id). */
size_t pv_token_bytes(const pv_tokenizer *tok, int32_t id, bool special, char *buf, size_t cap);

/* ---- Streaming detokenizer (detok.c) ----------------------------------------------------------
 * Feed ids one at a time; each call yields text that is always valid UTF-8: bytes of an
 * incomplete sequence are held back until completed; bytes that can never form a valid sequence
 * become U+FFFD (one per maximal invalid subpart). Feeding ids one by one then flushing yields
 * exactly the text pv_detokenize gives for the whole list. */
enum {
  PV_DETOK_SPECIAL = 1,     /* render control tokens as their text */
  PV_DETOK_STRIP_SPACE = 2  /* SPM: drop the leading space of the first token after an optional
                               BOS, as SentencePiece decoding does (decode(encode(s)) == s) */
};

typedef struct pv_detok {
  const pv_tokenizer *tok;
  unsigned flags;
  bool strip_pending;
  uint8_t pend[4];          /* an incomplete UTF-8 sequence held back */
  size_t n_pend;
  char *out;                /* last call's text, NUL-terminated */
  size_t n_out, cap_out;
  char *raw;                /* scratch of pv_detok_feed, kept so a feed allocates only to grow */
  size_t cap_raw;
} pv_detok;

void pv_detok_init(pv_detok *d, const pv_tokenizer *tok, unsigned flags);
/* Feeds one id; *text and *len: the newly completed text (valid until the next call). */
int pv_detok_feed(pv_detok *d, int32_t id, const char **text, size_t *len, pv_error *err);
/* Ends the stream: held-back bytes become U+FFFD. The state may be fed again afterwards. */
int pv_detok_flush(pv_detok *d, const char **text, size_t *len, pv_error *err);
void pv_detok_free(pv_detok *d);

/* One-shot decode into a malloc'd NUL-terminated string. */
int pv_detokenize(const pv_tokenizer *tok, const int32_t *ids, size_t n, unsigned flags, char **text,
                  size_t *len, pv_error *err);

/* Length of the well-formed UTF-8 character at p (left > 0 bytes), 1 when the bytes there are not one. */
size_t pv_utf8_char_len(const char *p, size_t left);
/* True when buf[0..len) is valid UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
bool pv_utf8_valid(const char *buf, size_t len);

/* ---- Internal, shared by tokenizer.c, tok_spm.c, tok_bpe.c ------------------------------- */
int32_t pv_tok_map_get(const pv_tokenizer *tok, const char *s, size_t len);
/* Length of the UTF-8 sequence a lead byte starts (1 for invalid bytes), clamped to `left`. */
size_t pv_utf8_len(uint8_t lead, size_t left);
/* SPM encoding of one stretch of raw text (no special tokens inside). */
int pv_spm_encode(const pv_tokenizer *tok, const char *text, size_t len, bool space_prefix, pv_tokens *out,
                  pv_error *err);
/* BPE: compile the pre-tokenizer; encode one stretch of raw text; release the regex. */
int pv_bpe_init(pv_tokenizer *tok, pv_error *err);
int pv_bpe_encode(const pv_tokenizer *tok, const char *text, size_t len, pv_tokens *out, pv_error *err);
void pv_bpe_free(pv_tokenizer *tok);
/* BPE: maps a byte-level piece back to bytes; returns the full length, writes at most cap. */
size_t pv_bpe_unmap(const char *piece, size_t len, char *buf, size_t cap);
/* BPE: writes the byte-level form of in[0..len) to out (room for 2 * len); returns its length. */
size_t pv_bpe_map_bytes(const char *in, size_t len, char *out);
/* BPE: rank of merging pieces left and right (-1 when they do not merge); *result = merged id. */
int32_t pv_merge_rank(const pv_tokenizer *tok, int32_t left, int32_t right, int32_t *result);

#endif /* PV_TOKENIZER_H */
