/*
 * model_check.h — shared by the engine tests of model layouts and architectures
 * (test_rope_headdim.c, test_archs.c): models written by the built mkmodel into a temporary
 * directory, the CPU reference's logits, and a ragged batch of greedy requests through the engine
 * compared with the reference token by token.
 * Header-only: every tests/engine/test_*.c is its own executable.
 */
#ifndef PV_TEST_MODEL_CHECK_H
#define PV_TEST_MODEL_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model/ref.h"
#include "pagedvk.h"

#define MC_N_JOBS 10
#define MC_MAX_PROMPT 44
#define MC_MAX_GEN 16
#define MC_NEAR_TIE 0.02f /* as test_engine.c: f16 K/V may flip a near-tie */

static char mc_tmpdir[256];
/* The KV pool type of the engines below; the references quantize their caches to match (q8_0). */
static pagedvk_kv_type mc_kv_type = PAGEDVK_KV_F16;

static inline int mc_setup(const char *name) {
  snprintf(mc_tmpdir, sizeof mc_tmpdir, "/tmp/pv_%s_XXXXXX", name);
  return mkdtemp(mc_tmpdir) ? 0 : -1;
}

static inline int mc_teardown(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", mc_tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

/* Writes mc_tmpdir/out with `mkmodel args`; skips the test when mkmodel is not built. */
static inline void mc_mkmodel(const char *args, const char *out, char *path, size_t size) {
  char bin[512], cmd[2048];
  snprintf(bin, sizeof bin, "%s/mkmodel", PV_BINARY_DIR);
  if (access(bin, X_OK) != 0) skip();
  snprintf(path, size, "%s/%s", mc_tmpdir, out);
  snprintf(cmd, sizeof cmd, "'%s' %s -o '%s' >/dev/null 2>&1", bin, args, path);
  int rc = system(cmd);
  if (!WIFEXITED(rc) || WEXITSTATUS(rc)) fail_msg("mkmodel failed: %s", cmd);
}

static inline pv_ref *mc_open_ref(const char *path, pv_gguf_file **f) {
  pv_error err = {0};
  pv_ref *r = NULL;
  if (pv_gguf_open(f, path, &err) || pv_ref_create(&r, *f, MC_MAX_PROMPT + MC_MAX_GEN + 1, &err))
    fail_msg("%s: %s", path, err.msg);
  r->kv_q8 = mc_kv_type == PAGEDVK_KV_Q8_0;
  return r;
}

/* The reference's logits after feeding `n` tokens from an empty context (the last position's). */
static inline void mc_ref_logits_of(pv_ref *r, const int32_t *tokens, uint32_t n, float *out) {
  pv_error err = {0};
  const float *logits = NULL;
  pv_ref_reset(r);
  for (uint32_t i = 0; i < n; i++)
    if (pv_ref_step(r, tokens[i], i + 1 == n ? &logits : NULL, &err)) fail_msg("%s", err.msg);
  memcpy(out, logits, r->hp.n_vocab * sizeof *out);
}

static inline void mc_ref_logits(const char *path, const int32_t *tokens, uint32_t n, float *out, uint32_t *n_vocab) {
  pv_gguf_file *f = NULL;
  pv_ref *r = mc_open_ref(path, &f);
  mc_ref_logits_of(r, tokens, n, out);
  *n_vocab = r->hp.n_vocab;
  pv_ref_destroy(r);
  pv_gguf_close(f);
}

static inline double mc_max_diff(const float *a, const float *b, uint32_t n) {
  double d = 0;
  for (uint32_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
  return d;
}

typedef struct mc_job {
  int32_t prompt[MC_MAX_PROMPT], want[MC_MAX_GEN], got[MC_MAX_GEN];
  float margin[MC_MAX_GEN];
  uint32_t n_prompt, n_gen, n_got;
  int finished;
} mc_job;

static inline void mc_on_token(const pagedvk_token_event *ev, void *user) {
  mc_job *j = user;
  if (ev->index != 0) return;
  if (ev->token >= 0 && j->n_got < MC_MAX_GEN) j->got[j->n_got++] = ev->token;
  if (ev->finish != PAGEDVK_FINISH_NONE) j->finished++;
}

/* A ragged batch of greedy requests (prompts of 1..44 tokens, up to 16 generated) through the
 * engine with KV blocks of block_size tokens, each equal to the reference's. The requests start
 * together and end at different steps, so the blocks of the later ones come back from the free
 * list out of order. */
static inline void mc_engine_matches_reference_ctx(const char *path, uint32_t block_size, uint64_t kv_mem,
                                                   uint32_t batch_tokens, uint32_t max_model_len,
                                                   pagedvk_stats *stats) {
  static mc_job jobs[MC_N_JOBS];
  pv_gguf_file *f = NULL;
  pv_ref *r = mc_open_ref(path, &f);
  pv_error perr = {0};
  srand(42);
  for (uint32_t i = 0; i < MC_N_JOBS; i++) {
    mc_job *j = &jobs[i];
    memset(j, 0, sizeof *j);
    j->n_prompt = 1 + (uint32_t)rand() % MC_MAX_PROMPT;
    j->prompt[0] = 1;
    for (uint32_t k = 1; k < j->n_prompt; k++) j->prompt[k] = 3 + rand() % (int)(r->hp.n_vocab - 3);
    j->n_gen = 1 + (uint32_t)rand() % MC_MAX_GEN;
    if (pv_ref_greedy_margins(r, j->prompt, j->n_prompt, j->n_gen, j->want, j->margin, &perr))
      fail_msg("reference: %s", perr.msg);
  }
  pv_ref_destroy(r);
  pv_gguf_close(f);

  pagedvk_engine_options o;
  pagedvk_engine_options_default(&o);
  o.model_path = path;
  o.kv_mem = kv_mem;
  o.block_size = block_size;
  o.max_num_batched_tokens = batch_tokens;
  o.max_num_seqs = 16;
  o.max_model_len = max_model_len;
  o.kv_type = mc_kv_type;
  char err[512];
  pagedvk_engine *e = NULL;
  if (pagedvk_engine_create(&e, &o, err, sizeof err)) fail_msg("engine: %s", err);
  for (uint32_t i = 0; i < MC_N_JOBS; i++) {
    pagedvk_sampling_params sp;
    pagedvk_sampling_params_default(&sp);
    sp.temperature = 0.0f;
    sp.max_tokens = jobs[i].n_gen;
    sp.ignore_eos = 1;
    if (pagedvk_engine_add_request(e, jobs[i].prompt, jobs[i].n_prompt, &sp, mc_on_token, &jobs[i], NULL, err,
                                   sizeof err))
      fail_msg("add: %s", err);
  }
  if (pagedvk_engine_run_until_idle(e, err, sizeof err)) fail_msg("run: %s", err);
  if (stats) pagedvk_engine_stats(e, stats);
  pagedvk_engine_destroy(e);
  for (uint32_t i = 0; i < MC_N_JOBS; i++) {
    const mc_job *j = &jobs[i];
    assert_int_equal(j->finished, 1);
    assert_int_equal(j->n_got, j->n_gen);
    for (uint32_t k = 0; k < j->n_gen; k++) {
      if (j->got[k] == j->want[k]) continue;
      fprintf(stderr, "%s: job %u (prompt %u): token %u: got %d want %d (reference margin %g)\n", path, i,
              j->n_prompt, k, j->got[k], j->want[k], j->margin[k]);
      assert_true(j->margin[k] < MC_NEAR_TIE);
      break;
    }
  }
}

static inline void mc_engine_matches_reference_opts(const char *path, uint32_t block_size, uint64_t kv_mem,
                                                    uint32_t batch_tokens, pagedvk_stats *stats) {
  mc_engine_matches_reference_ctx(path, block_size, kv_mem, batch_tokens, 128, stats);
}

static inline void mc_engine_matches_reference_bs(const char *path, uint32_t block_size) {
  mc_engine_matches_reference_opts(path, block_size, 4u << 20, 128, NULL);
}

static inline void mc_engine_matches_reference(const char *path) { mc_engine_matches_reference_bs(path, 16); }

/* The stats of a fresh engine on `path` with this pool (nothing run; no warm-up): pool size and
 * blocks, which depend on the model's KV layer groups. */
static inline pagedvk_stats mc_pool_stats(const char *path, uint64_t kv_mem, uint32_t block_size,
                                          uint32_t batch_tokens) {
  pagedvk_engine_options o;
  pagedvk_engine_options_default(&o);
  o.model_path = path;
  o.kv_mem = kv_mem;
  o.block_size = block_size;
  o.max_num_batched_tokens = batch_tokens;
  o.max_num_seqs = 16;
  o.max_model_len = 128;
  o.warmup = 0;
  char err[512];
  pagedvk_engine *e = NULL;
  if (pagedvk_engine_create(&e, &o, err, sizeof err)) fail_msg("engine: %s", err);
  pagedvk_stats st;
  pagedvk_engine_stats(e, &st);
  pagedvk_engine_destroy(e);
  return st;
}

typedef struct mc_logprob_job {
  float logprob[MC_MAX_GEN];
  int32_t token[MC_MAX_GEN];
  uint32_t n;
} mc_logprob_job;

static inline void mc_on_logprob(const pagedvk_token_event *ev, void *user) {
  mc_logprob_job *j = user;
  if (ev->index != 0 || ev->token < 0 || j->n >= MC_MAX_GEN) return;
  j->token[j->n] = ev->token;
  j->logprob[j->n++] = ev->logprob;
}

/* One greedy request of n_gen tokens after `prompt` through the engine with log-probabilities:
 * each chosen token's log-probability (what the logits' scale changes, where the argmax does not)
 * is the reference's log-softmax within tol. */
static inline void mc_engine_logprobs_match(const char *path, const int32_t *prompt, uint32_t n_prompt,
                                            uint32_t n_gen, double tol) {
  pv_gguf_file *f = NULL;
  pv_ref *r = mc_open_ref(path, &f);
  pv_error perr = {0};
  float want[MC_MAX_GEN];
  int32_t ids[MC_MAX_GEN];
  const float *logits = NULL;
  assert_true(n_gen <= MC_MAX_GEN && n_prompt + n_gen < MC_MAX_PROMPT + MC_MAX_GEN);
  for (uint32_t i = 0; i < n_prompt + n_gen - 1; i++) {
    const int32_t tok = i < n_prompt ? prompt[i] : ids[i - n_prompt];
    if (pv_ref_step(r, tok, &logits, &perr)) fail_msg("reference: %s", perr.msg);
    if (i + 1 < n_prompt) continue;
    const uint32_t k = i + 1 - n_prompt, best = pv_ref_argmax(logits, r->hp.n_vocab);
    double sum = 0;
    for (uint32_t v = 0; v < r->hp.n_vocab; v++) sum += exp((double)logits[v] - logits[best]);
    ids[k] = (int32_t)best;
    want[k] = (float)-log(sum);
  }
  pv_ref_destroy(r);
  pv_gguf_close(f);
  pagedvk_engine_options o;
  pagedvk_engine_options_default(&o);
  o.model_path = path;
  o.kv_mem = 4u << 20;
  o.max_model_len = 128;
  char err[512];
  pagedvk_engine *e = NULL;
  if (pagedvk_engine_create(&e, &o, err, sizeof err)) fail_msg("engine: %s", err);
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  sp.temperature = 0.0f;
  sp.max_tokens = n_gen;
  sp.ignore_eos = 1;
  sp.logprobs = 1;
  mc_logprob_job j = {0};
  if (pagedvk_engine_add_request(e, prompt, n_prompt, &sp, mc_on_logprob, &j, NULL, err, sizeof err))
    fail_msg("add: %s", err);
  if (pagedvk_engine_run_until_idle(e, err, sizeof err)) fail_msg("run: %s", err);
  pagedvk_engine_destroy(e);
  assert_int_equal(j.n, n_gen);
  for (uint32_t k = 0; k < n_gen; k++) {
    assert_int_equal(j.token[k], ids[k]);
    if (fabs((double)j.logprob[k] - want[k]) > tol)
      fail_msg("%s: token %u: log-probability %g, reference %g", path, k, (double)j.logprob[k], (double)want[k]);
  }
}

#endif
