/*
 * ops_helpers.h — shared by the kernel tests in tests/ops: device buffers filled from host arrays,
 * read back, an ops cache per test, and the weight types every weight kernel must handle.
 * Header-only: every tests/ops/test_*.c is its own executable.
 */
#ifndef PV_TEST_OPS_HELPERS_H
#define PV_TEST_OPS_HELPERS_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "devkit/quantize.h"
#include "gguf/dtype.h"
#include "gguf/quant.h"
#include "model/ref.h"
#include "ops/ops.h"
#include "vk_fixture.h"

/* The weight types with kernels (GPU 1 in runtime/gguf/wtypes.def), each with a quantizer and a
 * dequantizer: every weight kernel test covers a type added to the table. */
#define PV_TEST_GPU_1(E) PV_##E,
#define PV_TEST_GPU_0(E)
static const pv_dtype PV_TEST_WEIGHT_TYPES[] = {
#define PV_WTYPE(E, ID, SUFFIX, BLOCK_ELEMS, BLOCK_BYTES, CPU, GPU) PV_TEST_GPU_##GPU(E)
#include "gguf/wtypes.def"
#undef PV_WTYPE
};
#define PV_TEST_N_WEIGHT_TYPES (sizeof PV_TEST_WEIGHT_TYPES / sizeof PV_TEST_WEIGHT_TYPES[0])

static inline uint32_t test_block_elems(pv_dtype type) { return pv_dtype_get((uint32_t)type)->block_elems >= 256 ? 256 : 32; }

static inline uint64_t test_row_bytes(pv_dtype type, uint64_t k) {
  uint64_t b = 0;
  assert_true(pv_dtype_row_bytes(type, k, &b));
  return b;
}

/* A device buffer of `bytes` rounded up to whole 32-bit words (the kernels read words), holding
 * `data` at `offset` (the rest zero). */
static inline void test_buffer(pv_test_vk *t, pv_vk_buffer *b, size_t bytes, const void *data, size_t data_bytes,
                               size_t offset) {
  pv_error err = {0};
  size_t size = bytes < 4 ? 4 : (bytes + 3) & ~(size_t)3;
  PV_ASSERT_OK(pv_vk_buffer_create(t->ctx, b, size, PV_MEM_DEVICE, &err), err);
  void *zero = calloc(1, size);
  assert_non_null(zero);
  if (data) memcpy((char *)zero + offset, data, data_bytes);
  PV_ASSERT_OK(pv_vk_buffer_upload(t->ctx, b, 0, zero, size, &err), err);
  free(zero);
}

static inline void test_download(pv_test_vk *t, const pv_vk_buffer *b, void *dst, size_t bytes) {
  pv_error err = {0};
  PV_ASSERT_OK(pv_vk_buffer_download(t->ctx, b, 0, dst, bytes, &err), err);
}

/* Ends a recording with a host barrier and runs it. */
static inline void test_run(pv_test_vk *t) {
  pv_error err = {0};
  pv_vk_cmd_barrier(&t->cmd, PV_BARRIER_TO_HOST);
  PV_ASSERT_OK(pv_vk_cmd_run(&t->cmd, &err), err);
}

static inline void test_ops_init(pv_test_vk *t, pv_ops *ops) {
  pv_error err = {0};
  PV_ASSERT_OK(pv_ops_init(ops, t->ctx, &err), err);
}

/* Deterministic uniform integers in [0, n). */
static inline uint32_t test_rand_below(uint64_t *s, uint32_t n) {
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return (uint32_t)((*s >> 11) % n);
}

/* The per-step row record of shaders/step.glsl. */
typedef struct test_token_info {
  uint32_t token, pos, seq, slot;
} test_token_info;

#endif /* PV_TEST_OPS_HELPERS_H */
