/*
 * spm.h — SentencePiece-style encoding (`tokenizer.ggml.model` = "llama") of one stretch of text
 * that holds no special tokens (tokenizer.c cuts those out first). Depends on vocab.h, utf8.h.
 */
#ifndef PV_SPM_H
#define PV_SPM_H

#include <stdbool.h>
#include <stddef.h>

#include "text/vocab.h"

/* Appends the ids of text[0..len) to out; space_prefix: put a ▁ before the text. */
int pv_spm_encode(const pv_tokenizer *tok, const char *text, size_t len, bool space_prefix, pv_tokens *out,
                  pv_error *err);

#endif /* PV_SPM_H */
