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

/* A matrix of n rows (bytes q, rb bytes per row) split as the engine splits one larger than a
 * binding: parts of `rows` rows each (the last fewer), each in its own buffer (padded to whole
 * 16-byte texels) with an RGBA32_UINT texel view when `texel`. *w becomes the whole, pointing at
 * parts; returns the part count (at most max_parts). Free with test_split_free. */
static inline uint32_t test_split_weight(pv_test_vk *t, pv_op_weight *w, pv_op_weight *parts, pv_vk_buffer *bufs,
                                         uint32_t max_parts, const void *q, uint64_t rb, uint32_t rows, bool texel) {
  pv_error err = {0};
  uint32_t n_parts = 0;
  for (uint32_t r = 0; r < w->n; r += rows, n_parts++) {
    assert_true(n_parts < max_parts);
    const uint32_t nr = w->n - r < rows ? w->n - r : rows;
    test_buffer(t, &bufs[n_parts], (rb * nr + 15) & ~(uint64_t)15, (const uint8_t *)q + rb * r, rb * nr, 0);
    parts[n_parts] = (pv_op_weight){.buf = &bufs[n_parts], .type = w->type, .k = w->k, .n = nr};
    if (texel)
      PV_ASSERT_OK(pv_vk_texel_view_create(t->ctx, &bufs[n_parts], VK_FORMAT_R32G32B32A32_UINT, 0,
                                           bufs[n_parts].size / 16 * 16, &parts[n_parts].texel, &err), err);
  }
  w->buf = NULL;
  w->n_parts = n_parts;
  w->parts = parts;
  return n_parts;
}

static inline void test_split_free(pv_test_vk *t, pv_op_weight *parts, pv_vk_buffer *bufs, uint32_t n_parts) {
  for (uint32_t i = 0; i < n_parts; i++) {
    pv_vk_texel_view_destroy(t->ctx, parts[i].texel);
    pv_vk_buffer_destroy(t->ctx, &bufs[i]);
  }
}

#endif /* PV_TEST_OPS_HELPERS_H */
