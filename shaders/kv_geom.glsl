// kv_geom.glsl — sizes inside one block of the paged KV pool (kv_pool.glsl has the layout), for
// the kernels that read it as storage buffers (kv_pool.glsl) and as texels (kv_texels.glsl).
#ifndef PV_KV_GEOM_GLSL
#define PV_KV_GEOM_GLSL

#ifdef KV_Q8
// Scale words per token head row, quant words of a block, words of a block (padded to 16 bytes).
uint q8_row_scale_words(uint head_dim) { return (head_dim + 63u) / 64u; }
uint q8_quant_words(uint block_size, uint n_layer, uint n_kv_head, uint head_dim) {
  return n_layer * 2u * n_kv_head * block_size * head_dim / 4u;
}
uint q8_block_words(uint block_size, uint n_layer, uint n_kv_head, uint head_dim) {
  const uint w = q8_quant_words(block_size, n_layer, n_kv_head, head_dim) +
                 n_layer * 2u * n_kv_head * block_size * q8_row_scale_words(head_dim);
  return (w + 3u) & ~3u;
}
// Elements of a block (bytes with KV_Q8) from one block's element 0 to the next's.
uint pool_block_elems(uint block_size, uint n_layer, uint n_kv_head, uint head_dim) {
  return q8_block_words(block_size, n_layer, n_kv_head, head_dim) * 4u;
}
// The first scale word of the head row (local block lb, layer, kv, head, token off) in its buffer.
uint q8_scale_word(uint block_size, uint n_layer, uint n_kv_head, uint head_dim, uint lb, uint layer, uint kv,
                   uint head, uint off) {
  return lb * q8_block_words(block_size, n_layer, n_kv_head, head_dim) +
         q8_quant_words(block_size, n_layer, n_kv_head, head_dim) +
         (((layer * 2u + kv) * n_kv_head + head) * block_size + off) * q8_row_scale_words(head_dim);
}
// Four int8 of a word as floats (byte 0 first).
vec4 q8_unpack4(uint w) {
  const int i = int(w);
  return vec4(ivec4(i << 24, i << 16, i << 8, i) >> 24);
}
#endif
#endif
