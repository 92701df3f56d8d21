/*
 * mkmodel.c — writes synthetic GGUF models (llama, qwen2, qwen3, smollm3, granite, phi3, gemma2,
 * gemma3 architecture) with random weights at sane scales, using the same metadata keys and tensor
 * names as llama.cpp's converter.
 *
 * Weights: normal with std 1/sqrt(fan_in) for every projection (fan_in = ne[0]), so activations
 * keep unit scale through a forward pass; token embedding and output with std 3/sqrt(n_embd), so
 * logits have std ~3 and greedy choices are well separated; norm weights 1 + N(0, 0.1^2);
 * qwen2 q/k/v biases N(0, 0.05^2); qwen3's attn_q_norm/attn_k_norm like norms, its q and k
 * projections 4x larger (the per-head norm takes the scale back out, so it shows in the output);
 * granite's q and k 4x larger too (sharper attention, so that its attention.scale shows).
 * phi3 writes attn_qkv and an ffn_up of gate then up rows, drawn in the order of llama's separate
 * tensors (q, k, v; gate, up).
 * The same seed gives the same file.
 * Tensor types: --type for weights, --type-embd / --type-output / --type-norm for those tensors,
 * biases F32; --mix replaces those types of the matrices by a llama.cpp preset's mix (shapes.c);
 * then every --tensor-type GLOB=TYPE in order (the last match wins).
 * --preset sets the hyper-parameters of a real model (shapes.c); options after it override them.
 * Layouts: --head-dim writes attention.key_length/value_length (heads of another size than
 * n_embd / n_head); --rope-freqs writes Llama 3's rope_freqs.weight, --rope-llama3 only its
 * rope.scaling metadata (the same divisors: factor 8, frequency factors 1 and 4, original
 * context --ctx).
 */
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mkmodel.h"
#include "devkit/quantize.h"
#include "gguf/quant.h"

#define MAX_OVERRIDES 64

typedef struct override {
  const char *pattern;
  pv_dtype type;
} override;

typedef struct options {
  const char *arch, *out, *vocab_from, *name;
  const char *chat_template; /* tokenizer.chat_template to write (NULL: none) */
  int chat_template_given;   /* from --chat-template(-file): a vocabulary's own template is an error */
  char *chat_template_read;  /* --chat-template-file: the file's text (chat_template points here) */
  mk_mix mix;
  uint32_t n_embd, n_layer, n_head, n_head_kv, n_ff, ctx;
  uint32_t vocab_size; /* --vocab-size: the built-in vocabulary padded to this many tokens (0: not) */
  uint32_t head_dim; /* 0: n_embd / n_head, no key_length key */
  int rope_freqs, rope_llama3;
  float scales[4]; /* granite: embedding, residual, attention, logit */
  uint32_t rope_dim; /* 0: the head size */
  uint32_t orig_ctx; /* rope.scaling.original_context_length (0: not written) */
  int rope_factors;  /* phi3 LongRoPE factors */
  float attn_factor; /* rope.scaling.attn_factor (0: not written) */
  float rope_base, rms_eps;
  uint32_t sliding_window, swa_pattern; /* gemma: attention.sliding_window(_pattern); 0: not written */
  float attn_softcap, final_softcap;    /* gemma2: *_logit_softcapping; 0: not written */
  int tied;
  pv_dtype type, type_embd, type_output, type_norm;
  int have_type_embd, have_type_output;
  uint64_t seed;
  override overrides[MAX_OVERRIDES];
  int n_overrides;
  const char *poison;  /* --poison-tensor: tensors whose name matches this pattern get poison_value */
  float poison_value;  /* in every element (NaN unless given) ... */
  int64_t poison_row;  /* ... or only in this row (--poison-row; -1: all) */
} options;

static void usage(FILE *to) {
  fprintf(to,
    "usage: mkmodel [options] -o OUT.gguf\n"
    "Writes a synthetic GGUF model with random weights (llama.cpp metadata keys and tensor names).\n"
    "\n"
    "  --arch NAME             architecture (default llama): llama, qwen2 (q/k/v biases), qwen3\n"
    "                          (per-head q/k RMS norms attn_q_norm/attn_k_norm), smollm3 (llama\n"
    "                          layers, every 4th without RoPE: nothing in the file says so), granite\n"
    "                          (embedding_scale, residual_scale, attention.scale, logit_scale:\n"
    "                          --scales), phi3 (fused attn_qkv, ffn_up holding gate and up rows),\n"
    "                          gemma2, gemma3 (post-attention/post-FFN norms; gemma3 also q/k\n"
    "                          norms)\n"
    "  --scales E,R,A,L        granite's scales (default 12,0.22,0.0625,8, those of syn-granite.gguf)\n"
    "  --sliding-window N      gemma: attention.sliding_window (not written by default)\n"
    "  --swa-pattern N         gemma3: attention.sliding_window_pattern (not written by default)\n"
    "  --attn-softcap F        gemma2: attn_logit_softcapping (not written by default)\n"
    "  --final-softcap F       gemma2: final_logit_softcapping (not written by default)\n"
    "  --rope-dim N            dimensions of a head RoPE rotates (rope.dimension_count; default: all)\n"
    "  --orig-ctx N            rope.scaling.original_context_length\n"
    "  --rope-factors          phi3 LongRoPE: rope_factors_short.weight and rope_factors_long.weight\n"
    "  --attn-factor F         rope.scaling.attn_factor (LongRoPE files carry one)\n"
    "  --n-embd N              embedding size (default 256)\n"
    "  --n-layer N             number of blocks (default 2)\n"
    "  --n-head N              attention heads (default 4)\n"
    "  --n-head-kv N           key/value heads (default = --n-head; must divide it)\n"
    "  --n-ff N                feed-forward size (default 512)\n"
    "  --ctx N                 context length (default 2048; up to 4294967295)\n"
    "  --rope-base F           RoPE frequency base (default 10000)\n"
    "  --head-dim N            head size, written as attention.key_length and value_length\n"
    "                          (default n_embd / n_head, keys not written)\n"
    "  --rope-freqs            Llama-3 RoPE scaling as rope_freqs.weight (F32 frequency divisors of\n"
    "                          factor 8, low/high frequency factors 1 and 4, original context --ctx)\n"
    "  --rope-llama3           the same scaling as rope.scaling.* metadata only (type llama3)\n"
    "  --rms-eps F             RMSNorm epsilon (default 1e-5)\n"
    "  --tied                  no output.weight: the output reuses token_embd.weight\n"
    "  --type TYPE             weight type (default F16): F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K\n"
    "                          Q5_K Q6_K IQ4_NL IQ4_XS\n"
    "  --type-embd TYPE        token_embd.weight type (default --type)\n"
    "  --type-output TYPE      output.weight type (default --type)\n"
    "  --type-norm TYPE        norm weights type (default F32)\n"
    "  --tensor-type GLOB=TYPE type for tensors whose name matches the shell pattern GLOB, e.g.\n"
    "                          'blk.*.ffn_down.weight=Q6_K'; repeatable, the last match wins\n"
    "  --seed N                random seed (default 1)\n"
    "  --poison-tensor GLOB[=V] every element of the tensors matching GLOB is V (nan, inf, -inf or a\n"
    "                          number; default nan): hostile files for the loader and engine tests\n"
    "  --poison-row R          only row R of those tensors (token_embd.weight: token R's embedding)\n"
    "  --name TEXT             general.name (default synthetic-ARCH)\n"
    "  --preset NAME           a real model's shape: llama3.2-1b (embd 2048, 32 heads / 8 kv, ffn 8192,\n"
    "                          rope base 500000, tied, a Llama-3 chat template unless the vocabulary has\n"
    "                          one) or qwen2.5-0.5b (qwen2, embd 896, 14 heads / 2 kv, ffn 4864, rope base\n"
    "                          1e6, tied Q8_0 embedding); --n-layer stays 2; options after it override it.\n"
    "                          Real vocabulary sizes need --vocab-from (ggml-vocab-llama-bpe.gguf: 128256,\n"
    "                          ggml-vocab-qwen2.gguf: 151936)\n"
    "  --mix q4_k_m|none       per-tensor types as llama.cpp's Q4_K_M: Q4_K matrices, Q6_K output (or\n"
    "                          tied embedding) and attn_v/ffn_down in the layers given more bits; rows\n"
    "                          not a multiple of 256 fall back to Q5_0 / Q8_0. Replaces --type and\n"
    "                          --type-embd/-output for matrices; --tensor-type still applies after it\n"
    "  --chat-template TEXT    tokenizer.chat_template (an error when --vocab-from brings one)\n"
    "  --chat-template-file F  the same, the text of file F byte for byte\n"
    "  --vocab-from FILE.gguf  copy every tokenizer.* key from FILE; the vocabulary size is its\n"
    "                          token count. Without it, a built-in SentencePiece-style vocabulary\n"
    "                          (tokenizer.ggml.model 'llama') is written: <unk>=0, <s>=1 (BOS),\n"
    "                          </s>=2 (EOS), byte-fallback tokens <0x00>..<0xFF> at 3..258, then\n"
    "                          '\xe2\x96\x81', printable ASCII and a few dozen merged pieces (~420 tokens)\n"
    "  --vocab-size N          pad the built-in vocabulary to N tokens with unused pieces <padK>\n"
    "                          (NORMAL tokens no text merges into): the shapes of a real vocabulary\n"
    "                          (e.g. 32000, Llama 2) without one; not with --vocab-from\n"
    "  -o, --out OUT.gguf      output file\n"
    "  -h, --help              this text\n"
    "Every row length (ne[0]) must be a multiple of its type's block size (32, or 256 for K-quants and IQ4_XS).\n");
}

/* ---- option parsing --------------------------------------------------------------------------- */

static int bad(const char *opt, const char *v) {
  fprintf(stderr, "mkmodel: bad value '%s' for %s\n", v ? v : "(missing)", opt);
  return -1;
}

static int parse_u32_max(const char *opt, const char *v, uint32_t *out, unsigned long long max) {
  char *end;
  if (!v || !*v) return bad(opt, v);
  unsigned long long x = strtoull(v, &end, 10);
  if (*end || x == 0 || x > max) return bad(opt, v);
  *out = (uint32_t)x;
  return 0;
}

static int parse_u32(const char *opt, const char *v, uint32_t *out) { return parse_u32_max(opt, v, out, 0x7fffffff); }

static int parse_f32(const char *opt, const char *v, float *out) {
  char *end;
  if (!v || !*v) return bad(opt, v);
  double x = strtod(v, &end);
  if (*end || !(x > 0) || !isfinite(x)) return bad(opt, v);
  *out = (float)x;
  return 0;
}

static int parse_type(const char *opt, const char *v, pv_dtype *out) {
  if (!v || !pv_dtype_from_name(v, out) || !pv_quant_supported(*out)) return bad(opt, v);
  return 0;
}

static int parse_override(options *o, const char *v) {
  const char *eq = v ? strrchr(v, '=') : NULL;
  if (!eq || eq == v || o->n_overrides == MAX_OVERRIDES) return bad("--tensor-type", v);
  override *ov = &o->overrides[o->n_overrides];
  if (parse_type("--tensor-type", eq + 1, &ov->type)) return -1;
  ov->pattern = strndup(v, (size_t)(eq - v));
  if (!ov->pattern) return bad("--tensor-type", v);
  o->n_overrides++;
  return 0;
}

static int apply_preset(options *o, const char *v) {
  const mk_preset *p = mk_preset_find(v);
  if (!p) return bad("--preset", v);
  o->arch = p->arch;
  o->name = p->model_name;
  o->n_embd = p->n_embd;
  o->n_head = p->n_head;
  o->n_head_kv = p->n_head_kv;
  o->n_ff = p->n_ff;
  o->ctx = p->ctx;
  o->rope_base = p->rope_base;
  o->rms_eps = p->rms_eps;
  o->tied = p->tied;
  if (p->has_type_embd) {
    o->have_type_embd = 1;
    o->type_embd = p->type_embd;
  }
  o->chat_template = p->chat_template;
  o->chat_template_given = 0;
  return 0;
}

/* Value of option argv[*i]: "--opt=value" or "--opt value". */
static const char *value_of(int argc, char **argv, int *i) {
  const char *eq = strchr(argv[*i], '=');
  if (eq && argv[*i][0] == '-' && argv[*i][1] == '-') return eq + 1;
  return *i + 1 < argc ? argv[++*i] : NULL;
}

/* A whole file, NUL-terminated (NULL when it cannot be read). */
static char *read_text(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t cap = 0;
  *len = 0;
  while (f) {
    if (*len + 4097 > cap) {
      char *p = realloc(buf, cap = (*len + 4097) * 2);
      if (!p) break;
      buf = p;
    }
    size_t got = fread(buf + *len, 1, cap - *len - 1, f);
    *len += got;
    if (!got) {
      if (ferror(f)) break;
      buf[*len] = 0;
      fclose(f);
      return buf;
    }
  }
  if (f) fclose(f);
  free(buf);
  return NULL;
}

static bool is_opt(const char *arg, const char *name) {
  size_t n = strlen(name);
  return !strncmp(arg, name, n) && (arg[n] == 0 || arg[n] == '=');
}

/* --poison-tensor GLOB[=VALUE]: VALUE nan (default), inf, -inf or a number. */
static int parse_poison(options *o, const char *v) {
  if (!v || !*v) return bad("--poison-tensor", v);
  const char *eq = strchr(v, '=');
  o->poison_value = NAN;
  if (eq) {
    char *end;
    if (!strcmp(eq + 1, "nan")) o->poison_value = NAN;
    else if (!strcmp(eq + 1, "inf")) o->poison_value = INFINITY;
    else if (!strcmp(eq + 1, "-inf")) o->poison_value = -INFINITY;
    else if (!eq[1] || (o->poison_value = strtof(eq + 1, &end), *end)) return bad("--poison-tensor", v);
  }
  free((void *)o->poison);
  o->poison = eq ? strndup(v, (size_t)(eq - v)) : strdup(v);
  return o->poison ? 0 : bad("--poison-tensor", v);
}

static int parse_one(options *o, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  if (is_opt(a, "--tied")) { o->tied = 1; return 0; }
  if (is_opt(a, "--rope-freqs")) { o->rope_freqs = 1; return 0; }
  if (is_opt(a, "--rope-llama3")) { o->rope_llama3 = 1; return 0; }
  if (is_opt(a, "--rope-factors")) { o->rope_factors = 1; return 0; }
  if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); exit(0); }
  const char *v = value_of(argc, argv, i);
  if (is_opt(a, "--arch")) {
    static const char *const archs[] = {"llama", "qwen2", "qwen3", "smollm3", "granite", "phi3", "gemma2", "gemma3"};
    for (size_t k = 0; v && k < sizeof archs / sizeof archs[0]; k++)
      if (!strcmp(v, archs[k])) {
        o->arch = v;
        return 0;
      }
    return bad(a, v);
  }
  if (is_opt(a, "--scales")) {
    if (!v || sscanf(v, "%f,%f,%f,%f", &o->scales[0], &o->scales[1], &o->scales[2], &o->scales[3]) != 4)
      return bad(a, v);
    return 0;
  }
  if (is_opt(a, "--rope-dim")) return parse_u32(a, v, &o->rope_dim);
  if (is_opt(a, "--orig-ctx")) return parse_u32(a, v, &o->orig_ctx);
  if (is_opt(a, "--attn-factor")) return parse_f32(a, v, &o->attn_factor);
  if (is_opt(a, "--n-embd")) return parse_u32(a, v, &o->n_embd);
  if (is_opt(a, "--n-layer")) return parse_u32(a, v, &o->n_layer);
  if (is_opt(a, "--n-head-kv")) return parse_u32(a, v, &o->n_head_kv);
  if (is_opt(a, "--n-head")) return parse_u32(a, v, &o->n_head);
  if (is_opt(a, "--n-ff")) return parse_u32(a, v, &o->n_ff);
  if (is_opt(a, "--head-dim")) return parse_u32(a, v, &o->head_dim);
  if (is_opt(a, "--ctx")) return parse_u32_max(a, v, &o->ctx, UINT32_MAX); /* up to 2^32-1: hostile files */
  if (is_opt(a, "--sliding-window")) return parse_u32(a, v, &o->sliding_window);
  if (is_opt(a, "--swa-pattern")) return parse_u32(a, v, &o->swa_pattern);
  if (is_opt(a, "--attn-softcap")) return parse_f32(a, v, &o->attn_softcap);
  if (is_opt(a, "--final-softcap")) return parse_f32(a, v, &o->final_softcap);
  if (is_opt(a, "--rope-base")) return parse_f32(a, v, &o->rope_base);
  if (is_opt(a, "--rms-eps")) return parse_f32(a, v, &o->rms_eps);
  if (is_opt(a, "--type")) return parse_type(a, v, &o->type);
  if (is_opt(a, "--type-embd")) { o->have_type_embd = 1; return parse_type(a, v, &o->type_embd); }
  if (is_opt(a, "--type-output")) { o->have_type_output = 1; return parse_type(a, v, &o->type_output); }
  if (is_opt(a, "--type-norm")) return parse_type(a, v, &o->type_norm);
  if (is_opt(a, "--tensor-type")) return parse_override(o, v);
  if (is_opt(a, "--poison-tensor")) return parse_poison(o, v);
  if (is_opt(a, "--poison-row")) {
    uint32_t row = 0;
    if (v && !strcmp(v, "0")) return o->poison_row = 0, 0;
    if (parse_u32(a, v, &row)) return -1;
    o->poison_row = row;
    return 0;
  }
  if (is_opt(a, "--vocab-from")) { o->vocab_from = v; return v ? 0 : bad(a, v); }
  if (is_opt(a, "--vocab-size")) return parse_u32(a, v, &o->vocab_size);
  if (is_opt(a, "--name")) { o->name = v; return v ? 0 : bad(a, v); }
  if (is_opt(a, "--preset")) return apply_preset(o, v);
  if (is_opt(a, "--mix")) return mk_mix_from_name(v, &o->mix) ? 0 : bad(a, v);
  if (is_opt(a, "--chat-template-file")) {
    size_t len = 0;
    free(o->chat_template_read);
    if (!v || !(o->chat_template_read = read_text(v, &len)) || strlen(o->chat_template_read) != len) return bad(a, v);
    o->chat_template = o->chat_template_read;
    o->chat_template_given = 1;
    return 0;
  }
  if (is_opt(a, "--chat-template")) {
    o->chat_template = v;
    o->chat_template_given = 1;
    return v ? 0 : bad(a, v);
  }
  if (is_opt(a, "-o") || is_opt(a, "--out")) { o->out = v; return v ? 0 : bad(a, v); }
  if (is_opt(a, "--seed")) {
    char *end;
    if (!v || !*v) return bad(a, v);
    o->seed = strtoull(v, &end, 0);
    return *end ? bad(a, v) : 0;
  }
  fprintf(stderr, "mkmodel: unknown option '%s' (see --help)\n", a);
  return -1;
}

static int parse_args(options *o, int argc, char **argv) {
  *o = (options){.arch = "llama", .n_embd = 256, .n_layer = 2, .n_head = 4, .n_ff = 512, .ctx = 2048,
                 .rope_base = 10000.0f, .rms_eps = 1e-5f, .type = PV_F16, .type_norm = PV_F32, .seed = 1,
                 .scales = {12.0f, 0.22f, 0.0625f, 8.0f}, .poison_row = -1};
  for (int i = 1; i < argc; i++)
    if (parse_one(o, argc, argv, &i)) return -1;
  if (!o->n_head_kv) o->n_head_kv = o->n_head;
  if (!o->have_type_embd) o->type_embd = o->type;
  if (!o->have_type_output) o->type_output = o->type;
  if (!o->out) { fprintf(stderr, "mkmodel: no output file (-o OUT.gguf)\n"); return -1; }
  if ((!o->head_dim && (o->n_embd % o->n_head || (o->n_embd / o->n_head) % 2)) || o->n_head % o->n_head_kv) {
    fprintf(stderr, "mkmodel: n_embd %u must split into %u heads of even size, and n_head into %u kv groups\n",
            o->n_embd, o->n_head, o->n_head_kv);
    return -1;
  }
  if (o->head_dim % 2) {
    fprintf(stderr, "mkmodel: --head-dim %u is odd\n", o->head_dim);
    return -1;
  }
  const uint32_t hd = o->head_dim ? o->head_dim : o->n_embd / o->n_head;
  if (o->rope_dim % 2 || o->rope_dim > hd) {
    fprintf(stderr, "mkmodel: --rope-dim %u must be even and at most the head size %u\n", o->rope_dim, hd);
    return -1;
  }
  if (o->vocab_size && o->vocab_from) {
    fprintf(stderr, "mkmodel: --vocab-size pads the built-in vocabulary: not with --vocab-from\n");
    return -1;
  }
  if (o->rope_factors && strcmp(o->arch, "phi3")) {
    fprintf(stderr, "mkmodel: --rope-factors needs --arch phi3\n");
    return -1;
  }
  return 0;
}

/* ---- random numbers --------------------------------------------------------------------------- */

typedef struct rng { uint64_t s; } rng;

static uint64_t next_u64(rng *r) { /* splitmix64 */
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double next_unit(rng *r) { return ((double)(next_u64(r) >> 11) + 0.5) / 9007199254740992.0; }

static void fill_normal(rng *r, float *x, uint64_t n, float mean, float std) {
  for (uint64_t i = 0; i < n; i += 2) {
    double rad = sqrt(-2.0 * log(next_unit(r))), ang = 6.283185307179586 * next_unit(r);
    x[i] = mean + std * (float)(rad * cos(ang));
    if (i + 1 < n) x[i + 1] = mean + std * (float)(rad * sin(ang));
  }
}

/* ---- model -------------------------------------------------------------------------------- */

typedef enum { W_PROJ, W_PROJ_X4, W_EMBD, W_OUTPUT, W_NORM, W_BIAS } weight_kind;

static pv_dtype type_for(const options *o, const char *name, weight_kind kind, uint64_t ne0) {
  pv_dtype t = kind == W_EMBD ? o->type_embd : kind == W_OUTPUT ? o->type_output
             : kind == W_NORM ? o->type_norm : kind == W_BIAS ? PV_F32 : o->type;
  if (o->mix && kind != W_NORM && kind != W_BIAS) t = mk_mix_type(o->mix, name, ne0, o->n_layer, o->tied);
  for (int i = 0; i < o->n_overrides; i++)
    if (fnmatch(o->overrides[i].pattern, name, 0) == 0) t = o->overrides[i].type;
  return t;
}

static int add_weight(pv_gguf_writer *w, const options *o, rng *r, const char *name, weight_kind kind, uint64_t ne0,
                      uint64_t ne1, pv_error *err) {
  pv_dtype type = type_for(o, name, kind, ne0);
  uint64_t n = ne0 * ne1, row_bytes;
  if (!pv_dtype_row_bytes(type, ne0, &row_bytes))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "tensor %s: row length %llu is not a multiple of the %s block size %u",
                   name, (unsigned long long)ne0, pv_dtype_name(type), pv_dtype_get(type)->block_elems);
  float *x = malloc(n * sizeof *x);
  uint8_t *q = malloc(row_bytes * ne1);
  int rc = (!x || !q) ? pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tensor %s: out of memory", name) : PAGEDVK_OK;
  if (!rc) {
    float std = kind == W_NORM ? 0.1f : kind == W_BIAS ? 0.05f
              : (kind == W_EMBD || kind == W_OUTPUT) ? 3.0f / sqrtf((float)o->n_embd)
              : (kind == W_PROJ_X4 ? 4.0f : 1.0f) / sqrtf((float)ne0);
    fill_normal(r, x, n, kind == W_NORM ? 1.0f : 0.0f, std);
    if (o->poison && fnmatch(o->poison, name, 0) == 0)
      for (uint64_t i = 0; i < n; i++)
        if (o->poison_row < 0 || i / ne0 == (uint64_t)o->poison_row) x[i] = o->poison_value;
    rc = pv_quantize_rows(type, x, q, ne0, ne1, err);
  }
  uint64_t ne[2] = {ne0, ne1};
  if (!rc) rc = pv_gguf_writer_add_tensor(w, name, type, ne1 == 1 ? 1 : 2, ne, q, row_bytes * ne1, err);
  free(x);
  free(q);
  return rc;
}

static uint32_t head_dim(const options *o) { return o->head_dim ? o->head_dim : o->n_embd / o->n_head; }
static uint32_t rope_dim(const options *o) { return o->rope_dim ? o->rope_dim : head_dim(o); }

static int add_layer(pv_gguf_writer *w, const options *o, rng *r, uint32_t l, pv_error *err) {
  uint64_t e = o->n_embd, hd = head_dim(o), q = hd * o->n_head, kv = hd * o->n_head_kv, ff = o->n_ff;
  const bool qwen2 = !strcmp(o->arch, "qwen2"), gemma3 = !strcmp(o->arch, "gemma3");
  const bool qwen3 = !strcmp(o->arch, "qwen3") || gemma3, gemma = gemma3 || !strcmp(o->arch, "gemma2");
  const bool phi3 = !strcmp(o->arch, "phi3");
  const weight_kind qk = qwen3 || !strcmp(o->arch, "granite") ? W_PROJ_X4 : W_PROJ;
  struct { const char *suffix; weight_kind kind; uint64_t ne0, ne1; bool skip; } parts[] = {
    {"attn_norm.weight", W_NORM, e, 1, false},   {"attn_qkv.weight", W_PROJ, e, q + 2 * kv, !phi3},
    {"attn_q.weight", qk, e, q, phi3},           {"attn_k.weight", qk, e, kv, phi3},
    {"attn_v.weight", W_PROJ, e, kv, phi3},
    {"attn_q.bias", W_BIAS, q, 1, !qwen2},       {"attn_k.bias", W_BIAS, kv, 1, !qwen2},
    {"attn_v.bias", W_BIAS, kv, 1, !qwen2},      {"attn_q_norm.weight", W_NORM, hd, 1, !qwen3},
    {"attn_k_norm.weight", W_NORM, hd, 1, !qwen3}, {"attn_output.weight", W_PROJ, q, e, false},
    {"ffn_norm.weight", W_NORM, e, 1, false},    {"ffn_gate.weight", W_PROJ, e, ff, phi3},
    {"ffn_up.weight", W_PROJ, e, phi3 ? 2 * ff : ff, false}, {"ffn_down.weight", W_PROJ, ff, e, false},
    {"post_attention_norm.weight", W_NORM, e, 1, !gemma}, {"post_ffw_norm.weight", W_NORM, e, 1, !gemma},
  };
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    if (parts[i].skip) continue;
    char name[64];
    snprintf(name, sizeof name, "blk.%u.%s", l, parts[i].suffix);
    int rc = add_weight(w, o, r, name, parts[i].kind, parts[i].ne0, parts[i].ne1, err);
    if (rc) return rc;
  }
  return PAGEDVK_OK;
}

static uint32_t file_type(pv_dtype t) {
  switch (t) {
    case PV_F32: return 0;
    case PV_F16: return 1;
    case PV_Q4_0: return 2;
    case PV_Q4_1: return 3;
    case PV_Q8_0: return 7;
    case PV_Q5_0: return 8;
    case PV_Q5_1: return 9;
    case PV_Q4_K: return 15;
    case PV_Q5_K: return 17;
    case PV_Q6_K: return 18;
    case PV_BF16: return 32;
    default: return 0;
  }
}

#define L3_FACTOR 8.0f
#define L3_LOW 1.0f
#define L3_HIGH 4.0f

/* LongRoPE's two divisor sets, of the kind Phi-3's files carry: short ones near 1, long ones
 * growing with the pair index to about 16 (values made up, no formula of the index a wrong pair
 * would reproduce). */
static int add_rope_factors(pv_gguf_writer *w, const options *o, pv_error *err) {
  const uint32_t pairs = rope_dim(o) / 2;
  float *f = malloc(2 * pairs * sizeof *f);
  if (!f) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "rope_factors: out of memory");
  for (uint32_t i = 0; i < pairs; i++) {
    f[i] = 1.0f + 0.05f * (float)((i * 5u) % 7u);
    f[pairs + i] = 1.0f + 15.0f * (float)i / (float)pairs + 0.3f * (float)((i * 3u) % 4u);
  }
  uint64_t ne[1] = {pairs};
  int rc = pv_gguf_writer_add_tensor(w, "rope_factors_short.weight", PV_F32, 1, ne, f, pairs * sizeof *f, err);
  if (!rc)
    rc = pv_gguf_writer_add_tensor(w, "rope_factors_long.weight", PV_F32, 1, ne, f + pairs, pairs * sizeof *f, err);
  free(f);
  return rc;
}

/* rope_freqs.weight as Llama 3.1's converter writes it: per pair, 1 for wavelengths under
 * ctx / high, the factor over ctx / low, a smooth blend between. */
static int add_rope_freqs(pv_gguf_writer *w, const options *o, pv_error *err) {
  const uint32_t pairs = rope_dim(o) / 2;
  float *div = malloc(pairs * sizeof *div);
  if (!div) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "rope_freqs: out of memory");
  for (uint32_t i = 0; i < pairs; i++) {
    const double freq = pow(o->rope_base, -2.0 * i / (2.0 * pairs)), wavelen = 6.283185307179586 / freq;
    const double smooth = (o->ctx / wavelen - L3_LOW) / (L3_HIGH - L3_LOW);
    div[i] = wavelen < o->ctx / L3_HIGH ? 1.0f
           : wavelen > o->ctx / L3_LOW  ? L3_FACTOR
                                        : (float)(1.0 / ((1.0 - smooth) / L3_FACTOR + smooth));
  }
  uint64_t ne[1] = {pairs};
  int rc = pv_gguf_writer_add_tensor(w, "rope_freqs.weight", PV_F32, 1, ne, div, pairs * sizeof *div, err);
  free(div);
  return rc;
}

static int add_hparams(pv_gguf_writer *w, const options *o, uint32_t n_vocab, pv_error *err) {
  char key[128], name[128];
  const char *a = o->arch;
  snprintf(name, sizeof name, "synthetic-%s", a);
  int rc = pv_gguf_writer_add_str(w, "general.architecture", a, err);
  if (!rc) rc = pv_gguf_writer_add_str(w, "general.name", o->name ? o->name : name, err);
  if (!rc) rc = pv_gguf_writer_add_u32(w, "general.file_type", o->mix == MK_MIX_Q4_K_M ? 15 : file_type(o->type), err);
#define KEY_U32(suffix, v) \
  if (!rc) { snprintf(key, sizeof key, "%s." suffix, a); rc = pv_gguf_writer_add_u32(w, key, (v), err); }
#define KEY_F32(suffix, v) \
  if (!rc) { snprintf(key, sizeof key, "%s." suffix, a); rc = pv_gguf_writer_add_f32(w, key, (v), err); }
  KEY_U32("context_length", o->ctx)
  KEY_U32("embedding_length", o->n_embd)
  KEY_U32("block_count", o->n_layer)
  KEY_U32("feed_forward_length", o->n_ff)
  KEY_U32("rope.dimension_count", rope_dim(o))
  KEY_F32("rope.freq_base", o->rope_base)
  KEY_U32("attention.head_count", o->n_head)
  KEY_U32("attention.head_count_kv", o->n_head_kv)
  KEY_F32("attention.layer_norm_rms_epsilon", o->rms_eps)
  KEY_U32("vocab_size", n_vocab)
  if (o->head_dim) {
    KEY_U32("attention.key_length", o->head_dim)
    KEY_U32("attention.value_length", o->head_dim)
  }
  if (o->orig_ctx && !o->rope_llama3) KEY_U32("rope.scaling.original_context_length", o->orig_ctx)
  if (o->attn_factor > 0.0f) KEY_F32("rope.scaling.attn_factor", o->attn_factor)
  if (!strcmp(a, "granite")) {
    KEY_F32("embedding_scale", o->scales[0])
    KEY_F32("residual_scale", o->scales[1])
    KEY_F32("attention.scale", o->scales[2])
    KEY_F32("logit_scale", o->scales[3])
  }
  if (o->sliding_window) KEY_U32("attention.sliding_window", o->sliding_window)
  if (o->swa_pattern) KEY_U32("attention.sliding_window_pattern", o->swa_pattern)
  if (o->attn_softcap > 0.0f) KEY_F32("attn_logit_softcapping", o->attn_softcap)
  if (o->final_softcap > 0.0f) KEY_F32("final_logit_softcapping", o->final_softcap)
  if (o->rope_llama3) {
    if (!rc) { snprintf(key, sizeof key, "%s.rope.scaling.type", a); rc = pv_gguf_writer_add_str(w, key, "llama3", err); }
    KEY_F32("rope.scaling.factor", L3_FACTOR)
    KEY_F32("rope.scaling.low_freq_factor", L3_LOW)
    KEY_F32("rope.scaling.high_freq_factor", L3_HIGH)
    KEY_U32("rope.scaling.original_context_length", o->ctx)
  }
#undef KEY_U32
#undef KEY_F32
  if (!rc) rc = pv_gguf_writer_set_alignment(w, 32, err);
  return rc;
}

/* Tokenizer keys, from --vocab-from or built in; returns the vocabulary size. Writes them after
 * the hyper-parameters, as llama.cpp does, so the vocabulary size must be known first. */
static int vocab_size_from(const char *path, pv_gguf_file **src, uint32_t *n_vocab, pv_error *err) {
  int rc = pv_gguf_open(src, path, err);
  if (rc) return rc;
  const pv_gguf_array *tokens = pv_gguf_get_arr(*src, "tokenizer.ggml.tokens");
  if (!tokens || tokens->elem_type != PV_GGUF_VT_STRING || tokens->n == 0 || tokens->n > 0x7fffffff)
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "%s: no tokenizer.ggml.tokens string array", path);
  *n_vocab = (uint32_t)tokens->n;
  return PAGEDVK_OK;
}

/* --chat-template, or the preset's template when the vocabulary brings none. */
static int add_chat_template(pv_gguf_writer *w, const options *o, const pv_gguf_file *src, pv_error *err) {
  pv_gguf_str have;
  bool copied = src && pv_gguf_get_str(src, "tokenizer.chat_template", &have);
  if (!o->chat_template || (copied && !o->chat_template_given)) return PAGEDVK_OK;
  if (copied)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "--chat-template: %s already has a tokenizer.chat_template", o->vocab_from);
  return pv_gguf_writer_add_str(w, "tokenizer.chat_template", o->chat_template, err);
}

static int build(pv_gguf_writer *w, const options *o, pv_error *err) {
  pv_gguf_file *src = NULL;
  uint32_t n_vocab = 0;
  int rc = PAGEDVK_OK;
  pv_gguf_writer *vw = NULL; /* the built-in vocabulary is built first to learn its size */
  if (o->vocab_from) rc = vocab_size_from(o->vocab_from, &src, &n_vocab, err);
  else if (!(rc = pv_gguf_writer_create(&vw, err))) rc = mk_builtin_vocab(vw, o->vocab_size, &n_vocab, err);
  if (!rc) rc = add_hparams(w, o, n_vocab, err);
  if (!rc && src) rc = pv_gguf_writer_copy_tokenizer(w, src, err);
  if (!rc && vw) rc = mk_builtin_vocab(w, o->vocab_size, &n_vocab, err);
  if (!rc) rc = add_chat_template(w, o, src, err);
  pv_gguf_close(src);
  pv_gguf_writer_destroy(vw);
  rng r = {o->seed};
  if (!rc && o->rope_freqs) rc = add_rope_freqs(w, o, err);
  if (!rc && o->rope_factors) rc = add_rope_factors(w, o, err);
  if (!rc) rc = add_weight(w, o, &r, "token_embd.weight", W_EMBD, o->n_embd, n_vocab, err);
  for (uint32_t l = 0; !rc && l < o->n_layer; l++) rc = add_layer(w, o, &r, l, err);
  if (!rc) rc = add_weight(w, o, &r, "output_norm.weight", W_NORM, o->n_embd, 1, err);
  if (!rc && !o->tied) rc = add_weight(w, o, &r, "output.weight", W_OUTPUT, o->n_embd, n_vocab, err);
  return rc;
}

int main(int argc, char **argv) {
  options o;
  if (parse_args(&o, argc, argv)) return 2;
  pv_error err = {0};
  pv_gguf_writer *w = NULL;
  double t0 = pv_now();
  int rc = pv_gguf_writer_create(&w, &err);
  if (!rc) rc = build(w, &o, &err);
  if (!rc) rc = pv_gguf_writer_write(w, o.out, &err);
  pv_gguf_writer_destroy(w);
  for (int i = 0; i < o.n_overrides; i++) free((void *)o.overrides[i].pattern);
  free((void *)o.poison);
  free(o.chat_template_read);
  if (rc) {
    fprintf(stderr, "mkmodel: %s\n", err.msg);
    return 1;
  }
  fprintf(stderr, "mkmodel: wrote %s (%s, %u layers, n_embd %u) in %.1f s\n", o.out, o.arch, o.n_layer, o.n_embd,
          pv_now() - t0);
  return 0;
}
