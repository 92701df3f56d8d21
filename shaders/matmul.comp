#version 450
// matmul.comp — Y[m][n] = (sum_k X[m][k] * W[n][k]  (+ bias[n])) (* scale) (+= Y[m][n] when accumulating)
//
// W is a GGUF weight matrix (N rows of K elements, row-major, type WTYPE), dequantized on the fly
// in units of 32 elements (dequant.glsl). X and Y are f32. One workgroup computes ROWS output
// rows for NTOK tokens, so each dequantized weight is used NTOK times: decode batches and prefill
// chunks share this kernel (dispatch y covers the tokens in groups of NTOK).
// With SWIGLU defined the workgroup also reads W2 = WB[1] (the up projection, same type and shape) and
// writes silu(X W^T) * (X W2^T): the gate, up and activation of an FFN in one pass (flag 8: gelu
// instead of silu, GeGLU).
// Partial sums of the WG invocations are combined by a shared-memory tree (no subgroup ops, so it
// runs on every device; the loop over K dominates).
#extension GL_EXT_control_flow_attributes : enable
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint ROWS = 2;
layout(constant_id = 2) const uint NTOK = 4;
// ROW_PER_INVOCATION: each invocation computes whole rows by itself, with no shared memory and no
// barriers. On CPU devices (lavapipe: invocations are SIMD lanes of one core) this is much faster
// than cooperating on a row; on GPUs the cooperative form reads the weights coalesced.
layout(constant_id = 3) const bool ROW_PER_INVOCATION = false;
layout(local_size_x_id = 0) in;

#ifdef SWIGLU
#define NWB 2
#else
#define NWB 1
#endif
// WB[0] = W, WB[1] = W2 (the up projection) with SWIGLU.
#ifdef WEIGHTS_TEXEL
layout(binding = 0) uniform usamplerBuffer WT[NWB];
#define WT_COUNT NWB
#else
layout(std430, binding = 0) readonly buffer WeightBuf { uint d[]; } WB[NWB];
#endif
#ifdef WEIGHTS_TEXEL
// The texel variant reads the activations through an RGBA32F texel buffer too.
layout(binding = 1) uniform samplerBuffer XT;
#define XLOAD(i) texelFetch(XT, int(i))
#else
layout(std430, binding = 1) readonly buffer Input { vec4 X[]; };
#define XLOAD(i) X[i]
#endif
layout(std430, binding = 2) buffer Output { float Y[]; };
layout(std430, binding = 3) readonly buffer Bias { float BIAS[]; };

layout(push_constant) uniform Params {
  uint K, N, M;        // inner size, rows of W, tokens
  uint x_stride;       // floats between tokens in X (multiple of 4)
  uint y_stride;       // floats between tokens in Y
  uint w_offset;       // byte offset of W (and W2) in its buffer, multiple of 4
  uint w2_offset;
  uint flags;          // 1: add BIAS[n]; 2: accumulate into Y; 4: multiply by scale before accumulating;
                       // 8: SWIGLU's gate through gelu, not silu
  float scale;
} p;

#ifdef SWIGLU
float gate_act(float g) { return (p.flags & 8u) != 0u ? gelu(g) : silu(g); }
#endif

#include "dequant.glsl"

#ifdef SWIGLU
#define NACC 2u
#else
#define NACC 1u
#endif

// (the row-per-invocation form reduces nothing: no shared memory for it)
shared float red[ROW_PER_INVOCATION ? 1u : WG * ROWS * NTOK * NACC];

// ROWS output rows per invocation (rows n, n + WG, ...), NTOK tokens per pass: each activation
// fetch feeds ROWS dot products (on lavapipe a fetch costs more than the arithmetic it feeds).
// Written for lavapipe's code generator: every loop over rows and tokens is unrolled, so each
// accumulator has a constant index (one private array indexed by a variable anywhere makes the
// driver keep the whole array in memory and read and write it lane by lane), and the token loop
// has no exit: a group's missing tokens repeat its last one (uniform, no masked stores), and only
// the final stores check M.
void main_rows() {
  const uint n0 = (gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG * ROWS + gl_LocalInvocationID.x;
  if (n0 >= p.N) return;
  const uint m0 = gl_WorkGroupID.y * NTOK;
  const uint rb = row_bytes(p.K);
  uint rowb[ROWS];
  [[unroll]] for (uint r = 0u; r < ROWS; r++) rowb[r] = min(n0 + r * WG, p.N - 1u) * rb;
  uint xrow[NTOK];   // first float of each token's activations
  [[unroll]] for (uint t = 0u; t < NTOK; t++) xrow[t] = min(m0 + t, p.M - 1u) * p.x_stride;
  float acc[ROWS * NTOK * NACC];
  [[unroll]] for (uint i = 0u; i < ROWS * NTOK * NACC; i++) acc[i] = 0.0;
#ifdef DQ_HAS_ELEM
  if ((p.K & 31u) != 0u) {
    for (uint kk = 0u; kk < p.K; kk++) {
      [[unroll]] for (uint r = 0u; r < ROWS; r++) {
        float w = dq_elem(0u, p.w_offset + rowb[r], kk);
#ifdef SWIGLU
        float w2 = dq_elem(1u, p.w2_offset + rowb[r], kk);
#endif
        [[unroll]] for (uint t = 0u; t < NTOK; t++) {
          uint xi = xrow[t] + kk;
          float x = XLOAD(xi >> 2)[xi & 3u];
          acc[(r * NTOK + t) * NACC] = fma(w, x, acc[(r * NTOK + t) * NACC]);
#ifdef SWIGLU
          acc[(r * NTOK + t) * NACC + 1u] = fma(w2, x, acc[(r * NTOK + t) * NACC + 1u]);
#endif
        }
      }
    }
  }
#endif
  for (uint u = 0u; u < p.K / 32u; u++) {
    vec4 w[ROWS * 8u];
#ifdef SWIGLU
    vec4 w2[ROWS * 8u];
#endif
    [[unroll]] for (uint r = 0u; r < ROWS; r++) {
      float f[32];
      dq_unit(0u, p.w_offset + rowb[r], u, f);
      [[unroll]] for (uint i = 0u; i < 8u; i++) w[r * 8u + i] = vec4(f[4u * i], f[4u * i + 1u], f[4u * i + 2u], f[4u * i + 3u]);
#ifdef SWIGLU
      dq_unit(1u, p.w2_offset + rowb[r], u, f);
      [[unroll]] for (uint i = 0u; i < 8u; i++) w2[r * 8u + i] = vec4(f[4u * i], f[4u * i + 1u], f[4u * i + 2u], f[4u * i + 3u]);
#endif
    }
    [[unroll]] for (uint t = 0u; t < NTOK; t++) {
      const uint xb = xrow[t] / 4u + u * 8u;
      [[unroll]] for (uint i = 0u; i < 8u; i++) {
        vec4 x = XLOAD(xb + i);
        [[unroll]] for (uint r = 0u; r < ROWS; r++) {
          acc[(r * NTOK + t) * NACC] = dot4_acc(x, w[r * 8u + i], acc[(r * NTOK + t) * NACC]);
#ifdef SWIGLU
          acc[(r * NTOK + t) * NACC + 1u] = dot4_acc(x, w2[r * 8u + i], acc[(r * NTOK + t) * NACC + 1u]);
#endif
        }
      }
    }
  }
  [[unroll]] for (uint r = 0u; r < ROWS; r++) {
    const uint n = n0 + r * WG;
    [[unroll]] for (uint t = 0u; t < NTOK; t++) {
      const uint m = m0 + t;
      if (n >= p.N || m >= p.M) continue;
#ifdef SWIGLU
      float y = gate_act(acc[(r * NTOK + t) * 2u]) * acc[(r * NTOK + t) * 2u + 1u];
#else
      float y = acc[r * NTOK + t];
      if ((p.flags & 1u) != 0u) y += BIAS[n];
#endif
      uint at = m * p.y_stride + n;
      if ((p.flags & 4u) != 0u) y *= p.scale;
      if ((p.flags & 2u) != 0u) y += Y[at];
      Y[at] = y;
    }
  }
}

void main_coop() {
  const uint tid = gl_LocalInvocationID.x;
  // Row groups may be folded into z when there are more than maxComputeWorkGroupCount[0].
  const uint n0 = (gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * ROWS;
  if (n0 >= p.N) return;   // uniform for the whole workgroup
  const uint m0 = gl_WorkGroupID.y * NTOK;
  const uint nt = min(NTOK, p.M - m0);
  const uint units = p.K / 32u;
  const uint rb = row_bytes(p.K);
  float acc[ROWS * NTOK * NACC];
  for (uint i = 0u; i < ROWS * NTOK * NACC; i++) acc[i] = 0.0;

#ifdef DQ_HAS_ELEM
  // Float weights whose rows are not whole 32-element units: one element at a time.
  if ((p.K & 31u) != 0u) {
    for (uint kk = tid; kk < p.K; kk += WG)
      for (uint r = 0u; r < ROWS; r++) {
        uint n = min(n0 + r, p.N - 1u);
        float w = dq_elem(0u, p.w_offset + n * rb, kk);
#ifdef SWIGLU
        float w2 = dq_elem(1u, p.w2_offset + n * rb, kk);
#endif
        for (uint t = 0u; t < nt; t++) {
          uint m = m0 + t;
          uint xi = m * p.x_stride + kk;
          float x = XLOAD(xi >> 2)[xi & 3u];
          acc[(r * NTOK + t) * NACC] += w * x;
#ifdef SWIGLU
          acc[(r * NTOK + t) * NACC + 1u] += w2 * x;
#endif
        }
      }
  }
#endif
  for (uint u = tid; u < units; u += WG) {
    for (uint r = 0u; r < ROWS; r++) {
      uint n = min(n0 + r, p.N - 1u);
      float w[32];
      dq_unit(0u, p.w_offset + n * rb, u, w);
#ifdef SWIGLU
      float w2[32];
      dq_unit(1u, p.w2_offset + n * rb, u, w2);
#endif
      for (uint t = 0u; t < nt; t++) {
        uint m = m0 + t;
        uint xb = (m * p.x_stride) / 4u + u * 8u;
        float s = 0.0;
#ifdef SWIGLU
        float s2 = 0.0;
#endif
        [[unroll]] for (uint i = 0u; i < 8u; i++) {
          vec4 x = XLOAD(xb + i);
          s += dot(x, vec4(w[4u * i], w[4u * i + 1u], w[4u * i + 2u], w[4u * i + 3u]));
#ifdef SWIGLU
          s2 += dot(x, vec4(w2[4u * i], w2[4u * i + 1u], w2[4u * i + 2u], w2[4u * i + 3u]));
#endif
        }
        acc[(r * NTOK + t) * NACC] += s;
#ifdef SWIGLU
        acc[(r * NTOK + t) * NACC + 1u] += s2;
#endif
      }
    }
  }

  const uint NV = ROWS * NTOK * NACC;
  for (uint i = 0u; i < NV; i++) red[i * WG + tid] = acc[i];
  barrier();
  for (uint stride = WG / 2u; stride > 0u; stride >>= 1) {
    if (tid < stride)
      for (uint i = 0u; i < NV; i++) red[i * WG + tid] += red[i * WG + tid + stride];
    barrier();
  }
  // WG must be a power of two (checked by the host); thread i writes value i.
  for (uint i = tid; i < ROWS * NTOK; i += WG) {
    uint r = i / NTOK, t = i % NTOK;
    uint n = n0 + r, m = m0 + t;
    if (n >= p.N || m >= p.M) continue;
#ifdef SWIGLU
    float y = gate_act(red[(i * 2u) * WG]) * red[(i * 2u + 1u) * WG];
#else
    float y = red[i * WG];
    if ((p.flags & 1u) != 0u) y += BIAS[n];
#endif
    uint at = m * p.y_stride + n;
    if ((p.flags & 4u) != 0u) y *= p.scale;
    if ((p.flags & 2u) != 0u) y += Y[at];
    Y[at] = y;
  }
}

void main() {
  if (ROW_PER_INVOCATION) main_rows();
  else main_coop();
}
