/*
 * detok.h — token ids back to text: the bytes one token stands for, the streaming detokenizer
 * and the one-shot decode. Depends on vocab.h, bytelevel.h, utf8.h.
 *
 * Feed ids one at a time; each call yields text that is always valid UTF-8: bytes of an
 * incomplete sequence are held back until completed; bytes that can never form a valid sequence
 * become U+FFFD (one per maximal invalid subpart). Feeding ids one by one then flushing yields
 * exactly the text pv_detokenize gives for the whole list.
 */
#ifndef PV_DETOK_H
#define PV_DETOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "text/vocab.h"

/* The bytes `id` stands for in text: ▁ → space (SPM), the byte of <0xNN>, byte-level pieces
 * mapped back to bytes (BPE). Control tokens give nothing unless `special`; the unknown token
 * gives ▅ (U+2585) unless `special`. May be an incomplete
 * UTF-8 sequence. Writes at most cap bytes and returns the full length (0 for an invalid id). */
size_t pv_token_bytes(const pv_tokenizer *tok, int32_t id, bool special, char *buf, size_t cap);

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

#endif /* PV_DETOK_H */
