/*
 * vk_cmd.h — recording and submitting compute work: a command buffer with its fence and descriptor
 * pools, dispatches, barriers, copies, fills, and timestamp queries.
 *
 * Life of a pv_vk_cmd: begin → record (dispatch / barrier / copy / fill / timestamp) → submit → wait,
 * then begin again. Begin waits for the previous submission and resets the command pool and every
 * descriptor pool: a descriptor set lives for one recording, which works on any Vulkan 1.2 device
 * (no push descriptors, no update-after-bind). Pools are added when one runs out; usage is counted
 * here rather than trusting the driver to report exhaustion (some allocate past maxSets).
 *
 * Invariants:
 *   - Waiting never hangs: a fence that does not signal within the timeout (PAGEDVK_GPU_TIMEOUT_S,
 *     default 120 s) or VK_ERROR_DEVICE_LOST gives PAGEDVK_ERR_DEVICE_LOST.
 *   - One pv_vk_cmd is used by one thread at a time; the queue is shared and locked by the context.
 */
#ifndef PV_VK_CMD_H
#define PV_VK_CMD_H

#include "vk/vk_buffer.h"
#include "vk/vk_pipeline.h"

/* A range of a buffer bound to a shader (offset: multiple of caps.min_storage_offset_align). */
typedef struct pv_vk_view {
  const pv_vk_buffer *buffer;
  VkDeviceSize offset;
  VkDeviceSize range; /* 0: from offset to the end */
  VkBufferView texel; /* for a binding declared as a uniform texel buffer (pv_vk_texel_view_create) */
} pv_vk_view;

/* A view of a buffer as a uniform texel buffer of `format` (e.g. VK_FORMAT_R32G32B32A32_UINT):
 * shaders read it with texelFetch, which some drivers (lavapipe) vectorize far better than
 * storage-buffer loads. offset must be a multiple of minTexelBufferOffsetAlignment and the range
 * at most maxTexelBufferElements texels. */
int pv_vk_texel_view_create(pv_vk_context *ctx, const pv_vk_buffer *buf, VkFormat format, VkDeviceSize offset,
                            VkDeviceSize range, VkBufferView *out, pv_error *err);
void pv_vk_texel_view_destroy(pv_vk_context *ctx, VkBufferView view);

static inline pv_vk_view pv_view(const pv_vk_buffer *b) { return (pv_vk_view){b, 0, 0, VK_NULL_HANDLE}; }
static inline pv_vk_view pv_view_range(const pv_vk_buffer *b, VkDeviceSize offset, VkDeviceSize range) {
  return (pv_vk_view){b, offset, range, VK_NULL_HANDLE};
}
/* Bytes the view covers. */
static inline VkDeviceSize pv_view_size(pv_vk_view v) {
  return v.range ? v.range : (v.buffer && v.buffer->size > v.offset ? v.buffer->size - v.offset : 0);
}

typedef struct pv_vk_desc_pool {
  VkDescriptorPool pool;
  uint32_t size; /* descriptors of each type the pool holds */
} pv_vk_desc_pool;

typedef struct pv_vk_cmd {
  pv_vk_context *ctx;
  VkCommandPool pool;
  VkCommandBuffer cb;
  VkFence fence;
  pv_vk_desc_pool *desc_pools;
  uint32_t desc_pool_count, desc_pool_cap;
  uint32_t desc_pool_current;
  uint32_t sets_used, descriptors_used; /* in the current pool, since begin */
  bool recording; /* between begin and submit */
  bool pending;   /* submitted, fence not yet waited on */
} pv_vk_cmd;

typedef enum pv_vk_barrier {
  PV_BARRIER_COMPUTE_TO_COMPUTE,   /* shader writes → shader reads/writes */
  PV_BARRIER_TRANSFER_TO_COMPUTE,  /* copy/fill → shader */
  PV_BARRIER_COMPUTE_TO_TRANSFER,  /* shader writes → copy */
  PV_BARRIER_TRANSFER_TO_TRANSFER, /* copy/fill → copy/fill */
  PV_BARRIER_TO_HOST,              /* shader or copy writes → CPU reads after the fence */
} pv_vk_barrier;

int pv_vk_cmd_create(pv_vk_context *ctx, pv_vk_cmd *cmd, pv_error *err);
/* Waits (bounded) for pending work, then frees. Accepts a partly created or zeroed cmd. */
void pv_vk_cmd_destroy(pv_vk_cmd *cmd);

/* Waits for the previous submission, resets, and starts recording. */
int pv_vk_cmd_begin(pv_vk_cmd *cmd, pv_error *err);

/* Binds `pipe`, a fresh descriptor set with `views` (pipe->descriptor_count of them, binding by
 * binding, array elements in order), `push` (pipe->push_size bytes), and dispatches `groups`. */
int pv_vk_cmd_dispatch(pv_vk_cmd *cmd, const pv_vk_pipeline *pipe, const pv_vk_view *views, uint32_t view_count,
                       const void *push, const uint32_t groups[3], pv_error *err);
void pv_vk_cmd_barrier(pv_vk_cmd *cmd, pv_vk_barrier kind);
void pv_vk_cmd_copy(pv_vk_cmd *cmd, const pv_vk_buffer *src, VkDeviceSize src_offset, const pv_vk_buffer *dst,
                    VkDeviceSize dst_offset, VkDeviceSize size);
/* Fills `size` bytes (a multiple of 4, or VK_WHOLE_SIZE) at `offset` (multiple of 4) with `value`. */
void pv_vk_cmd_fill(pv_vk_cmd *cmd, const pv_vk_buffer *dst, VkDeviceSize offset, VkDeviceSize size, uint32_t value);

/* Ends recording and submits with the fence. */
int pv_vk_cmd_submit(pv_vk_cmd *cmd, pv_error *err);
/* Fault injection (tests): the nth submission from now on and every later one fail with
 * VK_ERROR_DEVICE_LOST (0 disarms). Env PAGEDVK_FAULT_SUBMIT=N does the same, counted from the
 * process's first submission. pv_vk_submit_count: submissions so far in the process. */
void pv_vk_fault_submit_arm(uint64_t nth_from_now);
uint64_t pv_vk_submit_count(void);
/* Waits for the submission, at most `timeout_ns` (0: the default timeout). */
int pv_vk_cmd_wait(pv_vk_cmd *cmd, uint64_t timeout_ns, pv_error *err);
/* Submit, then wait with the default timeout. */
int pv_vk_cmd_run(pv_vk_cmd *cmd, pv_error *err);

/* Splits `groups` workgroups over x and y so that neither exceeds caps.max_workgroup_count; the shader
 * computes its linear group as gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x and must
 * check bounds (the grid may hold a few more groups than asked). */
void pv_vk_grid_1d(const pv_vk_caps *caps, uint64_t groups, uint32_t out[3]);

/* ---- timestamps ---- */

typedef struct pv_vk_timer {
  pv_vk_context *ctx;
  VkQueryPool pool;
  uint32_t capacity;
  uint32_t used; /* timestamps written since the last reset */
} pv_vk_timer;

/* PAGEDVK_ERR_UNSUPPORTED when the compute queue cannot write timestamps (caps.timestamps). */
int pv_vk_timer_create(pv_vk_context *ctx, pv_vk_timer *t, uint32_t capacity, pv_error *err);
void pv_vk_timer_destroy(pv_vk_timer *t);
/* Records the reset of every query (do it before the first timestamp of a recording). */
void pv_vk_cmd_timer_reset(pv_vk_cmd *cmd, pv_vk_timer *t);
/* Records a timestamp taken when all previous commands have completed; *index is its slot. */
int pv_vk_cmd_timestamp(pv_vk_cmd *cmd, pv_vk_timer *t, uint32_t *index, pv_error *err);
/* After the command buffer finished: nanoseconds between timestamps `first` and `second`. */
int pv_vk_timer_elapsed_ns(pv_vk_timer *t, uint32_t first, uint32_t second, double *ns, pv_error *err);

#endif /* PV_VK_CMD_H */
