/*
 * vk_buffer.c — buffer creation with memory-type selection, and CPU upload/download (vk_buffer.h).
 *
 * Staging copies run on the context's transfer command buffer under ctx->transfer_lock, in chunks of
 * at most STAGING_CHUNK bytes so a large upload never needs a large host allocation.
 */
#include <string.h>

#include "vk/vk_buffer.h"
#include "vk/vk_cmd.h"
#include "vk/vk_error.h"

#define STAGING_CHUNK ((VkDeviceSize)16 << 20)
#define HOST_RW (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)

uint32_t pv_vk_find_memory_type(const VkPhysicalDeviceMemoryProperties *mem, uint32_t type_bits,
                                VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred) {
  uint32_t fallback = UINT32_MAX;
  for (uint32_t i = 0; i < mem->memoryTypeCount; i++) {
    VkMemoryPropertyFlags f = mem->memoryTypes[i].propertyFlags;
    if (!(type_bits & (1u << i)) || (f & required) != required) continue;
    if ((f & preferred) == preferred) return i;
    if (fallback == UINT32_MAX) fallback = i;
  }
  return fallback;
}

/* The memory type for a buffer of `kind`, and whether it is mapped. */
static uint32_t choose_type(const pv_vk_caps *caps, uint32_t bits, pv_vk_memory kind, bool *mapped) {
  const VkPhysicalDeviceMemoryProperties *m = &caps->memory;
  uint32_t t = UINT32_MAX;
  *mapped = kind != PV_MEM_DEVICE;
  switch (kind) {
    case PV_MEM_DEVICE:
      if (caps->unified_memory) {
        t = pv_vk_find_memory_type(m, bits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | HOST_RW, 0);
        *mapped = t != UINT32_MAX;
      }
      if (t == UINT32_MAX) t = pv_vk_find_memory_type(m, bits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
      if (t == UINT32_MAX) t = pv_vk_find_memory_type(m, bits, 0, 0);
      return t;
    case PV_MEM_HOST: return pv_vk_find_memory_type(m, bits, HOST_RW, 0);
    case PV_MEM_READBACK: return pv_vk_find_memory_type(m, bits, HOST_RW, VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
  }
  return UINT32_MAX;
}

static int allocate_memory(pv_vk_context *ctx, pv_vk_buffer *buf, pv_error *err) {
  const pv_vk_caps *caps = &ctx->caps;
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(ctx->device, buf->buffer, &req);
  if (req.size > caps->max_allocation_size)
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "buffer of %llu bytes needs %llu, above maxMemoryAllocationSize %llu",
                   (unsigned long long)buf->size, (unsigned long long)req.size,
                   (unsigned long long)caps->max_allocation_size);
  bool mapped = false;
  uint32_t type = choose_type(caps, req.memoryTypeBits, buf->kind, &mapped);
  if (type == UINT32_MAX)
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "no memory type fits a %s buffer",
                   buf->kind == PV_MEM_DEVICE ? "device" : "host-visible");
  VkMemoryAllocateFlagsInfo flags = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO};
  flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;
  VkMemoryAllocateInfo info = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  info.pNext = caps->buffer_device_address ? &flags : NULL;
  info.allocationSize = req.size;
  info.memoryTypeIndex = type;
  VkResult r = vkAllocateMemory(ctx->device, &info, NULL, &buf->memory);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkAllocateMemory");
  buf->memory_type = type;
  buf->flags = caps->memory.memoryTypes[type].propertyFlags;
  if ((r = vkBindBufferMemory(ctx->device, buf->buffer, buf->memory, 0)) != VK_SUCCESS)
    return pv_vk_fail(err, r, "vkBindBufferMemory");
  if (mapped && (r = vkMapMemory(ctx->device, buf->memory, 0, VK_WHOLE_SIZE, 0, &buf->map)) != VK_SUCCESS)
    return pv_vk_fail(err, r, "vkMapMemory");
  return PAGEDVK_OK;
}

static int create_parts(pv_vk_context *ctx, pv_vk_buffer *buf, pv_error *err) {
  VkBufferCreateInfo info = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = buf->size;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
               VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  if (ctx->caps.buffer_device_address) info.usage |= VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkResult r = vkCreateBuffer(ctx->device, &info, NULL, &buf->buffer);
  if (r != VK_SUCCESS) return pv_vk_fail(err, r, "vkCreateBuffer");
  int rc = allocate_memory(ctx, buf, err);
  if (rc) return rc;
  if (ctx->caps.buffer_device_address) {
    VkBufferDeviceAddressInfo ai = {.sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO};
    ai.buffer = buf->buffer;
    buf->address = vkGetBufferDeviceAddress(ctx->device, &ai);
  }
  return PAGEDVK_OK;
}

int pv_vk_buffer_create(pv_vk_context *ctx, pv_vk_buffer *buf, VkDeviceSize size, pv_vk_memory kind, pv_error *err) {
  memset(buf, 0, sizeof *buf);
  if (size == 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "buffer of 0 bytes");
  if (size > ctx->caps.max_allocation_size)
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "buffer of %llu bytes is above maxMemoryAllocationSize %llu",
                   (unsigned long long)size, (unsigned long long)ctx->caps.max_allocation_size);
  buf->size = size;
  buf->kind = kind;
  int rc = create_parts(ctx, buf, err);
  if (rc) pv_vk_buffer_destroy(ctx, buf);
  return rc;
}

void pv_vk_buffer_destroy(pv_vk_context *ctx, pv_vk_buffer *buf) {
  if (!buf) return;
  if (buf->map) vkUnmapMemory(ctx->device, buf->memory);
  if (buf->buffer) vkDestroyBuffer(ctx->device, buf->buffer, NULL);
  if (buf->memory) vkFreeMemory(ctx->device, buf->memory, NULL);
  memset(buf, 0, sizeof *buf);
}

static int check_range(const pv_vk_buffer *buf, VkDeviceSize offset, size_t size, pv_error *err) {
  if (offset > buf->size || size > buf->size - offset)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "range [%llu, +%zu) outside a buffer of %llu bytes",
                   (unsigned long long)offset, size, (unsigned long long)buf->size);
  return PAGEDVK_OK;
}

/* One staged copy between `buf` and a staging buffer, on the transfer command buffer. */
static int staged_copy(pv_vk_context *ctx, const pv_vk_buffer *src, VkDeviceSize src_off, const pv_vk_buffer *dst,
                       VkDeviceSize dst_off, VkDeviceSize size, pv_error *err) {
  pv_vk_cmd *cmd = ctx->transfer;
  int rc = pv_vk_cmd_begin(cmd, err);
  if (rc) return rc;
  pv_vk_cmd_copy(cmd, src, src_off, dst, dst_off, size);
  pv_vk_cmd_barrier(cmd, PV_BARRIER_TO_HOST);
  return pv_vk_cmd_run(cmd, err);
}

/* Upload (to_gpu) or download through staging, chunk by chunk. */
static int staged_transfer(pv_vk_context *ctx, const pv_vk_buffer *buf, VkDeviceSize offset, void *host, size_t size,
                           bool to_gpu, pv_error *err) {
  VkDeviceSize chunk = size < STAGING_CHUNK ? size : STAGING_CHUNK;
  pv_vk_buffer staging;
  int rc = pv_vk_buffer_create(ctx, &staging, chunk, to_gpu ? PV_MEM_HOST : PV_MEM_READBACK, err);
  if (rc) return rc;
  pthread_mutex_lock(&ctx->transfer_lock);
  for (size_t done = 0; done < size && !rc; done += chunk) {
    VkDeviceSize n = size - done < chunk ? size - done : chunk;
    if (to_gpu) {
      memcpy(staging.map, (const char *)host + done, n);
      rc = staged_copy(ctx, &staging, 0, buf, offset + done, n, err);
    } else {
      rc = staged_copy(ctx, buf, offset + done, &staging, 0, n, err);
      if (!rc) memcpy((char *)host + done, staging.map, n);
    }
  }
  pthread_mutex_unlock(&ctx->transfer_lock);
  pv_vk_buffer_destroy(ctx, &staging);
  if (!rc) atomic_fetch_add(to_gpu ? &ctx->staged_upload_bytes : &ctx->staged_download_bytes, size);
  return rc;
}

int pv_vk_buffer_upload(pv_vk_context *ctx, pv_vk_buffer *dst, VkDeviceSize offset, const void *src, size_t size,
                        pv_error *err) {
  int rc = check_range(dst, offset, size, err);
  if (rc || size == 0) return rc;
  if (dst->map) {
    memcpy((char *)dst->map + offset, src, size);
    return PAGEDVK_OK;
  }
  return staged_transfer(ctx, dst, offset, (void *)src, size, true, err);
}

int pv_vk_buffer_download(pv_vk_context *ctx, const pv_vk_buffer *src, VkDeviceSize offset, void *dst, size_t size,
                          pv_error *err) {
  int rc = check_range(src, offset, size, err);
  if (rc || size == 0) return rc;
  if (src->map) {
    memcpy(dst, (const char *)src->map + offset, size);
    return PAGEDVK_OK;
  }
  return staged_transfer(ctx, src, offset, dst, size, false, err);
}
