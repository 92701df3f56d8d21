/*
 * quantize.c — f32 → each type of gguf/quant.h, choosing scales (and mins) that minimise squared
 * error; the error bound each type is held to (quantize.h).
 *
 * Method, per group of values sharing a scale:
 *  - symmetric types (Q8_0, Q4_0, Q5_0, Q6_K sub-blocks) try several candidate inverse scales of
 *    both signs, round the values to the nearest level, fit the scale to those levels by least
 *    squares and keep the candidate with the smallest squared error;
 *  - types with a min (Q4_1, Q5_1, Q4_K/Q5_K sub-blocks) do the same over candidate scales of the
 *    range [min, max], fitting scale and offset jointly by least squares (for K-quants the offset
 *    is kept <= 0, as the format stores a non-negative min that is subtracted);
 *  - K-quants then quantize the sub-block scales and mins to 6 bits (int8 for Q6_K) against the
 *    super-block's f16 d/dmin, and every element is finally rounded to the nearest level of the
 *    scale and min *as the dequantizer will compute them* (after f16 and 6-bit rounding);
 *  - Q2_K and Q3_K work the same way on sub-blocks of 16 (Q2_K: 2-bit levels with a min and 4-bit
 *    scales and mins; Q3_K: symmetric levels -4..3 and signed 6-bit scales);
 *  - IQ4_NL / IQ4_XS map each value to the nearest of the sixteen non-linear levels
 *    (PV_IQ4_VALUES) times the scale; each run of 32 tries a range of candidate scales of both
 *    signs, refits the scale to the chosen levels by least squares and keeps the smallest error;
 *    IQ4_XS then quantizes the eight run scales to 6 bits against the super-block d and tries the
 *    neighbouring 6-bit values of each run, keeping the one with the smallest error.
 * Layouts are documented at the top of quant.c; this file writes exactly what that file reads.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "devkit/quantize.h"

#define QK 32
#define QK_K 256
#define N_CANDIDATES 8

static void st_f16(uint8_t *p, float v) {
  uint16_t h = pv_f32_to_f16(v);
  p[0] = (uint8_t)h;
  p[1] = (uint8_t)(h >> 8);
}

static float f16_round(float v) { return pv_f16_to_f32(pv_f32_to_f16(v)); }

static void st_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Nearest level of x / scale in [lo, hi]; 0 when the scale is 0. */
static int nearest(float x, float inv_scale, int lo, int hi) {
  return clampi((int)lrintf(x * inv_scale), lo, hi);
}

/* ---- scale search ----------------------------------------------------------------------- */

/* Best d for x ≈ d*q with integer q in [lo, hi]; returns d (0 for an all-zero group). */
static float fit_symmetric(const float *x, int n, int lo, int hi) {
  float amax = 0.0f;
  for (int i = 0; i < n; i++) amax = fmaxf(amax, fabsf(x[i]));
  if (amax == 0.0f) return 0.0f;
  float best_d = 0.0f;
  double best_err = INFINITY;
  for (int sign = -1; sign <= 1; sign += 2) {
    for (int k = 0; k < N_CANDIDATES; k++) {
      /* the largest magnitude maps to a level between |lo| - 0.5 and about 0.7 * |lo| */
      float levels = (float)(sign < 0 ? -lo : hi) + 0.49f - 0.12f * (float)k * (float)(-lo) / 8.0f;
      float inv = (float)sign * levels / amax;
      double sxq = 0, sqq = 0;
      for (int i = 0; i < n; i++) {
        int q = nearest(x[i], inv, lo, hi);
        sxq += (double)x[i] * q;
        sqq += (double)q * q;
      }
      if (sqq == 0) continue;
      /* with the least-squares d = sxq/sqq the squared error is sum(x^2) - sxq^2/sqq */
      double err = -sxq * sxq / sqq;
      if (err < best_err) { best_err = (float)err; best_d = (float)(sxq / sqq); }
    }
  }
  return best_d;
}

/* Best (s, b) for x ≈ s*q + b with integer q in [0, top]; when `min_le_zero`, b is kept <= 0. */
static void fit_affine(const float *x, int n, int top, bool min_le_zero, float *s_out, float *b_out) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; i++) { lo = fminf(lo, x[i]); hi = fmaxf(hi, x[i]); }
  if (min_le_zero && lo > 0.0f) lo = 0.0f;
  *s_out = 0.0f;
  *b_out = lo;
  if (hi <= lo) return;
  double best_err = INFINITY;
  for (int k = 0; k < N_CANDIDATES + 4; k++) {
    float inv = ((float)top + 0.45f - 0.1f * (float)k) / (hi - lo);
    double sq = 0, sqq = 0, sx = 0, sxq = 0;
    for (int i = 0; i < n; i++) {
      int q = clampi((int)lrintf((x[i] - lo) * inv), 0, top);
      sq += q; sqq += (double)q * q; sx += x[i]; sxq += (double)x[i] * q;
    }
    double det = n * sqq - sq * sq, s = 0, b = sx / n; /* all levels equal: the mean fits best */
    if (det > 0) {
      s = (n * sxq - sx * sq) / det;
      b = (sx - s * sq) / n;
    }
    if (min_le_zero && b > 0) {
      b = 0;
      s = sqq > 0 ? sxq / sqq : 0;
    }
    if (s < 0) continue;
    /* sum (x - s*q - b)^2 without the constant sum(x^2) */
    double err = s * s * sqq + n * b * b - 2 * s * sxq - 2 * b * sx + 2 * s * b * sq;
    if (err < best_err) { best_err = err; *s_out = (float)s; *b_out = (float)b; }
  }
}

/* ---- 32-element blocks ------------------------------------------------------------------ */

static void q_q8_0(const float *x, uint8_t *b) {
  float d = f16_round(fit_symmetric(x, QK, -127, 127));
  st_f16(b, d);
  float inv = d != 0.0f ? 1.0f / d : 0.0f;
  for (int i = 0; i < QK; i++) b[2 + i] = (uint8_t)(int8_t)nearest(x[i], inv, -127, 127);
}

/* Symmetric 4/5-bit: stores q + offset in qs nibbles (and bit 4 in qh when 5-bit). */
static void pack_sym(const float *x, int bits, uint8_t *d_at, uint8_t *qh_at, uint8_t *qs) {
  int off = 1 << (bits - 1);
  float d = f16_round(fit_symmetric(x, QK, -off, off - 1));
  st_f16(d_at, d);
  float inv = d != 0.0f ? 1.0f / d : 0.0f;
  uint32_t qh = 0;
  memset(qs, 0, 16);
  for (int i = 0; i < QK; i++) {
    int q = nearest(x[i], inv, -off, off - 1) + off;
    qs[i % 16] |= (uint8_t)((q & 0xf) << (i < 16 ? 0 : 4));
    qh |= (uint32_t)((q >> 4) & 1) << i;
  }
  if (qh_at) st_u32(qh_at, qh);
}

static void q_q4_0(const float *x, uint8_t *b) { pack_sym(x, 4, b, NULL, b + 2); }
static void q_q5_0(const float *x, uint8_t *b) { pack_sym(x, 5, b, b + 2, b + 6); }

/* Affine 4/5-bit: y = d*q + m. */
static void pack_affine(const float *x, int bits, uint8_t *b, uint8_t *qh_at, uint8_t *qs) {
  int top = (1 << bits) - 1;
  float s, m;
  fit_affine(x, QK, top, false, &s, &m);
  float d = f16_round(s), mm = f16_round(m);
  st_f16(b, d);
  st_f16(b + 2, mm);
  float inv = d != 0.0f ? 1.0f / d : 0.0f;
  uint32_t qh = 0;
  memset(qs, 0, 16);
  for (int i = 0; i < QK; i++) {
    int q = nearest(x[i] - mm, inv, 0, top);
    qs[i % 16] |= (uint8_t)((q & 0xf) << (i < 16 ? 0 : 4));
    qh |= (uint32_t)((q >> 4) & 1) << i;
  }
  if (qh_at) st_u32(qh_at, qh);
}

static void q_q4_1(const float *x, uint8_t *b) { pack_affine(x, 4, b, NULL, b + 4); }
static void q_q5_1(const float *x, uint8_t *b) { pack_affine(x, 5, b, b + 4, b + 8); }

/* ---- K-quants -------------------------------------------------------------------------- */

static void pack_k_scales(const uint8_t sc[8], const uint8_t m[8], uint8_t s[12]) {
  for (int j = 0; j < 4; j++) {
    s[j] = (uint8_t)(sc[j] | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = (uint8_t)(m[j] | ((m[j + 4] >> 4) << 6));
    s[j + 8] = (uint8_t)((sc[j + 4] & 0xf) | ((m[j + 4] & 0xf) << 4));
  }
}

/* Q4_K (bits 4) and Q5_K (bits 5): qh NULL for Q4_K. */
static void q_k_4or5(const float *x, int bits, uint8_t *b, uint8_t *qh, uint8_t *qs) {
  int top = (1 << bits) - 1;
  float s[8], mn[8], smax = 0.0f, mmax = 0.0f;
  for (int j = 0; j < 8; j++) {
    float off;
    fit_affine(x + 32 * j, 32, top, true, &s[j], &off);
    mn[j] = -off;
    smax = fmaxf(smax, s[j]);
    mmax = fmaxf(mmax, mn[j]);
  }
  float d = f16_round(smax / 63.0f), dmin = f16_round(mmax / 63.0f);
  st_f16(b, d);
  st_f16(b + 2, dmin);
  uint8_t sc[8], m[8];
  for (int j = 0; j < 8; j++) {
    sc[j] = (uint8_t)(d > 0 ? clampi((int)lrintf(s[j] / d), 0, 63) : 0);
    m[j] = (uint8_t)(dmin > 0 ? clampi((int)lrintf(mn[j] / dmin), 0, 63) : 0);
  }
  pack_k_scales(sc, m, b + 4);
  memset(qs, 0, 128);
  if (qh) memset(qh, 0, 32);
  for (int j = 0; j < 8; j++) {
    float dj = d * (float)sc[j], mj = dmin * (float)m[j]; /* exactly as dequantized */
    float inv = dj != 0.0f ? 1.0f / dj : 0.0f;
    int c = j / 2, high = j & 1;
    for (int l = 0; l < 32; l++) {
      int q = nearest(x[32 * j + l] + mj, inv, 0, top);
      qs[32 * c + l] |= (uint8_t)((q & 0xf) << (4 * high));
      if (qh) qh[l] |= (uint8_t)(((q >> 4) & 1) << j);
    }
  }
}

static void q_q4_k(const float *x, uint8_t *b) { q_k_4or5(x, 4, b, NULL, b + 16); }
static void q_q5_k(const float *x, uint8_t *b) { q_k_4or5(x, 5, b, b + 16, b + 48); }

static void q_q6_k(const float *x, uint8_t *b) {
  uint8_t *ql = b, *qh = b + 128;
  int8_t *scales = (int8_t *)(b + 192);
  float s[16], amax = 0.0f;
  for (int j = 0; j < 16; j++) {
    s[j] = fit_symmetric(x + 16 * j, 16, -32, 31);
    amax = fmaxf(amax, fabsf(s[j]));
  }
  float d = f16_round(amax / 127.0f);
  st_f16(b + 208, d);
  for (int j = 0; j < 16; j++) scales[j] = (int8_t)(d > 0 ? clampi((int)lrintf(s[j] / d), -127, 127) : 0);
  memset(ql, 0, 128);
  memset(qh, 0, 64);
  for (int e = 0; e < QK_K; e++) {
    float dj = d * (float)scales[e / 16];
    int q = nearest(x[e], dj != 0.0f ? 1.0f / dj : 0.0f, -32, 31) + 32;
    int h = e / 128, k = (e % 128) / 32, l = e % 32;
    ql[64 * h + l + 32 * (k & 1)] |= (uint8_t)((q & 0xf) << (k < 2 ? 0 : 4));
    qh[32 * h + l] |= (uint8_t)((q >> 4) << (2 * k));
  }
}

/* Q2_K: sixteen sub-blocks of 16, x ~ (d*sc)*q - dmin*m with q 0..3, sc and m 4 bits. */
static void q_q2_k(const float *x, uint8_t *b) {
  float s[16], mn[16], smax = 0.0f, mmax = 0.0f;
  for (int j = 0; j < 16; j++) {
    float off;
    fit_affine(x + 16 * j, 16, 3, true, &s[j], &off);
    mn[j] = -off;
    smax = fmaxf(smax, s[j]);
    mmax = fmaxf(mmax, mn[j]);
  }
  float d = f16_round(smax / 15.0f), dmin = f16_round(mmax / 15.0f);
  st_f16(b + 80, d);
  st_f16(b + 82, dmin);
  uint8_t *qs = b + 16;
  memset(qs, 0, 64);
  for (int j = 0; j < 16; j++) {
    int sc = d > 0 ? clampi((int)lrintf(s[j] / d), 0, 15) : 0;
    int m = dmin > 0 ? clampi((int)lrintf(mn[j] / dmin), 0, 15) : 0;
    b[j] = (uint8_t)(sc | m << 4);
    float dj = d * (float)sc, mj = dmin * (float)m; /* exactly as dequantized */
    float inv = dj != 0.0f ? 1.0f / dj : 0.0f;
    for (int l = 0; l < 16; l++) {
      int e = 16 * j + l, h = e / 128, jj = (e % 128) / 32, ll = e % 32;
      qs[32 * h + ll] |= (uint8_t)(nearest(x[e] + mj, inv, 0, 3) << (2 * jj));
    }
  }
}

/* Q3_K: sixteen sub-blocks of 16, x ~ (d*sc)*q with q -4..3 and sc -32..31. */
static void q_q3_k(const float *x, uint8_t *b) {
  float s[16], amax = 0.0f;
  for (int j = 0; j < 16; j++) {
    s[j] = fit_symmetric(x + 16 * j, 16, -4, 3);
    amax = fmaxf(amax, fabsf(s[j]));
  }
  float d = f16_round(amax / 31.0f);
  st_f16(b + 108, d);
  uint8_t *hm = b, *qs = b + 32, *sb = b + 96;
  memset(b, 0, 108);
  for (int j = 0; j < 16; j++) {
    int sc = d > 0 ? clampi((int)lrintf(s[j] / d), -32, 31) : 0;
    int u = sc + 32; /* stored: low 4 bits in nibble j/8 of byte j%8, high 2 bits in byte 8 + j%4 */
    sb[j % 8] |= (uint8_t)((u & 0xf) << (4 * (j / 8)));
    sb[8 + j % 4] |= (uint8_t)((u >> 4) << (2 * (j / 4)));
    float dj = d * (float)sc;
    float inv = dj != 0.0f ? 1.0f / dj : 0.0f;
    for (int l = 0; l < 16; l++) {
      int e = 16 * j + l, h = e / 128, jj = (e % 128) / 32, ll = e % 32;
      int q = nearest(x[e], inv, -4, 3) + 4; /* 0..7: bit 2 goes to hmask (set: no -4) */
      qs[32 * h + ll] |= (uint8_t)((q & 3) << (2 * jj));
      hm[ll] |= (uint8_t)((q >> 2) << (4 * h + jj));
    }
  }
}

/* ---- IQ4 --------------------------------------------------------------------------------- */

/* Index of the level d*PV_IQ4_VALUES[i] nearest to x (computed as the dequantizer does). */
static int iq4_nearest(float x, float d) {
  int best = 0;
  float best_e = INFINITY;
  for (int i = 0; i < 16; i++) {
    float e = fabsf(x - d * (float)PV_IQ4_VALUES[i]);
    if (e < best_e) { best_e = e; best = i; }
  }
  return best;
}

/* Squared error of 32 values at scale d (nearest levels). */
static double iq4_error(const float *x, float d) {
  double err = 0;
  for (int i = 0; i < QK; i++) {
    double r = (double)x[i] - (double)(d * (float)PV_IQ4_VALUES[iq4_nearest(x[i], d)]);
    err += r * r;
  }
  return err;
}

/* The best scale for 32 values: candidates map the largest magnitude to levels near either end of
 * the table (both signs), each refitted by least squares to its levels; no rounding of d. */
static float iq4_fit(const float *x) {
  float amax = 0.0f;
  for (int i = 0; i < QK; i++) amax = fmaxf(amax, fabsf(x[i]));
  if (amax == 0.0f) return 0.0f;
  float best_d = 0.0f;
  double best_err = INFINITY;
  for (int k = -9; k <= 9; k++) {
    if (k == 0) continue;
    /* |k| 1..9: the largest value lands between 1.3 and 0.75 of the outermost level */
    float d = (k > 0 ? 1.0f : -1.0f) * amax / (127.0f * (1.3f - 0.0625f * (float)(abs(k) - 1)));
    for (int it = 0; it < 2; it++) {
      double sxv = 0, svv = 0;
      for (int i = 0; i < QK; i++) {
        double v = PV_IQ4_VALUES[iq4_nearest(x[i], d)];
        sxv += x[i] * v;
        svv += v * v;
      }
      double err = iq4_error(x, d);
      if (err < best_err) { best_err = err; best_d = d; }
      if (svv == 0) break;
      d = (float)(sxv / svv);
    }
    double err = iq4_error(x, d);
    if (err < best_err) { best_err = err; best_d = d; }
  }
  return best_d;
}

static void iq4_pack(const float *x, float d, uint8_t *qs) {
  for (int i = 0; i < 16; i++)
    qs[i] = (uint8_t)(iq4_nearest(x[i], d) | iq4_nearest(x[i + 16], d) << 4);
}

static void q_iq4_nl(const float *x, uint8_t *b) {
  float d = f16_round(iq4_fit(x));
  st_f16(b, d);
  iq4_pack(x, d, b + 2);
}

static void q_iq4_xs(const float *x, uint8_t *b) {
  float s[8], amax = 0.0f;
  for (int r = 0; r < 8; r++) {
    s[r] = iq4_fit(x + 32 * r);
    amax = fmaxf(amax, fabsf(s[r]));
  }
  float d = f16_round(amax / 31.0f);
  st_f16(b, d);
  unsigned sh = 0;
  memset(b + 4, 0, 4);
  for (int r = 0; r < 8; r++) {
    int l0 = d > 0 ? clampi((int)lrintf(s[r] / d), -32, 31) : 0, best = l0;
    double best_err = INFINITY;
    for (int l = l0 - 1; l <= l0 + 1; l++) {
      if (l < -32 || l > 31) continue;
      double err = iq4_error(x + 32 * r, d * (float)l); /* the run scale as dequantized */
      if (err < best_err) { best_err = err; best = l; }
    }
    int ls = best + 32;
    b[4 + r / 2] |= (uint8_t)((ls & 0xf) << (4 * (r & 1)));
    sh |= (unsigned)(ls >> 4) << (2 * r);
    iq4_pack(x + 32 * r, d * (float)best, b + 8 + 16 * r);
  }
  b[2] = (uint8_t)sh;
  b[3] = (uint8_t)(sh >> 8);
}

/* ---- plain float types --------------------------------------------------------------------- */

static void q_f32(const float *x, uint8_t *b) { memcpy(b, x, 4); }
static void q_f16(const float *x, uint8_t *b) { st_f16(b, *x); }
static void q_bf16(const float *x, uint8_t *b) {
  uint16_t h = pv_f32_to_bf16(*x);
  b[0] = (uint8_t)h;
  b[1] = (uint8_t)(h >> 8);
}

typedef void (*quant_fn)(const float *x, uint8_t *block);

static quant_fn quantizer(pv_dtype type) {
  switch (type) {
    case PV_F32: return q_f32;
    case PV_F16: return q_f16;
    case PV_BF16: return q_bf16;
    case PV_Q8_0: return q_q8_0;
    case PV_Q4_0: return q_q4_0;
    case PV_Q4_1: return q_q4_1;
    case PV_Q5_0: return q_q5_0;
    case PV_Q5_1: return q_q5_1;
    case PV_Q4_K: return q_q4_k;
    case PV_Q5_K: return q_q5_k;
    case PV_Q6_K: return q_q6_k;
    case PV_Q2_K: return q_q2_k;
    case PV_Q3_K: return q_q3_k;
    case PV_IQ4_NL: return q_iq4_nl;
    case PV_IQ4_XS: return q_iq4_xs;
    default: return NULL;
  }
}

int pv_quantize_row(pv_dtype type, const float *src, void *dst, uint64_t n, pv_error *err) {
  return pv_quantize_rows(type, src, dst, n, 1, err);
}

int pv_quantize_rows(pv_dtype type, const float *src, void *dst, uint64_t n_per_row, uint64_t nrows,
                     pv_error *err) {
  quant_fn fn = quantizer(type);
  const pv_dtype_info *info = pv_dtype_get((uint32_t)type);
  const char *name = info ? info->name : NULL;
  if (!fn) {
    if (name) return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "quantize: type %s (%u) has no quantizer", name, (unsigned)type);
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "quantize: unknown tensor type number %u", (unsigned)type);
  }
  uint64_t total;
  if (n_per_row % info->block_elems || !pv_mul_u64(n_per_row, nrows, &total))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "quantize: row of %llu elements is not a whole number of %s blocks of %u",
                   (unsigned long long)n_per_row, name, info->block_elems);
  uint8_t *b = dst;
  for (uint64_t i = 0; i < total; i += info->block_elems, b += info->block_bytes) fn(src + i, b);
  return PAGEDVK_OK;
}

double pv_quant_error_bound(pv_dtype type) {
  switch (type) {
    case PV_F32: return PV_QERR_F32;
    case PV_F16: return PV_QERR_F16;
    case PV_BF16: return PV_QERR_BF16;
    case PV_Q8_0: return PV_QERR_Q8_0;
    case PV_Q4_0: return PV_QERR_Q4_0;
    case PV_Q4_1: return PV_QERR_Q4_1;
    case PV_Q5_0: return PV_QERR_Q5_0;
    case PV_Q5_1: return PV_QERR_Q5_1;
    case PV_Q4_K: return PV_QERR_Q4_K;
    case PV_Q5_K: return PV_QERR_Q5_K;
    case PV_Q6_K: return PV_QERR_Q6_K;
    case PV_Q2_K: return PV_QERR_Q2_K;
    case PV_Q3_K: return PV_QERR_Q3_K;
    case PV_IQ4_NL: return PV_QERR_IQ4_NL;
    case PV_IQ4_XS: return PV_QERR_IQ4_XS;
    default: return -1.0;
  }
}
