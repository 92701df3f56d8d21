/*
 * model_handle.h — what a `pagedvk_model` (include/pagedvk.h) holds: the open GGUF file, its
 * general.name, the tokenizer read from its metadata and its chat template (engine/chat_template.h:
 * the file's own, an override, a built-in, the ChatML fallback or none).
 *
 * Invariants: `gguf` stays open for the model's lifetime (tensor data points into its mapping);
 * the tokenizer and chat template own copies of what they read, so they do not depend on it.
 * Hyper-parameters and weights join this struct later; add fields, keep open/close pairing.
 */
#ifndef PV_MODEL_HANDLE_H
#define PV_MODEL_HANDLE_H

#include "engine/chat_template.h"
#include "gguf/gguf.h"
#include "text/detok.h"
#include "text/tokenizer.h"

struct pagedvk_model {
  char *path;
  char *name; /* general.name as a C string (NULL when absent), for pagedvk_model_describe */
  pv_gguf_file *gguf;
  pv_tokenizer tok;
  pv_chat_template chat; /* set at open; pagedvk_model_set_chat_template replaces it */
  char unapplied[512]; /* metadata read but not applied (pv_hparams_unapplied); "" when none */
};

#endif /* PV_MODEL_HANDLE_H */
