/*
 * chat_template.h — chat formatting for the common template families, recognised from the
 * Jinja source in `tokenizer.chat_template` by distinctive markers (no Jinja interpreter):
 *
 *   llama3   <|start_header_id|>          Llama 3 Instruct
 *   chatml   <|im_start|>                  ChatML, Qwen / Qwen2 (with the template's default
 *                                          system message when it has one)
 *   llama2   [INST] and <<SYS>>            Llama 2 chat
 *   mistral  [INST] without <<SYS>>        Mistral Instruct v0.1 / v0.2
 *   zephyr   <|user|> and <|assistant|>    Zephyr, TinyLlama chat
 *
 * Each formatter writes exactly what its family's reference template renders (BOS/EOS written as
 * their token texts where the template writes bos_token / eos_token), with the same whitespace
 * trimming. Where the reference template raises an exception (roles not alternating, a system
 * message where it has none) the formatter returns PAGEDVK_ERR_INVALID instead — except that
 * mistral folds a leading system message into the first user turn ("system\n\nuser"), as the
 * later Mistral templates do.
 * An absent or unrecognised template falls back to chatml without a default system message;
 * `fallback` records that so the caller can say so.
 */
#ifndef PV_CHAT_TEMPLATE_H
#define PV_CHAT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/base.h"

typedef enum pv_chat_family {
  PV_CHAT_CHATML = 0,
  PV_CHAT_LLAMA2,
  PV_CHAT_LLAMA3,
  PV_CHAT_MISTRAL,
  PV_CHAT_ZEPHYR
} pv_chat_family;

typedef struct pv_chat_template {
  pv_chat_family family;
  bool fallback;          /* template absent or not recognised: chatml is used */
  char *default_system;   /* chatml: system message inserted when the chat has none; NULL if none */
  bool eos_space;         /* mistral v0.1: a space follows each assistant turn's EOS */
  char *bos, *eos;        /* token texts written for bos_token / eos_token ("" when absent) */
} pv_chat_template;

typedef struct pv_chat_msg {
  const char *role;       /* "system", "user", "assistant" (chatml and llama3 pass any role through) */
  const char *content;
} pv_chat_msg;

/* Recognises `jinja` (len bytes; NULL or empty = absent). bos/eos may be NULL. */
int pv_chat_template_init(pv_chat_template *t, const char *jinja, size_t len, const char *bos, const char *eos,
                          pv_error *err);
void pv_chat_template_free(pv_chat_template *t);
const char *pv_chat_family_name(pv_chat_family f);

/* Formats the messages, then the assistant generation prompt when asked (families whose template
 * has no such prompt — llama2, mistral — end with the user turn's [/INST] either way).
 * *out is malloc'd and NUL-terminated; *len excludes the NUL. */
int pv_chat_format(const pv_chat_template *t, const pv_chat_msg *msgs, size_t n, bool add_generation_prompt,
                   char **out, size_t *len, pv_error *err);

#endif /* PV_CHAT_TEMPLATE_H */
