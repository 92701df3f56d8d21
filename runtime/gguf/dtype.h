/*
 * dtype.h — tensor element types, numbered as GGUF/ggml number them, with their block layouts.
 * The enum and the table are generated from wtypes.def (the one list of types); dequantizers and
 * quantizers live in quant.h.
 */
#ifndef PV_DTYPE_H
#define PV_DTYPE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum pv_dtype {
#define PV_WTYPE(E, ID, SUFFIX, BLOCK_ELEMS, BLOCK_BYTES, CPU, GPU) PV_##E = ID,
#include "gguf/wtypes.def"
#undef PV_WTYPE
  PV_DTYPE_MAX = 64
} pv_dtype;

typedef struct pv_dtype_info {
  const char *name;     /* "Q4_K" */
  const char *suffix;   /* "q4_k": shader variant suffix and CLI spelling */
  uint32_t block_elems; /* elements per block (1 for F32/F16/BF16, 32, or 256 for K-quants) */
  uint32_t block_bytes; /* bytes per block */
  bool supported;       /* quant.c can dequantize it (wtypes.def's CPU column) */
  bool gpu;             /* the weight kernels (matmul, matmul_swiglu, embed) exist for it (GPU column) */
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
