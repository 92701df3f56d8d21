// kv_pool.glsl — addressing of the paged KV pool.
//
// The pool is one or more storage buffers (no buffer may exceed maxStorageBufferRange), bound as
// the array KV[KV_MAX_BUFS]. Physical block b lives in buffer b / blocks_per_buf at local block
// lb = b % blocks_per_buf, laid out block-major so one block of all its layers is one contiguous
// region (copy-on-write and swap copy a block with one region):
//   [local block][layer][K=0,V=1][kv head][token in block][head dim]
// n_layer is the layers a block holds (every layer, or a layer group's: runtime/kv/kv_layout.h)
// and `layer` the index within them.
// Elements are f16 packed two per 32-bit word (default) or f32 words with KV_F32.
// KV_Q8 (q8_0, GGUF's Q8_0 numbers: blocks of 32 values x_i = d * q_i, q_i int8, d f16): a block
// is its quants, 1 byte an element in the order above, four to a 32-bit word, then its scales:
//   [layer][K=0,V=1][kv head][token in block][ceil(head_dim / 64) words, two f16 d per word]
// (each token's head row starts on a whole word: no two writers share one), the block padded to
// 16 bytes. pool_elem then counts bytes (one element each) from the buffer's start; head_dim is a
// multiple of 32, so a row's quants start on a 16-byte texel. runtime/kv/kv_gpu.c sizes it.
// The including shader declares KV and defines KV_BINDING before including this file.
#ifndef PV_KV_POOL_GLSL
#define PV_KV_POOL_GLSL

#define KV_MAX_BUFS 8 // kv_word() below names each of them
layout(std430, binding = KV_BINDING) buffer KVBuf { uint d[]; } KV[KV_MAX_BUFS];

struct PoolGeom {
  uint block_size;
  uint blocks_per_buf;
  uint n_layer;
  uint n_kv_head;
  uint head_dim;
};

#include "kv_geom.glsl"

// Element index (within its buffer) of element 0 of (slot's token, layer, kv, head); buffer in `buf`.
uint pool_elem(PoolGeom g, uint slot, uint layer, uint kv, uint head, out uint buf) {
  uint block = slot / g.block_size;
  uint off = slot % g.block_size;
  buf = block / g.blocks_per_buf;
  uint lb = block % g.blocks_per_buf;
  uint per_kv = g.n_kv_head * g.block_size * g.head_dim;
#ifdef KV_Q8
  return lb * pool_block_elems(g.block_size, g.n_layer, g.n_kv_head, g.head_dim) + (layer * 2u + kv) * per_kv +
         (head * g.block_size + off) * g.head_dim;
#else
  return ((lb * g.n_layer + layer) * 2u + kv) * per_kv + (head * g.block_size + off) * g.head_dim;
#endif
}

#ifdef KV_Q8
// The first scale word of (slot's token, layer, kv, head) in its buffer.
uint pool_scale(PoolGeom g, uint slot, uint layer, uint kv, uint head) {
  uint block = slot / g.block_size;
  return q8_scale_word(g.block_size, g.n_layer, g.n_kv_head, g.head_dim, block % g.blocks_per_buf, layer, kv, head,
                       slot % g.block_size);
}
#endif

// Neighbouring invocations may read different buffers (keys of one chunk span blocks), and
// indexing a descriptor array with a non-uniform value needs a feature many devices lack. A
// switch with constant indices is valid everywhere; invocations diverge only at buffer edges.
uint kv_word(uint buf, uint w) {
  switch (buf) {
    case 0u: return KV[0].d[w];
    case 1u: return KV[1].d[w];
    case 2u: return KV[2].d[w];
    case 3u: return KV[3].d[w];
    case 4u: return KV[4].d[w];
    case 5u: return KV[5].d[w];
    case 6u: return KV[6].d[w];
    default: return KV[7].d[w];
  }
}

void kv_set_word(uint buf, uint w, uint v) {
  switch (buf) {
    case 0u: KV[0].d[w] = v; break;
    case 1u: KV[1].d[w] = v; break;
    case 2u: KV[2].d[w] = v; break;
    case 3u: KV[3].d[w] = v; break;
    case 4u: KV[4].d[w] = v; break;
    case 5u: KV[5].d[w] = v; break;
    case 6u: KV[6].d[w] = v; break;
    default: KV[7].d[w] = v; break;
  }
}

#ifdef KV_POOL_TEXELS
// The pool as 16-byte elements (uvec4), for a shader that writes whole 16-byte runs (rope_kv).
layout(std430, binding = KV_BINDING) buffer KVBuf4 { uvec4 d4[]; } KV4[KV_MAX_BUFS];

void kv_set_texel(uint buf, uint i, uvec4 v) {
  switch (buf) {
    case 0u: KV4[0].d4[i] = v; break;
    case 1u: KV4[1].d4[i] = v; break;
    case 2u: KV4[2].d4[i] = v; break;
    case 3u: KV4[3].d4[i] = v; break;
    case 4u: KV4[4].d4[i] = v; break;
    case 5u: KV4[5].d4[i] = v; break;
    case 6u: KV4[6].d4[i] = v; break;
    default: KV4[7].d4[i] = v; break;
  }
}
#endif

#if defined(KV_Q8)
// Element e of a head row whose first scale word is sw (e counted from the row's first byte e0:
// the element's quant block is (e - e0) / 32); these take the row offset i = e - e0 too.
float pool_load_q8(uint buf, uint e, uint sw, uint i) {
  const float d = unpackHalf2x16(kv_word(buf, sw + i / 64u))[(i / 32u) & 1u];
  return d * float(bitfieldExtract(int(kv_word(buf, e >> 2)), int(8u * (e & 3u)), 8));
}
#elif defined(KV_F32)
float pool_load(uint buf, uint e) { return uintBitsToFloat(kv_word(buf, e)); }
vec2 pool_load2(uint buf, uint e) { return vec2(uintBitsToFloat(kv_word(buf, e)), uintBitsToFloat(kv_word(buf, e + 1u))); }
void pool_store2(uint buf, uint e, vec2 v) {
  kv_set_word(buf, e, floatBitsToUint(v.x));
  kv_set_word(buf, e + 1u, floatBitsToUint(v.y));
}
#else
float pool_load(uint buf, uint e) {
  vec2 h = unpackHalf2x16(kv_word(buf, e >> 1));
  return (e & 1u) == 0u ? h.x : h.y;
}
// e must be even.
vec2 pool_load2(uint buf, uint e) { return unpackHalf2x16(kv_word(buf, e >> 1)); }
void pool_store2(uint buf, uint e, vec2 v) { kv_set_word(buf, e >> 1, packHalf2x16(v)); }
#endif
#endif
