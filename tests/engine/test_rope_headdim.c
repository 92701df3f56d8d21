/*
 * Llama-3 RoPE scaling and head sizes from the file, end to end, on models the built mkmodel
 * writes (the test skips when it is absent):
 *   - rope_freqs.weight (--rope-freqs): the reference's logits differ from those of the same
 *     weights without the tensor (its divisors are applied), and the engine's greedy output of a
 *     ragged batch equals the reference's;
 *   - llama3 scaling as metadata only (--rope-llama3): the reference's logits equal the
 *     rope_freqs file's (divisors computed from the metadata are the tensor's), the engine
 *     equals the reference;
 *   - attention.key_length 32 where embedding/heads is 16 (--head-dim): the engine equals the
 *     reference, both with and without rope_freqs;
 *   - refused: key_length != value_length, llama3 metadata without a usable band; a scaling type
 *     the library does not implement (yarn) loads with a warning.
 * The models have a short original context (--ctx 64), so that most frequency pairs are scaled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "devkit/gguf_write.h"
#include "model_check.h"

#define BASE_ARGS "--n-embd 64 --n-head 4 --n-head-kv 2 --n-ff 128 --n-layer 2 --ctx 64 --seed 7 "

static int setup(void **state) {
  (void)state;
  return mc_setup("rope_headdim");
}

static int teardown(void **state) {
  (void)state;
  return mc_teardown();
}

static void mkmodel(const char *args, const char *out, char *path, size_t size) {
  char all[1024];
  snprintf(all, sizeof all, BASE_ARGS "%s", args);
  mc_mkmodel(all, out, path, size);
}

static const int32_t PROBE[] = {1, 100, 200, 57, 300, 9, 42, 250, 77, 180, 33, 120, 64, 5, 399, 222,
                                150, 11, 87, 260, 31, 199, 3, 140, 71, 310, 18, 240, 95, 130, 44, 205};

static void test_rope_freqs(void **state) {
  (void)state;
  char plain[512], freqs[512], meta[512];
  mkmodel("", "plain.gguf", plain, sizeof plain);
  mkmodel("--rope-freqs", "freqs.gguf", freqs, sizeof freqs);
  mkmodel("--rope-llama3", "meta.gguf", meta, sizeof meta);
  static float a[1024], b[1024], c[1024];
  uint32_t n = 0;
  const uint32_t len = PV_ARRAY_LEN(PROBE);
  mc_ref_logits(plain, PROBE, len, a, &n);
  mc_ref_logits(freqs, PROBE, len, b, &n);
  mc_ref_logits(meta, PROBE, len, c, &n);
  assert_true(n <= 1024);
  /* same weights (rope_freqs draws no random numbers): only the rotation differs */
  const double d_plain = mc_max_diff(a, b, n), d_meta = mc_max_diff(b, c, n);
  fprintf(stderr, "reference logits: rope_freqs vs none %.3g, metadata vs rope_freqs %.3g\n", d_plain, d_meta);
  assert_true(d_plain > 0.05);
  assert_true(d_meta < 1e-3);
  mc_engine_matches_reference(freqs);
  mc_engine_matches_reference(meta);
}

static void test_head_dim_from_file(void **state) {
  (void)state;
  char path[512], both[512];
  mkmodel("--head-dim 32", "hd.gguf", path, sizeof path);
  mkmodel("--head-dim 32 --rope-freqs --arch qwen2", "hd_qwen2.gguf", both, sizeof both);
  pv_gguf_file *f = NULL;
  pv_error err = {0};
  pv_hparams hp;
  if (pv_gguf_open(&f, path, &err) || pv_hparams_load(&hp, f, &err)) fail_msg("%s", err.msg);
  assert_int_equal(hp.head_dim, 32);
  assert_int_equal(hp.rope_dim, 32);
  assert_int_equal(hp.n_embd / hp.n_head, 16);
  pv_gguf_close(f);
  mc_engine_matches_reference(path);
  mc_engine_matches_reference(both);
}

/* A minimal llama file of metadata only, with `extra` keys (NULL-terminated key/value pairs;
 * a value starting with '=' is a string, else an unsigned or float number). */
static int hparams_of(const char *const *extra, pv_hparams *hp, pv_error *err) {
  char path[512];
  snprintf(path, sizeof path, "%s/meta_only.gguf", mc_tmpdir);
  pv_gguf_writer *w = NULL;
  int rc = pv_gguf_writer_create(&w, err);
  if (!rc) rc = pv_gguf_writer_add_str(w, "general.architecture", "llama", err);
  if (!rc) rc = pv_gguf_writer_add_str(w, "general.name", "meta-only", err);
  const char *u32_keys[][2] = {{"llama.embedding_length", "64"}, {"llama.block_count", "1"},
                               {"llama.attention.head_count", "4"}, {"llama.feed_forward_length", "128"}};
  for (size_t i = 0; i < PV_ARRAY_LEN(u32_keys) && !rc; i++)
    rc = pv_gguf_writer_add_u32(w, u32_keys[i][0], (uint32_t)atoi(u32_keys[i][1]), err);
  for (size_t i = 0; extra[i] && !rc; i += 2) {
    const char *v = extra[i + 1];
    if (v[0] == '=') rc = pv_gguf_writer_add_str(w, extra[i], v + 1, err);
    else if (strchr(v, '.')) rc = pv_gguf_writer_add_f32(w, extra[i], (float)atof(v), err);
    else rc = pv_gguf_writer_add_u32(w, extra[i], (uint32_t)atoi(v), err);
  }
  if (!rc) rc = pv_gguf_writer_write(w, path, err);
  pv_gguf_writer_destroy(w);
  pv_gguf_file *f = NULL;
  if (!rc) rc = pv_gguf_open(&f, path, err);
  if (!rc) rc = pv_hparams_load(hp, f, err);
  pv_gguf_close(f);
  return rc;
}

static void test_refusals_and_warnings(void **state) {
  (void)state;
  pv_hparams hp;
  pv_error err = {0};
  const char *kv_differ[] = {"llama.attention.key_length", "32", "llama.attention.value_length", "48", NULL};
  assert_int_equal(hparams_of(kv_differ, &hp, &err), PAGEDVK_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "value_length"));
  const char *v_only[] = {"llama.attention.value_length", "24", NULL};
  assert_int_equal(hparams_of(v_only, &hp, &err), PAGEDVK_OK);
  assert_int_equal(hp.head_dim, 24);
  const char *l3_bad[] = {"llama.rope.scaling.type", "=llama3", "llama.rope.scaling.factor", "8.0",
                          "llama.rope.scaling.low_freq_factor", "4.0", "llama.rope.scaling.high_freq_factor", "1.0",
                          NULL};
  assert_int_equal(hparams_of(l3_bad, &hp, &err), PAGEDVK_ERR_FORMAT);
  assert_non_null(strstr(err.msg, "llama3"));
  const char *l3[] = {"llama.rope.scaling.type", "=llama3", "llama.rope.scaling.factor", "32.0",
                      "llama.rope.scaling.original_context_length", "8192", NULL};
  assert_int_equal(hparams_of(l3, &hp, &err), PAGEDVK_OK);
  assert_true(hp.rope_llama3);
  assert_true(hp.rope_l3_factor == 32.0f && hp.rope_l3_low == 1.0f && hp.rope_l3_high == 4.0f);
  assert_true(hp.rope_pos_scale == 1.0f); /* the factor is not also taken as linear scaling */
  const char *yarn[] = {"llama.rope.scaling.type", "=yarn", "llama.rope.scaling.factor", "4.0", NULL};
  assert_int_equal(hparams_of(yarn, &hp, &err), PAGEDVK_OK); /* loads, with a warning naming the model */
  assert_false(hp.rope_llama3);
  assert_true(hp.rope_pos_scale == 1.0f);
  const char *linear[] = {"llama.rope.scaling.type", "=linear", "llama.rope.scaling.factor", "4.0", NULL};
  assert_int_equal(hparams_of(linear, &hp, &err), PAGEDVK_OK);
  assert_true(hp.rope_pos_scale == 0.25f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_refusals_and_warnings),
      cmocka_unit_test(test_rope_freqs),
      cmocka_unit_test(test_head_dim_from_file),
  };
  if (getenv("PV_TEST_FILTER")) cmocka_set_test_filter(getenv("PV_TEST_FILTER"));
  return cmocka_run_group_tests(tests, setup, teardown);
}
