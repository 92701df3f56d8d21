/*
 * pv_op_rmsnorm (shaders/rmsnorm.comp) and pv_op_argmax (shaders/argmax.comp) against ref.c's
 * pv_ref_rmsnorm and pv_ref_argmax. Once per clamp set.
 *
 * rmsnorm: row lengths that are not multiples of the workgroup, padded strides (padding untouched;
 * odd ones and multiples of 4, which with a length that is one too take the shader's vec4 path),
 * the row gather (ROWSEL: rows picked out of order and repeated), an all-zero row (eps keeps it
 * finite), 11-13 rows (one row per lane on CPU devices: two workgroups there). Tolerance |y - ref| <= 1e-5 |ref| + 1e-7: the f32 sum of squares in a tree against the
 * reference's double sum moves the scale by ~1e-6 relative at these lengths.
 * rmsnorm_add (gemma's post norms): the same rows added into Y's values, padding untouched.
 * softcap (final logit soft-capping): X = c tanh(X / c) in place against pv_ref_softcap, values up
 * to ±1e4 (where tanh's exp(2x) form overflows), padding untouched; |y - ref| <= 1e-6 c.
 * argmax: exact. Ties pick the lowest index (maxima planted at several places, a constant row,
 * a row of -inf), the maximum at the first and at the last index, rows longer than the workgroup.
 */
#include "ops_helpers.h"

#define SENTINEL (-999.0f)

/* aligned: strides that keep every row on a 16-byte boundary (the shader's vec4 path when n % 4 == 0) */
static void check_rmsnorm(pv_test_vk *t, pv_ops *ops, uint32_t n, bool gather, bool aligned, bool add) {
  pv_error err = {0};
  /* more rows than a SIMD width: rmsnorm_lanes (one row per lane) spans two workgroups */
  const uint32_t src_rows = 11, x_stride = aligned ? n + 4 : n + 3, y_stride = aligned ? n + 8 : n + 1;
  const uint32_t rowsel[] = {4, 0, 4, 2, 3, 1, 10, 9, 7, 7, 5, 6, 8};
  const uint32_t rows = gather ? PV_ARRAY_LEN(rowsel) : src_rows;
  const float eps = 1e-5f;
  float *x = malloc((size_t)src_rows * x_stride * 4), *w = malloc((size_t)n * 4);
  float *y = malloc((size_t)rows * y_stride * 4), *want = malloc((size_t)n * 4);
  assert_true(x && w && y && want);
  pv_test_random_floats(x, (size_t)src_rows * x_stride, n, -3.0f, 3.0f);
  pv_test_random_floats(w, n, n + 1, 0.5f, 1.5f);
  memset(x + 3 * x_stride, 0, (size_t)n * 4); /* row 3: all zero */
  for (size_t i = 0; i < (size_t)rows * y_stride; i++) y[i] = SENTINEL;
  float *base = malloc((size_t)rows * y_stride * 4); /* add: what Y holds before */
  assert_non_null(base);
  pv_test_random_floats(base, (size_t)rows * y_stride, n + 2, -2.0f, 2.0f);
  for (uint32_t r = 0; add && r < rows; r++) memcpy(y + (size_t)r * y_stride, base + (size_t)r * y_stride, (size_t)n * 4);
  pv_vk_buffer bx, by, bw, bs;
  test_buffer(t, &bx, (size_t)src_rows * x_stride * 4, x, (size_t)src_rows * x_stride * 4, 0);
  test_buffer(t, &by, (size_t)rows * y_stride * 4, y, (size_t)rows * y_stride * 4, 0);
  test_buffer(t, &bw, (size_t)n * 4, w, (size_t)n * 4, 0);
  test_buffer(t, &bs, sizeof rowsel, rowsel, sizeof rowsel, 0);
  PV_ASSERT_OK(pv_vk_cmd_begin(&t->cmd, &err), err);
  if (add)
    PV_ASSERT_OK(pv_op_rmsnorm_add(ops, &t->cmd, pv_view(&bx), pv_view(&by), pv_view(&bw), n, rows, x_stride, y_stride,
                                   eps, &err), err);
  else
    PV_ASSERT_OK(pv_op_rmsnorm(ops, &t->cmd, pv_view(&bx), pv_view(&by), pv_view(&bw),
                               gather ? pv_view(&bs) : (pv_vk_view){0}, n, rows, x_stride, y_stride, eps, &err),
                 err);
  test_run(t);
  test_download(t, &by, y, (size_t)rows * y_stride * 4);
  for (uint32_t r = 0; r < rows; r++) {
    uint32_t src = gather ? rowsel[r] : r;
    pv_ref_rmsnorm(want, x + (size_t)src * x_stride, w, n, eps);
    for (uint32_t i = 0; i < y_stride; i++) {
      float got = y[(size_t)r * y_stride + i];
      /* add: the norm's tolerance, plus an f32 rounding of the sum */
      const float tol = 1e-5f * fabsf(i < n ? want[i] : 0.0f) + 1e-7f;
      if (add && i < n) want[i] += base[(size_t)r * y_stride + i];
      if (i >= n) {
        if (got != SENTINEL) fail_msg("rmsnorm: padding y[%u][%u] overwritten", r, i);
      } else if (!(fabsf(got - want[i]) <= tol + 1.2e-7f * fabsf(want[i]))) {
        fail_msg("rmsnorm n=%u gather=%d add=%d: y[%u][%u] = %.9g, want %.9g", n, gather, add, r, i, got, want[i]);
      }
    }
  }
  pv_vk_buffer_destroy(t->ctx, &bs);
  pv_vk_buffer_destroy(t->ctx, &bw);
  pv_vk_buffer_destroy(t->ctx, &by);
  pv_vk_buffer_destroy(t->ctx, &bx);
  free(x), free(w), free(y), free(want), free(base);
}

static void test_rmsnorm(void **state) {
  pv_test_vk *t = *state;
  pv_ops ops;
  test_ops_init(t, &ops);
  const uint32_t ns[] = {1, 63, 64, 1000, 4099};
  const uint32_t widths[] = {ops.wg_row, ops.wg}; /* CPU devices: 8 and 64 invocations per row */
  for (size_t k = 0; k < 2; k++) {
    ops.wg_row = widths[k];
    for (size_t i = 0; i < PV_ARRAY_LEN(ns); i++) {
      check_rmsnorm(t, &ops, ns[i], false, false, false);
      check_rmsnorm(t, &ops, ns[i], true, false, false);
      check_rmsnorm(t, &ops, ns[i], false, true, false);
      check_rmsnorm(t, &ops, ns[i], true, true, false);
      check_rmsnorm(t, &ops, ns[i], false, false, true);
      check_rmsnorm(t, &ops, ns[i], false, true, true);
    }
  }
  pv_ops_destroy(&ops);
}

static void check_argmax(pv_test_vk *t, pv_ops *ops, uint32_t n) {
  pv_error err = {0};
  enum { ROWS = 10 };
  const uint32_t stride = n + 7;
  float *x = malloc((size_t)ROWS * stride * 4);
  assert_non_null(x);
  pv_test_random_floats(x, (size_t)ROWS * stride, n, -10.0f, 10.0f);
  float *r;
  /* row 0: random. row 1: the maximum planted at three places, lowest in the middle of the row */
  r = x + 1 * stride;
  r[n - 1] = r[n / 2] = r[n / 3 + 1 < n ? n / 3 + 1 : 0] = 50.0f;
  /* row 2: constant (every index ties: 0) */
  r = x + 2 * stride;
  for (uint32_t i = 0; i < n; i++) r[i] = 1.5f;
  /* row 3: maximum at the last index only; row 4: at index 0 and at the last */
  x[3 * stride + n - 1] = 20.0f;
  x[4 * stride] = x[4 * stride + n - 1] = 20.0f;
  /* row 5: a NaN, and in row 8 every logit -inf: non-finite rows answer PV_ARGMAX_NONFINITE */
  r = x + 5 * stride;
  r[n / 2] = NAN;
  r = x + 8 * stride;
  for (uint32_t i = 0; i < n; i++) r[i] = -INFINITY;
  /* row 9: one +inf at the last index */
  x[9 * stride + n - 1] = INFINITY;
  /* row 6: ties between invocations' strided ranges (indices 1 and 1 + 64 and 3 + 128) */
  r = x + 6 * stride;
  for (uint32_t i = 0; i < n; i++) r[i] = -1.0f;
  for (uint32_t i = 1; i < n; i += 64) r[i] = 7.0f;
  /* row 7: -0.0 and +0.0 compare equal: the first of them wins */
  r = x + 7 * stride;
  for (uint32_t i = 0; i < n; i++) r[i] = -3.0f;
  r[n - 1] = 0.0f;
  r[n > 2 ? n - 2 : 0] = -0.0f;
  uint32_t got[ROWS];
  pv_vk_buffer bx, bo;
  test_buffer(t, &bx, (size_t)ROWS * stride * 4, x, (size_t)ROWS * stride * 4, 0);
  test_buffer(t, &bo, sizeof got, NULL, 0, 0);
  PV_ASSERT_OK(pv_vk_cmd_begin(&t->cmd, &err), err);
  PV_ASSERT_OK(pv_op_argmax(ops, &t->cmd, pv_view(&bx), pv_view(&bo), n, ROWS, stride, &err), err);
  test_run(t);
  test_download(t, &bo, got, sizeof got);
  for (uint32_t i = 0; i < ROWS; i++) {
    uint32_t want = i == 5 || i == 8 || i == 9 ? PV_ARGMAX_NONFINITE : pv_ref_argmax(x + (size_t)i * stride, n);
    if (got[i] != want) fail_msg("argmax n=%u row %u: %u, want %u", n, i, got[i], want);
  }
  pv_vk_buffer_destroy(t->ctx, &bo);
  pv_vk_buffer_destroy(t->ctx, &bx);
  free(x);
}

static void test_argmax(void **state) {
  pv_test_vk *t = *state;
  pv_ops ops;
  test_ops_init(t, &ops);
  const uint32_t ns[] = {1, 2, 63, 1000, 32007};
  const uint32_t widths[] = {ops.wg_row, ops.wg}; /* CPU devices: 8 and 64 invocations per row */
  for (size_t k = 0; k < 2; k++) {
    ops.wg_row = widths[k];
    for (size_t i = 0; i < PV_ARRAY_LEN(ns); i++) check_argmax(t, &ops, ns[i]);
  }
  pv_ops_destroy(&ops);
}

static void check_softcap(pv_test_vk *t, pv_ops *ops, uint32_t n, float cap) {
  pv_error err = {0};
  enum { ROWS = 3 };
  const uint32_t stride = n + 5;
  float *x = malloc((size_t)ROWS * stride * 4), *got = malloc((size_t)ROWS * stride * 4);
  assert_true(x && got);
  pv_test_random_floats(x, (size_t)ROWS * stride, n + 3, -4.0f * cap, 4.0f * cap);
  x[0] = 1e4f, x[n - 1] = -1e4f, x[stride] = 0.0f; /* far past the cap both ways; zero */
  for (uint32_t r = 0; r < ROWS; r++)
    for (uint32_t i = n; i < stride; i++) x[(size_t)r * stride + i] = SENTINEL;
  pv_vk_buffer bx;
  test_buffer(t, &bx, (size_t)ROWS * stride * 4, x, (size_t)ROWS * stride * 4, 0);
  PV_ASSERT_OK(pv_vk_cmd_begin(&t->cmd, &err), err);
  PV_ASSERT_OK(pv_op_softcap(ops, &t->cmd, pv_view(&bx), n, ROWS, stride, cap, &err), err);
  test_run(t);
  test_download(t, &bx, got, (size_t)ROWS * stride * 4);
  for (uint32_t r = 0; r < ROWS; r++)
    for (uint32_t i = 0; i < stride; i++) {
      const size_t at = (size_t)r * stride + i;
      const float want = i < n ? pv_ref_softcap(x[at], cap) : SENTINEL;
      if (!(fabsf(got[at] - want) <= 1e-6f * cap))
        fail_msg("softcap n=%u cap=%g: x[%u][%u] = %.9g -> %.9g, want %.9g", n, (double)cap, r, i, x[at], got[at], want);
    }
  pv_vk_buffer_destroy(t->ctx, &bx);
  free(x), free(got);
}

static void test_softcap(void **state) {
  pv_test_vk *t = *state;
  pv_ops ops;
  test_ops_init(t, &ops);
  check_softcap(t, &ops, 1, 30.0f);
  check_softcap(t, &ops, 1000, 30.0f);
  check_softcap(t, &ops, 32007, 5.0f);
  pv_error err = {0};
  pv_vk_buffer b;
  test_buffer(t, &b, 64, NULL, 0, 0);
  assert_int_equal(pv_op_softcap(&ops, NULL, pv_view(&b), 4, 1, 4, 0.0f, &err), PAGEDVK_ERR_INVALID);
  pv_vk_buffer_destroy(t->ctx, &b);
  pv_ops_destroy(&ops);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_rmsnorm, pv_test_vk_check),
      cmocka_unit_test_teardown(test_argmax, pv_test_vk_check),
      cmocka_unit_test_teardown(test_softcap, pv_test_vk_check),
  };
  return pv_test_vk_run_clamp_sets("rmsnorm+argmax", tests, PV_ARRAY_LEN(tests));
}
