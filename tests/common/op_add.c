/* op_add.c — push constants, descriptors and grid for tests/shaders/add.comp (op_add.h). */
#include "op_add.h"
#include "pv_test_shader_ids.h"

typedef struct {
  uint32_t n;
  float scale;
} add_push;

int pv_op_add_create(pv_vk_context *ctx, pv_op_add *op, pv_error *err) {
  const pv_vk_caps *caps = &ctx->caps;
  uint32_t wg = 256;
  if (wg > caps->max_workgroup_invocations) wg = caps->max_workgroup_invocations;
  if (wg > caps->max_workgroup_size[0]) wg = caps->max_workgroup_size[0];
  op->workgroup = wg;
  pv_vk_pipeline_desc d = {.shader = &pv_test_shader_blobs[PV_TEST_SHADER_ADD], .binding_count = 3, .push_size = sizeof(add_push)};
  d.spec[d.spec_count++] = (pv_vk_spec){0, wg};
  return pv_vk_pipeline_create(ctx, &d, &op->pipe, err);
}

void pv_op_add_destroy(pv_vk_context *ctx, pv_op_add *op) { pv_vk_pipeline_destroy(ctx, &op->pipe); }

int pv_op_add_record(pv_vk_cmd *cmd, const pv_op_add *op, pv_vk_view a, pv_vk_view b, pv_vk_view c, uint32_t n,
                     float scale, pv_error *err) {
  VkDeviceSize bytes = (VkDeviceSize)n * sizeof(float);
  if (pv_view_size(a) < bytes || pv_view_size(b) < bytes || pv_view_size(c) < bytes)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "add: a view holds fewer than %u floats", n);
  if (n == 0) return PAGEDVK_OK;
  add_push push = {n, scale};
  pv_vk_view views[3] = {a, b, c};
  uint32_t groups[3];
  pv_vk_grid_1d(&cmd->ctx->caps, pv_div_up(n, op->workgroup), groups);
  return pv_vk_cmd_dispatch(cmd, &op->pipe, views, 3, &push, groups, err);
}
