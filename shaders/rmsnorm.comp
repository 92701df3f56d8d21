#version 450
// rmsnorm.comp — Y[r] = X[src(r)] * weight / sqrt(mean(X[src(r)]^2) + eps), one workgroup per row.
// With flag 1 the source row is ROWSEL[r] (the final norm gathers only the rows whose logits are
// needed: the last token of each sequence).
#extension GL_GOOGLE_include_directive : require
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Input { float X[]; };
layout(std430, binding = 1) writeonly buffer Output { float Y[]; };
layout(std430, binding = 2) readonly buffer Weight { float NW[]; };
layout(std430, binding = 3) readonly buffer RowSel { uint ROWSEL[]; };

layout(push_constant) uniform Params {
  uint n;        // row length
  uint rows;
  uint x_stride, y_stride;
  float eps;
  uint flags;    // 1: gather source rows through ROWSEL
} p;

shared float red[WG];

void main() {
  const uint r = gl_WorkGroupID.x, tid = gl_LocalInvocationID.x;
  if (r >= p.rows) return;
  const uint src = ((p.flags & 1u) != 0u ? ROWSEL[r] : r) * p.x_stride;
  float ss = 0.0;
  for (uint i = tid; i < p.n; i += WG) ss += X[src + i] * X[src + i];
  red[tid] = ss;
  barrier();
  for (uint s = WG / 2u; s > 0u; s >>= 1) {
    if (tid < s) red[tid] += red[tid + s];
    barrier();
  }
  const float scale = inversesqrt(red[0] / float(p.n) + p.eps);
  const uint dst = r * p.y_stride;
  for (uint i = tid; i < p.n; i += WG) Y[dst + i] = X[src + i] * scale * NW[i];
}
