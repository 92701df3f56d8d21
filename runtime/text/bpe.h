/*
 * bpe.h — byte-level BPE encoding (`tokenizer.ggml.model` = "gpt2") of one stretch of text that
 * holds no special tokens (tokenizer.c cuts those out first). Depends on vocab.h, pretok.h,
 * bytelevel.h.
 */
#ifndef PV_BPE_H
#define PV_BPE_H

#include <stddef.h>

#include "text/vocab.h"

/* Appends the ids of text[0..len) to out. */
int pv_bpe_encode(const pv_tokenizer *tok, const char *text, size_t len, pv_tokens *out, pv_error *err);

#endif /* PV_BPE_H */
