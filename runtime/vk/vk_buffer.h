/*
 * vk_buffer.h — storage buffers and their memory: one VkDeviceMemory per buffer, the memory type
 * chosen by what the buffer is for, and CPU upload/download.
 *
 * Invariants:
 *   - Every buffer is usable as a storage buffer and as a transfer source and destination.
 *   - No allocation exceeds caps.max_allocation_size (an error says so instead of trying).
 *   - `map` is non-NULL exactly when the CPU may read and write the memory in place (host-visible and
 *     host-coherent, mapped for the buffer's whole life); upload/download then use memcpy, otherwise
 *     they go through a staging buffer and the context's transfer command buffer.
 */
#ifndef PV_VK_BUFFER_H
#define PV_VK_BUFFER_H

#include "vk/vk_device.h"

typedef enum pv_vk_memory {
  PV_MEM_DEVICE,   /* device-local: weights, KV cache, activations (mapped too on unified memory) */
  PV_MEM_HOST,     /* host-visible + coherent, mapped: staging, per-step inputs */
  PV_MEM_READBACK, /* host-visible + coherent, mapped, cached when possible: results the CPU reads */
} pv_vk_memory;

typedef struct pv_vk_buffer {
  VkBuffer buffer;
  VkDeviceMemory memory;
  VkDeviceSize size;
  void *map;                    /* CPU address of byte 0, or NULL when not host-accessible */
  VkDeviceAddress address;      /* 0 unless caps.buffer_device_address */
  uint32_t memory_type;         /* index into caps.memory.memoryTypes */
  VkMemoryPropertyFlags flags;  /* of that memory type */
  pv_vk_memory kind;
} pv_vk_buffer;

/* Creates a buffer of `size` bytes (> 0). PAGEDVK_ERR_NO_MEMORY when above the allocation limit or the
 * device is out of memory. On failure *buf is left zeroed. */
int pv_vk_buffer_create(pv_vk_context *ctx, pv_vk_buffer *buf, VkDeviceSize size, pv_vk_memory kind, pv_error *err);
/* Frees the buffer (NULL handles are fine); the GPU must be done with it. */
void pv_vk_buffer_destroy(pv_vk_context *ctx, pv_vk_buffer *buf);

/* Copies `size` bytes from the CPU into the buffer at `offset` (in place or through staging; waits). */
int pv_vk_buffer_upload(pv_vk_context *ctx, pv_vk_buffer *dst, VkDeviceSize offset, const void *src, size_t size,
                        pv_error *err);
/* Copies `size` bytes at `offset` of the buffer to the CPU (in place or through staging; waits). */
int pv_vk_buffer_download(pv_vk_context *ctx, const pv_vk_buffer *src, VkDeviceSize offset, void *dst, size_t size,
                          pv_error *err);

/* Index of a memory type allowed by `type_bits` with all `required` flags, preferring one that also
 * has `preferred`; UINT32_MAX when none. */
uint32_t pv_vk_find_memory_type(const VkPhysicalDeviceMemoryProperties *mem, uint32_t type_bits,
                                VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred);

#endif /* PV_VK_BUFFER_H */
