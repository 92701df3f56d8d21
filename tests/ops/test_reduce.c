/*
 * op_reduce against C: the sum of random f32 arrays (double-precision reference, tolerance from the
 * sum of magnitudes) and of small integers (exact), at sizes that are not multiples of the workgroup
 * size, one and two passes, with the subgroup and the shared-memory variant (one group per clamp set).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "op_reduce.h"
#include "vk_fixture.h"

/* Sums x[0..n) on the GPU. */
static float gpu_sum(pv_test_vk *t, const pv_op_reduce *op, const float *x, uint32_t n) {
  pv_vk_context *ctx = t->ctx;
  pv_error err = {0};
  pv_vk_buffer in, scratch, out;
  size_t bytes = n ? (size_t)n * 4 : 4;
  PV_ASSERT_OK(pv_vk_buffer_create(ctx, &in, bytes, PV_MEM_DEVICE, &err), err);
  PV_ASSERT_OK(pv_vk_buffer_create(ctx, &scratch, pv_op_reduce_scratch_bytes(op, n), PV_MEM_DEVICE, &err), err);
  PV_ASSERT_OK(pv_vk_buffer_create(ctx, &out, 4, PV_MEM_READBACK, &err), err);
  if (n) PV_ASSERT_OK(pv_vk_buffer_upload(ctx, &in, 0, x, (size_t)n * 4, &err), err);
  float sentinel = 12345.0f, result = 0;
  PV_ASSERT_OK(pv_vk_buffer_upload(ctx, &out, 0, &sentinel, 4, &err), err);
  PV_ASSERT_OK(pv_vk_cmd_begin(&t->cmd, &err), err);
  PV_ASSERT_OK(pv_op_reduce_sum_record(&t->cmd, op, pv_view(&in), n, pv_view(&scratch), pv_view(&out), &err), err);
  pv_vk_cmd_barrier(&t->cmd, PV_BARRIER_TO_HOST);
  PV_ASSERT_OK(pv_vk_cmd_run(&t->cmd, &err), err);
  PV_ASSERT_OK(pv_vk_buffer_download(ctx, &out, 0, &result, 4, &err), err);
  pv_vk_buffer_destroy(ctx, &out);
  pv_vk_buffer_destroy(ctx, &scratch);
  pv_vk_buffer_destroy(ctx, &in);
  return result;
}

static void make_op(pv_test_vk *t, pv_op_reduce *op) {
  pv_error err = {0};
  PV_ASSERT_OK(pv_op_reduce_create(t->ctx, op, &err), err);
  /* the variant follows the caps */
  bool subgroups = pv_caps_subgroup(&t->ctx->caps, PV_SUBGROUP_FULL);
  assert_string_equal(op->variant->name, subgroups ? "reduce_sum" : "reduce_sum_nosg");
  assert_true(op->workgroup * 4 <= t->ctx->caps.max_shared_memory);
  assert_true(op->workgroup <= t->ctx->caps.max_workgroup_invocations);
}

static void test_reduce_random(void **state) {
  pv_test_vk *t = *state;
  pv_op_reduce op;
  make_op(t, &op);
  const uint32_t w = op.workgroup;
  const uint32_t sizes[] = {1, 7, w - 1, w, w + 1, 3 * w + 5, 100003, (1u << 22) + 3};
  for (size_t s = 0; s < PV_ARRAY_LEN(sizes); s++) {
    uint32_t n = sizes[s];
    float *x = malloc((size_t)n * 4);
    assert_non_null(x);
    pv_test_random_floats(x, n, 1000 + n, -1.0f, 1.0f);
    double want = 0, mag = 0;
    for (uint32_t i = 0; i < n; i++) want += x[i], mag += fabs(x[i]);
    float got = gpu_sum(t, &op, x, n);
    if (fabs(got - want) > 1e-5 * mag + 1e-6) fail_msg("n=%u: got %.9g want %.9g", n, got, want);
    free(x);
  }
  pv_op_reduce_destroy(t->ctx, &op);
}

/* Small integers add exactly in f32 while the total stays below 2^24. */
static void test_reduce_exact(void **state) {
  pv_test_vk *t = *state;
  pv_op_reduce op;
  make_op(t, &op);
  const uint32_t n = 1000001;
  float *x = malloc((size_t)n * 4);
  assert_non_null(x);
  int64_t want = 0;
  for (uint32_t i = 0; i < n; i++) {
    x[i] = (float)((int)(i % 7) - 3 + (i % 3 == 0 ? 1 : 0));
    want += (int64_t)x[i];
  }
  assert_true(gpu_sum(t, &op, x, n) == (float)want);
  for (uint32_t i = 0; i < n; i++) x[i] = 1.0f;
  assert_true(gpu_sum(t, &op, x, n) == (float)n);
  assert_true(gpu_sum(t, &op, x, 0) == 0.0f);
  free(x);
  pv_op_reduce_destroy(t->ctx, &op);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_reduce_random, pv_test_vk_check),
      cmocka_unit_test_teardown(test_reduce_exact, pv_test_vk_check),
  };
  return pv_test_vk_run_clamp_sets("reduce_sum", tests, PV_ARRAY_LEN(tests));
}
