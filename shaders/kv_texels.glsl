// kv_texels.glsl — the paged KV pool read through uniform texel buffers (the CPU-shaped attention
// kernels): KVT[8] are RGBA32_UINT views of the pool buffers, one fetch a 16-byte run of EPT
// elements. The including shader declares KVT and the specialization constant N_BUFS.
#ifndef PV_KV_TEXELS_GLSL
#define PV_KV_TEXELS_GLSL

// When the pass touches buffer 0 only (N_BUFS 1) the switch folds away at pipeline creation:
// lavapipe runs texel fetches inside divergent control flow lane by lane (4x slower).
uvec4 kv_texel(uint buf, uint i) {
  if (N_BUFS == 1u) return texelFetch(KVT[0], int(i));
  switch (buf) {
    case 0u: return texelFetch(KVT[0], int(i));
    case 1u: return texelFetch(KVT[1], int(i));
    case 2u: return texelFetch(KVT[2], int(i));
    case 3u: return texelFetch(KVT[3], int(i));
    case 4u: return texelFetch(KVT[4], int(i));
    case 5u: return texelFetch(KVT[5], int(i));
    case 6u: return texelFetch(KVT[6], int(i));
    default: return texelFetch(KVT[7], int(i));
  }
}

#include "kv_geom.glsl"

#if defined(KV_Q8)
#define EPT 16u  // pool elements (bytes of quants) per texel
#elif defined(KV_F32)
#define EPT 4u   // pool elements per texel
#else
#define EPT 8u
#endif

#ifdef KV_Q8
// Scale i (of quant block i: elements 32i .. 32i+31) of a head row whose first scale word is sw.
float kv_q8_scale(uint buf, uint sw, uint i) {
  const uint w = sw + i / 2u;
  return unpackHalf2x16(kv_texel(buf, w >> 2)[w & 3u])[i & 1u];
}
#endif
#endif
