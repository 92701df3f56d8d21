/*
 * ops.c — the pipeline cache and the dispatch wrappers of ops.h. Push-constant structs mirror
 * the `Params` blocks of the shaders field by field; keep them in the same order. Shaders are
 * named by their generated ids (pv_shader_ids.h): a variant the build does not make is a compile
 * error here, and a weight type's kernels come from the table generated from wtypes.def.
 *
 * Invariant: a created pipeline never moves (slots hold pointers), so its address keys the
 * warm-up set.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/env.h"
#include "gguf/dtype.h"
#include "ops/ops.h"
#include "pv_shader_ids.h"

/* ---- push constants: one struct per shader's Params block ---- */

typedef struct pv_push_embed { /* embed.comp */
  uint32_t n_embd, rows, y_stride, w_offset;
  uint32_t tok_first, tok_count; /* the tokens this weight (a part of a split embedding) holds */
  float scale;
} pv_push_embed;

typedef struct pv_push_rmsnorm { /* rmsnorm.comp */
  uint32_t n, rows, x_stride, y_stride;
  float eps;
  uint32_t flags; /* 1: gather source rows through ROWSEL; 2: the views start on 16 bytes; 4: add into Y */
} pv_push_rmsnorm;

typedef struct pv_push_matmul { /* matmul.comp */
  uint32_t K, N, M, x_stride, y_stride, w_offset, w2_offset;
  uint32_t flags; /* 1: add BIAS[n]; 2: accumulate into Y; 4: multiply by scale first; 8: fused gate through gelu
                   * (not silu) */
  float scale;
} pv_push_matmul;

typedef struct pv_push_rope_kv { /* rope_kv.comp */
  uint32_t rows, n_head, n_kv_head, head_dim, rope_dim;
  float rope_base, pos_scale;
  uint32_t neox, layer, block_size, blocks_per_buf, n_layer, q_stride, kv_stride, by16;
  float mscale;
} pv_push_rope_kv;

typedef struct pv_push_attn { /* paged_attn.comp */
  uint32_t rows, n_head, n_kv_head, head_dim, layer, block_size, blocks_per_buf, n_layer, max_blocks;
  uint32_t q_stride, o_stride, parts, part_len;
  float scale;
  uint32_t window; /* with the WINDOWED constant */
  float softcap;   /* with the SOFTCAP constant */
} pv_push_attn;

typedef struct pv_push_attn_lanes { /* paged_attn_lanes.comp: paged_attn's fields, then rowsel */
  pv_push_attn a;
  uint32_t rowsel; /* 1: workgroup x computes row ROWSEL[x] */
} pv_push_attn_lanes;

typedef struct pv_push_attn_rows { /* paged_attn_rows.comp (tiles and pairs) */
  uint32_t tiles, n_head, n_kv_head, head_dim, layer, block_size, blocks_per_buf, n_layer, max_blocks;
  uint32_t q_stride, o_stride;
  float scale;
  uint32_t window;
  float softcap;
} pv_push_attn_rows;

typedef struct pv_push_attn_reduce { /* attn_reduce.comp */
  uint32_t rows, n_head, head_dim, parts, o_stride;
} pv_push_attn_reduce;

typedef struct pv_push_softcap { /* softcap.comp */
  uint32_t n, rows, x_stride;
  float cap;
} pv_push_softcap;

typedef struct pv_push_argmax { /* argmax.comp */
  uint32_t n, rows, x_stride;
} pv_push_argmax;

/* ---- the pipeline cache ---- */

#define OPS_MAX_SPEC 6

typedef struct ops_pipe {
  uint32_t spec[OPS_MAX_SPEC];
  uint32_t spec_count;
  pv_vk_pipeline pipe;
} ops_pipe;

/* One shader's pipelines, one per set of specialization constants (a handful at most). */
struct pv_ops_slot {
  ops_pipe **v;
  uint32_t n, cap;
};

/* The device's SIMD width (its subgroup size), 8 if unknown, within the workgroup limit. */
static uint32_t simd_lanes(const pv_vk_caps *c) {
  uint32_t n = c->subgroup_size >= 4 && c->subgroup_size <= 64 ? c->subgroup_size : 8;
  return n <= c->max_workgroup_invocations ? n : c->max_workgroup_invocations;
}

uint32_t pv_ops_simd_lanes(const pv_ops *ops) { return simd_lanes(&ops->ctx->caps); }

/* PAGEDVK_ATTN=groups|lanes|tiles, else ("") tiles on CPU devices and groups elsewhere. */
static pv_ops_attn_kernel choose_attn(const char *env, bool cpu) {
  if (!env[0]) return cpu ? PV_OPS_ATTN_TILES : PV_OPS_ATTN_GROUPS;
  if (!strcmp(env, "tiles")) return PV_OPS_ATTN_TILES;
  return !strcmp(env, "lanes") ? PV_OPS_ATTN_LANES : PV_OPS_ATTN_GROUPS;
}

static void fill_report(pv_ops *ops, uint32_t mm_ntok_wanted) {
  pv_ops_report *r = &ops->report;
  *r = (pv_ops_report){.mm_row_per_invocation = ops->mm_row_per_invocation, .mm_rows = ops->mm_rows,
                       .mm_ntok = ops->mm_ntok, .mm_wg = ops->mm_wg, .weights_texel = ops->weights_texel,
                       .attn = ops->attn, .attn_decode_pairs = ops->attn == PV_OPS_ATTN_TILES,
                       .simd_lanes = pv_ops_simd_lanes(ops), .wg = ops->wg, .wg_row = ops->wg_row,
                       .cpu_device = ops->ctx->caps.device_type == VK_PHYSICAL_DEVICE_TYPE_CPU,
                       .mm_ntok_wanted = mm_ntok_wanted};
  const pv_env *env = pv_env_get();
  snprintf(r->overrides, sizeof r->overrides, "%s%s%s%s%s%s", env->matmul[0] ? " PAGEDVK_MATMUL=" : "", env->matmul,
           env->weights[0] ? " PAGEDVK_WEIGHTS=" : "", env->weights, env->attn[0] ? " PAGEDVK_ATTN=" : "", env->attn);
  switch (ops->attn) {
    case PV_OPS_ATTN_TILES:
      r->attn_shaders[0] = pv_shader_blobs[PV_SHADER_PAGED_ATTN_ROWS].name;
      r->attn_shaders[1] = pv_shader_blobs[PV_SHADER_PAGED_ATTN_PAIRS].name;
      r->attn_shaders[2] = pv_shader_blobs[PV_SHADER_PAGED_ATTN_LANES].name;
      break;
    case PV_OPS_ATTN_LANES: r->attn_shaders[0] = pv_shader_blobs[PV_SHADER_PAGED_ATTN_LANES].name; break;
    default: r->attn_shaders[0] = pv_shader_blobs[PV_SHADER_PAGED_ATTN].name; break;
  }
}

int pv_ops_init(pv_ops *ops, pv_vk_context *ctx, pv_error *err) {
  memset(ops, 0, sizeof *ops);
  ops->ctx = ctx;
  const pv_env *env = pv_env_get(); /* the kernel-shape overrides; "" = the device's default */
  const bool cpu = ctx->caps.device_type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  ops->wg = 64;
  while (ops->wg > ctx->caps.max_workgroup_invocations) ops->wg /= 2;
  /* On a CPU device invocations are SIMD lanes: whole rows per invocation avoid barriers.
   * PAGEDVK_MATMUL=rows|coop overrides (tests cover both). */
  ops->mm_row_per_invocation = env->matmul[0] ? !strcmp(env->matmul, "rows") : cpu;
  /* Rows per invocation there: each activation fetch then feeds 8 rows' dot products (on
   * lavapipe the fetches, not the arithmetic, bound a batched matmul: 4 rows x 16 tokens were
   * ~1.4x faster than 1 x 8 at M=64, `bench kernels --mm-rows --mm-ntok`). The workgroup is one
   * SIMD vector there, so a matrix of few rows still splits into enough workgroups without
   * fewer rows per invocation: 64 lanes x 4 rows left a 128-row matrix 1 row per invocation and
   * its decode at batch 64 1.6-2.4x slower than 8 lanes x 8 rows (docs/KERNELS.md). */
  ops->mm_wg = ops->mm_row_per_invocation ? simd_lanes(&ctx->caps) : ops->wg;
  ops->mm_rows = ops->mm_row_per_invocation ? 8 : 2;
  ops->mm_ntok = ops->mm_row_per_invocation ? 16 : 8;
  /* the cooperative form's reduction array: WG * ROWS * NTOK * 2 floats must fit in shared memory */
  const uint64_t max_shared = ctx->caps.max_shared_memory;
  const uint32_t mm_ntok_wanted = ops->mm_ntok;
  while (!ops->mm_row_per_invocation && (uint64_t)ops->mm_wg * ops->mm_rows * ops->mm_ntok * 8 > max_shared &&
         ops->mm_ntok > 1)
    ops->mm_ntok /= 2;
  /* Texel fetches are vector gathers on lavapipe, storage-buffer loads a loop over lanes.
   * PAGEDVK_WEIGHTS=texel|storage overrides. */
  ops->weights_texel = env->weights[0] ? !strcmp(env->weights, "texel") : cpu;
  /* The CPU-shaped attention (lanes, prompt tiles, decode pairs) on CPU devices: see choose_attn. */
  ops->attn = choose_attn(env->attn, cpu);
  if (ops->wg < 8) return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "ops: device allows too few invocations per workgroup");
  /* The one-row-per-workgroup kernels (embed, rmsnorm, rope_kv, argmax): on a CPU device one SIMD
   * vector (8 lanes) per row; a wider group there runs as several vectors that take turns at every
   * barrier, most of them idle on a short row. */
  ops->wg_row = cpu ? 8 : ops->wg;
  fill_report(ops, mm_ntok_wanted);
  ops->slots = calloc(PV_SHADER_COUNT, sizeof *ops->slots);
  if (!ops->slots) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "ops: out of memory");
  return PAGEDVK_OK;
}

void pv_ops_destroy(pv_ops *ops) {
  for (uint32_t id = 0; ops->slots && id < PV_SHADER_COUNT; id++) {
    pv_ops_slot *s = &ops->slots[id];
    for (uint32_t i = 0; i < s->n; i++) {
      pv_vk_pipeline_destroy(ops->ctx, &s->v[i]->pipe);
      free(s->v[i]);
    }
    free(s->v);
  }
  free(ops->slots);
  ops->slots = NULL;
  free(ops->warm);
  ops->warm = NULL;
  ops->n_warm = ops->warm_cap = 0;
}

const char *pv_ops_type_suffix(uint32_t type) {
  const pv_dtype_info *info = pv_dtype_get(type);
  return info && info->gpu ? info->suffix : NULL;
}

/* The shader of a weight kernel for a type; PV_SHADER_NONE where wtypes.def gives it none. */
static uint32_t weight_shader(pv_wkernel kind, uint32_t type) {
  return type < PV_DTYPE_MAX ? pv_wkernel_shader[kind][type] : PV_SHADER_NONE;
}

/* Elements a row must be a multiple of: quantized blocks (the shaders dequantize whole blocks
 * only), or 4 for float types (the shaders read activations as vec4 and handle float rows that are
 * not whole 32-element units). */
static uint32_t type_row_unit(uint32_t type) {
  const pv_dtype_info *info = pv_dtype_get(type);
  return info->block_elems == 1 ? 4u : info->block_elems;
}

/* Bytes of a row of k elements (k a whole number of blocks), as dequant.glsl's row_bytes. */
static uint64_t type_row_bytes(uint32_t type, uint64_t k) {
  uint64_t bytes = 0;
  return pv_dtype_row_bytes((pv_dtype)type, k, &bytes) ? bytes : 0;
}

/* The shaders read weights as 32-bit words: the buffer must hold the weight's last word whole. */
static int check_weight_fits(const pv_op_weight *w, uint32_t rows, const char *what, pv_error *err) {
  uint64_t end = w->offset + type_row_bytes(w->type, w->k) * rows;
  if (((end + 3) & ~(uint64_t)3) > w->buf->size)
    return pv_fail(err, PAGEDVK_ERR_INVALID,
                   "ops: %s weight (%llu bytes rounded up to whole words) overruns its buffer (%llu bytes)", what,
                   (unsigned long long)end, (unsigned long long)w->buf->size);
  return PAGEDVK_OK;
}

static ops_pipe *new_pipe(pv_ops *ops, uint32_t id, pv_error *err) {
  pv_ops_slot *s = &ops->slots[id];
  if (s->n == s->cap) {
    uint32_t cap = s->cap ? 2 * s->cap : 4;
    ops_pipe **v = realloc(s->v, cap * sizeof *v);
    if (!v) {
      pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "ops: out of memory");
      return NULL;
    }
    s->v = v;
    s->cap = cap;
  }
  ops_pipe *p = calloc(1, sizeof *p);
  if (!p) pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "ops: out of memory");
  return p;
}

/* Returns the cached pipeline for (shader id, spec constants), creating it on first use with the
 * given bindings (binding i: array_sizes[i] buffers, a texel buffer where bit i of texel_mask). */
static const pv_vk_pipeline *get_pipeline_ex(pv_ops *ops, uint32_t id, const uint32_t *array_sizes,
                                             uint32_t binding_count, uint32_t texel_mask, uint32_t push_size,
                                             const uint32_t *spec, uint32_t spec_count, pv_error *err) {
  if (spec_count > OPS_MAX_SPEC) {
    pv_fail(err, PAGEDVK_ERR_INVALID, "ops: %s takes at most %u specialization constants", pv_shader_blobs[id].name,
            OPS_MAX_SPEC);
    return NULL;
  }
  pv_ops_slot *s = &ops->slots[id];
  for (uint32_t i = 0; i < s->n; i++) {
    const ops_pipe *p = s->v[i];
    if (p->spec_count == spec_count && !memcmp(p->spec, spec, spec_count * sizeof *spec)) return &s->v[i]->pipe;
  }
  pv_vk_pipeline_desc d;
  memset(&d, 0, sizeof d);
  d.shader = &pv_shader_blobs[id];
  d.binding_count = binding_count;
  for (uint32_t i = 0; i < binding_count; i++) d.array_sizes[i] = array_sizes ? array_sizes[i] : 1;
  for (uint32_t i = 0; i < binding_count; i++) d.texel[i] = (texel_mask >> i) & 1u;
  d.push_size = push_size;
  for (uint32_t i = 0; i < spec_count; i++) d.spec[i] = (pv_vk_spec){i, spec[i]};
  d.spec_count = spec_count;
  ops_pipe *p = new_pipe(ops, id, err);
  if (!p) return NULL;
  memcpy(p->spec, spec, spec_count * sizeof *spec);
  p->spec_count = spec_count;
  if (pv_vk_pipeline_create(ops->ctx, &d, &p->pipe, err) != PAGEDVK_OK) {
    free(p);
    return NULL;
  }
  s->v[s->n++] = p;
  ops->pipelines_created++;
  return &p->pipe;
}

static const pv_vk_pipeline *get_pipeline(pv_ops *ops, uint32_t id, const uint32_t *array_sizes,
                                          uint32_t binding_count, uint32_t push_size, const uint32_t *spec,
                                          uint32_t spec_count, pv_error *err) {
  return get_pipeline_ex(ops, id, array_sizes, binding_count, 0, push_size, spec, spec_count, err);
}

/* The view of a weight: its texel view when the texel path is on and the weight has one. */

/* Whether to read this weight through its texel view (whole-texel paths need 16-byte rows). */
static bool use_texel(const pv_ops *ops, const pv_op_weight *w) {
  if (!ops->weights_texel || !w->texel || w->offset % 16) return false;
  /* the view covers whole 16-byte texels of the buffer: the weight must end within them */
  if (w->offset + type_row_bytes(w->type, w->k) * w->n > w->buf->size / 16 * 16) return false;
  /* the float types read whole 16-byte texels per row: rows must be multiples of 16 bytes */
  const pv_dtype_info *info = pv_dtype_get(w->type);
  return info->block_elems > 1 || (uint64_t)w->k * info->block_bytes % 16 == 0;
}

static pv_vk_view weight_view(const pv_ops *ops, const pv_op_weight *w) {
  pv_vk_view v = pv_view(w->buf);
  if (use_texel(ops, w)) v.texel = w->texel;
  return v;
}

static pv_vk_view or_dummy(pv_vk_view v, pv_vk_view dummy) { return v.buffer ? v : dummy; }

/* Whether three views start on 16 bytes: the shaders' vec4 aliases of a binding may be used. */
static bool on_16(pv_vk_view a, pv_vk_view b, pv_vk_view c) { return (a.offset | b.offset | c.offset) % 16 == 0; }

/* A pipeline with these bindings, as one 64-bit key. */
static uint64_t warm_key(const pv_vk_pipeline *p, const pv_vk_view *views, uint32_t n) {
  uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)p;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t parts[4] = {(uint64_t)(uintptr_t)views[i].buffer, views[i].offset, views[i].range, (uint64_t)views[i].texel};
    for (int j = 0; j < 4; j++) h = (h ^ parts[j]) * 1099511628211ull;
  }
  return h;
}

/* Open addressing in a power-of-two table: the slot holding key, or the empty one it would take. */
static uint64_t *warm_slot(uint64_t *t, uint32_t cap, uint64_t key) {
  uint32_t i = (uint32_t)(key ^ key >> 32) & (cap - 1);
  while (t[i] && t[i] != key) i = (i + 1) & (cap - 1);
  return &t[i];
}

static int warm_grow(pv_ops *ops) {
  uint32_t cap = ops->warm_cap ? ops->warm_cap * 2 : 256;
  uint64_t *t = calloc(cap, sizeof *t);
  if (!t) return -1;
  for (uint32_t i = 0; i < ops->warm_cap; i++)
    if (ops->warm[i]) *warm_slot(t, cap, ops->warm[i]) = ops->warm[i];
  free(ops->warm);
  ops->warm = t;
  ops->warm_cap = cap;
  return 0;
}

/* Warm-up: the first time a pipeline is used with a set of bindings, one workgroup runs it in
 * warm_cmd. lavapipe compiles machine code at a dispatch, not at pipeline creation, and compiles
 * again for other bindings (a pipeline used with another weight's views stalled a step for
 * 50-800 ms), so a pipeline is not enough of a key. */
static int warm_dispatch(pv_ops *ops, const pv_vk_pipeline *p, const pv_vk_view *views, uint32_t n, const void *push,
                         pv_error *err) {
  if (!ops->warm_cmd) return PAGEDVK_OK;
  const uint64_t key = warm_key(p, views, n) | 1u; /* 0 marks an empty slot */
  if (2 * (ops->n_warm + 1) > ops->warm_cap && warm_grow(ops)) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "ops: out of memory");
  uint64_t *slot = warm_slot(ops->warm, ops->warm_cap, key);
  if (*slot) return PAGEDVK_OK; /* run before */
  *slot = key;
  ops->n_warm++;
  const uint32_t one[3] = {1, 1, 1};
  int rc = pv_vk_cmd_dispatch(ops->warm_cmd, p, views, n, push, one, err);
  pv_vk_cmd_barrier(ops->warm_cmd, PV_BARRIER_COMPUTE_TO_COMPUTE);
  return rc;
}

static int dispatch(pv_ops *ops, pv_vk_cmd *cmd, const pv_vk_pipeline *p, const pv_vk_view *views, uint32_t n,
                    const void *push, uint32_t gx, uint32_t gy, uint32_t gz, pv_error *err) {
  if (!p) return err ? err->code : PAGEDVK_ERR_VULKAN;
  if (!cmd) return warm_dispatch(ops, p, views, n, push, err);
  if (ops->count_cold && (!ops->warm_cap || !*warm_slot(ops->warm, ops->warm_cap, warm_key(p, views, n) | 1u)))
    ops->cold_dispatches++;
  const uint32_t groups[3] = {gx, gy, gz};
  return pv_vk_cmd_dispatch(cmd, p, views, n, push, groups, err);
}

static int check_rows(const pv_ops *ops, uint32_t rows, const char *what, pv_error *err) {
  if (rows > ops->ctx->caps.max_workgroup_count[0])
    return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: %s of %u rows exceeds the device's workgroup count", what, rows);
  return PAGEDVK_OK;
}

uint32_t pv_op_weight_part_rows(const pv_vk_caps *caps, uint32_t type, uint32_t k, uint64_t max_bytes) {
  const uint64_t rb = type_row_bytes(type, k);
  if (!rb) return 0;
  /* part boundaries at multiples of `unit` rows: the output slice's offset (rows * 4 bytes) binds */
  const uint64_t unit = caps->min_storage_offset_align > 4 ? caps->min_storage_offset_align / 4 : 1;
  uint64_t rows = max_bytes / rb / unit * unit;
  return rows > UINT32_MAX / 2 ? UINT32_MAX / 2 / unit * unit : (uint32_t)rows;
}

/* One piece of an embedding: rows of tokens [tok_first, tok_first + emb->n). */
static int embed_one(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_weight *emb, uint32_t tok_first, pv_vk_view tokens,
                     pv_vk_view y, uint32_t rows, uint32_t y_stride, float scale, pv_error *err) {
  int rc = check_weight_fits(emb, emb->n, "embedding", err);
  if (rc || rows == 0) return rc;
  const bool tex = use_texel(ops, emb);
  const uint32_t spec[] = {ops->wg_row};
  const pv_vk_pipeline *p = get_pipeline_ex(ops, weight_shader(tex ? PV_WK_EMBED_TEX : PV_WK_EMBED, emb->type), NULL,
                                            3, tex ? 1u : 0u, sizeof(pv_push_embed), spec, 1, err);
  const pv_push_embed push = {emb->k, rows, y_stride, (uint32_t)emb->offset, tok_first, emb->n, scale};
  pv_vk_view views[] = {weight_view(ops, emb), tokens, y};
  return dispatch(ops, cmd, p, views, 3, &push, rows, 1, 1, err);
}

int pv_op_embed(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_weight *emb, pv_vk_view tokens, pv_vk_view y,
                uint32_t rows, uint32_t y_stride, pv_error *err) {
  return pv_op_embed_scaled(ops, cmd, emb, tokens, y, rows, y_stride, 1.0f, err);
}

int pv_op_embed_scaled(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_weight *emb, pv_vk_view tokens, pv_vk_view y,
                       uint32_t rows, uint32_t y_stride, float scale, pv_error *err) {
  if (!weight_shader(PV_WK_EMBED, emb->type))
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "ops: embedding type %u has no shader", emb->type);
  if (emb->k % type_row_unit(emb->type) || emb->offset % 4)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: embedding rows of %u elements are not whole blocks of type %u",
                   emb->k, emb->type);
  int rc = rows ? check_rows(ops, rows, "embedding", err) : PAGEDVK_OK;
  if (!emb->n_parts) {
    if (!rc) rc = embed_one(ops, cmd, emb, 0, tokens, y, rows, y_stride, scale, err);
    return rc;
  }
  /* split: every part sees every row and writes those of its tokens (one part per token); every
   * part is checked before any is recorded */
  uint32_t first = 0;
  for (uint32_t i = 0; i < emb->n_parts; first += emb->parts[i++].n) {
    const pv_op_weight *part = &emb->parts[i];
    if (part->n_parts || part->type != emb->type || part->k != emb->k || part->offset % 4)
      return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: part %u of a split embedding differs from the whole", i);
    if (!rc) rc = check_weight_fits(part, part->n, "embedding", err);
  }
  if (!rc && first != emb->n)
    rc = pv_fail(err, PAGEDVK_ERR_INVALID, "ops: the parts of a split embedding hold %u rows, not %u", first, emb->n);
  first = 0;
  for (uint32_t i = 0; i < emb->n_parts && !rc; first += emb->parts[i++].n)
    rc = embed_one(ops, cmd, &emb->parts[i], first, tokens, y, rows, y_stride, scale, err);
  return rc;
}

static int rmsnorm(pv_ops *ops, pv_vk_cmd *cmd, pv_vk_view x, pv_vk_view y, pv_vk_view w, pv_vk_view rowsel, uint32_t n,
                   uint32_t rows, uint32_t x_stride, uint32_t y_stride, float eps, bool add, pv_error *err) {
  if (rows == 0) return PAGEDVK_OK;
  int rc = check_rows(ops, rows, "rmsnorm", err);
  if (rc) return rc;
  /* CPU devices: one row per lane (rmsnorm_lanes) where rows are whole vec4s */
  const bool lanes = ops->wg_row < ops->wg && on_16(x, y, w) && (n | x_stride | y_stride) % 4 == 0;
  const uint32_t spec[] = {lanes ? pv_ops_simd_lanes(ops) : ops->wg_row};
  const pv_vk_pipeline *p = get_pipeline(ops, lanes ? PV_SHADER_RMSNORM_LANES : PV_SHADER_RMSNORM, NULL, 4,
                                         sizeof(pv_push_rmsnorm), spec, 1, err);
  const pv_push_rmsnorm push = {
      n, rows, x_stride, y_stride, eps, (rowsel.buffer ? 1u : 0u) | (on_16(x, y, w) ? 2u : 0u) | (add ? 4u : 0u)};
  pv_vk_view views[] = {x, y, w, or_dummy(rowsel, w)};
  return dispatch(ops, cmd, p, views, 4, &push, lanes ? (rows + spec[0] - 1) / spec[0] : rows, 1, 1, err);
}

int pv_op_rmsnorm(pv_ops *ops, pv_vk_cmd *cmd, pv_vk_view x, pv_vk_view y, pv_vk_view w, pv_vk_view rowsel,
                  uint32_t n, uint32_t rows, uint32_t x_stride, uint32_t y_stride, float eps, pv_error *err) {
  return rmsnorm(ops, cmd, x, y, w, rowsel, n, rows, x_stride, y_stride, eps, false, err);
}

int pv_op_rmsnorm_add(pv_ops *ops, pv_vk_cmd *cmd, pv_vk_view x, pv_vk_view y, pv_vk_view w, uint32_t n, uint32_t rows,
                      uint32_t x_stride, uint32_t y_stride, float eps, pv_error *err) {
  return rmsnorm(ops, cmd, x, y, w, (pv_vk_view){0}, n, rows, x_stride, y_stride, eps, true, err);
}

/* Output rows per invocation (row form) or per workgroup: mm_rows, halved while that would leave
 * fewer than 8 workgroups (a small matrix at batch 1 would otherwise keep one CPU core busy). */
static uint32_t matmul_rows(const pv_ops *ops, uint32_t n, uint32_t token_groups) {
  uint32_t rows = ops->mm_rows;
  if (!ops->mm_row_per_invocation || ops->mm_rows_fixed) return rows;
  while (rows > 1 && (uint64_t)(n + ops->mm_wg * rows - 1) / (ops->mm_wg * rows) * token_groups < 8) rows /= 2;
  return rows;
}

static int matmul_one(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_matmul_args *a, pv_error *err) {
  const pv_op_weight *w = a->w;
  if (!weight_shader(PV_WK_MATMUL, w->type))
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "ops: weight type %u has no matmul shader", w->type);
  if (a->w_up && (a->w_up->type != w->type || a->w_up->k != w->k || a->w_up->n != w->n))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: fused SwiGLU needs gate and up of one type and shape");
  if (a->w_up && a->bias.buffer)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: fused SwiGLU takes no bias");
  if (w->k % type_row_unit(w->type) || a->x_stride % 4 || w->offset % 4 || (a->w_up && a->w_up->offset % 4))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: matmul needs K %% %u == 0 and 4-byte aligned rows (K=%u)",
                   type_row_unit(w->type), w->k);
  int rc = check_weight_fits(w, w->n, "matmul", err);
  if (!rc && a->w_up) rc = check_weight_fits(a->w_up, w->n, "matmul (up)", err);
  if (rc) return rc;
  if (a->m == 0) return PAGEDVK_OK;
  const bool tex = use_texel(ops, w) && (!a->w_up || use_texel(ops, a->w_up)) && a->x.texel;
  const pv_wkernel kind = a->w_up ? (tex ? PV_WK_SWIGLU_TEX : PV_WK_SWIGLU) : (tex ? PV_WK_MATMUL_TEX : PV_WK_MATMUL);
  /* Tokens per workgroup: mm_ntok, or fewer when M is smaller (a power of two >= M), so a decode
   * step does not compute its one token NTOK times (tokens past M repeat the last one). */
  uint32_t ntok = 1;
  while (ntok < ops->mm_ntok && ntok < a->m) ntok *= 2;
  if (ntok > ops->mm_ntok) ntok = ops->mm_ntok;
  const uint32_t rows = matmul_rows(ops, w->n, (a->m + ntok - 1) / ntok);
  const uint32_t spec[] = {ops->mm_wg, rows, ntok, ops->mm_row_per_invocation};
  const uint32_t arrays[] = {a->w_up ? 2u : 1u, 1, 1, 1};
  const pv_vk_pipeline *p = get_pipeline_ex(ops, weight_shader(kind, w->type), arrays, 4, tex ? 3u : 0u,
                                            sizeof(pv_push_matmul), spec, 4, err);
  const pv_push_matmul push = {
      w->k, w->n, a->m, a->x_stride, a->y_stride, (uint32_t)w->offset, a->w_up ? (uint32_t)a->w_up->offset : 0u,
      (a->bias.buffer ? 1u : 0u) | (a->accumulate ? 2u : 0u) | (a->scale != 0.0f && a->scale != 1.0f ? 4u : 0u) |
          (a->gelu ? 8u : 0u),
      a->scale};
  pv_vk_view views[5];
  uint32_t nv = 0;
  views[nv++] = weight_view(ops, w);
  if (a->w_up) views[nv++] = weight_view(ops, a->w_up);
  if (!tex) views[0].texel = views[nv - 1].texel = VK_NULL_HANDLE;
  if (!tex) views[a->w_up ? 2 : 1].texel = VK_NULL_HANDLE;
  views[nv++] = a->x;
  views[nv++] = a->y;
  views[nv++] = or_dummy(a->bias, a->x);
  uint32_t rows_per_group = ops->mm_row_per_invocation ? ops->mm_wg * rows : rows;
  uint32_t row_groups = (w->n + rows_per_group - 1) / rows_per_group;
  uint32_t max_x = ops->ctx->caps.max_workgroup_count[0];
  uint32_t gx = row_groups, gz = 1;
  while (gx > max_x) { /* fold row groups into z */
    gz++;
    gx = (row_groups + gz - 1) / gz;
  }
  uint32_t gy = (a->m + ntok - 1) / ntok;
  return dispatch(ops, cmd, p, views, nv, &push, gx, gy, gz, err);
}

/* A view `bytes` further into its buffer (the output and bias slices of a part's rows). */
static pv_vk_view view_from(pv_vk_view v, uint64_t bytes) {
  v.offset += bytes;
  if (v.range) v.range = v.range > bytes ? v.range - bytes : 1; /* 1: outside, refused at the dispatch */
  return v;
}

/* A split matrix: part i's rows go to Y's columns [row0, row0 + n) (bias likewise), one dispatch
 * each; parts write disjoint columns, so no barrier between them. Every part is checked before
 * any is recorded. */
static int matmul_split(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_matmul_args *a, pv_error *err) {
  const pv_op_weight *w = a->w, *up = a->w_up;
  if (up && (up->n_parts != w->n_parts || up->type != w->type || up->k != w->k || up->n != w->n))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: fused SwiGLU needs gate and up split alike");
  const uint64_t align = ops->ctx->caps.min_storage_offset_align ? ops->ctx->caps.min_storage_offset_align : 1;
  uint32_t row0 = 0;
  for (uint32_t i = 0; i < w->n_parts; row0 += w->parts[i++].n) {
    const pv_op_weight *part = &w->parts[i];
    if (part->n_parts || part->type != w->type || part->k != w->k || (up && up->parts[i].n != part->n))
      return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: part %u of a split matrix differs from the whole", i);
    if ((a->y.offset + (uint64_t)row0 * 4) % align || (a->bias.buffer && (a->bias.offset + (uint64_t)row0 * 4) % align))
      return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: part %u of a split matrix starts at row %u, whose output is "
                     "not on a %llu-byte binding offset", i, row0, (unsigned long long)align);
  }
  if (row0 != w->n)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: the parts of a split matrix hold %u rows, not %u", row0, w->n);
  int rc = PAGEDVK_OK;
  row0 = 0;
  for (uint32_t i = 0; i < w->n_parts && !rc; row0 += w->parts[i++].n) {
    pv_op_matmul_args pa = *a;
    pa.w = &w->parts[i];
    pa.w_up = up ? &up->parts[i] : NULL;
    pa.y = view_from(a->y, (uint64_t)row0 * 4);
    if (a->bias.buffer) pa.bias = view_from(a->bias, (uint64_t)row0 * 4);
    rc = matmul_one(ops, cmd, &pa, err);
  }
  return rc;
}

int pv_op_matmul(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_matmul_args *a, pv_error *err) {
  if (a->w->n_parts) return matmul_split(ops, cmd, a, err);
  if (a->w_up && a->w_up->n_parts)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: fused SwiGLU needs gate and up split alike");
  return matmul_one(ops, cmd, a, err);
}

/* Pool elements per 16-byte texel (8 f16, 4 f32; 32 for q8_0: a quant block, two texels, is the
 * unit its kernels read) and the shader of each KV pool type. */
static uint32_t pool_ept(const pv_op_pool *pool) { return pool->q8 ? 32 : pool->f32 ? 4 : 8; }
static uint32_t pool_shader(const pv_op_pool *pool, uint32_t f16, uint32_t f32, uint32_t q8) {
  return pool->q8 ? q8 : pool->f32 ? f32 : f16;
}

/* The CPU-shaped attention (paged_attn_lanes.comp): where pv_ops_init chose lanes or tiles, when
 * every input it reads through texel buffers has a view (tiles: lanes plus the prompt-tile kernel,
 * the CPU default; lanes: every row through lanes). */
static bool use_lanes(const pv_ops *ops, const pv_op_attn_args *a) {
  const pv_vk_caps *c = &ops->ctx->caps;
  const uint32_t lanes = simd_lanes(c);
  /* a head's row must start on a 16-byte texel of the pool: 8 f16 or 4 f32 elements */
  bool can = a->q.texel && a->block_tables.texel && a->pool->texels[0] && a->q_stride % 4 == 0 &&
             a->head_dim % pool_ept(a->pool) == 0 &&
             (uint64_t)lanes * ((a->head_dim + 31) / 32 * 32 + 2) * 4 <= c->max_shared_memory;
  return can && ops->attn != PV_OPS_ATTN_GROUPS;
}

static void pool_views(const pv_op_pool *pool, pv_vk_view *views) {
  for (uint32_t i = 0; i < PV_KV_MAX_BUFS; i++) views[i] = pv_view(pool->bufs[i < pool->n_bufs ? i : 0]);
}

int pv_op_rope_kv(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_rope_args *a, pv_error *err) {
  if (a->rows == 0) return PAGEDVK_OK;
  int rc = check_rows(ops, a->rows, "rope", err);
  if (rc) return rc;
  const pv_op_pool *pool = a->pool;
  /* CPU devices: one row per lane (rope_kv_lanes) where the shader's 16-byte paths apply */
  if (pool->q8 && a->head_dim % 32)
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "ops: a q8_0 KV pool needs a head size that is a multiple of 32 (got %u)",
                   a->head_dim);
  const uint32_t half_rot = a->rope_dim / 2, ept = pool_ept(pool);
  const bool lanes = ops->wg_row < ops->wg && on_16(a->q, a->k, a->v) && (a->q_stride | a->kv_stride) % 4 == 0 &&
                     a->head_dim % ept == 0 && (a->neox ? half_rot : a->rope_dim) % 4 == 0 &&
                     pool->block_size && !(pool->block_size & (pool->block_size - 1));
  /* frequency divisors through a specialization constant: the pipeline without them is unchanged */
  const uint32_t spec[] = {lanes ? pv_ops_simd_lanes(ops) : ops->wg_row, a->freq_div.buffer ? 1u : 0u};
  const uint32_t arrays[] = {1, 1, 1, 1, PV_KV_MAX_BUFS, 1};
  const uint32_t id = lanes ? pool_shader(pool, PV_SHADER_ROPE_KV_LANES, PV_SHADER_ROPE_KV_LANES_F32,
                                          PV_SHADER_ROPE_KV_LANES_Q8)
                            : pool_shader(pool, PV_SHADER_ROPE_KV, PV_SHADER_ROPE_KV_F32, PV_SHADER_ROPE_KV_Q8);
  const pv_vk_pipeline *p = get_pipeline(ops, id, arrays, 6, sizeof(pv_push_rope_kv), spec, 2, err);
  const pv_push_rope_kv push = {a->rows,      a->n_head,        a->n_kv_head,       a->head_dim, a->rope_dim,
            a->rope_base, a->pos_scale,     a->neox ? 1u : 0u,  a->layer,    pool->block_size,
            pool->blocks_per_buf, pool->n_layer, a->q_stride, a->kv_stride, on_16(a->q, a->k, a->v),
            a->mscale != 0.0f ? a->mscale : 1.0f};
  pv_vk_view views[5 + PV_KV_MAX_BUFS] = {a->q, a->k, a->v, a->tokens};
  pool_views(pool, views + 4);
  views[4 + PV_KV_MAX_BUFS] = or_dummy(a->freq_div, a->tokens);
  return dispatch(ops, cmd, p, views, 5 + PV_KV_MAX_BUFS, &push, lanes ? (a->rows + spec[0] - 1) / spec[0] : a->rows,
                  1, 1, err);
}

/* The q.k multiplier: the arguments' scale, else 1/sqrt(head_dim). */
static float attn_scale(const pv_op_attn_args *a) { return a->scale != 0.0f ? a->scale : 1.0f / sqrtf((float)a->head_dim); }

int pv_op_paged_attn(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_attn_args *a, pv_error *err) {
  if (a->rows == 0) return PAGEDVK_OK;
  int rc = check_rows(ops, a->rows, "attention", err);
  if (rc) return rc;
  const pv_op_pool *pool = a->pool;
  uint32_t max_hd = 64;
  while (max_hd < a->head_dim) max_hd *= 2;
  if (a->head_dim % 2 || max_hd > 256)
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "ops: head size %u is not supported (even, <= 256)", a->head_dim);
  if (pool->q8 && a->head_dim % 32)
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "ops: a q8_0 KV pool needs a head size that is a multiple of 32 (got %u)",
                   a->head_dim);
  if (!pool->block_size || (pool->block_size & (pool->block_size - 1)))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: KV block size %u is not a power of two", pool->block_size);
  const uint32_t windowed = a->window ? 1u : 0u, capped = a->softcap > 0.0f ? 1u : 0u;
  const uint32_t spec[] = {ops->wg, max_hd, windowed, capped};
  const uint32_t arrays[] = {1, 1, 1, 1, 1, PV_KV_MAX_BUFS, 1};
  const bool lanes = use_lanes(ops, a);
  const pv_vk_pipeline *p =
      lanes ? NULL
            : get_pipeline(ops, pool_shader(pool, PV_SHADER_PAGED_ATTN, PV_SHADER_PAGED_ATTN_F32, PV_SHADER_PAGED_ATTN_Q8),
                           arrays, 6,
                           sizeof(pv_push_attn), spec, 4, err);
  uint32_t parts = a->parts ? a->parts : 1;
  if (parts > 1 && (a->part_len == 0 || !a->partial.buffer || (uint64_t)parts * a->part_len > 0x7fffffffu))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: partitioned attention needs part_len > 0 and a partial buffer");
  if (parts > ops->ctx->caps.max_workgroup_count[2])
    return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: %u attention partitions exceed the device's workgroup count", parts);
  /* the lanes kernel's Params are paged_attn's plus rowsel: one struct serves both */
  const pv_push_attn_lanes push = {{a->rows, a->n_head, a->n_kv_head, a->head_dim, a->layer, pool->block_size,
                                    pool->blocks_per_buf, pool->n_layer, a->max_blocks, a->q_stride, a->o_stride,
                                    parts, parts > 1 ? a->part_len : 0xffffffffu, attn_scale(a), a->window,
                                    a->softcap},
                                   a->use_row_list ? 1u : 0u};
  pv_vk_view views[6 + PV_KV_MAX_BUFS] = {a->q, a->out, a->tokens, a->block_tables, or_dummy(a->partial, a->out)};
  pool_views(pool, views + 5);
  if (lanes) {
    /* one small workgroup per (row, head, part); keys per lane, merged once through shared memory */
    /* A pass whose blocks all lie in the first buffer (a big pool lightly used: blocks are taken
     * lowest first) gets the variant without the buffer switch too. */
    const uint32_t in_use = pool->bufs_in_use && pool->bufs_in_use < pool->n_bufs ? pool->bufs_in_use : pool->n_bufs;
    const uint32_t lspec[] = {simd_lanes(&ops->ctx->caps), (a->head_dim + 31) / 32 * 32,
                              in_use == 1 ? 1u : PV_KV_MAX_BUFS, windowed, capped};
    p = get_pipeline_ex(ops, pool_shader(pool, PV_SHADER_PAGED_ATTN_LANES, PV_SHADER_PAGED_ATTN_LANES_F32,
                                         PV_SHADER_PAGED_ATTN_LANES_Q8), arrays, 7,
                        (1u << 0) | (1u << 3) | (1u << 5), sizeof(pv_push_attn_lanes), lspec, 5, err);
    views[0].texel = a->q.texel;
    views[3].texel = a->block_tables.texel;
    for (uint32_t i = 0; i < PV_KV_MAX_BUFS; i++) views[5 + i].texel = pool->texels[i < pool->n_bufs ? i : 0];
  }
  if (a->use_row_list && (!lanes || !a->row_list.buffer))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: a row list needs the lanes attention kernel and its buffer");
  if (a->use_row_list && parts > 1)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: a row list takes unpartitioned attention only");
  views[5 + PV_KV_MAX_BUFS] = or_dummy(a->row_list, a->tokens);
  rc = dispatch(ops, cmd, p, views, (lanes ? 6 : 5) + PV_KV_MAX_BUFS, &push, a->rows, a->n_head, parts, err);
  if (rc || parts == 1) return rc;
  if (cmd) pv_vk_cmd_barrier(cmd, PV_BARRIER_COMPUTE_TO_COMPUTE);
  const pv_vk_pipeline *r =
      get_pipeline(ops, PV_SHADER_ATTN_REDUCE, NULL, 2, sizeof(pv_push_attn_reduce), spec, 1, err);
  const pv_push_attn_reduce rpush = {a->rows, a->n_head, a->head_dim, parts, a->o_stride};
  pv_vk_view rviews[] = {a->partial, a->out};
  return dispatch(ops, cmd, r, rviews, 2, &rpush, a->rows, a->n_head, 1, err);
}

/* Query rows per lane of the prompt-tile kernel: about 256 floats of queries per lane (d64: 4
 * rows, tiles of 32 on lavapipe; `bench kernels`: 2.8x faster than the lanes kernel there at d64,
 * 8 rows per lane was slower again). ops->attn_rows_per_lane overrides (tests, bench). */
static uint32_t tile_rows_per_lane(const pv_ops *ops, uint32_t head_dim) {
  if (ops->attn_rows_per_lane) return ops->attn_rows_per_lane;
  uint32_t r = 256 / head_dim;
  return r < 1 ? 1 : r > 8 ? 8 : r;
}

uint32_t pv_ops_attn_tile_rows(const pv_ops *ops, const pv_op_attn_args *a) {
  if (ops->attn != PV_OPS_ATTN_TILES || !use_lanes(ops, a) || a->o_stride % 4 || a->head_dim > 256) return 0;
  return simd_lanes(&ops->ctx->caps) * tile_rows_per_lane(ops, a->head_dim);
}

/* The row-owning attention kernels of paged_attn_rows.comp: prompt tiles (a tile's lanes share
 * keys), or with pairs (paged_attn_pairs) decode (row, head) pairs, one per lane. */
static int attn_rows_dispatch(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_attn_args *a, pv_vk_view tiles,
                              uint32_t n_tiles, bool pairs, pv_error *err) {
  if (n_tiles == 0) return PAGEDVK_OK;
  const pv_op_pool *pool = a->pool;
  if (!a->q.texel || !a->block_tables.texel || !pool->texels[0] || a->q_stride % 4 || a->o_stride % 4 ||
      a->head_dim % pool_ept(pool) || a->head_dim > 256)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: row-owning attention needs texel views and head size %% %u == 0",
                   pool_ept(pool));
  if (!pool->block_size || (pool->block_size & (pool->block_size - 1)))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: KV block size %u is not a power of two", pool->block_size);
  if (pairs && !a->row_list.buffer)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: decode pairs need the row list");
  if (n_tiles > ops->ctx->caps.max_workgroup_count[0])
    return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: %u attention tiles exceed the device's workgroup count", n_tiles);
  const uint32_t in_use = pool->bufs_in_use && pool->bufs_in_use < pool->n_bufs ? pool->bufs_in_use : pool->n_bufs;
  const uint32_t spec[] = {simd_lanes(&ops->ctx->caps), a->head_dim, in_use == 1 ? 1u : PV_KV_MAX_BUFS,
                           pairs ? 1u : tile_rows_per_lane(ops, a->head_dim), a->window ? 1u : 0u,
                           a->softcap > 0.0f ? 1u : 0u};
  const uint32_t arrays[] = {1, 1, 1, 1, 1, PV_KV_MAX_BUFS, 1};
  const uint32_t id = pairs ? pool_shader(pool, PV_SHADER_PAGED_ATTN_PAIRS, PV_SHADER_PAGED_ATTN_PAIRS_F32,
                                          PV_SHADER_PAGED_ATTN_PAIRS_Q8)
                            : pool_shader(pool, PV_SHADER_PAGED_ATTN_ROWS, PV_SHADER_PAGED_ATTN_ROWS_F32,
                                          PV_SHADER_PAGED_ATTN_ROWS_Q8);
  const pv_vk_pipeline *p = get_pipeline_ex(ops, id, arrays, pairs ? 7 : 6, (1u << 0) | (1u << 3) | (1u << 5),
                                            sizeof(pv_push_attn_rows), spec, 6, err);
  const pv_push_attn_rows push = {n_tiles,         a->n_head,   a->n_kv_head, a->head_dim, a->layer,   pool->block_size,
            pool->blocks_per_buf, pool->n_layer, a->max_blocks, a->q_stride, a->o_stride,
            attn_scale(a), a->window, a->softcap};
  pv_vk_view views[6 + PV_KV_MAX_BUFS] = {a->q, a->out, a->tokens, a->block_tables, tiles};
  pool_views(pool, views + 5);
  for (uint32_t i = 0; i < PV_KV_MAX_BUFS; i++) views[5 + i].texel = pool->texels[i < pool->n_bufs ? i : 0];
  views[5 + PV_KV_MAX_BUFS] = a->row_list;
  return dispatch(ops, cmd, p, views, (pairs ? 6 : 5) + PV_KV_MAX_BUFS, &push, n_tiles, pairs ? 1 : a->n_head, 1,
                  err);
}

int pv_op_paged_attn_tiles(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_attn_args *a, pv_vk_view tiles, uint32_t n_tiles,
                           pv_error *err) {
  return attn_rows_dispatch(ops, cmd, a, tiles, n_tiles, false, err);
}

int pv_op_paged_attn_pairs(pv_ops *ops, pv_vk_cmd *cmd, const pv_op_attn_args *a, pv_vk_view tiles, uint32_t n_tiles,
                           pv_error *err) {
  return attn_rows_dispatch(ops, cmd, a, tiles, n_tiles, true, err);
}

int pv_op_softcap(pv_ops *ops, pv_vk_cmd *cmd, pv_vk_view x, uint32_t n, uint32_t rows, uint32_t x_stride, float cap,
                  pv_error *err) {
  if (rows == 0) return PAGEDVK_OK;
  if (!(cap > 0.0f)) return pv_fail(err, PAGEDVK_ERR_INVALID, "ops: soft-cap %g is not positive", (double)cap);
  int rc = check_rows(ops, rows, "softcap", err);
  if (rc) return rc;
  const uint32_t spec[] = {ops->wg_row};
  const pv_vk_pipeline *p = get_pipeline(ops, PV_SHADER_SOFTCAP, NULL, 1, sizeof(pv_push_softcap), spec, 1, err);
  const pv_push_softcap push = {n, rows, x_stride, cap};
  return dispatch(ops, cmd, p, &x, 1, &push, rows, 1, 1, err);
}

int pv_op_argmax(pv_ops *ops, pv_vk_cmd *cmd, pv_vk_view x, pv_vk_view out, uint32_t n, uint32_t rows,
                 uint32_t x_stride, pv_error *err) {
  if (rows == 0) return PAGEDVK_OK;
  const uint32_t spec[] = {ops->wg_row};
  const pv_vk_pipeline *p = get_pipeline(ops, PV_SHADER_ARGMAX, NULL, 2, sizeof(pv_push_argmax), spec, 1, err);
  const pv_push_argmax push = {n, rows, x_stride};
  pv_vk_view views[] = {x, out};
  return dispatch(ops, cmd, p, views, 2, &push, rows, 1, 1, err);
}
