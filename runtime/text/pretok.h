/*
 * pretok.h — the pre-tokenizers of byte-level BPE vocabularies: the rules named by
 * `tokenizer.ggml.pre`, compiled once, cutting a stretch of text into words that are then
 * merged one by one (bpe.c).
 *
 * A pre-tokenizer is a short list of regexes applied in turn: the first cuts the text into pieces
 * (matches and the text between them alike), each later one cuts every piece of the one before it
 * again, seeing only that piece (its ends are the text's ends for anchors and lookarounds).
 *
 * Depends on utf8.h. Invariants: the words of a stretch cover it exactly, in order, each non-empty
 * (text between matches, only bytes that are not valid UTF-8, forms words too, so no byte is ever
 * lost); a compiled pre-tokenizer is immutable and may be shared by threads.
 */
#ifndef PV_PRETOK_H
#define PV_PRETOK_H

#include <stdbool.h>
#include <stddef.h>

#include "base/base.h"

/* Pre-tokenizers for byte-level BPE, named by `tokenizer.ggml.pre` (pv_pretok_from_name lists
 * the names each one stands for). */
typedef enum pv_tok_pre {
  PV_PRE_GPT2 = 0,       /* GPT-2's own splitting (also MPT, OLMo, ...) */
  PV_PRE_LLAMA3,         /* Llama 3 (tiktoken cl100k-style), whole-word pieces first */
  PV_PRE_QWEN2,          /* as Llama 3 but one digit per word */
  PV_PRE_SMAUG,          /* Llama 3's regex without the whole-word shortcut */
  PV_PRE_QWEN35,         /* Qwen2's with combining marks kept with letters */
  PV_PRE_DIGITS_GPT2,    /* every digit alone, then GPT-2's (StarCoder, Refact, SmolLM, Command-R) */
  PV_PRE_TEKKEN,         /* Mistral Tekken: letters split at lower→upper case changes */
  PV_PRE_GPT4O,          /* tiktoken o200k-style (GPT-4o, Phi-4-mini, Llama 4) */
  PV_PRE_FALCON,         /* Falcon: punctuation runs, GPT-2's, then digit triples */
  PV_PRE_DEEPSEEK_LLM,   /* DeepSeek LLM: newlines, cased-letter runs, punctuation, CJK, digits */
  PV_PRE_DEEPSEEK_CODER, /* DeepSeek Coder: newlines, letters, punctuation, CJK, one digit per word */
  PV_PRE_DEEPSEEK_V3,    /* DeepSeek V3 / R1: digit triples, CJK and kana, then tiktoken-style */
  PV_PRE_COUNT
} pv_tok_pre;

typedef struct pv_pretok pv_pretok; /* a compiled pre-tokenizer */

/* The pre-tokenizer a `tokenizer.ggml.pre` name stands for (NULL = "default"). An unknown name
 * gives GPT-2's and *known = false (the caller warns); otherwise *known = true. */
pv_tok_pre pv_pretok_from_name(const char *name, bool *known);
/* A short name of the rules, e.g. "llama3" (what `pagedvk info` shows). */
const char *pv_pretok_name(pv_tok_pre pre);
int pv_pretok_compile(pv_tok_pre pre, pv_pretok **out, pv_error *err);
void pv_pretok_free(pv_pretok *p);

/* Called once per word, in order; a non-zero return stops the split and is returned by it
 * (the callback fills err). */
typedef int (*pv_pretok_word)(void *user, const char *word, size_t len, pv_error *err);
/* Cuts text[0..len) into words. */
int pv_pretok_split(const pv_pretok *p, const char *text, size_t len, pv_pretok_word fn, void *user,
                    pv_error *err);

#endif /* PV_PRETOK_H */
