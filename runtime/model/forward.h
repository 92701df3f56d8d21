/*
 * forward.h — the model's forward pass on the device, for a whole batch of token rows from many
 * sequences (decode rows and prefill chunks together), recorded into one command buffer in the
 * order of the maths (ref.c is the same pass on the CPU):
 *
 *   embed (× embd_scale) → per layer [rmsnorm → q,k,v matmuls (+bias) (→ per-head q/k rmsnorm)
 *   → RoPE (the layer's base) + paged KV write → paged attention (the layer's window; soft-cap)
 *   → output matmul + residual → rmsnorm → fused gate/up/SwiGLU (GeGLU) → down matmul + residual]
 *   → final rmsnorm of the rows whose logits are needed → logits matmul → (soft-cap) → (argmax)
 *
 * With post norms (gemma) the output and down matmuls write a scratch row instead of adding, and
 * an rmsnorm adds its normed value to the residual. Mechanisms a model lacks record nothing.
 *
 * The engine writes the step's inputs into the host-visible buffers owned here (token rows,
 * block tables, logit rows) before recording; results are read from `logits` / `argmax`.
 */
#ifndef PV_FORWARD_H
#define PV_FORWARD_H

#include <stdio.h>

#include "model/weights.h"
#include "vk/vk_cmd.h"

/* One token row of the batch; mirrors TokenInfo in shaders/step.glsl. */
typedef struct pv_token_row {
  uint32_t token;
  uint32_t pos;  /* position in its sequence */
  uint32_t seq;  /* index of its sequence in this step's block-table array */
  uint32_t slot; /* block_table[pos / block_size] * block_size + pos % block_size */
} pv_token_row;

#define PV_FW_MAX_GROUPS 32 /* = PV_KV_MAX_GROUPS */

typedef struct pv_forward_limits {
  uint32_t max_tokens;         /* rows per step */
  uint32_t max_seqs;           /* sequences per step */
  uint32_t max_blocks_per_seq; /* block-table row length */
  /* KV layer groups (kv_layout.h): each group has its own block tables and its own copy of the
   * token rows (their slots differ); a layer reads and writes its group's, at its index within
   * the group's blocks. n_groups 0 or 1 with NULL arrays: one group of every layer. */
  uint32_t n_groups;
  const uint32_t *layer_group, *layer_slot;
} pv_forward_limits;

/* The stages of a pass, each ended by a barrier: where a step's device time goes. */
typedef enum pv_stage {
  PV_STAGE_EMBED,
  PV_STAGE_ATTN_NORM,
  PV_STAGE_QKV,
  PV_STAGE_ROPE_KV,
  PV_STAGE_ATTENTION,
  PV_STAGE_ATTN_OUT,
  PV_STAGE_FFN_NORM,
  PV_STAGE_FFN_GATE_UP,
  PV_STAGE_FFN_DOWN,
  PV_STAGE_POST_NORM, /* gemma's post-attention and post-FFN norms (with their residual adds) */
  PV_STAGE_OUT_NORM,
  PV_STAGE_LOGITS,
  PV_STAGE_SOFTCAP,   /* final logit soft-capping */
  PV_STAGE_ARGMAX,
  PV_STAGE_COUNT
} pv_stage;

/* Device time per stage (PAGEDVK_KERNEL_TIMES=1): a timestamp after each stage's barrier, summed
 * over the steps that computed prompt rows ([1]) and the decode-only ones ([0]). */
typedef struct pv_forward_times {
  bool on;
  pv_vk_timer timer;
  uint8_t *stage_of; /* stage ended by timestamp i (timestamp 0 starts the pass) */
  uint32_t n;        /* timestamps of the last pass */
  double ns[2][PV_STAGE_COUNT];
  uint64_t steps[2];
} pv_forward_times;

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
  /* groups 1..n_groups-1 (group 0 is rows / block_tables above); per layer: group and slot */
  pv_vk_buffer grp_rows[PV_FW_MAX_GROUPS], grp_tables[PV_FW_MAX_GROUPS];
  pv_token_row *grp_rows_map[PV_FW_MAX_GROUPS];
  uint32_t *grp_tables_map[PV_FW_MAX_GROUPS];
  VkBufferView grp_bt_texel[PV_FW_MAX_GROUPS];
  uint32_t *layer_group, *layer_slot;
  float *logits_map;
  uint32_t *argmax_map;
  uint32_t max_parts, part_rows; /* partitioned attention: at most max_parts, for <= part_rows rows */
  /* Attention's split of a batch on CPU devices (plan_attention in forward.c): prompt runs cut
   * into tiles (first row, rows) for the tile kernel, every other row listed for the lanes kernel.
   * Host-visible, rewritten for each recorded pass. */
  pv_vk_buffer attn_tiles, attn_rows, attn_pairs;
  uint32_t *attn_tiles_map, *attn_rows_map, *attn_pairs_map;
  uint32_t attn_tile_rows; /* rows per tile; 0: the device takes no tiles (one dispatch, no list) */
  uint32_t n_attn_tiles, n_attn_rows;
  uint32_t n_attn_pair_tiles; /* > 0: the listed rows go to the decode-pairs kernel, not the lanes one */
  pv_forward_times times;
} pv_forward;

typedef struct pv_forward_batch {
  uint32_t n_rows;      /* token rows in rows_map */
  uint32_t n_logits;    /* rows listed in logit_rows_map whose logits are computed */
  uint32_t max_context; /* longest context among the rows (chooses attention partitions) */
  uint32_t max_block;   /* highest physical KV block the rows read or write */
  bool want_logits;     /* read back full logits (sampling) */
  bool want_argmax;     /* compute argmax on the device (greedy) */
} pv_forward_batch;

/* Group g's token rows and block tables (host-visible, written by the engine each step). */
static inline pv_token_row *pv_forward_rows_map(pv_forward *fw, uint32_t g) {
  return g ? fw->grp_rows_map[g] : fw->rows_map;
}
static inline uint32_t *pv_forward_tables_map(pv_forward *fw, uint32_t g) {
  return g ? fw->grp_tables_map[g] : fw->block_tables_map;
}

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

/* Stage times (forward_times.c). Enable before recording; PAGEDVK_ERR_UNSUPPORTED when the
 * queue writes no timestamps. After each submitted pass, collect (prompt: the step computed
 * prompt rows); print writes the per-step table. */
int pv_forward_times_enable(pv_forward *fw, pv_error *err);
int pv_forward_times_collect(pv_forward *fw, bool prompt, pv_error *err);
void pv_forward_times_print(const pv_forward *fw, FILE *out);
const char *pv_stage_name(pv_stage s);
/* Records the timestamp that starts a pass (stage < 0: also resets the queries) or ends `stage`;
 * nothing when times are off or cmd is NULL (forward.c calls it after each stage's barrier). */
void pv_forward_stamp(pv_forward *fw, pv_vk_cmd *cmd, int stage);

#endif
