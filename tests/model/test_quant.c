/* Dequantizers on hand-built blocks (bytes placed by hand from the documented layouts, exact
 * floats expected), quantize → dequantize error bounds per type on random normal data, the dot
 * product, and errors for types without a dequantizer. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devkit/quantize.h"
#include "gguf/quant.h"

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

static void deq(pv_dtype t, const uint8_t *b, float *y, uint64_t n) {
  pv_error err = {0};
  int rc = pv_dequantize_row(t, b, y, n, "hand", &err);
  if (rc) fail_msg("%s", err.msg);
}

static void test_float_types(void **state) {
  (void)state;
  float y[2];
  uint8_t f32[8];
  float v[2] = {1.5f, -0.125f};
  memcpy(f32, v, 8);
  deq(PV_F32, f32, y, 2);
  assert_true(y[0] == 1.5f && y[1] == -0.125f);
  uint8_t f16[4] = {0x00, 0x3c, 0x00, 0xc0}; /* 1.0, -2.0 */
  deq(PV_F16, f16, y, 2);
  assert_true(y[0] == 1.0f && y[1] == -2.0f);
  uint8_t bf16[4] = {0x80, 0x3f, 0xa0, 0xc0}; /* 1.0, -5.0 */
  deq(PV_BF16, bf16, y, 2);
  assert_true(y[0] == 1.0f && y[1] == -5.0f);
}

static void test_q8_0(void **state) {
  (void)state;
  uint8_t b[34];
  put16(b, 0x3800); /* d = 0.5 */
  for (int i = 0; i < 32; i++) b[2 + i] = (uint8_t)(int8_t)(i * 8 - 128); /* -128 .. 120 */
  float y[32];
  deq(PV_Q8_0, b, y, 32);
  for (int i = 0; i < 32; i++) assert_true(y[i] == 0.5f * (float)(i * 8 - 128));
}

static void test_q4_0_and_q4_1(void **state) {
  (void)state;
  uint8_t b[20];
  put16(b, 0x4000); /* d = 2 */
  for (int i = 0; i < 16; i++) b[2 + i] = (uint8_t)(i | ((15 - i) << 4));
  float y[32];
  deq(PV_Q4_0, b, y, 32);
  assert_true(y[0] == -16.0f && y[15] == 14.0f && y[16] == 14.0f && y[31] == -16.0f);
  for (int i = 0; i < 16; i++) {
    assert_true(y[i] == 2.0f * (float)(i - 8));
    assert_true(y[16 + i] == 2.0f * (float)(7 - i));
  }
  put16(b, 0x3800);     /* d = 0.5 */
  put16(b + 2, 0xbc00); /* m = -1 */
  for (int i = 0; i < 16; i++) b[4 + i] = (uint8_t)(i | ((15 - i) << 4));
  deq(PV_Q4_1, b, y, 32);
  assert_true(y[0] == -1.0f && y[15] == 6.5f && y[16] == 6.5f && y[31] == -1.0f);
}

static void test_q5_0_and_q5_1(void **state) {
  (void)state;
  uint8_t b[24] = {0};
  put16(b, 0x3400); /* d = 0.25 */
  /* qh = 0x80010001: bit 4 set for elements 0, 16 and 31 */
  b[2] = 0x01; b[3] = 0x00; b[4] = 0x01; b[5] = 0x80;
  for (int i = 0; i < 16; i++) b[6 + i] = (uint8_t)(3 | (5 << 4)); /* low 3, high 5 */
  float y[32];
  deq(PV_Q5_0, b, y, 32);
  assert_true(y[0] == 0.25f * (19 - 16));
  assert_true(y[1] == 0.25f * (3 - 16));
  assert_true(y[16] == 0.25f * (21 - 16));
  assert_true(y[17] == 0.25f * (5 - 16));
  assert_true(y[31] == 0.25f * (21 - 16));
  assert_true(y[30] == 0.25f * (5 - 16));
  memset(b, 0, sizeof b);
  put16(b, 0x3c00);     /* d = 1 */
  put16(b + 2, 0x4200); /* m = 3 */
  b[4] = 0xff; b[5] = 0xff; b[6] = 0x00; b[7] = 0x00; /* elements 0..15 have bit 4 */
  for (int i = 0; i < 16; i++) b[8 + i] = (uint8_t)(i | (i << 4));
  deq(PV_Q5_1, b, y, 32);
  for (int i = 0; i < 16; i++) {
    assert_true(y[i] == (float)(16 + i) + 3.0f);
    assert_true(y[16 + i] == (float)i + 3.0f);
  }
}

/* Scales and mins of the K-quant test blocks, and their packing (worked out by hand from the
 * 12-byte layout: bytes 0-3 low 6 bits of sc[0..3] + top 2 bits of sc[4..7]; bytes 4-7 the same
 * for mins; bytes 8-11 low nibbles of sc[4..7] and m[4..7]). */
static const uint8_t K_SC[8] = {1, 2, 3, 4, 17, 33, 48, 63};
static const uint8_t K_M[8] = {0, 5, 10, 15, 16, 31, 32, 62};
static const uint8_t K_PACKED[12] = {0x41, 0x82, 0xc3, 0xc4, 0x40, 0x45, 0x8a, 0xcf, 0x01, 0xf1, 0x00, 0xef};

static void test_k_scales(void **state) {
  (void)state;
  uint8_t sc[8], m[8];
  pv_unpack_k_scales(K_PACKED, sc, m);
  assert_memory_equal(sc, K_SC, 8);
  assert_memory_equal(m, K_M, 8);
}

static void test_q4_k(void **state) {
  (void)state;
  uint8_t b[144];
  put16(b, 0x3c00);     /* d = 1 */
  put16(b + 2, 0x3800); /* dmin = 0.5 */
  memcpy(b + 4, K_PACKED, 12);
  for (int i = 0; i < 128; i++) b[16 + i] = (uint8_t)((i & 15) | ((15 - (i & 15)) << 4));
  float y[256];
  deq(PV_Q4_K, b, y, 256);
  for (int c = 0; c < 4; c++)
    for (int l = 0; l < 32; l++) {
      assert_true(y[64 * c + l] == (float)(K_SC[2 * c] * (l & 15)) - 0.5f * K_M[2 * c]);
      assert_true(y[64 * c + 32 + l] == (float)(K_SC[2 * c + 1] * (15 - (l & 15))) - 0.5f * K_M[2 * c + 1]);
    }
  assert_true(y[255] == 0.0f - 31.0f); /* sub-block 7: sc 63, q 0, m 62 */
  assert_true(y[224] == 63.0f * 15 - 31.0f);
}

static void test_q5_k(void **state) {
  (void)state;
  uint8_t b[176];
  put16(b, 0x3800);     /* d = 0.5 */
  put16(b + 2, 0x3c00); /* dmin = 1 */
  memcpy(b + 4, K_PACKED, 12);
  for (int l = 0; l < 32; l++) b[16 + l] = (uint8_t)(l * 37 + 11); /* qh */
  for (int i = 0; i < 128; i++) b[48 + i] = (uint8_t)((i * 7) & 0xff);
  float y[256];
  deq(PV_Q5_K, b, y, 256);
  for (int j = 0; j < 8; j++)
    for (int l = 0; l < 32; l++) {
      uint8_t byte = b[48 + 32 * (j / 2) + l];
      int nib = (j & 1) ? byte >> 4 : byte & 15;
      int hi = (b[16 + l] >> j) & 1;
      float want = 0.5f * (float)K_SC[j] * (float)(nib + 16 * hi) - (float)K_M[j];
      assert_true(y[32 * j + l] == want);
    }
}

static void test_q6_k(void **state) {
  (void)state;
  uint8_t b[210] = {0};
  int8_t sc[16] = {1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12, 13, -14, 127, -128};
  memcpy(b + 192, sc, 16);
  put16(b + 208, 0x3800); /* d = 0.5 */
  /* Element 0: ql[0] low nibble 1, qh[0] bits 0-1 = 0 -> q = 1
   * Element 32: ql[32] low nibble 4, qh[0] bits 2-3 = 1 -> q = 20
   * Element 64: ql[0] high nibble 2, qh[0] bits 4-5 = 2 -> q = 34
   * Element 96: ql[32] high nibble 15, qh[0] bits 6-7 = 3 -> q = 63
   * Element 128 + 17: ql[64 + 17] low nibble 9, qh[32 + 17] bits 0-1 = 3 -> q = 57
   * Element 128 + 112 + 3 (k = 3, l = 19): ql[64 + 32 + 19] high nibble 0, qh[32 + 19] bits 6-7 = 2 -> q = 32 */
  b[0] = 0x21;
  b[32] = 0xf4;
  b[128] = 0xe4; /* 11 10 01 00 */
  b[64 + 17] = 0x09;
  b[128 + 32 + 17] = 0x03;
  b[64 + 32 + 19] = 0x00;
  b[128 + 32 + 19] = 0x80;
  float y[256];
  deq(PV_Q6_K, b, y, 256);
  assert_true(y[0] == 0.5f * 1 * (1 - 32));
  assert_true(y[32] == 0.5f * 3 * (20 - 32));
  assert_true(y[64] == 0.5f * 5 * (34 - 32));
  assert_true(y[96] == 0.5f * 7 * (63 - 32));
  assert_true(y[128 + 17] == 0.5f * -10 * (57 - 32));
  assert_true(y[128 + 115] == 0.5f * -128 * 0);
  assert_true(y[128 + 112] == 0.5f * -128 * (0 - 32)); /* untouched bytes: q = 0 */
  assert_true(y[1] == 0.5f * 1 * -32);
  assert_true(y[16] == 0.5f * -2 * -32);
}

/* ---- quantize -> dequantize ---------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double uniform(void) {
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}
static float normal(void) { return (float)(sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform())); }

static const pv_dtype ALL[] = {PV_F32, PV_F16, PV_BF16, PV_Q8_0, PV_Q4_0, PV_Q4_1,
                               PV_Q5_0, PV_Q5_1, PV_Q4_K, PV_Q5_K, PV_Q6_K};

static double rel_rms(pv_dtype t, const float *x, uint64_t n) {
  uint64_t bytes;
  assert_true(pv_dtype_row_bytes(t, n, &bytes));
  uint8_t *q = malloc(bytes);
  float *y = malloc(n * sizeof *y);
  pv_error err = {0};
  assert_int_equal(pv_quantize_row(t, x, q, n, &err), PAGEDVK_OK);
  deq(t, q, y, n);
  double num = 0, den = 0;
  for (uint64_t i = 0; i < n; i++) {
    num += (double)(x[i] - y[i]) * (x[i] - y[i]);
    den += (double)x[i] * x[i];
  }
  free(q);
  free(y);
  return sqrt(num / den);
}

static void test_roundtrip_bounds(void **state) {
  (void)state;
  enum { N = 256 * 64 };
  float *x = malloc(N * sizeof *x);
  for (int i = 0; i < N; i++) x[i] = normal() * 0.02f;
  for (size_t k = 0; k < sizeof ALL / sizeof ALL[0]; k++) {
    double e = rel_rms(ALL[k], x, N), bound = pv_quant_error_bound(ALL[k]);
    print_message("%-5s relative RMS error %.5f (bound %.5f)\n", pv_dtype_name(ALL[k]), e, bound);
    assert_true(e <= bound);
  }
  free(x);
}

/* Rows with structure the scale search must handle: constant, one outlier, all positive. */
static void test_roundtrip_shapes(void **state) {
  (void)state;
  float x[256];
  for (size_t k = 0; k < sizeof ALL / sizeof ALL[0]; k++) {
    for (int i = 0; i < 256; i++) x[i] = 0.0f;
    assert_true(rel_rms(ALL[k], x, 256) == 0 || isnan(rel_rms(ALL[k], x, 256)));
    for (int i = 0; i < 256; i++) x[i] = 1.0f + 0.5f * normal(); /* mostly positive */
    assert_true(rel_rms(ALL[k], x, 256) <= pv_quant_error_bound(ALL[k]));
    for (int i = 0; i < 256; i++) x[i] = 0.25f;
    double e = rel_rms(ALL[k], x, 256);
    if (e > pv_quant_error_bound(ALL[k])) fail_msg("%s constant row: error %g", pv_dtype_name(ALL[k]), e);
  }
}

static void test_dot_row(void **state) {
  (void)state;
  float w[512], x[512], y[512];
  for (int i = 0; i < 512; i++) { w[i] = normal(); x[i] = normal(); }
  for (size_t k = 0; k < sizeof ALL / sizeof ALL[0]; k++) {
    uint8_t q[2048];
    pv_error err = {0};
    assert_int_equal(pv_quantize_row(ALL[k], w, q, 512, &err), PAGEDVK_OK);
    deq(ALL[k], q, y, 512);
    double want = 0;
    for (int i = 0; i < 512; i++) want += (double)y[i] * x[i];
    float got = 0;
    assert_int_equal(pv_dot_row(ALL[k], q, x, 512, &got, "w", &err), PAGEDVK_OK);
    assert_true(fabs(got - want) <= 1e-5 * (1 + fabs(want)));
  }
}

static void test_errors(void **state) {
  (void)state;
  uint8_t b[300] = {0};
  float y[256];
  pv_error err = {0};
  assert_int_equal(pv_dequantize_row(PV_Q2_K, b, y, 256, "blk.0.ffn_up.weight", &err), PAGEDVK_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "Q2_K"));
  assert_non_null(strstr(err.msg, "blk.0.ffn_up.weight"));
  assert_int_equal(pv_dequantize_row((pv_dtype)17, b, y, 256, "t7", &err), PAGEDVK_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "17"));
  assert_non_null(strstr(err.msg, "t7"));
  assert_int_equal(pv_dequantize_row(PV_Q4_K, b, y, 100, "t", &err), PAGEDVK_ERR_INVALID);
  float dot;
  assert_int_equal(pv_dot_row(PV_Q8_K, b, y, 256, &dot, "t", &err), PAGEDVK_ERR_UNSUPPORTED);
  assert_int_equal(pv_quantize_row(PV_Q3_K, y, b, 256, &err), PAGEDVK_ERR_UNSUPPORTED);
  assert_int_equal(pv_quantize_row(PV_Q8_0, y, b, 33, &err), PAGEDVK_ERR_INVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_float_types),      cmocka_unit_test(test_q8_0),
    cmocka_unit_test(test_q4_0_and_q4_1),    cmocka_unit_test(test_q5_0_and_q5_1),
    cmocka_unit_test(test_k_scales),         cmocka_unit_test(test_q4_k),
    cmocka_unit_test(test_q5_k),             cmocka_unit_test(test_q6_k),
    cmocka_unit_test(test_roundtrip_bounds), cmocka_unit_test(test_roundtrip_shapes),
    cmocka_unit_test(test_dot_row),          cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
