/*
 * arch.c — hyper-parameters and tensor binding for the supported architectures.
 * Key names follow GGUF's convention "<arch>.<field>" (e.g. "llama.embedding_length").
 *
 * ARCHES is the one list of architectures: a name, the RoPE pairing and the mechanisms (ARCH_*
 * flags) the architecture uses. pv_hparams_load copies them into pv_hparams and reads the
 * metadata they need; bind_layer binds the tensors they need. Adding an architecture whose
 * mechanisms all exist is one line here.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/quant.h"
#include "model/arch.h"

/* Mechanisms an architecture uses (pv_hparams says what each does). */
enum {
  ARCH_QKV_BIAS = 1u << 0, /* attn_q/k/v.bias */
  ARCH_QK_NORM = 1u << 1,  /* attn_q_norm, attn_k_norm */
  ARCH_SCALES = 1u << 6,   /* embedding_scale, residual_scale, attention.scale, logit_scale (granite) */
  ARCH_GEMMA = 1u << 2,      /* embedding * sqrt(n_embd), GELU gate, post-attention and post-FFN norms */
  ARCH_SWA_ALT = 1u << 3,    /* gemma2: every second layer local (from layer 0), window default 4096 */
  ARCH_SWA_PATTERN = 1u << 4, /* gemma3: sliding_window_pattern N (default 6): N-1 local, one global;
                              * local layers: RoPE base rope.freq_base_swa (default 10000), unscaled */
  ARCH_SOFTCAP = 1u << 5,    /* gemma2: attention and final logit soft-capping (defaults 50 and 30) */
  ARCH_FUSED_QKV = 1u << 7,  /* attn_qkv when the file has it (else attn_q/k/v) */
  ARCH_FUSED_UP = 1u << 8,   /* ffn_up holds gate then up; no ffn_gate */
  ARCH_LONGROPE = 1u << 9,   /* rope_factors_short/long.weight when the file has them */
};

typedef struct arch_desc {
  const char *name;
  pv_arch arch;
  pv_rope_style rope;
  uint32_t mech;        /* ARCH_* */
  uint32_t nope_period; /* > 0: layers il with (il + 1) % nope_period == 0 have no RoPE (fixed in
                         * llama.cpp's code for the architecture, no metadata key) */
} arch_desc;

static const arch_desc ARCHES[] = {
    {"llama", PV_ARCH_LLAMA, PV_ROPE_NORMAL, 0, 0},
    {"qwen2", PV_ARCH_QWEN2, PV_ROPE_NEOX, ARCH_QKV_BIAS, 0},
    {"qwen3", PV_ARCH_QWEN3, PV_ROPE_NEOX, ARCH_QK_NORM, 0},
    {"smollm3", PV_ARCH_SMOLLM3, PV_ROPE_NORMAL, 0, 4},
    {"granite", PV_ARCH_GRANITE, PV_ROPE_NORMAL, ARCH_SCALES, 0},
    {"phi3", PV_ARCH_PHI3, PV_ROPE_NEOX, ARCH_FUSED_QKV | ARCH_FUSED_UP | ARCH_LONGROPE, 0},
    {"gemma2", PV_ARCH_GEMMA2, PV_ROPE_NEOX, ARCH_GEMMA | ARCH_SWA_ALT | ARCH_SOFTCAP, 0},
    {"gemma3", PV_ARCH_GEMMA3, PV_ROPE_NEOX, ARCH_GEMMA | ARCH_QK_NORM | ARCH_SWA_PATTERN, 0},
};


/* "llama, qwen2, ..." for the refusal of an unknown architecture. */
static void arch_names(char *buf, size_t cap) {
  size_t used = 0;
  buf[0] = 0;
  for (size_t i = 0; i < PV_ARRAY_LEN(ARCHES); i++) {
    int w = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", ARCHES[i].name);
    if (w < 0 || used + (size_t)w >= cap) return;
    used += (size_t)w;
  }
}

static bool get_arch_u32(const pv_gguf_file *f, const char *arch, const char *field, uint32_t *out) {
  char key[128];
  uint64_t v;
  snprintf(key, sizeof key, "%s.%s", arch, field);
  if (!pv_gguf_get_u64(f, key, &v) || v > UINT32_MAX) return false;
  *out = (uint32_t)v;
  return true;
}

static bool get_arch_f32(const pv_gguf_file *f, const char *arch, const char *field, float *out) {
  char key[128];
  double v;
  snprintf(key, sizeof key, "%s.%s", arch, field);
  if (!pv_gguf_get_f64(f, key, &v)) return false;
  *out = (float)v;
  return true;
}

/* Floating-point metadata that is read: each must be finite, and some at least 0 (0 or absent: the
 * default) and below a bound, as a norm's epsilon under 1. A file breaking this is refused with the
 * key's name, before a NaN or an infinity reaches a kernel. */
static const struct {
  const char *field;
  bool non_negative;
  double below; /* 0: no upper bound */
} FLOAT_KEYS[] = {
    {"rope.freq_base", true, 0},
    {"rope.freq_base_swa", true, 0},
    {"attention.layer_norm_rms_epsilon", true, 1.0},
    {"rope.scaling.factor", true, 0},
    {"rope.scale_linear", true, 0},
    {"rope.scaling.attn_factor", true, 0},
    {"rope.scaling.low_freq_factor", true, 0},
    {"rope.scaling.high_freq_factor", true, 0},
    {"embedding_scale", false, 0},
    {"residual_scale", false, 0},
    {"attention.scale", false, 0},
    {"logit_scale", false, 0},
    {"attn_logit_softcapping", true, 0},
    {"final_logit_softcapping", true, 0},
};

static int check_float_keys(const pv_gguf_file *f, const char *a, pv_error *err) {
  for (size_t i = 0; i < PV_ARRAY_LEN(FLOAT_KEYS); i++) {
    char key[128];
    double v;
    snprintf(key, sizeof key, "%s.%s", a, FLOAT_KEYS[i].field);
    if (!pv_gguf_get_f64(f, key, &v)) continue;
    if (!isfinite(v) || fabs(v) > FLT_MAX)
      return pv_fail(err, PAGEDVK_ERR_FORMAT, "model: metadata %s is %g, not a finite number", key, v);
    if (FLOAT_KEYS[i].non_negative && v < 0)
      return pv_fail(err, PAGEDVK_ERR_FORMAT, "model: metadata %s is %g; it must be > 0 (or 0 for the default)", key, v);
    if (FLOAT_KEYS[i].below > 0 && v >= FLOAT_KEYS[i].below)
      return pv_fail(err, PAGEDVK_ERR_FORMAT, "model: metadata %s is %g; it must be below %g", key, v,
                     FLOAT_KEYS[i].below);
  }
  return PAGEDVK_OK;
}

static int require_u32(const pv_gguf_file *f, const char *arch, const char *field, uint32_t *out, pv_error *err) {
  if (get_arch_u32(f, arch, field, out) && *out > 0) return PAGEDVK_OK;
  return pv_fail(err, PAGEDVK_ERR_FORMAT, "model: missing or invalid metadata %s.%s", arch, field);
}

static const arch_desc *find_arch(pv_gguf_str name) {
  for (size_t i = 0; i < PV_ARRAY_LEN(ARCHES); i++)
    if (pv_gguf_str_eq(name, ARCHES[i].name)) return &ARCHES[i];
  return NULL;
}

/* llama3 scaling (Meta's Llama 3.1 rule): pairs whose wavelength is under
 * original_context_length / high_freq_factor keep their frequency, those over
 * original_context_length / low_freq_factor are divided by factor, the band between blends. */
static int read_llama3_scaling(const pv_gguf_file *f, const char *a, pv_hparams *hp, pv_error *err) {
  hp->rope_llama3 = true;
  if (!get_arch_f32(f, a, "rope.scaling.factor", &hp->rope_l3_factor)) hp->rope_l3_factor = 8.0f;
  if (!get_arch_f32(f, a, "rope.scaling.low_freq_factor", &hp->rope_l3_low)) hp->rope_l3_low = 1.0f;
  if (!get_arch_f32(f, a, "rope.scaling.high_freq_factor", &hp->rope_l3_high)) hp->rope_l3_high = 4.0f;
  if (!get_arch_u32(f, a, "rope.scaling.original_context_length", &hp->rope_l3_orig_ctx)) hp->rope_l3_orig_ctx = 8192;
  if (!(hp->rope_l3_factor > 0.0f) || !(hp->rope_l3_low > 0.0f) || !(hp->rope_l3_high > hp->rope_l3_low) ||
      hp->rope_l3_orig_ctx == 0)
    return pv_fail(err, PAGEDVK_ERR_FORMAT,
                   "model: llama3 rope scaling needs factor > 0 and 0 < low_freq_factor < high_freq_factor and an "
                   "original context length (file: factor %g, low %g, high %g, original context %u)",
                   (double)hp->rope_l3_factor, (double)hp->rope_l3_low, (double)hp->rope_l3_high,
                   hp->rope_l3_orig_ctx);
  return PAGEDVK_OK;
}

static int read_rope_scaling(const pv_gguf_file *f, const char *a, pv_hparams *hp, pv_error *err) {
  char key[128];
  pv_gguf_str type = {0};
  float factor = 0.0f;
  hp->rope_pos_scale = 1.0f;
  snprintf(key, sizeof key, "%s.rope.scaling.type", a);
  bool has_type = pv_gguf_get_str(f, key, &type);
  if (has_type && pv_gguf_str_eq(type, "llama3")) return read_llama3_scaling(f, a, hp, err);
  if ((has_type && pv_gguf_str_eq(type, "linear")) || !has_type) {
    if (get_arch_f32(f, a, "rope.scaling.factor", &factor) && factor > 0.0f && (has_type || factor != 1.0f))
      hp->rope_pos_scale = 1.0f / factor;
    else if (get_arch_f32(f, a, "rope.scale_linear", &factor) && factor > 0.0f)
      hp->rope_pos_scale = 1.0f / factor;
  }
  if (has_type && !pv_gguf_str_eq(type, "linear") && !pv_gguf_str_eq(type, "none")) {
    pv_gguf_str name = {0};
    char name_esc[160], type_esc[96];
    if (!pv_gguf_get_str(f, "general.name", &name)) name = (pv_gguf_str){a, strlen(a)};
    pv_log(PV_LOG_WARN,
           "model '%s': rope scaling type '%s' is not supported (supported: none, linear, llama3); RoPE runs "
           "unscaled, so outputs differ from the original model's",
           pv_escape(name.ptr, name.len, name_esc, sizeof name_esc), pv_escape(type.ptr, type.len, type_esc, sizeof type_esc));
  }
  return PAGEDVK_OK;
}

/* The head size: key_length when given (value_length must agree), else embedding / heads. */
static int read_head_dim(const pv_gguf_file *f, const char *a, pv_hparams *hp, pv_error *err) {
  uint32_t kl = 0, vl = 0;
  const bool has_k = get_arch_u32(f, a, "attention.key_length", &kl) && kl > 0;
  const bool has_v = get_arch_u32(f, a, "attention.value_length", &vl) && vl > 0;
  if (has_k && has_v && kl != vl)
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED,
                   "model: attention.key_length %u != attention.value_length %u: different key and value head sizes "
                   "are not supported",
                   kl, vl);
  if (has_k || has_v) {
    hp->head_dim = has_k ? kl : vl;
    if (hp->head_dim % 2)
      return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "model: head size %u (attention.key_length) is odd", hp->head_dim);
    return PAGEDVK_OK;
  }
  if (hp->n_embd % hp->n_head)
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "model: embedding %u is not a multiple of the %u heads", hp->n_embd,
                   hp->n_head);
  hp->head_dim = hp->n_embd / hp->n_head;
  return PAGEDVK_OK;
}

/* Granite's scalars; a key that is absent (or 0, as llama.cpp reads it) leaves the neutral value. */
static int read_scales(const pv_gguf_file *f, const char *a, pv_hparams *hp, pv_error *err) {
  float v;
  if (get_arch_f32(f, a, "embedding_scale", &v) && v != 0.0f) hp->embd_scale = v;
  if (get_arch_f32(f, a, "residual_scale", &v) && v != 0.0f) hp->residual_scale = v;
  if (get_arch_f32(f, a, "attention.scale", &v) && v != 0.0f) hp->attn_scale = v;
  if (get_arch_f32(f, a, "logit_scale", &v) && v != 0.0f) hp->logit_scale = v;
  if (!isfinite(hp->embd_scale) || !isfinite(hp->residual_scale) || !isfinite(hp->attn_scale) ||
      !isfinite(hp->logit_scale))
    return pv_fail(err, PAGEDVK_ERR_FORMAT,
                   "model: a scale of %s (embedding, residual, attention, logit) is not finite", a);
  return PAGEDVK_OK;
}

/* Layer l is local: gemma2 every second layer from 0; gemma3 by the pattern (llama.cpp: pattern N
 * makes layer l local when l % N < N - 1, N = 0 every layer, N = 1 none). A pattern given as an
 * array holds one flag per layer. */
static int read_windows(const pv_gguf_file *f, const char *a, uint32_t mech, pv_hparams *hp, pv_error *err) {
  uint32_t w = 0, period = mech & ARCH_SWA_ALT ? 2 : 6;
  if (!get_arch_u32(f, a, "attention.sliding_window", &w)) w = mech & ARCH_SWA_ALT ? 4096 : 0;
  if (w == 0) return PAGEDVK_OK; /* llama.cpp: gemma3 without a window has no local layers */
  char key[128];
  snprintf(key, sizeof key, "%s.attention.sliding_window_pattern", a);
  const pv_gguf_array *arr = mech & ARCH_SWA_PATTERN ? pv_gguf_get_arr(f, key) : NULL;
  if (arr && arr->n != hp->n_layer)
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "model: %s has %llu entries for %u layers", key,
                   (unsigned long long)arr->n, hp->n_layer);
  if (!arr && mech & ARCH_SWA_PATTERN) get_arch_u32(f, a, "attention.sliding_window_pattern", &period);
  for (uint32_t l = 0; l < hp->n_layer; l++) {
    uint64_t flag = 0;
    const bool local = arr ? pv_gguf_arr_u64(arr, l, &flag) && flag != 0 : period == 0 || l % period < period - 1;
    hp->layer[l].window = local ? w : 0;
  }
  return PAGEDVK_OK;
}

/* The gemma mechanisms (ARCH_GEMMA, the window kinds, soft-capping); nothing for other architectures. */
static int read_gemma(const pv_gguf_file *f, const char *a, uint32_t mech, pv_hparams *hp, pv_error *err) {
  if (!(mech & ARCH_GEMMA)) return PAGEDVK_OK;
  hp->embd_scale = sqrtf((float)hp->n_embd);
  hp->post_norms = hp->ffn_gelu = true;
  /* llama.cpp: the 27B models scale q.k by 1/sqrt(n_embd / n_head) (gemma2 46 layers, gemma3 62) */
  const uint32_t big = hp->arch == PV_ARCH_GEMMA2 ? 46 : 62;
  if (hp->n_layer == big) hp->attn_scale = 1.0f / sqrtf((float)(hp->n_embd / hp->n_head));
  if (mech & ARCH_SOFTCAP) {
    if (!get_arch_f32(f, a, "attn_logit_softcapping", &hp->attn_softcap)) hp->attn_softcap = 50.0f;
    if (!get_arch_f32(f, a, "final_logit_softcapping", &hp->final_softcap)) hp->final_softcap = 30.0f;
    if (hp->attn_softcap < 0.0f || hp->final_softcap < 0.0f)
      return pv_fail(err, PAGEDVK_ERR_FORMAT, "model: negative soft-cap (attention %g, final %g)",
                     (double)hp->attn_softcap, (double)hp->final_softcap);
  }
  if (mech & ARCH_SWA_PATTERN) {
    float base_swa = 10000.0f;
    if (!get_arch_f32(f, a, "rope.freq_base_swa", &base_swa) || !(base_swa > 0.0f)) base_swa = 10000.0f;
    int rc = read_windows(f, a, mech, hp, err);
    for (uint32_t l = 0; !rc && l < hp->n_layer; l++)
      if (hp->layer[l].window) hp->layer[l].rope_base = base_swa, hp->layer[l].rope_pos_scale = 1.0f;
    return rc;
  }
  return mech & ARCH_SWA_ALT ? read_windows(f, a, mech, hp, err) : PAGEDVK_OK;
}

int pv_hparams_load(pv_hparams *hp, const pv_gguf_file *f, pv_error *err) {
  memset(hp, 0, sizeof *hp);
  pv_gguf_str name;
  if (!pv_gguf_get_str(f, "general.architecture", &name))
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "model: metadata general.architecture is missing");
  const arch_desc *d = find_arch(name);
  if (!d) {
    char names[256], esc[96];
    arch_names(names, sizeof names);
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "model: architecture '%s' is not supported (supported: %s)",
                   pv_escape(name.ptr, name.len, esc, sizeof esc), names);
  }
  const char *a = d->name;
  hp->arch = d->arch;
  hp->arch_name = d->name;
  hp->rope_style = d->rope;
  hp->qkv_bias = d->mech & ARCH_QKV_BIAS;
  hp->qk_norm = d->mech & ARCH_QK_NORM;
  int rc = check_float_keys(f, a, err);
  if (rc) return rc;
  if ((rc = require_u32(f, a, "embedding_length", &hp->n_embd, err)) ||
      (rc = require_u32(f, a, "block_count", &hp->n_layer, err)) ||
      (rc = require_u32(f, a, "attention.head_count", &hp->n_head, err)) ||
      (rc = require_u32(f, a, "feed_forward_length", &hp->n_ff, err)))
    return rc;
  if (!get_arch_u32(f, a, "attention.head_count_kv", &hp->n_head_kv) || hp->n_head_kv == 0) hp->n_head_kv = hp->n_head;
  if (!get_arch_u32(f, a, "context_length", &hp->n_ctx_train) || hp->n_ctx_train == 0) hp->n_ctx_train = 2048;
  if (hp->n_layer > PV_MAX_LAYERS)
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "model: %u layers, more than the %u supported", hp->n_layer,
                   PV_MAX_LAYERS);
  if (hp->n_head % hp->n_head_kv)
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "model: heads %u, kv heads %u do not divide", hp->n_head, hp->n_head_kv);
  if ((rc = read_head_dim(f, a, hp, err))) return rc;
  if (!get_arch_u32(f, a, "rope.dimension_count", &hp->rope_dim) || hp->rope_dim == 0) hp->rope_dim = hp->head_dim;
  if (hp->rope_dim > hp->head_dim || hp->rope_dim % 2)
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "model: rope.dimension_count %u invalid for head size %u", hp->rope_dim,
                   hp->head_dim);
  if (!get_arch_f32(f, a, "rope.freq_base", &hp->rope_base) || hp->rope_base <= 0.0f) hp->rope_base = 10000.0f;
  if (!get_arch_f32(f, a, "attention.layer_norm_rms_epsilon", &hp->rms_eps) || hp->rms_eps <= 0.0f) hp->rms_eps = 1e-5f;
  if ((rc = read_rope_scaling(f, a, hp, err))) return rc;
  hp->embd_scale = hp->residual_scale = hp->logit_scale = 1.0f;
  hp->attn_scale = 1.0f / sqrtf((float)hp->head_dim);
  if ((d->mech & ARCH_SCALES) && (rc = read_scales(f, a, hp, err))) return rc;
  for (uint32_t l = 0; l < hp->n_layer; l++) {
    hp->layer[l].rope_base = hp->rope_base;
    hp->layer[l].rope_pos_scale = hp->rope_pos_scale;
    hp->layer[l].no_rope = d->nope_period && (l + 1) % d->nope_period == 0;
  }
  if ((rc = read_gemma(f, a, d->mech, hp, err))) return rc;
  const pv_gguf_tensor *embd = pv_gguf_find_tensor(f, "token_embd.weight");
  const pv_gguf_array *tokens = pv_gguf_get_arr(f, "tokenizer.ggml.tokens");
  if (embd && embd->ne[1] <= UINT32_MAX) hp->n_vocab = (uint32_t)embd->ne[1];
  else if (tokens && tokens->n <= UINT32_MAX) hp->n_vocab = (uint32_t)tokens->n;
  hp->tied_embeddings = pv_gguf_find_tensor(f, "output.weight") == NULL;
  hp->n_ctx = hp->n_ctx_train;
  if (!get_arch_f32(f, a, "rope.scaling.attn_factor", &hp->rope_attn_factor) || !(hp->rope_attn_factor > 0.0f) ||
      !isfinite(hp->rope_attn_factor))
    hp->rope_attn_factor = 1.0f;
  hp->fused_qkv = (d->mech & ARCH_FUSED_QKV) && pv_gguf_find_tensor(f, "blk.0.attn_qkv.weight");
  hp->fused_gate_up = d->mech & ARCH_FUSED_UP;
  if ((d->mech & ARCH_LONGROPE) && pv_gguf_find_tensor(f, "rope_factors_short.weight")) {
    hp->rope_longrope = true;
    if (!get_arch_u32(f, a, "rope.scaling.original_context_length", &hp->rope_orig_ctx) || !hp->rope_orig_ctx)
      hp->rope_orig_ctx = hp->n_ctx_train;
  }
  hp->rope_freqs_tensor = pv_gguf_find_tensor(f, "rope_freqs.weight") != NULL;
  return PAGEDVK_OK;
}

/* Appends "<title>: l0, l1, ..." (after "; " when buf holds something) for the layers where
 * pick(layer) holds; nothing when none does. */
static void describe_layers(const pv_hparams *hp, bool (*pick)(const pv_layer_hparams *), const char *title,
                            char *buf, size_t cap, size_t *used) {
  bool any = false;
  for (uint32_t l = 0; l < hp->n_layer; l++) {
    if (!pick(&hp->layer[l])) continue;
    const size_t at = *used < cap ? *used : cap;
    int w = any ? snprintf(buf + at, cap - at, ", %u", l)
                : snprintf(buf + at, cap - at, "%s%s: %u", *used ? "; " : "", title, l);
    if (w > 0) *used += (size_t)w;
    any = true;
  }
}

static bool layer_no_rope(const pv_layer_hparams *L) { return L->no_rope; }

/* "<title> <value>: l0, l1, ..." for each value of a per-layer number other than `global` (the
 * value of a layer without the mechanism), layers grouped by value in the order they first appear. */
static void describe_values(const pv_hparams *hp, double (*get)(const pv_layer_hparams *), double global,
                            const char *title, char *buf, size_t cap, size_t *used) {
  for (uint32_t first = 0; first < hp->n_layer; first++) {
    const double v = get(&hp->layer[first]);
    bool seen = v == global;
    for (uint32_t e = 0; e < first && !seen; e++) seen = get(&hp->layer[e]) == v;
    if (seen) continue;
    for (uint32_t l = first; l < hp->n_layer; l++) {
      if (get(&hp->layer[l]) != v) continue;
      const size_t at = *used < cap ? *used : cap;
      int w = l != first ? snprintf(buf + at, cap - at, ", %u", l)
                         : snprintf(buf + at, cap - at, "%s%s %g: %u", *used ? "; " : "", title, v, l);
      if (w > 0) *used += (size_t)w;
    }
  }
}

static double layer_window(const pv_layer_hparams *L) { return L->window; }
static double layer_rope_base(const pv_layer_hparams *L) { return L->rope_base; }

size_t pv_hparams_layers_describe(const pv_hparams *hp, char *buf, size_t cap) {
  size_t used = 0;
  if (cap) buf[0] = 0;
  describe_layers(hp, layer_no_rope, "no RoPE (NoPE)", buf, cap, &used);
  describe_values(hp, layer_window, 0.0, "sliding window", buf, cap, &used);
  describe_values(hp, layer_rope_base, hp->rope_base, "RoPE base", buf, cap, &used);
  return used < cap ? used : (cap ? cap - 1 : 0);
}

/* Metadata that changes what a model computes and that no code here applies, with the value that
 * means "off" and the mechanisms (ARCH_*) under which an architecture applies it. The keys read and
 * applied are those of pv_hparams_load (and read_rope_scaling); rope scaling beyond them is reported
 * there. */
static const struct {
  const char *field;
  double neutral;
  uint32_t applied_by; /* the architectures with this mechanism (ARCH_*) apply the key */
} UNAPPLIED[] = {
    {"attention.sliding_window", 0.0, ARCH_SWA_ALT | ARCH_SWA_PATTERN},
    {"attention.clamp_kqv", 0.0, 0},
    {"attention.max_alibi_bias", 0.0, 0},
    {"attention.scale", 0.0, ARCH_SCALES},
    {"attn_logit_softcapping", 0.0, ARCH_SOFTCAP},
    {"final_logit_softcapping", 0.0, ARCH_SOFTCAP},
    {"logit_scale", 1.0, ARCH_SCALES},
    {"embedding_scale", 1.0, ARCH_SCALES},
    {"residual_scale", 1.0, ARCH_SCALES},
    {"expert_count", 0.0, 0},
};

static bool get_arch_number(const pv_gguf_file *f, const char *key, double *out) {
  uint64_t u;
  if (pv_gguf_get_f64(f, key, out)) return true;
  if (!pv_gguf_get_u64(f, key, &u)) return false;
  *out = (double)u;
  return true;
}

size_t pv_hparams_unapplied(const pv_gguf_file *f, char *buf, size_t cap) {
  pv_gguf_str name;
  size_t n = 0, used = 0;
  if (cap) buf[0] = 0;
  if (!pv_gguf_get_str(f, "general.architecture", &name)) return 0;
  const arch_desc *d = find_arch(name);
  for (size_t i = 0; d && i < PV_ARRAY_LEN(UNAPPLIED); i++) {
    char key[128];
    double v;
    if (d->mech & UNAPPLIED[i].applied_by) continue;
    snprintf(key, sizeof key, "%s.%s", d->name, UNAPPLIED[i].field);
    if ((d->mech & UNAPPLIED[i].applied_by) || !get_arch_number(f, key, &v) || v == UNAPPLIED[i].neutral) continue;
    int w = snprintf(buf + used, used < cap ? cap - used : 0, "%s%s = %g", n ? ", " : "", key, v);
    if (w > 0 && used + (size_t)w < cap) used += (size_t)w;
    n++;
  }
  return n;
}

/* Finds a tensor and checks its 2-D (or 1-D when ne1 == 0) shape and that its type is supported. */
static int bind(const pv_gguf_tensor **out, const pv_gguf_file *f, const char *name, uint64_t ne0, uint64_t ne1,
                bool optional, pv_error *err) {
  const pv_gguf_tensor *t = pv_gguf_find_tensor(f, name);
  *out = t;
  if (!t) return optional ? PAGEDVK_OK : pv_fail(err, PAGEDVK_ERR_FORMAT, "model: tensor '%s' is missing", name);
  uint64_t want1 = ne1 ? ne1 : 1;
  if (t->ne[0] != ne0 || t->ne[1] != want1 || t->ne[2] != 1 || t->ne[3] != 1)
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "model: tensor '%s' has shape [%llu, %llu], expected [%llu, %llu]", name,
                   (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], (unsigned long long)ne0,
                   (unsigned long long)want1);
  const pv_dtype_info *info = pv_dtype_get(t->type);
  if (!info || !info->supported)
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "model: tensor '%s' has type %s, which is not supported", name,
                   info ? info->name : "unknown");
  return PAGEDVK_OK;
}

/* A record of rows [row0, row0 + rows) of matrix t: its data points into t's (a whole number of
 * rows, so of blocks), nothing copied. */
static const pv_gguf_tensor *slice_rows(pv_gguf_tensor *out, const pv_gguf_tensor *t, uint64_t row0, uint64_t rows) {
  const uint64_t rb = t->nbytes / t->ne[1];
  *out = *t;
  out->ne[1] = rows;
  out->offset += row0 * rb;
  out->data += row0 * rb;
  out->nbytes = rows * rb;
  return out;
}

/* q, k, v: attn_qkv's row slices when the architecture fuses them and the file has it. */
static int bind_qkv(pv_layer_tensors *L, const pv_gguf_file *f, const pv_hparams *hp, uint32_t i, pv_error *err) {
  char n[96];
  const uint64_t e = hp->n_embd, q = (uint64_t)hp->n_head * hp->head_dim, kv = (uint64_t)hp->n_head_kv * hp->head_dim;
  const pv_gguf_tensor *qkv = NULL;
  snprintf(n, sizeof n, "blk.%u.attn_qkv.weight", i);
  if (hp->fused_qkv) {
    int rc = bind(&qkv, f, n, e, q + 2 * kv, false, err);
    if (rc) return rc;
    L->wq = slice_rows(&L->slice_q, qkv, 0, q);
    L->wk = slice_rows(&L->slice_k, qkv, q, kv);
    L->wv = slice_rows(&L->slice_v, qkv, q + kv, kv);
    return PAGEDVK_OK;
  }
  const char *names[] = {"attn_q.weight", "attn_k.weight", "attn_v.weight"};
  const pv_gguf_tensor **fields[] = {&L->wq, &L->wk, &L->wv};
  const uint64_t rows[] = {q, kv, kv};
  for (int j = 0; j < 3; j++) {
    snprintf(n, sizeof n, "blk.%u.%s", i, names[j]);
    int rc = bind(fields[j], f, n, e, rows[j], false, err);
    if (rc) return rc;
  }
  return PAGEDVK_OK;
}

/* gate and up: ffn_up's two halves where the architecture fuses them, else ffn_gate and ffn_up. */
static int bind_gate_up(pv_layer_tensors *L, const pv_gguf_file *f, const pv_hparams *hp, uint32_t i,
                        pv_error *err) {
  char n[96];
  const uint64_t e = hp->n_embd, ff = hp->n_ff;
  int rc;
  snprintf(n, sizeof n, "blk.%u.ffn_up.weight", i);
  if (hp->fused_gate_up) {
    const pv_gguf_tensor *up = NULL;
    if ((rc = bind(&up, f, n, e, 2 * ff, false, err))) return rc;
    L->w_gate = slice_rows(&L->slice_gate, up, 0, ff);
    L->w_up = slice_rows(&L->slice_up, up, ff, ff);
    return PAGEDVK_OK;
  }
  if ((rc = bind(&L->w_up, f, n, e, ff, false, err))) return rc;
  snprintf(n, sizeof n, "blk.%u.ffn_gate.weight", i);
  return bind(&L->w_gate, f, n, e, ff, false, err);
}

static int bind_layer(pv_layer_tensors *L, const pv_gguf_file *f, const pv_hparams *hp, uint32_t i, pv_error *err) {
  char n[96];
  const uint64_t e = hp->n_embd, q = (uint64_t)hp->n_head * hp->head_dim, kv = (uint64_t)hp->n_head_kv * hp->head_dim;
  int rc;
#define B(field, suffix, ne0, ne1, opt)                                  \
  snprintf(n, sizeof n, "blk.%u.%s", i, suffix);                         \
  if ((rc = bind(&L->field, f, n, ne0, ne1, opt, err)) != PAGEDVK_OK) return rc;
  B(attn_norm, "attn_norm.weight", e, 0, false)
  if ((rc = bind_qkv(L, f, hp, i, err))) return rc;
  B(bq, "attn_q.bias", q, 0, !hp->qkv_bias)
  B(bk, "attn_k.bias", kv, 0, !hp->qkv_bias)
  B(bv, "attn_v.bias", kv, 0, !hp->qkv_bias)
  B(wo, "attn_output.weight", q, e, false)
  B(ffn_norm, "ffn_norm.weight", e, 0, false)
  if ((rc = bind_gate_up(L, f, hp, i, err))) return rc;
  B(w_down, "ffn_down.weight", hp->n_ff, e, false)
  if (hp->qk_norm) {
    B(q_norm, "attn_q_norm.weight", hp->head_dim, 0, false)
    B(k_norm, "attn_k_norm.weight", hp->head_dim, 0, false)
  }
  if (hp->post_norms) {
    B(post_attn_norm, "post_attention_norm.weight", e, 0, false)
    B(post_ffn_norm, "post_ffw_norm.weight", e, 0, false)
  }
#undef B
  return PAGEDVK_OK;
}

int pv_model_tensors_bind(pv_model_tensors *mt, const pv_gguf_file *f, const pv_hparams *hp, pv_error *err) {
  memset(mt, 0, sizeof *mt);
  if (hp->n_vocab == 0) return pv_fail(err, PAGEDVK_ERR_FORMAT, "model: vocabulary size unknown");
  int rc = bind(&mt->tok_embd, f, "token_embd.weight", hp->n_embd, hp->n_vocab, false, err);
  if (rc) return rc;
  if ((rc = bind(&mt->output_norm, f, "output_norm.weight", hp->n_embd, 0, false, err))) return rc;
  if ((rc = bind(&mt->output, f, "output.weight", hp->n_embd, hp->n_vocab, true, err))) return rc;
  if (!mt->output) mt->output = mt->tok_embd;
  if ((rc = bind(&mt->rope_freqs, f, "rope_freqs.weight", hp->rope_dim / 2, 0, true, err))) return rc;
  if (hp->rope_longrope) { /* llama.cpp's choice: the long factors when the context exceeds the original */
    const bool lng = hp->n_ctx > hp->rope_orig_ctx;
    const char *name = lng ? "rope_factors_long.weight" : "rope_factors_short.weight";
    if ((rc = bind(&mt->rope_freqs, f, name, hp->rope_dim / 2, 0, false, err))) return rc;
  }
  mt->layers = calloc(hp->n_layer, sizeof *mt->layers);
  if (!mt->layers) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "model: out of memory");
  for (uint32_t i = 0; i < hp->n_layer; i++)
    if ((rc = bind_layer(&mt->layers[i], f, hp, i, err))) {
      pv_model_tensors_free(mt);
      return rc;
    }
  return PAGEDVK_OK;
}

void pv_model_tensors_free(pv_model_tensors *mt) {
  free(mt->layers);
  mt->layers = NULL;
}

/* llama3 divisors from the metadata, by wavelength: lambda_i = 2 pi / base^(-2i/d). */
static void llama3_divisors(const pv_hparams *hp, float *out) {
  const double lo_wave = hp->rope_l3_orig_ctx / (double)hp->rope_l3_low;
  const double hi_wave = hp->rope_l3_orig_ctx / (double)hp->rope_l3_high;
  for (uint32_t i = 0; i < hp->rope_dim / 2; i++) {
    const double wave = 2.0 * 3.14159265358979323846 * pow(hp->rope_base, 2.0 * i / hp->rope_dim);
    if (wave < hi_wave) {
      out[i] = 1.0f;
    } else if (wave > lo_wave) {
      out[i] = hp->rope_l3_factor;
    } else {
      const double smooth = (hp->rope_l3_orig_ctx / wave - hp->rope_l3_low) / (hp->rope_l3_high - hp->rope_l3_low);
      out[i] = (float)(1.0 / ((1.0 - smooth) / hp->rope_l3_factor + smooth));
    }
  }
}

int pv_rope_freq_divisors(const pv_hparams *hp, const pv_model_tensors *mt, float *out, bool *any, pv_error *err) {
  *any = false;
  if (mt->rope_freqs) {
    int rc = pv_dequantize_tensor(mt->rope_freqs, out, err);
    if (rc) return rc;
    for (uint32_t i = 0; i < hp->rope_dim / 2; i++)
      if (!(out[i] > 0.0f) || isinf(out[i]))
        return pv_fail(err, PAGEDVK_ERR_FORMAT, "model: %.*s[%u] = %g is not a positive frequency divisor",
                       (int)mt->rope_freqs->name.len, mt->rope_freqs->name.ptr, i, (double)out[i]);
    *any = true;
  } else if (hp->rope_llama3) {
    llama3_divisors(hp, out);
    *any = true;
  }
  return PAGEDVK_OK;
}

uint64_t pv_model_param_count(const pv_gguf_file *f) {
  uint64_t n = 0;
  for (uint64_t i = 0; i < f->n_tensors; i++)
    n += f->tensors[i].ne[0] * f->tensors[i].ne[1] * f->tensors[i].ne[2] * f->tensors[i].ne[3];
  return n;
}
