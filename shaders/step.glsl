// step.glsl — the per-step inputs the engine uploads (runtime/engine), shared by the shaders that
// need to know which token a row is and where its K/V live in the paged pool.
//
//   TOKENS[row]       = (token id, position, sequence index, slot)   slot = block*BS + pos%BS
//   BLOCK_TABLES[s * max_blocks + i] = physical block of logical block i of sequence s
#ifndef PV_STEP_GLSL
#define PV_STEP_GLSL

struct TokenInfo {
  uint token;
  uint pos;
  uint seq;
  uint slot;
};
#endif
