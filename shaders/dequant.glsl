// dequant.glsl — dequantize weights in units of 32 consecutive elements of a row, for the GGUF
// block layouts. The including shader declares an array of weight buffers
//   layout(std430, binding = B) readonly buffer WeightBuf { uint d[]; } WB[n];
// or, with WEIGHTS_TEXEL, `layout(binding = B) uniform usamplerBuffer WT[n];`
// and defines WTYPE as one of the WT_* numbers of wtypes.glsl (a build-time variant per type,
// generated from runtime/gguf/wtypes.def).
//
//   void dq_unit(uint wb, uint row_byte, uint u, out float v[32])
//     wb: which buffer of WB; row_byte: byte offset of the row; u: 32-element unit in the row.
//
// Layouts (bytes): Q4_0 {f16 d; u8 qs[16]}            v = (q - 8) d
//                  Q4_1 {f16 d, m; u8 qs[16]}          v = q d + m
//                  Q5_0 {f16 d; u32 qh; u8 qs[16]}     v = (q | hbit<<4) d - 16 d
//                  Q5_1 {f16 d, m; u32 qh; u8 qs[16]}  v = (q | hbit<<4) d + m
//                  Q8_0 {f16 d; i8 qs[32]}             v = q d
//                  Q4_K {f16 d, dmin; u8 scales[12]; u8 qs[128]}  256 elements, 8 sub-blocks
//                  Q5_K {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}
//                  Q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}
//                  Q2_K {u8 scales[16]; u8 qs[64]; f16 d, dmin}    256 elements, 16 sub-blocks
//                  Q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}
//                  IQ4_NL {f16 d; u8 qs[16]}           v = d IQ4[q] (q: nibbles as in Q4_0)
//                  IQ4_XS {f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]}  8 IQ4_NL-like runs
// (runtime/gguf/quant.c documents each layout element by element; every branch here does the
// same float operations in the same order, so the values are bit-identical to the C ones.)
// In Q4_0..Q5_1 elements 0..15 are the low nibbles of qs and 16..31 the high nibbles.
#ifndef PV_DEQUANT_GLSL
#define PV_DEQUANT_GLSL
#include "common.glsl"

#ifndef WTYPE
#error "WTYPE: the GGUF number of the weight type (cmake/shaders.cmake defines it per variant)"
#endif
// WT_<TYPE> numbers, WT_BLOCK_ELEMS and WT_BLOCK_BYTES of WTYPE: generated from wtypes.def.
#include "wtypes.glsl"

// Weight words come from storage buffers WB[] or, with WEIGHTS_TEXEL, from uniform texel buffers
// WT[] of R32_UINT: lavapipe turns texelFetch into vector gathers but storage-buffer loads into a
// loop over lanes, so the texel path is several times faster there; GPUs read both well.
#ifdef WEIGHTS_TEXEL
// WT[] views are RGBA32_UINT: one fetch gives 16 bytes. Whole-unit paths below fetch uvec4s
// (their rows are 16-byte aligned; the host checks); the others pick a word out of a fetch.
// WT is indexed with constants only (wb is 0 or 1, WT_COUNT the array's length): indexing an
// array of texel buffers with a variable needs a device feature.
#define WFETCH(wb, t) ((wb) == 0u ? texelFetch(WT[0], int(t)) : texelFetch(WT[WT_COUNT - 1], int(t)))
#define WLOAD(wb, i) WFETCH(wb, (i) >> 2)[(i) & 3u]
#define WLOAD4(wb, i4) WFETCH(wb, i4)
#else
#define WLOAD(wb, i) WB[wb].d[i]
#endif

uint rd8(uint wb, uint byte) { return byte_of(WLOAD(wb, byte >> 2), byte & 3u); }
// 16-bit value at an even byte offset.
uint rd16(uint wb, uint byte) { return (WLOAD(wb, byte >> 2) >> ((byte & 2u) * 8u)) & 0xffffu; }
float rdh(uint wb, uint byte) { return unpackHalf2x16(rd16(wb, byte)).x; }
// 32-bit value at an even byte offset.
uint rd32u(uint wb, uint byte) {
  if ((byte & 2u) == 0u) return WLOAD(wb, byte >> 2);
  return (WLOAD(wb, byte >> 2) >> 16) | (WLOAD(wb, (byte >> 2) + 1u) << 16);
}

// Q4_K / Q5_K: 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes at `sb`.
void scale_min_k4(uint wb, uint sb, uint j, out float sc, out float mn) {
  if (j < 4u) {
    sc = float(rd8(wb, sb + j) & 63u);
    mn = float(rd8(wb, sb + j + 4u) & 63u);
  } else {
    sc = float((rd8(wb, sb + j + 4u) & 0xfu) | ((rd8(wb, sb + j - 4u) >> 6) << 4));
    mn = float((rd8(wb, sb + j + 4u) >> 4) | ((rd8(wb, sb + j) >> 6) << 4));
  }
}

#ifdef WEIGHTS_TEXEL
// Byte k (0..11) of the 12 packed scale bytes held in words s[0..2].
uint scale_byte(uvec3 s, uint k) { return (s[k >> 2] >> (8u * (k & 3u))) & 0xffu; }

void scale_min_k4_words(uvec3 s, uint j, out float sc, out float mn) {
  if (j < 4u) {
    sc = float(scale_byte(s, j) & 63u);
    mn = float(scale_byte(s, j + 4u) & 63u);
  } else {
    sc = float((scale_byte(s, j + 4u) & 0xfu) | ((scale_byte(s, j - 4u) >> 6) << 4));
    mn = float((scale_byte(s, j + 4u) >> 4) | ((scale_byte(s, j) >> 6) << 4));
  }
}
#endif

#ifdef WEIGHTS_TEXEL
// The 8 little-endian words of the 32 bytes at `byte` (even). Three texel reads: the first and the
// last texel holding those bytes and the one between (the same texel twice when `byte` is aligned).
void words32_at(uint wb, uint byte, out uint w[8]) {
  uint t0 = byte >> 4;
  uvec4 a = WLOAD4(wb, t0), m = WLOAD4(wb, t0 + 1u), z = WLOAD4(wb, (byte + 31u) >> 4);
  uint all_[12] = uint[12](a.x, a.y, a.z, a.w, m.x, m.y, m.z, m.w, z.x, z.y, z.z, z.w);
  uint first = (byte >> 2) & 3u;
  bool odd_half = (byte & 2u) != 0u;
  // Constant indices and selects only: a variable index into a private array is a memory
  // round trip per lane on CPU devices.
  [[unroll]] for (uint i = 0u; i < 8u; i++) {
    uint lo = first == 0u ? all_[i] : first == 1u ? all_[i + 1u] : first == 2u ? all_[i + 2u] : all_[i + 3u];
    uint hi = first == 0u ? all_[i + 1u] : first == 1u ? all_[i + 2u] : first == 2u ? all_[i + 3u] : all_[i + 4u];
    w[i] = odd_half ? (lo >> 16) | (hi << 16) : lo;
  }
}
#endif

#if WTYPE == WT_IQ4_NL || WTYPE == WT_IQ4_XS
// The IQ4 table (runtime/gguf/quant.c's PV_IQ4_VALUES) as four words of int8, picked with selects
// and a shift: a variable index into a constant array costs a memory round trip per lane on CPU
// devices.
float iq4_value(uint q) {
  uint w = q < 8u ? (q < 4u ? 0xbfad9881u : 0xf6eaddcfu) : (q < 12u ? 0x26190d01u : 0x71594535u);
  return float(int(w << (24u - 8u * (q & 3u))) >> 24);
}
#endif

#if WTYPE == WT_Q3_K
// Q3_K: the two scales (d * (sc - 32)) of unit 32j + l of half h (sub-blocks 8h + 2j and the next):
// low nibbles (nibble h) of scale bytes 2j and 2j + 1, high 2 bits from bytes 8 + 2(j & 1) and the
// next, at bits 2(2h + j/2).
void q3k_scales(uint wb, uint b, uint h, uint j, out float d0, out float d1) {
  uint lo = rd16(wb, b + 96u + 2u * j) >> (4u * h);
  uint hi = rd16(wb, b + 104u + 2u * (j & 1u)) >> (2u * (2u * h + (j >> 1)));
  float d = rdh(wb, b + 108u);
  d0 = d * float(int((lo & 0xfu) | ((hi & 3u) << 4)) - 32);
  d1 = d * float(int(((lo >> 8) & 0xfu) | (((hi >> 8) & 3u) << 4)) - 32);
}
#endif

void dq_unit(uint wb, uint row_byte, uint u, out float v[32]) {
#if defined(WEIGHTS_TEXEL) && (WTYPE == WT_F32 || WTYPE == WT_F16 || WTYPE == WT_BF16)
#if WTYPE == WT_F32
  uint w4 = (row_byte >> 4) + u * 8u;
  [[unroll]] for (uint i = 0u; i < 8u; i++) {
    uvec4 q = WLOAD4(wb, w4 + i);
    v[4u * i] = uintBitsToFloat(q.x);
    v[4u * i + 1u] = uintBitsToFloat(q.y);
    v[4u * i + 2u] = uintBitsToFloat(q.z);
    v[4u * i + 3u] = uintBitsToFloat(q.w);
  }
#else
  uint w4 = (row_byte >> 4) + u * 4u;
  [[unroll]] for (uint i = 0u; i < 4u; i++) {
    uvec4 q = WLOAD4(wb, w4 + i);
    [[unroll]] for (uint c = 0u; c < 4u; c++) {
#if WTYPE == WT_F16
      vec2 h = unpackHalf2x16(q[c]);
#else
      vec2 h = vec2(uintBitsToFloat(q[c] << 16), uintBitsToFloat(q[c] & 0xffff0000u));
#endif
      v[8u * i + 2u * c] = h.x;
      v[8u * i + 2u * c + 1u] = h.y;
    }
  }
#endif
#elif defined(WEIGHTS_TEXEL) && (WTYPE == WT_Q4_K || WTYPE == WT_Q5_K)
#if WTYPE == WT_Q4_K
  const uint BLOCK = uint(WT_BLOCK_BYTES), QS = 16u;
#else
  const uint BLOCK = uint(WT_BLOCK_BYTES), QS = 48u;
#endif
  uint b = row_byte + (u >> 3) * BLOCK;   // 16-byte aligned: BLOCK is a multiple of 16
  uint j = u & 7u;
  uvec4 head = WLOAD4(wb, b >> 4);         // d, dmin, 12 scale bytes
  vec2 dm = unpackHalf2x16(head.x);
  float sc, mn;
  scale_min_k4_words(head.yzw, j, sc, mn);
  float d = dm.x * sc, m = dm.y * mn;
  uint shift = (j & 1u) * 4u;
  uint q4 = (b + QS + (j >> 1) * 32u) >> 4;
  uvec4 qa = WLOAD4(wb, q4), qb = WLOAD4(wb, q4 + 1u);
#if WTYPE == WT_Q5_K
  uvec4 ha = WLOAD4(wb, (b + 16u) >> 4), hb = WLOAD4(wb, ((b + 16u) >> 4) + 1u);
#endif
  [[unroll]] for (uint i = 0u; i < 8u; i++) {
    uint w = ((i < 4u ? qa[i] : qb[i - 4u]) >> shift) & 0x0f0f0f0fu;
#if WTYPE == WT_Q5_K
    w |= (((i < 4u ? ha[i] : hb[i - 4u]) >> j) & 0x01010101u) << 4;
#endif
    v[4u * i] = float(w & 0xffu) * d - m;
    v[4u * i + 1u] = float((w >> 8) & 0xffu) * d - m;
    v[4u * i + 2u] = float((w >> 16) & 0xffu) * d - m;
    v[4u * i + 3u] = float(w >> 24) * d - m;
  }
#elif defined(WEIGHTS_TEXEL) && WTYPE == WT_Q6_K
  // Q6_K blocks (210 bytes) are not 16-byte aligned, so each 32-byte run (low nibbles, high bits)
  // comes from the three texels around it, read unconditionally (a branch per lane would make
  // lavapipe fetch lane by lane), and the 8 words are shifted out of them.
  uint b = row_byte + (u >> 3) * 210u;
  uint s = u & 7u, half_ = s >> 2, qq = s & 3u;
  uint ql[8], qh[8];
  words32_at(wb, b + half_ * 64u + (qq & 1u) * 32u, ql);
  words32_at(wb, b + 128u + half_ * 32u, qh);
  uint scb = b + 192u + half_ * 8u + 2u * qq;
  float d = rdh(wb, b + 208u);
  float sc0 = d * float(int(rd8(wb, scb) << 24) >> 24);
  float sc1 = d * float(int(rd8(wb, scb + 1u) << 24) >> 24);
  uint lshift = (qq >> 1) * 4u, hshift = 2u * qq;
  [[unroll]] for (uint i = 0u; i < 8u; i++) {
    // byte c of w: element 4i + c, 6 bits (4 low from ql, 2 high from qh), offset by 32
    uint w = ((ql[i] >> lshift) & 0x0f0f0f0fu) | (((qh[i] >> hshift) & 0x03030303u) << 4);
    float sc = i < 4u ? sc0 : sc1;
    [[unroll]] for (uint c = 0u; c < 4u; c++) v[4u * i + c] = sc * float(int((w >> (8u * c)) & 0xffu) - 32);
  }
#elif defined(WEIGHTS_TEXEL) && WTYPE == WT_Q3_K
  // As the storage form below, with the 32 bytes of qs and of hmask taken from three texels each.
  uint b = row_byte + (u >> 3) * 110u;
  uint h = (u & 7u) >> 2, j = u & 3u;
  float d0, d1;
  q3k_scales(wb, b, h, j, d0, d1);
  uint qw[8], hw[8];
  words32_at(wb, b + 32u + 32u * h, qw);
  words32_at(wb, b, hw);
  uint shift = 2u * j, hshift = 4u * h + j;
  [[unroll]] for (uint i = 0u; i < 8u; i++) {
    uint w = ((qw[i] >> shift) & 0x03030303u) | (((hw[i] >> hshift) & 0x01010101u) << 2);
    float dd = i < 4u ? d0 : d1;
    [[unroll]] for (uint c = 0u; c < 4u; c++) v[4u * i + c] = dd * float(int((w >> (8u * c)) & 0xffu) - 4);
  }
#elif WTYPE == WT_F32
  uint w0 = (row_byte >> 2) + u * 32u;
  for (uint i = 0u; i < 32u; i++) v[i] = uintBitsToFloat(WLOAD(wb, w0 + i));
#elif WTYPE == WT_F16
  uint w0 = (row_byte >> 2) + u * 16u;   // rows of f16 are 4-byte aligned when K is even
  for (uint i = 0u; i < 16u; i++) {
    vec2 h = unpackHalf2x16(WLOAD(wb, w0 + i));
    v[2u * i] = h.x;
    v[2u * i + 1u] = h.y;
  }
#elif WTYPE == WT_BF16
  uint w0 = (row_byte >> 2) + u * 16u;
  for (uint i = 0u; i < 16u; i++) {
    uint w = WLOAD(wb, w0 + i);
    v[2u * i] = uintBitsToFloat(w << 16);
    v[2u * i + 1u] = uintBitsToFloat(w & 0xffff0000u);
  }
#elif WTYPE == WT_Q8_0
  uint b = row_byte + u * 34u;
  float d = rdh(wb, b);
  for (uint i = 0u; i < 32u; i += 2u) {
    uint p = rd16(wb, b + 2u + i);
    v[i] = d * float(int(p << 24) >> 24);
    v[i + 1u] = d * float(int(p << 16) >> 24);
  }
#elif WTYPE == WT_Q4_0 || WTYPE == WT_Q4_1
#if WTYPE == WT_Q4_0
  uint b = row_byte + u * 18u;
  float d = rdh(wb, b), m = -8.0 * d;
  uint qs = b + 2u;
#else
  uint b = row_byte + u * 20u;
  float d = rdh(wb, b), m = rdh(wb, b + 2u);
  uint qs = b + 4u;
#endif
  for (uint i = 0u; i < 16u; i += 2u) {
    uint p = rd16(wb, qs + i);
    v[i] = float(p & 0xfu) * d + m;
    v[i + 16u] = float((p >> 4) & 0xfu) * d + m;
    v[i + 1u] = float((p >> 8) & 0xfu) * d + m;
    v[i + 17u] = float((p >> 12) & 0xfu) * d + m;
  }
#elif WTYPE == WT_Q5_0 || WTYPE == WT_Q5_1
#if WTYPE == WT_Q5_0
  uint b = row_byte + u * 22u;
  float d = rdh(wb, b), m = -16.0 * d;
  uint qh = rd32u(wb, b + 2u);
  uint qs = b + 6u;
#else
  uint b = row_byte + u * 24u;
  float d = rdh(wb, b), m = rdh(wb, b + 2u);
  uint qh = rd32u(wb, b + 4u);
  uint qs = b + 8u;
#endif
  for (uint i = 0u; i < 16u; i++) {
    uint q = rd8(wb, qs + i);
    v[i] = float((q & 0xfu) | (((qh >> i) & 1u) << 4)) * d + m;
    v[i + 16u] = float((q >> 4) | (((qh >> (i + 16u)) & 1u) << 4)) * d + m;
  }
#elif WTYPE == WT_Q4_K || WTYPE == WT_Q5_K
#if WTYPE == WT_Q4_K
  const uint BLOCK = 144u;
#else
  const uint BLOCK = 176u;
#endif
  uint b = row_byte + (u >> 3) * BLOCK;
  uint j = u & 7u;
  vec2 dm = unpackHalf2x16(WLOAD(wb, b >> 2));
  float sc, mn;
  scale_min_k4(wb, b + 4u, j, sc, mn);
  float d = dm.x * sc, m = dm.y * mn;
  uint shift = (j & 1u) * 4u;
#if WTYPE == WT_Q4_K
  uint qw = (b + 16u + (j >> 1) * 32u) >> 2;
  for (uint i = 0u; i < 8u; i++) {
    uint w = (WLOAD(wb, qw + i) >> shift) & 0x0f0f0f0fu;
    v[4u * i] = float(w & 0xffu) * d - m;
    v[4u * i + 1u] = float((w >> 8) & 0xffu) * d - m;
    v[4u * i + 2u] = float((w >> 16) & 0xffu) * d - m;
    v[4u * i + 3u] = float(w >> 24) * d - m;
  }
#else
  uint hw = (b + 16u) >> 2;
  uint qw = (b + 48u + (j >> 1) * 32u) >> 2;
  for (uint i = 0u; i < 8u; i++) {
    uint w = (WLOAD(wb, qw + i) >> shift) & 0x0f0f0f0fu;
    uint h = ((WLOAD(wb, hw + i) >> j) & 0x01010101u) << 4;
    w |= h;
    v[4u * i] = float(w & 0xffu) * d - m;
    v[4u * i + 1u] = float((w >> 8) & 0xffu) * d - m;
    v[4u * i + 2u] = float((w >> 16) & 0xffu) * d - m;
    v[4u * i + 3u] = float(w >> 24) * d - m;
  }
#endif
#elif WTYPE == WT_Q6_K
  uint b = row_byte + (u >> 3) * 210u;
  uint s = u & 7u;          // unit within the super-block
  uint half_ = s >> 2;      // which 128-element half
  uint qq = s & 3u;         // quarter within the half: y[l + 32 qq]
  uint ql = b + half_ * 64u + (qq & 1u) * 32u;
  uint qh = b + 128u + half_ * 32u;
  uint scb = b + 192u + half_ * 8u + 2u * qq;
  float d = rdh(wb, b + 208u);
  float sc0 = d * float(int(rd8(wb, scb) << 24) >> 24);
  float sc1 = d * float(int(rd8(wb, scb + 1u) << 24) >> 24);
  uint lshift = (qq >> 1) * 4u, hshift = 2u * qq;
  for (uint l = 0u; l < 32u; l += 2u) {
    uint lo = rd16(wb, ql + l), hi = rd16(wb, qh + l);
    int q0 = int(((lo >> lshift) & 0xfu) | (((hi >> hshift) & 3u) << 4)) - 32;
    int q1 = int(((lo >> (8u + lshift)) & 0xfu) | (((hi >> (8u + hshift)) & 3u) << 4)) - 32;
    float sc = l < 16u ? sc0 : sc1;
    v[l] = sc * float(q0);
    v[l + 1u] = sc * float(q1);
  }
#elif WTYPE == WT_Q2_K
  // 84-byte blocks: rows (and with them every block) are word aligned.
  uint b = row_byte + (u >> 3) * 84u;
  uint s = u & 7u, h = s >> 2, j = s & 3u;  // unit 32j + l of half h
  vec2 dm = unpackHalf2x16(WLOAD(wb, (b + 80u) >> 2));
  uint scs = rd16(wb, b + 8u * h + 2u * j);  // scale bytes of elements l < 16 and l >= 16
  float d0 = dm.x * float(scs & 0xfu), m0 = dm.y * float((scs >> 4) & 0xfu);
  float d1 = dm.x * float((scs >> 8) & 0xfu), m1 = dm.y * float(scs >> 12);
  uint qw = (b + 16u + 32u * h) >> 2, shift = 2u * j;
  for (uint i = 0u; i < 8u; i++) {
    uint w = (WLOAD(wb, qw + i) >> shift) & 0x03030303u;
    float dd = i < 4u ? d0 : d1, mm = i < 4u ? m0 : m1;
    v[4u * i] = dd * float(w & 0xffu) - mm;
    v[4u * i + 1u] = dd * float((w >> 8) & 0xffu) - mm;
    v[4u * i + 2u] = dd * float((w >> 16) & 0xffu) - mm;
    v[4u * i + 3u] = dd * float(w >> 24) - mm;
  }
#elif WTYPE == WT_Q3_K
  // 110-byte blocks: only 2-byte alignment (rd32u joins halves).
  uint b = row_byte + (u >> 3) * 110u;
  uint h = (u & 7u) >> 2, j = u & 3u;
  float d0, d1;
  q3k_scales(wb, b, h, j, d0, d1);
  uint qs = b + 32u + 32u * h, shift = 2u * j, hshift = 4u * h + j;
  // four elements per step: 2-bit values from qs, the hmask bit as bit 2 (set: no -4)
  [[unroll]] for (uint i = 0u; i < 8u; i++) {
    uint w = ((rd32u(wb, qs + 4u * i) >> shift) & 0x03030303u) | (((rd32u(wb, b + 4u * i) >> hshift) & 0x01010101u) << 2);
    float dd = i < 4u ? d0 : d1;
    [[unroll]] for (uint c = 0u; c < 4u; c++) v[4u * i + c] = dd * float(int((w >> (8u * c)) & 0xffu) - 4);
  }
#elif WTYPE == WT_IQ4_NL
  uint b = row_byte + u * 18u;
  float d = rdh(wb, b);
  for (uint i = 0u; i < 16u; i += 2u) {
    uint p = rd16(wb, b + 2u + i);
    v[i] = d * iq4_value(p & 0xfu);
    v[i + 16u] = d * iq4_value((p >> 4) & 0xfu);
    v[i + 1u] = d * iq4_value((p >> 8) & 0xfu);
    v[i + 17u] = d * iq4_value((p >> 12) & 0xfu);
  }
#elif WTYPE == WT_IQ4_XS
  // 136-byte blocks: word aligned. Word 0: d, scales_h; word 1: scales_l (nibble r: run r).
  uint b = row_byte + (u >> 3) * 136u;
  uint r = u & 7u;
  uint w0 = WLOAD(wb, b >> 2);
  uint ls = ((WLOAD(wb, (b >> 2) + 1u) >> (4u * r)) & 0xfu) | (((w0 >> (16u + 2u * r)) & 3u) << 4);
  float dl = unpackHalf2x16(w0).x * float(int(ls) - 32);
  uint qw = ((b + 8u) >> 2) + 4u * r;
  for (uint i = 0u; i < 4u; i++) {
    uint w = WLOAD(wb, qw + i);
    [[unroll]] for (uint c = 0u; c < 4u; c++) {
      v[4u * i + c] = dl * iq4_value((w >> (8u * c)) & 0xfu);
      v[4u * i + c + 16u] = dl * iq4_value((w >> (8u * c + 4u)) & 0xfu);
    }
  }
#else
#error "unknown WTYPE"
#endif
}

#if WTYPE == WT_F32 || WTYPE == WT_F16 || WTYPE == WT_BF16
#define DQ_HAS_ELEM 1
// Element k of a row of a float type: rows whose length is not a multiple of 32 (tiny models).
float dq_elem(uint wb, uint row_byte, uint k) {
#if WTYPE == WT_F32
  return uintBitsToFloat(WLOAD(wb, (row_byte >> 2) + k));
#elif WTYPE == WT_F16
  return rdh(wb, row_byte + 2u * k);
#else
  return uintBitsToFloat(rd16(wb, row_byte + 2u * k) << 16);
#endif
}
#endif

// Bytes of one row of K elements (K a whole number of blocks).
uint row_bytes(uint K) {
#if WT_BLOCK_ELEMS == 1
  return K * uint(WT_BLOCK_BYTES);
#else
  return (K / uint(WT_BLOCK_ELEMS)) * uint(WT_BLOCK_BYTES);
#endif
}
#endif
