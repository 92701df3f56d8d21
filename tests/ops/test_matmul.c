/*
 * pv_op_matmul (shaders/matmul.comp) against the CPU for every weight type.
 *
 * Weights: random f32 rows quantized with pv_quantize_rows; the reference dequantizes them with
 * pv_dequantize_row (exact) and sums in double. So the only differences allowed are f32 rounding
 * of the dot products, summed in another order on the device:
 *
 *   tolerance  |y - ref| <= 2e-5 * sum_k |x_k w_k| + 4e-7 * (|bias| + |y_before|)
 *
 * (a K-term f32 sum in a tree of depth ~log2(K) + K/(32 WG) has a relative error of a few 1e-7 of
 * sum |x w|; 2e-5 leaves margin, and a wrong element, scale or nibble gives errors of ~1e-2.)
 * SwiGLU: silu(g) * u with g and u each within the bound above, propagated (|silu'| <= 1.1).
 *
 * Shapes: K of one and of nine K-quant super-blocks (more 32-element units than the workgroup has
 * invocations), N = 37 and 13 (not multiples of the rows per workgroup), M = 1, 3, 8, 17 (not multiples
 * of the tokens per workgroup), padded strides (padding must stay untouched), weights at non-zero
 * byte offsets, bias and accumulate flags, the fused SwiGLU variant, row groups folded into z (a
 * lowered workgroup-count limit), other rows/tokens per workgroup, and matrices split over several
 * buffers (row ranges). Once per clamp set.
 */
#include "ops_helpers.h"

#define N_ROWS 37u
#define SENTINEL (-777.0f)

typedef struct mm_case {
  pv_dtype type;
  uint32_t k, n, m;
  bool bias, accumulate, swiglu;
  uint32_t w_offset;  /* bytes, multiple of 4 */
  uint32_t up_offset; /* bytes, multiple of 4 */
  uint32_t split_rows; /* > 0: W (and up) split into parts of this many rows, a buffer each */
} mm_case;

typedef struct quant_weight {
  void *q;        /* quantized rows */
  float *deq;     /* reference: the dequantized rows */
  uint64_t bytes; /* of q */
} quant_weight;

/* Quantizing (an error-minimising search) costs more than the kernels: each weight is made once
 * per process and shared by the clamp sets. */
typedef struct weight_cache_entry {
  pv_dtype type;
  uint32_t k, n;
  uint64_t seed;
  quant_weight w;
} weight_cache_entry;
static weight_cache_entry weight_cache[256];
static size_t weight_cache_len;

static void make_weight_uncached(quant_weight *w, pv_dtype type, uint32_t k, uint32_t n, uint64_t seed) {
  pv_error err = {0};
  float *src = malloc((size_t)k * n * 4);
  w->bytes = test_row_bytes(type, k) * n;
  w->q = malloc(w->bytes);
  w->deq = malloc((size_t)k * n * 4);
  assert_true(src && w->q && w->deq);
  pv_test_random_floats(src, (size_t)k * n, seed, -1.0f, 1.0f);
  PV_ASSERT_OK(pv_quantize_rows(type, src, w->q, k, n, &err), err);
  uint64_t rb = test_row_bytes(type, k);
  for (uint32_t r = 0; r < n; r++)
    PV_ASSERT_OK(pv_dequantize_row(type, (const uint8_t *)w->q + r * rb, w->deq + (size_t)r * k, k, "w", &err), err);
  free(src);
}

static void free_weight(quant_weight *w) {
  free(w->q);
  free(w->deq);
}

/* *w points into the cache (do not free). */
static void make_weight(quant_weight *w, pv_dtype type, uint32_t k, uint32_t n, uint64_t seed) {
  for (size_t i = 0; i < weight_cache_len; i++) {
    weight_cache_entry *e = &weight_cache[i];
    if (e->type == type && e->k == k && e->n == n && e->seed == seed) {
      *w = e->w;
      return;
    }
  }
  assert_true(weight_cache_len < PV_ARRAY_LEN(weight_cache));
  weight_cache_entry *e = &weight_cache[weight_cache_len++];
  *e = (weight_cache_entry){.type = type, .k = k, .n = n, .seed = seed};
  make_weight_uncached(&e->w, type, k, n, seed);
  *w = e->w;
}

/* dot = sum x w in double, mag = sum |x w| */
static void ref_dot(const float *x, const float *w, uint32_t k, double *dot, double *mag) {
  double s = 0, a = 0;
  for (uint32_t i = 0; i < k; i++) {
    s += (double)x[i] * w[i];
    a += fabs((double)x[i] * w[i]);
  }
  *dot = s;
  *mag = a;
}

static double silu_d(double x) { return x / (1.0 + exp(-x)); }

/* With g_texel the weights and inputs also get texel views (the path CPU devices take). */
static bool g_texel;

static void check_matmul(pv_test_vk *t, pv_ops *ops, const mm_case *c) {
  pv_error err = {0};
  const uint32_t k = c->k, n = c->n, m = c->m;
  const uint32_t x_stride = k + 4, y_stride = n + 3;
  const uint64_t seed = (uint64_t)c->type * 1000003u + k * 31u + n;
  const uint64_t xseed = seed * 7 + m;
  quant_weight w, up;
  make_weight(&w, c->type, k, n, seed);
  if (c->swiglu) make_weight(&up, c->type, k, n, seed + 17);
  float *x = malloc((size_t)m * x_stride * 4), *y0 = malloc((size_t)m * y_stride * 4);
  float *y = malloc((size_t)m * y_stride * 4), *bias = malloc((size_t)n * 4);
  assert_true(x && y0 && y && bias);
  pv_test_random_floats(x, (size_t)m * x_stride, xseed + 1, -1.0f, 1.0f);
  pv_test_random_floats(bias, n, xseed + 2, -2.0f, 2.0f);
  for (uint32_t r = 0; r < m; r++) {
    pv_test_random_floats(y0 + (size_t)r * y_stride, n, xseed + 3 + r, -3.0f, 3.0f);
    for (uint32_t j = n; j < y_stride; j++) y0[(size_t)r * y_stride + j] = SENTINEL;
  }

  /* Texel views cover whole 16-byte texels, and the wrapper reads a weight through its view only
   * when the weight ends within them: pad as the engine's weight arenas are, so every type (Q6_K's
   * 210-byte blocks too) takes the texel path here. */
  const size_t pad = g_texel ? 15u : 0u;
  pv_vk_buffer bw, bup = {0}, bx, by, bb;
  test_buffer(t, &bw, (c->w_offset + w.bytes + pad) & ~pad, w.q, w.bytes, c->w_offset);
  if (c->swiglu) test_buffer(t, &bup, (c->up_offset + up.bytes + pad) & ~pad, up.q, up.bytes, c->up_offset);
  test_buffer(t, &bx, (size_t)m * x_stride * 4, x, (size_t)m * x_stride * 4, 0);
  test_buffer(t, &by, (size_t)m * y_stride * 4, y0, (size_t)m * y_stride * 4, 0);
  test_buffer(t, &bb, (size_t)n * 4, bias, (size_t)n * 4, 0);

  pv_op_weight ow = {.buf = &bw, .offset = c->w_offset, .type = c->type, .k = k, .n = n};
  pv_op_weight oup = {.buf = &bup, .offset = c->up_offset, .type = c->type, .k = k, .n = n};
  pv_op_matmul_args a = {.w = &ow, .w_up = c->swiglu ? &oup : NULL, .x = pv_view(&bx), .y = pv_view(&by),
                         .bias = c->bias ? pv_view(&bb) : (pv_vk_view){0}, .m = m, .x_stride = x_stride,
                         .y_stride = y_stride, .accumulate = c->accumulate};
  VkBufferView xt = VK_NULL_HANDLE;
  if (g_texel) {
    PV_ASSERT_OK(pv_vk_texel_view_create(t->ctx, &bw, VK_FORMAT_R32G32B32A32_UINT, 0, bw.size / 16 * 16, &ow.texel, &err), err);
    if (c->swiglu)
      PV_ASSERT_OK(pv_vk_texel_view_create(t->ctx, &bup, VK_FORMAT_R32G32B32A32_UINT, 0, bup.size / 16 * 16, &oup.texel, &err), err);
    PV_ASSERT_OK(pv_vk_texel_view_create(t->ctx, &bx, VK_FORMAT_R32G32B32A32_SFLOAT, 0, bx.size / 16 * 16, &xt, &err), err);
    a.x.texel = xt;
  }
  pv_op_weight wparts[8], uparts[8];
  pv_vk_buffer wbufs[8], ubufs[8];
  uint32_t n_parts = 0;
  if (c->split_rows) {
    n_parts = test_split_weight(t, &ow, wparts, wbufs, 8, w.q, test_row_bytes(c->type, k), c->split_rows, g_texel);
    if (c->swiglu) test_split_weight(t, &oup, uparts, ubufs, 8, up.q, test_row_bytes(c->type, k), c->split_rows, g_texel);
  }
  PV_ASSERT_OK(pv_vk_cmd_begin(&t->cmd, &err), err);
  PV_ASSERT_OK(pv_op_matmul(ops, &t->cmd, &a, &err), err);
  test_run(t);
  test_download(t, &by, y, (size_t)m * y_stride * 4);
  test_split_free(t, wparts, wbufs, n_parts);
  if (c->swiglu) test_split_free(t, uparts, ubufs, n_parts);

  for (uint32_t r = 0; r < m; r++) {
    const float *xr = x + (size_t)r * x_stride;
    for (uint32_t j = 0; j < y_stride; j++) {
      const size_t at = (size_t)r * y_stride + j;
      if (j >= n) {
        if (y[at] != SENTINEL) fail_msg("%s m=%u: padding y[%u][%u] overwritten", pv_dtype_name(c->type), m, r, j);
        continue;
      }
      double g, gmag, want, tol;
      ref_dot(xr, w.deq + (size_t)j * k, k, &g, &gmag);
      if (c->swiglu) {
        double u, umag;
        ref_dot(xr, up.deq + (size_t)j * k, k, &u, &umag);
        double tg = 2e-5 * gmag, tu = 2e-5 * umag;
        want = silu_d(g) * u;
        tol = 1.1 * tg * (fabs(u) + tu) + fabs(silu_d(g)) * tu + 1e-6 * fabs(want);
      } else {
        want = g;
        tol = 2e-5 * gmag;
        if (c->bias) want += bias[j], tol += 4e-7 * fabs(bias[j]);
      }
      if (c->accumulate) want += y0[at], tol += 4e-7 * fabs(y0[at]);
      if (!(fabs(y[at] - want) <= tol + 1e-30))
        fail_msg("%s K=%u N=%u M=%u%s%s%s rows=%u ntok=%u: y[%u][%u] = %.9g, want %.9g (tol %.3g)",
                 pv_dtype_name(c->type), k, n, m, c->bias ? " bias" : "", c->accumulate ? " acc" : "",
                 c->swiglu ? " swiglu" : "", ops->mm_rows, ops->mm_ntok, r, j, y[at], want, tol);
    }
  }
  pv_vk_texel_view_destroy(t->ctx, xt);
  pv_vk_texel_view_destroy(t->ctx, ow.texel);
  pv_vk_texel_view_destroy(t->ctx, oup.texel);
  pv_vk_buffer_destroy(t->ctx, &bb);
  pv_vk_buffer_destroy(t->ctx, &by);
  pv_vk_buffer_destroy(t->ctx, &bx);
  if (c->swiglu) pv_vk_buffer_destroy(t->ctx, &bup);
  pv_vk_buffer_destroy(t->ctx, &bw);
  free(x), free(y0), free(y), free(bias);
}

static const uint32_t MS[] = {1, 3, 8, 17};

/* Every type: two K, four M (tokens per workgroup 1, 4, 8, 8: the wrapper narrows it for small M),
 * the flags rotating over M, the weight at a non-zero offset for odd M. */
static void run_types(pv_test_vk *t, pv_ops *ops, bool swiglu) {
  for (size_t ti = 0; ti < PV_TEST_N_WEIGHT_TYPES; ti++) {
    pv_dtype type = PV_TEST_WEIGHT_TYPES[ti];
    const uint32_t ks[] = {test_block_elems(type) == 256 ? 256u : 96u, 2304u};
    for (size_t ki = 0; ki < 2; ki++)
      for (size_t mi = 0; mi < PV_ARRAY_LEN(MS); mi++) {
        /* SwiGLU: decode (one token per workgroup) at the small K, 17 tokens at the large K */
        if (swiglu && MS[mi] != (ki ? 17u : 1u)) continue;
        mm_case c = {.type = type, .k = ks[ki], .n = ki ? 13u : N_ROWS, .m = MS[mi], .swiglu = swiglu,
                     .bias = !swiglu && (mi & 1), .accumulate = (mi >= 2),
                     .w_offset = (mi & 1) ? (g_texel ? 16u : 12u) : 0u, .up_offset = (mi & 1) ? 0u : (g_texel ? 32u : 20u)};
        check_matmul(t, ops, &c);
      }
  }
}

static void test_matmul_types(void **state) {
  pv_test_vk *t = *state;
  pv_ops ops;
  test_ops_init(t, &ops);
  run_types(t, &ops, false);
  pv_ops_destroy(&ops);
}

static void test_matmul_swiglu_types(void **state) {
  pv_test_vk *t = *state;
  pv_ops ops;
  test_ops_init(t, &ops);
  run_types(t, &ops, true);
  pv_ops_destroy(&ops);
}

/* The same through texel views (weights RGBA32_UINT, inputs RGBA32F): what CPU devices run. */
static void test_matmul_texel_types(void **state) {
  pv_test_vk *t = *state;
  pv_ops ops;
  test_ops_init(t, &ops);
  ops.weights_texel = true;
  g_texel = true;
  run_types(t, &ops, false);
  run_types(t, &ops, true);
  g_texel = false;
  pv_ops_destroy(&ops);
}

/* Other rows / tokens per workgroup (the tuning knobs of pv_ops): the results must not change.
 * In the row form (CPU devices) rows are per invocation, WG apart: 8-invocation workgroups make
 * the 37 rows span several workgroups with a partial last one (64 invocations: one workgroup,
 * most of it past the last row), and mm_rows_fixed keeps the wrapper from choosing fewer rows
 * for so small a matrix. */
static void test_matmul_shapes(void **state) {
  pv_test_vk *t = *state;
  /* {rows, tokens, texel, invocations}: the last is the CPU devices' default, through texel views */
  const uint32_t shapes[][4] = {{1, 1, 0, 8}, {3, 2, 0, 64}, {4, 4, 0, 8}, {8, 16, 1, 8}};
  const pv_dtype types[] = {PV_Q4_K, PV_Q8_0, PV_F16};
  const pv_dtype texel_types[] = {PV_Q4_K, PV_Q6_K, PV_F16};
  for (size_t s = 0; s < PV_ARRAY_LEN(shapes); s++) {
    pv_ops ops;
    test_ops_init(t, &ops);
    ops.mm_rows = shapes[s][0];
    ops.mm_ntok = shapes[s][1];
    ops.mm_rows_fixed = true;
    ops.weights_texel = g_texel = shapes[s][2];
    if (ops.mm_row_per_invocation) ops.mm_wg = shapes[s][3];
    for (size_t i = 0; i < PV_ARRAY_LEN(types); i++) {
      mm_case c = {.type = g_texel ? texel_types[i] : types[i], .k = 512, .n = N_ROWS, .m = 17, .bias = true,
                   .accumulate = true, .w_offset = g_texel ? 16 : 4};
      check_matmul(t, &ops, &c);
      if (shapes[s][0] < 4) continue; /* fused SwiGLU at the multi-row shapes only (each variant compiles) */
      c.m = 2;
      c.swiglu = true;
      c.bias = false;
      check_matmul(t, &ops, &c);
    }
    g_texel = false;
    pv_ops_destroy(&ops);
  }
}

/* More row groups than the (lowered) x limit of the grid: the wrapper folds them into z. */
static void test_matmul_fold_z(void **state) {
  pv_test_vk *t = *state;
  pv_vk_caps saved = t->ctx->caps;
  t->ctx->caps.max_workgroup_count[0] = 5; /* a lower limit is always valid */
  pv_ops ops;
  test_ops_init(t, &ops);
  mm_case c = {.type = PV_Q6_K, .k = 256, .n = 101, .m = 9, .bias = true};
  check_matmul(t, &ops, &c);
  c.type = PV_Q4_0;
  c.swiglu = true;
  c.bias = false;
  c.accumulate = true;
  check_matmul(t, &ops, &c);
  pv_ops_destroy(&ops);
  t->ctx->caps = saved;
}

/* A matrix split into row ranges, a buffer each (as the engine places a tensor larger than one
 * binding): every part into its slice of the output rows, bias and accumulate too, the fused
 * SwiGLU with gate and up split alike, storage and texel reads. Parts as the engine cuts them
 * (pv_op_weight_part_rows: boundaries the output's binding offset allows), about 10 rows each. */
static void test_matmul_split(void **state) {
  pv_test_vk *t = *state;
  const pv_dtype types[] = {PV_Q4_K, PV_Q6_K, PV_Q8_0, PV_F16};
  for (int texel = 0; texel < 2; texel++) {
    pv_ops ops;
    test_ops_init(t, &ops);
    ops.weights_texel = g_texel = texel;
    for (size_t i = 0; i < PV_ARRAY_LEN(types); i++) {
      const uint32_t k = test_block_elems(types[i]) == 256 ? 256 : 96;
      uint32_t rows = pv_op_weight_part_rows(&t->ctx->caps, types[i], k, test_row_bytes(types[i], k) * 10);
      if (!rows) rows = N_ROWS; /* a device whose binding offsets allow no finer cut: one part */
      mm_case c = {.type = types[i], .k = k, .n = N_ROWS, .m = 17, .bias = true, .accumulate = true, .split_rows = rows};
      check_matmul(t, &ops, &c);
      c.m = 3;
      c.swiglu = true;
      c.bias = c.accumulate = false;
      check_matmul(t, &ops, &c);
    }
    g_texel = false;
    pv_ops_destroy(&ops);
  }
}

/* Shapes the shader cannot compute are refused before anything is recorded. */
static void test_matmul_rejects(void **state) {
  pv_test_vk *t = *state;
  pv_error err = {0};
  pv_ops ops;
  test_ops_init(t, &ops);
  pv_vk_buffer b;
  test_buffer(t, &b, 4096, NULL, 0, 0);
  pv_op_weight w = {.buf = &b, .type = PV_Q4_K, .k = 96, .n = 4};
  pv_op_matmul_args a = {.w = &w, .x = pv_view(&b), .y = pv_view(&b), .m = 1, .x_stride = 96, .y_stride = 4};
  PV_ASSERT_OK(pv_vk_cmd_begin(&t->cmd, &err), err);
  assert_int_equal(pv_op_matmul(&ops, &t->cmd, &a, &err), PAGEDVK_ERR_INVALID); /* K-quant, K % 256 */
  w.type = PV_Q8_0;
  w.k = 80;
  a.x_stride = 80;
  assert_int_equal(pv_op_matmul(&ops, &t->cmd, &a, &err), PAGEDVK_ERR_INVALID); /* K % 32 */
  w.k = 96;
  a.x_stride = 96;
  w.offset = 2;
  assert_int_equal(pv_op_matmul(&ops, &t->cmd, &a, &err), PAGEDVK_ERR_INVALID); /* misaligned weight */
  w.offset = 0;
  pv_op_weight up = w;
  a.w_up = &up;
  a.bias = pv_view(&b);
  assert_int_equal(pv_op_matmul(&ops, &t->cmd, &a, &err), PAGEDVK_ERR_INVALID); /* SwiGLU has no bias */
  a.w_up = NULL;
  a.bias = (pv_vk_view){0};
  w.n = 121; /* 121 rows of 102 bytes = 12342 bytes: the last word is outside the 12340-byte buffer */
  pv_vk_buffer small, yb;
  test_buffer(t, &small, 12340, NULL, 0, 0);
  test_buffer(t, &yb, 121 * 4, NULL, 0, 0);
  w.buf = &small;
  a.y = pv_view(&yb);
  assert_int_equal(pv_op_matmul(&ops, &t->cmd, &a, &err), PAGEDVK_ERR_INVALID);
  w.n = 120;
  PV_ASSERT_OK(pv_op_matmul(&ops, &t->cmd, &a, &err), err); /* 12240 bytes fit */
  /* split matrices: parts that do not add up to the whole, gate split but up not */
  pv_op_weight parts[2] = {{.buf = &b, .type = PV_Q8_0, .k = 96, .n = 4}, {.buf = &b, .type = PV_Q8_0, .k = 96, .n = 4}};
  pv_op_weight whole = {.type = PV_Q8_0, .k = 96, .n = 12, .n_parts = 2, .parts = parts};
  a.w = &whole;
  assert_int_equal(pv_op_matmul(&ops, &t->cmd, &a, &err), PAGEDVK_ERR_INVALID);
  whole.n = 8;
  pv_op_weight unsplit = {.buf = &b, .type = PV_Q8_0, .k = 96, .n = 8};
  a.w_up = &unsplit;
  assert_int_equal(pv_op_matmul(&ops, &t->cmd, &a, &err), PAGEDVK_ERR_INVALID);
  a.w = &w;
  a.w_up = NULL;
  w.buf = &b;
  w.n = 4;
  w.type = PV_Q8_1;
  a.w_up = NULL;
  a.bias = (pv_vk_view){0};
  assert_int_equal(pv_op_matmul(&ops, &t->cmd, &a, &err), PAGEDVK_ERR_UNSUPPORTED);
  PV_ASSERT_OK(pv_vk_cmd_run(&t->cmd, &err), err);
  pv_vk_buffer_destroy(t->ctx, &yb);
  pv_vk_buffer_destroy(t->ctx, &small);
  pv_vk_buffer_destroy(t->ctx, &b);
  pv_ops_destroy(&ops);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_matmul_types, pv_test_vk_check),
      cmocka_unit_test_teardown(test_matmul_swiglu_types, pv_test_vk_check),
      cmocka_unit_test_teardown(test_matmul_texel_types, pv_test_vk_check),
      cmocka_unit_test_teardown(test_matmul_shapes, pv_test_vk_check),
      cmocka_unit_test_teardown(test_matmul_fold_z, pv_test_vk_check),
      cmocka_unit_test_teardown(test_matmul_split, pv_test_vk_check),
      cmocka_unit_test_teardown(test_matmul_rejects, pv_test_vk_check),
  };
  int failures = pv_test_vk_run_clamp_sets("matmul", tests, PV_ARRAY_LEN(tests));
  for (size_t i = 0; i < weight_cache_len; i++) free_weight(&weight_cache[i].w);
  return failures;
}
