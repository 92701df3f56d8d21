// common.glsl — helpers shared by the compute shaders.
// Every buffer of packed data (weights, f16 KV) is read as 32-bit words so that no shader needs
// 8- or 16-bit storage; halves are unpacked with unpackHalf2x16 (core GLSL, no fp16 arithmetic).
#ifndef PV_COMMON_GLSL
#define PV_COMMON_GLSL

// Byte b of word w.
uint byte_of(uint w, uint b) { return (w >> (8u * b)) & 0xffu; }

// a + x.w (dot product) with fused multiply-adds: LLVM-based drivers (lavapipe) keep a separate
// multiply and add for dot(), twice the instructions of an fma chain.
float dot4_acc(vec4 x, vec4 w, float a) { return fma(x.w, w.w, fma(x.z, w.z, fma(x.y, w.y, fma(x.x, w.x, a)))); }
float silu(float x) { return x / (1.0 + exp(-x)); }
// tanh without the overflow of exp(2x) for large |x| (some drivers return NaN there).
float tanh_safe(float x) {
  const float t = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - t) / (1.0 + t);
}
// GELU, tanh approximation (gemma's GeGLU gate).
float gelu(float x) { return 0.5 * x * (1.0 + tanh_safe(0.7978845608 * x * (1.0 + 0.044715 * x * x))); }

#endif
