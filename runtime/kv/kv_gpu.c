/* kv_gpu.c — the pool's buffers and block copies (see kv_gpu.h). */
#include <string.h>

#include "kv/kv_gpu.h"

uint64_t pv_kv_block_bytes(const pv_kv_geometry *g) {
  const uint64_t elems = (uint64_t)g->n_layer * 2 * g->n_kv_head * g->block_size * g->head_dim;
  if (!g->q8) return elems * (g->f32 ? 4 : 2);
  /* q8_0: the quants, then ceil(head_dim / 64) scale words per head row, padded to 16 bytes */
  const uint64_t rows = (uint64_t)g->n_layer * 2 * g->n_kv_head * g->block_size;
  const uint64_t words = elems / 4 + rows * ((g->head_dim + 63) / 64);
  return (words + 3) / 4 * 16;
}

static uint64_t buffer_limit(const pv_vk_context *ctx) {
  uint64_t a = ctx->caps.max_storage_buffer_range, b = ctx->caps.max_allocation_size;
  return a < b ? a : b;
}

uint64_t pv_kv_gpu_max_blocks(const pv_vk_context *ctx, const pv_kv_geometry *g) {
  return buffer_limit(ctx) / pv_kv_block_bytes(g) * PV_KV_POOL_MAX_BUFS;
}

int pv_kv_gpu_create(pv_kv_gpu *kv, pv_vk_context *ctx, const pv_kv_geometry *g, uint32_t n_blocks,
                     uint32_t n_swap_blocks, pv_error *err) {
  memset(kv, 0, sizeof *kv);
  kv->ctx = ctx;
  kv->geom = *g;
  kv->block_bytes = pv_kv_block_bytes(g);
  kv->n_blocks = n_blocks;
  if (n_blocks == 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: the pool needs at least one block");
  if (g->head_dim % 2) return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "kv: head size %u is odd", g->head_dim);
  if (g->q8 && g->head_dim % 32)
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED,
                   "kv: --kv-type q8_0 needs a head size that is a multiple of 32 (quant blocks of 32), this "
                   "model's is %u; use --kv-type f16", g->head_dim);
  uint64_t per_buf = buffer_limit(ctx) / kv->block_bytes;
  if (per_buf == 0)
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "kv: one block (%llu bytes) exceeds the device's buffer range",
                   (unsigned long long)kv->block_bytes);
  kv->blocks_per_buf = per_buf < n_blocks ? (uint32_t)per_buf : n_blocks;
  uint32_t n_bufs = (n_blocks + kv->blocks_per_buf - 1) / kv->blocks_per_buf;
  if (n_bufs > PV_KV_POOL_MAX_BUFS)
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY,
                   "kv: %u blocks need %u buffers on this device, at most %u are bound; use a smaller --kv-mem "
                   "(at most %llu MiB)",
                   n_blocks, n_bufs, PV_KV_POOL_MAX_BUFS,
                   (unsigned long long)(pv_kv_gpu_max_blocks(ctx, g) * kv->block_bytes >> 20));
  for (uint32_t i = 0; i < n_bufs; i++) {
    uint32_t blocks = i + 1 < n_bufs ? kv->blocks_per_buf : n_blocks - i * kv->blocks_per_buf;
    int rc = pv_vk_buffer_create(ctx, &kv->bufs[i], blocks * kv->block_bytes, PV_MEM_DEVICE, err);
    if (rc) {
      pv_fail(err, rc, "kv: could not allocate %llu MiB for the KV pool (%s); try a smaller --kv-mem",
              (unsigned long long)(n_blocks * kv->block_bytes >> 20), err ? err->msg : "");
      pv_kv_gpu_destroy(kv);
      return rc;
    }
    kv->n_bufs = i + 1;
    /* 16-byte texels: one fetch reads 8 f16 (4 f32, 16 q8_0) elements of a head's row */
    uint64_t range = kv->bufs[i].size & ~(uint64_t)15;
    if (range / 16 <= ctx->caps.max_texel_elements &&
        pv_vk_texel_view_create(ctx, &kv->bufs[i], VK_FORMAT_R32G32B32A32_UINT, 0, range, &kv->texels[i], NULL))
      kv->texels[i] = VK_NULL_HANDLE;
  }
  kv->n_swap_blocks = n_swap_blocks;
  if (n_swap_blocks) {
    int rc = pv_vk_buffer_create(ctx, &kv->swap, (uint64_t)n_swap_blocks * kv->block_bytes, PV_MEM_HOST, err);
    if (rc) {
      pv_kv_gpu_destroy(kv);
      return rc;
    }
  }
  return PAGEDVK_OK;
}

void pv_kv_gpu_destroy(pv_kv_gpu *kv) {
  for (uint32_t i = 0; i < kv->n_bufs; i++) {
    pv_vk_texel_view_destroy(kv->ctx, kv->texels[i]);
    kv->texels[i] = VK_NULL_HANDLE;
    pv_vk_buffer_destroy(kv->ctx, &kv->bufs[i]);
  }
  if (kv->swap.buffer) pv_vk_buffer_destroy(kv->ctx, &kv->swap);
  kv->n_bufs = 0;
}

static const pv_vk_buffer *locate(const pv_kv_gpu *kv, uint32_t block, VkDeviceSize *offset) {
  *offset = (VkDeviceSize)(block % kv->blocks_per_buf) * kv->block_bytes;
  return &kv->bufs[block / kv->blocks_per_buf];
}

void pv_kv_gpu_copy_block(pv_kv_gpu *kv, pv_vk_cmd *cmd, uint32_t src, uint32_t dst) {
  VkDeviceSize so, d_o;
  const pv_vk_buffer *sb = locate(kv, src, &so), *db = locate(kv, dst, &d_o);
  pv_vk_cmd_copy(cmd, sb, so, db, d_o, kv->block_bytes);
}

void pv_kv_gpu_swap_out(pv_kv_gpu *kv, pv_vk_cmd *cmd, uint32_t block, uint32_t slot) {
  VkDeviceSize so;
  const pv_vk_buffer *sb = locate(kv, block, &so);
  pv_vk_cmd_copy(cmd, sb, so, &kv->swap, (VkDeviceSize)slot * kv->block_bytes, kv->block_bytes);
}

void pv_kv_gpu_swap_in(pv_kv_gpu *kv, pv_vk_cmd *cmd, uint32_t slot, uint32_t block) {
  VkDeviceSize d_o;
  const pv_vk_buffer *db = locate(kv, block, &d_o);
  pv_vk_cmd_copy(cmd, &kv->swap, (VkDeviceSize)slot * kv->block_bytes, db, d_o, kv->block_bytes);
}
