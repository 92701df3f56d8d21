/*
 * pagedvk.h — the public C API of pagedvk, a PagedAttention LLM inference runtime on Vulkan compute.
 *
 * This header is the only door into the library: the CLI (tools/pagedvk), the HTTP server
 * (runtime/server) and embedding programs use nothing else.
 *
 * Conventions: every function that can fail returns a pagedvk_status (0 = PAGEDVK_OK) and, when
 * given a non-NULL `char *err, size_t err_size` pair, writes one human-readable line there.
 * Objects are created by a create or open function and released by the matching destroy or close.
 */
#ifndef PAGEDVK_H
#define PAGEDVK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PAGEDVK_VERSION_MAJOR 0
#define PAGEDVK_VERSION_MINOR 1
#define PAGEDVK_VERSION_PATCH 0
#define PAGEDVK_VERSION_STRING "0.1.0"

typedef enum pagedvk_status {
  PAGEDVK_OK = 0,
  PAGEDVK_ERR_INVALID = -1,     /* bad argument or option */
  PAGEDVK_ERR_IO = -2,          /* file could not be opened or read */
  PAGEDVK_ERR_FORMAT = -3,      /* malformed file (GGUF) or input */
  PAGEDVK_ERR_UNSUPPORTED = -4, /* valid but not supported: tensor type, architecture, device feature */
  PAGEDVK_ERR_NO_DEVICE = -5,   /* no Vulkan driver or no usable device */
  PAGEDVK_ERR_VULKAN = -6,      /* a Vulkan call failed */
  PAGEDVK_ERR_NO_MEMORY = -7,   /* host or device allocation failed */
  PAGEDVK_ERR_KV_FULL = -8,     /* the KV block pool cannot hold the request */
  PAGEDVK_ERR_TOO_LONG = -9,    /* prompt or request longer than the context allows */
  PAGEDVK_ERR_ABORTED = -10,    /* request aborted (client went away, shutdown) */
  PAGEDVK_ERR_DEVICE_LOST = -11 /* the device was lost or a submit failed */
} pagedvk_status;

/* A short constant name for a status ("PAGEDVK_ERR_FORMAT" → "format error"). */
const char *pagedvk_status_str(int status);

/* ---------------------------------------------------------------------------------------------
 * Devices
 * ------------------------------------------------------------------------------------------- */

/* Writes the Vulkan devices, the one pagedvk would choose (PAGEDVK_DEVICE selects by index or
 * name substring) and its capability record and limits, as text, to `out`. */
int pagedvk_print_devices(FILE *out, char *err, size_t err_size);

/* ---------------------------------------------------------------------------------------------
 * Models (GGUF files): metadata, tokenizer, CPU reference
 * ------------------------------------------------------------------------------------------- */

typedef struct pagedvk_model pagedvk_model;

int pagedvk_model_open(pagedvk_model **out, const char *path, char *err, size_t err_size);
void pagedvk_model_close(pagedvk_model *model);

/* Architecture, hyper-parameters, tokenizer, chat template family, tensors with types and shapes,
 * parameter count and bytes per type, as text. */
void pagedvk_model_print_info(const pagedvk_model *model, FILE *out);

/* ---------------------------------------------------------------------------------------------
 * Tokenizer (the model's vocabulary: SentencePiece "llama" or byte-level BPE "gpt2")
 * A vocabulary-only GGUF (tokenizer metadata, no tensors) opens and tokenizes like a full model.
 * ------------------------------------------------------------------------------------------- */

/* Vocabulary size; ids are in [0, size). */
size_t pagedvk_vocab_size(const pagedvk_model *model);
/* Special token ids, -1 when the vocabulary has none. EOT is the end-of-turn token
 * (<|eot_id|>, <|im_end|>, …). */
int32_t pagedvk_token_bos(const pagedvk_model *model);
int32_t pagedvk_token_eos(const pagedvk_model *model);
int32_t pagedvk_token_eot(const pagedvk_model *model);
/* 1 when generation should stop at `id` (EOS, EOT and the chat formats' end-of-turn tokens). */
int pagedvk_token_is_eog(const pagedvk_model *model, int32_t id);

/* Encodes the NUL-terminated `text` into ids[0..cap).
 * add_bos: put BOS first when the model wants one (tokenizer.ggml.add_bos_token; by default true
 *   for SentencePiece vocabularies and Llama 3's, false for other BPE ones) — and EOS last when
 *   tokenizer.ggml.add_eos_token says so; 0 never adds either.
 * parse_special: text spelling a control token ("<|im_start|>", "<s>") becomes that token;
 *   with 0 such text is tokenized as plain characters.
 * *n gets the number of ids. When cap is too small, ids holds the first cap of them, *n the
 * number needed, and PAGEDVK_ERR_TOO_LONG is returned (cap = 0 measures). */
int pagedvk_tokenize(const pagedvk_model *model, const char *text, int add_bos, int parse_special, int32_t *ids,
                     size_t cap, size_t *n, char *err, size_t err_size);

/* The text of one token: "▁Hello" → " Hello", <0x0A> → "\n", byte-level pieces → their bytes.
 * May be part of a UTF-8 character (byte tokens) — use the detokenizer to build text. Control
 * tokens give "" unless `special` (then their text). Writes min(cap, *len) bytes, plus a NUL
 * when it fits; *len gets the full length. PAGEDVK_ERR_INVALID for an id out of range. */
int pagedvk_token_to_piece(const pagedvk_model *model, int32_t id, int special, char *buf, size_t cap,
                           size_t *len, char *err, size_t err_size);

/* Detokenizer flags. */
#define PAGEDVK_DETOK_SPECIAL 1     /* render control tokens (<|im_end|>, </s>) as their text */
#define PAGEDVK_DETOK_STRIP_SPACE 2 /* SentencePiece: drop the space the tokenizer put before the text
                                       (first token after an optional BOS), so that decoding a whole
                                       encoded prompt gives the prompt back */

/* Token ids to text, all at once. Invalid or incomplete UTF-8 (from byte tokens) becomes U+FFFD,
 * so the text is always valid UTF-8. Same buffer contract as pagedvk_tokenize (*len excludes the
 * NUL, which is written when it fits; PAGEDVK_ERR_TOO_LONG when cap <= *len). */
int pagedvk_detokenize(const pagedvk_model *model, const int32_t *ids, size_t n, unsigned flags, char *buf,
                       size_t cap, size_t *len, char *err, size_t err_size);

/* Streaming detokenizer: feed generated ids one at a time and get the text they complete. Bytes of
 * a UTF-8 character split across tokens are held back until the character is complete, so every
 * piece returned is valid UTF-8; feeding a list then flushing gives exactly pagedvk_detokenize's
 * text. The model must outlive the detokenizer. */
typedef struct pagedvk_detok pagedvk_detok;
int pagedvk_detok_create(pagedvk_detok **out, const pagedvk_model *model, unsigned flags, char *err,
                         size_t err_size);
/* *text (NUL-terminated) and *len: the text completed by `id`, possibly empty; valid until the
 * next call on `d`. */
int pagedvk_detok_feed(pagedvk_detok *d, int32_t id, const char **text, size_t *len, char *err, size_t err_size);
/* End of stream: held-back bytes of an unfinished character come out as U+FFFD. */
int pagedvk_detok_flush(pagedvk_detok *d, const char **text, size_t *len, char *err, size_t err_size);
void pagedvk_detok_destroy(pagedvk_detok *d);

/* ---------------------------------------------------------------------------------------------
 * Chat templates
 * The family is recognised from tokenizer.chat_template: "llama2", "llama3", "chatml" (also Qwen),
 * "mistral" or "zephyr" (also TinyLlama). A model without a template, or with one not recognised,
 * uses "chatml" and *is_fallback is set (a warning is logged when the model opens).
 * ------------------------------------------------------------------------------------------- */

typedef struct pagedvk_chat_message {
  const char *role;    /* "system", "user" or "assistant" */
  const char *content;
} pagedvk_chat_message;

/* The family name; *is_fallback (may be NULL) gets 1 when chatml is used for lack of a known template. */
const char *pagedvk_model_chat_template(const pagedvk_model *model, int *is_fallback);

/* Formats the messages as the model's template does, with the assistant generation prompt appended
 * when add_generation_prompt. The text contains the template's special tokens as text: tokenize it
 * with parse_special = 1, and with add_bos = 0 when *has_bos (may be NULL) says the text already
 * starts with the BOS token's text. Same buffer contract as pagedvk_detokenize.
 * PAGEDVK_ERR_INVALID when the messages break the template's rules (llama2 and mistral need
 * user/assistant turns to alternate after an optional system message). */
int pagedvk_chat_format(const pagedvk_model *model, const pagedvk_chat_message *msgs, size_t n,
                        int add_generation_prompt, char *buf, size_t cap, size_t *len, int *has_bos, char *err,
                        size_t err_size);

#ifdef __cplusplus
}
#endif
#endif /* PAGEDVK_H */
