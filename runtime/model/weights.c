/*
 * weights.c — packs and uploads a model's tensors (see weights.h).
 * Two passes over the same list of tensors: plan (arena and offset of each), then upload.
 * A matrix larger than the arena cap becomes several slots first, one per row range
 * (pv_op_weight_part_rows), each then placed like any tensor.
 */
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "gguf/quant.h"
#include "model/weights.h"
#include "vk/vk_buffer.h"

#define ARENA_ALIGN 256u

typedef enum { SLOT_MATRIX, SLOT_VECTOR } slot_kind;

typedef struct slot {
  const pv_gguf_tensor *t;
  slot_kind kind;
  uint64_t bytes;     /* on the device */
  const uint8_t *data; /* a matrix's first row (of its part) in the file */
  uint32_t rows;       /* a matrix's rows (of its part) */
  uint32_t arena;
  uint64_t offset;
  pv_op_weight *weight; /* where to record a matrix */
  pv_vk_view *view;     /* where to record a vector */
} slot;

typedef struct plan {
  slot *slots;
  uint32_t n, cap;
  uint64_t arena_cap;
  uint64_t *arena_used; /* bytes used in each arena */
  uint32_t n_arenas, arenas_cap;
} plan;

static int add_slot(plan *p, const pv_gguf_tensor *t, slot_kind kind, pv_op_weight *w, pv_vk_view *v, pv_error *err) {
  if (!t) return PAGEDVK_OK;
  if (PV_GROW_U32(p->slots, p->cap, (size_t)p->n + 1) != PAGEDVK_OK)
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "weights: out of memory");
  slot *s = &p->slots[p->n++];
  memset(s, 0, sizeof *s);
  s->t = t;
  s->kind = kind;
  s->weight = w;
  s->view = v;
  s->bytes = kind == SLOT_MATRIX ? t->nbytes : t->ne[0] * t->ne[1] * sizeof(float);
  s->data = t->data;
  s->rows = (uint32_t)t->ne[1];
  return PAGEDVK_OK;
}

/* Replaces every matrix slot above the arena cap by one slot per row range, the whole's record
 * pointing at its parts (m->parts, one array for every split matrix). */
static int split_large(plan *p, pv_dev_model *m, const pv_vk_caps *caps, pv_error *err) {
  uint32_t n_parts = 0, n_slots = p->n;
  for (uint32_t i = 0; i < p->n; i++) {
    const slot *s = &p->slots[i];
    if (s->kind != SLOT_MATRIX || s->bytes <= p->arena_cap) continue;
    const uint32_t rows = pv_op_weight_part_rows(caps, s->t->type, (uint32_t)s->t->ne[0], p->arena_cap);
    if (!rows)
      return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED,
                     "weights: a row of tensor '%.*s' is more than this device binds in one buffer (%llu bytes)",
                     (int)s->t->name.len, s->t->name.ptr, (unsigned long long)p->arena_cap);
    const uint32_t k = (s->rows + rows - 1) / rows;
    n_parts += k;
    n_slots += k - 1;
  }
  if (!n_parts) return PAGEDVK_OK;
  slot *out = calloc(n_slots, sizeof *out);
  m->parts = calloc(n_parts, sizeof *m->parts);
  if (!out || !m->parts) {
    free(out);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "weights: out of memory");
  }
  uint32_t o = 0;
  for (uint32_t i = 0; i < p->n; i++) {
    const slot *s = &p->slots[i];
    if (s->kind != SLOT_MATRIX || s->bytes <= p->arena_cap) {
      out[o++] = *s;
      continue;
    }
    const uint32_t k = (uint32_t)s->t->ne[0];
    const uint32_t rows = pv_op_weight_part_rows(caps, s->t->type, k, p->arena_cap);
    const uint64_t rb = s->bytes / s->rows;
    *s->weight = (pv_op_weight){.type = s->t->type, .k = k, .n = s->rows, .parts = m->parts + m->n_parts};
    for (uint32_t r = 0; r < s->rows; r += rows, o++) {
      out[o] = *s;
      out[o].rows = s->rows - r < rows ? s->rows - r : rows;
      out[o].bytes = rb * out[o].rows;
      out[o].data = s->data + rb * r;
      out[o].weight = &m->parts[m->n_parts++];
      s->weight->n_parts++;
    }
  }
  free(p->slots);
  p->slots = out;
  p->n = p->cap = n_slots;
  return PAGEDVK_OK;
}

/* First fit over the arenas opened so far, else a new arena. */
static int place(plan *p, slot *s, pv_error *err) {
  if (s->bytes > p->arena_cap)
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED,
                   "weights: tensor '%.*s' is %llu MiB, more than this device binds in one buffer (%llu MiB)",
                   (int)s->t->name.len, s->t->name.ptr, (unsigned long long)(s->bytes >> 20),
                   (unsigned long long)(p->arena_cap >> 20));
  for (uint32_t a = 0; a < p->n_arenas; a++) {
    uint64_t at = pv_align_up(p->arena_used[a], ARENA_ALIGN);
    if (at + s->bytes <= p->arena_cap) {
      s->arena = a;
      s->offset = at;
      p->arena_used[a] = at + s->bytes;
      return PAGEDVK_OK;
    }
  }
  if (PV_GROW_U32(p->arena_used, p->arenas_cap, (size_t)p->n_arenas + 1) != PAGEDVK_OK)
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "weights: out of memory");
  s->arena = p->n_arenas;
  s->offset = 0;
  p->arena_used[p->n_arenas++] = s->bytes;
  return PAGEDVK_OK;
}

static int plan_model(plan *p, pv_dev_model *m, const pv_model_tensors *mt, const pv_vk_caps *caps, pv_error *err) {
  int rc = add_slot(p, mt->tok_embd, SLOT_MATRIX, &m->tok_embd, NULL, err);
  if (!rc && !m->hp.tied_embeddings) rc = add_slot(p, mt->output, SLOT_MATRIX, &m->output, NULL, err);
  if (!rc) rc = add_slot(p, mt->output_norm, SLOT_VECTOR, NULL, &m->output_norm, err);
  for (uint32_t i = 0; i < m->hp.n_layer && !rc; i++) {
    const pv_layer_tensors *t = &mt->layers[i];
    pv_dev_layer *L = &m->layers[i];
    pv_op_weight *mats[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
    const pv_gguf_tensor *mts[] = {t->wq, t->wk, t->wv, t->wo, t->w_gate, t->w_up, t->w_down};
    for (size_t j = 0; j < PV_ARRAY_LEN(mats) && !rc; j++) rc = add_slot(p, mts[j], SLOT_MATRIX, mats[j], NULL, err);
    pv_vk_view *vecs[] = {&L->attn_norm, &L->ffn_norm,       &L->bq,           &L->bk, &L->bv,
                          &L->q_norm,    &L->k_norm,         &L->post_attn_norm, &L->post_ffn_norm};
    const pv_gguf_tensor *vts[] = {t->attn_norm, t->ffn_norm,        t->bq,              t->bk, t->bv,
                                   t->q_norm,    t->k_norm,          t->post_attn_norm, t->post_ffn_norm};
    for (size_t j = 0; j < PV_ARRAY_LEN(vecs) && !rc; j++) rc = add_slot(p, vts[j], SLOT_VECTOR, NULL, vecs[j], err);
  }
  if (!rc) rc = split_large(p, m, caps, err);
  for (uint32_t i = 0; i < p->n && !rc; i++) rc = place(p, &p->slots[i], err);
  return rc;
}

static int upload_slot(pv_vk_context *ctx, pv_dev_model *m, const slot *s, pv_error *err) {
  pv_vk_buffer *buf = &m->arenas[s->arena];
  if (s->kind == SLOT_MATRIX) {
    *s->weight = (pv_op_weight){.buf = buf, .offset = s->offset, .type = s->t->type, .k = (uint32_t)s->t->ne[0],
                                .n = s->rows, .texel = m->arena_texels[s->arena]};
    return pv_vk_buffer_upload(ctx, buf, s->offset, s->data, s->bytes, err);
  }
  float *tmp = malloc(s->bytes);
  if (!tmp) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "weights: out of memory");
  int rc = pv_dequantize_tensor(s->t, tmp, err);
  if (!rc) rc = pv_vk_buffer_upload(ctx, buf, s->offset, tmp, s->bytes, err);
  free(tmp);
  *s->view = pv_view_range(buf, s->offset, s->bytes);
  return rc;
}

static int create_arenas(pv_dev_model *m, pv_vk_context *ctx, const plan *p, pv_error *err) {
  m->arenas = calloc(p->n_arenas, sizeof *m->arenas);
  m->arena_texels = calloc(p->n_arenas, sizeof *m->arena_texels);
  if (!m->arenas || !m->arena_texels) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "weights: out of memory");
  for (uint32_t a = 0; a < p->n_arenas; a++) {
    int rc = pv_vk_buffer_create(ctx, &m->arenas[a], pv_align_up(p->arena_used[a], 16), PV_MEM_DEVICE, err);
    if (!rc) rc = pv_vk_texel_view_create(ctx, &m->arenas[a], VK_FORMAT_R32G32B32A32_UINT, 0, m->arenas[a].size,
                                          &m->arena_texels[a], err);
    if (rc) return rc;
    m->n_arenas = a + 1;
    m->bytes += p->arena_used[a];
  }
  return PAGEDVK_OK;
}

/* The RoPE frequency divisors, in a buffer of their own (none for most models). */
static int load_rope_freqs(pv_dev_model *m, pv_vk_context *ctx, const pv_model_tensors *mt, pv_error *err) {
  const uint32_t pairs = m->hp.rope_dim / 2;
  float *div = malloc(pairs * sizeof *div);
  bool any = false;
  int rc = div ? pv_rope_freq_divisors(&m->hp, mt, div, &any, err)
               : pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "weights: out of memory");
  if (!rc && any) rc = pv_vk_buffer_create(ctx, &m->rope_freqs, pairs * sizeof *div, PV_MEM_DEVICE, err);
  if (!rc && any) rc = pv_vk_buffer_upload(ctx, &m->rope_freqs, 0, div, pairs * sizeof *div, err);
  free(div);
  return rc;
}

int pv_dev_model_load(pv_dev_model *m, pv_vk_context *ctx, const pv_gguf_file *f, uint32_t n_ctx,
                      pv_progress_fn progress, void *user, pv_error *err) {
  memset(m, 0, sizeof *m);
  double t0 = pv_now();
  pv_model_tensors mt = {0};
  plan p = {0};
  int rc = pv_hparams_load(&m->hp, f, err);
  if (!rc && n_ctx) m->hp.n_ctx = n_ctx;
  if (!rc) rc = pv_model_tensors_bind(&mt, f, &m->hp, err);
  if (!rc && !(m->layers = calloc(m->hp.n_layer, sizeof *m->layers)))
    rc = pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "weights: out of memory");
  p.arena_cap = ctx->caps.max_storage_buffer_range < ctx->caps.max_allocation_size ? ctx->caps.max_storage_buffer_range
                                                                                   : ctx->caps.max_allocation_size;
  if (p.arena_cap > ctx->caps.max_texel_elements * 16) p.arena_cap = ctx->caps.max_texel_elements * 16;
  p.arena_cap = p.arena_cap / ARENA_ALIGN * ARENA_ALIGN;
  if (!rc) rc = plan_model(&p, m, &mt, &ctx->caps, err);
  if (!rc) rc = create_arenas(m, ctx, &p, err);
  for (uint32_t i = 0; i < p.n && !rc; i++) {
    rc = upload_slot(ctx, m, &p.slots[i], err);
    if (progress) progress((double)(i + 1) / p.n, user);
  }
  if (!rc && m->hp.tied_embeddings) m->output = m->tok_embd;
  if (!rc) rc = load_rope_freqs(m, ctx, &mt, err);
  free(p.slots);
  free(p.arena_used);
  pv_model_tensors_free(&mt);
  if (rc) pv_dev_model_destroy(m, ctx);
  m->upload_seconds = pv_now() - t0;
  return rc;
}

void pv_dev_model_destroy(pv_dev_model *m, pv_vk_context *ctx) {
  for (uint32_t a = 0; a < m->n_arenas; a++) {
    if (m->arena_texels) pv_vk_texel_view_destroy(ctx, m->arena_texels[a]);
    pv_vk_buffer_destroy(ctx, &m->arenas[a]);
  }
  if (m->rope_freqs.buffer) pv_vk_buffer_destroy(ctx, &m->rope_freqs);
  free(m->arenas);
  free(m->arena_texels);
  m->arena_texels = NULL;
  free(m->layers);
  free(m->parts);
  m->parts = NULL;
  m->n_parts = 0;
  m->arenas = NULL;
  m->layers = NULL;
  m->n_arenas = 0;
}
