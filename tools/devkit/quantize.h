/*
 * quantize.h — the dev kit's error-minimising quantizers (f32 → the types of gguf/quant.h) and the
 * error each type is allowed. Used by mkmodel, the kernel bench and the tests; not part of
 * libpagedvk, which only reads quantized weights (gguf/quant.h).
 *
 * Quantization error bounds (relative RMS error sqrt(sum (x-y)^2 / sum x^2) on rows of i.i.d.
 * normal data, checked by tests/model/test_quant.c; typical values are about 20% lower):
 */
#ifndef PV_DEVKIT_QUANTIZE_H
#define PV_DEVKIT_QUANTIZE_H

#include <stdint.h>

#include "base/base.h"
#include "gguf/dtype.h"
#include "gguf/quant.h"

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
#define PV_QERR_Q2_K 0.33
#define PV_QERR_Q3_K 0.20
#define PV_QERR_IQ4_NL 0.090
#define PV_QERR_IQ4_XS 0.090

/* The bound above for a type (negative for types without a quantizer). */
double pv_quant_error_bound(pv_dtype type);

/* Quantizes n elements (a multiple of the block size) of src into dst (pv_dtype_row_bytes bytes),
 * choosing each block's scale (and min) to minimise the squared error. Errors:
 * PAGEDVK_ERR_UNSUPPORTED for a type without a quantizer (those without pv_quant_supported),
 * PAGEDVK_ERR_INVALID when n is not a whole number of blocks. */
int pv_quantize_row(pv_dtype type, const float *src, void *dst, uint64_t n, pv_error *err);
/* Quantizes nrows rows of n_per_row elements each (rows contiguous in src and in dst). */
int pv_quantize_rows(pv_dtype type, const float *src, void *dst, uint64_t n_per_row, uint64_t nrows,
                     pv_error *err);

#endif /* PV_DEVKIT_QUANTIZE_H */
