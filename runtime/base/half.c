/* half.c — IEEE binary16 and bfloat16 conversions, exact and without lookup tables. */
#include <string.h>

#include "base/base.h"

static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float pv_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t man = h & 0x3ff;
  if (exp == 0) {
    /* zero or subnormal: man * 2^-24 */
    float v = (float)man * (1.0f / 16777216.0f);
    return (sign ? -v : v);
  }
  if (exp == 31) return bits_f32(sign | 0x7f800000u | (man << 13)); /* inf / nan */
  return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t pv_f32_to_f16(float f) {
  uint32_t u = f32_bits(f);
  uint32_t sign = (u >> 16) & 0x8000;
  uint32_t abs = u & 0x7fffffffu;
  if (abs >= 0x7f800000u) /* inf or nan */
    return (uint16_t)(sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 : 0));
  if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* rounds to >= 65520: inf */
  if (abs < 0x38800000u) {
    /* result is subnormal or zero: round abs / 2^-24 to nearest even integer */
    float a = bits_f32(abs) * 16777216.0f;
    uint32_t i = (uint32_t)a;
    float frac = a - (float)i;
    if (frac > 0.5f || (frac == 0.5f && (i & 1))) i++;
    return (uint16_t)(sign | i);
  }
  uint32_t exp = (abs >> 23) - 112;
  uint32_t man = abs & 0x7fffff;
  uint32_t h = (exp << 10) | (man >> 13);
  uint32_t rest = man & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++; /* carries into exponent correctly */
  return (uint16_t)(sign | h);
}

float pv_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t pv_f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet nan */
  u += 0x7fff + ((u >> 16) & 1);
  return (uint16_t)(u >> 16);
}
