#version 450
// attn_reduce.comp — combines the partitions of paged_attn.comp: with each partition's running
// max m_i, sum l_i and un-normalised output a_i,
//   M = max m_i,  L = sum l_i e^(m_i - M),  out = sum a_i e^(m_i - M) / L.
// One workgroup per (row, head); an empty partition has m = -inf and l = 0 and contributes 0.
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Partial { float PART[]; };
layout(std430, binding = 1) writeonly buffer O { float OB[]; };

layout(push_constant) uniform Params {
  uint rows, n_head, head_dim, parts, o_stride;
} p;

void main() {
  const uint row = gl_WorkGroupID.x, h = gl_WorkGroupID.y;
  if (row >= p.rows) return;
  const uint stride = p.head_dim + 2u;
  const uint base = (row * p.n_head + h) * p.parts * stride;
  float M = -1.0 / 0.0;
  for (uint i = 0u; i < p.parts; i++) M = max(M, PART[base + i * stride + p.head_dim]);
  float L = 0.0;
  for (uint i = 0u; i < p.parts; i++) {
    float l = PART[base + i * stride + p.head_dim + 1u];
    if (l > 0.0) L += l * exp(PART[base + i * stride + p.head_dim] - M);
  }
  for (uint d = gl_LocalInvocationID.x; d < p.head_dim; d += WG) {
    float a = 0.0;
    for (uint i = 0u; i < p.parts; i++) {
      float l = PART[base + i * stride + p.head_dim + 1u];
      if (l > 0.0) a += PART[base + i * stride + d] * exp(PART[base + i * stride + p.head_dim] - M);
    }
    OB[row * p.o_stride + h * p.head_dim + d] = L > 0.0 ? a / L : 0.0;
  }
}
