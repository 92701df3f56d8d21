/*
 * dtype.c — the table of tensor element types, generated from wtypes.def: name, shader suffix,
 * elements per block, bytes per block, whether quant.c can dequantize it and whether the weight
 * kernels exist for it. Numbers follow the GGUF/ggml type ids; a number missing from
 * the table is "unknown" and every caller reports it as such.
 *
 * Invariant: block_elems > 0 and block_bytes > 0 for every entry with a name, so size arithmetic
 * on known types never divides by zero.
 */
#include <ctype.h>
#include <string.h>

#include "gguf/dtype.h"

static const pv_dtype_info TABLE[PV_DTYPE_MAX] = {
#define PV_WTYPE(E, ID, SUFFIX, BLOCK_ELEMS, BLOCK_BYTES, CPU, GPU) \
  [ID] = {#E, #SUFFIX, BLOCK_ELEMS, BLOCK_BYTES, CPU, GPU},
#include "gguf/wtypes.def"
#undef PV_WTYPE
};

/* Every id fits the table (a row past PV_DTYPE_MAX fails to compile here). */
#define PV_WTYPE(E, ID, SUFFIX, BLOCK_ELEMS, BLOCK_BYTES, CPU, GPU) \
  _Static_assert(ID < PV_DTYPE_MAX && BLOCK_ELEMS > 0 && BLOCK_BYTES > 0, #E ": id or block size out of range");
#include "gguf/wtypes.def"
#undef PV_WTYPE

const pv_dtype_info *pv_dtype_get(uint32_t type) {
  if (type >= PV_DTYPE_MAX || !TABLE[type].name) return NULL;
  return &TABLE[type];
}

const char *pv_dtype_name(uint32_t type) {
  const pv_dtype_info *info = pv_dtype_get(type);
  return info ? info->name : NULL;
}

bool pv_dtype_row_bytes(pv_dtype type, uint64_t n, uint64_t *bytes) {
  const pv_dtype_info *info = pv_dtype_get((uint32_t)type);
  if (!info || n % info->block_elems) return false;
  return !__builtin_mul_overflow(n / info->block_elems, (uint64_t)info->block_bytes, bytes);
}

bool pv_dtype_from_name(const char *name, pv_dtype *out) {
  for (uint32_t t = 0; t < PV_DTYPE_MAX; t++) {
    const char *tn = TABLE[t].name;
    if (!tn || strlen(tn) != strlen(name)) continue;
    size_t i = 0;
    while (tn[i] && toupper((unsigned char)name[i]) == tn[i]) i++;
    if (!tn[i]) { *out = (pv_dtype)t; return true; }
  }
  return false;
}
