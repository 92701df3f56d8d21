/*
 * dtype.h — tensor element types, numbered as GGUF/ggml number them, with their block layouts.
 * Dequantizers and quantizers live in quant.h.
 */
#ifndef PV_DTYPE_H
#define PV_DTYPE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum pv_dtype {
  PV_F32 = 0, PV_F16 = 1, PV_Q4_0 = 2, PV_Q4_1 = 3,
  PV_Q5_0 = 6, PV_Q5_1 = 7, PV_Q8_0 = 8, PV_Q8_1 = 9,
  PV_Q2_K = 10, PV_Q3_K = 11, PV_Q4_K = 12, PV_Q5_K = 13, PV_Q6_K = 14, PV_Q8_K = 15,
  PV_I8 = 24, PV_I16 = 25, PV_I32 = 26, PV_I64 = 27, PV_F64 = 28,
  PV_BF16 = 30,
  PV_DTYPE_MAX = 64
} pv_dtype;

typedef struct pv_dtype_info {
  const char *name;     /* "Q4_K" */
  uint32_t block_elems; /* elements per block (1 for F32/F16/BF16, 32, or 256 for K-quants) */
  uint32_t block_bytes; /* bytes per block */
  bool supported;       /* we can dequantize it (F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K) */
} pv_dtype_info;

/* NULL for a number that is no known type. */
const pv_dtype_info *pv_dtype_get(uint32_t type);
/* Bytes of a row of n elements; false when n is not a multiple of the block size. */
bool pv_dtype_row_bytes(pv_dtype type, uint64_t n, uint64_t *bytes);
/* Name of a type number, "type 17" style text for unknown numbers is the caller's job: NULL when unknown. */
const char *pv_dtype_name(uint32_t type);
/* Parses "Q4_K" / "q4_k" / "f16"; false when no known type has that name. */
bool pv_dtype_from_name(const char *name, pv_dtype *out);

#endif
