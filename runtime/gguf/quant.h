/*
 * quant.h — exact CPU dequantizers and an on-the-fly dot product for the tensor types of dtype.h:
 * F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS
 * (wtypes.def's CPU column).
 *
 * Dequantization is exact: each output float is computed from the block's fields with the same
 * float operations in the same order as the format defines them (e.g. Q4_K: (d*sc)*q - (dmin*m)),
 * so a GPU shader doing the same arithmetic gets bit-identical values.
 *
 * The quantizers (f32 → these types) and their error bounds are dev-kit code, not serving code:
 * tools/devkit/quantize.h.
 */
#ifndef PV_QUANT_H
#define PV_QUANT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "gguf/dtype.h"
#include "gguf/gguf.h"

/* True for the fifteen types listed at the top (those with a dequantizer; the dev kit's quantizers
 * cover the same types). */
bool pv_quant_supported(pv_dtype type);

/* Dequantizes n elements (a multiple of the type's block size) from src into dst.
 * `what` names the tensor in error messages (may be NULL). Errors: PAGEDVK_ERR_UNSUPPORTED for a
 * type without a dequantizer, PAGEDVK_ERR_INVALID when n is not a whole number of blocks. */
int pv_dequantize_row(pv_dtype type, const void *src, float *dst, uint64_t n, const char *what, pv_error *err);

/* Dot product of a quantized row of n elements with x, dequantizing on the fly (accumulated in
 * double). Same errors as pv_dequantize_row. */
int pv_dot_row(pv_dtype type, const void *row, const float *x, uint64_t n, float *out, const char *what,
               pv_error *err);

/* Whole tensor (ne[0]*ne[1]*ne[2]*ne[3] floats into dst) and one row (ne[0] floats) of a tensor
 * from an opened GGUF file; rows are numbered across ne[1..3]. */
int pv_dequantize_tensor(const pv_gguf_tensor *t, float *dst, pv_error *err);
int pv_dequantize_tensor_row(const pv_gguf_tensor *t, uint64_t row, float *dst, pv_error *err);
/* Address of row `row` of a tensor (NULL when out of range). */
const uint8_t *pv_tensor_row_ptr(const pv_gguf_tensor *t, uint64_t row);

/* The sixteen levels of IQ4_NL and IQ4_XS (format data: element = scale * IQ4_VALUES[nibble]). */
extern const int8_t PV_IQ4_VALUES[16];

/* Unpacks the twelve bytes of Q4_K/Q5_K scales into 8 six-bit scales and 8 six-bit mins. */
void pv_unpack_k_scales(const uint8_t s[12], uint8_t sc[8], uint8_t m[8]);

#endif /* PV_QUANT_H */
