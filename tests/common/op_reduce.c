/* op_reduce.c — variant, workgroup size and the two dispatches of tests/shaders/reduce_sum.comp (op_reduce.h). */
#include "op_reduce.h"
#include "pv_test_shader_ids.h"

static uint32_t pick_workgroup(const pv_vk_caps *caps) {
  uint32_t limit = caps->max_workgroup_invocations;
  if (limit > caps->max_workgroup_size[0]) limit = caps->max_workgroup_size[0];
  if (limit > caps->max_shared_memory / sizeof(float)) limit = caps->max_shared_memory / sizeof(float);
  uint32_t wg = 1;
  while (wg * 2 <= limit && wg < 256) wg *= 2;
  return wg;
}

int pv_op_reduce_create(pv_vk_context *ctx, pv_op_reduce *op, pv_error *err) {
  op->variant = pv_vk_shader_variant(&ctx->caps, &pv_test_shaders, PV_TEST_SHADER_REDUCE_SUM);
  if (!op->variant) return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "no reduce_sum variant fits %s", ctx->caps.device_name);
  op->workgroup = pick_workgroup(&ctx->caps);
  pv_vk_pipeline_desc d = {.shader = op->variant, .binding_count = 2, .push_size = sizeof(uint32_t)};
  d.spec[d.spec_count++] = (pv_vk_spec){0, op->workgroup};
  return pv_vk_pipeline_create(ctx, &d, &op->pipe, err);
}

void pv_op_reduce_destroy(pv_vk_context *ctx, pv_op_reduce *op) { pv_vk_pipeline_destroy(ctx, &op->pipe); }

static uint32_t group_count(const pv_op_reduce *op, uint32_t n) {
  uint32_t g = pv_div_up(n, op->workgroup);
  if (g > PV_REDUCE_MAX_GROUPS) g = PV_REDUCE_MAX_GROUPS;
  return g ? g : 1;
}

VkDeviceSize pv_op_reduce_scratch_bytes(const pv_op_reduce *op, uint32_t n) {
  return (VkDeviceSize)group_count(op, n) * sizeof(float);
}

static int pass(pv_vk_cmd *cmd, const pv_op_reduce *op, pv_vk_view in, uint32_t n, pv_vk_view out, uint32_t groups,
                pv_error *err) {
  pv_vk_view views[2] = {in, out};
  uint32_t grid[3] = {groups, 1, 1};
  return pv_vk_cmd_dispatch(cmd, &op->pipe, views, 2, &n, grid, err);
}

int pv_op_reduce_sum_record(pv_vk_cmd *cmd, const pv_op_reduce *op, pv_vk_view in, uint32_t n, pv_vk_view scratch,
                            pv_vk_view out, pv_error *err) {
  uint32_t groups = group_count(op, n);
  if (pv_view_size(in) < (VkDeviceSize)n * sizeof(float) || pv_view_size(out) < sizeof(float))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "reduce_sum: input holds fewer than %u floats or no output", n);
  if (groups == 1) return pass(cmd, op, in, n, out, 1, err);
  if (pv_view_size(scratch) < pv_op_reduce_scratch_bytes(op, n))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "reduce_sum: scratch below %llu bytes",
                   (unsigned long long)pv_op_reduce_scratch_bytes(op, n));
  int rc = pass(cmd, op, in, n, scratch, groups, err);
  if (rc) return rc;
  pv_vk_cmd_barrier(cmd, PV_BARRIER_COMPUTE_TO_COMPUTE);
  return pass(cmd, op, scratch, groups, out, 1, err);
}
