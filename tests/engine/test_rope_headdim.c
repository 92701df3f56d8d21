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
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "devkit/gguf_write.h"
#include "model/ref.h"
#include "pagedvk.h"

#define N_JOBS 10
#define MAX_PROMPT 44
#define MAX_GEN 16
#define NEAR_TIE 0.02f /* as test_engine.c: f16 K/V may flip a near-tie */
#define BASE_ARGS "--n-embd 64 --n-head 4 --n-head-kv 2 --n-ff 128 --n-layer 2 --ctx 64 --seed 7"

static char tmpdir[256];

static int setup(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/pv_rope_headdim_XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

/* Writes tmpdir/out with mkmodel BASE_ARGS + args; skips the test when mkmodel is not built. */
static void mkmodel(const char *args, const char *out, char *path, size_t size) {
  char bin[512], cmd[2048];
  snprintf(bin, sizeof bin, "%s/mkmodel", PV_BINARY_DIR);
  if (access(bin, X_OK) != 0) skip();
  snprintf(path, size, "%s/%s", tmpdir, out);
  snprintf(cmd, sizeof cmd, "'%s' " BASE_ARGS " %s -o '%s' >/dev/null 2>&1", bin, args, path);
  int rc = system(cmd);
  if (!WIFEXITED(rc) || WEXITSTATUS(rc)) fail_msg("mkmodel failed: %s", cmd);
}

static pv_ref *open_ref(const char *path, pv_gguf_file **f) {
  pv_error err = {0};
  pv_ref *r = NULL;
  if (pv_gguf_open(f, path, &err) || pv_ref_create(&r, *f, MAX_PROMPT + MAX_GEN + 1, &err))
    fail_msg("%s: %s", path, err.msg);
  return r;
}

/* The reference's logits after feeding `n` tokens (the last position's). */
static void ref_logits(const char *path, const int32_t *tokens, uint32_t n, float *out, uint32_t *n_vocab) {
  pv_gguf_file *f = NULL;
  pv_ref *r = open_ref(path, &f);
  pv_error err = {0};
  const float *logits = NULL;
  for (uint32_t i = 0; i < n; i++)
    if (pv_ref_step(r, tokens[i], i + 1 == n ? &logits : NULL, &err)) fail_msg("%s", err.msg);
  *n_vocab = r->hp.n_vocab;
  memcpy(out, logits, *n_vocab * sizeof *out);
  pv_ref_destroy(r);
  pv_gguf_close(f);
}

static double max_diff(const float *a, const float *b, uint32_t n) {
  double d = 0;
  for (uint32_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
  return d;
}

typedef struct job {
  int32_t prompt[MAX_PROMPT], want[MAX_GEN], got[MAX_GEN];
  float margin[MAX_GEN];
  uint32_t n_prompt, n_gen, n_got;
  int finished;
} job;

static void on_token(const pagedvk_token_event *ev, void *user) {
  job *j = user;
  if (ev->index != 0) return;
  if (ev->token >= 0 && j->n_got < MAX_GEN) j->got[j->n_got++] = ev->token;
  if (ev->finish != PAGEDVK_FINISH_NONE) j->finished++;
}

/* A ragged batch of greedy requests (prompts of 1..44 tokens, up to 16 generated: within the
 * models' context of 64) through the engine, each equal to the reference's. */
static void engine_matches_reference(const char *path) {
  static job jobs[N_JOBS];
  pv_gguf_file *f = NULL;
  pv_ref *r = open_ref(path, &f);
  pv_error perr = {0};
  srand(42);
  for (uint32_t i = 0; i < N_JOBS; i++) {
    job *j = &jobs[i];
    memset(j, 0, sizeof *j);
    j->n_prompt = 1 + (uint32_t)rand() % MAX_PROMPT;
    j->prompt[0] = 1;
    for (uint32_t k = 1; k < j->n_prompt; k++) j->prompt[k] = 3 + rand() % (int)(r->hp.n_vocab - 3);
    j->n_gen = 1 + (uint32_t)rand() % MAX_GEN;
    if (pv_ref_greedy_margins(r, j->prompt, j->n_prompt, j->n_gen, j->want, j->margin, &perr))
      fail_msg("reference: %s", perr.msg);
  }
  pv_ref_destroy(r);
  pv_gguf_close(f);

  pagedvk_engine_options o;
  pagedvk_engine_options_default(&o);
  o.model_path = path;
  o.kv_mem = 4u << 20;
  o.block_size = 16;
  o.max_num_batched_tokens = 128;
  o.max_num_seqs = 16;
  o.max_model_len = 128;
  char err[512];
  pagedvk_engine *e = NULL;
  if (pagedvk_engine_create(&e, &o, err, sizeof err)) fail_msg("engine: %s", err);
  for (uint32_t i = 0; i < N_JOBS; i++) {
    pagedvk_sampling_params sp;
    pagedvk_sampling_params_default(&sp);
    sp.temperature = 0.0f;
    sp.max_tokens = jobs[i].n_gen;
    sp.ignore_eos = 1;
    if (pagedvk_engine_add_request(e, jobs[i].prompt, jobs[i].n_prompt, &sp, on_token, &jobs[i], NULL, err, sizeof err))
      fail_msg("add: %s", err);
  }
  if (pagedvk_engine_run_until_idle(e, err, sizeof err)) fail_msg("run: %s", err);
  pagedvk_engine_destroy(e);
  for (uint32_t i = 0; i < N_JOBS; i++) {
    const job *j = &jobs[i];
    assert_int_equal(j->finished, 1);
    assert_int_equal(j->n_got, j->n_gen);
    for (uint32_t k = 0; k < j->n_gen; k++) {
      if (j->got[k] == j->want[k]) continue;
      fprintf(stderr, "%s: job %u (prompt %u): token %u: got %d want %d (reference margin %g)\n", path, i,
              j->n_prompt, k, j->got[k], j->want[k], j->margin[k]);
      assert_true(j->margin[k] < NEAR_TIE);
      break;
    }
  }
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
  ref_logits(plain, PROBE, len, a, &n);
  ref_logits(freqs, PROBE, len, b, &n);
  ref_logits(meta, PROBE, len, c, &n);
  assert_true(n <= 1024);
  /* same weights (rope_freqs draws no random numbers): only the rotation differs */
  const double d_plain = max_diff(a, b, n), d_meta = max_diff(b, c, n);
  fprintf(stderr, "reference logits: rope_freqs vs none %.3g, metadata vs rope_freqs %.3g\n", d_plain, d_meta);
  assert_true(d_plain > 0.05);
  assert_true(d_meta < 1e-3);
  engine_matches_reference(freqs);
  engine_matches_reference(meta);
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
  engine_matches_reference(path);
  engine_matches_reference(both);
}

/* A minimal llama file of metadata only, with `extra` keys (NULL-terminated key/value pairs;
 * a value starting with '=' is a string, else an unsigned or float number). */
static int hparams_of(const char *const *extra, pv_hparams *hp, pv_error *err) {
  char path[512];
  snprintf(path, sizeof path, "%s/meta_only.gguf", tmpdir);
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
