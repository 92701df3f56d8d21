/*
 * op_reduce.h — wrapper of tests/shaders/reduce_sum.comp (a test-only kernel): the sum of n f32 values into one float.
 *
 * Two dispatches: G workgroups write G partial sums to a scratch buffer, then one workgroup adds them.
 * The variant (reduce_sum with subgroup ops, or reduce_sum_nosg) is chosen from the caps; the
 * workgroup size is a power of two that fits the caps' invocation and shared-memory limits.
 * Recording only: the caller begins, barriers after, and submits.
 */
#ifndef PV_OP_REDUCE_H
#define PV_OP_REDUCE_H

#include "vk/vk_cmd.h"

#define PV_REDUCE_MAX_GROUPS 1024u

typedef struct pv_op_reduce {
  pv_vk_pipeline pipe;
  uint32_t workgroup;
  const pv_shader_blob *variant; /* the shader in use (reduce_sum or reduce_sum_nosg) */
} pv_op_reduce;

int pv_op_reduce_create(pv_vk_context *ctx, pv_op_reduce *op, pv_error *err);
void pv_op_reduce_destroy(pv_vk_context *ctx, pv_op_reduce *op);

/* Bytes of scratch pv_op_reduce_sum_record needs for n values. */
VkDeviceSize pv_op_reduce_scratch_bytes(const pv_op_reduce *op, uint32_t n);

/* Records out[0] = sum(in[0..n)). `scratch` holds pv_op_reduce_scratch_bytes; n = 0 gives 0. */
int pv_op_reduce_sum_record(pv_vk_cmd *cmd, const pv_op_reduce *op, pv_vk_view in, uint32_t n, pv_vk_view scratch,
                            pv_vk_view out, pv_error *err);

#endif /* PV_OP_REDUCE_H */
