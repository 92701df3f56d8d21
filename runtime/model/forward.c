/*
 * forward.c — records the batched forward pass (see forward.h). One barrier between dependent
 * dispatches; independent dispatches (q, k and v projections) share one.
 */
#include <stdlib.h>
#include <string.h>

#include "model/forward.h"
#include "vk/vk_buffer.h"

#define ATTN_PART_LEN 512u /* keys per partition of a long context */
#define ATTN_MAX_PARTS 16u

static int make(pv_forward *fw, pv_vk_buffer *b, uint64_t bytes, pv_vk_memory kind, void **map, pv_error *err) {
  int rc = pv_vk_buffer_create(fw->ctx, b, bytes ? bytes : 4, kind, err);
  if (!rc && map) *map = b->map;
  return rc;
}

/* The layer → (group, slot) maps and each extra group's rows and block tables. */
static int create_groups(pv_forward *fw, const pv_forward_limits *lim, pv_error *err) {
  const pv_hparams *hp = &fw->m->hp;
  const uint32_t n = lim->n_groups ? lim->n_groups : 1;
  if (n > PV_FW_MAX_GROUPS || (n > 1 && (!lim->layer_group || !lim->layer_slot)))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "forward: %u layer groups without a layer map", n);
  fw->lim.n_groups = n;
  fw->lim.layer_group = fw->lim.layer_slot = NULL;
  fw->layer_group = pv_calloc(hp->n_layer, sizeof *fw->layer_group);
  fw->layer_slot = pv_calloc(hp->n_layer, sizeof *fw->layer_slot);
  if (!fw->layer_group || !fw->layer_slot) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "forward: out of memory");
  for (uint32_t l = 0; l < hp->n_layer; l++) {
    fw->layer_group[l] = n > 1 ? lim->layer_group[l] : 0;
    fw->layer_slot[l] = n > 1 ? lim->layer_slot[l] : l;
    if (fw->layer_group[l] >= n) return pv_fail(err, PAGEDVK_ERR_INVALID, "forward: layer %u in group %u of %u", l,
                                                fw->layer_group[l], n);
  }
  const uint64_t T = lim->max_tokens, S = lim->max_seqs;
  int rc = PAGEDVK_OK;
  for (uint32_t g = 1; g < n && !rc; g++) {
    rc = make(fw, &fw->grp_rows[g], T * sizeof(pv_token_row), PV_MEM_HOST, (void **)&fw->grp_rows_map[g], err);
    if (!rc) rc = make(fw, &fw->grp_tables[g], S * lim->max_blocks_per_seq * 4, PV_MEM_HOST,
                       (void **)&fw->grp_tables_map[g], err);
    if (!rc) rc = pv_vk_texel_view_create(fw->ctx, &fw->grp_tables[g], VK_FORMAT_R32_UINT, 0, fw->grp_tables[g].size,
                                          &fw->grp_bt_texel[g], err);
  }
  return rc;
}

static pv_vk_view rows_view(const pv_forward *fw, uint32_t g) { return pv_view(g ? &fw->grp_rows[g] : &fw->rows); }

static pv_vk_view tables_view(const pv_forward *fw, uint32_t g) {
  pv_vk_view v = pv_view(g ? &fw->grp_tables[g] : &fw->block_tables);
  v.texel = g ? fw->grp_bt_texel[g] : fw->bt_texel;
  return v;
}

int pv_forward_create(pv_forward *fw, pv_vk_context *ctx, pv_ops *ops, const pv_dev_model *m,
                      const pv_forward_limits *lim, pv_error *err) {
  memset(fw, 0, sizeof *fw);
  fw->ctx = ctx;
  fw->ops = ops;
  fw->m = m;
  fw->lim = *lim;
  const pv_hparams *hp = &m->hp;
  const uint64_t T = lim->max_tokens, S = lim->max_seqs, f = sizeof(float);
  const uint64_t q_dim = (uint64_t)hp->n_head * hp->head_dim, kv_dim = (uint64_t)hp->n_head_kv * hp->head_dim;
  fw->max_parts = ATTN_MAX_PARTS;
  fw->part_rows = S;
  int rc = make(fw, &fw->x, T * hp->n_embd * f, PV_MEM_DEVICE, NULL, err);
  if (!rc) rc = make(fw, &fw->xn, T * hp->n_embd * f, PV_MEM_DEVICE, NULL, err);
  if (!rc) rc = make(fw, &fw->q, T * q_dim * f, PV_MEM_DEVICE, NULL, err);
  if (!rc) rc = make(fw, &fw->k, T * kv_dim * f, PV_MEM_DEVICE, NULL, err);
  if (!rc) rc = make(fw, &fw->v, T * kv_dim * f, PV_MEM_DEVICE, NULL, err);
  if (!rc) rc = make(fw, &fw->att, T * q_dim * f, PV_MEM_DEVICE, NULL, err);
  if (!rc) rc = make(fw, &fw->ffn, T * hp->n_ff * f, PV_MEM_DEVICE, NULL, err);
  if (!rc) rc = make(fw, &fw->partial, S * hp->n_head * fw->max_parts * (hp->head_dim + 2) * f, PV_MEM_DEVICE, NULL, err);
  if (!rc) rc = make(fw, &fw->rows, T * sizeof(pv_token_row), PV_MEM_HOST, (void **)&fw->rows_map, err);
  if (!rc) rc = make(fw, &fw->block_tables, S * lim->max_blocks_per_seq * 4, PV_MEM_HOST, (void **)&fw->block_tables_map, err);
  if (!rc) rc = make(fw, &fw->logit_rows, S * 4, PV_MEM_HOST, (void **)&fw->logit_rows_map, err);
  if (!rc) rc = make(fw, &fw->logits, S * hp->n_vocab * f, PV_MEM_READBACK, (void **)&fw->logits_map, err);
  if (!rc) rc = make(fw, &fw->argmax, S * 4, PV_MEM_READBACK, (void **)&fw->argmax_map, err);
  if (!rc) rc = make(fw, &fw->attn_tiles, T * 8, PV_MEM_HOST, (void **)&fw->attn_tiles_map, err);
  if (!rc) rc = make(fw, &fw->attn_rows, T * 4, PV_MEM_HOST, (void **)&fw->attn_rows_map, err);
  /* pair tiles: (row, head) pairs by the SIMD width (>= 4) */
  if (!rc) rc = make(fw, &fw->attn_pairs, (T * hp->n_head / 4 + 1) * 16, PV_MEM_HOST, (void **)&fw->attn_pairs_map, err);
  if (!rc) rc = pv_vk_texel_view_create(ctx, &fw->xn, VK_FORMAT_R32G32B32A32_SFLOAT, 0, fw->xn.size, &fw->xn_texel, err);
  if (!rc) rc = pv_vk_texel_view_create(ctx, &fw->att, VK_FORMAT_R32G32B32A32_SFLOAT, 0, fw->att.size, &fw->att_texel, err);
  if (!rc) rc = pv_vk_texel_view_create(ctx, &fw->ffn, VK_FORMAT_R32G32B32A32_SFLOAT, 0, fw->ffn.size, &fw->ffn_texel, err);
  if (!rc) rc = pv_vk_texel_view_create(ctx, &fw->q, VK_FORMAT_R32G32B32A32_SFLOAT, 0, fw->q.size, &fw->q_texel, err);
  if (!rc) rc = pv_vk_texel_view_create(ctx, &fw->block_tables, VK_FORMAT_R32_UINT, 0, fw->block_tables.size,
                                        &fw->bt_texel, err);
  if (!rc) rc = create_groups(fw, lim, err);
  if (rc) pv_forward_destroy(fw);
  return rc;
}

void pv_forward_destroy(pv_forward *fw) {
  pv_vk_texel_view_destroy(fw->ctx, fw->xn_texel);
  pv_vk_texel_view_destroy(fw->ctx, fw->att_texel);
  pv_vk_texel_view_destroy(fw->ctx, fw->ffn_texel);
  pv_vk_texel_view_destroy(fw->ctx, fw->q_texel);
  pv_vk_texel_view_destroy(fw->ctx, fw->bt_texel);
  fw->xn_texel = fw->att_texel = fw->ffn_texel = fw->q_texel = fw->bt_texel = VK_NULL_HANDLE;
  for (uint32_t g = 1; g < PV_FW_MAX_GROUPS; g++) {
    pv_vk_texel_view_destroy(fw->ctx, fw->grp_bt_texel[g]);
    fw->grp_bt_texel[g] = VK_NULL_HANDLE;
    if (fw->grp_rows[g].buffer) pv_vk_buffer_destroy(fw->ctx, &fw->grp_rows[g]);
    if (fw->grp_tables[g].buffer) pv_vk_buffer_destroy(fw->ctx, &fw->grp_tables[g]);
  }
  free(fw->layer_group);
  free(fw->layer_slot);
  fw->layer_group = fw->layer_slot = NULL;
  pv_vk_timer_destroy(&fw->times.timer);
  free(fw->times.stage_of);
  memset(&fw->times, 0, sizeof fw->times);
  pv_vk_buffer *all[] = {&fw->x, &fw->xn, &fw->q, &fw->k, &fw->v, &fw->att, &fw->ffn, &fw->partial,
                         &fw->rows, &fw->block_tables, &fw->logit_rows, &fw->logits, &fw->argmax,
                         &fw->attn_tiles, &fw->attn_rows, &fw->attn_pairs};
  for (size_t i = 0; i < PV_ARRAY_LEN(all); i++)
    if (all[i]->buffer) pv_vk_buffer_destroy(fw->ctx, all[i]);
}

/* The barrier after a stage; with stage times on, the timestamp that ends it. */
static void end_stage(pv_forward *fw, pv_vk_cmd *cmd, pv_stage stage) {
  if (cmd) pv_vk_cmd_barrier(cmd, PV_BARRIER_COMPUTE_TO_COMPUTE);
  pv_forward_stamp(fw, cmd, (int)stage);
}

/* Y (+)= scale * (X W^T + bias); scale 1: unscaled (the residual adds take residual_scale). */
static int matmul(pv_forward *fw, pv_vk_cmd *cmd, const pv_op_weight *w, pv_vk_buffer *x, pv_vk_buffer *y,
                  pv_vk_view bias, uint32_t rows, bool accumulate, float scale, pv_error *err) {
  pv_op_matmul_args a = {.w = w, .x = pv_view(x), .y = pv_view(y), .bias = bias, .m = rows,
                         .x_stride = w->k, .y_stride = w->n, .accumulate = accumulate, .scale = scale};
  a.x.texel = x == &fw->xn ? fw->xn_texel : x == &fw->att ? fw->att_texel : x == &fw->ffn ? fw->ffn_texel : VK_NULL_HANDLE;
  return pv_op_matmul(fw->ops, cmd, &a, err);
}

static uint32_t attention_parts(const pv_forward *fw, const pv_forward_batch *b) {
  if (b->n_rows > fw->part_rows || b->max_context <= 2 * ATTN_PART_LEN) return 1;
  uint32_t parts = (b->max_context + ATTN_PART_LEN - 1) / ATTN_PART_LEN;
  return parts < fw->max_parts ? parts : fw->max_parts;
}

/* The listed rows as (row, head) pairs for the decode-pairs kernel when there are enough of them:
 * at least 8 tiles of one pair per SIMD lane (fewer rows keep the lanes kernel, whose workgroups
 * split each row's keys and so stay parallel; a single chat's step is one row). Rows are listed
 * longest context first, so that each tile's lanes walk similar numbers of keys. */
#define ATTN_PAIR_TILES_MIN 8u
static void plan_pairs(pv_forward *fw) {
  const uint32_t lanes = pv_ops_simd_lanes(fw->ops), heads = fw->m->hp.n_head;
  const uint32_t pairs = fw->n_attn_rows * heads;
  fw->n_attn_pair_tiles = 0;
  if (pairs < ATTN_PAIR_TILES_MIN * lanes) return;
  uint32_t *list = fw->attn_rows_map;
  const pv_token_row *r = fw->rows_map;
  for (uint32_t i = 1; i < fw->n_attn_rows; i++) { /* insertion sort by position, descending */
    const uint32_t x = list[i];
    uint32_t j = i;
    for (; j > 0 && r[list[j - 1]].pos < r[x].pos; j--) list[j] = list[j - 1];
    list[j] = x;
  }
  for (uint32_t first = 0; first < pairs; first += lanes) {
    uint32_t *t = fw->attn_pairs_map + 4 * fw->n_attn_pair_tiles++;
    t[0] = first;
    t[1] = pairs - first < lanes ? pairs - first : lanes;
    t[2] = r[list[first / heads]].pos + 1; /* the tile's longest context: its first row's */
    t[3] = 0;
  }
}

static pv_op_attn_args attn_args(const pv_forward *fw, const pv_op_pool *pool, const pv_forward_batch *b,
                                 uint32_t l) {
  const pv_hparams *hp = &fw->m->hp;
  const uint32_t q_dim = hp->n_head * hp->head_dim;
  const uint32_t g = fw->layer_group[l];
  pv_op_attn_args aa = {.q = pv_view(&fw->q), .out = pv_view(&fw->att), .tokens = rows_view(fw, g),
                        .block_tables = tables_view(fw, g), .partial = pv_view(&fw->partial), .pool = pool,
                        .rows = b->n_rows, .n_head = hp->n_head, .n_kv_head = hp->n_head_kv,
                        .head_dim = hp->head_dim, .layer = fw->layer_slot[l], .max_blocks = fw->lim.max_blocks_per_seq,
                        .q_stride = q_dim, .o_stride = q_dim, .scale = hp->attn_scale, .parts = attention_parts(fw, b),
                        .part_len = ATTN_PART_LEN, .window = hp->layer[l].window, .softcap = hp->attn_softcap};
  aa.q.texel = fw->q_texel;
  return aa;
}

/* Splits the batch for attention where the device takes prompt tiles (pv_ops_attn_tile_rows):
 * each run of consecutive rows of one sequence at consecutive positions (a prompt chunk; the
 * engine writes an item's rows so) is cut into tiles of tile_rows rows, and a last partial tile of
 * at least a third of that; every other row (decode rows, short chunks, short remainders) goes to
 * the lanes kernel's list. A tile costs about as much as a dozen rows through the lanes kernel on
 * lavapipe, whatever its own row count, hence the third. */
static void plan_attention(pv_forward *fw, const pv_op_pool *pool, const pv_forward_batch *b) {
  const pv_op_attn_args aa = attn_args(fw, pool, b, 0);
  const uint32_t tile_rows = fw->attn_tile_rows = pv_ops_attn_tile_rows(fw->ops, &aa);
  fw->n_attn_tiles = fw->n_attn_rows = fw->n_attn_pair_tiles = 0;
  if (!tile_rows) return;
  const pv_token_row *r = fw->rows_map;
  for (uint32_t i = 0; i < b->n_rows;) {
    uint32_t end = i + 1;
    while (end < b->n_rows && r[end].seq == r[i].seq && r[end].pos == r[end - 1].pos + 1) end++;
    for (; end - i >= tile_rows; i += tile_rows) {
      fw->attn_tiles_map[2 * fw->n_attn_tiles] = i;
      fw->attn_tiles_map[2 * fw->n_attn_tiles++ + 1] = tile_rows;
    }
    if (3 * (end - i) >= tile_rows) {
      fw->attn_tiles_map[2 * fw->n_attn_tiles] = i;
      fw->attn_tiles_map[2 * fw->n_attn_tiles++ + 1] = end - i;
      i = end;
    }
    for (; i < end; i++) fw->attn_rows_map[fw->n_attn_rows++] = i;
  }
  plan_pairs(fw);
}

/* Attention of the batch; on a device that takes prompt tiles, the lanes kernel's rows through
 * the list (bound in either case, so both uses share one pipeline-and-bindings pair). */
static int attention(pv_forward *fw, pv_vk_cmd *cmd, pv_op_attn_args *aa, pv_error *err) {
  if (!fw->attn_tile_rows) return pv_op_paged_attn(fw->ops, cmd, aa, err);
  aa->row_list = pv_view(&fw->attn_rows);
  if (fw->n_attn_tiles || fw->n_attn_pair_tiles) {
    aa->rows = fw->n_attn_rows;
    aa->use_row_list = true;
    aa->parts = 1; /* the tiles bring the parallelism; partial results are indexed by row */
  }
  int rc = fw->n_attn_pair_tiles
               ? pv_op_paged_attn_pairs(fw->ops, cmd, aa, pv_view(&fw->attn_pairs), fw->n_attn_pair_tiles, err)
               : pv_op_paged_attn(fw->ops, cmd, aa, err);
  if (!rc) rc = pv_op_paged_attn_tiles(fw->ops, cmd, aa, pv_view(&fw->attn_tiles), fw->n_attn_tiles, err);
  return rc;
}

/* QK-norm: every head of q and k RMS-normed in place, as rows of head_dim (one dispatch each,
 * after the projections' barrier; part of the QKV stage). */
static int qk_norm(pv_forward *fw, pv_vk_cmd *cmd, const pv_dev_layer *L, uint32_t n, pv_error *err) {
  const pv_hparams *hp = &fw->m->hp;
  const uint32_t d = hp->head_dim;
  const pv_vk_view none = {0};
  if (cmd) pv_vk_cmd_barrier(cmd, PV_BARRIER_COMPUTE_TO_COMPUTE);
  int rc = pv_op_rmsnorm(fw->ops, cmd, pv_view(&fw->q), pv_view(&fw->q), L->q_norm, none, d, n * hp->n_head, d, d,
                         hp->rms_eps, err);
  if (!rc) rc = pv_op_rmsnorm(fw->ops, cmd, pv_view(&fw->k), pv_view(&fw->k), L->k_norm, none, d, n * hp->n_head_kv, d,
                              d, hp->rms_eps, err);
  return rc;
}

/* x += residual_scale * W in (the attention output or the FFN down projection), or with a post
 * norm (gemma) x += rmsnorm(W in) * post_norm through the xn scratch. */
static int output_and_residual(pv_forward *fw, pv_vk_cmd *cmd, const pv_op_weight *w, pv_vk_buffer *in,
                               pv_vk_view post_norm, uint32_t n, pv_stage stage, int rc, pv_error *err) {
  const pv_hparams *hp = &fw->m->hp;
  const bool post = post_norm.buffer != NULL;
  if (!rc) rc = matmul(fw, cmd, w, in, post ? &fw->xn : &fw->x, (pv_vk_view){0}, n, !post, post ? 1.0f : hp->residual_scale,
                       err);
  end_stage(fw, cmd, stage);
  if (!post) return rc;
  if (!rc) rc = pv_op_rmsnorm_add(fw->ops, cmd, pv_view(&fw->xn), pv_view(&fw->x), post_norm, hp->n_embd, n,
                                  hp->n_embd, hp->n_embd, hp->rms_eps, err);
  end_stage(fw, cmd, PV_STAGE_POST_NORM);
  return rc;
}

static int attention_block(pv_forward *fw, pv_vk_cmd *cmd, const pv_op_pool *pool, const pv_forward_batch *b,
                           uint32_t l, pv_error *err) {
  const pv_hparams *hp = &fw->m->hp;
  const pv_dev_layer *L = &fw->m->layers[l];
  const uint32_t n = b->n_rows, q_dim = hp->n_head * hp->head_dim, kv_dim = hp->n_head_kv * hp->head_dim;
  const pv_vk_view none = {0};
  int rc = pv_op_rmsnorm(fw->ops, cmd, pv_view(&fw->x), pv_view(&fw->xn), L->attn_norm, none, hp->n_embd, n,
                         hp->n_embd, hp->n_embd, hp->rms_eps, err);
  end_stage(fw, cmd, PV_STAGE_ATTN_NORM);
  if (!rc) rc = matmul(fw, cmd, &L->wq, &fw->xn, &fw->q, L->bq, n, false, 1.0f, err);
  if (!rc) rc = matmul(fw, cmd, &L->wk, &fw->xn, &fw->k, L->bk, n, false, 1.0f, err);
  if (!rc) rc = matmul(fw, cmd, &L->wv, &fw->xn, &fw->v, L->bv, n, false, 1.0f, err);
  if (!rc && L->q_norm.buffer) rc = qk_norm(fw, cmd, L, n, err);
  end_stage(fw, cmd, PV_STAGE_QKV);
  pv_op_rope_args ra = {.q = pv_view(&fw->q), .k = pv_view(&fw->k), .v = pv_view(&fw->v),
                        .tokens = rows_view(fw, fw->layer_group[l]),
                        .pool = pool, .rows = n, .n_head = hp->n_head, .n_kv_head = hp->n_head_kv,
                        .head_dim = hp->head_dim, .rope_dim = hp->layer[l].no_rope ? 0 : hp->rope_dim,
                        .rope_base = hp->layer[l].rope_base, .pos_scale = hp->layer[l].rope_pos_scale,
                        .neox = hp->rope_style == PV_ROPE_NEOX, .layer = fw->layer_slot[l],
                        .q_stride = q_dim, .kv_stride = kv_dim, .mscale = hp->rope_attn_factor};
  if (fw->m->rope_freqs.buffer) ra.freq_div = pv_view(&fw->m->rope_freqs);
  if (!rc) rc = pv_op_rope_kv(fw->ops, cmd, &ra, err);
  end_stage(fw, cmd, PV_STAGE_ROPE_KV);
  pv_op_attn_args aa = attn_args(fw, pool, b, l);
  if (!rc) rc = attention(fw, cmd, &aa, err);
  end_stage(fw, cmd, PV_STAGE_ATTENTION);
  return output_and_residual(fw, cmd, &L->wo, &fw->att, L->post_attn_norm, n, PV_STAGE_ATTN_OUT, rc, err);
}

static int ffn_block(pv_forward *fw, pv_vk_cmd *cmd, const pv_forward_batch *b, uint32_t l, pv_error *err) {
  const pv_hparams *hp = &fw->m->hp;
  const pv_dev_layer *L = &fw->m->layers[l];
  const uint32_t n = b->n_rows;
  const pv_vk_view none = {0};
  int rc = pv_op_rmsnorm(fw->ops, cmd, pv_view(&fw->x), pv_view(&fw->xn), L->ffn_norm, none, hp->n_embd, n,
                         hp->n_embd, hp->n_embd, hp->rms_eps, err);
  end_stage(fw, cmd, PV_STAGE_FFN_NORM);
  pv_op_matmul_args a = {.w = &L->w_gate, .w_up = &L->w_up, .x = pv_view(&fw->xn), .y = pv_view(&fw->ffn),
                         .m = n, .x_stride = hp->n_embd, .y_stride = hp->n_ff, .gelu = hp->ffn_gelu};
  a.x.texel = fw->xn_texel;
  if (!rc && L->w_gate.type != L->w_up.type)
    rc = pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "forward: ffn_gate and ffn_up of different types are not supported yet");
  if (!rc) rc = pv_op_matmul(fw->ops, cmd, &a, err);
  end_stage(fw, cmd, PV_STAGE_FFN_GATE_UP);
  return output_and_residual(fw, cmd, &L->w_down, &fw->ffn, L->post_ffn_norm, n, PV_STAGE_FFN_DOWN, rc, err);
}

static int logits_block(pv_forward *fw, pv_vk_cmd *cmd, const pv_forward_batch *b, pv_error *err) {
  const pv_hparams *hp = &fw->m->hp;
  int rc = pv_op_rmsnorm(fw->ops, cmd, pv_view(&fw->x), pv_view(&fw->xn), fw->m->output_norm,
                         pv_view(&fw->logit_rows), hp->n_embd, b->n_logits, hp->n_embd, hp->n_embd, hp->rms_eps, err);
  end_stage(fw, cmd, PV_STAGE_OUT_NORM);
  if (!rc)
    rc = matmul(fw, cmd, &fw->m->output, &fw->xn, &fw->logits, (pv_vk_view){0}, b->n_logits, false,
                1.0f / hp->logit_scale, err);
  pv_stage last = PV_STAGE_LOGITS;
  if (hp->final_softcap > 0.0f) {
    end_stage(fw, cmd, last);
    if (!rc) rc = pv_op_softcap(fw->ops, cmd, pv_view(&fw->logits), hp->n_vocab, b->n_logits, hp->n_vocab,
                                hp->final_softcap, err);
    last = PV_STAGE_SOFTCAP;
  }
  if (b->want_argmax) {
    end_stage(fw, cmd, last);
    if (!rc) rc = pv_op_argmax(fw->ops, cmd, pv_view(&fw->logits), pv_view(&fw->argmax), hp->n_vocab, b->n_logits,
                               hp->n_vocab, err);
    last = PV_STAGE_ARGMAX;
  }
  if (cmd) pv_vk_cmd_barrier(cmd, PV_BARRIER_TO_HOST);
  pv_forward_stamp(fw, cmd, (int)last);
  return rc;
}

int pv_forward_record(pv_forward *fw, pv_vk_cmd *cmd, const pv_op_pool *pool, const pv_forward_batch *b,
                      pv_error *err) {
  if (b->n_rows == 0 || b->n_rows > fw->lim.max_tokens || b->n_logits > fw->lim.max_seqs)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "forward: batch of %u rows / %u logits exceeds the limits", b->n_rows,
                   b->n_logits);
  const pv_hparams *hp = &fw->m->hp;
  pv_forward_stamp(fw, cmd, -1);
  plan_attention(fw, pool, b);
  int rc = pv_op_embed_scaled(fw->ops, cmd, &fw->m->tok_embd, pv_view(&fw->rows), pv_view(&fw->x), b->n_rows,
                              hp->n_embd, hp->embd_scale, err);
  end_stage(fw, cmd, PV_STAGE_EMBED);
  for (uint32_t l = 0; l < hp->n_layer && !rc; l++) {
    rc = attention_block(fw, cmd, pool, b, l, err);
    if (!rc) rc = ffn_block(fw, cmd, b, l, err);
  }
  if (!rc) rc = logits_block(fw, cmd, b, err);
  return rc;
}

/* Walks the pass without recording for every row count up to the limits (the matmul variants
 * follow the token count, the logits matmul the sequence count), once with a context long enough
 * for partitioned attention, once with a prompt chunk (prompt tiles), and for a pool of several
 * buffers both with the first buffer only and with all (the attention variant with the buffer
 * switch). */
static int prepare_all(pv_forward *fw, const pv_op_pool *pool, pv_error *err) {
  pv_op_pool p = *pool;
  const uint32_t longest = fw->lim.max_blocks_per_seq * pool->block_size;
  for (uint32_t all = 0; all < (pool->n_bufs > 1 ? 2u : 1u); all++) {
    p.bufs_in_use = all ? pool->n_bufs : 1;
    for (uint32_t n = 1; n <= fw->lim.max_tokens; n++) {
      pv_forward_batch b = {.n_rows = n, .n_logits = n < fw->lim.max_seqs ? n : fw->lim.max_seqs, .max_context = n,
                            .want_argmax = true};
      int rc = pv_forward_record(fw, NULL, &p, &b, err);
      if (rc) return rc;
    }
    pv_forward_batch b = {.n_rows = 1, .n_logits = 1, .max_context = longest, .want_argmax = true};
    int rc = pv_forward_record(fw, NULL, &p, &b, err);
    /* one prompt chunk at positions 0.., so that the prompt-tile kernel is made too (its K/V
     * writes all go to slot 0, as the other warm-up rows' do; block tables are zero) */
    const pv_token_row zero = {0};
    for (uint32_t i = 0; i < fw->lim.max_tokens; i++) fw->rows_map[i] = (pv_token_row){0, i, 0, 0};
    pv_forward_batch chunk = {.n_rows = fw->lim.max_tokens, .n_logits = 1, .max_context = fw->lim.max_tokens,
                              .want_argmax = true};
    if (!rc) rc = pv_forward_record(fw, NULL, &p, &chunk, err);
    /* and one decode row of each sequence the step can hold (the decode-pairs kernel) */
    const uint32_t seqs = fw->lim.max_seqs < fw->lim.max_tokens ? fw->lim.max_seqs : fw->lim.max_tokens;
    for (uint32_t i = 0; i < seqs; i++) fw->rows_map[i] = (pv_token_row){0, 0, i, 0};
    pv_forward_batch decode = {.n_rows = seqs, .n_logits = seqs, .max_context = 1, .want_argmax = true};
    if (!rc) rc = pv_forward_record(fw, NULL, &p, &decode, err);
    for (uint32_t i = 0; i < fw->lim.max_tokens; i++) fw->rows_map[i] = zero;
    if (rc) return rc;
  }
  return PAGEDVK_OK;
}

int pv_forward_prepare(pv_forward *fw, pv_vk_cmd *warm, const pv_op_pool *pool, pv_error *err) {
  if (warm) { /* the warm-up runs read token 0 at position 0 and write its K/V to slot 0 (block 0 is free) */
    memset(fw->rows_map, 0, fw->rows.size);
    memset(fw->block_tables_map, 0, fw->block_tables.size);
    memset(fw->logit_rows_map, 0, fw->logit_rows.size);
  }
  fw->ops->warm_cmd = warm;
  int rc = prepare_all(fw, pool, err);
  fw->ops->warm_cmd = NULL;
  return rc;
}
