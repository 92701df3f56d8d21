#version 450
// embed.comp — Y[row] = token_embd[TOKENS[row].token] * scale, dequantized (type WTYPE). One workgroup
// per token row; each invocation dequantizes 32-element units of the embedding row.
// The weight holds the rows of tokens [tok_first, tok_first + tok_count) (all of them, or one part
// of an embedding split over several bindings: one dispatch per part); a row whose token is
// outside is left to the part that holds it.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : enable
#include "step.glsl"
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;

#ifdef WEIGHTS_TEXEL
layout(binding = 0) uniform usamplerBuffer WT[1];
#define WT_COUNT 1
#else
layout(std430, binding = 0) readonly buffer WeightBuf { uint d[]; } WB[1];
#endif
layout(std430, binding = 1) readonly buffer Tokens { TokenInfo TOKENS[]; };
layout(std430, binding = 2) writeonly buffer Output { float Y[]; };

layout(push_constant) uniform Params {
  uint n_embd;
  uint rows;
  uint y_stride;
  uint w_offset;
  uint tok_first;
  uint tok_count;
  float scale;     // every element multiplied by it (1: the embedding as stored)
} p;

#include "dequant.glsl"

void main() {
  const uint row = gl_WorkGroupID.x;
  if (row >= p.rows) return;
  const uint tok = TOKENS[row].token - p.tok_first;
  if (tok >= p.tok_count) return;  // (unsigned: tokens below tok_first wrap above it)
  const uint rb = row_bytes(p.n_embd);
#ifdef DQ_HAS_ELEM
  if ((p.n_embd & 31u) != 0u) {  // rows that are not whole 32-element units (tiny models)
    for (uint k = gl_LocalInvocationID.x; k < p.n_embd; k += WG)
      Y[row * p.y_stride + k] = dq_elem(0u, p.w_offset + tok * rb, k) * p.scale;
    return;
  }
#endif
  for (uint u = gl_LocalInvocationID.x; u < p.n_embd / 32u; u += WG) {
    float v[32];
    dq_unit(0u, p.w_offset + tok * rb, u, v);
    for (uint i = 0u; i < 32u; i++) Y[row * p.y_stride + u * 32u + i] = v[i] * p.scale;
  }
}
