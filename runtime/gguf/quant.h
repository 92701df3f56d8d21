/*
 * quant.h — exact CPU dequantizers, error-minimising quantizers and an on-the-fly dot product for
 * the tensor types of dtype.h: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K.
 *
 * Dequantization is exact: each output float is computed from the block's fields with the same
 * float operations in the same order as the format defines them (e.g. Q4_K: (d*sc)*q - (dmin*m)),
 * so a GPU shader doing the same arithmetic gets bit-identical values.
 *
 * Quantization error bounds (relative RMS error sqrt(sum (x-y)^2 / sum x^2) on rows of i.i.d.
 * normal data, checked by tests/model/test_quant.c; typical values are about 20% lower):
 */
#ifndef PV_QUANT_H
#define PV_QUANT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "gguf/dtype.h"
#include "gguf/gguf.h"

#define PV_QERR_F32 0.0
#define PV_QERR_F16 4e-4
#define PV_QERR_BF16 3e-3
#define PV_QERR_Q8_0 6e-3
#define PV_QERR_Q4_0 0.105
#define PV_QERR_Q4_1 0.095
#define PV_QERR_Q5_0 0.052
#define PV_QERR_Q5_1 0.047
#define PV_QERR_Q4_K 0.090
#define PV_QERR_Q5_K 0.045
#define PV_QERR_Q6_K 0.022

/* The bound above for a type (negative for types without a quantizer). */
double pv_quant_error_bound(pv_dtype type);
/* True for the eleven types listed at the top (those with both a dequantizer and a quantizer). */
bool pv_quant_supported(pv_dtype type);

/* Dequantizes n elements (a multiple of the type's block size) from src into dst.
 * `what` names the tensor in error messages (may be NULL). Errors: PAGEDVK_ERR_UNSUPPORTED for a
 * type without a dequantizer, PAGEDVK_ERR_INVALID when n is not a whole number of blocks. */
int pv_dequantize_row(pv_dtype type, const void *src, float *dst, uint64_t n, const char *what, pv_error *err);

/* Quantizes n elements (a multiple of the block size) of src into dst (pv_dtype_row_bytes bytes),
 * choosing each block's scale (and min) to minimise the squared error. */
int pv_quantize_row(pv_dtype type, const float *src, void *dst, uint64_t n, pv_error *err);
/* Quantizes nrows rows of n_per_row elements each (rows contiguous in src and in dst). */
int pv_quantize_rows(pv_dtype type, const float *src, void *dst, uint64_t n_per_row, uint64_t nrows,
                     pv_error *err);

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

/* Unpacks the twelve bytes of Q4_K/Q5_K scales into 8 six-bit scales and 8 six-bit mins. */
void pv_unpack_k_scales(const uint8_t s[12], uint8_t sc[8], uint8_t m[8]);

#endif /* PV_QUANT_H */
