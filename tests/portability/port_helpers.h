/*
 * port_helpers.h — shared by tests/portability: an engine on a test model (tests/make_models.cmake), greedy jobs
 * with the CPU reference's continuation, and the end-of-test checks (all blocks free, invariants,
 * a silent validation layer). Header-only: each test source in tests/portability is its own executable.
 */
#ifndef PV_TEST_PORT_HELPERS_H
#define PV_TEST_PORT_HELPERS_H

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

#define PJ_MAX_GEN 32
#define PJ_NEAR_TIE 0.02f /* f16 K/V against the f32 reference: a near-tie may flip */

typedef struct pjob {
  int32_t prompt[160];
  uint32_t n_prompt, n_gen;
  int32_t want[PJ_MAX_GEN];
  float margin[PJ_MAX_GEN];
  int32_t got[PJ_MAX_GEN];
  uint32_t n_got;
  int finished;
} pjob;

static inline void pj_on_token(const pagedvk_token_event *ev, void *user) {
  pjob *j = user;
  if (ev->index != 0) return;
  if (ev->token >= 0 && j->n_got < PJ_MAX_GEN) j->got[j->n_got++] = ev->token;
  if (ev->finish != PAGEDVK_FINISH_NONE) j->finished++;
}

/* An engine on test model `model` (a missing model fails the test). */
static inline pagedvk_engine *pj_engine(const char *model, uint64_t kv_mem, uint32_t block_size) {
  char path[1024], err[512];
  pv_test_model_path(path, sizeof path, model);
  pagedvk_engine_options o;
  pagedvk_engine_options_default(&o);
  o.model_path = path;
  o.kv_mem = kv_mem;
  o.block_size = block_size;
  o.max_num_seqs = 16;
  o.max_model_len = 512;
  pagedvk_engine *e = NULL;
  int rc = pagedvk_engine_create(&e, &o, err, sizeof err);
  if (rc) fail_msg("engine: %s", err);
  return e;
}

/* n jobs: BOS + random tokens (1..max_prompt in all), 1..max_gen greedy tokens, with the reference's
 * continuation and its top-1/top-2 margins. */
static inline void pj_make_jobs(pagedvk_engine *e, pjob *jobs, uint32_t n, uint32_t max_prompt, uint32_t max_gen,
                                unsigned seed) {
  pv_error err = {0};
  pv_ref *r = NULL;
  assert_true(max_prompt <= 160 && max_gen <= PJ_MAX_GEN);
  assert_int_equal(pv_ref_create(&r, e->model->gguf, max_prompt + max_gen + 1, &err), PAGEDVK_OK);
  srand(seed);
  for (uint32_t i = 0; i < n; i++) {
    pjob *j = &jobs[i];
    memset(j, 0, sizeof *j);
    j->n_prompt = 1 + (uint32_t)rand() % max_prompt;
    j->prompt[0] = 1;
    for (uint32_t k = 1; k < j->n_prompt; k++) j->prompt[k] = 3 + rand() % (int)(e->hp.n_vocab - 3);
    j->n_gen = 1 + (uint32_t)rand() % max_gen;
    assert_int_equal(pv_ref_greedy_margins(r, j->prompt, j->n_prompt, j->n_gen, j->want, j->margin, &err), 0);
  }
  pv_ref_destroy(r);
}

static inline void pj_submit(pagedvk_engine *e, pjob *j) {
  char err[512];
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  sp.temperature = 0.0f;
  sp.max_tokens = j->n_gen;
  sp.ignore_eos = 1;
  int rc = pagedvk_engine_add_request(e, j->prompt, j->n_prompt, &sp, pj_on_token, j, NULL, err, sizeof err);
  if (rc) fail_msg("add: %s", err);
}

static inline void pj_run(pagedvk_engine *e) {
  char err[512];
  int rc = pagedvk_engine_run_until_idle(e, err, sizeof err);
  if (rc) fail_msg("run: %s", err);
}

/* Every job finished with the reference's tokens (up to a near-tie, as in tests/engine). */
static inline void pj_check(const pjob *jobs, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    const pjob *j = &jobs[i];
    assert_int_equal(j->finished, 1);
    assert_int_equal(j->n_got, j->n_gen);
    for (uint32_t k = 0; k < j->n_gen; k++) {
      if (j->got[k] == j->want[k]) continue;
      fprintf(stderr, "job %u (prompt %u): token %u: got %d want %d (margin %g)\n", i, j->n_prompt, k, j->got[k],
              j->want[k], j->margin[k]);
      assert_true(j->margin[k] < PJ_NEAR_TIE);
      break;
    }
  }
}

static inline void pj_finish(pagedvk_engine *e) {
  pagedvk_stats st;
  pagedvk_engine_stats(e, &st);
  assert_int_equal(st.blocks_used, 0);
  assert_int_equal(st.blocks_free, st.blocks_total);
  pv_error err = {0};
  if (pv_kv_check_invariants(e->kv, &err)) fail_msg("%s", err.msg);
  assert_int_equal(pv_vk_validation_count(e->ctx), 0);
  pagedvk_engine_destroy(e);
}

#endif /* PV_TEST_PORT_HELPERS_H */
