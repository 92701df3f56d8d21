/*
 * ops.h — one C wrapper per shader: each knows its shader's bindings, push constants and
 * workgroup shape, and records one dispatch into a command buffer. Nothing here decides what to
 * compute (that is runtime/model/forward.c); nothing here owns buffers.
 *
 * Pipelines are created on first use and kept in the pv_ops cache: an array indexed by shader id
 * (the generated PV_SHADER_* enum), each slot holding its few specialization-constant variants, so
 * a model only builds the variants its weight types need. The weight kernel of a type is found in
 * the generated table pv_wkernel_shader (runtime/gguf/wtypes.def decides which types have one).
 *
 * pv_ops_init makes every device-shaped choice once (matmul form, weight reads, attention kernel,
 * workgroup sizes; PAGEDVK_MATMUL, PAGEDVK_WEIGHTS and PAGEDVK_ATTN override) and records it in
 * ops->report, which `pagedvk info` prints.
 */
#ifndef PV_OPS_H
#define PV_OPS_H

#include "vk/vk_cmd.h"

/* Must match KV_MAX_BUFS in shaders/kv_pool.glsl. */
#define PV_KV_MAX_BUFS 8

/* A weight matrix on the device: n rows of k elements of GGUF type `type`, at byte `offset`.
 * A matrix larger than one binding is split into row ranges: n_parts > 0, parts[i] holds the next
 * parts[i].n rows (whole rows, so whole blocks) in its own buffer, and buf/offset/texel of the
 * whole are unused. The ops run per part: matmul into the matching slice of its output rows,
 * embed over the part's token range. */
typedef struct pv_op_weight {
  const pv_vk_buffer *buf;
  uint64_t offset;
  uint32_t type;
  uint32_t k, n;
  VkBufferView texel; /* optional RGBA32_UINT view of the whole buffer: read through texelFetch */
  uint32_t n_parts;   /* 0: one piece (the fields above) */
  const struct pv_op_weight *parts;
} pv_op_weight;

/* Rows per part of a matrix (type, k) split so that every part fits max_bytes and every part
 * but the last has a row count whose f32 output slice starts on an offset the device binds
 * (minStorageBufferOffsetAlignment); 0 when not even that many rows fit. */
uint32_t pv_op_weight_part_rows(const pv_vk_caps *caps, uint32_t type, uint32_t k, uint64_t max_bytes);

/* The paged KV pool as the kernels see it (see shaders/kv_pool.glsl). */
typedef struct pv_op_pool {
  const pv_vk_buffer *bufs[PV_KV_MAX_BUFS];
  uint32_t n_bufs;
  uint32_t block_size;
  uint32_t blocks_per_buf;
  uint32_t n_layer;
  uint32_t n_kv_head;
  uint32_t head_dim;
  bool f32; /* elements stored as f32 (else f16) */
  bool q8;  /* q8_0 blocks (kv_pool.glsl; f32 ignored): head_dim a multiple of 32 */
  VkBufferView texels[PV_KV_MAX_BUFS]; /* RGBA32_UINT views of bufs (optional: the texel-reading kernels) */
  uint32_t bufs_in_use; /* the pass touches blocks of bufs[0 .. bufs_in_use-1] only (0: of all n_bufs) */
} pv_op_pool;

typedef struct pv_ops_slot pv_ops_slot;

/* The attention kernels for a batch's rows. */
typedef enum pv_ops_attn_kernel {
  PV_OPS_ATTN_GROUPS, /* paged_attn: cooperative workgroups per (row, head) (GPUs) */
  PV_OPS_ATTN_LANES,  /* paged_attn_lanes: one SIMD-wide workgroup per (row, head), keys per lane */
  PV_OPS_ATTN_TILES   /* lanes, plus prompt tiles (paged_attn_rows) and decode (row, head) pairs
                       * (paged_attn_pairs) where the batch has them (CPU devices) */
} pv_ops_attn_kernel;

/* What pv_ops_init chose for this device (tests and benches may tune the live fields of pv_ops
 * afterwards; the report keeps the choice). */
typedef struct pv_ops_report {
  bool mm_row_per_invocation; /* matmul form: whole rows per invocation, else cooperative workgroups */
  uint32_t mm_rows, mm_ntok;  /* output rows (per invocation or workgroup) x tokens per workgroup */
  uint32_t mm_wg;             /* matmul invocations per workgroup */
  bool weights_texel;         /* weights read through texel views (else storage buffers) */
  pv_ops_attn_kernel attn;
  bool attn_decode_pairs;     /* large decode batches as (row, head) pairs (with tiles) */
  const char *attn_shaders[3]; /* names of the attention shaders in use (f16 KV pool), NULL-padded */
  uint32_t simd_lanes;        /* lanes of the CPU-shaped kernels */
  uint32_t wg, wg_row;        /* row kernels' workgroup; embed/rmsnorm/rope_kv/argmax per row */
  bool cpu_device;            /* why: the defaults are the CPU-shaped kernels on a CPU device */
  char overrides[96];         /* why: the PAGEDVK_MATMUL/WEIGHTS/ATTN settings that replaced a default */
  uint32_t mm_ntok_wanted;    /* matmul tokens per workgroup before maxComputeSharedMemorySize cut it */
} pv_ops_report;

typedef struct pv_ops {
  pv_vk_context *ctx;
  pv_ops_slot *slots;    /* pipeline cache: PV_SHADER_COUNT slots indexed by shader id */
  uint32_t wg;           /* invocations per workgroup for the row kernels (power of two) */
  uint32_t wg_row;       /* ... for embed, rmsnorm, rope_kv and argmax (one row per workgroup) */
  uint32_t mm_wg;        /* matmul: invocations per workgroup (power of two) */
  uint32_t mm_rows;      /* matmul: output rows per workgroup (per invocation in the row form) */
  uint32_t mm_ntok;      /* matmul: tokens per workgroup */
  bool mm_row_per_invocation; /* matmul: whole rows per invocation (CPU devices) instead of per workgroup */
  bool mm_rows_fixed;         /* matmul: mm_rows for every shape (tests, bench --mm-rows), not fewer for small ones */
  bool weights_texel;         /* read weights that have a texel view through texelFetch */
  pv_ops_attn_kernel attn;     /* attention kernel (decided once, by pv_ops_init) */
  uint32_t attn_rows_per_lane; /* prompt-tile attention: query rows per lane; 0: by head size */
  uint32_t pipelines_created; /* how many pipelines the cache compiled (warm-up tests) */
  /* Warm-up (cmd NULL below): where a pipeline runs one workgroup the first time it is used with
   * a set of bindings, because lavapipe compiles machine code at a dispatch, not at pipeline
   * creation. warm holds the (pipeline, bindings) keys already run. */
  pv_vk_cmd *warm_cmd;
  uint64_t *warm; /* hash set, warm_cap slots (a power of two), 0 = empty */
  uint32_t n_warm, warm_cap;
  bool count_cold;           /* tests: count dispatches of pairs the warm-up did not run ... */
  uint32_t cold_dispatches;  /* ... here (off in the engine: no lookup per dispatch) */
  pv_ops_report report;      /* pv_ops_init's choices, for `pagedvk info` */
} pv_ops;

/* Every pv_op_* below records into cmd. With cmd NULL it only creates the pipeline variants that
 * call would use and, when warm_cmd is set, runs each new (pipeline, bindings) pair there once
 * with one workgroup (the engine's warm-up walks the forward pass this way). */

int pv_ops_init(pv_ops *ops, pv_vk_context *ctx, pv_error *err);
void pv_ops_destroy(pv_ops *ops);

/* The device's SIMD width as the CPU-shaped kernels use it (its subgroup size; 8 if unknown). */
uint32_t pv_ops_simd_lanes(const pv_ops *ops);

/* Shader suffix of a weight type with kernels ("q4_k" as in matmul_q4_k); NULL for a type without. */
const char *pv_ops_type_suffix(uint32_t type);

/* Y[m][:] = token_embd[TOKENS[m].token] for m < rows (a split embedding: one dispatch per part,
 * each writing the rows whose token falls in its range). */
int pv_op_embed(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_weight *emb, pv_vk_view tokens, pv_vk_view y,
                uint32_t rows, uint32_t y_stride, pv_error *err);
/* The same, every element multiplied by scale (granite's embedding_scale, gemma's sqrt(n_embd);
 * pv_op_embed: 1). */
int pv_op_embed_scaled(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_weight *emb, pv_vk_view tokens, pv_vk_view y,
                       uint32_t rows, uint32_t y_stride, float scale, pv_error *err);

/* Y[r] = rmsnorm(X[src(r)]) * w; src(r) = rowsel[r] when rowsel.buffer, else r. */
int pv_op_rmsnorm(pv_ops *ops, pv_vk_cmd *cmd, pv_vk_view x, pv_vk_view y, pv_vk_view w, pv_vk_view rowsel,
                  uint32_t n, uint32_t rows, uint32_t x_stride, uint32_t y_stride, float eps, pv_error *err);
/* Y[r] += rmsnorm(X[r]) * w: a post norm before a residual add (gemma). */
int pv_op_rmsnorm_add(pv_ops *ops, pv_vk_cmd *cmd, pv_vk_view x, pv_vk_view y, pv_vk_view w, uint32_t n, uint32_t rows,
                      uint32_t x_stride, uint32_t y_stride, float eps, pv_error *err);

/* Y[m][n] (+)= scale (X[m] · W[n] (+ bias[n])), m < M. A split W (and w_up, split alike) runs one dispatch
 * per part into Y's columns of the part's rows. */
typedef struct pv_op_matmul_args {
  const pv_op_weight *w;
  const pv_op_weight *w_up; /* non-NULL: fused SwiGLU, Y = silu(X W^T) * (X W_up^T) (gelu: GeGLU) */
  pv_vk_view x, y, bias;    /* bias.buffer NULL: none; x.texel: RGBA32F view for the texel path */
  uint32_t m;
  uint32_t x_stride, y_stride;
  bool accumulate;          /* Y += result (residual connection) */
  float scale;              /* result (bias included) multiplied by it before accumulating; 0 or 1: not
                             * scaled (granite's residual and logit scales) */
  bool gelu;                /* with w_up: the gate through gelu (tanh approximation), GeGLU */
} pv_op_matmul_args;
int pv_op_matmul(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_matmul_args *a, pv_error *err);

typedef struct pv_op_rope_args {
  pv_vk_view q, k, v, tokens;
  const pv_op_pool *pool;
  uint32_t rows, n_head, n_kv_head, head_dim, rope_dim;
  float rope_base, pos_scale;
  bool neox;
  uint32_t layer;
  uint32_t q_stride, kv_stride;
  pv_vk_view freq_div; /* rope_dim / 2 floats dividing each pair's angle; buffer NULL: none */
  float mscale;        /* rotated pairs multiplied by it (rope attn_factor); 0: 1 */
} pv_op_rope_args;
/* RoPE on q and k of each row, then k and v written to the row's slot in the pool. rope_dim 0:
 * nothing rotated (a NoPE layer), k and v written all the same. */
int pv_op_rope_kv(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_rope_args *a, pv_error *err);

typedef struct pv_op_attn_args {
  pv_vk_view q, out, tokens, block_tables, partial; /* partial: rows*n_head*parts*(head_dim+2) floats */
                                                    /* q.texel (RGBA32F), block_tables.texel (R32_UINT): optional */
  const pv_op_pool *pool;
  uint32_t rows, n_head, n_kv_head, head_dim, layer, max_blocks;
  uint32_t q_stride, o_stride;
  float scale;              /* q.k multiplier; 0: 1/sqrt(head_dim) */
  uint32_t parts, part_len; /* parts > 1: partitioned, then attn_reduce. Partition i reads keys
                             * [i part_len, (i+1) part_len) and every parts*part_len after, so any
                             * parts >= 1 covers every context (more parts: more parallelism). */
  pv_vk_view row_list;      /* lanes kernel: a buffer of row indices (bound whenever given, so one
                             * pipeline-and-bindings pair serves both uses) ... */
  bool use_row_list;        /* ... that lists the `rows` rows to compute (parts 1), the batch's
                             * other rows being prompt tiles (pv_op_paged_attn_tiles) */
  uint32_t window;          /* sliding window: a row at position p sees keys p-window+1 .. p (blocks
                             * before are not read); 0: all keys 0 .. p */
  float softcap;            /* > 0: scores soft-capped, s -> softcap tanh(s / softcap); 0: off */
} pv_op_attn_args;
/* Causal paged attention of each row over its sequence (decode and prefill rows alike). A window
 * or a soft-cap selects pipelines specialised for them; without, the kernels do nothing extra. */
int pv_op_paged_attn(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_attn_args *a, pv_error *err);

/* The same attention for prompt chunks cut into tiles: tiles.buffer holds n_tiles (first row, rows)
 * pairs, each at most pv_ops_attn_tile_rows consecutive rows of one sequence at consecutive
 * positions. One fetch of a key serves a whole tile (the lanes kernel fetches per row). */
int pv_op_paged_attn_tiles(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_attn_args *a, pv_vk_view tiles, uint32_t n_tiles,
                           pv_error *err);
/* Decode rows as (row, head) pairs, one per lane (paged_attn_pairs): pair p is head p % n_head of
 * row row_list[p / n_head]; tiles.buffer holds n_tiles uvec4 (first pair, pairs <= simd lanes,
 * keys: the longest context among the tile's rows, -). For large decode batches, where the lanes
 * kernel's per-(row, head) merge costs more than the keys. */
int pv_op_paged_attn_pairs(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_attn_args *a, pv_vk_view tiles, uint32_t n_tiles,
                           pv_error *err);

/* Rows per prompt tile for these arguments, 0 where the tile kernel is not used (ops->attn other
 * than tiles, no texel views, head sizes the lanes kernel does not take). */
uint32_t pv_ops_attn_tile_rows(const pv_ops *ops, const pv_op_attn_args *a);

/* X[r][i] = cap tanh(X[r][i] / cap) in place, i < n (final logit soft-capping). */
int pv_op_softcap(pv_ops *ops, pv_vk_cmd *cmd, pv_vk_view x, uint32_t n, uint32_t rows, uint32_t x_stride, float cap,
                  pv_error *err);

/* OUT[r] = argmax X[r][0..n) (lowest index on ties); PV_ARGMAX_NONFINITE when the row holds a NaN
 * or an infinity. */
#define PV_ARGMAX_NONFINITE 0xffffffffu
int pv_op_argmax(pv_ops *ops, pv_vk_cmd *cmd, pv_vk_view x, pv_vk_view out, uint32_t n, uint32_t rows,
                 uint32_t x_stride, pv_error *err);

#endif
