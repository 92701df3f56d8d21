/*
 * ref.c — the CPU reference forward pass, written to read like the maths:
 *
 *   x = embedding[token] * embd_scale (granite's, gemma's sqrt(n_embd))
 *   per layer:  h = rmsnorm(x) * attn_norm
 *               q, k, v = Wq h (+bq), Wk h (+bk), Wv h (+bv)
 *               (QK-norm: each head of q and k = rmsnorm(head) * q_norm / k_norm)
 *               rope(q, k, pos) with the layer's base (not in NoPE layers; the rotated dims times
 *                 rope.scaling.attn_factor when the file gives one)
 *                 (pair i turns by pos * base^(-2i/d) / div[i]; div from rope_freqs.weight, LongRoPE's
 *                 rope_factors_short/long.weight (by the context size) or the
 *                 llama3 metadata, computed here, not by the device path's code)
 *               cache[pos] = k, v (q8_0 KV: each 32 values x -> d q, pv_ref_q8_round);  a = softmax(cap(q·K * attn_scale)) V  per head (GQA: head → head / group)
 *                 over the keys the layer's window lets the query see (window W: positions
 *                 pos-W+1 .. pos; 0: all); attn_scale 1/sqrt(d) unless the file says otherwise;
 *                 cap(s) = c tanh(s/c) with gemma2's attention soft-cap c, else s
 *               x += residual_scale * Wo a   (post norms: x += rmsnorm(Wo a) * post_attention_norm)
 *               h = rmsnorm(x) * ffn_norm;  x += residual_scale * Wdown (act(Wgate h) * Wup h)
 *                 (act: silu, or gelu for gemma; post norms: the FFN output RMS-normed * post_ffw_norm)
 *   logits = Woutput (rmsnorm(x) * output_norm) / logit_scale   (gemma2: then soft-capped)
 *   (the scales are 1 except where the architecture reads them: granite)
 *
 * Invariant: n_past tokens are in the cache; a step writes position n_past and increments it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "gguf/quant.h"
#include "model/ref.h"

static float *dequant(const pv_gguf_tensor *t, pv_error *err, int *rc) {
  if (!t || *rc) return NULL;
  uint64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
  float *out = malloc(n * sizeof(float));
  if (!out) {
    *rc = pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "reference: out of memory for tensor '%.*s'", (int)t->name.len,
                  t->name.ptr);
    return NULL;
  }
  *rc = pv_dequantize_tensor(t, out, err);
  if (*rc) {
    free(out);
    return NULL;
  }
  return out;
}

static int load_weights(pv_ref *r, const pv_gguf_file *f, pv_error *err) {
  pv_model_tensors mt;
  int rc = pv_model_tensors_bind(&mt, f, &r->hp, err);
  if (rc) return rc;
  r->tok_embd = dequant(mt.tok_embd, err, &rc);
  r->output_norm = dequant(mt.output_norm, err, &rc);
  r->output = r->hp.tied_embeddings ? r->tok_embd : dequant(mt.output, err, &rc);
  r->rope_div = dequant(mt.rope_freqs, err, &rc);
  r->layers = calloc(r->hp.n_layer, sizeof *r->layers);
  if (!r->layers && !rc) rc = pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "reference: out of memory");
  for (uint32_t i = 0; i < r->hp.n_layer && !rc; i++) {
    const pv_layer_tensors *t = &mt.layers[i];
    pv_ref_layer *L = &r->layers[i];
    L->attn_norm = dequant(t->attn_norm, err, &rc);
    L->wq = dequant(t->wq, err, &rc);
    L->wk = dequant(t->wk, err, &rc);
    L->wv = dequant(t->wv, err, &rc);
    L->bq = dequant(t->bq, err, &rc);
    L->bk = dequant(t->bk, err, &rc);
    L->bv = dequant(t->bv, err, &rc);
    L->wo = dequant(t->wo, err, &rc);
    L->ffn_norm = dequant(t->ffn_norm, err, &rc);
    L->w_gate = dequant(t->w_gate, err, &rc);
    L->w_up = dequant(t->w_up, err, &rc);
    L->w_down = dequant(t->w_down, err, &rc);
    L->q_norm = dequant(t->q_norm, err, &rc);
    L->k_norm = dequant(t->k_norm, err, &rc);
    L->post_attn_norm = dequant(t->post_attn_norm, err, &rc);
    L->post_ffn_norm = dequant(t->post_ffn_norm, err, &rc);
  }
  pv_model_tensors_free(&mt);
  return rc;
}

/* llama3 scaling from the metadata, in frequencies: pair i turns f_i = base^(-2i/d) radians per
 * position, so the original context holds orig * f_i / 2pi turns of it. Over high_freq_factor
 * turns: unchanged; under low_freq_factor: slowed by factor; between: the blend of f_i / factor and
 * f_i with weight s = (turns - low) / (high - low) on f_i. The divisor is f_i / (scaled f_i). */
static int llama3_divisors(pv_ref *r, pv_error *err) {
  const pv_hparams *hp = &r->hp;
  const uint32_t pairs = hp->rope_dim / 2;
  if (!(r->rope_div = malloc(pairs * sizeof(float))))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "reference: out of memory");
  for (uint32_t i = 0; i < pairs; i++) {
    const double f = 1.0 / pow((double)hp->rope_base, (double)(2 * i) / hp->rope_dim);
    const double turns = hp->rope_l3_orig_ctx * f / (2.0 * 3.14159265358979323846);
    double scaled = f;
    if (turns < hp->rope_l3_low) {
      scaled = f / hp->rope_l3_factor;
    } else if (turns <= hp->rope_l3_high) {
      const double s = (turns - hp->rope_l3_low) / (hp->rope_l3_high - hp->rope_l3_low);
      scaled = s * f + (1.0 - s) * f / hp->rope_l3_factor;
    }
    r->rope_div[i] = (float)(f / scaled);
  }
  return PAGEDVK_OK;
}

static int check_divisors(const pv_ref *r, pv_error *err) {
  for (uint32_t i = 0; r->rope_div && i < r->hp.rope_dim / 2; i++)
    if (!(r->rope_div[i] > 0.0f && r->rope_div[i] < INFINITY))
      return pv_fail(err, PAGEDVK_ERR_FORMAT, "reference: rope frequency divisor %u is %g", i, (double)r->rope_div[i]);
  return PAGEDVK_OK;
}

static int alloc_state(pv_ref *r, pv_error *err) {
  const pv_hparams *hp = &r->hp;
  size_t kv = (size_t)hp->n_head_kv * hp->head_dim;
  size_t cache = (size_t)hp->n_layer * r->max_ctx * kv;
  r->k_cache = calloc(cache, sizeof(float));
  r->v_cache = calloc(cache, sizeof(float));
  r->x = calloc(hp->n_embd, sizeof(float));
  r->xn = calloc(hp->n_embd, sizeof(float));
  r->q = calloc((size_t)hp->n_head * hp->head_dim, sizeof(float));
  r->k = calloc(kv, sizeof(float));
  r->v = calloc(kv, sizeof(float));
  r->att = calloc((size_t)hp->n_head * hp->head_dim, sizeof(float));
  r->scores = calloc(r->max_ctx, sizeof(float));
  r->gate = calloc(hp->n_ff, sizeof(float));
  r->up = calloc(hp->n_ff, sizeof(float));
  r->logits = calloc(hp->n_vocab, sizeof(float));
  if (!r->k_cache || !r->v_cache || !r->x || !r->xn || !r->q || !r->k || !r->v || !r->att || !r->scores ||
      !r->gate || !r->up || !r->logits)
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "reference: out of memory for a %u-token cache", r->max_ctx);
  return PAGEDVK_OK;
}

int pv_ref_create(pv_ref **out, const pv_gguf_file *f, uint32_t max_ctx, pv_error *err) {
  *out = NULL;
  pv_ref *r = calloc(1, sizeof *r);
  if (!r) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "reference: out of memory");
  int rc = pv_hparams_load(&r->hp, f, err);
  if (!rc && max_ctx == 0) rc = pv_fail(err, PAGEDVK_ERR_INVALID, "reference: context size must be > 0");
  r->max_ctx = max_ctx;
  r->hp.n_ctx = max_ctx; /* LongRoPE's factor set follows the context, as in llama.cpp */
  if (!rc) rc = load_weights(r, f, err);
  if (!rc && !r->rope_div && r->hp.rope_llama3) rc = llama3_divisors(r, err);
  if (!rc) rc = check_divisors(r, err);
  if (!rc) rc = alloc_state(r, err);
  if (rc) {
    pv_ref_destroy(r);
    return rc;
  }
  *out = r;
  return PAGEDVK_OK;
}

static void free_layer(pv_ref_layer *L) {
  float *all[] = {L->attn_norm, L->wq,       L->wk,          L->wv,          L->bq,     L->bk,
                  L->bv,        L->wo,       L->ffn_norm,    L->w_gate,      L->w_up,   L->w_down,
                  L->q_norm,    L->k_norm,   L->post_attn_norm, L->post_ffn_norm};
  for (size_t i = 0; i < PV_ARRAY_LEN(all); i++) free(all[i]);
}

void pv_ref_destroy(pv_ref *r) {
  if (!r) return;
  if (r->layers)
    for (uint32_t i = 0; i < r->hp.n_layer; i++) free_layer(&r->layers[i]);
  free(r->layers);
  if (r->output != r->tok_embd) free(r->output);
  free(r->tok_embd);
  free(r->output_norm);
  free(r->rope_div);
  float *state[] = {r->k_cache, r->v_cache, r->x, r->xn, r->q, r->k, r->v, r->att, r->scores, r->gate, r->up, r->logits};
  for (size_t i = 0; i < PV_ARRAY_LEN(state); i++) free(state[i]);
  free(r);
}

void pv_ref_reset(pv_ref *r) { r->n_past = 0; }

/* ---- building blocks ---------------------------------------------------------------------- */

void pv_ref_rmsnorm(float *out, const float *x, const float *w, uint32_t n, float eps) {
  double ss = 0.0;
  for (uint32_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
  float scale = (float)(1.0 / sqrt(ss / n + eps));
  for (uint32_t i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
}

/* out[r] = sum_c w[r][c] * x[c]  (w row-major, a row per output), each row summed in column order.
 * Four rows go side by side only so that their four independent sums overlap in the CPU (a single
 * running sum waits on each add); every row's result is the same as one row at a time. */
/* The reference's hot loop: uninstrumented under the sanitizers, its three operands checked whole
 * on entry instead (base.h, PV_HOT_LOOP). */
PV_HOT_LOOP static void matvec_rows(float *out, const float *w, const float *x, uint32_t rows, uint32_t cols) {
  uint32_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float *w0 = w + (size_t)r * cols, *w1 = w0 + cols, *w2 = w1 + cols, *w3 = w2 + cols;
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    for (uint32_t c = 0; c < cols; c++) {
      a0 += w0[c] * x[c];
      a1 += w1[c] * x[c];
      a2 += w2[c] * x[c];
      a3 += w3[c] * x[c];
    }
    out[r] = a0, out[r + 1] = a1, out[r + 2] = a2, out[r + 3] = a3;
  }
  for (; r < rows; r++) {
    const float *row = w + (size_t)r * cols;
    float acc = 0.0f;
    for (uint32_t c = 0; c < cols; c++) acc += row[c] * x[c];
    out[r] = acc;
  }
}

void pv_ref_matvec(float *out, const float *w, const float *x, uint32_t rows, uint32_t cols) {
  pv_check_region(w, (size_t)rows * cols * sizeof *w, "pv_ref_matvec weights");
  pv_check_region(x, (size_t)cols * sizeof *x, "pv_ref_matvec input");
  pv_check_region(out, (size_t)rows * sizeof *out, "pv_ref_matvec output");
  matvec_rows(out, w, x, rows, cols);
}

void pv_ref_rope(float *head, uint32_t head_dim, uint32_t rope_dim, float pos, float base, const float *div,
                 pv_rope_style style) {
  (void)head_dim;
  for (uint32_t i = 0; i < rope_dim / 2; i++) {
    float theta = pos * powf(base, -2.0f * (float)i / (float)rope_dim);
    if (div) theta /= div[i];
    float c = cosf(theta), s = sinf(theta);
    uint32_t a = style == PV_ROPE_NORMAL ? 2 * i : i;
    uint32_t b = style == PV_ROPE_NORMAL ? 2 * i + 1 : i + rope_dim / 2;
    float x0 = head[a], x1 = head[b];
    head[a] = x0 * c - x1 * s;
    head[b] = x0 * s + x1 * c;
  }
}

void pv_ref_q8_round(float *x, uint32_t n) {
  for (uint32_t b = 0; b + 32 <= n; b += 32) {
    float amax = 0.0f;
    for (uint32_t i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[b + i]));
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    const float dh = pv_f16_to_f32(pv_f32_to_f16(d)); /* the scale as stored */
    for (uint32_t i = 0; i < 32; i++) {
      float q = roundf(x[b + i] * id);
      q = q > 127.0f ? 127.0f : q < -127.0f ? -127.0f : q;
      x[b + i] = dh * q;
    }
  }
}

uint32_t pv_ref_argmax(const float *x, uint32_t n) {
  uint32_t best = 0;
  for (uint32_t i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return best;
}

static void add_bias(float *x, const float *b, uint32_t n) {
  if (b)
    for (uint32_t i = 0; i < n; i++) x[i] += b[i];
}

/* The rotated dimensions of a head times RoPE's attn_factor (llama.cpp scales cos and sin by it). */
static void scale_dims(float *head, uint32_t n, float f) {
  if (f != 1.0f)
    for (uint32_t i = 0; i < n; i++) head[i] *= f;
}

/* Each of n heads of size d RMS-normed on its own, times w (one weight per head dimension). */
static void norm_heads(float *x, const float *w, uint32_t n, uint32_t d, float eps) {
  if (w)
    for (uint32_t h = 0; h < n; h++) pv_ref_rmsnorm(x + h * d, x + h * d, w, d, eps);
}

static float silu(float x) { return x / (1.0f + expf(-x)); }

float pv_ref_gelu(float x) {
  const float k = 0.7978845608028654f; /* sqrt(2 / pi) */
  return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

float pv_ref_softcap(float x, float c) { return c * tanhf(x / c); }

/* x += rmsnorm(y) * w (a post norm before the residual add), or x += scale * y without one. */
static void residual_add(float *x, float *y, const float *w, float scale, uint32_t n, float eps) {
  if (w) pv_ref_rmsnorm(y, y, w, n, eps);
  for (uint32_t i = 0; i < n; i++) x[i] += w ? y[i] : scale * y[i];
}

/* ---- the forward pass --------------------------------------------------------------------- */

static void attention(pv_ref *r, uint32_t layer, uint32_t pos) {
  const pv_hparams *hp = &r->hp;
  const uint32_t d = hp->head_dim, kv_dim = hp->n_head_kv * d, group = hp->n_head / hp->n_head_kv;
  const float *kc = r->k_cache + (size_t)layer * r->max_ctx * kv_dim;
  const float *vc = r->v_cache + (size_t)layer * r->max_ctx * kv_dim;
  const float scale = hp->attn_scale > 0.0f ? hp->attn_scale : 1.0f / sqrtf((float)d);
  const uint32_t window = hp->layer[layer].window;
  const uint32_t first = window && pos + 1 > window ? pos + 1 - window : 0; /* the oldest key it sees */
  for (uint32_t h = 0; h < hp->n_head; h++) {
    const float *q = r->q + h * d;
    const uint32_t kvh = h / group;
    float max = -INFINITY;
    for (uint32_t t = first; t <= pos; t++) {
      const float *k = kc + (size_t)t * kv_dim + kvh * d;
      float s = 0.0f;
      for (uint32_t i = 0; i < d; i++) s += q[i] * k[i];
      r->scores[t] = s * scale;
      if (hp->attn_softcap > 0.0f) r->scores[t] = pv_ref_softcap(r->scores[t], hp->attn_softcap);
      if (r->scores[t] > max) max = r->scores[t];
    }
    float sum = 0.0f;
    for (uint32_t t = first; t <= pos; t++) sum += (r->scores[t] = expf(r->scores[t] - max));
    float *out = r->att + h * d;
    memset(out, 0, d * sizeof(float));
    for (uint32_t t = first; t <= pos; t++) {
      const float *v = vc + (size_t)t * kv_dim + kvh * d;
      float p = r->scores[t] / sum;
      for (uint32_t i = 0; i < d; i++) out[i] += p * v[i];
    }
  }
}

static void attention_block(pv_ref *r, uint32_t l, uint32_t pos) {
  const pv_hparams *hp = &r->hp;
  const pv_ref_layer *L = &r->layers[l];
  const uint32_t d = hp->head_dim, q_dim = hp->n_head * d, kv_dim = hp->n_head_kv * d;
  pv_ref_rmsnorm(r->xn, r->x, L->attn_norm, hp->n_embd, hp->rms_eps);
  pv_ref_matvec(r->q, L->wq, r->xn, q_dim, hp->n_embd);
  pv_ref_matvec(r->k, L->wk, r->xn, kv_dim, hp->n_embd);
  pv_ref_matvec(r->v, L->wv, r->xn, kv_dim, hp->n_embd);
  add_bias(r->q, L->bq, q_dim);
  add_bias(r->k, L->bk, kv_dim);
  add_bias(r->v, L->bv, kv_dim);
  norm_heads(r->q, L->q_norm, hp->n_head, d, hp->rms_eps);
  norm_heads(r->k, L->k_norm, hp->n_head_kv, d, hp->rms_eps);
  const float p = (float)pos * hp->layer[l].rope_pos_scale, base = hp->layer[l].rope_base;
  const uint32_t rope_dim = hp->layer[l].no_rope ? 0 : hp->rope_dim; /* NoPE layers: q, k unrotated */
  for (uint32_t h = 0; h < hp->n_head; h++) {
    pv_ref_rope(r->q + h * d, d, rope_dim, p, base, r->rope_div, hp->rope_style);
    scale_dims(r->q + h * d, rope_dim, hp->rope_attn_factor);
  }
  for (uint32_t h = 0; h < hp->n_head_kv; h++) {
    pv_ref_rope(r->k + h * d, d, rope_dim, p, base, r->rope_div, hp->rope_style);
    scale_dims(r->k + h * d, rope_dim, hp->rope_attn_factor);
  }
  size_t at = ((size_t)l * r->max_ctx + pos) * kv_dim;
  if (r->kv_q8) { /* the values a q8_0 pool holds: each head row in blocks of 32 */
    pv_ref_q8_round(r->k, kv_dim);
    pv_ref_q8_round(r->v, kv_dim);
  } else if (r->kv_f16) {
    for (uint32_t i = 0; i < kv_dim; i++) {
      r->k[i] = pv_f16_to_f32(pv_f32_to_f16(r->k[i]));
      r->v[i] = pv_f16_to_f32(pv_f32_to_f16(r->v[i]));
    }
  }
  memcpy(r->k_cache + at, r->k, kv_dim * sizeof(float));
  memcpy(r->v_cache + at, r->v, kv_dim * sizeof(float));
  attention(r, l, pos);
  pv_ref_matvec(r->xn, L->wo, r->att, hp->n_embd, q_dim);
  residual_add(r->x, r->xn, L->post_attn_norm, hp->residual_scale, hp->n_embd, hp->rms_eps);
}

static void ffn_block(pv_ref *r, uint32_t l) {
  const pv_hparams *hp = &r->hp;
  const pv_ref_layer *L = &r->layers[l];
  pv_ref_rmsnorm(r->xn, r->x, L->ffn_norm, hp->n_embd, hp->rms_eps);
  pv_ref_matvec(r->gate, L->w_gate, r->xn, hp->n_ff, hp->n_embd);
  pv_ref_matvec(r->up, L->w_up, r->xn, hp->n_ff, hp->n_embd);
  for (uint32_t i = 0; i < hp->n_ff; i++) r->gate[i] = (hp->ffn_gelu ? pv_ref_gelu(r->gate[i]) : silu(r->gate[i])) * r->up[i];
  pv_ref_matvec(r->xn, L->w_down, r->gate, hp->n_embd, hp->n_ff);
  residual_add(r->x, r->xn, L->post_ffn_norm, hp->residual_scale, hp->n_embd, hp->rms_eps);
}

int pv_ref_step(pv_ref *r, int32_t token, const float **logits, pv_error *err) {
  const pv_hparams *hp = &r->hp;
  if (token < 0 || (uint32_t)token >= hp->n_vocab)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "reference: token id %d outside the vocabulary (%u)", token, hp->n_vocab);
  if (r->n_past >= r->max_ctx)
    return pv_fail(err, PAGEDVK_ERR_TOO_LONG, "reference: context of %u tokens is full", r->max_ctx);
  for (uint32_t i = 0; i < hp->n_embd; i++) r->x[i] = r->tok_embd[(size_t)token * hp->n_embd + i] * hp->embd_scale;
  for (uint32_t l = 0; l < hp->n_layer; l++) {
    attention_block(r, l, r->n_past);
    ffn_block(r, l);
  }
  r->n_past++;
  if (!logits) return PAGEDVK_OK;
  pv_ref_rmsnorm(r->xn, r->x, r->output_norm, hp->n_embd, hp->rms_eps);
  pv_ref_matvec(r->logits, r->output, r->xn, hp->n_vocab, hp->n_embd);
  if (hp->logit_scale != 1.0f)
    for (uint32_t i = 0; i < hp->n_vocab; i++) r->logits[i] /= hp->logit_scale;
  if (hp->final_softcap > 0.0f)
    for (uint32_t v = 0; v < hp->n_vocab; v++) r->logits[v] = pv_ref_softcap(r->logits[v], hp->final_softcap);
  *logits = r->logits;
  return PAGEDVK_OK;
}

int pv_ref_generate_greedy(pv_ref *r, const int32_t *prompt, uint32_t n_prompt, uint32_t n_gen, int32_t *out,
                           pv_error *err) {
  return pv_ref_greedy_margins(r, prompt, n_prompt, n_gen, out, NULL, err);
}

/* Top-1 minus top-2 logit. */
static float top2_margin(const float *logits, uint32_t n, uint32_t best) {
  float second = -INFINITY;
  for (uint32_t v = 0; v < n; v++)
    if (v != best && logits[v] > second) second = logits[v];
  return logits[best] - second;
}

int pv_ref_greedy_margins(pv_ref *r, const int32_t *prompt, uint32_t n_prompt, uint32_t n_gen, int32_t *out,
                          float *margin, pv_error *err) {
  const float *logits = NULL;
  if (n_prompt == 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "reference: empty prompt");
  pv_ref_reset(r);
  for (uint32_t i = 0; i < n_prompt; i++) {
    int rc = pv_ref_step(r, prompt[i], i + 1 == n_prompt ? &logits : NULL, err);
    if (rc) return rc;
  }
  for (uint32_t i = 0; i < n_gen; i++) {
    uint32_t best = pv_ref_argmax(logits, r->hp.n_vocab);
    out[i] = (int32_t)best;
    if (margin) margin[i] = top2_margin(logits, r->hp.n_vocab, best);
    if (i + 1 < n_gen) {
      int rc = pv_ref_step(r, out[i], &logits, err);
      if (rc) return rc;
    }
  }
  return PAGEDVK_OK;
}
