/*
 * weights.h — a model's weights on the device.
 *
 * Tensors are packed into a few "arenas": device-local buffers no larger than the device binds
 * (maxStorageBufferRange, maxMemoryAllocationSize, and maxTexelBufferElements 16-byte texels for
 * the texel views), each tensor wholly inside one arena at an aligned offset. A matrix larger
 * than that is split into row ranges of whole rows, each packed as a tensor of its own
 * (pv_op_weight's parts; the ops run per part). Matrices keep their GGUF encoding (the shaders
 * dequantize on the fly); norms and biases are converted to f32. On unified memory (device-local memory the CPU can map) the
 * bytes are written in place; otherwise they go through a staging buffer (runtime/vk).
 */
#ifndef PV_WEIGHTS_H
#define PV_WEIGHTS_H

#include "model/arch.h"
#include "ops/ops.h"

typedef struct pv_dev_layer {
  pv_op_weight wq, wk, wv, wo, w_gate, w_up, w_down;
  pv_vk_view attn_norm, ffn_norm;
  pv_vk_view bq, bk, bv; /* buffer NULL without biases */
  pv_vk_view q_norm, k_norm; /* [head_dim] f32; buffer NULL without QK-norm */
  pv_vk_view post_attn_norm, post_ffn_norm; /* buffer NULL without post norms */
} pv_dev_layer;

typedef struct pv_dev_model {
  pv_hparams hp;
  pv_vk_buffer *arenas;
  VkBufferView *arena_texels; /* R32_UINT view of each arena (texelFetch path of the shaders) */
  uint32_t n_arenas;
  pv_op_weight tok_embd, output;
  pv_op_weight *parts;     /* the row ranges of every split matrix (the wholes point into it) */
  uint32_t n_parts;
  pv_vk_view output_norm;
  pv_vk_buffer rope_freqs; /* rope_dim / 2 f32 frequency divisors (llama3 scaling, LongRoPE); buffer NULL: none */
  pv_dev_layer *layers;
  uint64_t bytes;          /* device bytes of all tensors */
  double upload_seconds;
} pv_dev_model;

typedef void (*pv_progress_fn)(double fraction, void *user);

/* n_ctx: the context the model will run with (chooses LongRoPE's factor set; 0: the trained one). */
int pv_dev_model_load(pv_dev_model *m, pv_vk_context *ctx, const pv_gguf_file *f, uint32_t n_ctx,
                      pv_progress_fn progress, void *user, pv_error *err);
void pv_dev_model_destroy(pv_dev_model *m, pv_vk_context *ctx);

#endif
