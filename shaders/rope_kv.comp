#version 450
// rope_kv.comp — for each new token row: rotate q and k by RoPE at the token's position, then
// scatter k and v into the paged pool at the token's slot (converting to the pool's type).
// One workgroup per token row. q is rotated in place; k is rotated in place first, then packed.
//   rope NORMAL pairs (x[2i], x[2i+1]); NEOX pairs (x[i], x[i + rope_dim/2]).
#extension GL_GOOGLE_include_directive : require
#include "step.glsl"
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) buffer Q { float QB[]; };
layout(std430, binding = 1) buffer K { float KB[]; };
layout(std430, binding = 2) readonly buffer V { float VB[]; };
layout(std430, binding = 3) readonly buffer Tokens { TokenInfo TOKENS[]; };
#define KV_BINDING 4
#include "kv_pool.glsl"

layout(push_constant) uniform Params {
  uint rows;
  uint n_head, n_kv_head, head_dim, rope_dim;
  float rope_base, pos_scale;
  uint neox;
  uint layer;
  uint block_size, blocks_per_buf, n_layer;
  uint q_stride, kv_stride;   // floats between rows of Q and of K/V
} p;

void rotate(inout float a, inout float b, float theta) {
  float c = cos(theta), s = sin(theta);
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
  const uint pairs = (p.n_head + p.n_kv_head) * half_rot;
  for (uint i = tid; i < pairs; i += WG) {
    uint h = i / half_rot, k = i % half_rot;
    float theta = pos * pow(p.rope_base, -2.0 * float(k) / float(p.rope_dim));
    uint a = p.neox != 0u ? k : 2u * k;
    uint b = p.neox != 0u ? k + half_rot : 2u * k + 1u;
    if (h < p.n_head) {
      uint base = row * p.q_stride + h * p.head_dim;
      rotate(QB[base + a], QB[base + b], theta);
    } else {
      uint base = row * p.kv_stride + (h - p.n_head) * p.head_dim;
      rotate(KB[base + a], KB[base + b], theta);
    }
  }
  // The rotated k of other invocations is read below: make the buffer writes visible first, then
  // wait for everyone (memoryBarrierBuffer before barrier; the reverse order publishes nothing).
  memoryBarrierBuffer();
  barrier();
  PoolGeom g = PoolGeom(p.block_size, p.blocks_per_buf, p.n_layer, p.n_kv_head, p.head_dim);
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
}
