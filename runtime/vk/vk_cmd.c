/*
 * vk_cmd.c — command buffers, descriptor sets per recording, submission with a bounded wait, and
 * timestamp queries (vk_cmd.h).
 *
 * A pv_vk_cmd owns its command pool (one command buffer), fence and descriptor pools; destroy frees
 * them in reverse order after the last submission finished.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/env.h"
#include "base/grow.h"
#include "vk/vk_cmd.h"
#include "vk/vk_error.h"

#define POOL_SETS 256u
#define POOL_DESCRIPTORS 2048u

static uint64_t default_timeout_ns(void) { return (uint64_t)(pv_env_get()->gpu_timeout_s * 1e9); }

/* ---- create / destroy ---- */

static int create_parts(pv_vk_cmd *cmd, pv_error *err) {
  VkDevice dev = cmd->ctx->device;
  VkCommandPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pi.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
  pi.queueFamilyIndex = cmd->ctx->queue_family;
  VkResult r = vkCreateCommandPool(dev, &pi, NULL, &cmd->pool);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkCreateCommandPool");
  VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = cmd->pool;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  if ((r = vkAllocateCommandBuffers(dev, &ai, &cmd->cb)) != VK_SUCCESS)
    return pv_vk_fail(err, r, "vkAllocateCommandBuffers");
  VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  if ((r = vkCreateFence(dev, &fi, NULL, &cmd->fence)) != VK_SUCCESS) return pv_vk_fail(err, r, "vkCreateFence");
  return PAGEDVK_OK;
}

int pv_vk_cmd_create(pv_vk_context *ctx, pv_vk_cmd *cmd, pv_error *err) {
  memset(cmd, 0, sizeof *cmd);
  cmd->ctx = ctx;
  int rc = create_parts(cmd, err);
  if (rc) pv_vk_cmd_destroy(cmd);
  return rc;
}

void pv_vk_cmd_destroy(pv_vk_cmd *cmd) {
  if (!cmd || !cmd->ctx) return;
  VkDevice dev = cmd->ctx->device;
  if (cmd->pending) {
    pv_error err;
    if (pv_vk_cmd_wait(cmd, 0, &err)) {
      pv_log(PV_LOG_ERROR, "%s; leaking the command buffer rather than freeing memory the GPU may use", err.msg);
      return;
    }
  }
  for (uint32_t i = cmd->desc_pool_count; i-- > 0;) vkDestroyDescriptorPool(dev, cmd->desc_pools[i].pool, NULL);
  free(cmd->desc_pools);
  if (cmd->fence) vkDestroyFence(dev, cmd->fence, NULL);
  if (cmd->pool) vkDestroyCommandPool(dev, cmd->pool, NULL); /* frees the command buffer */
  memset(cmd, 0, sizeof *cmd);
}

/* ---- recording ---- */

int pv_vk_cmd_begin(pv_vk_cmd *cmd, pv_error *err) {
  int rc = cmd->pending ? pv_vk_cmd_wait(cmd, 0, err) : PAGEDVK_OK;
  if (rc) return rc;
  VkDevice dev = cmd->ctx->device;
  VkResult r = vkResetCommandPool(dev, cmd->pool, 0);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkResetCommandPool");
  for (uint32_t i = 0; i < cmd->desc_pool_count; i++)
    if ((r = vkResetDescriptorPool(dev, cmd->desc_pools[i].pool, 0)) != VK_SUCCESS)
      return pv_vk_fail(err, r, "vkResetDescriptorPool");
  cmd->desc_pool_current = 0;
  cmd->sets_used = cmd->descriptors_used = 0;
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  if ((r = vkBeginCommandBuffer(cmd->cb, &bi)) != VK_SUCCESS) return pv_vk_fail(err, r, "vkBeginCommandBuffer");
  cmd->recording = true;
  return PAGEDVK_OK;
}

static int add_descriptor_pool(pv_vk_cmd *cmd, uint32_t descriptors, pv_error *err) {
  if (PV_GROW_U32(cmd->desc_pools, cmd->desc_pool_cap, (size_t)cmd->desc_pool_count + 1) != PAGEDVK_OK)
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "out of memory");
  pv_vk_desc_pool *added = &cmd->desc_pools[cmd->desc_pool_count];
  added->size = descriptors;
  /* room for `descriptors` of each type: a set may hold storage and texel buffers */
  VkDescriptorPoolSize size[2] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptors},
                                  {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, descriptors}};
  VkDescriptorPoolCreateInfo info = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  info.maxSets = POOL_SETS;
  info.poolSizeCount = 2;
  info.pPoolSizes = size;
  VkResult r = vkCreateDescriptorPool(cmd->ctx->device, &info, NULL, &added->pool);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkCreateDescriptorPool");
  cmd->desc_pool_count++;
  return PAGEDVK_OK;
}

/* True when the current pool still has room for one set of `descriptors`. */
static bool pool_has_room(const pv_vk_cmd *cmd, uint32_t descriptors) {
  if (cmd->desc_pool_current >= cmd->desc_pool_count) return false;
  return cmd->sets_used < POOL_SETS &&
         cmd->descriptors_used + descriptors <= cmd->desc_pools[cmd->desc_pool_current].size;
}

/* A descriptor set for `pipe`, from the current pool or the next one (created when needed). */
static int allocate_set(pv_vk_cmd *cmd, const pv_vk_pipeline *pipe, VkDescriptorSet *set, pv_error *err) {
  uint32_t need = pipe->descriptor_count;
  if (!pool_has_room(cmd, need)) {
    if (cmd->desc_pool_current < cmd->desc_pool_count) cmd->desc_pool_current++;
    cmd->sets_used = cmd->descriptors_used = 0;
    while (cmd->desc_pool_current < cmd->desc_pool_count && !pool_has_room(cmd, need)) cmd->desc_pool_current++;
    if (cmd->desc_pool_current == cmd->desc_pool_count) {
      int rc = add_descriptor_pool(cmd, need > POOL_DESCRIPTORS ? need : POOL_DESCRIPTORS, err);
      if (rc) return rc;
    }
  }
  VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ai.descriptorPool = cmd->desc_pools[cmd->desc_pool_current].pool;
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &pipe->set_layout;
  VkResult r = vkAllocateDescriptorSets(cmd->ctx->device, &ai, set);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkAllocateDescriptorSets");
  cmd->sets_used++;
  cmd->descriptors_used += need;
  return PAGEDVK_OK;
}

static int check_view(const pv_vk_caps *caps, const pv_vk_pipeline *pipe, uint32_t i, pv_vk_view v, pv_error *err) {
  if (!v.buffer || !v.buffer->buffer) return pv_fail(err, PAGEDVK_ERR_INVALID, "%s: view %u has no buffer", pipe->shader, i);
  VkDeviceSize size = pv_view_size(v);
  if (v.offset % caps->min_storage_offset_align)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "%s: view %u offset %llu is not a multiple of %llu", pipe->shader, i,
                   (unsigned long long)v.offset, (unsigned long long)caps->min_storage_offset_align);
  if (size == 0 || v.offset > v.buffer->size || size > v.buffer->size - v.offset)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "%s: view %u is outside its buffer", pipe->shader, i);
  if (size > caps->max_storage_buffer_range)
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "%s: view %u of %llu bytes is above maxStorageBufferRange %llu",
                   pipe->shader, i, (unsigned long long)size, (unsigned long long)caps->max_storage_buffer_range);
  return PAGEDVK_OK;
}

static void write_set(pv_vk_cmd *cmd, const pv_vk_pipeline *pipe, VkDescriptorSet set, const pv_vk_view *views,
                      VkDescriptorBufferInfo *infos, VkBufferView *texels) {
  VkWriteDescriptorSet writes[PV_MAX_BINDINGS];
  uint32_t k = 0;
  for (uint32_t b = 0; b < pipe->binding_count; b++) {
    writes[b] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[b].dstSet = set;
    writes[b].dstBinding = b;
    writes[b].descriptorCount = pipe->array_sizes[b];
    writes[b].descriptorType =
        pipe->texel[b] ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    if (pipe->texel[b]) writes[b].pTexelBufferView = &texels[k];
    else writes[b].pBufferInfo = &infos[k];
    for (uint32_t j = 0; j < pipe->array_sizes[b]; j++, k++) {
      texels[k] = views[k].texel;
      infos[k] = (VkDescriptorBufferInfo){views[k].buffer->buffer, views[k].offset, pv_view_size(views[k])};
    }
  }
  vkUpdateDescriptorSets(cmd->ctx->device, pipe->binding_count, writes, 0, NULL);
}

int pv_vk_cmd_dispatch(pv_vk_cmd *cmd, const pv_vk_pipeline *pipe, const pv_vk_view *views, uint32_t view_count,
                       const void *push, const uint32_t groups[3], pv_error *err) {
  const pv_vk_caps *caps = &cmd->ctx->caps;
  if (!cmd->recording) return pv_fail(err, PAGEDVK_ERR_INVALID, "%s: dispatch outside begin/submit", pipe->shader);
  if (view_count != pipe->descriptor_count)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "%s: %u buffers given, %u expected", pipe->shader, view_count,
                   pipe->descriptor_count);
  for (int i = 0; i < 3; i++)
    if (groups[i] > caps->max_workgroup_count[i])
      return pv_fail(err, PAGEDVK_ERR_INVALID, "%s: %u workgroups in dimension %d (device allows %u)", pipe->shader,
                     groups[i], i, caps->max_workgroup_count[i]);
  int rc = PAGEDVK_OK;
  for (uint32_t b = 0, i = 0; b < pipe->binding_count && !rc; b++)
    for (uint32_t j = 0; j < pipe->array_sizes[b] && !rc; j++, i++)
      rc = pipe->texel[b] ? (views[i].texel ? PAGEDVK_OK
                                            : pv_fail(err, PAGEDVK_ERR_INVALID, "%s: view %u needs a texel view",
                                                      pipe->shader, i))
                          : check_view(caps, pipe, i, views[i], err);
  VkDescriptorSet set = VK_NULL_HANDLE;
  if (!rc && view_count) rc = allocate_set(cmd, pipe, &set, err);
  if (rc) return rc;
  if (view_count) {
    VkDescriptorBufferInfo infos[PV_MAX_BINDINGS * 8];
    VkBufferView texels[PV_MAX_BINDINGS * 8];
    if (view_count > PV_MAX_BINDINGS * 8) return pv_fail(err, PAGEDVK_ERR_INVALID, "%s: too many buffers", pipe->shader);
    write_set(cmd, pipe, set, views, infos, texels);
  }
  vkCmdBindPipeline(cmd->cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipe->pipeline);
  if (view_count)
    vkCmdBindDescriptorSets(cmd->cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipe->layout, 0, 1, &set, 0, NULL);
  if (pipe->push_size)
    vkCmdPushConstants(cmd->cb, pipe->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, pipe->push_size, push);
  if (groups[0] && groups[1] && groups[2]) vkCmdDispatch(cmd->cb, groups[0], groups[1], groups[2]);
  return PAGEDVK_OK;
}

void pv_vk_cmd_barrier(pv_vk_cmd *cmd, pv_vk_barrier kind) {
  const VkPipelineStageFlags C = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, T = VK_PIPELINE_STAGE_TRANSFER_BIT;
  const VkAccessFlags SW = VK_ACCESS_SHADER_WRITE_BIT, SRW = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
  const VkAccessFlags TW = VK_ACCESS_TRANSFER_WRITE_BIT, TRW = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  VkPipelineStageFlags src = C, dst = C;
  VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  switch (kind) {
    case PV_BARRIER_COMPUTE_TO_COMPUTE: mb.srcAccessMask = SW, mb.dstAccessMask = SRW; break;
    case PV_BARRIER_TRANSFER_TO_COMPUTE: src = T, mb.srcAccessMask = TW, mb.dstAccessMask = SRW; break;
    case PV_BARRIER_COMPUTE_TO_TRANSFER: dst = T, mb.srcAccessMask = SW, mb.dstAccessMask = TRW; break;
    case PV_BARRIER_TRANSFER_TO_TRANSFER: src = dst = T, mb.srcAccessMask = TW, mb.dstAccessMask = TRW; break;
    case PV_BARRIER_TO_HOST:
      src = C | T, dst = VK_PIPELINE_STAGE_HOST_BIT;
      mb.srcAccessMask = SW | TW, mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
      break;
  }
  vkCmdPipelineBarrier(cmd->cb, src, dst, 0, 1, &mb, 0, NULL, 0, NULL);
}

void pv_vk_cmd_copy(pv_vk_cmd *cmd, const pv_vk_buffer *src, VkDeviceSize src_offset, const pv_vk_buffer *dst,
                    VkDeviceSize dst_offset, VkDeviceSize size) {
  VkBufferCopy region = {src_offset, dst_offset, size};
  vkCmdCopyBuffer(cmd->cb, src->buffer, dst->buffer, 1, &region);
}

void pv_vk_cmd_fill(pv_vk_cmd *cmd, const pv_vk_buffer *dst, VkDeviceSize offset, VkDeviceSize size, uint32_t value) {
  vkCmdFillBuffer(cmd->cb, dst->buffer, offset, size, value);
}

void pv_vk_grid_1d(const pv_vk_caps *caps, uint64_t groups, uint32_t out[3]) {
  uint64_t max_x = caps->max_workgroup_count[0];
  uint64_t y = groups <= max_x ? 1 : (groups + max_x - 1) / max_x;
  out[0] = (uint32_t)((groups + y - 1) / y);
  out[1] = (uint32_t)y;
  out[2] = 1;
}

/* ---- submission ---- */

/* Fault injection for the reliability tests: PAGEDVK_FAULT_SUBMIT=N makes the Nth queue submission
 * of the process (counting from 1) and every later one fail with VK_ERROR_DEVICE_LOST, as a lost
 * device does; pv_vk_fault_submit_arm sets N from a test (0 = off). The env is read once. */
static atomic_ullong submit_count;
static atomic_ullong fault_at;
static atomic_int fault_env_read;

void pv_vk_fault_submit_arm(uint64_t nth_from_now) {
  atomic_store(&fault_env_read, 1);
  atomic_store(&fault_at, nth_from_now ? atomic_load(&submit_count) + nth_from_now : 0);
}

uint64_t pv_vk_submit_count(void) { return atomic_load(&submit_count); }

static bool fault_submit(void) {
  if (!atomic_exchange(&fault_env_read, 1)) {
    atomic_store(&fault_at, pv_env_get()->fault_submit);
  }
  unsigned long long n = atomic_fetch_add(&submit_count, 1) + 1;
  unsigned long long at = atomic_load(&fault_at);
  if (!at || n < at) return false;
  if (n == at) fprintf(stderr, "pagedvk: PAGEDVK_FAULT_SUBMIT: submit #%llu fails with VK_ERROR_DEVICE_LOST\n", n);
  return true;
}

int pv_vk_cmd_submit(pv_vk_cmd *cmd, pv_error *err) {
  if (!cmd->recording) return pv_fail(err, PAGEDVK_ERR_INVALID, "submit without begin");
  cmd->recording = false;
  VkDevice dev = cmd->ctx->device;
  VkResult r = vkEndCommandBuffer(cmd->cb);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkEndCommandBuffer");
  if ((r = vkResetFences(dev, 1, &cmd->fence)) != VK_SUCCESS) return pv_vk_fail(err, r, "vkResetFences");
  VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd->cb;
  pthread_mutex_lock(&cmd->ctx->queue_lock);
  r = fault_submit() ? VK_ERROR_DEVICE_LOST : vkQueueSubmit(cmd->ctx->queue, 1, &si, cmd->fence);
  pthread_mutex_unlock(&cmd->ctx->queue_lock);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkQueueSubmit");
  cmd->pending = true;
  return PAGEDVK_OK;
}

int pv_vk_cmd_wait(pv_vk_cmd *cmd, uint64_t timeout_ns, pv_error *err) {
  if (!cmd->pending) return PAGEDVK_OK;
  if (!timeout_ns) timeout_ns = default_timeout_ns();
  VkResult r = vkWaitForFences(cmd->ctx->device, 1, &cmd->fence, VK_TRUE, timeout_ns);
  if (r == VK_TIMEOUT)
    return pv_fail(err, PAGEDVK_ERR_DEVICE_LOST, "GPU work did not finish within %.1f s (PAGEDVK_GPU_TIMEOUT_S)",
                   (double)timeout_ns * 1e-9);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkWaitForFences");
  cmd->pending = false;
  return PAGEDVK_OK;
}

int pv_vk_cmd_run(pv_vk_cmd *cmd, pv_error *err) {
  int rc = pv_vk_cmd_submit(cmd, err);
  if (!rc) rc = pv_vk_cmd_wait(cmd, 0, err);
  return rc;
}

/* ---- timestamps ---- */

int pv_vk_timer_create(pv_vk_context *ctx, pv_vk_timer *t, uint32_t capacity, pv_error *err) {
  memset(t, 0, sizeof *t);
  if (!ctx->caps.timestamps)
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "the compute queue of %s does not write timestamps",
                   ctx->caps.device_name);
  if (capacity == 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "timer with no slots");
  VkQueryPoolCreateInfo info = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
  info.queryType = VK_QUERY_TYPE_TIMESTAMP;
  info.queryCount = capacity;
  VkResult r = vkCreateQueryPool(ctx->device, &info, NULL, &t->pool);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkCreateQueryPool");
  t->ctx = ctx;
  t->capacity = capacity;
  return PAGEDVK_OK;
}

void pv_vk_timer_destroy(pv_vk_timer *t) {
  if (t && t->pool) vkDestroyQueryPool(t->ctx->device, t->pool, NULL);
  if (t) memset(t, 0, sizeof *t);
}

void pv_vk_cmd_timer_reset(pv_vk_cmd *cmd, pv_vk_timer *t) {
  vkCmdResetQueryPool(cmd->cb, t->pool, 0, t->capacity);
  t->used = 0;
}

int pv_vk_cmd_timestamp(pv_vk_cmd *cmd, pv_vk_timer *t, uint32_t *index, pv_error *err) {
  if (t->used >= t->capacity) return pv_fail(err, PAGEDVK_ERR_INVALID, "all %u timestamp slots used", t->capacity);
  vkCmdWriteTimestamp(cmd->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, t->pool, t->used);
  *index = t->used++;
  return PAGEDVK_OK;
}

static int read_ticks(pv_vk_timer *t, uint32_t i, uint64_t *ticks, pv_error *err) {
  if (i >= t->used) return pv_fail(err, PAGEDVK_ERR_INVALID, "timestamp %u was not written", i);
  VkResult r = vkGetQueryPoolResults(t->ctx->device, t->pool, i, 1, sizeof *ticks, ticks, sizeof *ticks,
                                     VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkGetQueryPoolResults");
  return PAGEDVK_OK;
}

int pv_vk_timer_elapsed_ns(pv_vk_timer *t, uint32_t first, uint32_t second, double *ns, pv_error *err) {
  uint64_t a = 0, b = 0;
  int rc = read_ticks(t, first, &a, err);
  if (!rc) rc = read_ticks(t, second, &b, err);
  if (rc) return rc;
  uint32_t bits = t->ctx->caps.timestamp_bits;
  uint64_t mask = bits >= 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
  *ns = (double)((b - a) & mask) * (double)t->ctx->caps.timestamp_period;
  return PAGEDVK_OK;
}

/* ---- texel views ---- */

int pv_vk_texel_view_create(pv_vk_context *ctx, const pv_vk_buffer *buf, VkFormat format, VkDeviceSize offset,
                            VkDeviceSize range, VkBufferView *out, pv_error *err) {
  *out = VK_NULL_HANDLE;
  if (offset % ctx->caps.min_texel_offset_align)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "texel view offset %llu is not a multiple of %llu",
                   (unsigned long long)offset, (unsigned long long)ctx->caps.min_texel_offset_align);
  VkBufferViewCreateInfo info = {.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
  info.buffer = buf->buffer;
  info.format = format;
  info.offset = offset;
  info.range = range;
  VkResult r = vkCreateBufferView(ctx->device, &info, NULL, out);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkCreateBufferView");
  return PAGEDVK_OK;
}

void pv_vk_texel_view_destroy(pv_vk_context *ctx, VkBufferView view) {
  if (view) vkDestroyBufferView(ctx->device, view, NULL);
}
