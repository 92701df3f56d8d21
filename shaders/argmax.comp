#version 450
// argmax.comp — greedy sampling on the device: OUT[r] = index of the largest X[r][*] (the lowest
// index among equal maxima, as the CPU reference picks). One workgroup per row. A row holding a
// NaN or an infinity gets 0xffffffff instead (PV_ARGMAX_NONFINITE): the engine fails that request
// rather than emit a token chosen from garbage. The test is on the bits, which no fast-math
// setting of a driver can fold away as it may fold isnan().
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Input { float X[]; };
layout(std430, binding = 1) writeonly buffer Output { uint OUT[]; };

layout(push_constant) uniform Params { uint n, rows, x_stride; } p;

shared float best_v[WG];
shared uint best_i[WG];
shared uint nonfinite;

void main() {
  const uint r = gl_WorkGroupID.x, tid = gl_LocalInvocationID.x;
  if (r >= p.rows) return;
  if (tid == 0u) nonfinite = 0u;
  barrier();
  float bv = -1.0 / 0.0;
  uint bi = 0xffffffffu, bad = 0u;
  for (uint i = tid; i < p.n; i += WG) {
    float v = X[r * p.x_stride + i];
    if ((floatBitsToUint(v) & 0x7f800000u) == 0x7f800000u) bad = 1u; // exponent all ones: inf or NaN
    else if (v > bv) { bv = v; bi = i; }   // i increases, so ties keep the lowest index
  }
  best_v[tid] = bv;
  best_i[tid] = bi;
  if (bad != 0u) atomicOr(nonfinite, 1u);
  barrier();
  for (uint s = WG / 2u; s > 0u; s >>= 1) {
    if (tid < s) {
      float ov = best_v[tid + s];
      uint oi = best_i[tid + s];
      if (ov > best_v[tid] || (ov == best_v[tid] && oi < best_i[tid])) {
        best_v[tid] = ov;
        best_i[tid] = oi;
      }
    }
    barrier();
  }
  if (tid == 0u) OUT[r] = nonfinite != 0u ? 0xffffffffu : best_i[0] == 0xffffffffu ? 0u : best_i[0];
}
