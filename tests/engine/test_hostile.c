/*
 * Hostile models and requests against the engine (models from the built mkmodel; skips without it):
 *   - context_length near 2^32 (4294967295, 2^32 - 16): the engine opens with a context clamped to
 *     what its KV pool holds (it used to wrap the block-table size to 0 and read past a 4-byte
 *     buffer: wrong tokens, exit 0); the context reported is 2^20; a ragged batch equals the CPU
 *     reference; a prompt at the pool's context is refused with KV_FULL, one past 2^20 with TOO_LONG,
 *     the longest that fits runs;
 *   - non-finite logits: token 7's embedding is NaN, so exactly the requests whose prompt holds token
 *     7 get NaN logits. Each of them (greedy on the device argmax, sampled, with logprobs, n = 2,
 *     beam search) ends with FINISH_ERROR and PAGEDVK_ERR_NONFINITE, the healthy requests of the
 *     same steps equal the reference, every block comes back, and the engine serves a request after;
 *     a model whose output_norm is NaN fails every request the same way and keeps stepping
 *     (it used to answer greedy requests with garbage tokens, and sampled ones with INVALID);
 *   - stop_token_ids: 1000 of them, unsorted with repeats, stop exactly where the first listed one
 *     is generated; more than PAGEDVK_MAX_STOP_IDS ids, PAGEDVK_MAX_STOP strings or a stop string over
 *     PAGEDVK_MAX_STOP_BYTES are refused with INVALID;
 *   - add_request from four threads while pagedvk_engine_serve runs: each caller's id is the one its
 *     events carry (add_request reads nothing of a request once the step thread may own it).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model_check.h"

#define SHAPE "--n-embd 64 --n-head 2 --n-ff 128 --n-layer 2 --seed 5 "
#define POISON 7 /* the token whose embedding is NaN */

static int setup(void **state) {
  (void)state;
  return mc_setup("hostile");
}

static int teardown(void **state) {
  (void)state;
  return mc_teardown();
}

static pagedvk_engine *open_engine(const char *path, uint64_t kv_mem, uint32_t max_model_len) {
  pagedvk_engine_options o;
  pagedvk_engine_options_default(&o);
  o.model_path = path;
  o.kv_mem = kv_mem;
  o.max_num_seqs = 16;
  o.max_num_batched_tokens = 128;
  o.max_model_len = max_model_len;
  char err[512];
  pagedvk_engine *e = NULL;
  if (pagedvk_engine_create(&e, &o, err, sizeof err)) fail_msg("engine: %s", err);
  return e;
}

static void expect_pool_empty(pagedvk_engine *e) {
  pagedvk_stats st;
  pagedvk_engine_stats(e, &st);
  assert_int_equal(st.blocks_used, 0);
  assert_int_equal(st.requests_running + st.requests_waiting + st.requests_swapped, 0);
}

/* ---- context_length near 2^32 ----------------------------------------------------------------- */

static void test_huge_context_length(void **state) {
  (void)state;
  static const char *const ctxs[] = {"4294967295", "4294967280"};
  for (size_t c = 0; c < 2; c++) {
    char args[256], path[512], err[512];
    snprintf(args, sizeof args, SHAPE "--ctx %s", ctxs[c]);
    mc_mkmodel(args, c ? "ctx16.gguf" : "ctxmax.gguf", path, sizeof path);
    /* 1 MiB: 128 blocks of 16 tokens (2 layers x 2 x 2 heads x 32 x 16 x f16 = 8 KiB) */
    mc_engine_matches_reference_ctx(path, 16, 1u << 20, 128, 0, NULL);
    pagedvk_engine *e = open_engine(path, 1u << 20, 0);
    pagedvk_stats st;
    pagedvk_engine_stats(e, &st);
    /* the context is at most 2^20 tokens; the engine runs with what the pool holds: 128 blocks less
     * the 1% the scheduler keeps free for admission */
    assert_int_equal(pagedvk_engine_max_model_len(e), 1u << 20);
    const uint32_t ctx = (st.blocks_total - st.blocks_total / 100) * st.block_size;
    static int32_t prompt[4096];
    for (uint32_t i = 0; i < ctx + 1 && i < 4096; i++) prompt[i] = 3 + (int32_t)(i % 200);
    pagedvk_sampling_params sp;
    pagedvk_sampling_params_default(&sp);
    sp.temperature = 0;
    sp.max_tokens = 2;
    assert_int_equal(pagedvk_engine_add_request(e, prompt, ctx, &sp, NULL, NULL, NULL, err, sizeof err),
                     PAGEDVK_ERR_KV_FULL);
    assert_non_null(strstr(err, "--kv-mem"));
    static int32_t past[(1u << 20) + 1];
    assert_int_equal(pagedvk_engine_add_request(e, past, (1u << 20) + 1, &sp, NULL, NULL, NULL, err, sizeof err),
                     PAGEDVK_ERR_TOO_LONG);
    /* the longest prompt that fits runs, and ends at the context */
    mc_job j = {0};
    assert_int_equal(pagedvk_engine_add_request(e, prompt, ctx - 1, &sp, mc_on_token, &j, NULL, err, sizeof err), 0);
    if (pagedvk_engine_run_until_idle(e, err, sizeof err)) fail_msg("run: %s", err);
    assert_int_equal(j.finished, 1);
    assert_int_equal(j.n_got, 1);
    expect_pool_empty(e);
    pagedvk_engine_destroy(e);
  }
}

/* ---- non-finite logits -------------------------------------------------------------------------- */

typedef struct nf_job {
  int32_t prompt[32], want[16], got[16];
  float margin[16];
  uint32_t n_prompt, n_got, finals, n_samples;
  pagedvk_finish_reason finish;
  int status;
} nf_job;

static void nf_on_token(const pagedvk_token_event *ev, void *user) {
  nf_job *j = user;
  if (ev->token >= 0 && ev->index == 0 && j->n_got < 16) j->got[j->n_got++] = ev->token;
  if (ev->finish != PAGEDVK_FINISH_NONE) {
    j->finals++;
    j->finish = ev->finish;
    j->status = ev->status;
  }
}

enum { NF_GREEDY, NF_SAMPLED, NF_LOGPROBS, NF_N2, NF_BEAM, NF_SICK, NF_HEALTHY = NF_SICK, NF_JOBS = NF_SICK + 4 };

static void nf_params(uint32_t kind, pagedvk_sampling_params *sp) {
  pagedvk_sampling_params_default(sp);
  sp->temperature = 0.0f;
  sp->max_tokens = 6;
  sp->ignore_eos = 1;
  if (kind == NF_SAMPLED) sp->temperature = 0.8f, sp->seed = 3, sp->has_seed = 1;
  if (kind == NF_LOGPROBS) sp->logprobs = 3;
  if (kind == NF_N2) sp->n = 2, sp->temperature = 0.7f;
  if (kind == NF_BEAM) sp->beam_width = 2;
}

static void expect_nonfinite(const nf_job *j, uint32_t finals) {
  assert_int_equal(j->finals, finals);
  assert_int_equal(j->finish, PAGEDVK_FINISH_ERROR);
  assert_int_equal(j->status, PAGEDVK_ERR_NONFINITE);
  assert_int_equal(j->n_got, 0);
}

static void test_nan_embedding_row_fails_its_requests_only(void **state) {
  (void)state;
  char path[512], err[512];
  char args[256];
  snprintf(args, sizeof args, SHAPE "--ctx 256 --poison-tensor token_embd.weight --poison-row %d", POISON);
  mc_mkmodel(args, "nan_row.gguf", path, sizeof path);
  static nf_job jobs[NF_JOBS];
  memset(jobs, 0, sizeof jobs);
  pv_gguf_file *f = NULL;
  pv_ref *r = mc_open_ref(path, &f);
  pv_error perr = {0};
  for (uint32_t i = 0; i < NF_JOBS; i++) {
    nf_job *j = &jobs[i];
    j->n_prompt = 6 + 3 * i;
    for (uint32_t k = 0; k < j->n_prompt; k++) j->prompt[k] = 20 + (int32_t)((k * 7 + i * 13) % 150);
    if (i < NF_SICK) j->prompt[j->n_prompt / 2] = POISON;
    else if (pv_ref_greedy_margins(r, j->prompt, j->n_prompt, 6, j->want, j->margin, &perr))
      fail_msg("reference: %s", perr.msg);
    for (uint32_t k = 0; i >= NF_SICK && k < 6; k++) assert_int_not_equal(j->want[k], POISON);
  }
  pv_ref_destroy(r);
  pv_gguf_close(f);
  pagedvk_engine *e = open_engine(path, 1u << 20, 256);
  for (uint32_t i = 0; i < NF_JOBS; i++) {
    pagedvk_sampling_params sp;
    nf_params(i < NF_SICK ? i : NF_GREEDY, &sp);
    if (pagedvk_engine_add_request(e, jobs[i].prompt, jobs[i].n_prompt, &sp, nf_on_token, &jobs[i], NULL, err,
                                   sizeof err))
      fail_msg("add %u: %s", i, err);
  }
  if (pagedvk_engine_run_until_idle(e, err, sizeof err)) fail_msg("run: %s", err);
  for (uint32_t i = 0; i < NF_SICK; i++) expect_nonfinite(&jobs[i], i == NF_N2 ? 2 : 1);
  for (uint32_t i = NF_HEALTHY; i < NF_JOBS; i++) {
    const nf_job *j = &jobs[i];
    assert_int_equal(j->finals, 1);
    assert_int_equal(j->finish, PAGEDVK_FINISH_LENGTH);
    assert_int_equal(j->n_got, 6);
    for (uint32_t k = 0; k < 6; k++)
      if (j->got[k] != j->want[k]) {
        fprintf(stderr, "healthy job %u (prompt %u): token %u: got %d want %d (reference margin %g)\n", i, j->n_prompt,
                k, j->got[k], j->want[k], (double)j->margin[k]);
        assert_true(j->margin[k] < MC_NEAR_TIE);
        break;
      }
  }
  expect_pool_empty(e);
  /* and it goes on serving */
  nf_job after = {.n_prompt = 5, .prompt = {1, 30, 31, 32, 33}};
  pagedvk_sampling_params sp;
  nf_params(NF_GREEDY, &sp);
  assert_int_equal(pagedvk_engine_add_request(e, after.prompt, 5, &sp, nf_on_token, &after, NULL, err, sizeof err), 0);
  if (pagedvk_engine_run_until_idle(e, err, sizeof err)) fail_msg("run: %s", err);
  assert_int_equal(after.finish, PAGEDVK_FINISH_LENGTH);
  assert_int_equal(after.n_got, 6);
  expect_pool_empty(e);
  pagedvk_engine_destroy(e);
}

static void test_nan_output_norm_fails_every_request(void **state) {
  (void)state;
  char path[512], err[512];
  mc_mkmodel(SHAPE "--ctx 256 --poison-tensor output_norm.weight", "nan_norm.gguf", path, sizeof path);
  pagedvk_engine *e = open_engine(path, 1u << 20, 256);
  for (int round = 0; round < 2; round++) {
    static nf_job jobs[NF_SICK];
    memset(jobs, 0, sizeof jobs);
    for (uint32_t i = 0; i < NF_SICK; i++) {
      nf_job *j = &jobs[i];
      j->n_prompt = 4 + i;
      for (uint32_t k = 0; k < j->n_prompt; k++) j->prompt[k] = 10 + (int32_t)(k + i);
      pagedvk_sampling_params sp;
      nf_params(i, &sp);
      if (pagedvk_engine_add_request(e, j->prompt, j->n_prompt, &sp, nf_on_token, j, NULL, err, sizeof err))
        fail_msg("add %u: %s", i, err);
    }
    if (pagedvk_engine_run_until_idle(e, err, sizeof err)) fail_msg("round %d: run: %s", round, err);
    for (uint32_t i = 0; i < NF_SICK; i++) expect_nonfinite(&jobs[i], i == NF_N2 ? 2 : 1);
    expect_pool_empty(e);
  }
  /* greedy under a grammar (the device's argmax tried first) and sampled under one */
  for (int sampled = 0; sampled < 2; sampled++) {
    nf_job j = {.n_prompt = 4, .prompt = {1, 20, 21, 22}};
    pagedvk_sampling_params sp;
    nf_params(sampled ? NF_SAMPLED : NF_GREEDY, &sp);
    sp.grammar_kind = PAGEDVK_GRAMMAR_JSON_OBJECT;
    assert_int_equal(pagedvk_engine_add_request(e, j.prompt, j.n_prompt, &sp, nf_on_token, &j, NULL, err, sizeof err),
                     0);
    if (pagedvk_engine_run_until_idle(e, err, sizeof err)) fail_msg("grammar: run: %s", err);
    expect_nonfinite(&j, 1);
    expect_pool_empty(e);
  }
  assert_string_equal(pagedvk_status_str(PAGEDVK_ERR_NONFINITE), "the model produced non-finite logits (NaN/inf)");
  pagedvk_engine_destroy(e);
}

/* ---- stop token ids ----------------------------------------------------------------------------- */

static void test_stop_ids_indexed_and_capped(void **state) {
  (void)state;
  char path[512], err[512];
  mc_mkmodel(SHAPE "--ctx 256", "stops.gguf", path, sizeof path);
  int32_t prompt[8] = {1, 40, 41, 42, 43, 44, 45, 46}, want[12];
  float margin[12];
  pv_gguf_file *f = NULL;
  pv_ref *r = mc_open_ref(path, &f);
  pv_error perr = {0};
  if (pv_ref_greedy_margins(r, prompt, 8, 12, want, margin, &perr)) fail_msg("reference: %s", perr.msg);
  pv_ref_destroy(r);
  pv_gguf_close(f);
  /* the first token of the continuation that did not come before, from the 4th on */
  uint32_t at = 3;
  for (bool seen = true; seen && at < 12; at += seen) {
    seen = false;
    for (uint32_t k = 0; k < at; k++) seen = seen || want[k] == want[at];
  }
  if (at == 12) skip();
  /* 1000 ids: out of the vocabulary or never generated before `at`, repeated, unsorted */
  static int32_t ids[PAGEDVK_MAX_STOP_IDS + 1];
  for (uint32_t i = 0; i < 1000; i++) ids[i] = (int32_t)(100000 - 97 * i);
  ids[617] = want[at];
  ids[3] = ids[900] = -5;
  pagedvk_engine *e = open_engine(path, 1u << 20, 256);
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  sp.temperature = 0;
  sp.max_tokens = 12;
  sp.ignore_eos = 1;
  sp.stop_ids = ids;
  sp.n_stop_ids = 1000;
  nf_job j = {0};
  assert_int_equal(pagedvk_engine_add_request(e, prompt, 8, &sp, nf_on_token, &j, NULL, err, sizeof err), 0);
  if (pagedvk_engine_run_until_idle(e, err, sizeof err)) fail_msg("run: %s", err);
  assert_int_equal(j.finish, PAGEDVK_FINISH_STOP);
  if (j.n_got != at) {
    /* a near-tie of the f16 KV cache may take another path: then the reference says so */
    for (uint32_t k = 0; k < at; k++)
      if (k >= j.n_got || j.got[k] != want[k]) assert_true(margin[k] < MC_NEAR_TIE);
  }
  /* the caps */
  sp.n_stop_ids = PAGEDVK_MAX_STOP_IDS + 1;
  assert_int_equal(pagedvk_engine_add_request(e, prompt, 8, &sp, NULL, NULL, NULL, err, sizeof err),
                   PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(err, "stop token ids"));
  sp.n_stop_ids = 0;
  static char long_stop[PAGEDVK_MAX_STOP_BYTES + 2];
  memset(long_stop, 'x', PAGEDVK_MAX_STOP_BYTES + 1);
  const char *stops[PAGEDVK_MAX_STOP + 1];
  for (int i = 0; i <= PAGEDVK_MAX_STOP; i++) stops[i] = "end";
  sp.stop = stops;
  sp.n_stop = PAGEDVK_MAX_STOP + 1;
  assert_int_equal(pagedvk_engine_add_request(e, prompt, 8, &sp, NULL, NULL, NULL, err, sizeof err),
                   PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(err, "stop strings"));
  sp.n_stop = 1;
  stops[0] = long_stop;
  assert_int_equal(pagedvk_engine_add_request(e, prompt, 8, &sp, NULL, NULL, NULL, err, sizeof err),
                   PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(err, "longer than"));
  long_stop[PAGEDVK_MAX_STOP_BYTES] = 0; /* exactly the limit: accepted */
  nf_job k = {0};
  assert_int_equal(pagedvk_engine_add_request(e, prompt, 8, &sp, nf_on_token, &k, NULL, err, sizeof err), 0);
  if (pagedvk_engine_run_until_idle(e, err, sizeof err)) fail_msg("run: %s", err);
  assert_int_equal(k.finals, 1);
  expect_pool_empty(e);
  pagedvk_engine_destroy(e);
}

/* ---- add_request from several threads while serve runs ------------------------------------------ */

#define ADDERS 4
#define PER_ADDER 40

typedef struct race_job {
  uint64_t id_returned, id_seen;
  int finals;
} race_job;

static pthread_mutex_t race_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t race_done = PTHREAD_COND_INITIALIZER;
static int race_finished;

static void race_on_token(const pagedvk_token_event *ev, void *user) {
  race_job *j = user;
  pthread_mutex_lock(&race_lock);
  j->id_seen = ev->request_id;
  if (ev->finish != PAGEDVK_FINISH_NONE) {
    j->finals++;
    race_finished++;
    pthread_cond_broadcast(&race_done);
  }
  pthread_mutex_unlock(&race_lock);
}

typedef struct adder {
  pagedvk_engine *e;
  race_job *jobs;
  int failures;
} adder;

static void *add_many(void *arg) {
  adder *a = arg;
  int32_t prompt[3] = {1, 50, 51};
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  sp.temperature = 0;
  sp.max_tokens = 1; /* finished (and freed) by the step thread as early as possible */
  char err[256];
  for (int i = 0; i < PER_ADDER; i++) {
    uint64_t id = 0;
    if (pagedvk_engine_add_request(a->e, prompt, 3, &sp, race_on_token, &a->jobs[i], &id, err, sizeof err)) {
      a->failures++;
      continue;
    }
    pthread_mutex_lock(&race_lock);
    a->jobs[i].id_returned = id;
    pthread_mutex_unlock(&race_lock);
  }
  return NULL;
}

static void *serve(void *arg) {
  char err[256];
  return (void *)(intptr_t)pagedvk_engine_serve(arg, err, sizeof err);
}

static void test_add_request_while_serving(void **state) {
  (void)state;
  char path[512];
  mc_mkmodel(SHAPE "--ctx 256", "race.gguf", path, sizeof path);
  pagedvk_engine *e = open_engine(path, 1u << 20, 256);
  static race_job jobs[ADDERS][PER_ADDER];
  memset(jobs, 0, sizeof jobs);
  race_finished = 0;
  pthread_t server, th[ADDERS];
  adder ad[ADDERS];
  assert_int_equal(pthread_create(&server, NULL, serve, e), 0);
  for (int t = 0; t < ADDERS; t++) {
    ad[t] = (adder){e, jobs[t], 0};
    assert_int_equal(pthread_create(&th[t], NULL, add_many, &ad[t]), 0);
  }
  for (int t = 0; t < ADDERS; t++) pthread_join(th[t], NULL);
  pthread_mutex_lock(&race_lock);
  while (race_finished < ADDERS * PER_ADDER) pthread_cond_wait(&race_done, &race_lock);
  pthread_mutex_unlock(&race_lock);
  pagedvk_engine_stop(e);
  void *rc;
  pthread_join(server, &rc);
  assert_int_equal((intptr_t)rc, PAGEDVK_OK);
  for (int t = 0; t < ADDERS; t++) {
    assert_int_equal(ad[t].failures, 0);
    for (int i = 0; i < PER_ADDER; i++) {
      assert_int_equal(jobs[t][i].finals, 1);
      assert_true(jobs[t][i].id_returned != 0);
      assert_true(jobs[t][i].id_returned == jobs[t][i].id_seen);
      for (int u = 0; u < t; u++)
        for (int k = 0; k < PER_ADDER; k++) assert_true(jobs[u][k].id_returned != jobs[t][i].id_returned);
    }
  }
  expect_pool_empty(e);
  pagedvk_engine_destroy(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_huge_context_length),
      cmocka_unit_test(test_nan_embedding_row_fails_its_requests_only),
      cmocka_unit_test(test_nan_output_norm_fails_every_request),
      cmocka_unit_test(test_stop_ids_indexed_and_capped),
      cmocka_unit_test(test_add_request_while_serving),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
