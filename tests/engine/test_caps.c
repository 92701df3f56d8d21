/*
 * No fixed caps in the engine: sizes come from the engine's options, and what is beyond them is
 * refused with a clear PAGEDVK_ERR_INVALID for that request alone.
 *   - beam search of width 100 with --max-num-seqs 100 returns 100 hypotheses, each with its
 *     token ids (the final events carry them), and width 101 is refused at add time;
 *   - more than 64 aborts queued before one step all take effect in that step;
 *   - an aborted beam search sends one final event per requested hypothesis (it sent none);
 *   - a beam search whose prompt is still being prefilled in chunks takes no beam step while
 *     other requests sample: its hypotheses equal those it finds alone.
 * After every test all blocks are back in the pool and the validation layer said nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/engine_internal.h"
#include "shared_paths.h"

#define MAX_OUT 128

#define MAX_IDS 16

typedef struct outs {
  int32_t ids[4][MAX_IDS];           /* token ids of the first final events (beam search) */
  uint32_t finals[MAX_OUT];          /* final events per index */
  pagedvk_finish_reason finish[MAX_OUT];
  int status[MAX_OUT];
  uint32_t n_ids[MAX_OUT];           /* token ids of the final event (beam search) */
  uint32_t completion[MAX_OUT];
  uint32_t total_finals;
} outs;

static void on_token(const pagedvk_token_event *ev, void *user) {
  outs *o = user;
  if (ev->finish == PAGEDVK_FINISH_NONE) return;
  o->total_finals++;
  if (ev->index >= MAX_OUT) return;
  o->finals[ev->index]++;
  o->finish[ev->index] = ev->finish;
  o->status[ev->index] = ev->status;
  o->n_ids[ev->index] = ev->n_token_ids;
  o->completion[ev->index] = ev->completion_tokens;
  for (uint32_t i = 0; ev->index < 4 && i < ev->n_token_ids && i < MAX_IDS; i++) o->ids[ev->index][i] = ev->token_ids[i];
  for (uint32_t i = 0; i < ev->n_token_ids; i++) assert_true(ev->token_ids[i] >= 0);
}

static uint32_t g_budget = 512; /* make_engine's max_num_batched_tokens */

static pagedvk_engine *make_engine(const char *model, uint32_t max_num_seqs) {
  char path[1024], err[512];
  pv_test_model_path(path, sizeof path, model);
  pagedvk_engine_options o;
  pagedvk_engine_options_default(&o);
  o.model_path = path;
  o.kv_mem = 32u << 20;
  o.max_num_seqs = max_num_seqs;
  o.max_num_batched_tokens = g_budget;
  o.max_model_len = 256;
  pagedvk_engine *e = NULL;
  int rc = pagedvk_engine_create(&e, &o, err, sizeof err);
  if (rc) fprintf(stderr, "engine: %s\n", err);
  assert_int_equal(rc, PAGEDVK_OK);
  return e;
}

static void finish(pagedvk_engine *e) {
  pagedvk_stats st;
  pagedvk_engine_stats(e, &st);
  assert_int_equal(st.blocks_used, 0);
  assert_int_equal(st.requests_running + st.requests_waiting + st.requests_swapped, 0);
  pv_error err = {0};
  assert_int_equal(pv_kv_check_invariants(e->kv, &err), PAGEDVK_OK);
  assert_int_equal(pv_vk_validation_count(e->ctx), 0);
  pagedvk_engine_destroy(e);
}

/* `pagedvk run --beam 100 --max-num-seqs 100` crashed (64-entry arrays in the beam step). */
static void test_beam_100(void **state) {
  (void)state;
  pagedvk_engine *e = make_engine("syn-qwen2-f16.gguf", 100);
  if (!e) skip();
  static outs o;
  memset(&o, 0, sizeof o);
  const int32_t prompt[] = {1, 15043, 29892};
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  sp.temperature = 0;
  sp.beam_width = 100;
  sp.n = 100;
  sp.max_tokens = 4;
  sp.ignore_eos = 1;
  char err[512];
  assert_int_equal(pagedvk_engine_add_request(e, prompt, 3, &sp, on_token, &o, NULL, err, sizeof err), PAGEDVK_OK);
  assert_int_equal(pagedvk_engine_run_until_idle(e, err, sizeof err), PAGEDVK_OK);
  assert_int_equal(o.total_finals, 100);
  for (uint32_t h = 0; h < 100; h++) {
    assert_int_equal(o.finals[h], 1);
    assert_int_not_equal(o.finish[h], PAGEDVK_FINISH_ERROR);
    assert_int_equal(o.n_ids[h], 4); /* ignore_eos: every hypothesis runs to max_tokens */
    assert_int_equal(o.completion[h], 4);
  }
  pagedvk_stats st;
  pagedvk_engine_stats(e, &st);
  assert_int_equal(st.peak_running, 100);
  /* wider than --max-num-seqs: refused with a clear error, nothing else disturbed */
  sp.beam_width = 101;
  err[0] = 0;
  assert_int_equal(pagedvk_engine_add_request(e, prompt, 3, &sp, on_token, &o, NULL, err, sizeof err),
                   PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(err, "max-num-seqs"));
  finish(e);
}

/* 100 requests (more than the 64 aborts one step used to take), aborted before one step: every
 * one ends in that step, waiting ones included. */
static void test_aborts_beyond_64_in_one_step(void **state) {
  (void)state;
  enum { N = 100 };
  pagedvk_engine *e = make_engine("syn-llama-q4k.gguf", 48);
  if (!e) skip();
  static outs o[N];
  memset(o, 0, sizeof o);
  uint64_t ids[N];
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  sp.temperature = 0;
  sp.max_tokens = 50;
  sp.ignore_eos = 1;
  char err[512];
  for (uint32_t i = 0; i < N; i++) {
    const int32_t prompt[] = {1, 5 + (int32_t)i, 7, 9};
    assert_int_equal(pagedvk_engine_add_request(e, prompt, 4, &sp, on_token, &o[i], &ids[i], err, sizeof err), 0);
  }
  assert_true(pagedvk_engine_step(e, err, sizeof err) > 0); /* 48 run, the rest wait */
  for (uint32_t i = 0; i < N; i++) pagedvk_engine_abort(e, ids[i]);
  assert_int_equal(pagedvk_engine_step(e, err, sizeof err), 0); /* one step: idle afterwards */
  for (uint32_t i = 0; i < N; i++) {
    assert_int_equal(o[i].total_finals, 1);
    assert_int_equal(o[i].finish[0], PAGEDVK_FINISH_ABORT);
    assert_int_equal(o[i].status[0], PAGEDVK_ERR_ABORTED);
  }
  finish(e);
}

static void test_beam_abort_sends_finals(void **state) {
  (void)state;
  pagedvk_engine *e = make_engine("syn-llama-q4k.gguf", 16);
  if (!e) skip();
  static outs o;
  memset(&o, 0, sizeof o);
  const int32_t prompt[] = {1, 5, 7, 9, 11};
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  sp.temperature = 0;
  sp.beam_width = 4;
  sp.n = 3;
  sp.max_tokens = 60;
  sp.ignore_eos = 1;
  char err[512];
  uint64_t id = 0;
  assert_int_equal(pagedvk_engine_add_request(e, prompt, 5, &sp, on_token, &o, &id, err, sizeof err), PAGEDVK_OK);
  for (int s = 0; s < 3; s++) assert_true(pagedvk_engine_step(e, err, sizeof err) > 0);
  pagedvk_engine_abort(e, id);
  assert_int_equal(pagedvk_engine_step(e, err, sizeof err), 0);
  assert_int_equal(o.total_finals, 3);
  for (uint32_t h = 0; h < 3; h++) {
    assert_int_equal(o.finals[h], 1);
    assert_int_equal(o.finish[h], PAGEDVK_FINISH_ABORT);
    assert_int_equal(o.status[h], PAGEDVK_ERR_ABORTED);
  }
  finish(e);
}

/* Beam search of width 3 over a 120-token prompt, 6 tokens; with `other`, a greedy request that is
 * already decoding runs beside it (so steps sample while the beam prompt is still in chunks). */
static void beam_run(outs *o, bool other) {
  g_budget = 32;
  pagedvk_engine *e = make_engine("syn-llama-q4k.gguf", 16);
  g_budget = 512;
  static int32_t prompt[120];
  for (int i = 0; i < 120; i++) prompt[i] = i ? 3 + (i * 37) % 200 : 1;
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  sp.temperature = 0;
  sp.max_tokens = 6;
  sp.ignore_eos = 1;
  char err[512];
  static outs side;
  memset(&side, 0, sizeof side);
  if (other) {
    sp.max_tokens = 40;
    assert_int_equal(pagedvk_engine_add_request(e, prompt + 100, 8, &sp, on_token, &side, NULL, err, sizeof err), 0);
    assert_true(pagedvk_engine_step(e, err, sizeof err) > 0);
    sp.max_tokens = 6;
  }
  sp.beam_width = 3;
  sp.n = 3;
  memset(o, 0, sizeof *o);
  assert_int_equal(pagedvk_engine_add_request(e, prompt, 120, &sp, on_token, o, NULL, err, sizeof err), 0);
  assert_int_equal(pagedvk_engine_run_until_idle(e, err, sizeof err), PAGEDVK_OK);
  assert_int_equal(o->total_finals, 3);
  finish(e);
}

static void test_beam_waits_for_its_prompt(void **state) {
  (void)state;
  char path[1024];
  pv_test_model_path(path, sizeof path, "syn-llama-q4k.gguf");
  static outs alone, beside;
  beam_run(&alone, false);
  beam_run(&beside, true);
  for (uint32_t h = 0; h < 3; h++) {
    assert_int_equal(beside.n_ids[h], alone.n_ids[h]);
    assert_memory_equal(beside.ids[h], alone.ids[h], sizeof alone.ids[h]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_beam_100),
      cmocka_unit_test(test_aborts_beyond_64_in_one_step),
      cmocka_unit_test(test_beam_abort_sends_finals),
      cmocka_unit_test(test_beam_waits_for_its_prompt),
  };
  if (getenv("PV_TEST_FILTER")) cmocka_set_test_filter(getenv("PV_TEST_FILTER"));
  return cmocka_run_group_tests(tests, NULL, NULL);
}
