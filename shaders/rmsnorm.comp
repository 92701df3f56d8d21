#version 450
// rmsnorm.comp — Y[r] = X[src(r)] * weight / sqrt(mean(X[src(r)]^2) + eps), one workgroup per row.
// With flag 1 the source row is ROWSEL[r] (the final norm gathers only the rows whose logits are
// needed: the last token of each sequence). With flag 4 the result is added to Y (Y[r] += ...: a
// post norm before a residual add, gemma).
#extension GL_GOOGLE_include_directive : require
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Input { float X[]; };
layout(std430, binding = 1) buffer Output { float Y[]; };
layout(std430, binding = 2) readonly buffer Weight { float NW[]; };
// The same three buffers as vec4 arrays, for rows whose length and strides are multiples of 4:
// a CPU device (lavapipe) runs each storage-buffer access lane by lane, so 4 floats an access
// made this kernel 1.4x faster there.
layout(std430, binding = 0) readonly buffer Input4 { vec4 X4[]; };
layout(std430, binding = 1) buffer Output4 { vec4 Y4[]; };
layout(std430, binding = 2) readonly buffer Weight4 { vec4 NW4[]; };
layout(std430, binding = 3) readonly buffer RowSel { uint ROWSEL[]; };

layout(push_constant) uniform Params {
  uint n;        // row length
  uint rows;
  uint x_stride, y_stride;
  float eps;
  uint flags;    // 1: gather source rows through ROWSEL; 2: the buffers' views start on 16 bytes;
                 // 4: add into Y
} p;

#ifdef LANE_ROWS
// rmsnorm_lanes: one row per invocation, for CPU devices (WG = the SIMD width): no reduction across
// the lanes, so no shared memory and no barrier (on lavapipe a barrier makes the shader a
// coroutine; the tree below has four). The host takes it for rows of whole vec4s.
void main() {
  const uint r = gl_WorkGroupID.x * WG + gl_LocalInvocationID.x;
  if (r >= p.rows) return;
  const uint src = ((p.flags & 1u) != 0u ? ROWSEL[r] : r) * p.x_stride / 4u, dst = r * p.y_stride / 4u;
  float ss = 0.0;
  for (uint i = 0u; i < p.n / 4u; i++) {
    const vec4 x = X4[src + i];
    ss += dot(x, x);
  }
  const float scale = inversesqrt(ss / float(p.n) + p.eps);
  if ((p.flags & 4u) != 0u) {
    for (uint i = 0u; i < p.n / 4u; i++) Y4[dst + i] += X4[src + i] * scale * NW4[i];
  } else {
    for (uint i = 0u; i < p.n / 4u; i++) Y4[dst + i] = X4[src + i] * scale * NW4[i];
  }
}
#else
shared float red[WG];

void main() {
  const uint r = gl_WorkGroupID.x, tid = gl_LocalInvocationID.x;
  if (r >= p.rows) return;
  const uint src = ((p.flags & 1u) != 0u ? ROWSEL[r] : r) * p.x_stride;
  const uint dst = r * p.y_stride;
  const bool by4 = (p.flags & 2u) != 0u && ((p.n | src | dst) & 3u) == 0u;   // uniform across the workgroup
  float ss = 0.0;
  if (by4) {
    for (uint i = tid; i < p.n / 4u; i += WG) {
      const vec4 x = X4[src / 4u + i];
      ss += dot(x, x);
    }
  } else {
    for (uint i = tid; i < p.n; i += WG) ss += X[src + i] * X[src + i];
  }
  red[tid] = ss;
  barrier();
  for (uint s = WG / 2u; s > 0u; s >>= 1) {
    if (tid < s) red[tid] += red[tid + s];
    barrier();
  }
  const float scale = inversesqrt(red[0] / float(p.n) + p.eps);
  const bool add = (p.flags & 4u) != 0u;
  if (by4) {
    for (uint i = tid; i < p.n / 4u; i += WG) {
      const vec4 y = X4[src / 4u + i] * scale * NW4[i];
      Y4[dst / 4u + i] = add ? Y4[dst / 4u + i] + y : y;
    }
  } else {
    for (uint i = tid; i < p.n; i += WG) {
      const float y = X[src + i] * scale * NW[i];
      Y[dst + i] = add ? Y[dst + i] + y : y;
    }
  }
}
#endif
