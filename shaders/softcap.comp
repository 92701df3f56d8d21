#version 450
// softcap.comp — X[r][i] = c tanh(X[r][i] / c) in place for i < n, r < rows: gemma2's final logit
// soft-capping, between the logits matmul and the argmax. One workgroup per row. Recorded only
// for models that soft-cap.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) buffer Data { float X[]; };

layout(push_constant) uniform Params {
  uint n, rows, x_stride;
  float cap;
} p;

void main() {
  const uint r = gl_WorkGroupID.x;
  if (r >= p.rows) return;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG) {
    const uint at = r * p.x_stride + i;
    X[at] = p.cap * tanh_safe(X[at] / p.cap);
  }
}
