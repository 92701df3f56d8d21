/*
 * ops' report of its choices (ops->report, what `pagedvk info` prints): pv_ops_init decides the
 * matmul form, the weight reads and the attention kernel once, from the device and the overrides
 * PAGEDVK_MATMUL / PAGEDVK_WEIGHTS / PAGEDVK_ATTN (read through runtime/base/env.h), and the
 * dispatch paths follow that one decision: pv_ops_attn_tile_rows gives tiles only where the report
 * says tiles, and a change of the environment after init changes nothing.
 */
#include "base/env.h"
#include "ops_helpers.h"

/* Attention arguments the lanes/tiles kernels take (texel views present, head size 64). */
static pv_op_attn_args lanes_args(pv_op_pool *pool) {
  *pool = (pv_op_pool){.n_bufs = 1, .block_size = 16, .blocks_per_buf = 4, .n_layer = 1, .n_kv_head = 1,
                       .head_dim = 64, .texels = {(VkBufferView)(uintptr_t)1}};
  pv_op_attn_args a = {.pool = pool, .rows = 1, .n_head = 1, .n_kv_head = 1, .head_dim = 64, .q_stride = 64,
                       .o_stride = 64, .parts = 1};
  a.q.texel = (VkBufferView)(uintptr_t)1;
  a.block_tables.texel = (VkBufferView)(uintptr_t)1;
  return a;
}

static void init_with(pv_test_vk *t, pv_ops *ops, const char *attn, const char *matmul, const char *weights) {
  setenv("PAGEDVK_ATTN", attn, 1);
  setenv("PAGEDVK_MATMUL", matmul, 1);
  setenv("PAGEDVK_WEIGHTS", weights, 1);
  pv_env_reload();
  test_ops_init(t, ops);
  unsetenv("PAGEDVK_ATTN");
  unsetenv("PAGEDVK_MATMUL");
  unsetenv("PAGEDVK_WEIGHTS");
  pv_env_reload();
}

static void test_overrides(void **state) {
  pv_test_vk *t = *state;
  pv_op_pool pool;
  const pv_op_attn_args a = lanes_args(&pool);
  const bool lanes_fit = (uint64_t)pv_ops_simd_lanes(&(pv_ops){.ctx = t->ctx}) * (64 + 2) * 4 <=
                         t->ctx->caps.max_shared_memory;
  pv_ops ops;

  init_with(t, &ops, "tiles", "rows", "texel");
  const pv_ops_report *r = &ops.report;
  assert_int_equal(r->attn, PV_OPS_ATTN_TILES);
  assert_true(r->attn_decode_pairs);
  assert_string_equal(r->attn_shaders[0], "paged_attn_rows");
  assert_string_equal(r->attn_shaders[1], "paged_attn_pairs");
  assert_string_equal(r->attn_shaders[2], "paged_attn_lanes");
  assert_true(r->mm_row_per_invocation && r->weights_texel);
  assert_int_equal(r->mm_rows, ops.mm_rows);
  assert_int_equal(r->mm_ntok, ops.mm_ntok);
  assert_int_equal(r->mm_wg, ops.mm_wg);
  assert_int_equal(r->wg, ops.wg);
  assert_int_equal(r->wg_row, ops.wg_row);
  assert_int_equal(r->simd_lanes, pv_ops_simd_lanes(&ops));
  if (lanes_fit) assert_int_equal(pv_ops_attn_tile_rows(&ops, &a), pv_ops_simd_lanes(&ops) * 4);
  pv_ops_destroy(&ops);

  init_with(t, &ops, "lanes", "coop", "storage");
  assert_int_equal(ops.report.attn, PV_OPS_ATTN_LANES);
  assert_false(ops.report.attn_decode_pairs);
  assert_string_equal(ops.report.attn_shaders[0], "paged_attn_lanes");
  assert_null(ops.report.attn_shaders[1]);
  assert_false(ops.report.mm_row_per_invocation || ops.report.weights_texel);
  assert_int_equal(pv_ops_attn_tile_rows(&ops, &a), 0); /* lanes: no prompt tiles */
  pv_ops_destroy(&ops);

  init_with(t, &ops, "groups", "coop", "storage");
  assert_int_equal(ops.report.attn, PV_OPS_ATTN_GROUPS);
  assert_string_equal(ops.report.attn_shaders[0], "paged_attn");
  assert_int_equal(pv_ops_attn_tile_rows(&ops, &a), 0);
  /* the environment read anew after init does not move the choice */
  setenv("PAGEDVK_ATTN", "tiles", 1);
  pv_env_reload();
  assert_int_equal(pv_ops_attn_tile_rows(&ops, &a), 0);
  unsetenv("PAGEDVK_ATTN");
  pv_env_reload();
  pv_ops_destroy(&ops);
}

/* Without overrides: the CPU-shaped kernels on CPU devices, the GPU-shaped ones elsewhere. */
static void test_defaults(void **state) {
  pv_test_vk *t = *state;
  pv_ops ops;
  test_ops_init(t, &ops);
  const bool cpu = t->ctx->caps.device_type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  assert_int_equal(ops.report.attn, cpu ? PV_OPS_ATTN_TILES : PV_OPS_ATTN_GROUPS);
  assert_int_equal(ops.report.mm_row_per_invocation, cpu);
  assert_int_equal(ops.report.weights_texel, cpu);
  assert_int_equal(ops.attn, ops.report.attn);
  pv_ops_destroy(&ops);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_overrides, pv_test_vk_check),
      cmocka_unit_test_teardown(test_defaults, pv_test_vk_check),
  };
  return cmocka_run_group_tests_name("ops_report", tests, pv_test_vk_setup, pv_test_vk_teardown);
}
