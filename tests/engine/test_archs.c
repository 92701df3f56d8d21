/*
 * The architectures after llama and qwen2, each on models the built mkmodel writes (the test skips
 * when it is absent), and each mechanism in two ways:
 *   - it matters: the CPU reference's logits with the mechanism switched off (its weights taken out
 *     of the loaded reference, or a file without it) differ from those with it, so an
 *     implementation that ignored it would fail the comparison below;
 *   - the engine applies it: a ragged batch of greedy requests (blocks of 16 and of 8 tokens) equals
 *     the reference token by token.
 * qwen3: per-head RMS norm of q and k before RoPE (attn_q_norm, attn_k_norm), heads of 32 where
 * embedding / heads is 16.
 * smollm3: layers 3 and 7 of 8 without RoPE (NoPE); "off" rotates them too, as llama would.
 * granite: embedding_scale, residual_scale, attention.scale, logit_scale, each switched off alone
 *   (set to 1, or 1/sqrt(head size)) in the reference; the logit scale leaves the argmax alone, so
 *   the engine's log-probabilities are compared too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "model_check.h"

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

static void engine_matches_reference_both(const char *path) {
  mc_engine_matches_reference_bs(path, 16);
  mc_engine_matches_reference_bs(path, 8);
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_qwen3_qk_norm),
      cmocka_unit_test(test_smollm3_nope),
      cmocka_unit_test(test_granite_scales),
  };
  if (getenv("PV_TEST_FILTER")) cmocka_set_test_filter(getenv("PV_TEST_FILTER"));
  return cmocka_run_group_tests(tests, setup, teardown);
}
