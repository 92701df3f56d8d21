#version 450
// paged_attn.comp — causal attention of each query row over its sequence's keys, read block by
// block from the paged pool through the sequence's block table.
//
// One workgroup per (query row, query head [, partition]). Decode rows (one new token) and
// prefill rows (many new tokens of a chunk) are the same thing here: row r attends to positions
// 0..TOKENS[r].pos of its sequence, all of which are in the pool (rope_kv.comp wrote this step's
// tokens first). Keys are processed in chunks of WG with an online softmax (running max m and sum
// l), so no full score row is ever stored. GQA/MQA: query head h reads kv head h / (n_head/n_kv).
//
// Long contexts are split across `parts` workgroups along z (partitioned, like vLLM's v2 kernel):
// each writes its un-normalised output and (m, l) to PARTIAL, and attn_reduce.comp combines them.
// Partition i takes keys [i part_len, (i+1) part_len) and every parts * part_len after, so a
// context longer than parts * part_len is still read whole.
// With parts == 1 the output is written normalised straight to O.
// WINDOWED / SOFTCAP: a sliding window and soft-capped scores (attn_mask.glsl); with a window the
// keys start at the window's first (partitions split the window's keys).
// KV_Q8: the pool holds q8_0 blocks (kv_pool.glsl), dequantized as they are read.
#extension GL_GOOGLE_include_directive : require
#include "step.glsl"
#include "attn_mask.glsl"
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint MAX_HEAD_DIM = 256;
layout(constant_id = 2) const uint WINDOWED = 0;
layout(constant_id = 3) const uint SOFTCAP = 0;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Q { float QB[]; };
layout(std430, binding = 1) writeonly buffer O { float OB[]; };
layout(std430, binding = 2) readonly buffer Tokens { TokenInfo TOKENS[]; };
layout(std430, binding = 3) readonly buffer BlockTables { uint BT[]; };
layout(std430, binding = 4) writeonly buffer Partial { float PART[]; };
#define KV_BINDING 5
#include "kv_pool.glsl"

layout(push_constant) uniform Params {
  uint rows;
  uint n_head, n_kv_head, head_dim;
  uint layer;
  uint block_size, blocks_per_buf, n_layer;
  uint max_blocks;           // row length of the block-table array
  uint q_stride, o_stride;
  uint parts;                // workgroups per (row, head) along z
  uint part_len;             // keys per partition range (any; multiples of WG waste nothing)
  float scale;               // 1/sqrt(head_dim), or the model's
  uint window;               // WINDOWED: keys a query sees
  float softcap;             // SOFTCAP: the cap c
} p;

shared float qs[MAX_HEAD_DIM];
shared float sc[WG];
shared float red[WG];

float reduce_max(float v) {
  const uint tid = gl_LocalInvocationID.x;
  red[tid] = v;
  barrier();
  for (uint s = WG / 2u; s > 0u; s >>= 1) {
    if (tid < s) red[tid] = max(red[tid], red[tid + s]);
    barrier();
  }
  float r = red[0];
  barrier();
  return r;
}

float reduce_sum(float v) {
  const uint tid = gl_LocalInvocationID.x;
  red[tid] = v;
  barrier();
  for (uint s = WG / 2u; s > 0u; s >>= 1) {
    if (tid < s) red[tid] += red[tid + s];
    barrier();
  }
  float r = red[0];
  barrier();
  return r;
}

void main() {
  const uint row = gl_WorkGroupID.x, h = gl_WorkGroupID.y, part = gl_WorkGroupID.z;
  const uint tid = gl_LocalInvocationID.x;
  if (row >= p.rows) return;
  const TokenInfo t = TOKENS[row];
  const uint kvh = h / (p.n_head / p.n_kv_head);
  const uint n_keys = t.pos + 1u;
  const uint k_first = WINDOWED != 0u ? attn_first_key(t.pos, p.window) : 0u;
  PoolGeom g = PoolGeom(p.block_size, p.blocks_per_buf, p.n_layer, p.n_kv_head, p.head_dim);

  for (uint i = tid; i < p.head_dim; i += WG) qs[i] = QB[row * p.q_stride + h * p.head_dim + i] * p.scale;
  barrier();

  // Each invocation owns output dims tid, tid + WG, ... (at most MAX_HEAD_DIM / WG of them).
  const uint DIMS = (MAX_HEAD_DIM + WG - 1u) / WG;
  float acc[DIMS];
  for (uint i = 0u; i < DIMS; i++) acc[i] = 0.0;
  float m = -1.0 / 0.0, l = 0.0;

  // Partition `part` takes the key ranges [k_first + part * part_len, +part_len), then
  // parts * part_len further on, and so on: every key is seen whatever parts * part_len is.
  for (uint k_begin = k_first + part * p.part_len; k_begin < n_keys; k_begin += p.parts * p.part_len) {
    const uint k_end = n_keys - k_begin <= p.part_len ? n_keys : k_begin + p.part_len;   // (no wrap)
    for (uint c = k_begin; c < k_end; c += WG) {
      const uint j = c + tid;
      float s = -1.0 / 0.0;
      if (j < k_end) {
        uint slot = BT[t.seq * p.max_blocks + j / p.block_size] * p.block_size + j % p.block_size;
        uint buf;
        uint e = pool_elem(g, slot, p.layer, 0u, kvh, buf);
        s = 0.0;
#ifdef KV_Q8
        // q8_0: each 32 quants times their block's scale (dequantized here, never stored)
        const uint sw = pool_scale(g, slot, p.layer, 0u, kvh);
        for (uint i = 0u; i < p.head_dim; i += 32u) {
          const float dq = unpackHalf2x16(kv_word(buf, sw + i / 64u))[(i / 32u) & 1u];
          float s32 = 0.0;
          for (uint w = 0u; w < 8u; w++) {
            const vec4 k4 = q8_unpack4(kv_word(buf, (e + i) / 4u + w));
            const uint b = i + 4u * w;
            s32 += qs[b] * k4.x + qs[b + 1u] * k4.y + qs[b + 2u] * k4.z + qs[b + 3u] * k4.w;
          }
          s += dq * s32;
        }
#else
        for (uint i = 0u; i < p.head_dim; i += 2u) {
          vec2 k2 = pool_load2(buf, e + i);
          s += qs[i] * k2.x + qs[i + 1u] * k2.y;
        }
#endif
        if (SOFTCAP != 0u) s = softcap(s, p.softcap);
      }
      const float m_new = max(m, reduce_max(s));
      const float pj = j < k_end ? exp(s - m_new) : 0.0;
      sc[tid] = pj;
      const float l_chunk = reduce_sum(pj);   // its barriers also publish sc[]
      const float corr = exp(m - m_new);
      l = l * corr + l_chunk;
      m = m_new;
      const uint n_chunk = min(WG, k_end - c);
      for (uint di = 0u; di < DIMS; di++) {
        const uint d = tid + di * WG;
        if (d >= p.head_dim) break;
        float a = acc[di] * corr;
        for (uint jj = 0u; jj < n_chunk; jj++) {
          uint pos = c + jj;
          uint slot = BT[t.seq * p.max_blocks + pos / p.block_size] * p.block_size + pos % p.block_size;
          uint buf;
          uint e = pool_elem(g, slot, p.layer, 1u, kvh, buf);
#ifdef KV_Q8
          a += sc[jj] * pool_load_q8(buf, e + d, pool_scale(g, slot, p.layer, 1u, kvh), d);
#else
          a += sc[jj] * pool_load(buf, e + d);
#endif
        }
        acc[di] = a;
      }
      barrier();   // sc[] is rewritten by the next chunk
    }
    if (k_end == n_keys) break;   // (with parts == 1, part_len is ~0u: the step would wrap)
  }

  if (p.parts == 1u) {
    for (uint di = 0u; di < DIMS; di++) {
      const uint d = tid + di * WG;
      if (d < p.head_dim) OB[row * p.o_stride + h * p.head_dim + d] = l > 0.0 ? acc[di] / l : 0.0;
    }
  } else {
    // PARTIAL layout per (row, head, part): [head_dim outputs][m][l]
    const uint base = ((row * p.n_head + h) * p.parts + part) * (p.head_dim + 2u);
    for (uint di = 0u; di < DIMS; di++) {
      const uint d = tid + di * WG;
      if (d < p.head_dim) PART[base + d] = acc[di];
    }
    if (tid == 0u) {
      PART[base + p.head_dim] = m;
      PART[base + p.head_dim + 1u] = l;
    }
  }
}
