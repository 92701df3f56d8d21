/*
 * quant.c — exact dequantizers (one block → floats) for the types of quant.h, the row and tensor
 * helpers built on them, and the on-the-fly dot product used by the CPU reference forward pass.
 *
 * Block layouts (all little-endian, f16 = IEEE half):
 *   Q8_0  34 B / 32: f16 d, int8 q[32]                       y = d*q
 *   Q4_0  18 B / 32: f16 d, u8 qs[16]                        y = d*(q-8); element i<16 is the low
 *                                                             nibble of qs[i], element i+16 the high
 *   Q4_1  20 B / 32: f16 d, f16 m, u8 qs[16]                 y = d*q + m
 *   Q5_0  22 B / 32: f16 d, u32 qh, u8 qs[16]                y = d*(q-16); bit i of qh is bit 4 of element i
 *   Q5_1  24 B / 32: f16 d, f16 m, u32 qh, u8 qs[16]         y = d*q + m
 *   Q4_K 144 B / 256: f16 d, f16 dmin, u8 scales[12], u8 qs[128]: eight sub-blocks of 32 with a
 *        6-bit scale sc and 6-bit min m each; y = (d*sc)*q - (dmin*m); 64-element chunk c uses
 *        qs[32c..32c+31], low nibbles for sub-block 2c, high nibbles for 2c+1
 *   Q5_K 176 B / 256: as Q4_K plus u8 qh[32] (between scales and qs): bit 2c of qh[l] is bit 4 of
 *        element 64c+l, bit 2c+1 of qh[l] is bit 4 of element 64c+32+l
 *   Q6_K 210 B / 256: u8 ql[128], u8 qh[64], int8 scales[16], f16 d: two halves of 128; in half h,
 *        element 32k+l (k 0..3, l 0..31) takes 4 low bits from ql[64h + l + 32(k&1)] (low nibble
 *        for k<2, high for k>=2) and 2 high bits from qh[32h + l] >> 2k; y = (d*sc[e/16])*(q-32)
 *   Q2_K  84 B / 256: u8 scales[16], u8 qs[64], f16 d, f16 dmin: two halves of 128; in half h,
 *        element 32j+l (j 0..3, l 0..31) is q = (qs[32h + l] >> 2j) & 3 with scale byte
 *        s = scales[8h + 2j + l/16]; y = (d*(s & 15))*q - dmin*(s >> 4)
 *   Q3_K 110 B / 256: u8 hmask[32], u8 qs[64], u8 scales[12], f16 d: elements placed as in Q2_K;
 *        q = ((qs[32h + l] >> 2j) & 3) - 4 unless bit 4h+j of hmask[l] is set; sixteen 6-bit
 *        scales sc[i]: low 4 bits from the nibble (i/8) of scales[i % 8], high 2 bits from bits
 *        2(i/4) of scales[8 + i%4]; y = (d*(sc - 32))*q with sc of sub-block 8h + 2j + l/16
 *   IQ4_NL 18 B / 32: f16 d, u8 qs[16]: nibbles as in Q4_0, y = d*IQ4_VALUES[nibble]
 *   IQ4_XS 136 B / 256: f16 d, u16 scales_h, u8 scales_l[4], u8 qs[128]: eight runs of 32 laid
 *        out as IQ4_NL blocks (16 bytes each) with a 6-bit scale ls of run r: nibble r of
 *        scales_l (low first) | bits 2r..2r+1 of scales_h << 4; y = (d*(ls - 32))*IQ4_VALUES[nibble]
 *
 * Invariant: every function here reads exactly pv_dtype_row_bytes(type, n) bytes of its source.
 */
#include <string.h>

#include "gguf/quant.h"

#define QK 32
#define QK_K 256

static float ld_f16(const uint8_t *p) { return pv_f16_to_f32((uint16_t)(p[0] | (p[1] << 8))); }

static uint32_t ld_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- 32-element blocks ------------------------------------------------------------------------ */

static void deq_q8_0(const uint8_t *b, float *y) {
  float d = ld_f16(b);
  for (int i = 0; i < QK; i++) y[i] = d * (float)(int8_t)b[2 + i];
}

static void deq_q4_0(const uint8_t *b, float *y) {
  float d = ld_f16(b);
  const uint8_t *qs = b + 2;
  for (int i = 0; i < 16; i++) {
    y[i] = d * (float)((qs[i] & 0xf) - 8);
    y[i + 16] = d * (float)((qs[i] >> 4) - 8);
  }
}

static void deq_q4_1(const uint8_t *b, float *y) {
  float d = ld_f16(b), m = ld_f16(b + 2);
  const uint8_t *qs = b + 4;
  for (int i = 0; i < 16; i++) {
    y[i] = d * (float)(qs[i] & 0xf) + m;
    y[i + 16] = d * (float)(qs[i] >> 4) + m;
  }
}

/* The 5-bit values of a Q5 block: nibbles from qs, bit 4 from qh. */
static void q5_values(uint32_t qh, const uint8_t *qs, int q[QK]) {
  for (int i = 0; i < 16; i++) {
    q[i] = (qs[i] & 0xf) | (int)((qh >> i) & 1) << 4;
    q[i + 16] = (qs[i] >> 4) | (int)((qh >> (i + 16)) & 1) << 4;
  }
}

static void deq_q5_0(const uint8_t *b, float *y) {
  float d = ld_f16(b);
  int q[QK];
  q5_values(ld_u32(b + 2), b + 6, q);
  for (int i = 0; i < QK; i++) y[i] = d * (float)(q[i] - 16);
}

static void deq_q5_1(const uint8_t *b, float *y) {
  float d = ld_f16(b), m = ld_f16(b + 2);
  int q[QK];
  q5_values(ld_u32(b + 4), b + 8, q);
  for (int i = 0; i < QK; i++) y[i] = d * (float)q[i] + m;
}

/* ---- K-quants ------------------------------------------------------------------------------ */

void pv_unpack_k_scales(const uint8_t s[12], uint8_t sc[8], uint8_t m[8]) {
  for (int j = 0; j < 4; j++) {
    sc[j] = s[j] & 63;
    m[j] = s[j + 4] & 63;
    sc[j + 4] = (uint8_t)((s[j + 8] & 0xf) | ((s[j] >> 6) << 4));
    m[j + 4] = (uint8_t)((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
  }
}

/* Shared by Q4_K and Q5_K: qh is NULL for Q4_K. */
static void deq_k_4or5(const uint8_t *b, const uint8_t *qh, const uint8_t *qs, float *y) {
  float d = ld_f16(b), dmin = ld_f16(b + 2);
  uint8_t sc[8], m[8];
  pv_unpack_k_scales(b + 4, sc, m);
  for (int c = 0; c < 4; c++) {
    float d_lo = d * (float)sc[2 * c], m_lo = dmin * (float)m[2 * c];
    float d_hi = d * (float)sc[2 * c + 1], m_hi = dmin * (float)m[2 * c + 1];
    for (int l = 0; l < 32; l++) {
      int lo = qs[32 * c + l] & 0xf, hi = qs[32 * c + l] >> 4;
      if (qh) {
        lo |= ((qh[l] >> (2 * c)) & 1) << 4;
        hi |= ((qh[l] >> (2 * c + 1)) & 1) << 4;
      }
      y[64 * c + l] = d_lo * (float)lo - m_lo;
      y[64 * c + 32 + l] = d_hi * (float)hi - m_hi;
    }
  }
}

static void deq_q4_k(const uint8_t *b, float *y) { deq_k_4or5(b, NULL, b + 16, y); }
static void deq_q5_k(const uint8_t *b, float *y) { deq_k_4or5(b, b + 16, b + 48, y); }

static void deq_q6_k(const uint8_t *b, float *y) {
  const uint8_t *ql = b, *qh = b + 128;
  const int8_t *sc = (const int8_t *)(b + 192);
  float d = ld_f16(b + 208);
  for (int h = 0; h < 2; h++) {
    for (int k = 0; k < 4; k++) {
      for (int l = 0; l < 32; l++) {
        int e = 32 * k + l;
        uint8_t low = ql[64 * h + l + 32 * (k & 1)];
        int q = (k < 2 ? (low & 0xf) : (low >> 4)) | ((qh[32 * h + l] >> (2 * k)) & 3) << 4;
        y[128 * h + e] = d * (float)sc[8 * h + e / 16] * (float)(q - 32);
      }
    }
  }
}

/* Q2_K and Q3_K place element 32j + l of half h (j 0..3, l 0..31) at bits 2j of qs[32h + l], and
 * give it the sub-block (of 16) 8h + 2j + l/16. */
static void deq_q2_k(const uint8_t *b, float *y) {
  const uint8_t *sc = b, *qs = b + 16;
  float d = ld_f16(b + 80), dmin = ld_f16(b + 82);
  for (int e = 0; e < QK_K; e++) {
    int h = e / 128, j = (e % 128) / 32, l = e % 32;
    uint8_t s = sc[8 * h + 2 * j + l / 16];
    int q = (qs[32 * h + l] >> (2 * j)) & 3;
    y[e] = (d * (float)(s & 0xf)) * (float)q - dmin * (float)(s >> 4);
  }
}

/* The sixteen signed scales (sc - 32) of a Q3_K block from its 12 packed bytes. */
static void q3_k_scales(const uint8_t s[12], int sc[16]) {
  for (int i = 0; i < 16; i++) {
    int low = i < 8 ? s[i] & 0xf : s[i - 8] >> 4;
    int high = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
    sc[i] = (low | high << 4) - 32;
  }
}

static void deq_q3_k(const uint8_t *b, float *y) {
  const uint8_t *hm = b, *qs = b + 32;
  int sc[16];
  q3_k_scales(b + 96, sc);
  float d = ld_f16(b + 108);
  for (int e = 0; e < QK_K; e++) {
    int h = e / 128, j = (e % 128) / 32, l = e % 32;
    int q = ((qs[32 * h + l] >> (2 * j)) & 3) - (((hm[l] >> (4 * h + j)) & 1) ? 0 : 4);
    y[e] = (d * (float)sc[8 * h + 2 * j + l / 16]) * (float)q;
  }
}

/* ---- IQ4: 4-bit indices into a fixed non-linear table ---------------------------------------- */

const int8_t PV_IQ4_VALUES[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/* 32 elements from 16 bytes of nibbles (low nibbles first) with scale d. */
static void iq4_run(float d, const uint8_t *qs, float *y) {
  for (int i = 0; i < 16; i++) {
    y[i] = d * (float)PV_IQ4_VALUES[qs[i] & 0xf];
    y[i + 16] = d * (float)PV_IQ4_VALUES[qs[i] >> 4];
  }
}

static void deq_iq4_nl(const uint8_t *b, float *y) { iq4_run(ld_f16(b), b + 2, y); }

static void deq_iq4_xs(const uint8_t *b, float *y) {
  float d = ld_f16(b);
  unsigned sh = (unsigned)(b[2] | (b[3] << 8));
  for (int r = 0; r < 8; r++) {
    int ls = ((b[4 + r / 2] >> (4 * (r & 1))) & 0xf) | (int)((sh >> (2 * r)) & 3) << 4;
    iq4_run(d * (float)(ls - 32), b + 8 + 16 * r, y + 32 * r);
  }
}

/* ---- plain float types --------------------------------------------------------------------- */

static void deq_f32(const uint8_t *b, float *y) { memcpy(y, b, 4); }
static void deq_f16(const uint8_t *b, float *y) { *y = ld_f16(b); }
static void deq_bf16(const uint8_t *b, float *y) { *y = pv_bf16_to_f32((uint16_t)(b[0] | (b[1] << 8))); }

typedef void (*block_fn)(const uint8_t *block, float *out);

static block_fn dequantizer(pv_dtype type) {
  switch (type) {
    case PV_F32: return deq_f32;
    case PV_F16: return deq_f16;
    case PV_BF16: return deq_bf16;
    case PV_Q8_0: return deq_q8_0;
    case PV_Q4_0: return deq_q4_0;
    case PV_Q4_1: return deq_q4_1;
    case PV_Q5_0: return deq_q5_0;
    case PV_Q5_1: return deq_q5_1;
    case PV_Q4_K: return deq_q4_k;
    case PV_Q5_K: return deq_q5_k;
    case PV_Q6_K: return deq_q6_k;
    case PV_Q2_K: return deq_q2_k;
    case PV_Q3_K: return deq_q3_k;
    case PV_IQ4_NL: return deq_iq4_nl;
    case PV_IQ4_XS: return deq_iq4_xs;
    default: return NULL;
  }
}

bool pv_quant_supported(pv_dtype type) { return dequantizer(type) != NULL; }

/* Checks the type and the element count; fills the dequantizer and block info. */
static int check_row(pv_dtype type, uint64_t n, const char *what, block_fn *fn, const pv_dtype_info **info,
                     pv_error *err) {
  const char *name = pv_dtype_name((uint32_t)type);
  *info = pv_dtype_get((uint32_t)type);
  *fn = dequantizer(type);
  if (!*fn) {
    if (name)
      return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "tensor '%s': type %s (%u) cannot be dequantized",
                     what ? what : "?", name, (unsigned)type);
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "tensor '%s': unknown tensor type number %u", what ? what : "?",
                   (unsigned)type);
  }
  if (n % (*info)->block_elems)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "tensor '%s': row of %llu elements is not a whole number of %s blocks of %u",
                   what ? what : "?", (unsigned long long)n, name, (*info)->block_elems);
  return PAGEDVK_OK;
}

int pv_dequantize_row(pv_dtype type, const void *src, float *dst, uint64_t n, const char *what, pv_error *err) {
  block_fn fn;
  const pv_dtype_info *info;
  int rc = check_row(type, n, what, &fn, &info, err);
  if (rc) return rc;
  const uint8_t *b = src;
  for (uint64_t i = 0; i < n; i += info->block_elems, b += info->block_bytes) fn(b, dst + i);
  return PAGEDVK_OK;
}

int pv_dot_row(pv_dtype type, const void *row, const float *x, uint64_t n, float *out, const char *what,
               pv_error *err) {
  block_fn fn;
  const pv_dtype_info *info;
  int rc = check_row(type, n, what, &fn, &info, err);
  if (rc) return rc;
  const uint8_t *b = row;
  double sum = 0.0;
  float tmp[QK_K];
  if (type == PV_F32) {
    for (uint64_t i = 0; i < n; i++) {
      float v;
      memcpy(&v, b + 4 * i, 4);
      sum += (double)v * x[i];
    }
  } else {
    for (uint64_t i = 0; i < n; i += info->block_elems, b += info->block_bytes) {
      fn(b, tmp);
      for (uint32_t j = 0; j < info->block_elems; j++) sum += (double)tmp[j] * x[i + j];
    }
  }
  *out = (float)sum;
  return PAGEDVK_OK;
}

/* ---- tensors ----------------------------------------------------------------------------- */

static uint64_t tensor_rows(const pv_gguf_tensor *t) { return t->ne[1] * t->ne[2] * t->ne[3]; }

const uint8_t *pv_tensor_row_ptr(const pv_gguf_tensor *t, uint64_t row) {
  uint64_t row_bytes;
  if (row >= tensor_rows(t) || !pv_dtype_row_bytes(t->type, t->ne[0], &row_bytes)) return NULL;
  return t->data + row * row_bytes;
}

static const char *tensor_name(const pv_gguf_tensor *t, char *buf, size_t size) {
  uint64_t n = t->name.len < size - 1 ? t->name.len : size - 1;
  memcpy(buf, t->name.ptr, n);
  buf[n] = 0;
  return buf;
}

int pv_dequantize_tensor_row(const pv_gguf_tensor *t, uint64_t row, float *dst, pv_error *err) {
  char name[128];
  const uint8_t *p = pv_tensor_row_ptr(t, row);
  if (!p && pv_dtype_get(t->type))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "tensor '%s': row %llu out of range (%llu rows)",
                   tensor_name(t, name, sizeof name), (unsigned long long)row, (unsigned long long)tensor_rows(t));
  return pv_dequantize_row(t->type, p, dst, t->ne[0], tensor_name(t, name, sizeof name), err);
}

int pv_dequantize_tensor(const pv_gguf_tensor *t, float *dst, pv_error *err) {
  uint64_t rows = tensor_rows(t);
  for (uint64_t r = 0; r < rows; r++) {
    int rc = pv_dequantize_tensor_row(t, r, dst + r * t->ne[0], err);
    if (rc) return rc;
  }
  return PAGEDVK_OK;
}
