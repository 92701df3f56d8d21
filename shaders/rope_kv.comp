#version 450
// rope_kv.comp — for each new token row: rotate q and k by RoPE at the token's position, then
// scatter k and v into the paged pool at the token's slot (converting to the pool's type; with
// KV_Q8 quantizing each 32 values of a head row to q8_0: d = max|x| / 127, q = round(x / d), as
// GGUF's Q8_0 and runtime/model/ref.c's pv_ref_q8_round).
// One workgroup per token row. q is rotated in place; k is rotated in place first, then packed.
//   rope NORMAL pairs (x[2i], x[2i+1]); NEOX pairs (x[i], x[i + rope_dim/2]). rope_dim 0 rotates
//   nothing (NoPE layers): only the K/V write. Rotated pairs are also multiplied by mscale
//   (llama.cpp's rope attn_factor, LongRoPE files); dimensions past rope_dim are left as they are.
// Pair i turns by pos * base^(-2i/rope_dim), divided by FREQ_DIV[i] when the specialization
// constant FREQS is set (llama3 rope scaling); without it the divisors are never read and the
// binding holds any buffer.
#extension GL_GOOGLE_include_directive : require
#include "step.glsl"
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool FREQS = false;

layout(std430, binding = 0) buffer Q { float QB[]; };
layout(std430, binding = 1) buffer K { float KB[]; };
// Q and K again as vec4 arrays: rows whose strides, head size and rotated halves are multiples of
// 4 are rotated 4 elements an access (a CPU device runs each storage-buffer access lane by lane).
layout(std430, binding = 0) buffer Q4 { vec4 QB4[]; };
layout(std430, binding = 1) buffer K4 { vec4 KB4[]; };
layout(std430, binding = 2) readonly buffer V { float VB[]; };
layout(std430, binding = 3) readonly buffer Tokens { TokenInfo TOKENS[]; };
#define KV_BINDING 4
#define KV_POOL_TEXELS
#include "kv_pool.glsl"
// V as vec4 too, for the packing below (see Q4, K4).
layout(std430, binding = 2) readonly buffer V4 { vec4 VB4[]; };
layout(std430, binding = 5) readonly buffer FreqDiv { float FREQ_DIV[]; };
#if defined(KV_Q8)
#define EPT 32u  // pool elements per quant block (the unit of a write)
#elif defined(KV_F32)
#define EPT 4u   // pool elements per 16 bytes
#else
#define EPT 8u
#endif

layout(push_constant) uniform Params {
  uint rows;
  uint n_head, n_kv_head, head_dim, rope_dim;
  float rope_base, pos_scale;
  uint neox;
  uint layer;
  uint block_size, blocks_per_buf, n_layer;
  uint q_stride, kv_stride;   // floats between rows of Q and of K/V
  uint by16;                  // 1: the q, k and v views start on 16 bytes (the vec4 aliases may be used)
  float mscale;               // cosines and sines multiplied by it: rotated pairs scaled (rope attn_factor; 1: none)
} p;

float angle(float pos, uint k) {
  const float th = pos * pow(p.rope_base, -2.0 * float(k) / float(p.rope_dim));
  return FREQS ? th / FREQ_DIV[k] : th;
}

vec4 angles(float pos, uvec4 k) {
  const vec4 th = pos * pow(vec4(p.rope_base), -2.0 * vec4(k) / float(p.rope_dim));
  return FREQS ? th / vec4(FREQ_DIV[k.x], FREQ_DIV[k.y], FREQ_DIV[k.z], FREQ_DIV[k.w]) : th;
}

// NORMAL: quad j holds pairs 2j and 2j+1 as (x, y) and (z, w). NEOX: quad j of the first half
// rotates against quad j of the second (frequencies 4j .. 4j+3).
#define ROTATE_NORMAL(BUF, i, c, s) BUF[i] = BUF[i] * (c).xxyy + BUF[i].yxwz * vec4(-1.0, 1.0, -1.0, 1.0) * (s).xxyy
#define ROTATE_NEOX(BUF, i, i2, c, s) { vec4 x0 = BUF[i], x1 = BUF[i2]; BUF[i] = x0 * (c) - x1 * (s); BUF[i2] = x0 * (s) + x1 * (c); }

void rotate_by4(uint row, uint tid, float pos) {
  const uint half_rot = p.rope_dim / 2u;
  const uint quads = p.neox != 0u ? half_rot / 4u : p.rope_dim / 4u;
  const uint hd4 = p.head_dim / 4u, q0 = row * p.q_stride / 4u, k0 = row * p.kv_stride / 4u;
  for (uint j = tid; j < quads; j += WG) {
    if (p.neox != 0u) {
      const vec4 th = angles(pos, uvec4(4u * j) + uvec4(0u, 1u, 2u, 3u));
      const vec4 c = cos(th) * p.mscale, s = sin(th) * p.mscale;
      const uint j2 = j + half_rot / 4u;
      for (uint h = 0u; h < p.n_head; h++) ROTATE_NEOX(QB4, q0 + h * hd4 + j, q0 + h * hd4 + j2, c, s);
      for (uint h = 0u; h < p.n_kv_head; h++) ROTATE_NEOX(KB4, k0 + h * hd4 + j, k0 + h * hd4 + j2, c, s);
    } else {
      const vec2 th = angles(pos, uvec4(2u * j, 2u * j + 1u, 0u, 0u)).xy;
      const vec2 c = cos(th) * p.mscale, s = sin(th) * p.mscale;
      for (uint h = 0u; h < p.n_head; h++) ROTATE_NORMAL(QB4, q0 + h * hd4 + j, c, s);
      for (uint h = 0u; h < p.n_kv_head; h++) ROTATE_NORMAL(KB4, k0 + h * hd4 + j, c, s);
    }
  }
}

vec4 kv_src4(uint kv, uint i) { return kv == 0u ? KB4[i] : VB4[i]; }

#ifdef KV_Q8
float kv_src(uint kv, uint i) { return kv == 0u ? KB[i] : VB[i]; }

// Quant blocks 2 sw and 2 sw + 1 (the second when the row has it) of one head row of k (kv 0) or
// v: elements src .. of K/V, quants from pool byte e (the row's first, a multiple of 4), scale word
// sw of the row's scales at s0. Round half away from zero, as C's roundf.
void q8_write(uint kv, uint src, uint buf, uint e, uint s0, uint sw) {
  vec2 dd = vec2(0.0);
  for (uint b = 0u; b < 2u; b++) {
    const uint qb = 2u * sw + b;
    if (qb * 32u >= p.head_dim) break;
    const uint x0 = src + qb * 32u;
    float amax = 0.0;
    for (uint i = 0u; i < 32u; i++) amax = max(amax, abs(kv_src(kv, x0 + i)));
    const float d = amax / 127.0, id = d != 0.0 ? 1.0 / d : 0.0;
    for (uint w = 0u; w < 8u; w++) {
      uint packed = 0u;
      for (uint c = 0u; c < 4u; c++) {
        const float x = kv_src(kv, x0 + 4u * w + c) * id;
        const int q = int(clamp(sign(x) * floor(abs(x) + 0.5), -127.0, 127.0));
        packed |= (uint(q) & 0xffu) << (8u * c);
      }
      kv_set_word(buf, (e >> 2) + qb * 8u + w, packed);
    }
    dd[b] = d;
  }
  kv_set_word(buf, s0 + sw, packHalf2x16(dd));
}
#endif

// Packs the row's k and v into the pool 16 bytes (EPT elements) a store. A head's row in the
// pool starts at a multiple of head_dim elements, so head_dim % EPT == 0 keeps every store aligned.
void pack_by4(uint row, uint tid, TokenInfo t, PoolGeom g) {
  const uint per_head = p.head_dim / EPT;
  for (uint i = tid; i < 2u * p.n_kv_head * per_head; i += WG) {
    const uint kv = i / (p.n_kv_head * per_head);
    const uint j = i % (p.n_kv_head * per_head);
    const uint h = j / per_head, u = j % per_head;
    const uint src4 = (row * p.kv_stride + h * p.head_dim) / 4u + u * (EPT / 4u);
    uint buf;
    const uint at = pool_elem(g, t.slot, p.layer, kv, h, buf) / EPT + u;
    const vec4 a = kv_src4(kv, src4);
#ifdef KV_F32
    kv_set_texel(buf, at, floatBitsToUint(a));
#else
    const vec4 b = kv_src4(kv, src4 + 1u);
    kv_set_texel(buf, at, uvec4(packHalf2x16(a.xy), packHalf2x16(a.zw), packHalf2x16(b.xy), packHalf2x16(b.zw)));
#endif
  }
}

#ifdef LANE_ROWS
// rope_kv_lanes: one row per invocation, for CPU devices (WG = the SIMD width): each invocation
// rotates its own row's q and k and packs its own k and v, so nothing is shared and there is no
// barrier (a coroutine switch on lavapipe), and no integer division per element (a CPU divides a
// vector one lane at a time). The host takes it when the 16-byte paths above apply.
void main() {
  const uint row = gl_WorkGroupID.x * WG + gl_LocalInvocationID.x;
  if (row >= p.rows) return;
  const TokenInfo t = TOKENS[row];
  const float pos = float(t.pos) * p.pos_scale;
  const uint half_rot = p.rope_dim / 2u, hd4 = p.head_dim / 4u;
  const uint q0 = row * p.q_stride / 4u, k0 = row * p.kv_stride / 4u;
  const uint quads = p.neox != 0u ? half_rot / 4u : p.rope_dim / 4u;
  for (uint j = 0u; j < quads; j++) {
    if (p.neox != 0u) {
      const vec4 th = angles(pos, uvec4(4u * j) + uvec4(0u, 1u, 2u, 3u));
      const vec4 c = cos(th) * p.mscale, s = sin(th) * p.mscale;
      const uint j2 = j + half_rot / 4u;
      for (uint h = 0u; h < p.n_head; h++) ROTATE_NEOX(QB4, q0 + h * hd4 + j, q0 + h * hd4 + j2, c, s);
      for (uint h = 0u; h < p.n_kv_head; h++) ROTATE_NEOX(KB4, k0 + h * hd4 + j, k0 + h * hd4 + j2, c, s);
    } else {
      const vec2 th = angles(pos, uvec4(2u * j, 2u * j + 1u, 0u, 0u)).xy;
      const vec2 c = cos(th) * p.mscale, s = sin(th) * p.mscale;
      for (uint h = 0u; h < p.n_head; h++) ROTATE_NORMAL(QB4, q0 + h * hd4 + j, c, s);
      for (uint h = 0u; h < p.n_kv_head; h++) ROTATE_NORMAL(KB4, k0 + h * hd4 + j, c, s);
    }
  }
  // The slot's place in the pool (block size a power of two: shift and mask).
  const uint bs_shift = findLSB(p.block_size);
  const uint block = t.slot >> bs_shift, off = t.slot & (p.block_size - 1u);
  const uint buf = block / p.blocks_per_buf, local = block - buf * p.blocks_per_buf;
  const uint per_kv = p.n_kv_head * p.block_size * p.head_dim;   // elements of K (or V) of a layer in a block
#ifdef KV_Q8
  const uint sws = q8_row_scale_words(p.head_dim);
  for (uint kv = 0u; kv < 2u; kv++)
    for (uint h = 0u; h < p.n_kv_head; h++) {
      const uint e = local * pool_block_elems(p.block_size, p.n_layer, p.n_kv_head, p.head_dim) +
                     (p.layer * 2u + kv) * per_kv + (h * p.block_size + off) * p.head_dim;
      const uint s0 = q8_scale_word(p.block_size, p.n_layer, p.n_kv_head, p.head_dim, local, p.layer, kv, h, off);
      for (uint sw = 0u; sw < sws; sw++) q8_write(kv, row * p.kv_stride + h * p.head_dim, buf, e, s0, sw);
    }
#else
  const uint per_head = p.head_dim / EPT;
  for (uint kv = 0u; kv < 2u; kv++)
    for (uint h = 0u; h < p.n_kv_head; h++) {
      const uint at = (((local * p.n_layer + p.layer) * 2u + kv) * per_kv + (h * p.block_size + off) * p.head_dim) / EPT;
      const uint src4 = k0 + h * hd4;
      for (uint u = 0u; u < per_head; u++) {
        const vec4 a = kv_src4(kv, src4 + u * (EPT / 4u));
#ifdef KV_F32
        kv_set_texel(buf, at + u, floatBitsToUint(a));
#else
        const vec4 b = kv_src4(kv, src4 + u * (EPT / 4u) + 1u);
        kv_set_texel(buf, at + u, uvec4(packHalf2x16(a.xy), packHalf2x16(a.zw), packHalf2x16(b.xy), packHalf2x16(b.zw)));
#endif
      }
    }
#endif
}
#else
void rotate(inout float a, inout float b, float c, float s) {
  float x0 = a, x1 = b;
  a = x0 * c - x1 * s;
  b = x0 * s + x1 * c;
}

void main() {
  const uint row = gl_WorkGroupID.x, tid = gl_LocalInvocationID.x;
  if (row >= p.rows) return;
  const TokenInfo t = TOKENS[row];
  const float pos = float(t.pos) * p.pos_scale;
  const uint half_rot = p.rope_dim / 2u;
  // One angle per frequency k, shared by every q and k head: its sine and cosine are computed
  // once per row, not once per head.
  const bool by4 = p.by16 != 0u && ((p.q_stride | p.kv_stride | p.head_dim) & 3u) == 0u &&
                   ((p.neox != 0u ? half_rot : p.rope_dim) & 3u) == 0u;   // uniform
  if (by4) rotate_by4(row, tid, pos);
  else for (uint k = tid; k < half_rot; k += WG) {
    const float theta = angle(pos, k);
    const float c = cos(theta) * p.mscale, s = sin(theta) * p.mscale;
    const uint a = p.neox != 0u ? k : 2u * k;
    const uint b = p.neox != 0u ? k + half_rot : 2u * k + 1u;
    for (uint h = 0u; h < p.n_head; h++) {
      const uint base = row * p.q_stride + h * p.head_dim;
      rotate(QB[base + a], QB[base + b], c, s);
    }
    for (uint h = 0u; h < p.n_kv_head; h++) {
      const uint base = row * p.kv_stride + h * p.head_dim;
      rotate(KB[base + a], KB[base + b], c, s);
    }
  }
  // The rotated k of other invocations is read below: make the buffer writes visible first, then
  // wait for everyone (memoryBarrierBuffer before barrier; the reverse order publishes nothing).
  memoryBarrierBuffer();
  barrier();
  PoolGeom g = PoolGeom(p.block_size, p.blocks_per_buf, p.n_layer, p.n_kv_head, p.head_dim);
#ifdef KV_Q8
  // one invocation per scale word of a head row (two quant blocks): no word has two writers
  const uint sws = q8_row_scale_words(p.head_dim);
  for (uint i = tid; i < 2u * p.n_kv_head * sws; i += WG) {
    const uint kv = i / (p.n_kv_head * sws), j = i % (p.n_kv_head * sws);
    const uint h = j / sws, sw = j % sws;
    uint buf;
    const uint e = pool_elem(g, t.slot, p.layer, kv, h, buf);
    q8_write(kv, row * p.kv_stride + h * p.head_dim, buf, e, pool_scale(g, t.slot, p.layer, kv, h), sw);
  }
#else
  if (by4 && p.head_dim % EPT == 0u) {
    pack_by4(row, tid, t, g);
    return;
  }
  const uint half_dim = p.head_dim / 2u;
  for (uint i = tid; i < p.n_kv_head * half_dim * 2u; i += WG) {
    uint kv = i / (p.n_kv_head * half_dim);
    uint j = i % (p.n_kv_head * half_dim);
    uint h = j / half_dim, e = 2u * (j % half_dim);
    uint src = row * p.kv_stride + h * p.head_dim + e;
    vec2 v = kv == 0u ? vec2(KB[src], KB[src + 1u]) : vec2(VB[src], VB[src + 1u]);
    uint buf;
    uint at = pool_elem(g, t.slot, p.layer, kv, h, buf) + e;
    pool_store2(buf, at, v);
  }
#endif
}
#endif
