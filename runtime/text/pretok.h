/*
 * pretok.h — the pre-tokenizers of byte-level BPE vocabularies: the regex named by
 * `tokenizer.ggml.pre`, compiled once, cutting a stretch of text into words that are then
 * merged one by one (bpe.c).
 *
 * Depends on utf8.h. Invariants: the words of a stretch cover it exactly, in order, each non-empty
 * (text between matches, only bytes that are not valid UTF-8, forms words too, so no byte is ever
 * lost); a compiled pre-tokenizer is immutable and may be shared by threads.
 */
#ifndef PV_PRETOK_H
#define PV_PRETOK_H

#include <stddef.h>

#include "base/base.h"

/* Pre-tokenizers for byte-level BPE, named by `tokenizer.ggml.pre`. */
typedef enum pv_tok_pre { PV_PRE_GPT2 = 0, PV_PRE_LLAMA3 = 1, PV_PRE_QWEN2 = 2 } pv_tok_pre;

typedef struct pv_pretok pv_pretok; /* a compiled pre-tokenizer regex */

/* The pre-tokenizer a `tokenizer.ggml.pre` name stands for (NULL = "default"); an unknown name
 * gives GPT-2's with a warning. */
pv_tok_pre pv_pretok_from_name(const char *name);
int pv_pretok_compile(pv_tok_pre pre, pv_pretok **out, pv_error *err);
void pv_pretok_free(pv_pretok *p);

/* Called once per word, in order; a non-zero return stops the split and is returned by it
 * (the callback fills err). */
typedef int (*pv_pretok_word)(void *user, const char *word, size_t len, pv_error *err);
/* Cuts text[0..len) into words. */
int pv_pretok_split(const pv_pretok *p, const char *text, size_t len, pv_pretok_word fn, void *user,
                    pv_error *err);

#endif /* PV_PRETOK_H */
