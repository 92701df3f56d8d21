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
#include "shared_paths.h"

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

/* Q2_K: sub-block (of 16) 8h + 2j + l/16 of element 128h + 32j + l, scale byte = scale | min << 4;
 * q at bits 2j of qs[32h + l]. */
static void test_q2_k(void **state) {
  (void)state;
  uint8_t b[84] = {0};
  for (int i = 0; i < 16; i++) b[i] = (uint8_t)((i % 16) | ((15 - i) << 4)); /* scale i, min 15 - i */
  b[16 + 0] = 0x1b;  /* 00 01 10 11: elements 0 (q 3), 32 (q 2), 64 (q 1), 96 (q 0) */
  b[16 + 17] = 0xc0; /* element 96 + 17: q 3 */
  b[16 + 32 + 5] = 0x0c; /* element 128 + 32 + 5: q 3 */
  put16(b + 80, 0x3800); /* d = 0.5 */
  put16(b + 82, 0x3400); /* dmin = 0.25 */
  float y[256];
  deq(PV_Q2_K, b, y, 256);
  assert_true(y[0] == 0.5f * 0 * 3 - 0.25f * 15);        /* sub-block 0 */
  assert_true(y[32] == 0.5f * 2 * 2 - 0.25f * 13);       /* sub-block 2 */
  assert_true(y[64] == 0.5f * 4 * 1 - 0.25f * 11);       /* sub-block 4 */
  assert_true(y[96] == 0.5f * 6 * 0 - 0.25f * 9);        /* sub-block 6 */
  assert_true(y[96 + 17] == 0.5f * 7 * 3 - 0.25f * 8);   /* sub-block 7 */
  assert_true(y[128 + 32 + 5] == 0.5f * 10 * 3 - 0.25f * 5); /* sub-block 10 */
  assert_true(y[255] == -0.25f * 0);                      /* sub-block 15: min 0 */
}

/* Q3_K: as Q2_K's placement; 6-bit scales (sc - 32), q - 4 unless the hmask bit is set. */
static void test_q3_k(void **state) {
  (void)state;
  uint8_t b[110] = {0};
  /* scales (stored values, minus 32 when used): sc[0] = 33, sc[9] = 63, sc[14] = 20, the others 0:
   * sc[0]: low nibble of byte 0 = 1, bits 0-1 of byte 8 = 2; sc[9]: high nibble of byte 1 = 15,
   * bits 4-5 of byte 9 = 3; sc[14]: high nibble of byte 6 = 4, bits 6-7 of byte 10 = 1 */
  b[96 + 0] = 0x01;
  b[96 + 1] = 0xf0;
  b[96 + 6] = 0x40;
  b[96 + 8] = 0x02;
  b[96 + 9] = 0x30;
  b[96 + 10] = 0x40;
  put16(b + 108, 0x3800); /* d = 0.5 */
  b[32 + 0] = 0x03;       /* element 0: q 3 */
  b[0] = 0x01;            /* element 0: hmask bit 0 set: no -4 */
  b[32 + 32 + 18] = 0x04; /* element 128 + 32 + 18 (h 1, j 1, sub-block 11): q 1, hmask bit 5 clear */
  b[32 + 32 + 1] = 0x30;  /* element 128 + 64 + 1 (h 1, j 2, sub-block 12): q 3 */
  b[1] = 0x40;            /* element 128 + 64 + 1: hmask bit 6 set */
  float y[256];
  deq(PV_Q3_K, b, y, 256);
  assert_true(y[0] == (0.5f * 1) * 3);              /* sub-block 0: sc 33 - 32; q 3, hmask bit set */
  assert_true(y[1] == (0.5f * 1) * -4);             /* q 0, hmask bit clear: 0 - 4 */
  assert_true(y[48] == (0.5f * -32) * -4);          /* sub-block 3 (h 0, j 1, l 16): sc 0 - 32 */
  assert_true(y[128 + 16] == (0.5f * 31) * -4);     /* sub-block 9: sc 63 - 32 */
  assert_true(y[128 + 32 + 18] == (0.5f * -32) * -3); /* sub-block 11: q 1 - 4 */
  assert_true(y[128 + 64 + 1] == (0.5f * -32) * 3); /* sub-block 12: q 3, hmask bit 6 set */
  assert_true(y[128 + 96] == (0.5f * -12) * -4);    /* sub-block 14: sc 20 - 32 */
  assert_true(y[128 + 96 + 16] == (0.5f * -32) * -4); /* sub-block 15 */
}

static void test_iq4(void **state) {
  (void)state;
  uint8_t b[136] = {0};
  put16(b, 0xb800); /* d = -0.5 */
  for (int i = 0; i < 16; i++) b[2 + i] = (uint8_t)(i | ((15 - i) << 4));
  float y[256];
  deq(PV_IQ4_NL, b, y, 32);
  static const int8_t LEVELS[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
  for (int i = 0; i < 16; i++) {
    assert_true(y[i] == -0.5f * LEVELS[i]);
    assert_true(y[16 + i] == -0.5f * LEVELS[15 - i]);
  }
  memset(b, 0, sizeof b);
  put16(b, 0x3400); /* d = 0.25 */
  /* run scales ls (used as ls - 32): run 0: 32 + 1 = 33 (low nibble 1, high bits 2),
   * run 3: 63 (nibble 15 in byte 5's high half, bits 6-7 of scales_h 3), run 7: 0 */
  b[4] = 0x01;
  b[5] = 0xf0;
  uint16_t sh = 2u | 3u << 6;
  put16(b + 2, sh);
  b[8 + 0] = 0x8f;            /* run 0: element 0 nibble 15, element 16 nibble 8 */
  b[8 + 48 + 3] = 0x20;       /* run 3: element 96 + 19 nibble 2 */
  b[8 + 112 + 15] = 0x07;     /* run 7: element 224 + 15 nibble 7 */
  deq(PV_IQ4_XS, b, y, 256);
  assert_true(y[0] == (0.25f * 1) * 113);
  assert_true(y[16] == (0.25f * 1) * 1);
  assert_true(y[1] == (0.25f * 1) * -127);
  assert_true(y[96 + 19] == (0.25f * 31) * -83);
  assert_true(y[96 + 3] == (0.25f * 31) * -127);
  assert_true(y[224 + 15] == (0.25f * -32) * -10);
  assert_true(y[32] == (0.25f * -32) * -127); /* run 1: ls 0 */
}

/* ---- files quantized by llama.cpp ------------------------------------------------------------
 * ../shared/models/syn-llama-{q2_k,q3_k_m,iq4_nl,iq4_xs}.gguf hold the same F32 weights quantized by
 * llama.cpp's llama-quantize. blk.0.attn_k.weight is Q2_K, Q3_K, IQ4_NL and IQ4_XS in them.
 * 1. A few elements of its first block, decoded by hand from the bytes, e.g. Q2_K element 40: h 0,
 *    j 1, l 8: scale byte scales[2] = 0xbd (scale 13, min 11), q = (qs[8] >> 2) & 3 = 2,
 *    d = 0x1.c2p-10, dmin = 0x1.9ap-9: (d*13)*2 - dmin*11 = 0x1.4cf0p-7.
 * 2. The four dequantized tensors agree with one another within their quantization error (they
 *    come from one source): a misplaced element, scale or nibble gives uncorrelated values. */
typedef struct file_case {
  const char *file;
  pv_dtype type;
  uint32_t idx[5];
  float want[5];
} file_case;

static const file_case FILE_CASES[] = {
    {"syn-llama-q2_k.gguf", PV_Q2_K, {0, 17, 40, 130, 255},
     {-0x1.00b8p-5f, -0x1.341p-5f, 0x1.4cf0p-7f, 0x1.3d64p-5f, -0x1.6768p-6f}},
    {"syn-llama-q3_k_m.gguf", PV_Q3_K, {0, 17, 40, 130, 255},
     {-0x1.e837p-6f, -0x1.2d5ep-5f, 0x1.2d5ep-6f, 0x1.457ap-5f, -0x1.457ap-6f}},
    {"syn-llama-iq4_nl.gguf", PV_IQ4_NL, {0, 5, 16, 31, 31},
     {-0x1.25c18p-5f, 0x1.0e5cp-5f, -0x1.cebbp-6f, 0x1.6bf2p-7f, 0x1.6bf2p-7f}},
    {"syn-llama-iq4_xs.gguf", PV_IQ4_XS, {0, 20, 33, 255, 255},
     {-0x1.21c88p-5f, 0x1.9a5p-9f, -0x1.f5d8p-7f, -0x1.80abp-6f, -0x1.80abp-6f}},
};

enum { ATTN_K_N = 256 * 128 };

/* Dequantized blk.0.attn_k.weight of a file llama.cpp quantized (../shared, an outside oracle)
 * into y; false (said on stdout) when the file is absent. */
static bool load_attn_k(const file_case *c, float *y) {
  char path[512], rel[128];
  snprintf(rel, sizeof rel, "models/%s", c->file);
  if (!pv_test_shared_path(path, sizeof path, rel)) return false;
  pv_gguf_file *f = NULL;
  pv_error err = {0};
  if (pv_gguf_open(&f, path, &err)) return false;
  const pv_gguf_tensor *t = pv_gguf_find_tensor(f, "blk.0.attn_k.weight");
  assert_non_null(t);
  assert_int_equal(t->type, c->type);
  assert_true(t->ne[0] * t->ne[1] == ATTN_K_N);
  if (pv_dequantize_tensor(t, y, &err)) fail_msg("%s", err.msg);
  pv_gguf_close(f);
  return true;
}

static void test_llama_cpp_files(void **state) {
  (void)state;
  enum { NF = sizeof FILE_CASES / sizeof FILE_CASES[0] };
  float *y[NF];
  for (int k = 0; k < NF; k++) {
    y[k] = malloc(ATTN_K_N * sizeof(float));
    if (!load_attn_k(&FILE_CASES[k], y[k])) {
      for (int i = 0; i <= k; i++) free(y[i]);
      skip();
    }
    for (int i = 0; i < 5; i++)
      if (y[k][FILE_CASES[k].idx[i]] != FILE_CASES[k].want[i])
        fail_msg("%s element %u: %a, want %a", FILE_CASES[k].file, FILE_CASES[k].idx[i], y[k][FILE_CASES[k].idx[i]],
                 FILE_CASES[k].want[i]);
  }
  /* relative RMS difference of each to IQ4_XS (the finest here): within the sum of the bounds */
  const int ref = NF - 1;
  for (int k = 0; k < NF - 1; k++) {
    double num = 0, den = 0;
    for (int i = 0; i < ATTN_K_N; i++) {
      num += (double)(y[k][i] - y[ref][i]) * (y[k][i] - y[ref][i]);
      den += (double)y[ref][i] * y[ref][i];
    }
    double e = sqrt(num / den), bound = pv_quant_error_bound(FILE_CASES[k].type) + PV_QERR_IQ4_XS;
    print_message("%-6s vs IQ4_XS: relative RMS difference %.4f (bound %.4f)\n", pv_dtype_name(FILE_CASES[k].type), e,
                  bound);
    assert_true(e <= bound);
  }
  for (int k = 0; k < NF; k++) free(y[k]);
}

/* ---- quantize -> dequantize ---------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double uniform(void) {
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}
static float normal(void) { return (float)(sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform())); }

static const pv_dtype ALL[] = {PV_F32,  PV_F16,  PV_BF16, PV_Q8_0, PV_Q4_0,   PV_Q4_1,  PV_Q5_0, PV_Q5_1,
                               PV_Q2_K, PV_Q3_K, PV_Q4_K, PV_Q5_K, PV_Q6_K, PV_IQ4_NL, PV_IQ4_XS};

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
  assert_int_equal(pv_dequantize_row(PV_IQ2_XXS, b, y, 256, "blk.0.ffn_up.weight", &err), PAGEDVK_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "IQ2_XXS"));
  assert_non_null(strstr(err.msg, "blk.0.ffn_up.weight"));
  assert_int_equal(pv_dequantize_row((pv_dtype)57, b, y, 256, "t7", &err), PAGEDVK_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "57"));
  assert_non_null(strstr(err.msg, "t7"));
  assert_int_equal(pv_dequantize_row(PV_Q4_K, b, y, 100, "t", &err), PAGEDVK_ERR_INVALID);
  float dot;
  assert_int_equal(pv_dot_row(PV_Q8_K, b, y, 256, &dot, "t", &err), PAGEDVK_ERR_UNSUPPORTED);
  assert_int_equal(pv_quantize_row(PV_IQ3_S, y, b, 256, &err), PAGEDVK_ERR_UNSUPPORTED);
  assert_int_equal(pv_quantize_row(PV_Q8_0, y, b, 33, &err), PAGEDVK_ERR_INVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_float_types),      cmocka_unit_test(test_q8_0),
    cmocka_unit_test(test_q4_0_and_q4_1),    cmocka_unit_test(test_q5_0_and_q5_1),
    cmocka_unit_test(test_k_scales),         cmocka_unit_test(test_q4_k),
    cmocka_unit_test(test_q5_k),             cmocka_unit_test(test_q6_k),
    cmocka_unit_test(test_q2_k),             cmocka_unit_test(test_q3_k),
    cmocka_unit_test(test_iq4),              cmocka_unit_test(test_llama_cpp_files),
    cmocka_unit_test(test_roundtrip_bounds), cmocka_unit_test(test_roundtrip_shapes),
    cmocka_unit_test(test_dot_row),          cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
