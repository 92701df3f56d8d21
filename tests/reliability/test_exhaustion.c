/*
 * Exhaustion through the engine API (syn-llama-q4k: 1 KiB of K/V per token, 16 KiB per block):
 * - a prompt that alone exceeds the pool (or the context) is refused at add_request with a clear
 *   error while requests already in flight complete with their reference output;
 * - a pool far too small for the load preempts (recompute) and still completes every request
 *   with its reference output;
 * - swap preemption with a swap space of two blocks: swap fills, preemption falls back to
 *   recompute, and the outputs are still the reference's;
 * - an engine asked for a KV pool far beyond what the device can bind fails at creation with a
 *   message suggesting a smaller --kv-mem.
 */
#include "rel_jobs.h"

#define BLOCK_BYTES 16384u

static void test_oversized_prompt_refused_while_others_complete(void **state) {
  (void)state;
  pagedvk_engine *e = rel_engine(24u * BLOCK_BYTES, PAGEDVK_PREEMPT_RECOMPUTE, 0);
  if (!e) skip();
  static rel_job jobs[4];
  rel_make_jobs(e, jobs, 4, 40, 12, 7);
  for (int i = 0; i < 4; i++) rel_submit(e, &jobs[i], NULL);
  char err[512];
  assert_true(pagedvk_engine_step(e, err, sizeof err) > 0); /* in flight */
  static int32_t big[600];
  for (int i = 0; i < 600; i++) big[i] = 5 + i % 200;
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  sp.max_tokens = 4;
  rel_job refused = {0};
  /* 400 + 1 tokens need 26 blocks; the pool has 24 */
  err[0] = 0;
  assert_int_equal(pagedvk_engine_add_request(e, big, 400, &sp, rel_on_token, &refused, NULL, err, sizeof err),
                   PAGEDVK_ERR_KV_FULL);
  assert_non_null(strstr(err, "KV blocks"));
  assert_non_null(strstr(err, "--kv-mem"));
  /* longer than max_model_len (512) */
  err[0] = 0;
  assert_int_equal(pagedvk_engine_add_request(e, big, 600, &sp, rel_on_token, &refused, NULL, err, sizeof err),
                   PAGEDVK_ERR_TOO_LONG);
  assert_true(strlen(err) > 0);
  rel_run(e);
  assert_int_equal(refused.finals, 0); /* a refused request never calls back */
  rel_check_jobs(jobs, 4);
  rel_finish(e);
}

static void test_heavy_pressure_preempts_and_completes(void **state) {
  (void)state;
  /* 12 blocks = 192 tokens; each job needs up to 121 + 24 tokens (10 blocks) */
  pagedvk_engine *e = rel_engine(12u * BLOCK_BYTES, PAGEDVK_PREEMPT_RECOMPUTE, 0);
  if (!e) skip();
  static rel_job jobs[16];
  rel_make_jobs(e, jobs, 16, 120, 24, 11);
  for (int i = 0; i < 16; i++) rel_submit(e, &jobs[i], NULL);
  rel_run(e);
  rel_check_jobs(jobs, 16);
  pagedvk_stats st;
  pagedvk_engine_stats(e, &st);
  assert_true(st.preemptions > 0);
  assert_int_equal(st.requests_finished, 16);
  rel_finish(e);
}

static void test_full_swap_space_falls_back_to_recompute(void **state) {
  (void)state;
  pagedvk_engine *e = rel_engine(16u * BLOCK_BYTES, PAGEDVK_PREEMPT_SWAP, 2u * BLOCK_BYTES);
  if (!e) skip();
  static rel_job jobs[16];
  rel_make_jobs(e, jobs, 16, 100, 24, 13);
  for (int i = 0; i < 16; i++) rel_submit(e, &jobs[i], NULL);
  rel_run(e);
  rel_check_jobs(jobs, 16);
  pagedvk_stats st;
  pagedvk_engine_stats(e, &st);
  fprintf(stderr, "preemptions %llu, swaps out %llu, in %llu\n", (unsigned long long)st.preemptions,
          (unsigned long long)st.swaps_out, (unsigned long long)st.swaps_in);
  assert_true(st.preemptions > 0);
  assert_true(st.preemptions > st.swaps_out); /* some preemptions found the swap space full */
  assert_int_equal(st.swaps_in, st.swaps_out);
  rel_finish(e);
}

static void test_kv_mem_beyond_device_fails_clearly(void **state) {
  (void)state;
  char path[1024], err[512] = "";
  if (!rel_model_path(path, sizeof path)) skip();
  pagedvk_engine_options o;
  pagedvk_engine_options_default(&o);
  o.model_path = path;
  o.kv_mem = 1ull << 40; /* 1 TiB */
  pagedvk_engine *e = NULL;
  int rc = pagedvk_engine_create(&e, &o, err, sizeof err);
  assert_int_not_equal(rc, PAGEDVK_OK);
  assert_null(e);
  fprintf(stderr, "create: %s\n", err);
  assert_non_null(strstr(err, "smaller --kv-mem"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_oversized_prompt_refused_while_others_complete),
      cmocka_unit_test(test_heavy_pressure_preempts_and_completes),
      cmocka_unit_test(test_full_swap_space_falls_back_to_recompute),
      cmocka_unit_test(test_kv_mem_beyond_device_fails_clearly),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
