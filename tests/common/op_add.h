/*
 * op_add.h — wrapper of tests/shaders/add.comp (a test-only kernel): c[i] = a[i] + scale * b[i] over n f32 values.
 *
 * Owns the pipeline (3 storage buffers, push constants {n, scale}, workgroup size as specialization
 * constant 0 chosen from the caps). Recording only: the caller begins, barriers and submits.
 */
#ifndef PV_OP_ADD_H
#define PV_OP_ADD_H

#include "vk/vk_cmd.h"

typedef struct pv_op_add {
  pv_vk_pipeline pipe;
  uint32_t workgroup; /* invocations per workgroup */
} pv_op_add;

int pv_op_add_create(pv_vk_context *ctx, pv_op_add *op, pv_error *err);
void pv_op_add_destroy(pv_vk_context *ctx, pv_op_add *op);

/* Records c = a + scale * b for n elements; each view must hold at least n floats. c may be a. */
int pv_op_add_record(pv_vk_cmd *cmd, const pv_op_add *op, pv_vk_view a, pv_vk_view b, pv_vk_view c, uint32_t n,
                     float scale, pv_error *err);

#endif /* PV_OP_ADD_H */
