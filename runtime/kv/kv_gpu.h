/*
 * kv_gpu.h — the device memory behind the KV block pool, and the copies the block manager asks
 * for (copy-on-write, swap out, swap in). Block ids come from the block manager; this file only
 * knows where a block's bytes are.
 *
 * Layout (shared with shaders/kv_pool.glsl): blocks are spread over up to PV_KV_POOL_MAX_BUFS
 * buffers, each no larger than maxStorageBufferRange and maxMemoryAllocationSize; block b lives in
 * buffer b / blocks_per_buf at local index b % blocks_per_buf, and one block is one contiguous
 * region holding the geometry's n_layer layers (every layer, or the layers_per_block of a layer
 * group, kv_layout.h): [layer][K, V][kv head][token][head dim], f16 (or f32). A q8_0 block holds
 * those elements as int8 (four to a word), then [layer][K, V][kv head][token] rows of
 * ceil(head_dim / 64) words, each two f16 scales (one per 32 elements of the head row), the
 * whole padded to 16 bytes: shaders/kv_pool.glsl writes it out.
 * The host swap space is one host-visible buffer of n_swap_blocks block-sized slots.
 */
#ifndef PV_KV_GPU_H
#define PV_KV_GPU_H

#include "vk/vk_cmd.h"

#define PV_KV_POOL_MAX_BUFS 8

typedef struct pv_kv_geometry {
  uint32_t block_size;
  uint32_t n_layer;
  uint32_t n_kv_head;
  uint32_t head_dim;
  bool f32;
  bool q8; /* q8_0 blocks (f32 ignored); head_dim a multiple of 32 */
} pv_kv_geometry;

typedef struct pv_kv_gpu {
  pv_vk_context *ctx;
  pv_kv_geometry geom;
  uint64_t block_bytes;
  uint32_t n_blocks;
  uint32_t blocks_per_buf;
  pv_vk_buffer bufs[PV_KV_POOL_MAX_BUFS];
  VkBufferView texels[PV_KV_POOL_MAX_BUFS]; /* RGBA32_UINT views, when the device's texel limits allow */
  uint32_t n_bufs;
  pv_vk_buffer swap;
  uint32_t n_swap_blocks;
} pv_kv_gpu;

uint64_t pv_kv_block_bytes(const pv_kv_geometry *g);

/* Creates a pool of n_blocks blocks (spanning buffers as the device's limits require) and a host
 * swap space of n_swap_blocks. Fails with a clear message when the device cannot hold it. */
int pv_kv_gpu_create(pv_kv_gpu *kv, pv_vk_context *ctx, const pv_kv_geometry *g, uint32_t n_blocks,
                     uint32_t n_swap_blocks, pv_error *err);
void pv_kv_gpu_destroy(pv_kv_gpu *kv);

/* Most blocks the pool can span with this device's buffer limits. */
uint64_t pv_kv_gpu_max_blocks(const pv_vk_context *ctx, const pv_kv_geometry *g);

/* Records block copies (transfer commands). The caller adds the transfer→compute barrier. */
void pv_kv_gpu_copy_block(pv_kv_gpu *kv, pv_vk_cmd *cmd, uint32_t src, uint32_t dst);
void pv_kv_gpu_swap_out(pv_kv_gpu *kv, pv_vk_cmd *cmd, uint32_t block, uint32_t slot);
void pv_kv_gpu_swap_in(pv_kv_gpu *kv, pv_vk_cmd *cmd, uint32_t slot, uint32_t block);

#endif
