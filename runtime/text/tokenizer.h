/*
 * tokenizer.h — the entry point of the text room: text → token ids for a vocabulary (vocab.h),
 * with special-token parsing and BOS/EOS. It picks the vocabulary's encoder (spm.h or bpe.h)
 * for the raw text between special tokens.
 *
 * The room (runtime/text, see README.md) is layered; a file includes only headers above it:
 *   utf8 ← bytelevel, pretok ← vocab (+ vocab_gguf) ← spm, bpe ← tokenizer
 *   vocab, bytelevel, utf8 ← detok;   chat_builtin stands alone.
 * Users include this header for building and loading (vocab.h), tokenizing; detok.h for ids →
 * text; utf8.h for UTF-8 checks; chat_builtin.h for the built-in chat templates.
 */
#ifndef PV_TOKENIZER_H
#define PV_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>

#include "text/vocab.h"

/* Encodes `text` (len bytes, any bytes) and appends the ids to `out`.
 * add_special: put BOS first (and EOS last) when the vocabulary asks for them (add_bos/add_eos).
 * parse_special: text equal to a control token's piece becomes that token; otherwise control
 * tokens are never produced from text (user-defined tokens always are, as their tokenizers do). */
int pv_tokenize(const pv_tokenizer *tok, const char *text, size_t len, bool add_special, bool parse_special,
                pv_tokens *out, pv_error *err);

#endif /* PV_TOKENIZER_H */
