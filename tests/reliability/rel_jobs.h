/*
 * rel_jobs.h — helpers of the reliability tests (header-only, included by one test each):
 * greedy jobs with their CPU-reference continuation, an engine on a test model, and the
 * end-of-test checks (every block free, no request left, pool invariants).
 */
#ifndef PV_REL_JOBS_H
#define PV_REL_JOBS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/engine_internal.h"
#include "model/ref.h"
#include "shared_paths.h"

#define REL_MAX_GEN 32
#define REL_NEAR_TIE 0.02f /* the engine's f16 K/V against the f32 reference (as tests/engine) */

typedef struct rel_job {
  int32_t prompt[160];
  uint32_t n_prompt, n_gen;
  int32_t want[REL_MAX_GEN];
  float margin[REL_MAX_GEN];
  int32_t got[REL_MAX_GEN];
  uint32_t n_got;
  int finals;                 /* final events received (must end at exactly 1) */
  pagedvk_finish_reason finish;
  int status;
} rel_job;

static inline void rel_on_token(const pagedvk_token_event *ev, void *user) {
  rel_job *j = user;
  if (ev->token >= 0 && j->n_got < REL_MAX_GEN) j->got[j->n_got++] = ev->token;
  if (ev->finish != PAGEDVK_FINISH_NONE) {
    j->finals++;
    j->finish = ev->finish;
    j->status = ev->status;
  }
}

static const char *REL_MODEL = "syn-llama-q4k.gguf";

static inline bool rel_model_path(char *buf, size_t size) {
  pv_test_model_path(buf, size, REL_MODEL);
  return true;
}

/* An engine on the test model (tests/make_models.cmake; a missing one fails the test). */
static inline pagedvk_engine *rel_engine(uint64_t kv_mem, pagedvk_preempt_mode preempt, uint64_t swap_mem) {
  char path[1024], err[512];
  if (!rel_model_path(path, sizeof path)) return NULL;
  pagedvk_engine_options o;
  pagedvk_engine_options_default(&o);
  o.model_path = path;
  o.kv_mem = kv_mem;
  o.block_size = 16;
  o.max_num_seqs = 32;
  o.max_model_len = 512;
  o.preempt = preempt;
  o.swap_mem = swap_mem;
  pagedvk_engine *e = NULL;
  int rc = pagedvk_engine_create(&e, &o, err, sizeof err);
  if (rc) fprintf(stderr, "engine: %s\n", err);
  assert_int_equal(rc, PAGEDVK_OK);
  return e;
}

/* n random prompts of 1..max_prompt tokens (BOS first) and their reference continuations. */
static inline void rel_make_jobs(pagedvk_engine *e, rel_job *jobs, uint32_t n, uint32_t max_prompt, uint32_t max_gen,
                          unsigned seed) {
  pv_error err = {0};
  pv_ref *r = NULL;
  assert_true(max_prompt <= 160 && max_gen <= REL_MAX_GEN);
  assert_int_equal(pv_ref_create(&r, e->model->gguf, max_prompt + max_gen + 1, &err), PAGEDVK_OK);
  srand(seed);
  for (uint32_t i = 0; i < n; i++) {
    rel_job *j = &jobs[i];
    memset(j, 0, sizeof *j);
    uint32_t len = 1 + (uint32_t)rand() % max_prompt;
    j->prompt[j->n_prompt++] = 1;
    for (uint32_t k = 1; k < len; k++) j->prompt[j->n_prompt++] = 3 + rand() % (int)(e->hp.n_vocab - 3);
    j->n_gen = 1 + (uint32_t)rand() % max_gen;
    assert_int_equal(pv_ref_greedy_margins(r, j->prompt, j->n_prompt, j->n_gen, j->want, j->margin, &err), 0);
  }
  pv_ref_destroy(r);
}

static inline void rel_submit(pagedvk_engine *e, rel_job *j, uint64_t *id) {
  char err[512];
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  sp.temperature = 0.0f;
  sp.max_tokens = j->n_gen;
  sp.ignore_eos = 1;
  int rc = pagedvk_engine_add_request(e, j->prompt, j->n_prompt, &sp, rel_on_token, j, id, err, sizeof err);
  if (rc) fprintf(stderr, "add: %s\n", err);
  assert_int_equal(rc, PAGEDVK_OK);
}

/* Every job finished once, with its reference continuation (up to a near-tie). */
static inline void rel_check_jobs(const rel_job *jobs, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    const rel_job *j = &jobs[i];
    assert_int_equal(j->finals, 1);
    assert_int_equal(j->finish, PAGEDVK_FINISH_LENGTH);
    assert_int_equal(j->n_got, j->n_gen);
    for (uint32_t k = 0; k < j->n_gen; k++) {
      if (j->got[k] == j->want[k]) continue;
      fprintf(stderr, "job %u (prompt %u): token %u: got %d want %d (reference margin %g)\n", i, j->n_prompt, k,
              j->got[k], j->want[k], j->margin[k]);
      assert_true(j->margin[k] < REL_NEAR_TIE);
      break;
    }
  }
}

static inline void rel_finish(pagedvk_engine *e) {
  pagedvk_stats st;
  pagedvk_engine_stats(e, &st);
  assert_int_equal(st.blocks_used, 0);
  assert_int_equal(st.blocks_free, st.blocks_total);
  assert_int_equal(st.requests_running + st.requests_waiting + st.requests_swapped, 0);
  pv_error err = {0};
  assert_int_equal(pv_kv_check_invariants(e->kv, &err), PAGEDVK_OK);
  assert_int_equal(pv_vk_validation_count(e->ctx), 0);
  pagedvk_engine_destroy(e);
}

static inline void rel_run(pagedvk_engine *e) {
  char err[512];
  int rc = pagedvk_engine_run_until_idle(e, err, sizeof err);
  if (rc) fprintf(stderr, "run: %s\n", err);
  assert_int_equal(rc, PAGEDVK_OK);
}

#endif
