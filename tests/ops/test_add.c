/*
 * op_add against C: c = a + scale * b on random data, sizes that are not multiples of the workgroup
 * size, offsets into buffers, in place, a grid split over two dimensions, and hundreds of dispatches
 * in one recording (descriptor pools grow). Runs once per clamp set (vk_fixture.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "op_add.h"
#include "vk_fixture.h"

/* Uploads a and b, runs c = a + scale * b over n values at element offset `off`, checks against C. */
static void check_add(pv_test_vk *t, const pv_op_add *op, uint32_t n, uint32_t off, float scale, bool in_place) {
  pv_vk_context *ctx = t->ctx;
  pv_error err = {0};
  size_t total = (size_t)n + off;
  float *a = malloc(total * 4), *b = malloc(total * 4), *c = malloc(total * 4);
  assert_true(a && b && c);
  pv_test_random_floats(a, total, n + 1, -4.0f, 4.0f);
  pv_test_random_floats(b, total, n + 2, -4.0f, 4.0f);
  pv_vk_buffer ba, bb, bc;
  PV_ASSERT_OK(pv_vk_buffer_create(ctx, &ba, total * 4, PV_MEM_DEVICE, &err), err);
  PV_ASSERT_OK(pv_vk_buffer_create(ctx, &bb, total * 4, PV_MEM_DEVICE, &err), err);
  PV_ASSERT_OK(pv_vk_buffer_create(ctx, &bc, total * 4, PV_MEM_DEVICE, &err), err);
  PV_ASSERT_OK(pv_vk_buffer_upload(ctx, &ba, 0, a, total * 4, &err), err);
  PV_ASSERT_OK(pv_vk_buffer_upload(ctx, &bb, 0, b, total * 4, &err), err);
  memset(c, 0, total * 4);
  PV_ASSERT_OK(pv_vk_buffer_upload(ctx, &bc, 0, c, total * 4, &err), err);
  const pv_vk_buffer *out = in_place ? &ba : &bc;
  VkDeviceSize o = (VkDeviceSize)off * 4;
  PV_ASSERT_OK(pv_vk_cmd_begin(&t->cmd, &err), err);
  PV_ASSERT_OK(pv_op_add_record(&t->cmd, op, pv_view_range(&ba, o, (VkDeviceSize)n * 4),
                                pv_view_range(&bb, o, (VkDeviceSize)n * 4), pv_view_range(out, o, (VkDeviceSize)n * 4),
                                n, scale, &err),
               err);
  pv_vk_cmd_barrier(&t->cmd, PV_BARRIER_TO_HOST);
  PV_ASSERT_OK(pv_vk_cmd_run(&t->cmd, &err), err);
  memset(c, 0, total * 4);
  PV_ASSERT_OK(pv_vk_buffer_download(ctx, out, 0, c, total * 4, &err), err);
  for (size_t i = off; i < total; i++) {
    float want = a[i] + scale * b[i];
    float tol = 2e-7f * (fabsf(a[i]) + fabsf(scale * b[i]));
    if (fabsf(c[i] - want) > tol) fail_msg("n=%u off=%u i=%zu: got %g want %g", n, off, i, c[i], want);
  }
  if (!in_place)
    for (uint32_t i = 0; i < off; i++) assert_true(c[i] == 0.0f); /* nothing written before the view */
  pv_vk_buffer_destroy(ctx, &bc);
  pv_vk_buffer_destroy(ctx, &bb);
  pv_vk_buffer_destroy(ctx, &ba);
  free(a);
  free(b);
  free(c);
}

static void test_add_sizes(void **state) {
  pv_test_vk *t = *state;
  pv_op_add op;
  pv_error err = {0};
  PV_ASSERT_OK(pv_op_add_create(t->ctx, &op, &err), err);
  assert_true(op.workgroup <= t->ctx->caps.max_workgroup_invocations);
  const uint32_t sizes[] = {1, 3, op.workgroup - 1, op.workgroup + 1, 1000, 100003, (1u << 20) + 7};
  for (size_t i = 0; i < PV_ARRAY_LEN(sizes); i++) check_add(t, &op, sizes[i], 0, 1.0f, false);
  pv_op_add_destroy(t->ctx, &op);
}

static void test_add_scaled_offset_inplace(void **state) {
  pv_test_vk *t = *state;
  pv_op_add op;
  pv_error err = {0};
  PV_ASSERT_OK(pv_op_add_create(t->ctx, &op, &err), err);
  uint32_t off = (uint32_t)(t->ctx->caps.min_storage_offset_align / 4) * 3; /* aligned, non-zero */
  if (off == 0) off = 3;
  check_add(t, &op, 4099, off, -0.37f, false);
  check_add(t, &op, 4099, off, 2.5f, true);
  pv_op_add_destroy(t->ctx, &op);
}

/* More workgroups than the (lowered) x limit: the grid spills into y and the shader folds it back. */
static void test_add_2d_grid(void **state) {
  pv_test_vk *t = *state;
  pv_vk_caps saved = t->ctx->caps;
  t->ctx->caps.max_workgroup_count[0] = 7; /* a lower limit is always valid */
  pv_op_add op;
  pv_error err = {0};
  PV_ASSERT_OK(pv_op_add_create(t->ctx, &op, &err), err);
  check_add(t, &op, 100003, 0, 0.5f, false);
  pv_op_add_destroy(t->ctx, &op);
  t->ctx->caps = saved;
}

/* 600 dispatches in one command buffer: more descriptor sets than one pool holds. */
static void test_add_many_dispatches(void **state) {
  pv_test_vk *t = *state;
  pv_vk_context *ctx = t->ctx;
  pv_error err = {0};
  pv_op_add op;
  PV_ASSERT_OK(pv_op_add_create(ctx, &op, &err), err);
  const uint32_t n = 1001, rounds = 600;
  float *ones = malloc(n * 4), *out = malloc(n * 4);
  assert_true(ones && out);
  for (uint32_t i = 0; i < n; i++) ones[i] = 1.0f;
  pv_vk_buffer acc, one;
  PV_ASSERT_OK(pv_vk_buffer_create(ctx, &acc, n * 4, PV_MEM_DEVICE, &err), err);
  PV_ASSERT_OK(pv_vk_buffer_create(ctx, &one, n * 4, PV_MEM_DEVICE, &err), err);
  PV_ASSERT_OK(pv_vk_buffer_upload(ctx, &one, 0, ones, n * 4, &err), err);
  PV_ASSERT_OK(pv_vk_cmd_begin(&t->cmd, &err), err);
  pv_vk_cmd_fill(&t->cmd, &acc, 0, VK_WHOLE_SIZE, 0);
  pv_vk_cmd_barrier(&t->cmd, PV_BARRIER_TRANSFER_TO_COMPUTE);
  for (uint32_t r = 0; r < rounds; r++) {
    PV_ASSERT_OK(pv_op_add_record(&t->cmd, &op, pv_view(&acc), pv_view(&one), pv_view(&acc), n, 1.0f, &err), err);
    pv_vk_cmd_barrier(&t->cmd, PV_BARRIER_COMPUTE_TO_COMPUTE);
  }
  pv_vk_cmd_barrier(&t->cmd, PV_BARRIER_TO_HOST);
  PV_ASSERT_OK(pv_vk_cmd_run(&t->cmd, &err), err);
  assert_true(t->cmd.desc_pool_count >= 2);
  PV_ASSERT_OK(pv_vk_buffer_download(ctx, &acc, 0, out, n * 4, &err), err);
  for (uint32_t i = 0; i < n; i++) assert_true(out[i] == (float)rounds);
  pv_vk_buffer_destroy(ctx, &one);
  pv_vk_buffer_destroy(ctx, &acc);
  pv_op_add_destroy(ctx, &op);
  free(ones);
  free(out);
}

static void test_add_rejects_short_views(void **state) {
  pv_test_vk *t = *state;
  pv_error err = {0};
  pv_op_add op;
  pv_vk_buffer buf;
  PV_ASSERT_OK(pv_op_add_create(t->ctx, &op, &err), err);
  PV_ASSERT_OK(pv_vk_buffer_create(t->ctx, &buf, 400, PV_MEM_DEVICE, &err), err);
  PV_ASSERT_OK(pv_vk_cmd_begin(&t->cmd, &err), err);
  assert_int_equal(pv_op_add_record(&t->cmd, &op, pv_view(&buf), pv_view(&buf), pv_view(&buf), 101, 1.0f, &err),
                   PAGEDVK_ERR_INVALID);
  /* a misaligned offset is refused before Vulkan sees it */
  assert_int_equal(pv_op_add_record(&t->cmd, &op, pv_view_range(&buf, 4, 40), pv_view(&buf), pv_view(&buf), 10, 1.0f,
                                    &err),
                   t->ctx->caps.min_storage_offset_align > 4 ? PAGEDVK_ERR_INVALID : PAGEDVK_OK);
  PV_ASSERT_OK(pv_vk_cmd_run(&t->cmd, &err), err);
  pv_vk_buffer_destroy(t->ctx, &buf);
  pv_op_add_destroy(t->ctx, &op);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_add_sizes, pv_test_vk_check),
      cmocka_unit_test_teardown(test_add_scaled_offset_inplace, pv_test_vk_check),
      cmocka_unit_test_teardown(test_add_2d_grid, pv_test_vk_check),
      cmocka_unit_test_teardown(test_add_many_dispatches, pv_test_vk_check),
      cmocka_unit_test_teardown(test_add_rejects_short_views, pv_test_vk_check),
  };
  return pv_test_vk_run_clamp_sets("add", tests, PV_ARRAY_LEN(tests));
}
