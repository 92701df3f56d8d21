/*
 * forward.h — the model's forward pass on the device, for a whole batch of token rows from many
 * sequences (decode rows and prefill chunks together), recorded into one command buffer in the
 * order of the maths (ref.c is the same pass on the CPU):
 *
 *   embed → per layer [rmsnorm → q,k,v matmuls (+bias) → RoPE + paged KV write → paged attention
 *   → output matmul + residual → rmsnorm → fused gate/up/SwiGLU → down matmul + residual]
 *   → final rmsnorm of the rows whose logits are needed → logits matmul → (argmax)
 *
 * The engine writes the step's inputs into the host-visible buffers owned here (token rows,
 * block tables, logit rows) before recording; results are read from `logits` / `argmax`.
 */
#ifndef PV_FORWARD_H
#define PV_FORWARD_H

#include "model/weights.h"

/* One token row of the batch; mirrors TokenInfo in shaders/step.glsl. */
typedef struct pv_token_row {
  uint32_t token;
  uint32_t pos;  /* position in its sequence */
  uint32_t seq;  /* index of its sequence in this step's block-table array */
  uint32_t slot; /* block_table[pos / block_size] * block_size + pos % block_size */
} pv_token_row;

typedef struct pv_forward_limits {
  uint32_t max_tokens;         /* rows per step */
  uint32_t max_seqs;           /* sequences per step */
  uint32_t max_blocks_per_seq; /* block-table row length */
} pv_forward_limits;

typedef struct pv_forward {
  pv_vk_context *ctx;
  pv_ops *ops;
  const pv_dev_model *m;
  pv_forward_limits lim;
  /* device scratch, [rows][width] f32 */
  pv_vk_buffer x, xn, q, k, v, att, ffn, partial;
  VkBufferView xn_texel, att_texel, ffn_texel; /* RGBA32F views: matmul inputs for the texel path */
  VkBufferView q_texel, bt_texel;              /* RGBA32F q, R32_UINT block tables: attention */
  /* step inputs (host-visible) and results (read back) */
  pv_vk_buffer rows, block_tables, logit_rows, logits, argmax;
  pv_token_row *rows_map;
  uint32_t *block_tables_map;
  uint32_t *logit_rows_map;
  float *logits_map;
  uint32_t *argmax_map;
  uint32_t max_parts, part_rows; /* partitioned attention: at most max_parts, for <= part_rows rows */
} pv_forward;

typedef struct pv_forward_batch {
  uint32_t n_rows;      /* token rows in rows_map */
  uint32_t n_logits;    /* rows listed in logit_rows_map whose logits are computed */
  uint32_t max_context; /* longest context among the rows (chooses attention partitions) */
  uint32_t max_block;   /* highest physical KV block the rows read or write */
  bool want_logits;     /* read back full logits (sampling) */
  bool want_argmax;     /* compute argmax on the device (greedy) */
} pv_forward_batch;

int pv_forward_create(pv_forward *fw, pv_vk_context *ctx, pv_ops *ops, const pv_dev_model *m,
                      const pv_forward_limits *lim, pv_error *err);
void pv_forward_destroy(pv_forward *fw);

/* Records the pass. The caller has recorded the step's KV block copies (and their barrier).
 * cmd NULL records nothing and only creates the pipelines the pass would use. */
int pv_forward_record(pv_forward *fw, pv_vk_cmd *cmd, const pv_op_pool *pool, const pv_forward_batch *b,
                      pv_error *err);

/* Creates every pipeline any batch within the limits can use, so that no step waits for a shader
 * compile (on a CPU device each variant is an LLVM compile of 50-800 ms the first time). With
 * `warm` (begun, then submitted by the caller), each (pipeline, bindings) pair also runs once
 * there on zeroed inputs: lavapipe compiles per pair at its first dispatch. Only while the pool
 * holds nothing. */
int pv_forward_prepare(pv_forward *fw, pv_vk_cmd *warm, const pv_op_pool *pool, pv_error *err);

#endif
