/* mkmodel.h — pieces of the synthetic model writer shared between its files. */
#ifndef PV_MKMODEL_H
#define PV_MKMODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "devkit/gguf_write.h"

/* Adds the built-in SentencePiece-style vocabulary's tokenizer.* keys (see vocab.c), padded to
 * pad_to tokens when that is larger than its own size (0: no padding; smaller: an error). */
int mk_builtin_vocab(pv_gguf_writer *w, uint32_t pad_to, uint32_t *n_vocab, pv_error *err);

/* Real-model shapes (shapes.c): a preset's hyper-parameters; options given after --preset override. */
typedef struct mk_preset {
  const char *name, *arch, *model_name;
  uint32_t n_embd, n_head, n_head_kv, n_ff, ctx;
  float rope_base, rms_eps;
  int tied;
  int has_type_embd;
  pv_dtype type_embd;
  const char *chat_template; /* written when the vocabulary brings none; NULL: none */
} mk_preset;

const mk_preset *mk_preset_find(const char *name);

/* Per-tensor type mixes of llama.cpp's quantization presets (shapes.c says the rules). */
typedef enum { MK_MIX_NONE = 0, MK_MIX_Q4_K_M } mk_mix;

bool mk_mix_from_name(const char *name, mk_mix *out);
/* The type of matrix `name` (row length ne0) under the mix, in a model of n_layer layers. */
pv_dtype mk_mix_type(mk_mix mix, const char *name, uint64_t ne0, uint32_t n_layer, bool tied);

#endif
