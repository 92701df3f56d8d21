#version 450
// paged_attn_rows.comp — causal paged attention of prompt chunks, shaped for devices whose
// invocations are SIMD lanes of a CPU core (lavapipe). A workgroup takes one tile: up to
// WG * RPL consecutive rows of one prompt chunk (one sequence, consecutive positions), for one
// head. Lane l owns rows first + i*WG + l (i < RPL) and every lane walks the same keys, so one
// fetch of a key's K and V serves all the tile's rows: RPL times fewer fetches per (row, key) than
// paged_attn_lanes.comp, whose lanes walk different keys of one row. Each row keeps its own online
// softmax and writes its own output: no merge, no shared memory, no barrier (on lavapipe a barrier
// makes the shader a coroutine). Keys past a row's position are masked, so a tile wastes at most
// its own length in keys per row. The host builds the tiles (forward.c) and sends decode rows and
// short chunks to the lanes kernel. Every array below has constant indices only: lavapipe keeps a
// private array indexed by a variable in memory, lane by lane.
//
// With PAIRS (variant paged_attn_pairs) the lanes of a workgroup take (row, head) pairs instead,
// for decode rows: pair p is head p % n_head of row ROWSEL[p / n_head]; each lane walks its own
// sequence's keys (block table and K/V fetched per lane) up to the tile's longest context, keys
// past its own masked. The host lists the rows longest context first, so a tile's lanes have
// similar lengths; with 8 heads or more a tile is one row's heads and wastes nothing. It replaces
// the lanes kernel's one workgroup per (row, head), whose merge and barrier cost more than the
// keys at the short contexts of a large decode batch.
//
// WINDOWED / SOFTCAP (attn_mask.glsl): with a window a tile's keys start at the block of its first
// row's first key and each row masks the keys before its own window; a pair's lane starts at its
// own window's block and walks at most the blocks a window spans. KV_Q8: q8_0 pool (kv_pool.glsl),
// each head row dequantized as it is fetched.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : enable
#include "step.glsl"
#include "attn_mask.glsl"
layout(constant_id = 0) const uint WG = 8;          // lanes per workgroup
layout(constant_id = 1) const uint HEAD_DIM = 64;   // exactly the model's (a multiple of EPT)
layout(constant_id = 2) const uint N_BUFS = 8;      // 1: every block of the pass is in buffer 0
layout(constant_id = 3) const uint RPL = 2;         // rows per lane
layout(constant_id = 4) const uint WINDOWED = 0;
layout(constant_id = 5) const uint SOFTCAP = 0;
layout(local_size_x_id = 0) in;

layout(binding = 0) uniform samplerBuffer QT;        // RGBA32F view of Q rows
layout(std430, binding = 1) writeonly buffer O { vec4 OB4[]; };
layout(std430, binding = 2) readonly buffer Tokens { TokenInfo TOKENS[]; };
layout(binding = 3) uniform usamplerBuffer BTT;      // R32_UINT view of the block tables
#ifdef PAIRS
layout(std430, binding = 4) readonly buffer Tiles { uvec4 TILES[]; };   // (first pair, pairs, keys, -)
#else
layout(std430, binding = 4) readonly buffer Tiles { uvec2 TILES[]; };   // (first row, rows)
#endif
layout(binding = 5) uniform usamplerBuffer KVT[8];   // RGBA32_UINT views of the pool buffers
#ifdef PAIRS
layout(std430, binding = 6) readonly buffer RowSel { uint ROWSEL[]; };  // the decode rows
#endif

layout(push_constant) uniform Params {
  uint tiles;
  uint n_head, n_kv_head, head_dim;
  uint layer;
  uint block_size, blocks_per_buf, n_layer;
  uint max_blocks;
  uint q_stride, o_stride;
  float scale;
  uint window;   // WINDOWED: keys a query sees
  float softcap; // SOFTCAP: the cap c
} p;

#include "kv_texels.glsl"
#define HD4 (HEAD_DIM / 4u)

// One key's (or value's) head row, pool elements e .. e + HEAD_DIM - 1, into the vec4 array R
// (a macro: glslang mistranslates arrays sized by a specialization constant as parameters).
// sw: the row's first scale word (KV_Q8; the other types ignore it). BLOCK_BASE: element 0 of
// layer p.layer in local block `local`; ROW_SCALES: the first scale word of kv head kvh's K row
// at token `off` of that block (V's rows are V_SCALES words further).
#if defined(KV_Q8)
#define KV_ROW(R, buf, e, sw)                                                         \
  [[unroll]] for (uint d_ = 0u; d_ < HEAD_DIM; d_ += EPT) {                           \
    uvec4 w_ = kv_texel(buf, ((e) + d_) / EPT);                                       \
    float s_ = kv_q8_scale(buf, sw, d_ / 32u);                                        \
    R[d_ / 4u] = q8_unpack4(w_.x) * s_;                                               \
    R[d_ / 4u + 1u] = q8_unpack4(w_.y) * s_;                                          \
    R[d_ / 4u + 2u] = q8_unpack4(w_.z) * s_;                                          \
    R[d_ / 4u + 3u] = q8_unpack4(w_.w) * s_;                                          \
  }
#define BLOCK_BASE(local) ((local) * pool_block_elems(p.block_size, p.n_layer, p.n_kv_head, HEAD_DIM) + p.layer * 2u * per_kv)
#define ROW_SCALES(local, off) q8_scale_word(p.block_size, p.n_layer, p.n_kv_head, HEAD_DIM, local, p.layer, 0u, kvh, off)
#define V_SCALES (p.n_kv_head * p.block_size * q8_row_scale_words(HEAD_DIM))
#elif defined(KV_F32)
#define KV_ROW(R, buf, e, sw)                                                         \
  [[unroll]] for (uint d_ = 0u; d_ < HEAD_DIM; d_ += EPT) R[d_ / 4u] = uintBitsToFloat(kv_texel(buf, ((e) + d_) / EPT));
#else
#define KV_ROW(R, buf, e, sw)                                                         \
  [[unroll]] for (uint d_ = 0u; d_ < HEAD_DIM; d_ += EPT) {                           \
    uvec4 w_ = kv_texel(buf, ((e) + d_) / EPT);                                       \
    R[d_ / 4u] = vec4(unpackHalf2x16(w_.x), unpackHalf2x16(w_.y));                    \
    R[d_ / 4u + 1u] = vec4(unpackHalf2x16(w_.z), unpackHalf2x16(w_.w));               \
  }
#endif
#ifndef KV_Q8
#define BLOCK_BASE(local) (((local) * p.n_layer + p.layer) * 2u * per_kv)
#define ROW_SCALES(local, off) 0u
#define V_SCALES 0u
#endif

#ifdef PAIRS
void main() {
  const uint tile = gl_WorkGroupID.x, lane = gl_LocalInvocationID.x;
  if (tile >= p.tiles) return;
  const uvec4 td = TILES[tile];
  const uint pair = td.x + min(lane, td.y - 1u);   // lanes past the tile repeat its last pair
  const uint row = ROWSEL[pair / p.n_head], h = pair % p.n_head;
  const TokenInfo t = TOKENS[row];
  const uint kvh = h / (p.n_head / p.n_kv_head);
  const uint per_kv = p.n_kv_head * p.block_size * HEAD_DIM;
  const uint q4 = (row * p.q_stride + h * HEAD_DIM) / 4u;
  vec4 q[HD4], acc[HD4];
  [[unroll]] for (uint d = 0u; d < HD4; d++) {
    q[d] = texelFetch(QT, int(q4 + d)) * p.scale;
    acc[d] = vec4(0.0);
  }
  float m = -1.0 / 0.0, l = 0.0;

  const uint bs_shift = findLSB(p.block_size), my_last_block = t.pos >> bs_shift;
  // Blocks this lane walks: from its first key's (0 without a window), as many as the tile's longest
  // context spans, or with a window at most the blocks one window spans.
  const uint lo = WINDOWED != 0u ? attn_first_key(t.pos, p.window) : 0u, first_block = lo >> bs_shift;
  uint n_blocks = ((td.z - 1u) >> bs_shift) + 1u;
  if (WINDOWED != 0u) n_blocks = min(n_blocks, ((p.window - 1u) >> bs_shift) + 2u);
  for (uint bi = 0u; bi < n_blocks; bi++) {
    const uint b = first_block + bi;
    // a lane past its own keys stays in its last block (in bounds) and masks the keys
    const uint block = texelFetch(BTT, int(t.seq * p.max_blocks + min(b, my_last_block))).x;
    uint buf = 0u, local = block;
    if (N_BUFS != 1u) {
      buf = block / p.blocks_per_buf;
      local = block - buf * p.blocks_per_buf;
    }
    const uint kbase = BLOCK_BASE(local) + kvh * p.block_size * HEAD_DIM;
    // (with a window whole blocks: the lanes' blocks are not aligned to the tile's keys)
    const uint n_here = WINDOWED != 0u ? p.block_size : min(p.block_size, td.z - (b << bs_shift));
    for (uint o = 0u; o < n_here; o++) {
      // A lane past its own keys reads its last key again: the slots after it may hold anything
      // (NaN included), and 0 * NaN would reach the sums. Before its window it reads the first key
      // of the window (in block b: only the first block holds keys before lo).
      const uint j = (b << bs_shift) + o, jj = clamp(j, lo, t.pos);
      const uint e = kbase + (jj & (p.block_size - 1u)) * HEAD_DIM, sk = ROW_SCALES(local, jj & (p.block_size - 1u));
      vec4 k[HD4];
      KV_ROW(k, buf, e, sk)
      float s = 0.0;
      [[unroll]] for (uint d = 0u; d < HD4; d++) s = fma(q[d].x, k[d].x, fma(q[d].y, k[d].y, fma(q[d].z, k[d].z,
                                                                                     fma(q[d].w, k[d].w, s))));
      if (SOFTCAP != 0u) s = softcap(s, p.softcap);
      const float ex = exp(-abs(s - m));
      const bool valid = j <= t.pos && j >= lo;
      const float c = valid && s > m ? ex : 1.0, pj = !valid ? 0.0 : s > m ? 1.0 : ex;
      l = l * c + pj;
      m = valid ? max(m, s) : m;
      vec4 v[HD4];
      KV_ROW(v, buf, e + per_kv, sk + V_SCALES)
      [[unroll]] for (uint d = 0u; d < HD4; d++) acc[d] = fma(acc[d], vec4(c), pj * v[d]);
    }
  }
  if (lane >= td.y) return;
  const uint o4 = (row * p.o_stride + h * HEAD_DIM) / 4u;
  const float inv = 1.0 / l;
  [[unroll]] for (uint d = 0u; d < HD4; d++) OB4[o4 + d] = acc[d] * inv;
}
#else
void main() {
  const uint tile = gl_WorkGroupID.x, h = gl_WorkGroupID.y, lane = gl_LocalInvocationID.x;
  if (tile >= p.tiles) return;
  const uvec2 td = TILES[tile];
  const uint last = td.x + td.y - 1u;
  const TokenInfo t0 = TOKENS[td.x];
  const uint last_pos = t0.pos + td.y - 1u;   // rows of a tile have consecutive positions
  const uint kvh = h / (p.n_head / p.n_kv_head);
  const uint per_kv = p.n_kv_head * p.block_size * HEAD_DIM;

  uint row[RPL], pos[RPL];
  vec4 q[RPL * HD4], acc[RPL * HD4];
  float m[RPL], l[RPL];
  [[unroll]] for (uint i = 0u; i < RPL; i++) {
    row[i] = min(td.x + i * WG + lane, last);   // lanes past the tile repeat its last row
    pos[i] = t0.pos + (row[i] - td.x);
    const uint q4 = (row[i] * p.q_stride + h * HEAD_DIM) / 4u;
    [[unroll]] for (uint d = 0u; d < HD4; d++) {
      q[i * HD4 + d] = texelFetch(QT, int(q4 + d)) * p.scale;
      acc[i * HD4 + d] = vec4(0.0);
    }
    m[i] = -1.0 / 0.0;
    l[i] = 0.0;
  }

  const uint bs_shift = findLSB(p.block_size);
  // with a window: from the block of the first row's first key (every later row's starts later)
  const uint first_block = WINDOWED != 0u ? attn_first_key(t0.pos, p.window) >> bs_shift : 0u;
  for (uint b = first_block; b <= (last_pos >> bs_shift); b++) {
    const uint block = texelFetch(BTT, int(t0.seq * p.max_blocks + b)).x;
    uint buf = 0u, local = block;
    if (N_BUFS != 1u) {
      buf = block / p.blocks_per_buf;
      local = block - buf * p.blocks_per_buf;
    }
    const uint kbase = BLOCK_BASE(local) + kvh * p.block_size * HEAD_DIM;
    const uint n_here = min(p.block_size, last_pos + 1u - (b << bs_shift));
    for (uint o = 0u; o < n_here; o++) {
      const uint j = (b << bs_shift) + o;
      const uint e = kbase + o * HEAD_DIM, sk = ROW_SCALES(local, o);
      vec4 k[HD4];
      KV_ROW(k, buf, e, sk)
      float c[RPL], pj[RPL];
      [[unroll]] for (uint i = 0u; i < RPL; i++) {
        float s = 0.0;
        [[unroll]] for (uint d = 0u; d < HD4; d++) s = fma(q[i * HD4 + d].x, k[d].x, fma(q[i * HD4 + d].y, k[d].y,
                                                 fma(q[i * HD4 + d].z, k[d].z, fma(q[i * HD4 + d].w, k[d].w, s))));
        if (SOFTCAP != 0u) s = softcap(s, p.softcap);
        // One exp per key, as in paged_attn_lanes; a key past the row's position (or before its
        // window) changes nothing.
        const float ex = exp(-abs(s - m[i]));
        const bool valid = j <= pos[i] && (WINDOWED == 0u || pos[i] - j < p.window);
        c[i] = valid && s > m[i] ? ex : 1.0;
        pj[i] = !valid ? 0.0 : s > m[i] ? 1.0 : ex;
        l[i] = l[i] * c[i] + pj[i];
        m[i] = valid ? max(m[i], s) : m[i];
      }
      vec4 v[HD4];
      KV_ROW(v, buf, e + per_kv, sk + V_SCALES)
      [[unroll]] for (uint i = 0u; i < RPL; i++)
        [[unroll]] for (uint d = 0u; d < HD4; d++) acc[i * HD4 + d] = fma(acc[i * HD4 + d], vec4(c[i]), pj[i] * v[d]);
    }
  }

  [[unroll]] for (uint i = 0u; i < RPL; i++) {
    if (td.x + i * WG + lane > last) continue;
    const uint o4 = (row[i] * p.o_stride + h * HEAD_DIM) / 4u;
    const float inv = 1.0 / l[i];   // every row sees its own key: l >= 1
    [[unroll]] for (uint d = 0u; d < HD4; d++) OB4[o4 + d] = acc[i * HD4 + d] * inv;
  }
}
#endif
