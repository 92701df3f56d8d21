// attn_mask.glsl — the optional attention mechanisms every paged attention kernel applies
// (paged_attn, paged_attn_lanes, paged_attn_rows/pairs), switched by specialization constants so
// that a model without them runs the kernels as before (the branches fold away at pipeline
// creation):
//   WINDOWED: a sliding window of p.window keys — a query at position pos sees keys
//             pos - window + 1 .. pos (itself and the window-1 before it). Kernels start their key
//             loops at attn_first_key(), so blocks before a window are never read (the pool may
//             have given them back); keys of a tile or pair loop that fall outside a row's window
//             are masked.
//   SOFTCAP:  attention logit soft-capping, s -> c tanh(s / c) with c = p.softcap, applied to the
//             scaled score before the softmax (gemma2).
// The including shader declares the two constants (constant_id after its own) and p.window,
// p.softcap.
#ifndef PV_ATTN_MASK_GLSL
#define PV_ATTN_MASK_GLSL

// The first key a query at `pos` sees in a window of `window` keys (0: no window).
uint attn_first_key(uint pos, uint window) { return window != 0u && pos + 1u > window ? pos + 1u - window : 0u; }

// c tanh(s / c) without tanh's overflow for large |s / c| (some drivers return NaN there).
float softcap(float s, float c) {
  const float t = exp(-2.0 * abs(s / c));
  return sign(s) * c * (1.0 - t) / (1.0 + t);
}
#endif
