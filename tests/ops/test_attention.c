/*
 * pv_op_rope_kv + pv_op_paged_attn (shaders/rope_kv.comp, paged_attn.comp, attn_reduce.comp)
 * against a CPU computation, on ragged batches through a shuffled paged pool.
 *
 * One step of a batch of four sequences, rows in mixed order:
 *   seq 0: decode at position 100        seq 2: prefill chunk, 133 cached + 17 new tokens
 *   seq 1: decode at position 0          seq 3: prefill, 23 new tokens
 * Every sequence's blocks are a random permutation of the pool's block ids (non-contiguous,
 * out of order), block-table rows are padded with ids of other sequences' blocks, and the pool
 * is created by pv_kv_gpu_create with a lowered buffer limit so that it spans several buffers.
 * The cached tokens' K/V (both layers) are written by the CPU; everything else in the pool holds a
 * random byte pattern that must survive the step.
 *
 * Configurations cover block sizes 8/16/32/64, head sizes 32/64/80/96/128, GQA (4 heads on 2),
 * MQA (8 on 1) and MHA, NORMAL and NEOX rope (one with partial rope and a position scale), llama3
 * frequency divisors (rope_freqs), a head of 256, f16, f32 and q8_0 pools; each runs attention
 * unpartitioned, partitioned (32 keys per part, then attn_reduce), and with 3 partitions of 24 keys that each come round again for the keys past 72
 * (the longest context is 150): all three must match. Once per clamp set.
 *
 * Gemma's mechanisms (configurations at the end): a sliding window (a row at position p sees keys
 * p-W+1 .. p; the sequences run well past it), attention soft-capping (s -> c tanh(s/c)) and a
 * scale other than 1/sqrt(d), each in every kernel variant. With a window, the block-table entries
 * of blocks that lie wholly before every window of their sequence point at a block of NaNs: a
 * kernel that reads such a block (the pool may have given it back) spreads NaN into its output.
 *
 * Checked, with tolerances:
 *   q after rope      |q - ref| <= (4e-7 pos + 2e-6) (|x_a| + |x_b|) of its rotation pair: the
 *                     angle pos * base^(-2i/d) is an f32 of magnitude up to pos, and the device's
 *                     pow/sin/cos and libm's differ by a few of its ulps (~1.2e-7 pos; lavapipe
 *                     measures 2.1e-5 at pos 150, the bound there is 6.2e-5); a wrong pair, angle or
 *                     position is off by O(1).
 *   pool K (new)      the same bound plus half an f16 ulp (the conversion).
 *   pool V (new)      the f16 value of v within 1 ulp (rounding mode of packHalf2x16 is the
 *                     implementation's); f32 pool: exact.
 *   q8_0 pool (new)   K and V within 1.2 quant steps of the CPU's q8_0 of the (rotated) values, plus
 *                     twice the rope bound for K (a rounding either moves); the attention reference
 *                     then reads the device's bytes.
 *   rest of the pool  bit-identical (cached tokens, the other layer, unused slots and blocks).
 *   attention out     |o - ref| <= 5e-5 max|V|: reference in double from the CPU's pool image;
 *                     differences are the rope bound above moving the scores and f32 sums
 *                     (lavapipe measures 8e-6; a wrong block, slot, head or causal bound moves
 *                     outputs by ~1e-1).
 */
#include "kv/kv_gpu.h"
#include "ops_helpers.h"

#define N_SEQ 4
#define N_LAYER 2
#define LAYER 1 /* the layer this step writes and reads */
#define PART_LEN 32
#define WRAP_PARTS 3
#define WRAP_PART_LEN 24
#define SENTINEL (-4242.0f)

typedef struct attn_cfg {
  uint32_t block_size, head_dim, n_head, n_kv_head;
  bool neox, f32;
  uint32_t rope_dim; /* 0: head_dim */
  float pos_scale;
  bool freqs; /* llama3-style frequency divisors (rope_freqs.weight) */
  uint32_t window; /* sliding window (0: none) */
  float softcap;   /* attention soft-cap (0: none) */
  float scale;     /* factor on q.k (0: 1/sqrt(head_dim)) */
  bool q8;         /* q8_0 pool (f32 ignored) */
} attn_cfg;

static uint64_t g_block_bytes; /* q8_0: the pool's bytes per block (run_config sets it) */

/* Divisors of the kind llama3 scaling gives (1 for the fast pairs, up to 8 for the slow ones), in
 * an order no formula of the index would reproduce, so that a divisor read for the wrong pair shows. */
static float freq_div_of(uint32_t i) { return 1.0f + (float)((i * 7u) % 11u) * 0.7f; }

static const uint32_t SEQ_PAST[N_SEQ] = {100, 0, 133, 0}; /* cached tokens */
static const uint32_t SEQ_NEW[N_SEQ] = {1, 1, 17, 23};    /* tokens of this step */

typedef struct pool_image {
  uint8_t *bytes[PV_KV_POOL_MAX_BUFS];
  uint64_t size[PV_KV_POOL_MAX_BUFS];
} pool_image;

/* Index of element 0 of (slot, layer, kv, head) in its buffer, written out from kv_gpu.h's layout. */
static uint64_t pool_at(const attn_cfg *c, uint32_t bpb, uint32_t slot, uint32_t layer, uint32_t kv, uint32_t head,
                        uint32_t *buf) {
  uint32_t block = slot / c->block_size, off = slot % c->block_size;
  *buf = block / bpb;
  uint64_t lb = block % bpb;
  uint64_t per_kv = (uint64_t)c->n_kv_head * c->block_size * c->head_dim;
  if (c->q8) /* bytes: the block's quants first (kv_gpu.h) */
    return lb * g_block_bytes + (layer * 2 + kv) * per_kv + ((uint64_t)head * c->block_size + off) * c->head_dim;
  return ((lb * N_LAYER + layer) * 2 + kv) * per_kv + ((uint64_t)head * c->block_size + off) * c->head_dim;
}

/* q8_0: the byte of the f16 scale of quant byte e (after the block's quants, ceil(head_dim / 64)
 * words per head row, written out from kv_gpu.h). */
static uint64_t q8_scale_at(const attn_cfg *c, uint64_t e) {
  const uint64_t lb = e / g_block_bytes, in = e % g_block_bytes, row = in / c->head_dim, d = in % c->head_dim;
  const uint64_t quants = (uint64_t)N_LAYER * 2 * c->n_kv_head * c->block_size * c->head_dim;
  return lb * g_block_bytes + quants + (row * ((c->head_dim + 63) / 64) + d / 64) * 4 + ((d / 32) & 1) * 2;
}

static float img_get(const attn_cfg *c, const pool_image *img, uint32_t buf, uint64_t e) {
  if (c->q8) {
    uint16_t h;
    memcpy(&h, img->bytes[buf] + q8_scale_at(c, e), 2);
    return pv_f16_to_f32(h) * (float)(int8_t)img->bytes[buf][e];
  }
  if (c->f32) {
    float f;
    memcpy(&f, img->bytes[buf] + e * 4, 4);
    return f;
  }
  uint16_t h;
  memcpy(&h, img->bytes[buf] + e * 2, 2);
  return pv_f16_to_f32(h);
}

static void img_set(const attn_cfg *c, pool_image *img, uint32_t buf, uint64_t e, float v) {
  if (c->f32) {
    memcpy(img->bytes[buf] + e * 4, &v, 4);
  } else {
    uint16_t h = pv_f32_to_f16(v);
    memcpy(img->bytes[buf] + e * 2, &h, 2);
  }
}

/* A head row (elements e .. e + head_dim - 1) set to v: q8_0 quantizes it (GGUF's Q8_0, as
 * pv_ref_q8_round; a block holding a NaN gets a NaN scale); the other types element by element. */
static void img_set_row(const attn_cfg *c, pool_image *img, uint32_t buf, uint64_t e, const float *v) {
  if (!c->q8) {
    for (uint32_t d = 0; d < c->head_dim; d++) img_set(c, img, buf, e + d, v[d]);
    return;
  }
  for (uint32_t b = 0; b < c->head_dim; b += 32) {
    float amax = 0.0f;
    bool nan = false;
    for (uint32_t i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(v[b + i])), nan |= isnan(v[b + i]);
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    for (uint32_t i = 0; i < 32; i++) {
      float q = nan ? 1.0f : roundf(v[b + i] * id);
      img->bytes[buf][e + b + i] = (uint8_t)(int8_t)(q > 127.0f ? 127.0f : q < -127.0f ? -127.0f : q);
    }
    const uint16_t h = nan ? 0x7e00 : pv_f32_to_f16(d);
    memcpy(img->bytes[buf] + q8_scale_at(c, e + b), &h, 2);
  }
}

/* q8_0: a new head row the step wrote (got) against the CPU's quantization of its values: within
 * 1.2 quant steps of its block (a rounding the rope bound `slack` or the scale's f16 rounding moved)
 * plus slack; then the device's bytes go into the image (the attention below reads them) and are
 * marked new. */
static void q8_check_row(const attn_cfg *c, pool_image *img, const pool_image *got, bool *new_byte, uint32_t buf,
                         uint64_t e, const float *v, float slack, const char *what, const char *kv, uint32_t r,
                         uint32_t h) {
  img_set_row(c, img, buf, e, v);
  for (uint32_t d = 0; d < c->head_dim; d++) {
    uint16_t sh;
    memcpy(&sh, img->bytes[buf] + q8_scale_at(c, e + d), 2);
    const float w = img_get(c, img, buf, e + d), g = img_get(c, got, buf, e + d);
    if (!(fabsf(g - w) <= 1.2f * pv_f16_to_f32(sh) + slack + 1e-6f))
      fail_msg("%s: pool %s row %u head %u [%u] = %.9g, want %.9g (q8_0 step %g)", what, kv, r, h, d, g, w,
               (double)pv_f16_to_f32(sh));
  }
  const uint64_t s = q8_scale_at(c, e), sbytes = (c->head_dim + 63) / 64 * 4;
  memcpy(img->bytes[buf] + e, got->bytes[buf] + e, c->head_dim);
  memcpy(img->bytes[buf] + s, got->bytes[buf] + s, sbytes);
  memset(new_byte + e, 1, c->head_dim);
  memset(new_byte + s, 1, sbytes);
}

/* The rope bound per unit of rotation-pair magnitude, at position pos (see the top). */
static float rope_tol(float pos) { return 4e-7f * pos + 2e-6f; }

static float f16_ulp(float x) {
  int e;
  frexpf(fmaxf(fabsf(x), 6.1035156e-05f), &e); /* subnormals: the smallest normal's ulp */
  return ldexpf(1.0f, e - 11);
}

/* The CPU's rotation of one head; returns per element the magnitude of its rotation pair. */
static void rope_ref(float *head, float *pair_mag, const attn_cfg *c, float pos) {
  const uint32_t rd = c->rope_dim, half = rd / 2;
  for (uint32_t i = 0; i < c->head_dim; i++) pair_mag[i] = 0;
  for (uint32_t i = 0; i < half; i++) {
    uint32_t a = c->neox ? i : 2 * i, b = c->neox ? i + half : 2 * i + 1;
    pair_mag[a] = pair_mag[b] = fabsf(head[a]) + fabsf(head[b]);
  }
  float div[128];
  for (uint32_t i = 0; i < half; i++) div[i] = freq_div_of(i);
  pv_ref_rope(head, c->head_dim, rd, pos, 10000.0f, c->freqs ? div : NULL, c->neox ? PV_ROPE_NEOX : PV_ROPE_NORMAL);
}

/* The window's first key for a query at pos (0: no window). */
static uint32_t first_key(const attn_cfg *c, uint32_t pos) {
  return c->window && pos + 1 > c->window ? pos + 1 - c->window : 0;
}

/* Fills block `nan_block` (unused by every sequence) with NaNs and points every block-table entry
 * of a block wholly before the windows of its sequence's rows of this step at it. */
static void poison_outside_windows(const attn_cfg *c, pool_image *img, uint32_t bpb, uint32_t *bt, uint32_t max_blocks,
                                   uint32_t nan_block) {
  for (uint32_t o = 0; o < c->block_size; o++)
    for (uint32_t layer = 0; layer < N_LAYER; layer++)
      for (uint32_t kvi = 0; kvi < 2; kvi++)
        for (uint32_t h = 0; h < c->n_kv_head; h++) {
          uint32_t buf;
          const uint64_t e = pool_at(c, bpb, nan_block * c->block_size + o, layer, kvi, h, &buf);
          float nans[256];
          for (uint32_t d = 0; d < c->head_dim; d++) nans[d] = NAN;
          img_set_row(c, img, buf, e, nans);
        }
  for (uint32_t s = 0; s < N_SEQ; s++) {
    const uint32_t first_block = first_key(c, SEQ_PAST[s]) / c->block_size; /* the step's first row's */
    for (uint32_t i = 0; i < first_block; i++) bt[s * max_blocks + i] = nan_block;
  }
}

/* texel: also give the inputs texel views, which lets a CPU device take paged_attn_lanes.comp,
 * and pad K/V rows to a multiple of 4 floats, which lets rope_kv take its 4-wide paths (without:
 * an odd padding, its element-wise ones). */
static void run_config(pv_test_vk *t, pv_ops *ops, attn_cfg c, bool texel) {
  pv_error err = {0};
  pv_vk_context *ctx = t->ctx;
  if (!c.rope_dim) c.rope_dim = c.head_dim;
  const uint32_t BS = c.block_size, D = c.head_dim, H = c.n_head, KV = c.n_kv_head;
  const uint32_t q_stride = H * D + 4, kv_stride = KV * D + (texel ? 4 : 2), o_stride = H * D + 8;
  uint64_t rng = (uint64_t)BS * 131 + D * 7 + H * 3 + KV + (c.neox ? 1000 : 0) + (c.f32 ? 2000 : 0) + (c.q8 ? 4000 : 0);

  /* sequences, blocks, block tables */
  uint32_t ctx_len[N_SEQ], n_blocks_seq[N_SEQ], total_blocks = 0, max_blocks = 0, rows = 0;
  for (int s = 0; s < N_SEQ; s++) {
    ctx_len[s] = SEQ_PAST[s] + SEQ_NEW[s];
    n_blocks_seq[s] = (ctx_len[s] + BS - 1) / BS;
    total_blocks += n_blocks_seq[s];
    if (n_blocks_seq[s] > max_blocks) max_blocks = n_blocks_seq[s];
    rows += SEQ_NEW[s];
  }
  max_blocks += 2; /* padding, never read */
  const uint32_t n_blocks = total_blocks + 5; /* unused blocks stay untouched */
  uint32_t *perm = malloc(n_blocks * 4), *bt = malloc((size_t)N_SEQ * max_blocks * 4);
  assert_true(perm && bt);
  for (uint32_t i = 0; i < n_blocks; i++) perm[i] = i;
  for (uint32_t i = n_blocks - 1; i > 0; i--) {
    uint32_t j = test_rand_below(&rng, i + 1), tmp = perm[i];
    perm[i] = perm[j];
    perm[j] = tmp;
  }
  for (uint32_t s = 0, next = 0; s < N_SEQ; s++)
    for (uint32_t i = 0; i < max_blocks; i++)
      bt[s * max_blocks + i] = i < n_blocks_seq[s] ? perm[next++] : perm[(s * 7 + i) % n_blocks];

  /* the pool, spanning several buffers: lower the buffer limit to a few blocks */
  pv_kv_geometry geom = {.block_size = BS, .n_layer = N_LAYER, .n_kv_head = KV, .head_dim = D, .f32 = c.f32,
                         .q8 = c.q8};
  const uint64_t block_bytes = pv_kv_block_bytes(&geom);
  g_block_bytes = block_bytes;
  const uint32_t want_bufs = 5, bpb = (n_blocks + want_bufs - 1) / want_bufs;
  pv_vk_caps saved = ctx->caps;
  ctx->caps.max_storage_buffer_range = bpb * block_bytes;
  pv_kv_gpu kv;
  int rc = pv_kv_gpu_create(&kv, ctx, &geom, n_blocks, 0, &err);
  ctx->caps = saved;
  PV_ASSERT_OK(rc, err);
  assert_int_equal(kv.blocks_per_buf, bpb);
  assert_true(kv.n_bufs >= 4);
  pv_op_pool pool = {.n_bufs = kv.n_bufs, .block_size = BS, .blocks_per_buf = kv.blocks_per_buf,
                     .n_layer = N_LAYER, .n_kv_head = KV, .head_dim = D, .f32 = c.f32, .q8 = c.q8};
  for (uint32_t i = 0; i < kv.n_bufs; i++) {
    pool.bufs[i] = &kv.bufs[i];
    pool.texels[i] = texel ? kv.texels[i] : VK_NULL_HANDLE;
  }

  /* the pool image: random bytes, then the cached tokens of both layers */
  pool_image img = {0}, got_img = {0};
  for (uint32_t b = 0; b < kv.n_bufs; b++) {
    img.size[b] = kv.bufs[b].size;
    img.bytes[b] = malloc(img.size[b]);
    got_img.bytes[b] = malloc(img.size[b]);
    assert_true(img.bytes[b] && got_img.bytes[b]);
    for (uint64_t i = 0; i < img.size[b]; i++) img.bytes[b][i] = (uint8_t)test_rand_below(&rng, 256);
  }
  float *tmp = malloc((size_t)D * 4);
  assert_non_null(tmp);
  for (uint32_t s = 0; s < N_SEQ; s++)
    for (uint32_t p = 0; p < SEQ_PAST[s]; p++) {
      uint32_t slot = bt[s * max_blocks + p / BS] * BS + p % BS;
      for (uint32_t layer = 0; layer < N_LAYER; layer++)
        for (uint32_t kvi = 0; kvi < 2; kvi++)
          for (uint32_t h = 0; h < KV; h++) {
            uint32_t buf;
            uint64_t e = pool_at(&c, bpb, slot, layer, kvi, h, &buf);
            pv_test_random_floats(tmp, D, rng++, -1.0f, 1.0f);
            img_set_row(&c, &img, buf, e, tmp);
          }
    }
  if (c.window) poison_outside_windows(&c, &img, bpb, bt, max_blocks, perm[total_blocks]);
  for (uint32_t b = 0; b < kv.n_bufs; b++)
    PV_ASSERT_OK(pv_vk_buffer_upload(ctx, &kv.bufs[b], 0, img.bytes[b], img.size[b], &err), err);

  /* this step's rows: seq 2's chunk, seq 0's decode, seq 3's prefill, seq 1's decode */
  const uint32_t order[N_SEQ] = {2, 0, 3, 1};
  test_token_info *info = malloc(rows * sizeof *info);
  assert_non_null(info);
  for (uint32_t oi = 0, r = 0; oi < N_SEQ; oi++) {
    uint32_t s = order[oi];
    for (uint32_t i = 0; i < SEQ_NEW[s]; i++, r++) {
      uint32_t pos = SEQ_PAST[s] + i;
      info[r] = (test_token_info){.token = 0, .pos = pos, .seq = s, .slot = bt[s * max_blocks + pos / BS] * BS + pos % BS};
    }
  }
  float *q = malloc((size_t)rows * q_stride * 4), *k = malloc((size_t)rows * kv_stride * 4);
  float *v = malloc((size_t)rows * kv_stride * 4);
  assert_true(q && k && v);
  pv_test_random_floats(q, (size_t)rows * q_stride, rng++, -2.0f, 2.0f);
  pv_test_random_floats(k, (size_t)rows * kv_stride, rng++, -1.0f, 1.0f);
  pv_test_random_floats(v, (size_t)rows * kv_stride, rng++, -1.0f, 1.0f);

  const uint32_t parts = (SEQ_PAST[2] + SEQ_NEW[2] + PART_LEN - 1) / PART_LEN;
  const size_t out_floats = (size_t)rows * o_stride;
  float *out_init = malloc(out_floats * 4);
  assert_non_null(out_init);
  for (size_t i = 0; i < out_floats; i++) out_init[i] = SENTINEL;
  pv_vk_buffer bq, bk, bv, bt_buf, binfo, bout1, boutp, boutw, bpart, bouts[2], btiles[2], blist[2];
  pv_vk_buffer boutd, bdlist, bdtiles, bfreq;
  float fdiv[128];
  for (uint32_t i = 0; i < c.rope_dim / 2; i++) fdiv[i] = freq_div_of(i);
  test_buffer(t, &bfreq, sizeof fdiv, fdiv, sizeof fdiv, 0);
  test_buffer(t, &bq, (size_t)rows * q_stride * 4, q, (size_t)rows * q_stride * 4, 0);
  test_buffer(t, &bk, (size_t)rows * kv_stride * 4, k, (size_t)rows * kv_stride * 4, 0);
  test_buffer(t, &bv, (size_t)rows * kv_stride * 4, v, (size_t)rows * kv_stride * 4, 0);
  test_buffer(t, &bt_buf, (size_t)N_SEQ * max_blocks * 4, bt, (size_t)N_SEQ * max_blocks * 4, 0);
  test_buffer(t, &binfo, rows * sizeof *info, info, rows * sizeof *info, 0);
  test_buffer(t, &bout1, out_floats * 4, out_init, out_floats * 4, 0);
  test_buffer(t, &boutp, out_floats * 4, out_init, out_floats * 4, 0);
  test_buffer(t, &boutw, out_floats * 4, out_init, out_floats * 4, 0);
  test_buffer(t, &bpart, (size_t)rows * H * parts * (D + 2) * 4, NULL, 0, 0);
  pv_op_rope_args ra = {.q = pv_view(&bq), .k = pv_view(&bk), .v = pv_view(&bv), .tokens = pv_view(&binfo),
                        .pool = &pool, .rows = rows, .n_head = H, .n_kv_head = KV, .head_dim = D,
                        .rope_dim = c.rope_dim, .rope_base = 10000.0f, .pos_scale = c.pos_scale, .neox = c.neox,
                        .layer = LAYER, .q_stride = q_stride, .kv_stride = kv_stride,
                        .freq_div = c.freqs ? pv_view(&bfreq) : (pv_vk_view){0}};
  pv_op_attn_args aa = {.q = pv_view(&bq), .out = pv_view(&bout1), .tokens = pv_view(&binfo),
                        .block_tables = pv_view(&bt_buf), .pool = &pool, .rows = rows, .n_head = H,
                        .n_kv_head = KV, .head_dim = D, .layer = LAYER, .max_blocks = max_blocks,
                        .q_stride = q_stride, .o_stride = o_stride, .parts = 1, .scale = c.scale,
                        .window = c.window, .softcap = c.softcap};
  VkBufferView q_texel = VK_NULL_HANDLE, bt_texel = VK_NULL_HANDLE;
  if (texel) {
    PV_ASSERT_OK(pv_vk_texel_view_create(ctx, &bq, VK_FORMAT_R32G32B32A32_SFLOAT, 0, bq.size, &q_texel, &err), err);
    PV_ASSERT_OK(pv_vk_texel_view_create(ctx, &bt_buf, VK_FORMAT_R32_UINT, 0, bt_buf.size, &bt_texel, &err), err);
    aa.q.texel = q_texel;
    aa.block_tables.texel = bt_texel;
  }
  /* The split a CPU device's step uses: prompt chunks in tiles (paged_attn_rows), the rest through
   * the lanes kernel's row list, cut as forward.c cuts them. Twice: 1 row per lane (tiles of one
   * SIMD width, so seq 2's 17 rows are two tiles and a listed row, seq 3's 23 two tiles and a
   * partial one), and the library's rows per lane for the head size. */
  uint32_t n_tiles[2] = {0, 0}, n_listed[2] = {0, 0}, tile_rows[2] = {0, 0};
  for (int sv = 0; sv < 2; sv++) {
    ops->attn_rows_per_lane = sv == 0 ? 1 : 0;
    const uint32_t T = tile_rows[sv] = pv_ops_attn_tile_rows(ops, &aa);
    uint32_t tiles[2 * 64], list[64]; /* rows: 42 */
    for (uint32_t r = 0; T && r < rows;) {
      uint32_t end = r + 1;
      while (end < rows && info[end].seq == info[r].seq) end++;
      for (; end - r >= T; r += T) tiles[2 * n_tiles[sv]] = r, tiles[2 * n_tiles[sv]++ + 1] = T;
      if (3 * (end - r) >= T) tiles[2 * n_tiles[sv]] = r, tiles[2 * n_tiles[sv]++ + 1] = end - r, r = end;
      for (; r < end; r++) list[n_listed[sv]++] = r;
    }
    test_buffer(t, &bouts[sv], out_floats * 4, out_init, out_floats * 4, 0);
    test_buffer(t, &btiles[sv], sizeof tiles, tiles, sizeof tiles, 0);
    test_buffer(t, &blist[sv], sizeof list, list, sizeof list, 0);
  }
  ops->attn_rows_per_lane = 0;
  if (texel) assert_true(n_tiles[0] >= 5 || !tile_rows[0]); /* CPU devices: tiles and a list both used */
  /* The decode-pairs kernel over every row of the batch (it takes any rows: each lane walks its
   * own sequence's keys), listed longest context first as forward.c lists them, tiles of one pair
   * per lane with the tile's longest context. */
  const uint32_t lanes = pv_ops_simd_lanes(ops), n_pairs = rows * H, n_dtiles = (n_pairs + lanes - 1) / lanes;
  uint32_t *dlist = malloc(rows * 4), *dtiles = calloc(n_dtiles, 16);
  assert_true(dlist && dtiles);
  for (uint32_t r = 0; r < rows; r++) {
    uint32_t j = r;
    for (; j > 0 && info[dlist[j - 1]].pos < info[r].pos; j--) dlist[j] = dlist[j - 1];
    dlist[j] = r;
  }
  for (uint32_t i = 0; i < n_dtiles; i++) {
    dtiles[4 * i] = i * lanes;
    dtiles[4 * i + 1] = n_pairs - i * lanes < lanes ? n_pairs - i * lanes : lanes;
    dtiles[4 * i + 2] = info[dlist[i * lanes / H]].pos + 1;
  }
  const bool pairs = tile_rows[1] != 0; /* where the row-owning kernels run (CPU devices' texel path) */
  test_buffer(t, &boutd, out_floats * 4, out_init, out_floats * 4, 0);
  test_buffer(t, &bdlist, rows * 4, dlist, rows * 4, 0);
  test_buffer(t, &bdtiles, (size_t)n_dtiles * 16, dtiles, (size_t)n_dtiles * 16, 0);
  free(dlist), free(dtiles);
  PV_ASSERT_OK(pv_vk_cmd_begin(&t->cmd, &err), err);
  PV_ASSERT_OK(pv_op_rope_kv(ops, &t->cmd, &ra, &err), err);
  pv_vk_cmd_barrier(&t->cmd, PV_BARRIER_COMPUTE_TO_COMPUTE);
  PV_ASSERT_OK(pv_op_paged_attn(ops, &t->cmd, &aa, &err), err);
  aa.out = pv_view(&boutp);
  aa.partial = pv_view(&bpart);
  aa.parts = parts;
  aa.part_len = PART_LEN;
  PV_ASSERT_OK(pv_op_paged_attn(ops, &t->cmd, &aa, &err), err);
  pv_vk_cmd_barrier(&t->cmd, PV_BARRIER_COMPUTE_TO_COMPUTE); /* the partial buffer is reused */
  aa.out = pv_view(&boutw);
  aa.parts = WRAP_PARTS;
  aa.part_len = WRAP_PART_LEN;
  PV_ASSERT_OK(pv_op_paged_attn(ops, &t->cmd, &aa, &err), err);
  for (int sv = 0; sv < 2; sv++) {
    if (!n_tiles[sv]) continue;
    pv_op_attn_args sa = aa;
    sa.out = pv_view(&bouts[sv]);
    sa.parts = 1;
    sa.rows = n_listed[sv];
    sa.row_list = pv_view(&blist[sv]);
    sa.use_row_list = true;
    ops->attn_rows_per_lane = sv == 0 ? 1 : 0;
    PV_ASSERT_OK(pv_op_paged_attn(ops, &t->cmd, &sa, &err), err);
    PV_ASSERT_OK(pv_op_paged_attn_tiles(ops, &t->cmd, &sa, pv_view(&btiles[sv]), n_tiles[sv], &err), err);
    ops->attn_rows_per_lane = 0;
  }
  if (pairs) {
    pv_op_attn_args da = aa;
    da.out = pv_view(&boutd);
    da.parts = 1;
    da.rows = rows;
    da.row_list = pv_view(&bdlist);
    da.use_row_list = true;
    PV_ASSERT_OK(pv_op_paged_attn_pairs(ops, &t->cmd, &da, pv_view(&bdtiles), n_dtiles, &err), err);
  }
  test_run(t);

  float *q_got = malloc((size_t)rows * q_stride * 4), *o1 = malloc(out_floats * 4), *op = malloc(out_floats * 4);
  float *ow = malloc(out_floats * 4), *os[2] = {malloc(out_floats * 4), malloc(out_floats * 4)};
  float *od = malloc(out_floats * 4);
  assert_true(q_got && o1 && op && ow && os[0] && os[1] && od);
  test_download(t, &boutd, od, out_floats * 4);
  for (int sv = 0; sv < 2; sv++) test_download(t, &bouts[sv], os[sv], out_floats * 4);
  test_download(t, &bq, q_got, (size_t)rows * q_stride * 4);
  test_download(t, &bout1, o1, out_floats * 4);
  test_download(t, &boutp, op, out_floats * 4);
  test_download(t, &boutw, ow, out_floats * 4);
  for (uint32_t b = 0; b < kv.n_bufs; b++) test_download(t, &kv.bufs[b], got_img.bytes[b], img.size[b]);

  char what[160];
  snprintf(what, sizeof what, "bs=%u d=%u heads=%u/%u %s %s rope_dim=%u%s window=%u softcap=%g scale=%g", BS, D, H,
           KV, c.neox ? "neox" : "normal", c.q8 ? "q8_0" : c.f32 ? "f32" : "f16", c.rope_dim, c.freqs ? " freq divisors" : "", c.window,
           (double)c.softcap, (double)c.scale);

  /* CPU: rope of q and k, the new K/V into the image; q and the new K/V checked on the way */
  float *qr = malloc((size_t)rows * H * D * 4), *mag = malloc((size_t)D * 4);
  bool *new_elem[PV_KV_POOL_MAX_BUFS] = {0};
  assert_true(qr && mag);
  const size_t esize = c.q8 ? 1 : c.f32 ? 4 : 2;
  for (uint32_t b = 0; b < kv.n_bufs; b++) assert_non_null(new_elem[b] = calloc(img.size[b] / esize, 1));
  for (uint32_t r = 0; r < rows; r++) {
    const float pos = (float)info[r].pos * c.pos_scale;
    for (uint32_t h = 0; h < H; h++) {
      float *qh = qr + ((size_t)r * H + h) * D;
      memcpy(qh, q + (size_t)r * q_stride + h * D, D * 4);
      rope_ref(qh, mag, &c, pos);
      for (uint32_t d = 0; d < D; d++) {
        float g = q_got[(size_t)r * q_stride + h * D + d];
        if (!(fabsf(g - qh[d]) <= rope_tol(pos) * mag[d]))
          fail_msg("%s: q row %u (pos %u) head %u [%u] = %.9g, want %.9g", what, r, info[r].pos, h, d, g, qh[d]);
      }
    }
    for (uint32_t h = 0; h < KV; h++) {
      memcpy(tmp, k + (size_t)r * kv_stride + h * D, D * 4);
      rope_ref(tmp, mag, &c, pos);
      uint32_t buf;
      uint64_t ek = pool_at(&c, bpb, info[r].slot, LAYER, 0, h, &buf);
      if (c.q8) {
        float slack = 0.0f;
        for (uint32_t d = 0; d < D; d++) slack = fmaxf(slack, 2.0f * rope_tol(pos) * mag[d]);
        q8_check_row(&c, &img, &got_img, new_elem[buf], buf, ek, tmp, slack, what, "K", r, h);
        const uint64_t ev = pool_at(&c, bpb, info[r].slot, LAYER, 1, h, &buf);
        q8_check_row(&c, &img, &got_img, new_elem[buf], buf, ev, v + (size_t)r * kv_stride + h * D, 0.0f, what, "V",
                     r, h);
        continue;
      }
      for (uint32_t d = 0; d < D; d++) {
        float g = img_get(&c, &got_img, buf, ek + d);
        float tol = rope_tol(pos) * mag[d] + (c.f32 ? 0.0f : 0.5f * f16_ulp(tmp[d]));
        if (!(fabsf(g - tmp[d]) <= tol))
          fail_msg("%s: pool K row %u (pos %u, slot %u) head %u [%u] = %.9g, want %.9g", what, r, info[r].pos,
                   info[r].slot, h, d, g, tmp[d]);
        img_set(&c, &img, buf, ek + d, tmp[d]);
        new_elem[buf][ek + d] = 1;
      }
      uint64_t ev = pool_at(&c, bpb, info[r].slot, LAYER, 1, h, &buf);
      for (uint32_t d = 0; d < D; d++) {
        float want = v[(size_t)r * kv_stride + h * D + d];
        img_set(&c, &img, buf, ev + d, want);
        new_elem[buf][ev + d] = 1;
        float g = img_get(&c, &got_img, buf, ev + d), w = img_get(&c, &img, buf, ev + d);
        if (!(c.f32 ? g == w : fabsf(g - w) <= f16_ulp(w)))
          fail_msg("%s: pool V row %u (slot %u) head %u [%u] = %.9g, want %.9g", what, r, info[r].slot, h, d, g, w);
      }
    }
  }
  /* everything the step must not touch is bit-identical */
  for (uint32_t b = 0; b < kv.n_bufs; b++)
    for (uint64_t e = 0; e < img.size[b] / esize; e++)
      if (!new_elem[b][e] && memcmp(img.bytes[b] + e * esize, got_img.bytes[b] + e * esize, esize))
        fail_msg("%s: pool buffer %u element %llu changed (not a slot of this step)", what, b, (unsigned long long)e);

  /* attention in double over the image */
  double *sc = malloc(256 * sizeof(double)), *acc = malloc((size_t)D * sizeof(double));
  assert_true(sc && acc);
  const double scale = c.scale > 0.0f ? c.scale : 1.0 / sqrt((double)D);
  for (uint32_t r = 0; r < rows; r++) {
    const uint32_t s = info[r].seq, n_keys = info[r].pos + 1, k0 = first_key(&c, info[r].pos);
    assert_true(n_keys <= 256);
    for (uint32_t h = 0; h < H; h++) {
      const uint32_t kvh = h / (H / KV);
      const float *qh = qr + ((size_t)r * H + h) * D;
      double mx = -INFINITY, sum = 0, vmax = 0;
      for (uint32_t j = k0; j < n_keys; j++) {
        uint32_t slot = bt[s * max_blocks + j / BS] * BS + j % BS, buf;
        uint64_t e = pool_at(&c, bpb, slot, LAYER, 0, kvh, &buf);
        double dot = 0;
        for (uint32_t d = 0; d < D; d++) dot += (double)qh[d] * img_get(&c, &img, buf, e + d);
        sc[j] = dot * scale;
        if (c.softcap > 0.0f) sc[j] = c.softcap * tanh(sc[j] / c.softcap);
        if (sc[j] > mx) mx = sc[j];
      }
      for (uint32_t d = 0; d < D; d++) acc[d] = 0;
      for (uint32_t j = k0; j < n_keys; j++) {
        uint32_t slot = bt[s * max_blocks + j / BS] * BS + j % BS, buf;
        uint64_t e = pool_at(&c, bpb, slot, LAYER, 1, kvh, &buf);
        double p = exp(sc[j] - mx);
        sum += p;
        for (uint32_t d = 0; d < D; d++) {
          double vv = img_get(&c, &img, buf, e + d);
          acc[d] += p * vv;
          if (fabs(vv) > vmax) vmax = fabs(vv);
        }
      }
      for (uint32_t d = 0; d < D; d++) {
        const double want = acc[d] / sum, tol = 5e-5 * vmax;
        const size_t at = (size_t)r * o_stride + h * D + d;
        if (!(fabs(o1[at] - want) <= tol))
          fail_msg("%s: out row %u (seq %u pos %u) head %u [%u] = %.9g, want %.9g", what, r, s, info[r].pos, h, d,
                   o1[at], want);
        if (!(fabs(op[at] - want) <= tol))
          fail_msg("%s: partitioned (%u x %u) out row %u (seq %u pos %u) head %u [%u] = %.9g, want %.9g", what,
                   parts, PART_LEN, r, s, info[r].pos, h, d, op[at], want);
        if (!(fabs(ow[at] - want) <= tol))
          fail_msg("%s: partitioned (%u x %u, wrapping) out row %u (seq %u pos %u) head %u [%u] = %.9g, want %.9g",
                   what, WRAP_PARTS, WRAP_PART_LEN, r, s, info[r].pos, h, d, ow[at], want);
        if (pairs && !(fabs(od[at] - want) <= tol))
          fail_msg("%s: decode pairs out row %u (seq %u pos %u) head %u [%u] = %.9g, want %.9g", what, r, s,
                   info[r].pos, h, d, od[at], want);
        for (int sv = 0; sv < 2; sv++)
          if (n_tiles[sv] && !(fabs(os[sv][at] - want) <= tol))
            fail_msg("%s: prompt tiles of %u (%u tiles, %u listed) out row %u (seq %u pos %u) head %u [%u] = %.9g, "
                     "want %.9g", what, tile_rows[sv], n_tiles[sv], n_listed[sv], r, s, info[r].pos, h, d, os[sv][at],
                     want);
      }
    }
    for (uint32_t i = H * D; i < o_stride; i++)
      if (o1[(size_t)r * o_stride + i] != SENTINEL || op[(size_t)r * o_stride + i] != SENTINEL ||
          ow[(size_t)r * o_stride + i] != SENTINEL || (n_tiles[0] && os[0][(size_t)r * o_stride + i] != SENTINEL) ||
          (n_tiles[1] && os[1][(size_t)r * o_stride + i] != SENTINEL) || (pairs && od[(size_t)r * o_stride + i] != SENTINEL))
        fail_msg("%s: output padding of row %u overwritten", what, r);
  }

  free(sc), free(acc), free(qr), free(mag), free(q_got), free(o1), free(op), free(ow), free(os[0]), free(os[1]);
  free(od), free(out_init);
  free(q), free(k), free(v), free(info), free(tmp), free(perm), free(bt);
  for (uint32_t b = 0; b < kv.n_bufs; b++) free(img.bytes[b]), free(got_img.bytes[b]), free(new_elem[b]);
  pv_vk_buffer *bufs[] = {&bq,      &bk,        &bv,        &bt_buf,   &binfo,    &bout1,   &boutp,
                          &boutw,   &bpart,     &bouts[0],  &bouts[1], &btiles[0], &btiles[1], &blist[0], &blist[1],
                          &boutd,   &bdlist,    &bdtiles,   &bfreq};
  for (size_t i = 0; i < PV_ARRAY_LEN(bufs); i++) pv_vk_buffer_destroy(ctx, bufs[i]);
  pv_vk_texel_view_destroy(ctx, q_texel);
  pv_vk_texel_view_destroy(ctx, bt_texel);
  pv_kv_gpu_destroy(&kv);
}

/* Every block size, head size, head layout, rope style and pool type appears, in mixed pairs. */
static const attn_cfg CONFIGS[] = {
    {8, 32, 4, 2, false, false, 0, 1.0f, false, 0, 0.0f, 0.0f, false},   {16, 64, 8, 1, true, false, 0, 1.0f, false, 0, 0.0f, 0.0f, false},
    {32, 80, 4, 4, false, true, 0, 1.0f, false, 0, 0.0f, 0.0f, false},   {64, 96, 4, 2, true, true, 0, 1.0f, false, 0, 0.0f, 0.0f, false},
    {16, 128, 4, 4, false, false, 0, 1.0f, false, 0, 0.0f, 0.0f, false}, {8, 96, 8, 1, true, true, 48, 0.5f, false, 0, 0.0f, 0.0f, false},
    {32, 32, 8, 1, false, false, 0, 1.0f, false, 0, 0.0f, 0.0f, false},  {64, 64, 4, 4, true, false, 0, 1.0f, false, 0, 0.0f, 0.0f, false},
    {8, 128, 4, 2, true, false, 0, 1.0f, false, 0, 0.0f, 0.0f, false},   {16, 80, 8, 1, false, true, 0, 1.0f, false, 0, 0.0f, 0.0f, false},
    {32, 128, 4, 2, true, true, 0, 1.0f, false, 0, 0.0f, 0.0f, false},   {64, 32, 4, 4, false, true, 16, 1.0f, false, 0, 0.0f, 0.0f, false},
    /* rope_kv's element-wise paths at any padding (its 4-wide ones need sizes in multiples of 4,
     * the f16 pack 8): f16 heads of 36 pack element-wise, heads of 34 rotate and pack so, a NEOX
     * half of 6 rotates so */
    {16, 36, 4, 2, false, false, 0, 1.0f, false, 0, 0.0f, 0.0f, false},  {8, 34, 4, 2, true, false, 0, 1.0f, false, 0, 0.0f, 0.0f, false},
    {16, 64, 4, 2, true, true, 12, 1.0f, false, 0, 0.0f, 0.0f, false},
    /* llama3 rope scaling's frequency divisors, NORMAL and NEOX, whole and partial rope, both
     * workgroup widths; and a head of 256 (Gemma's, twice what embedding/heads gives there) */
    {32, 128, 8, 2, true, true, 0, 1.0f, true, 0, 0.0f, 0.0f, false}, {16, 64, 4, 2, false, false, 0, 1.0f, true, 0, 0.0f, 0.0f, false},
    {8, 96, 4, 1, true, false, 48, 0.5f, true, 0, 0.0f, 0.0f, false},  {16, 256, 2, 1, false, false, 0, 1.0f, false, 0, 0.0f, 0.0f, false},
    /* q8_0 pools: heads of 32 (a scale word per row), 96 (three scales: two words), 128 */
    {8, 32, 4, 2, false, false, 0, 1.0f, false, 0, 0.0f, 0.0f, true}, {16, 96, 8, 1, true, false, 0, 1.0f, false, 0, 0.0f, 0.0f, true},
    {32, 128, 4, 4, true, false, 0, 1.0f, false, 0, 0.0f, 0.0f, true},
};

/* Gemma's mechanisms in every kernel variant: sliding windows (shorter than a block, across
 * blocks, longer than a partition), soft-capped scores, a scale of q.k other than 1/sqrt(d); f16
 * and f32 pools. */
static const attn_cfg GEMMA_CONFIGS[] = {
    {8, 32, 2, 1, true, false, 0, 1.0f, false, 20, 5.0f, 0.0f, false},
    {16, 64, 4, 2, true, true, 0, 1.0f, false, 37, 0.0f, 0.0f, false},
    {32, 32, 8, 1, true, false, 0, 1.0f, false, 5, 0.0f, 0.0f, false},
    {8, 256, 2, 1, true, false, 0, 1.0f, false, 50, 50.0f, 0.0625f, false},
    {16, 128, 4, 4, true, true, 0, 1.0f, false, 0, 2.0f, 0.0f, false},
    {64, 64, 4, 1, true, false, 0, 1.0f, false, 70, 0.0f, 0.25f, false},
    {8, 64, 2, 1, true, false, 0, 1.0f, false, 20, 5.0f, 0.0f, true}, /* q8_0 */
};

static void run_configs(pv_test_vk *t, const attn_cfg *cfgs, size_t n) {
  pv_ops ops;
  test_ops_init(t, &ops);
  const uint32_t row_wg = ops.wg_row;
  for (size_t i = 0; i < n; i++) {
    ops.wg_row = i % 2 ? ops.wg : row_wg; /* rope_kv at both workgroup widths (CPU devices: 8 and 64) */
    run_config(t, &ops, cfgs[i], false);
    run_config(t, &ops, cfgs[i], true);
  }
  pv_ops_destroy(&ops);
}

static void test_attention_configs(void **state) { run_configs(*state, CONFIGS, PV_ARRAY_LEN(CONFIGS)); }

static void test_attention_gemma(void **state) { run_configs(*state, GEMMA_CONFIGS, PV_ARRAY_LEN(GEMMA_CONFIGS)); }

/* Refused: partitioned attention without a part length or a partial buffer (it could not end),
 * an odd head size, a block size that is not a power of two. */
static void test_attention_rejects(void **state) {
  pv_test_vk *t = *state;
  pv_error err = {0};
  pv_ops ops;
  test_ops_init(t, &ops);
  pv_vk_buffer b;
  test_buffer(t, &b, 4096, NULL, 0, 0);
  pv_op_pool pool = {.bufs = {&b}, .n_bufs = 1, .block_size = 16, .blocks_per_buf = 1, .n_layer = 1,
                     .n_kv_head = 1, .head_dim = 64};
  pv_op_attn_args aa = {.q = pv_view(&b), .out = pv_view(&b), .tokens = pv_view(&b), .block_tables = pv_view(&b),
                        .partial = pv_view(&b), .pool = &pool, .rows = 1, .n_head = 1, .n_kv_head = 1,
                        .head_dim = 64, .max_blocks = 1, .q_stride = 64, .o_stride = 64, .parts = 2, .part_len = 0};
  PV_ASSERT_OK(pv_vk_cmd_begin(&t->cmd, &err), err);
  assert_int_equal(pv_op_paged_attn(&ops, &t->cmd, &aa, &err), PAGEDVK_ERR_INVALID);
  aa.part_len = 32;
  aa.partial = (pv_vk_view){0};
  assert_int_equal(pv_op_paged_attn(&ops, &t->cmd, &aa, &err), PAGEDVK_ERR_INVALID);
  aa.parts = 1;
  aa.head_dim = 65;
  assert_int_equal(pv_op_paged_attn(&ops, &t->cmd, &aa, &err), PAGEDVK_ERR_UNSUPPORTED);
  aa.head_dim = 64;
  pool.block_size = 24; /* the kernels split a position into block and offset by shift and mask */
  assert_int_equal(pv_op_paged_attn(&ops, &t->cmd, &aa, &err), PAGEDVK_ERR_INVALID);
  PV_ASSERT_OK(pv_vk_cmd_run(&t->cmd, &err), err);
  pv_vk_buffer_destroy(t->ctx, &b);
  pv_ops_destroy(&ops);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_attention_configs, pv_test_vk_check),
      cmocka_unit_test_teardown(test_attention_gemma, pv_test_vk_check),
      cmocka_unit_test_teardown(test_attention_rejects, pv_test_vk_check),
  };
  return pv_test_vk_run_clamp_sets("rope_kv+paged_attn", tests, PV_ARRAY_LEN(tests));
}
