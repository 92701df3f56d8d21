/*
 * The architectures after llama and qwen2, each on models the built mkmodel writes (the test skips
 * when it is absent), and each mechanism in two ways:
 *   - it matters: the CPU reference's logits with the mechanism switched off (its weights taken out
 *     of the loaded reference, or a file without it) differ from those with it, so an
 *     implementation that ignored it would fail the comparison below;
 *   - the engine applies it: a ragged batch of greedy requests (blocks of 16 and of 8 tokens, and
 *     chunked prompts in a pool small enough to preempt) equals the reference token by token.
 * qwen3: per-head RMS norm of q and k before RoPE (attn_q_norm, attn_k_norm), heads of 32 where
 * embedding / heads is 16.
 * smollm3: layers 3 and 7 of 8 without RoPE (NoPE); "off" rotates them too, as llama would.
 * granite: embedding_scale, residual_scale, attention.scale, logit_scale, each switched off alone
 *   (set to 1, or 1/sqrt(head size)) in the reference; the logit scale leaves the argmax alone, so
 *   the engine's log-probabilities are compared too.
 * gemma2: sliding window of 6 on layers 0 and 2 of 4 (the requests run to 60 positions, well past
 * it), attention soft-cap 1.5, final logit soft-cap 3, post norms, embedding scale, GeGLU; each
 * switched off in the reference on its own (the final soft-cap keeps the argmax, so the engine's
 * log-probabilities are compared too).
 * gemma3: sliding window 5 with pattern 3 (layers 0, 1, 3, 4 local of 6), local RoPE base 10000
 * against the global 1e6, QK-norm and the gemma mechanisms, head size 64 where embedding / heads
 * is 16.
 * phi3: fused attn_qkv and ffn_up bound as row slices (the reference's q/k/v and gate/up are the
 *   fused tensors' rows, in llama.cpp's order); LongRoPE short and long factors, chosen by the
 *   context against rope.scaling.original_context_length (each set moves the logits), and
 *   rope.scaling.attn_factor scaling the rotated dimensions of q and k (24 of 32).
 * partial rotary (rope.dimension_count below the head size): llama (normal pairs) and phi3 (NeoX).
 * q8_0 KV pools: every model of ../shared/models (an outside test set; skipped without it) with
 * --kv-type q8_0 equals the reference quantizing its cache alike, in a ragged batch, blocks of
 * 8, 16 and 32 in turn; a model whose head size is no multiple of 32 is refused with the reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "gguf/quant.h"
#include "kv/kv_layout.h"
#include "model_check.h"
#include "shared_paths.h"

#define SMALL "--n-embd 64 --n-head 4 --n-head-kv 2 --n-ff 128 --n-layer 2 --ctx 256 --seed 11 "

static const int32_t PROBE[] = {1, 100, 200, 57, 300, 9, 42, 250, 77, 180, 33, 120, 64, 5, 399, 222,
                                150, 11, 87, 260, 31, 199, 3, 140, 71, 310, 18, 240, 95, 130, 44, 205};

static float logits_on[1024], logits_off[1024];

static int setup(void **state) {
  (void)state;
  return mc_setup("archs");
}

static int teardown(void **state) {
  (void)state;
  return mc_teardown();
}

static pv_hparams hparams_of(const char *path) {
  pv_gguf_file *f = NULL;
  pv_error err = {0};
  pv_hparams hp;
  if (pv_gguf_open(&f, path, &err) || pv_hparams_load(&hp, f, &err)) fail_msg("%s: %s", path, err.msg);
  pv_gguf_close(f);
  return hp;
}

/* KV memory for n blocks of this model's pool (the block size depends on the layer groups). */
static uint64_t kv_mem_for_blocks(const char *path, uint32_t n, uint32_t block_size) {
  const pagedvk_stats st = mc_pool_stats(path, 1u << 20, block_size, 32);
  return st.kv_bytes / st.blocks_total * n;
}

static void engine_matches_reference_both(const char *path) {
  mc_engine_matches_reference_bs(path, 16);
  mc_engine_matches_reference_bs(path, 8);
  /* prompts in chunks of 32 rows, ten requests in a pool one block larger than the longest
   * request (60 tokens) holds over its layer groups (a sliding group at most its window plus a
   * chunk): preemption by recompute */
  const pv_hparams hp = hparams_of(path);
  uint32_t windows[PV_MAX_LAYERS];
  for (uint32_t l = 0; l < hp.n_layer; l++) windows[l] = hp.layer[l].window;
  pv_kv_layout lay;
  pv_error lerr = {0};
  if (pv_kv_layout_plan(&lay, windows, hp.n_layer, false, 0, &lerr)) fail_msg("%s", lerr.msg);
  uint32_t need = 0;
  for (uint32_t g = 0; g < lay.n_groups; g++) {
    const uint32_t all = (MC_MAX_PROMPT + MC_MAX_GEN + 7) / 8, w = lay.window[g];
    const uint32_t reach = w ? (w - 1 + 32 + 7) / 8 + 1 : all;
    need += reach < all ? reach : all;
  }
  pv_kv_layout_free(&lay);
  pagedvk_stats st;
  mc_engine_matches_reference_opts(path, 8, kv_mem_for_blocks(path, need + 1, 8), 32, &st);
  if (st.preemptions == 0) fail_msg("%s: no preemption in a pool of %u blocks", path, st.blocks_total);
}

static void test_qwen3_qk_norm(void **state) {
  (void)state;
  char path[512];
  mc_mkmodel(SMALL "--arch qwen3 --head-dim 32 --rope-base 1000000 --rms-eps 1e-6", "qwen3.gguf", path, sizeof path);
  const pv_hparams hp = hparams_of(path);
  assert_true(hp.qk_norm);
  assert_int_equal(hp.rope_style, PV_ROPE_NEOX);
  assert_int_equal(hp.head_dim, 32);
  pv_gguf_file *f = NULL;
  pv_ref *r = mc_open_ref(path, &f);
  assert_true(r->hp.n_vocab <= 1024);
  mc_ref_logits_of(r, PROBE, PV_ARRAY_LEN(PROBE), logits_on);
  float *saved[2][2];
  for (uint32_t l = 0; l < 2; l++) {
    saved[l][0] = r->layers[l].q_norm, saved[l][1] = r->layers[l].k_norm;
    assert_non_null(saved[l][0]);
    r->layers[l].q_norm = r->layers[l].k_norm = NULL;
  }
  mc_ref_logits_of(r, PROBE, PV_ARRAY_LEN(PROBE), logits_off);
  for (uint32_t l = 0; l < 2; l++) r->layers[l].q_norm = saved[l][0], r->layers[l].k_norm = saved[l][1];
  const double d = mc_max_diff(logits_on, logits_off, r->hp.n_vocab);
  fprintf(stderr, "qwen3: reference logits with and without QK-norm differ by %.3g\n", d);
  assert_true(d > 0.5);
  pv_ref_destroy(r);
  pv_gguf_close(f);
  engine_matches_reference_both(path);
}

static void test_smollm3_nope(void **state) {
  (void)state;
  char path[512];
  mc_mkmodel(SMALL "--arch smollm3 --n-layer 8 --n-head-kv 1", "smollm3.gguf", path, sizeof path);
  const pv_hparams hp = hparams_of(path);
  for (uint32_t l = 0; l < 8; l++) assert_int_equal(hp.layer[l].no_rope, l == 3 || l == 7);
  pv_gguf_file *f = NULL;
  pv_ref *r = mc_open_ref(path, &f);
  mc_ref_logits_of(r, PROBE, PV_ARRAY_LEN(PROBE), logits_on);
  r->hp.layer[3].no_rope = r->hp.layer[7].no_rope = false; /* every layer rotated, as llama */
  mc_ref_logits_of(r, PROBE, PV_ARRAY_LEN(PROBE), logits_off);
  const double d = mc_max_diff(logits_on, logits_off, r->hp.n_vocab);
  fprintf(stderr, "smollm3: reference logits with and without NoPE layers differ by %.3g\n", d);
  assert_true(d > 0.5);
  pv_ref_destroy(r);
  pv_gguf_close(f);
  engine_matches_reference_both(path);
}

static void test_granite_scales(void **state) {
  (void)state;
  char path[512];
  /* scales of the same kinds as syn-granite.gguf's (12, 0.22, 0.0625, 8), chosen so that in this
   * small model each one moves the logits */
  mc_mkmodel(SMALL "--arch granite --n-head 2 --n-head-kv 1 --scales 2,0.6,0.5,4", "granite.gguf", path, sizeof path);
  const pv_hparams hp = hparams_of(path);
  assert_true(hp.embd_scale == 2.0f && hp.residual_scale == 0.6f && hp.attn_scale == 0.5f && hp.logit_scale == 4.0f);
  pv_gguf_file *f = NULL;
  pv_ref *r = mc_open_ref(path, &f);
  mc_ref_logits_of(r, PROBE, PV_ARRAY_LEN(PROBE), logits_on);
  float *fields[] = {&r->hp.embd_scale, &r->hp.residual_scale, &r->hp.attn_scale, &r->hp.logit_scale};
  const char *names[] = {"embedding_scale", "residual_scale", "attention.scale", "logit_scale"};
  const float neutral[] = {1.0f, 1.0f, 1.0f / sqrtf(32.0f), 1.0f};
  for (int i = 0; i < 4; i++) {
    const float keep = *fields[i];
    *fields[i] = neutral[i];
    mc_ref_logits_of(r, PROBE, PV_ARRAY_LEN(PROBE), logits_off);
    *fields[i] = keep;
    const double d = mc_max_diff(logits_on, logits_off, r->hp.n_vocab);
    fprintf(stderr, "granite: reference logits with and without %s differ by %.3g\n", names[i], d);
    assert_true(d > 0.1);
  }
  pv_ref_destroy(r);
  pv_gguf_close(f);
  engine_matches_reference_both(path);
  mc_engine_logprobs_match(path, PROBE, 12, 6, 2e-3);
}

/* The reference's logits for PROBE differ from logits_on by more than `min` after `off` (which
 * changes the loaded reference) ... */
static void differs(pv_ref *r, const char *what, double min) {
  mc_ref_logits_of(r, PROBE, PV_ARRAY_LEN(PROBE), logits_off);
  const double d = mc_max_diff(logits_on, logits_off, r->hp.n_vocab);
  fprintf(stderr, "%s: reference logits with and without it differ by %.3g\n", what, d);
  if (!(d > min)) fail_msg("%s does not change the reference's logits (%.3g)", what, d);
}

static void test_gemma2(void **state) {
  (void)state;
  char path[512];
  mc_mkmodel("--arch gemma2 --n-embd 64 --n-head 2 --n-head-kv 1 --head-dim 32 --n-ff 128 --n-layer 4 --ctx 256 "
             "--seed 13 --tied --rms-eps 1e-6 --sliding-window 6 --attn-softcap 1.5 --final-softcap 3",
             "gemma2.gguf", path, sizeof path);
  const pv_hparams hp = hparams_of(path);
  for (uint32_t l = 0; l < 4; l++) assert_int_equal(hp.layer[l].window, l % 2 ? 0 : 6);
  assert_true(hp.post_norms && hp.ffn_gelu && hp.embd_scale == 8.0f);
  assert_true(hp.attn_softcap == 1.5f && hp.final_softcap == 3.0f);
  pv_gguf_file *f = NULL;
  pv_ref *r = mc_open_ref(path, &f);
  mc_ref_logits_of(r, PROBE, PV_ARRAY_LEN(PROBE), logits_on);
  for (uint32_t l = 0; l < 4; l += 2) r->hp.layer[l].window = 0;
  differs(r, "gemma2 sliding window", 0.3);
  for (uint32_t l = 0; l < 4; l += 2) r->hp.layer[l].window = 6;
  r->hp.attn_softcap = 0.0f;
  differs(r, "gemma2 attention soft-cap", 0.3);
  r->hp.attn_softcap = 1.5f;
  r->hp.final_softcap = 0.0f;
  differs(r, "gemma2 final soft-cap", 0.5);
  r->hp.final_softcap = 3.0f;
  r->hp.embd_scale = 1.0f;
  differs(r, "gemma2 embedding scale", 0.3);
  r->hp.embd_scale = 8.0f;
  r->hp.ffn_gelu = false;
  differs(r, "gemma2 GeGLU", 0.3);
  r->hp.ffn_gelu = true;
  float *post[4][2];
  for (uint32_t l = 0; l < 4; l++) {
    post[l][0] = r->layers[l].post_attn_norm, post[l][1] = r->layers[l].post_ffn_norm;
    assert_true(post[l][0] && post[l][1]);
    r->layers[l].post_attn_norm = r->layers[l].post_ffn_norm = NULL;
  }
  differs(r, "gemma2 post norms", 0.3);
  for (uint32_t l = 0; l < 4; l++) r->layers[l].post_attn_norm = post[l][0], r->layers[l].post_ffn_norm = post[l][1];
  pv_ref_destroy(r);
  pv_gguf_close(f);
  engine_matches_reference_both(path);
  mc_engine_logprobs_match(path, PROBE, 12, 6, 2e-3);
}

static void test_gemma3(void **state) {
  (void)state;
  char path[512];
  mc_mkmodel("--arch gemma3 --n-embd 64 --n-head 4 --n-head-kv 2 --head-dim 64 --n-ff 128 --n-layer 6 --ctx 256 "
             "--seed 17 --tied --rms-eps 1e-6 --rope-base 1000000 --sliding-window 5 --swa-pattern 3",
             "gemma3.gguf", path, sizeof path);
  const pv_hparams hp = hparams_of(path);
  for (uint32_t l = 0; l < 6; l++) {
    assert_int_equal(hp.layer[l].window, l % 3 == 2 ? 0 : 5);
    assert_true(hp.layer[l].rope_base == (l % 3 == 2 ? 1e6f : 10000.0f));
  }
  assert_true(hp.qk_norm && hp.post_norms && hp.ffn_gelu && hp.attn_softcap == 0.0f && hp.final_softcap == 0.0f);
  pv_gguf_file *f = NULL;
  pv_ref *r = mc_open_ref(path, &f);
  mc_ref_logits_of(r, PROBE, PV_ARRAY_LEN(PROBE), logits_on);
  for (uint32_t l = 0; l < 6; l++) r->hp.layer[l].window = 0;
  differs(r, "gemma3 sliding window", 0.3);
  for (uint32_t l = 0; l < 6; l++) r->hp.layer[l].window = hp.layer[l].window;
  for (uint32_t l = 0; l < 6; l++) r->hp.layer[l].rope_base = 1e6f;
  differs(r, "gemma3 local RoPE base", 0.3);
  for (uint32_t l = 0; l < 6; l++) r->hp.layer[l].rope_base = hp.layer[l].rope_base;
  pv_ref_destroy(r);
  pv_gguf_close(f);
  engine_matches_reference_both(path);
}

/* Rows [row0, row0 + rows) of the dequantized tensor `name` equal `got` (rows x ne0). */
static void rows_equal(const pv_gguf_file *f, const char *name, uint64_t row0, uint64_t rows, const float *got) {
  const pv_gguf_tensor *t = pv_gguf_find_tensor(f, name);
  assert_non_null(t);
  float *all = malloc(t->ne[0] * t->ne[1] * sizeof *all);
  pv_error err = {0};
  assert_non_null(all);
  if (pv_dequantize_tensor(t, all, &err)) fail_msg("%s", err.msg);
  assert_true(row0 + rows <= t->ne[1]);
  assert_memory_equal(all + row0 * t->ne[0], got, rows * t->ne[0] * sizeof *all);
  free(all);
}

static void test_phi3_fused(void **state) {
  (void)state;
  char path[512];
  mc_mkmodel(SMALL "--arch phi3 --n-head 2 --n-head-kv 1 --type Q8_0", "phi3.gguf", path, sizeof path);
  const pv_hparams hp = hparams_of(path);
  assert_true(hp.fused_qkv && hp.fused_gate_up && !hp.rope_longrope);
  assert_int_equal(hp.rope_style, PV_ROPE_NEOX);
  pv_gguf_file *f = NULL;
  pv_ref *r = mc_open_ref(path, &f);
  const uint64_t q = 64, kv = 32, ff = 128;
  for (uint32_t l = 0; l < 2; l++) {
    char qkv[64], up[64];
    snprintf(qkv, sizeof qkv, "blk.%u.attn_qkv.weight", l);
    snprintf(up, sizeof up, "blk.%u.ffn_up.weight", l);
    rows_equal(f, qkv, 0, q, r->layers[l].wq);
    rows_equal(f, qkv, q, kv, r->layers[l].wk);
    rows_equal(f, qkv, q + kv, kv, r->layers[l].wv);
    rows_equal(f, up, 0, ff, r->layers[l].w_gate);
    rows_equal(f, up, ff, ff, r->layers[l].w_up);
  }
  pv_ref_destroy(r);
  pv_gguf_close(f);
  engine_matches_reference_both(path);
}

static void test_phi3_longrope(void **state) {
  (void)state;
  char plain[512], lng[512], shrt[512];
  /* the same weights (the factors draw no random numbers); the reference's context (61 tokens) and
   * the engine's (128) are above an original context of 32 (long factors) and below 4096 (short) */
  mc_mkmodel(SMALL "--arch phi3 --orig-ctx 32", "plain.gguf", plain, sizeof plain);
  mc_mkmodel(SMALL "--arch phi3 --orig-ctx 32 --rope-factors", "long.gguf", lng, sizeof lng);
  mc_mkmodel(SMALL "--arch phi3 --orig-ctx 4096 --rope-factors", "short.gguf", shrt, sizeof shrt);
  const pv_hparams hp = hparams_of(lng);
  assert_true(hp.rope_longrope);
  assert_int_equal(hp.rope_orig_ctx, 32);
  static float a[1024], b[1024], c[1024];
  uint32_t n = 0;
  mc_ref_logits(plain, PROBE, PV_ARRAY_LEN(PROBE), a, &n);
  mc_ref_logits(lng, PROBE, PV_ARRAY_LEN(PROBE), b, &n);
  mc_ref_logits(shrt, PROBE, PV_ARRAY_LEN(PROBE), c, &n);
  const double d_long = mc_max_diff(a, b, n), d_short = mc_max_diff(a, c, n), d_sets = mc_max_diff(b, c, n);
  fprintf(stderr, "phi3 LongRoPE: reference logits: long vs none %.3g, short vs none %.3g, long vs short %.3g\n",
          d_long, d_short, d_sets);
  assert_true(d_long > 0.5 && d_short > 0.1 && d_sets > 0.5);
  mc_engine_matches_reference(lng);
  mc_engine_matches_reference(shrt);
  /* rope.scaling.attn_factor (phi-4-mini-like: 24 of 32 dims rotated): the rotated dims only are scaled */
  char af[512];
  mc_mkmodel(SMALL "--arch phi3 --head-dim 32 --rope-dim 24 --orig-ctx 32 --rope-factors --attn-factor 1.6", "af.gguf",
             af, sizeof af);
  pv_gguf_file *f = NULL;
  pv_ref *r = mc_open_ref(af, &f);
  assert_true(r->hp.rope_attn_factor == 1.6f);
  mc_ref_logits_of(r, PROBE, PV_ARRAY_LEN(PROBE), logits_on);
  r->hp.rope_attn_factor = 1.0f;
  mc_ref_logits_of(r, PROBE, PV_ARRAY_LEN(PROBE), logits_off);
  const double d_af = mc_max_diff(logits_on, logits_off, r->hp.n_vocab);
  fprintf(stderr, "phi3 rope attn_factor: reference logits with and without it differ by %.3g\n", d_af);
  assert_true(d_af > 0.5);
  pv_ref_destroy(r);
  pv_gguf_close(f);
  engine_matches_reference_both(af);
}

/* rope.dimension_count below the head size: only the first rope_dim dimensions of each head turn
 * (normal pairs for llama, NeoX pairs among them for phi3, as phi-4-mini's 96 of 128). */
static void test_partial_rotary(void **state) {
  (void)state;
  const char *args[] = {SMALL "--arch llama --head-dim 32 --rope-dim 16",
                        SMALL "--arch phi3 --head-dim 32 --rope-dim 24"};
  for (int i = 0; i < 2; i++) {
    char path[512], name[32];
    snprintf(name, sizeof name, "partial%d.gguf", i);
    mc_mkmodel(args[i], name, path, sizeof path);
    pv_gguf_file *f = NULL;
    pv_ref *r = mc_open_ref(path, &f);
    assert_int_equal(r->hp.rope_dim, i ? 24 : 16);
    mc_ref_logits_of(r, PROBE, PV_ARRAY_LEN(PROBE), logits_on);
    r->hp.rope_dim = r->hp.head_dim;
    mc_ref_logits_of(r, PROBE, PV_ARRAY_LEN(PROBE), logits_off);
    const double d = mc_max_diff(logits_on, logits_off, r->hp.n_vocab);
    fprintf(stderr, "%s: reference logits with partial and full rotation differ by %.3g\n", args[i], d);
    assert_true(d > 0.5);
    pv_ref_destroy(r);
    pv_gguf_close(f);
    engine_matches_reference_both(path);
  }
}

static void test_q8_shared_models(void **state) {
  (void)state;
  /* the test models of tests/make_models.cmake first (no ../shared needed), then the other files
   * of ../shared/models (llama.cpp-quantized types and the other architectures) when present */
  static const char *const twins[] = {"syn-llama-q4k.gguf", "syn-qwen2-f16.gguf", "syn-gemma2.gguf"};
  static const char *const shared[] = {
      "models/syn-gemma3.gguf",       "models/syn-granite.gguf",     "models/syn-llama-headdim.gguf",
      "models/syn-llama-iq4_nl.gguf", "models/syn-llama-iq4_xs.gguf", "models/syn-llama-q2_k.gguf",
      "models/syn-llama-q3_k_m.gguf", "models/syn-llama-ropefreqs.gguf", "models/syn-phi3.gguf",
      "models/syn-qwen3.gguf",        "models/syn-smollm3.gguf",     "models/llama-2-tiny-random.gguf"};
  static const uint32_t sizes[] = {8, 16, 32};
  uint32_t compared = 0;
  for (size_t i = 0; i < PV_ARRAY_LEN(twins) + PV_ARRAY_LEN(shared); i++) {
    char path[1024];
    if (i < PV_ARRAY_LEN(twins))
      pv_test_model_path(path, sizeof path, twins[i]);
    else if (!pv_test_shared_path(path, sizeof path, shared[i - PV_ARRAY_LEN(twins)]))
      continue;
    pv_gguf_file *f = NULL;
    pv_error err = {0};
    pv_hparams hp;
    if (pv_gguf_open(&f, path, &err) || pv_hparams_load(&hp, f, &err)) fail_msg("%s: %s", path, err.msg);
    pv_gguf_close(f);
    if (hp.head_dim % 32) { /* no q8_0 blocks: refused, saying why */
      pagedvk_engine_options o;
      pagedvk_engine_options_default(&o);
      o.model_path = path;
      o.kv_mem = 1u << 20;
      o.kv_type = PAGEDVK_KV_Q8_0;
      char msg[512];
      pagedvk_engine *e = NULL;
      assert_int_equal(pagedvk_engine_create(&e, &o, msg, sizeof msg), PAGEDVK_ERR_UNSUPPORTED);
      assert_non_null(strstr(msg, "multiple of 32"));
      continue;
    }
#ifdef __SANITIZE_ADDRESS__
    /* the sanitizer build: three models (every block size) run the code; numbers are the normal build's */
    if (compared == 3) break;
#endif
    mc_kv_type = PAGEDVK_KV_Q8_0;
    mc_engine_matches_reference_ctx(path, sizes[compared % 3], 4u << 20, 64, 128, NULL);
    mc_kv_type = PAGEDVK_KV_F16;
    compared++;
  }
  if (!compared) skip();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_qwen3_qk_norm),
      cmocka_unit_test(test_smollm3_nope),
      cmocka_unit_test(test_granite_scales),
      cmocka_unit_test(test_gemma2),
      cmocka_unit_test(test_gemma3),
      cmocka_unit_test(test_phi3_fused),
      cmocka_unit_test(test_phi3_longrope),
      cmocka_unit_test(test_partial_rotary),
      cmocka_unit_test(test_q8_shared_models),
  };
  if (getenv("PV_TEST_FILTER")) cmocka_set_test_filter(getenv("PV_TEST_FILTER"));
  return cmocka_run_group_tests(tests, setup, teardown);
}
