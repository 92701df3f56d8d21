/* mkmodel.h — pieces of the synthetic model writer shared between its files. */
#ifndef PV_MKMODEL_H
#define PV_MKMODEL_H

#include <stdint.h>

#include "devkit/gguf_write.h"

/* Adds the built-in SentencePiece-style vocabulary's tokenizer.* keys (see vocab.c). */
int mk_builtin_vocab(pv_gguf_writer *w, uint32_t *n_vocab, pv_error *err);

#endif
