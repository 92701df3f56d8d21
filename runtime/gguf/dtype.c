/*
 * dtype.c — the table of tensor element types: name, elements per block, bytes per block and
 * whether quant.c can dequantize it. Numbers follow the GGUF/ggml type ids; a number missing from
 * the table is "unknown" and every caller reports it as such.
 *
 * Invariant: block_elems > 0 and block_bytes > 0 for every entry with a name, so size arithmetic
 * on known types never divides by zero.
 */
#include <ctype.h>
#include <string.h>

#include "gguf/dtype.h"

static const pv_dtype_info TABLE[PV_DTYPE_MAX] = {
  [PV_F32] = {"F32", 1, 4, true},
  [PV_F16] = {"F16", 1, 2, true},
  [PV_Q4_0] = {"Q4_0", 32, 18, true},   /* f16 d, 16 bytes of nibbles */
  [PV_Q4_1] = {"Q4_1", 32, 20, true},   /* f16 d, f16 m, 16 bytes of nibbles */
  [PV_Q5_0] = {"Q5_0", 32, 22, true},   /* f16 d, 4 bytes high bits, 16 bytes of nibbles */
  [PV_Q5_1] = {"Q5_1", 32, 24, true},   /* f16 d, f16 m, 4 bytes high bits, 16 bytes nibbles */
  [PV_Q8_0] = {"Q8_0", 32, 34, true},   /* f16 d, 32 int8 */
  [PV_Q8_1] = {"Q8_1", 32, 36, false},  /* f16 d, f16 s, 32 int8 */
  [PV_Q2_K] = {"Q2_K", 256, 84, false},
  [PV_Q3_K] = {"Q3_K", 256, 110, false},
  [PV_Q4_K] = {"Q4_K", 256, 144, true}, /* f16 d, f16 dmin, 12 bytes scales, 128 bytes nibbles */
  [PV_Q5_K] = {"Q5_K", 256, 176, true}, /* as Q4_K plus 32 bytes of high bits */
  [PV_Q6_K] = {"Q6_K", 256, 210, true}, /* 128 ql, 64 qh, 16 int8 scales, f16 d */
  [PV_Q8_K] = {"Q8_K", 256, 292, false},
  [PV_I8] = {"I8", 1, 1, false},
  [PV_I16] = {"I16", 1, 2, false},
  [PV_I32] = {"I32", 1, 4, false},
  [PV_I64] = {"I64", 1, 8, false},
  [PV_F64] = {"F64", 1, 8, false},
  [PV_BF16] = {"BF16", 1, 2, true},
};

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
