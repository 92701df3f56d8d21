/*
 * pv_op_embed (shaders/embed.comp) against the CPU dequantizers for every weight type: the rows of
 * random tokens (repeated, the first and the last of the vocabulary), an embedding at a non-zero
 * byte offset, a padded output stride whose padding must stay untouched, an embedding split over
 * several buffers. Once per clamp set.
 *
 * Tolerance: F32, F16, BF16 and Q8_0 exact (a conversion, or one product, both sides). The other
 * types compute q*d + m where the format says (q - 8)*d (and the like): both are correctly rounded
 * f32 expressions of the same value, so they differ by a few ulps of the largest term:
 *   |y - ref| <= 2^-20 * max |ref| over the row.
 * A wrong nibble, scale or sub-block is off by about a quantization step (~1e-2 of the row max).
 */
#include "ops_helpers.h"

#define SENTINEL (-555.0f)

static bool exact_type(pv_dtype type) { return type == PV_F32 || type == PV_F16 || type == PV_BF16 || type == PV_Q8_0; }

/* part_rows > 0: the embedding split into parts of that many rows, a buffer each (offset unused). */
static void check_embed_split(pv_test_vk *t, pv_ops *ops, pv_dtype type, uint32_t n_embd, uint32_t offset,
                              uint32_t part_rows) {
  pv_error err = {0};
  const uint32_t vocab = 29, y_stride = n_embd + 5;
  const uint32_t tokens[] = {3, 28, 0, 3, 17, 28, 11};
  const uint32_t rows = PV_ARRAY_LEN(tokens);
  float *src = malloc((size_t)vocab * n_embd * 4), *deq = malloc((size_t)vocab * n_embd * 4);
  float *y = malloc((size_t)rows * y_stride * 4);
  const uint64_t rb = test_row_bytes(type, n_embd);
  uint8_t *q = malloc(rb * vocab);
  assert_true(src && deq && y && q);
  pv_test_random_floats(src, (size_t)vocab * n_embd, type + n_embd, -2.0f, 2.0f);
  PV_ASSERT_OK(pv_quantize_rows(type, src, q, n_embd, vocab, &err), err);
  for (uint32_t r = 0; r < vocab; r++)
    PV_ASSERT_OK(pv_dequantize_row(type, q + r * rb, deq + (size_t)r * n_embd, n_embd, "emb", &err), err);
  test_token_info info[PV_ARRAY_LEN(tokens)];
  for (uint32_t r = 0; r < rows; r++) info[r] = (test_token_info){.token = tokens[r], .pos = r, .seq = 0, .slot = r};
  for (size_t i = 0; i < (size_t)rows * y_stride; i++) y[i] = SENTINEL;

  pv_vk_buffer bw, bt, by;
  test_buffer(t, &bw, offset + rb * vocab, q, rb * vocab, offset);
  test_buffer(t, &bt, sizeof info, info, sizeof info, 0);
  test_buffer(t, &by, (size_t)rows * y_stride * 4, y, (size_t)rows * y_stride * 4, 0);
  pv_op_weight emb = {.buf = &bw, .offset = offset, .type = type, .k = n_embd, .n = vocab};
  pv_op_weight parts[8];
  pv_vk_buffer bufs[8];
  const uint32_t n_parts = part_rows ? test_split_weight(t, &emb, parts, bufs, 8, q, rb, part_rows, ops->weights_texel) : 0;
  PV_ASSERT_OK(pv_vk_cmd_begin(&t->cmd, &err), err);
  PV_ASSERT_OK(pv_op_embed(ops, &t->cmd, &emb, pv_view(&bt), pv_view(&by), rows, y_stride, &err), err);
  test_run(t);
  test_download(t, &by, y, (size_t)rows * y_stride * 4);
  test_split_free(t, parts, bufs, n_parts);

  for (uint32_t r = 0; r < rows; r++) {
    const float *want = deq + (size_t)tokens[r] * n_embd;
    float max = 0;
    for (uint32_t i = 0; i < n_embd; i++) max = fmaxf(max, fabsf(want[i]));
    const float tol = exact_type(type) ? 0.0f : ldexpf(max, -20);
    for (uint32_t i = 0; i < y_stride; i++) {
      float got = y[(size_t)r * y_stride + i];
      if (i >= n_embd) {
        if (got != SENTINEL) fail_msg("%s: padding y[%u][%u] overwritten", pv_dtype_name(type), r, i);
      } else if (!(fabsf(got - want[i]) <= tol)) {
        fail_msg("%s n_embd=%u offset=%u: row %u (token %u) [%u] = %.9g, want %.9g (tol %.3g)", pv_dtype_name(type),
                 n_embd, offset, r, tokens[r], i, got, want[i], tol);
      }
    }
  }
  pv_vk_buffer_destroy(t->ctx, &by);
  pv_vk_buffer_destroy(t->ctx, &bt);
  pv_vk_buffer_destroy(t->ctx, &bw);
  free(src), free(deq), free(y), free(q);
}

static void check_embed(pv_test_vk *t, pv_ops *ops, pv_dtype type, uint32_t n_embd, uint32_t offset) {
  check_embed_split(t, ops, type, n_embd, offset, 0);
}

static void test_embed_types(void **state) {
  pv_test_vk *t = *state;
  pv_ops ops;
  test_ops_init(t, &ops);
  const uint32_t row_wg = ops.wg_row;
  for (size_t i = 0; i < PV_TEST_N_WEIGHT_TYPES; i++) {
    pv_dtype type = PV_TEST_WEIGHT_TYPES[i];
    ops.wg_row = i % 2 ? ops.wg : row_wg; /* both workgroup widths (CPU devices: 8 and 64) */
    /* one block row, and a row of more 32-element units than the workgroup has invocations */
    check_embed(t, &ops, type, test_block_elems(type) == 256 ? 256 : 96, 0);
    check_embed(t, &ops, type, 2560, 36);
  }
  pv_ops_destroy(&ops);
}

/* An embedding split into row ranges, a buffer each (a tensor larger than one binding): each
 * token's row comes from the part that holds it (the tokens span every part: 29 rows in parts of
 * 8, 5 and 4), through storage and texel reads. */
static void test_embed_split(void **state) {
  pv_test_vk *t = *state;
  pv_ops ops;
  test_ops_init(t, &ops);
  const pv_dtype types[] = {PV_Q6_K, PV_Q8_0, PV_F16, PV_Q4_0};
  const uint32_t part_rows[] = {8, 5, 4};
  for (int texel = 0; texel < 2; texel++) {
    ops.weights_texel = texel;
    for (size_t i = 0; i < PV_ARRAY_LEN(types); i++)
      check_embed_split(t, &ops, types[i], test_block_elems(types[i]) == 256 ? 256 : 96, 0, part_rows[i % 3]);
  }
  pv_ops_destroy(&ops);
}

static void test_embed_rejects(void **state) {
  pv_test_vk *t = *state;
  pv_error err = {0};
  pv_ops ops;
  test_ops_init(t, &ops);
  pv_vk_buffer b;
  test_buffer(t, &b, 4096, NULL, 0, 0);
  pv_op_weight emb = {.buf = &b, .type = PV_Q5_K, .k = 128, .n = 4};
  PV_ASSERT_OK(pv_vk_cmd_begin(&t->cmd, &err), err);
  assert_int_equal(pv_op_embed(&ops, &t->cmd, &emb, pv_view(&b), pv_view(&b), 1, 128, &err), PAGEDVK_ERR_INVALID);
  emb.type = PV_Q4_0;
  emb.n = 228; /* 228 rows of 72 bytes = 16416 bytes > 4096 */
  assert_int_equal(pv_op_embed(&ops, &t->cmd, &emb, pv_view(&b), pv_view(&b), 1, 128, &err), PAGEDVK_ERR_INVALID);
  emb.type = PV_MXFP4; /* parse-only: no kernels */
  emb.n = 4;
  assert_int_equal(pv_op_embed(&ops, &t->cmd, &emb, pv_view(&b), pv_view(&b), 1, 128, &err),
                   PAGEDVK_ERR_UNSUPPORTED);
  PV_ASSERT_OK(pv_vk_cmd_run(&t->cmd, &err), err);
  pv_vk_buffer_destroy(t->ctx, &b);
  pv_ops_destroy(&ops);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_embed_types, pv_test_vk_check),
      cmocka_unit_test_teardown(test_embed_split, pv_test_vk_check),
      cmocka_unit_test_teardown(test_embed_rejects, pv_test_vk_check),
  };
  return pv_test_vk_run_clamp_sets("embed", tests, PV_ARRAY_LEN(tests));
}
