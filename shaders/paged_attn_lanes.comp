#version 450
// paged_attn_lanes.comp — the same causal paged attention as paged_attn.comp, shaped for devices
// whose invocations are SIMD lanes of a CPU core (lavapipe): one small workgroup per (query row,
// head [, partition]); every lane walks its own keys (j = lane, lane + WG, ...) with a private
// online softmax (running max m, sum l, output acc), and the lanes are merged once at the end
// through shared memory, after a single barrier (the per-key work has none). Queries, block tables
// and K/V are read through uniform texel buffers, which that driver vectorizes (its storage-buffer
// loads go lane by lane); K/V as 16-byte texels, so one fetch brings 8 f16 (4 f32) elements of a
// row (the host takes this kernel only when head_dim is a multiple of that). Chosen for CPU
// devices; WG is their SIMD width. WINDOWED / SOFTCAP: attn_mask.glsl (the keys start at the
// window's first). KV_Q8: q8_0 pool, 32 quants (two texels) and their scale per step.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : enable
#include "step.glsl"
#include "attn_mask.glsl"
layout(constant_id = 0) const uint WG = 8;               // lanes per workgroup
layout(constant_id = 1) const uint MAX_HEAD_DIM = 64;    // head_dim rounded up (multiple of 4)
layout(constant_id = 2) const uint N_BUFS = 8;           // 1: every block of the pass is in buffer 0
layout(constant_id = 3) const uint WINDOWED = 0;
layout(constant_id = 4) const uint SOFTCAP = 0;
layout(local_size_x_id = 0) in;

layout(binding = 0) uniform samplerBuffer QT;            // RGBA32F view of Q rows
layout(std430, binding = 1) writeonly buffer O { float OB[]; };
layout(std430, binding = 2) readonly buffer Tokens { TokenInfo TOKENS[]; };
layout(binding = 3) uniform usamplerBuffer BTT;          // R32_UINT view of the block tables
layout(std430, binding = 4) writeonly buffer Partial { float PART[]; };
layout(binding = 5) uniform usamplerBuffer KVT[8];       // RGBA32_UINT views of the pool buffers
layout(std430, binding = 6) readonly buffer RowSel { uint ROWSEL[]; };   // with p.rowsel: the rows to do

layout(push_constant) uniform Params {
  uint rows;
  uint n_head, n_kv_head, head_dim;
  uint layer;
  uint block_size, blocks_per_buf, n_layer;
  uint max_blocks;
  uint q_stride, o_stride;
  uint parts;
  uint part_len;
  float scale;
  uint window;   // WINDOWED: keys a query sees
  float softcap; // SOFTCAP: the cap c
  uint rowsel;   // 1: workgroup x computes row ROWSEL[x] (the others are prompt tiles, paged_attn_rows)
} p;

shared float sh_m[WG], sh_l[WG], sh_acc[WG * MAX_HEAD_DIM];

#include "kv_texels.glsl"

#ifndef KV_Q8
// Elements e .. e+EPT-1 of the pool (e a multiple of EPT) as one or two vec4.
void kv_elems(uint buf, uint e, out vec4 a, out vec4 b) {
  uvec4 w = kv_texel(buf, e / EPT);
#ifdef KV_F32
  a = uintBitsToFloat(w);
  b = vec4(0.0);
#else
  a = vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y));
  b = vec4(unpackHalf2x16(w.z), unpackHalf2x16(w.w));
#endif
}
#endif

void main() {
  const uint h = gl_WorkGroupID.y, part = gl_WorkGroupID.z;
  const uint lane = gl_LocalInvocationID.x;
  if (gl_WorkGroupID.x >= p.rows) return;
  const uint row = p.rowsel != 0u ? ROWSEL[gl_WorkGroupID.x] : gl_WorkGroupID.x;
  const TokenInfo t = TOKENS[row];
  const uint kvh = h / (p.n_head / p.n_kv_head);
  const uint n_keys = t.pos + 1u;
  const uint k_first = WINDOWED != 0u ? attn_first_key(t.pos, p.window) : 0u;
  const uint hd = p.head_dim;
  const uint per_kv = p.n_kv_head * p.block_size * hd;   // elements of K (or V) of one layer in a block
  const uint q4 = (row * p.q_stride + h * hd) / 4u;       // q_stride and head_dim are multiples of 4

  float acc[MAX_HEAD_DIM];
  [[unroll]] for (uint d = 0u; d < MAX_HEAD_DIM; d++) acc[d] = 0.0;
  vec4 q[MAX_HEAD_DIM / 4u];   // the query, read once (every lane uses all of it for every key)
  [[unroll]] for (uint d = 0u; d < MAX_HEAD_DIM; d += 4u) q[d / 4u] = d < hd ? texelFetch(QT, int(q4 + d / 4u)) : vec4(0.0);
  float m = -1.0 / 0.0, l = 0.0;

  // No division per key (a CPU runs a vector's integer divisions one lane at a time): the block
  // size is a power of two (the host checks), and with one buffer a block is its own local index.
  const uint bs_shift = findLSB(p.block_size), bs_mask = p.block_size - 1u;
  for (uint k_begin = k_first + part * p.part_len; k_begin < n_keys; k_begin += p.parts * p.part_len) {
    const uint k_end = n_keys - k_begin <= p.part_len ? n_keys : k_begin + p.part_len;   // (no wrap)
    for (uint j = k_begin + lane; j < k_end; j += WG) {
      const uint block = texelFetch(BTT, int(t.seq * p.max_blocks + (j >> bs_shift))).x;
      uint buf = 0u, local = block;
      if (N_BUFS != 1u) {
        buf = block / p.blocks_per_buf;
        local = block - buf * p.blocks_per_buf;
      }
#ifdef KV_Q8
      const uint base = local * pool_block_elems(p.block_size, p.n_layer, p.n_kv_head, hd) + p.layer * 2u * per_kv +
                        (kvh * p.block_size + (j & bs_mask)) * hd;
      const uint sk = q8_scale_word(p.block_size, p.n_layer, p.n_kv_head, hd, local, p.layer, 0u, kvh, j & bs_mask);
      const uint sv = sk + p.n_kv_head * p.block_size * q8_row_scale_words(hd);
      float s = 0.0;
      [[unroll]] for (uint d = 0u; d < MAX_HEAD_DIM; d += 32u) {
        if (d >= hd) break;
        const uvec4 w0 = kv_texel(buf, (base + d) / EPT), w1 = kv_texel(buf, (base + d) / EPT + 1u);
        const uint d4 = d / 4u;
        float s32 = dot(q[d4], q8_unpack4(w0.x)) + dot(q[d4 + 1u], q8_unpack4(w0.y)) +
                    dot(q[d4 + 2u], q8_unpack4(w0.z)) + dot(q[d4 + 3u], q8_unpack4(w0.w));
        s32 += dot(q[d4 + 4u], q8_unpack4(w1.x)) + dot(q[d4 + 5u], q8_unpack4(w1.y)) +
               dot(q[d4 + 6u], q8_unpack4(w1.z)) + dot(q[d4 + 7u], q8_unpack4(w1.w));
        s += kv_q8_scale(buf, sk, d / 32u) * s32;
      }
#else
      const uint base = (local * p.n_layer + p.layer) * 2u * per_kv + (kvh * p.block_size + (j & bs_mask)) * hd;
      float s = 0.0;
      [[unroll]] for (uint d = 0u; d < MAX_HEAD_DIM; d += EPT) {
        if (d >= hd) break;
        vec4 k0, k1;
        kv_elems(buf, base + d, k0, k1);
        s += dot(q[d / 4u], k0);
#ifndef KV_F32
        s += dot(q[d / 4u + 1u], k1);
#endif
      }
#endif
      s *= p.scale;
      if (SOFTCAP != 0u) s = softcap(s, p.softcap);
      // One exp per key: either the old terms shrink (a new max) or the new one is below the max.
      // (The first key: m = -inf, so e = 0 and the empty sums are scaled by 0.)
      const float e = exp(-abs(s - m));
      const float c = s > m ? e : 1.0, pj = s > m ? 1.0 : e;
      l = l * c + pj;
      m = max(m, s);
      const uint vbase = base + per_kv;
#ifdef KV_Q8
      [[unroll]] for (uint d = 0u; d < MAX_HEAD_DIM; d += 32u) {
        if (d >= hd) break;
        const float dv = kv_q8_scale(buf, sv, d / 32u) * pj;
        [[unroll]] for (uint t = 0u; t < 2u; t++) {
          const uvec4 w = kv_texel(buf, (vbase + d) / EPT + t);
          [[unroll]] for (uint u = 0u; u < 4u; u++) {
            const vec4 v4 = q8_unpack4(w[u]);
            [[unroll]] for (uint i = 0u; i < 4u; i++) {
              const uint at = d + 16u * t + 4u * u + i;
              acc[at] = acc[at] * c + dv * v4[i];
            }
          }
        }
      }
#else
      [[unroll]] for (uint d = 0u; d < MAX_HEAD_DIM; d += EPT) {
        if (d >= hd) break;
        vec4 v0, v1;
        kv_elems(buf, vbase + d, v0, v1);
        [[unroll]] for (uint i = 0u; i < 4u; i++) acc[d + i] = acc[d + i] * c + pj * v0[i];
#ifndef KV_F32
        [[unroll]] for (uint i = 0u; i < 4u; i++) acc[d + 4u + i] = acc[d + 4u + i] * c + pj * v1[i];
#endif
      }
#endif
    }
    if (k_end == n_keys) break;   // (with parts == 1, part_len is ~0u: the step would wrap)
  }

  // Merge the lanes: M = max m, each lane's share scaled by e^(m - M); lane i finishes dims i, i+WG..
  sh_m[lane] = m;
  sh_l[lane] = l;
  [[unroll]] for (uint d = 0u; d < MAX_HEAD_DIM; d++) sh_acc[d * WG + lane] = acc[d];
  barrier();
  float M = -1.0 / 0.0;
  [[unroll]] for (uint i = 0u; i < WG; i++) M = max(M, sh_m[i]);
  // Each lane's weight e^(m_i - M), computed once (not once per output dimension: with short
  // contexts these exps cost more than the keys). A lane that saw no key weighs 0.
  float wt[WG];
  float L = 0.0;
  [[unroll]] for (uint i = 0u; i < WG; i++) {   // unrolled: wt[] with constant indices stays in registers
    wt[i] = sh_l[i] > 0.0 ? exp(sh_m[i] - M) : 0.0;
    L += sh_l[i] * wt[i];
  }
  const uint out_base = row * p.o_stride + h * hd;
  const uint part_base = ((row * p.n_head + h) * p.parts + part) * (hd + 2u);
  for (uint d = lane; d < hd; d += WG) {
    float a = 0.0;
    [[unroll]] for (uint i = 0u; i < WG; i++) a += sh_acc[d * WG + i] * wt[i];
    if (p.parts == 1u) OB[out_base + d] = L > 0.0 ? a / L : 0.0;
    else PART[part_base + d] = a;
  }
  if (p.parts > 1u && lane == 0u) {
    PART[part_base + hd] = M;
    PART[part_base + hd + 1u] = L;
  }
}
