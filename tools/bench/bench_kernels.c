/*
 * bench_kernels.c — the kernel bench (`pagedvk bench kernels`, `build/bench-kernels`): each model
 * kernel timed on the device with timestamp queries, next to the device's copy bandwidth
 * (vkCmdCopyBuffer), so a number can be judged against what the memory allows. A dev tool: it
 * drives runtime/ops and runtime/vk directly, so it is not part of libpagedvk.
 *
 * Per kernel: one warm-up dispatch (pipeline creation, first touch), then `runs` dispatches in one
 * command buffer, each between two timestamps with a barrier after it; the median of those
 * intervals is reported (a dispatch's fixed cost is included: that is what the forward pass pays).
 *   GB/s     bytes the kernel must read (weights, activations, the K/V of every context) / time
 *   GFLOP/s  2 M N K / time for matmul; 4 n_head d sum(context) / time for attention
 * Weights are a few rows quantized by pv_quantize_rows (realistic scales), repeated down the matrix.
 *
 * Options (argv; each value as --opt=V or --opt V): --json, --quick (fewer shapes and runs),
 * --runs N, --filter NAME (only the kernels whose name contains NAME), --type NAME, --mm-shape
 * K,N,M, and for tuning --wg N (power of two), --mm-rows N, --mm-ntok N (override the pv_ops
 * defaults). The names are documented in docs/KERNELS.md: keep them stable.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_kernels.h"
#include "pv_bench_shader_ids.h"
#include "devkit/quantize.h"
#include "gguf/dtype.h"
#include "ops/ops.h"
#include "vk/vk_buffer.h"

#define BENCH_MAX_RUNS 64
#define BENCH_MAX_MS 8

typedef struct bench {
  pv_vk_context *ctx;
  pv_vk_cmd cmd;
  pv_vk_timer timer;
  pv_ops ops;
  bool ops_ready;
  FILE *out;
  bool json, quick;
  uint32_t runs;
  uint32_t n_results;
  uint32_t wg, mm_rows, mm_ntok; /* overrides of the pv_ops tuning (0: the defaults) */
  uint32_t mm_k, mm_n, mm_m;     /* --mm-shape: one matmul shape instead of 2048x2048 M=1/64 */
  uint32_t mm_ms[BENCH_MAX_MS];  /* --mm-m: the token counts M of the 2048x2048 matmuls */
  uint32_t n_mm_ms;
  char type[16];                 /* --type: one weight type only */
  char filter[32];               /* run only kernels whose name contains this */
} bench;

typedef int (*record_fn)(bench *b, void *arg, pv_error *err);

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Warm-up, then b->runs timed dispatches; *median_ns. */
static int time_it(bench *b, record_fn rec, void *arg, double *median_ns, pv_error *err) {
  int rc = pv_vk_cmd_begin(&b->cmd, err);
  rc = rc ? rc : rec(b, arg, err);
  if (!rc) pv_vk_cmd_barrier(&b->cmd, PV_BARRIER_COMPUTE_TO_COMPUTE);
  rc = rc ? rc : pv_vk_cmd_run(&b->cmd, err);
  rc = rc ? rc : pv_vk_cmd_begin(&b->cmd, err);
  if (rc) return rc;
  pv_vk_cmd_timer_reset(&b->cmd, &b->timer);
  uint32_t first[BENCH_MAX_RUNS], second[BENCH_MAX_RUNS];
  for (uint32_t r = 0; r < b->runs && !rc; r++) {
    rc = pv_vk_cmd_timestamp(&b->cmd, &b->timer, &first[r], err);
    rc = rc ? rc : rec(b, arg, err);
    if (!rc) pv_vk_cmd_barrier(&b->cmd, PV_BARRIER_COMPUTE_TO_COMPUTE);
    rc = rc ? rc : pv_vk_cmd_timestamp(&b->cmd, &b->timer, &second[r], err);
  }
  rc = rc ? rc : pv_vk_cmd_run(&b->cmd, err);
  double ns[BENCH_MAX_RUNS];
  for (uint32_t r = 0; r < b->runs && !rc; r++) rc = pv_vk_timer_elapsed_ns(&b->timer, first[r], second[r], &ns[r], err);
  if (rc) return rc;
  qsort(ns, b->runs, sizeof ns[0], cmp_double);
  *median_ns = b->runs % 2 ? ns[b->runs / 2] : 0.5 * (ns[b->runs / 2 - 1] + ns[b->runs / 2]);
  return PAGEDVK_OK;
}

static void report(bench *b, const char *kernel, const char *variant, const char *shape, double ns, double bytes,
                   double flops) {
  double gbps = bytes / ns, gflops = flops / ns;
  if (b->json) {
    fprintf(b->out, "%s\n    {\"kernel\": \"%s\", \"variant\": \"%s\", \"shape\": \"%s\", \"median_ms\": %.4f, "
                    "\"bytes_read\": %.0f, \"gbps\": %.3f, \"gflops\": %.3f}",
            b->n_results ? "," : "", kernel, variant, shape, ns * 1e-6, bytes, gbps, gflops);
  } else {
    fprintf(b->out, "%-10s %-8s %-44s %10.3f %9.2f %9.2f\n", kernel, variant, shape, ns * 1e-6, gbps, gflops);
  }
  fflush(b->out);
  b->n_results++;
}

/* ---- copy bandwidth ---- */

typedef struct copy_arg {
  pv_vk_buffer *src, *dst;
  pv_vk_pipeline pipe; /* the copy kernel (tools/bench/shaders/copy.comp) */
  uint32_t wg;
} copy_arg;

static int rec_copy(bench *b, void *arg, pv_error *err) {
  copy_arg *a = arg;
  pv_vk_cmd_copy(&b->cmd, a->src, 0, a->dst, 0, a->src->size);
  pv_vk_cmd_barrier(&b->cmd, PV_BARRIER_TRANSFER_TO_TRANSFER);
  return PAGEDVK_OK;
}

/* The copy kernel: 16 bytes per invocation, one dispatch over the whole buffer. */
static int rec_copy_kernel(bench *b, void *arg, pv_error *err) {
  copy_arg *a = arg;
  uint32_t n = (uint32_t)(a->src->size / 16), groups[3];
  pv_vk_view views[2] = {pv_view(a->src), pv_view(a->dst)};
  pv_vk_grid_1d(&b->ctx->caps, (n + a->wg - 1) / a->wg, groups);
  return pv_vk_cmd_dispatch(&b->cmd, &a->pipe, views, 2, &n, groups, err);
}

/* Device copy bandwidth, bytes read + written / time, of 64 MiB (less where the device's buffer
 * range or allocation size is smaller): *gbps by vkCmdCopyBuffer, *kernel_gbps by the copy kernel. */
static int bench_copy(bench *b, double *gbps, double *kernel_gbps, pv_error *err) {
  uint64_t size = 64ull << 20;
  if (size > b->ctx->caps.max_allocation_size) size = b->ctx->caps.max_allocation_size / 2;
  if (size > b->ctx->caps.max_storage_buffer_range) size = b->ctx->caps.max_storage_buffer_range;
  size &= ~(uint64_t)15;
  pv_vk_buffer src = {0}, dst = {0};
  int rc = pv_vk_buffer_create(b->ctx, &src, size, PV_MEM_DEVICE, err);
  rc = rc ? rc : pv_vk_buffer_create(b->ctx, &dst, size, PV_MEM_DEVICE, err);
  if (!rc) {
    pv_vk_cmd_begin(&b->cmd, err);
    pv_vk_cmd_fill(&b->cmd, &src, 0, VK_WHOLE_SIZE, 0x3c003c00u);
    rc = pv_vk_cmd_run(&b->cmd, err);
  }
  copy_arg a = {&src, &dst, .wg = 256};
  double ns = 0;
  rc = rc ? rc : time_it(b, rec_copy, &a, &ns, err);
  if (!rc) *gbps = 2.0 * (double)size / ns; /* read + write */
  while (a.wg > b->ctx->caps.max_workgroup_invocations || a.wg > b->ctx->caps.max_workgroup_size[0]) a.wg /= 2;
  pv_vk_pipeline_desc d = {.shader = &pv_bench_shader_blobs[PV_BENCH_SHADER_COPY], .binding_count = 2,
                           .push_size = sizeof(uint32_t)};
  d.spec[d.spec_count++] = (pv_vk_spec){0, a.wg};
  rc = rc ? rc : pv_vk_pipeline_create(b->ctx, &d, &a.pipe, err);
  ns = 0;
  rc = rc ? rc : time_it(b, rec_copy_kernel, &a, &ns, err);
  if (!rc) *kernel_gbps = 2.0 * (double)size / ns;
  if (a.pipe.pipeline) pv_vk_pipeline_destroy(b->ctx, &a.pipe);
  if (dst.buffer) pv_vk_buffer_destroy(b->ctx, &dst);
  if (src.buffer) pv_vk_buffer_destroy(b->ctx, &src);
  return rc;
}

/* ---- matmul ---- */

typedef struct mm_arg {
  pv_op_matmul_args a;
} mm_arg;

static int rec_matmul(bench *b, void *arg, pv_error *err) { return pv_op_matmul(&b->ops, &b->cmd, &((mm_arg *)arg)->a, err); }

/* A weight of n rows of k: 16 quantized random rows, repeated. */
static int make_weight(bench *b, pv_dtype type, uint32_t k, uint32_t n, pv_vk_buffer *buf, pv_error *err) {
  uint64_t rb = 0;
  if (!pv_dtype_row_bytes(type, k, &rb)) return pv_fail(err, PAGEDVK_ERR_INVALID, "bench: bad row length");
  const uint32_t seed_rows = 16;
  float *src = malloc((size_t)k * seed_rows * sizeof(float));
  uint8_t *host = malloc(rb * n + 16);
  int rc = (src && host) ? PAGEDVK_OK : pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "bench: out of memory");
  uint64_t s = 0x9e3779b97f4a7c15ull + type;
  for (size_t i = 0; !rc && i < (size_t)k * seed_rows; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    src[i] = (float)((s >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
  }
  rc = rc ? rc : pv_quantize_rows(type, src, host, k, seed_rows, err);
  for (uint32_t r = seed_rows; !rc && r < n; r++) memcpy(host + rb * r, host + rb * (r % seed_rows), rb);
  rc = rc ? rc : pv_vk_buffer_create(b->ctx, buf, (rb * n + 15) & ~15ull, PV_MEM_DEVICE, err);
  rc = rc ? rc : pv_vk_buffer_upload(b->ctx, buf, 0, host, rb * n, err);
  free(src);
  free(host);
  return rc;
}

static int bench_matmul(bench *b, pv_error *err) {
  /* every type with kernels in the weight-type table (runtime/gguf/wtypes.def) */
#define BENCH_GPU_1(E) PV_##E,
#define BENCH_GPU_0(E)
  static const pv_dtype all[] = {
#define PV_WTYPE(E, ID, SUFFIX, BLOCK_ELEMS, BLOCK_BYTES, CPU, GPU) BENCH_GPU_##GPU(E)
#include "gguf/wtypes.def"
#undef PV_WTYPE
  };
  static const pv_dtype quick[] = {PV_F16, PV_Q8_0, PV_Q4_K};
  const pv_dtype *types = b->quick ? quick : all;
  const size_t n_types = b->quick ? PV_ARRAY_LEN(quick) : PV_ARRAY_LEN(all);
  const uint32_t K = b->mm_k ? b->mm_k : 2048, N = b->mm_n ? b->mm_n : 2048;
  /* token counts: --mm-shape's M, else --mm-m's list, else M=1 and (not --quick) M=64 */
  uint32_t ms[BENCH_MAX_MS] = {0}, n_ms = 0, max_m = 0;
  if (b->mm_m) ms[n_ms++] = b->mm_m;
  else if (b->n_mm_ms) memcpy(ms, b->mm_ms, sizeof ms), n_ms = b->n_mm_ms;
  else {
    ms[n_ms++] = 1;
    if (!b->quick) ms[n_ms++] = 64;
  }
  for (uint32_t i = 0; i < n_ms; i++) max_m = ms[i] > max_m ? ms[i] : max_m;
  pv_vk_buffer x = {0}, y = {0};
  int rc = pv_vk_buffer_create(b->ctx, &x, (uint64_t)max_m * K * 4, PV_MEM_DEVICE, err);
  rc = rc ? rc : pv_vk_buffer_create(b->ctx, &y, (uint64_t)max_m * N * 4, PV_MEM_DEVICE, err);
  if (!rc) {
    pv_vk_cmd_begin(&b->cmd, err);
    pv_vk_cmd_fill(&b->cmd, &x, 0, VK_WHOLE_SIZE, 0x3d000000u); /* 0.03125 */
    rc = pv_vk_cmd_run(&b->cmd, err);
  }
  for (size_t ti = 0; ti < n_types && !rc; ti++) {
    if (b->type[0] && strcmp(b->type, pv_ops_type_suffix(types[ti]))) continue;
    pv_vk_buffer w = {0};
    rc = make_weight(b, types[ti], K, N, &w, err);
    uint64_t rb = 0;
    pv_dtype_row_bytes(types[ti], K, &rb);
    pv_op_weight ow = {.buf = &w, .offset = 0, .type = types[ti], .k = K, .n = N};
    /* texel views as the engine makes them (used where the ops choose the texel path) */
    VkBufferView xt = VK_NULL_HANDLE;
    if (!rc) rc = pv_vk_texel_view_create(b->ctx, &w, VK_FORMAT_R32G32B32A32_UINT, 0, w.size, &ow.texel, err);
    if (!rc) rc = pv_vk_texel_view_create(b->ctx, &x, VK_FORMAT_R32G32B32A32_SFLOAT, 0, x.size, &xt, err);
    for (uint32_t mi = 0; mi < n_ms && !rc; mi++) {
      mm_arg a = {.a = {.w = &ow, .x = pv_view(&x), .y = pv_view(&y), .m = ms[mi], .x_stride = K, .y_stride = N}};
      a.a.x.texel = xt;
      double ns = 0;
      rc = time_it(b, rec_matmul, &a, &ns, err);
      char shape[64];
      snprintf(shape, sizeof shape, "%ux%u M=%u", N, K, ms[mi]);
      if (!rc)
        report(b, "matmul", pv_ops_type_suffix(types[ti]), shape, ns, (double)rb * N + (double)ms[mi] * K * 4,
               2.0 * ms[mi] * (double)N * K);
    }
    pv_vk_texel_view_destroy(b->ctx, xt);
    pv_vk_texel_view_destroy(b->ctx, ow.texel);
    if (w.buffer) pv_vk_buffer_destroy(b->ctx, &w);
  }
  if (y.buffer) pv_vk_buffer_destroy(b->ctx, &y);
  if (x.buffer) pv_vk_buffer_destroy(b->ctx, &x);
  return rc;
}

/* ---- attention, rope_kv, rmsnorm ---- */

#define AT_SEQS 4u
#define AT_HEADS 16u
#define AT_KV_HEADS 4u
#define AT_DIM 64u
#define AT_PART_LEN 512u

typedef struct attn_bench {
  pv_op_pool pool;
  pv_vk_buffer pool_buf, q, k, v, out, tokens, tables, partial;
  VkBufferView q_texel, tables_texel;
  pv_op_attn_args attn;
  pv_op_rope_args rope;
} attn_bench;

static int rec_attn(bench *b, void *arg, pv_error *err) { return pv_op_paged_attn(&b->ops, &b->cmd, &((attn_bench *)arg)->attn, err); }
static int rec_rope(bench *b, void *arg, pv_error *err) { return pv_op_rope_kv(&b->ops, &b->cmd, &((attn_bench *)arg)->rope, err); }

typedef struct tile_arg {
  attn_bench *a;
  pv_vk_view tiles;
  uint32_t n_tiles;
} tile_arg;

static int rec_attn_tiles(bench *b, void *arg, pv_error *err) {
  tile_arg *t = arg;
  return pv_op_paged_attn_tiles(&b->ops, &b->cmd, &t->a->attn, t->tiles, t->n_tiles, err);
}

static void attn_free(bench *b, attn_bench *a) {
  pv_vk_texel_view_destroy(b->ctx, a->pool.texels[0]);
  pv_vk_texel_view_destroy(b->ctx, a->q_texel);
  pv_vk_texel_view_destroy(b->ctx, a->tables_texel);
  pv_vk_buffer *all[] = {&a->pool_buf, &a->q, &a->k, &a->v, &a->out, &a->tokens, &a->tables, &a->partial};
  for (size_t i = 0; i < PV_ARRAY_LEN(all); i++)
    if (all[i]->buffer) pv_vk_buffer_destroy(b->ctx, all[i]);
}

/* AT_SEQS sequences of `context` tokens, one decode row each (or, when rows > AT_SEQS, `rows`
 * prompt rows of seq 0: the last chunk of its context), blocks interleaved across sequences. */
static int attn_setup(bench *b, attn_bench *a, uint32_t block_size, uint32_t context, uint32_t rows, pv_error *err) {
  memset(a, 0, sizeof *a);
  const uint32_t blocks_per_seq = (context + block_size - 1) / block_size, n_blocks = blocks_per_seq * AT_SEQS;
  const uint64_t block_bytes = 2ull * AT_KV_HEADS * block_size * AT_DIM * 2; /* one layer, K and V, f16 */
  a->pool = (pv_op_pool){.bufs = {&a->pool_buf}, .n_bufs = 1, .block_size = block_size, .blocks_per_buf = n_blocks,
                         .n_layer = 1, .n_kv_head = AT_KV_HEADS, .head_dim = AT_DIM};
  const uint32_t parts = context > 2 * AT_PART_LEN ? (context + AT_PART_LEN - 1) / AT_PART_LEN : 1;
  int rc = pv_vk_buffer_create(b->ctx, &a->pool_buf, block_bytes * n_blocks, PV_MEM_DEVICE, err);
  rc = rc ? rc : pv_vk_buffer_create(b->ctx, &a->q, (uint64_t)rows * AT_HEADS * AT_DIM * 4, PV_MEM_DEVICE, err);
  rc = rc ? rc : pv_vk_buffer_create(b->ctx, &a->k, (uint64_t)rows * AT_KV_HEADS * AT_DIM * 4, PV_MEM_DEVICE, err);
  rc = rc ? rc : pv_vk_buffer_create(b->ctx, &a->v, (uint64_t)rows * AT_KV_HEADS * AT_DIM * 4, PV_MEM_DEVICE, err);
  rc = rc ? rc : pv_vk_buffer_create(b->ctx, &a->out, (uint64_t)rows * AT_HEADS * AT_DIM * 4, PV_MEM_DEVICE, err);
  rc = rc ? rc : pv_vk_buffer_create(b->ctx, &a->tokens, (uint64_t)rows * 16, PV_MEM_HOST, err);
  rc = rc ? rc : pv_vk_buffer_create(b->ctx, &a->tables, (uint64_t)AT_SEQS * blocks_per_seq * 4, PV_MEM_HOST, err);
  rc = rc ? rc : pv_vk_buffer_create(b->ctx, &a->partial, (uint64_t)rows * AT_HEADS * parts * (AT_DIM + 2) * 4,
                                     PV_MEM_DEVICE, err);
  if (rc) return rc;
  uint32_t *tables = malloc((size_t)AT_SEQS * blocks_per_seq * 4), *tok = malloc((size_t)rows * 16);
  if (!tables || !tok) {
    free(tables), free(tok);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "bench: out of memory");
  }
  for (uint32_t s = 0; s < AT_SEQS; s++)
    for (uint32_t i = 0; i < blocks_per_seq; i++) tables[s * blocks_per_seq + i] = i * AT_SEQS + s;
  for (uint32_t r = 0; r < rows; r++) {
    uint32_t seq = rows > AT_SEQS ? 0 : r, pos = rows > AT_SEQS ? context - rows + r : context - 1;
    tok[r * 4 + 0] = 1;
    tok[r * 4 + 1] = pos;
    tok[r * 4 + 2] = seq;
    tok[r * 4 + 3] = tables[seq * blocks_per_seq + pos / block_size] * block_size + pos % block_size;
  }
  rc = pv_vk_buffer_upload(b->ctx, &a->tables, 0, tables, (size_t)AT_SEQS * blocks_per_seq * 4, err);
  rc = rc ? rc : pv_vk_buffer_upload(b->ctx, &a->tokens, 0, tok, (size_t)rows * 16, err);
  free(tables), free(tok);
  if (rc) return rc;
  pv_vk_cmd_begin(&b->cmd, err);
  pv_vk_cmd_fill(&b->cmd, &a->pool_buf, 0, VK_WHOLE_SIZE, 0x2c002c00u); /* 1/16 in f16 */
  pv_vk_cmd_fill(&b->cmd, &a->q, 0, VK_WHOLE_SIZE, 0x3d000000u);
  pv_vk_cmd_fill(&b->cmd, &a->k, 0, VK_WHOLE_SIZE, 0x3d000000u);
  pv_vk_cmd_fill(&b->cmd, &a->v, 0, VK_WHOLE_SIZE, 0x3d000000u);
  rc = pv_vk_cmd_run(&b->cmd, err);
  a->attn = (pv_op_attn_args){.q = pv_view(&a->q), .out = pv_view(&a->out), .tokens = pv_view(&a->tokens),
                              .block_tables = pv_view(&a->tables), .partial = pv_view(&a->partial),
                              .pool = &a->pool, .rows = rows, .n_head = AT_HEADS, .n_kv_head = AT_KV_HEADS,
                              .head_dim = AT_DIM, .layer = 0, .max_blocks = blocks_per_seq,
                              .q_stride = AT_HEADS * AT_DIM, .o_stride = AT_HEADS * AT_DIM, .parts = parts,
                              .part_len = AT_PART_LEN};
  if (!rc) rc = pv_vk_texel_view_create(b->ctx, &a->pool_buf, VK_FORMAT_R32G32B32A32_UINT, 0, a->pool_buf.size & ~(uint64_t)15, &a->pool.texels[0], err);
  if (!rc) rc = pv_vk_texel_view_create(b->ctx, &a->q, VK_FORMAT_R32G32B32A32_SFLOAT, 0, a->q.size, &a->q_texel, err);
  if (!rc) rc = pv_vk_texel_view_create(b->ctx, &a->tables, VK_FORMAT_R32_UINT, 0, a->tables.size, &a->tables_texel, err);
  a->attn.q.texel = a->q_texel;
  a->attn.block_tables.texel = a->tables_texel;
  a->rope = (pv_op_rope_args){.q = pv_view(&a->q), .k = pv_view(&a->k), .v = pv_view(&a->v),
                              .tokens = pv_view(&a->tokens), .pool = &a->pool, .rows = rows, .n_head = AT_HEADS,
                              .n_kv_head = AT_KV_HEADS, .head_dim = AT_DIM, .rope_dim = AT_DIM,
                              .rope_base = 10000.0f, .pos_scale = 1.0f, .layer = 0,
                              .q_stride = AT_HEADS * AT_DIM, .kv_stride = AT_KV_HEADS * AT_DIM};
  return rc;
}

static int bench_attention(bench *b, pv_error *err) {
  static const uint32_t bss[] = {8, 16, 32, 64}, ctxs[] = {512, 2048};
  int rc = PAGEDVK_OK;
  for (size_t ci = 0; ci < PV_ARRAY_LEN(ctxs) && !rc; ci++)
    for (size_t bi = 0; bi < PV_ARRAY_LEN(bss) && !rc; bi++) {
      if (b->quick && (bss[bi] != 16 || ctxs[ci] != 512)) continue;
      attn_bench a;
      rc = attn_setup(b, &a, bss[bi], ctxs[ci], AT_SEQS, err);
      double ns = 0;
      rc = rc ? rc : time_it(b, rec_attn, &a, &ns, err);
      if (!rc) {
        char variant[16], shape[96];
        snprintf(variant, sizeof variant, "bs%u", bss[bi]);
        snprintf(shape, sizeof shape, "decode %ux ctx %u, %u/%u heads d%u, %u part%s", AT_SEQS, ctxs[ci], AT_HEADS,
                 AT_KV_HEADS, AT_DIM, a.attn.parts, a.attn.parts > 1 ? "s" : "");
        const double kv_bytes = (double)AT_SEQS * ctxs[ci] * AT_KV_HEADS * AT_DIM * 2 * 2;
        report(b, "attention", variant, shape, ns, kv_bytes + (double)AT_SEQS * AT_HEADS * AT_DIM * 4,
               4.0 * AT_SEQS * AT_HEADS * AT_DIM * (double)ctxs[ci]);
      }
      attn_free(b, &a);
    }
  /* a prompt chunk: the last 256 rows of a 512-token context, causal */
  for (size_t bi = 0; bi < PV_ARRAY_LEN(bss) && !rc; bi++) {
    if (b->quick || bss[bi] != 16) continue;
    const uint32_t rows = 256, context = 512;
    attn_bench a;
    rc = attn_setup(b, &a, bss[bi], context, rows, err);
    a.attn.parts = 1;
    double ns = 0;
    rc = rc ? rc : time_it(b, rec_attn, &a, &ns, err);
    if (!rc) {
      char variant[16], shape[96];
      snprintf(variant, sizeof variant, "bs%u", bss[bi]);
      snprintf(shape, sizeof shape, "prompt %u rows to ctx %u, %u/%u heads d%u", rows, context, AT_HEADS, AT_KV_HEADS,
               AT_DIM);
      const double keys = (double)rows * (context - rows) + (double)rows * (rows + 1) / 2; /* sum of contexts */
      report(b, "attention", variant, shape, ns,
             (double)context * AT_KV_HEADS * AT_DIM * 2 * 2 + (double)rows * AT_HEADS * AT_DIM * 4,
             4.0 * AT_HEADS * AT_DIM * keys);
    }
    attn_free(b, &a);
  }
  /* the same prompt chunk through the prompt-tile kernel (CPU devices' texel path only) */
  for (uint32_t rpl = 1; rpl <= 8 && !rc && !b->quick && b->ctx->caps.device_type == VK_PHYSICAL_DEVICE_TYPE_CPU;
       rpl *= 2) {
    const uint32_t rows = 256, context = 512;
    attn_bench a;
    rc = attn_setup(b, &a, 16, context, rows, err);
    a.attn.parts = 1;
    b->ops.attn_rows_per_lane = rpl;
    const uint32_t per_tile = b->ops.mm_wg * rpl, n_tiles = (rows + per_tile - 1) / per_tile;
    pv_vk_buffer tiles = {0};
    uint32_t *td = calloc(n_tiles, 8);
    rc = rc ? rc : td ? pv_vk_buffer_create(b->ctx, &tiles, (uint64_t)n_tiles * 8, PV_MEM_HOST, err)
                      : pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "bench: out of memory");
    for (uint32_t i = 0; !rc && i < n_tiles; i++) {
      td[2 * i] = i * per_tile;
      td[2 * i + 1] = rows - i * per_tile < per_tile ? rows - i * per_tile : per_tile;
    }
    rc = rc ? rc : pv_vk_buffer_upload(b->ctx, &tiles, 0, td, (size_t)n_tiles * 8, err);
    free(td);
    tile_arg ta = {&a, pv_view(&tiles), n_tiles};
    double ns = 0;
    rc = rc ? rc : time_it(b, rec_attn_tiles, &ta, &ns, err);
    if (!rc) {
      char variant[16], shape[96];
      snprintf(variant, sizeof variant, "tiles%u", rpl);
      snprintf(shape, sizeof shape, "prompt %u rows to ctx %u, %u/%u heads d%u", rows, context, AT_HEADS, AT_KV_HEADS,
               AT_DIM);
      const double keys = (double)rows * (context - rows) + (double)rows * (rows + 1) / 2;
      report(b, "attention", variant, shape, ns,
             (double)context * AT_KV_HEADS * AT_DIM * 2 * 2 + (double)rows * AT_HEADS * AT_DIM * 4,
             4.0 * AT_HEADS * AT_DIM * keys);
    }
    if (tiles.buffer) pv_vk_buffer_destroy(b->ctx, &tiles);
    attn_free(b, &a);
  }
  b->ops.attn_rows_per_lane = 0;
  /* rope_kv: a 64-token prefill chunk */
  if (!rc) {
    const uint32_t rows = 64;
    attn_bench a;
    rc = attn_setup(b, &a, 16, 512, rows, err);
    double ns = 0;
    rc = rc ? rc : time_it(b, rec_rope, &a, &ns, err);
    if (!rc)
      report(b, "rope_kv", "f16", "64 tokens, 16/4 heads d64", ns,
             (double)rows * (AT_HEADS + 2 * AT_KV_HEADS) * AT_DIM * 4, 0);
    attn_free(b, &a);
  }
  return rc;
}

typedef struct norm_arg {
  pv_vk_buffer x, y, w;
  uint32_t n, rows;
} norm_arg;

static int rec_norm(bench *b, void *arg, pv_error *err) {
  norm_arg *a = arg;
  return pv_op_rmsnorm(&b->ops, &b->cmd, pv_view(&a->x), pv_view(&a->y), pv_view(&a->w), (pv_vk_view){0}, a->n,
                       a->rows, a->n, a->n, 1e-5f, err);
}

static int bench_rmsnorm(bench *b, pv_error *err) {
  const uint32_t ns_[] = {1, 64};
  int rc = PAGEDVK_OK;
  for (size_t i = 0; i < PV_ARRAY_LEN(ns_) && !rc; i++) {
    norm_arg a = {.n = 2048, .rows = ns_[i]};
    rc = pv_vk_buffer_create(b->ctx, &a.x, (uint64_t)a.rows * a.n * 4, PV_MEM_DEVICE, err);
    rc = rc ? rc : pv_vk_buffer_create(b->ctx, &a.y, (uint64_t)a.rows * a.n * 4, PV_MEM_DEVICE, err);
    rc = rc ? rc : pv_vk_buffer_create(b->ctx, &a.w, (uint64_t)a.n * 4, PV_MEM_DEVICE, err);
    if (!rc) {
      pv_vk_cmd_begin(&b->cmd, err);
      pv_vk_cmd_fill(&b->cmd, &a.x, 0, VK_WHOLE_SIZE, 0x3f000000u);
      pv_vk_cmd_fill(&b->cmd, &a.w, 0, VK_WHOLE_SIZE, 0x3f800000u);
      rc = pv_vk_cmd_run(&b->cmd, err);
    }
    double ns = 0;
    rc = rc ? rc : time_it(b, rec_norm, &a, &ns, err);
    char shape[48];
    snprintf(shape, sizeof shape, "%u rows x %u", a.rows, a.n);
    if (!rc) report(b, "rmsnorm", "f32", shape, ns, (double)(a.rows + 1) * a.n * 4, 0);
    pv_vk_buffer *all[] = {&a.x, &a.y, &a.w};
    for (size_t j = 0; j < 3; j++)
      if (all[j]->buffer) pv_vk_buffer_destroy(b->ctx, all[j]);
  }
  return rc;
}

/* ---- entry point ---- */

static void help(FILE *out, const char *prog) {
  fprintf(out, "usage: %s [--json] [--quick] [--runs N]\n\n", prog);
  pv_bench_kernels_help(out);
}

void pv_bench_kernels_help(FILE *out) {
  fprintf(out,
          "Times each model kernel on the chosen device (PAGEDVK_DEVICE=index|name) with timestamp\n"
          "queries: matmul for every weight type at 2048x2048 (decode M=1, prefill M=64), paged\n"
          "attention decode at contexts 512 and 2048 for block sizes 8/16/32/64, rope_kv and rmsnorm.\n"
          "Prints the median time of N runs (default 5; --quick: 3 runs of a few shapes), the GB/s the\n"
          "kernel reads and its GFLOP/s, next to the copy bandwidth (vkCmdCopyBuffer and a copy kernel).\n"
          "  --json     one JSON object instead of the table\n"
          "  --quick    f16, q8_0, q4_k decode matmul and one attention shape only\n"
          "  --runs N   timed runs per kernel (1..64)\n"
          "  --filter NAME   only the kernels whose name contains NAME (matmul, attention, ...)\n"
          "  --wg N, --mm-rows N, --mm-ntok N   tuning: invocations per workgroup (power of two),\n"
          "             matmul output rows and tokens per workgroup (defaults: the library's)\n"
          "  --mm-shape K,N,M   one matmul shape (inner size, rows, tokens) instead of 2048x2048 M=1/64\n"
          "  --mm-m M,M,...     the 2048x2048 matmuls at these token counts (up to 8, each 1..4096)\n"
          "  --type NAME   one weight type only (f32, f16, q4_k, ...)\n");
}

/* The option argv[*i] names when it is `name` ("--name=V" or "--name V"): its value in *v (NULL
 * when missing, then an error), *i moved past a separate value. False for any other option. */
static bool opt_value(int argc, char **argv, int *i, const char *name, const char **v) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) || (a[n] && a[n] != '=')) return false;
  *v = a[n] == '=' ? a + n + 1 : *i + 1 < argc ? argv[++*i] : NULL;
  return true;
}

/* A whole number in [lo, hi] (false otherwise). */
static bool parse_u32(const char *v, long lo, long hi, uint32_t *out) {
  char *end = NULL;
  long r = strtol(v, &end, 10);
  if (!*v || !end || *end || r < lo || r > hi) return false;
  *out = (uint32_t)r;
  return true;
}

/* A comma list of 1..BENCH_MAX_MS token counts, each 1..4096 (false otherwise). */
static bool parse_ms(const char *v, uint32_t *ms, uint32_t *n) {
  *n = 0;
  for (const char *p = v; p && *p;) {
    char *end = NULL;
    long m = strtol(p, &end, 10);
    if (end == p || m < 1 || m > 4096 || *n == BENCH_MAX_MS || (*end && *end != ',')) return false;
    ms[(*n)++] = (uint32_t)m;
    if (!*end) return true;
    p = end + 1;
  }
  return false; /* empty, or a trailing comma */
}

/* One option at argv[*i]; *help set for --help. */
static int parse_option(bench *b, int argc, char **argv, int *i, bool *want_help, pv_error *err) {
  const char *a = argv[*i], *v = NULL;
  if (!strcmp(a, "--help") || !strcmp(a, "-h")) *want_help = true;
  else if (!strcmp(a, "--json")) b->json = true;
  else if (!strcmp(a, "--quick")) b->quick = true;
  else if (opt_value(argc, argv, i, "--runs", &v)) {
    if (!v || !parse_u32(v, 1, BENCH_MAX_RUNS, &b->runs))
      return pv_fail(err, PAGEDVK_ERR_INVALID, "bench: --runs takes 1..%d", BENCH_MAX_RUNS);
  } else if (opt_value(argc, argv, i, "--filter", &v)) {
    if (!v) return pv_fail(err, PAGEDVK_ERR_INVALID, "bench: --filter needs a value");
    snprintf(b->filter, sizeof b->filter, "%s", v);
  } else if (opt_value(argc, argv, i, "--type", &v)) {
    if (!v) return pv_fail(err, PAGEDVK_ERR_INVALID, "bench: --type needs a value");
    snprintf(b->type, sizeof b->type, "%s", v);
  } else if (opt_value(argc, argv, i, "--mm-shape", &v)) {
    if (!v || sscanf(v, "%u,%u,%u", &b->mm_k, &b->mm_n, &b->mm_m) != 3 || !b->mm_k || !b->mm_n || !b->mm_m ||
        b->mm_k > 65536 || b->mm_n > 65536 || b->mm_m > 65536)
      return pv_fail(err, PAGEDVK_ERR_INVALID, "bench: --mm-shape takes K,N,M (e.g. 2048,2048,64)");
  } else if (opt_value(argc, argv, i, "--mm-m", &v)) {
    if (!parse_ms(v, b->mm_ms, &b->n_mm_ms))
      return pv_fail(err, PAGEDVK_ERR_INVALID, "bench: --mm-m takes up to %d token counts 1..4096, e.g. 1,16,64,512",
                     BENCH_MAX_MS);
  } else if (opt_value(argc, argv, i, "--wg", &v)) {
    if (!v || !parse_u32(v, 1, 1024, &b->wg)) return pv_fail(err, PAGEDVK_ERR_INVALID, "bench: bad value for --wg");
    if (b->wg & (b->wg - 1)) return pv_fail(err, PAGEDVK_ERR_INVALID, "bench: --wg must be a power of two");
  } else if (opt_value(argc, argv, i, "--mm-rows", &v)) {
    if (!v || !parse_u32(v, 1, 1024, &b->mm_rows))
      return pv_fail(err, PAGEDVK_ERR_INVALID, "bench: bad value for --mm-rows");
  } else if (opt_value(argc, argv, i, "--mm-ntok", &v)) {
    if (!v || !parse_u32(v, 1, 1024, &b->mm_ntok))
      return pv_fail(err, PAGEDVK_ERR_INVALID, "bench: bad value for --mm-ntok");
  } else {
    return pv_fail(err, PAGEDVK_ERR_INVALID, "bench: unknown option '%s' (see --help)", a);
  }
  return PAGEDVK_OK;
}

static int parse_options(bench *b, int argc, char **argv, bool *want_help, pv_error *err) {
  for (int i = 1; i < argc && !*want_help; i++) {
    int rc = parse_option(b, argc, argv, &i, want_help, err);
    if (rc) return rc;
  }
  if (!b->runs) b->runs = b->quick ? 3 : 5;
  return PAGEDVK_OK;
}

/* Everything after the options: device, ops, copy bandwidth, the kernels, the table or JSON. */
static int run(bench *b, pv_error *e) {
  FILE *out = b->out;
  int rc = pv_vk_context_create(&b->ctx, NULL, e);
  rc = rc ? rc : pv_vk_cmd_create(b->ctx, &b->cmd, e);
  rc = rc ? rc : pv_vk_timer_create(b->ctx, &b->timer, 2 * BENCH_MAX_RUNS, e);
  if (!rc) {
    rc = pv_ops_init(&b->ops, b->ctx, e);
    b->ops_ready = !rc;
    if (b->wg) b->ops.wg = b->ops.mm_wg = b->wg;
    if (b->mm_rows) b->ops.mm_rows = b->mm_rows;
    b->ops.mm_rows_fixed = b->mm_rows != 0;
    if (b->mm_ntok) b->ops.mm_ntok = b->mm_ntok;
    /* only the cooperative matmul keeps a reduction array in shared memory */
    uint64_t shared = b->ops.mm_row_per_invocation ? 0 : (uint64_t)b->ops.mm_wg * b->ops.mm_rows * b->ops.mm_ntok * 2 * 4;
    if (!rc && (b->ops.wg > b->ctx->caps.max_workgroup_invocations || shared > b->ctx->caps.max_shared_memory))
      rc = pv_fail(e, PAGEDVK_ERR_INVALID, "bench: --wg/--mm-rows/--mm-ntok exceed the device's workgroup limits");
  }
  double copy_gbps = 0, kernel_gbps = 0;
  rc = rc ? rc : bench_copy(b, &copy_gbps, &kernel_gbps, e);
  if (!rc) {
    if (b->json) {
      fprintf(out, "{\n  \"device\": \"%s\",\n  \"driver\": \"%s\",\n  \"runs\": %u,\n  \"matmul_rows\": %u,\n"
                   "  \"matmul_tokens\": %u,\n  \"workgroup\": %u,\n  \"copy_gbps\": %.3f,\n"
                   "  \"copy_kernel_gbps\": %.3f,\n  \"kernels\": [",
              b->ctx->caps.device_name, b->ctx->caps.driver_name, b->runs, b->ops.mm_rows, b->ops.mm_ntok, b->ops.mm_wg,
              copy_gbps, kernel_gbps);
    } else {
      fprintf(out, "device  %s (%s)\n", b->ctx->caps.device_name, b->ctx->caps.driver_name);
      fprintf(out, "copy    %.2f GB/s (vkCmdCopyBuffer of 64 MiB, bytes read + written / time)\n", copy_gbps);
      fprintf(out, "copy    %.2f GB/s (the copy kernel, 16 bytes per invocation, the same buffers)\n", kernel_gbps);
      fprintf(out, "median of %u runs; GB/s = bytes the kernel reads / time; matmul %u rows x %u tokens per %s\n\n",
              b->runs, b->ops.mm_rows, b->ops.mm_ntok, b->ops.mm_row_per_invocation ? "invocation" : "workgroup");
      fprintf(out, "%-10s %-8s %-44s %10s %9s %9s\n", "kernel", "variant", "shape", "median ms", "GB/s", "GFLOP/s");
    }
    fflush(out);
  }
  rc = rc ? rc : (!strstr("matmul", b->filter) ? PAGEDVK_OK : bench_matmul(b, e));
  rc = rc ? rc : (!strstr("attention rope_kv", b->filter) ? PAGEDVK_OK : bench_attention(b, e));
  rc = rc ? rc : (!strstr("rmsnorm", b->filter) ? PAGEDVK_OK : bench_rmsnorm(b, e));
  if (!rc && b->json) fprintf(out, "\n  ]\n}\n");
  if (b->ops_ready) pv_ops_destroy(&b->ops);
  if (b->timer.pool) pv_vk_timer_destroy(&b->timer);
  if (b->ctx) {
    pv_vk_cmd_destroy(&b->cmd);
    pv_vk_context_destroy(b->ctx);
  }
  return rc;
}

int pv_bench_kernels_main(int argc, char **argv) {
  pv_error err = {0};
  bench b;
  memset(&b, 0, sizeof b);
  b.out = stdout;
  bool want_help = false;
  int rc = parse_options(&b, argc, argv, &want_help, &err);
  if (!rc && want_help) {
    help(stdout, argc > 0 ? argv[0] : "bench-kernels");
    return 0;
  }
  rc = rc ? rc : run(&b, &err);
  if (rc) fprintf(stderr, "pagedvk: %s\n", err.msg);
  return rc ? 1 : 0;
}
