/*
 * Unified memory: where device-local memory is host-visible (lavapipe, integrated and embedded
 * GPUs), the weights, the KV pool and the activations are mapped and written in place: loading
 * the model stages nothing. With PAGEDVK_NO_UNIFIED=1 the same device is treated as discrete: the
 * weights go through staging buffers (every weight byte counted), nothing device-local is mapped.
 * In both paths a step writes its inputs (token rows, block tables, logit rows) in place into
 * host-visible buffers and stages nothing; the output equals the CPU reference.
 * Timings are printed for docs/PORTABILITY.md, never checked.
 */
#include "port_helpers.h"

static void run_jobs(pagedvk_engine *e, unsigned seed, double *seconds, uint64_t *steps) {
  static pjob jobs[8];
  pj_make_jobs(e, jobs, 8, 60, 24, seed);
  pagedvk_stats before, after;
  pagedvk_engine_stats(e, &before);
  for (uint32_t i = 0; i < 8; i++) pj_submit(e, &jobs[i]);
  double t0 = pv_now();
  pj_run(e);
  *seconds = pv_now() - t0;
  pagedvk_engine_stats(e, &after);
  *steps = after.steps - before.steps;
  pj_check(jobs, 8);
}

static void test_unified_writes_in_place(void **state) {
  (void)state;
  unsetenv("PAGEDVK_NO_UNIFIED");
  pagedvk_env_reload();
  pagedvk_engine *e = pj_engine("syn-llama-q4k.gguf", 16u << 20, 16);
  if (!e) skip();
  if (!e->ctx->device_caps.unified_memory) {
    pagedvk_engine_destroy(e);
    skip(); /* a discrete GPU: nothing to check here */
  }
  assert_true(e->ctx->caps.unified_memory);
  for (uint32_t i = 0; i < e->dev.n_arenas; i++) assert_non_null(e->dev.arenas[i].map);
  for (uint32_t i = 0; i < e->kv_gpu.n_bufs; i++) assert_non_null(e->kv_gpu.bufs[i].map);
  assert_int_equal(atomic_load(&e->ctx->staged_upload_bytes), 0);
  double seconds;
  uint64_t steps;
  run_jobs(e, 11, &seconds, &steps);
  assert_int_equal(atomic_load(&e->ctx->staged_upload_bytes), 0);
  assert_int_equal(atomic_load(&e->ctx->staged_download_bytes), 0);
  printf("unified: weights %.1f MiB loaded in %.2f ms in place; %llu steps in %.1f ms\n",
         (double)e->dev.bytes / (1 << 20), e->dev.upload_seconds * 1e3, (unsigned long long)steps, seconds * 1e3);
  pj_finish(e);
}

static void test_no_unified_stages_weights_only(void **state) {
  (void)state;
  setenv("PAGEDVK_NO_UNIFIED", "1", 1);
  pagedvk_env_reload();
  pagedvk_engine *e = pj_engine("syn-llama-q4k.gguf", 16u << 20, 16);
  unsetenv("PAGEDVK_NO_UNIFIED");
  pagedvk_env_reload();
  if (!e) skip();
  assert_true(e->ctx->clamps.no_unified);
  assert_false(e->ctx->caps.unified_memory);
  for (uint32_t i = 0; i < e->dev.n_arenas; i++) assert_null(e->dev.arenas[i].map);
  for (uint32_t i = 0; i < e->kv_gpu.n_bufs; i++) assert_null(e->kv_gpu.bufs[i].map);
  /* the step inputs and outputs are host-visible buffers in either path */
  assert_non_null(e->fw.rows_map);
  assert_non_null(e->fw.block_tables_map);
  assert_non_null(e->fw.logit_rows_map);
  assert_non_null(e->fw.logits_map);
  uint64_t staged = atomic_load(&e->ctx->staged_upload_bytes);
  assert_true(staged >= e->dev.bytes);
  double seconds;
  uint64_t steps;
  run_jobs(e, 12, &seconds, &steps);
  assert_true(steps > 0);
  assert_int_equal(atomic_load(&e->ctx->staged_upload_bytes), staged); /* nothing staged per step */
  assert_int_equal(atomic_load(&e->ctx->staged_download_bytes), 0);
  printf("staging: weights %.1f MiB (%.1f MiB staged) loaded in %.2f ms; %llu steps in %.1f ms\n",
         (double)e->dev.bytes / (1 << 20), (double)staged / (1 << 20), e->dev.upload_seconds * 1e3,
         (unsigned long long)steps, seconds * 1e3);
  pj_finish(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unified_writes_in_place),
      cmocka_unit_test(test_no_unified_stages_weights_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
