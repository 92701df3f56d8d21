/*
 * Sliding-window layers give their KV blocks back (kv_layout.h, pv_kv_seq_prepare), end to end on
 * a gemma3-shaped model from the built mkmodel (4 layers: 0 and 2 local with a 16-token window,
 * 1 and 3 global; blocks of 8 tokens; skips without mkmodel):
 *   - one request runs to 104 tokens, far past its window: after every step the pool's used
 *     blocks are exactly the global group's whole context plus the local group's window
 *     (ceil(len/8) + ceil(len/8) - (len - 16)/8), so the blocks before the window went back;
 *     its tokens equal the CPU reference's (near-ties aside, as test_engine.c);
 *   - with sliding_window_free = 0 (one table for every layer) the output is the same and the
 *     peak KV memory in use is larger;
 *   - a ragged batch (many requests, chunked prompts: max_num_batched_tokens 32) equals the
 *     reference with freeing on, also with preemption by recompute in a small pool;
 *   - a prompt whose blocks over both groups exceed the pool is refused when added (KV_FULL),
 *     not left waiting forever.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model_check.h"

#define BS 8
#define WINDOW 16
#define PROMPT 40
#define GEN 64

static char g_model[512];

static int setup(void **state) {
  (void)state;
  return mc_setup("swa_free");
}

static int teardown(void **state) {
  (void)state;
  return mc_teardown();
}

static void make_model(void) {
  if (g_model[0]) return;
  mc_mkmodel("--arch gemma3 --n-embd 64 --n-head 2 --n-head-kv 1 --n-ff 128 --n-layer 4 --ctx 256 --seed 5 "
             "--sliding-window 16 --swa-pattern 2",
             "gemma3.gguf", g_model, sizeof g_model);
}

typedef struct one_job {
  int32_t got[GEN];
  uint32_t n_got;
  int finished;
} one_job;

static void on_token(const pagedvk_token_event *ev, void *user) {
  one_job *j = user;
  if (ev->token >= 0 && j->n_got < GEN) j->got[j->n_got++] = ev->token;
  if (ev->finish != PAGEDVK_FINISH_NONE) j->finished++;
}

static pagedvk_engine *open_engine(int free_windows, uint64_t kv_mem, uint32_t batch_tokens) {
  pagedvk_engine_options o;
  pagedvk_engine_options_default(&o);
  o.model_path = g_model;
  o.kv_mem = kv_mem;
  o.block_size = BS;
  o.max_num_batched_tokens = batch_tokens;
  o.max_num_seqs = 16;
  o.max_model_len = 256;
  o.sliding_window_free = free_windows;
  char err[512];
  pagedvk_engine *e = NULL;
  if (pagedvk_engine_create(&e, &o, err, sizeof err)) fail_msg("engine: %s", err);
  return e;
}

static uint32_t blocks_for(uint32_t n) { return (n + BS - 1) / BS; }

/* One long request; checks the pool after every step when `exact`; returns the peak KV bytes. */
static uint64_t run_long(int free_windows, const int32_t *prompt, int32_t *out, bool exact) {
  pagedvk_engine *e = open_engine(free_windows, 1u << 20, 128);
  one_job j = {0};
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  sp.temperature = 0.0f;
  sp.max_tokens = GEN;
  sp.ignore_eos = 1;
  char err[512];
  if (pagedvk_engine_add_request(e, prompt, PROMPT, &sp, on_token, &j, NULL, err, sizeof err)) fail_msg("%s", err);
  uint32_t checked = 0;
  for (;;) {
    int rc = pagedvk_engine_step(e, err, sizeof err);
    if (rc < 0) fail_msg("step: %s", err);
    pagedvk_stats st;
    pagedvk_engine_stats(e, &st);
    if (exact && st.requests_running == 1 && j.n_got > 1) {
      /* after a decode step: positions with K/V are the prompt and every sampled token but the
       * newest; the step computed row len-1, whose window starts at len - 16 (after the prompt's
       * step the local group still holds the prompt: its first row needed all of it) */
      const uint32_t len = PROMPT + j.n_got - 1, lo = len >= WINDOW ? (len - WINDOW) / BS : 0;
      const uint32_t want = blocks_for(len) + (blocks_for(len) - lo);
      if (st.blocks_used != want)
        fail_msg("after %u tokens: %u blocks in use, want %u (global %u + window %u)", len, st.blocks_used, want,
                 blocks_for(len), blocks_for(len) - lo);
      checked++;
    }
    if (rc == 0) break;
  }
  assert_int_equal(j.finished, 1);
  assert_int_equal(j.n_got, GEN);
  if (exact) assert_true(checked >= GEN - 3);
  memcpy(out, j.got, sizeof j.got);
  pagedvk_stats st;
  pagedvk_engine_stats(e, &st);
  assert_int_equal(st.blocks_used, 0);
  pagedvk_engine_destroy(e);
  return st.peak_kv_bytes_used;
}

static void test_long_request(void **state) {
  (void)state;
  make_model();
  int32_t prompt[PROMPT], want[GEN], freed[GEN], kept[GEN];
  float margin[GEN];
  srand(3);
  prompt[0] = 1;
  for (int i = 1; i < PROMPT; i++) prompt[i] = 3 + rand() % 400; /* the vocabulary has 415 tokens */
  pv_gguf_file *f = NULL;
  pv_ref *r = NULL;
  pv_error perr = {0};
  if (pv_gguf_open(&f, g_model, &perr) || pv_ref_create(&r, f, PROMPT + GEN + 1, &perr)) fail_msg("%s", perr.msg);
  if (pv_ref_greedy_margins(r, prompt, PROMPT, GEN, want, margin, &perr)) fail_msg("reference: %s", perr.msg);
  pv_ref_destroy(r);
  pv_gguf_close(f);
  const uint64_t peak_freed = run_long(1, prompt, freed, true);
  const uint64_t peak_kept = run_long(0, prompt, kept, false);
  fprintf(stderr, "peak KV in use: %llu bytes freed, %llu kept\n", (unsigned long long)peak_freed,
          (unsigned long long)peak_kept);
  assert_true(peak_freed * 10 < peak_kept * 8);
  for (uint32_t k = 0; k < GEN; k++) {
    assert_int_equal(freed[k], kept[k]);
    if (freed[k] == want[k]) continue;
    fprintf(stderr, "token %u: got %d want %d (reference margin %g)\n", k, freed[k], want[k], margin[k]);
    assert_true(margin[k] < MC_NEAR_TIE);
    break;
  }
}

static void test_ragged_batch(void **state) {
  (void)state;
  make_model();
  mc_engine_matches_reference_bs(g_model, BS);
  mc_engine_matches_reference_bs(g_model, 16);
  /* chunked prompts (32 rows a step) in a pool too small for the batch: preemption by recompute */
  pagedvk_stats st;
  mc_engine_matches_reference_opts(g_model, BS, 28 * 1024, 32, &st);
  fprintf(stderr, "small pool: %u blocks, %llu preemptions\n", st.blocks_total, (unsigned long long)st.preemptions);
  assert_true(st.preemptions > 0);
}

/* A prompt whose blocks over the layer groups exceed the whole pool is refused when it is added
 * (it would otherwise wait forever), though its global layers' blocks alone would fit. */
static void test_never_fits(void **state) {
  (void)state;
  make_model();
  pagedvk_engine *e = open_engine(1, 16 * 1024, 128); /* 8 blocks of 2 KiB (2 layers x 8 tokens) */
  pagedvk_stats st;
  pagedvk_engine_stats(e, &st);
  assert_int_equal(st.blocks_total, 8);
  int32_t prompt[48];
  for (int i = 0; i < 48; i++) prompt[i] = 3 + i;
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  sp.max_tokens = 4;
  one_job j = {0};
  char err[512];
  /* 49 tokens: 7 global blocks + 7 local ones (the window's reach is more than the prompt) */
  assert_int_equal(pagedvk_engine_add_request(e, prompt, 48, &sp, on_token, &j, NULL, err, sizeof err),
                   PAGEDVK_ERR_KV_FULL);
  assert_non_null(strstr(err, "KV blocks"));
  /* 24 tokens: 4 + 4 fit */
  assert_int_equal(pagedvk_engine_add_request(e, prompt, 24, &sp, on_token, &j, NULL, err, sizeof err), PAGEDVK_OK);
  if (pagedvk_engine_run_until_idle(e, err, sizeof err)) fail_msg("run: %s", err);
  assert_int_equal(j.finished, 1);
  pagedvk_engine_destroy(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_long_request), cmocka_unit_test(test_ragged_batch),
                                     cmocka_unit_test(test_never_fits)};
  return cmocka_run_group_tests(tests, setup, teardown);
}
