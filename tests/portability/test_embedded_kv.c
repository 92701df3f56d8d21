/*
 * The embedded profile (PAGEDVK_PROFILE=embedded, set here before any context exists): the device's
 * limits are clamped (64 MiB storage-buffer range, 256 MiB allocations), so a 160 MiB KV pool spans
 * three buffers. Requests whose blocks lie in the second and third buffers — the first two are
 * occupied by a sequence the scheduler does not know about — must give the CPU reference's greedy
 * tokens, as on one buffer.
 */
#include "port_helpers.h"

#define MIB (1ull << 20)

/* syn-llama-q4k: 2 layers x 2 KV heads x 64 dims x f16 = 1 KiB per token; 64-token blocks = 64 KiB. */
static void test_pool_over_three_buffers(void **state) {
  (void)state;
  pagedvk_engine *e = pj_engine("syn-llama-q4k.gguf", 160 * MIB, 64);
  if (!e) skip();
  const pv_vk_caps *caps = &e->ctx->caps;
  assert_int_equal(e->ctx->clamps.profile, PV_PROFILE_EMBEDDED);
  assert_true(caps->max_storage_buffer_range <= 64 * MIB);
  assert_true(caps->max_allocation_size <= 256 * MIB);
  assert_false(caps->storage16 || caps->storage8 || caps->fp16);
  assert_int_equal(caps->subgroup_ops, 0);

  const pv_kv_gpu *kv = &e->kv_gpu;
  assert_int_equal(kv->block_bytes, 64 * 1024);
  assert_int_equal(kv->n_blocks, 2560);
  assert_int_equal(kv->blocks_per_buf, 1024);
  assert_int_equal(kv->n_bufs, 3);
  for (uint32_t i = 0; i < kv->n_bufs; i++) assert_true(kv->bufs[i].size <= caps->max_storage_buffer_range);

  /* Occupy every block up to 6 before the end of buffer 1: the requests get the last 6 blocks of
   * buffer 1 and then blocks of buffer 2. */
  const uint32_t bs = 64, filler_blocks = 2 * kv->blocks_per_buf - 6;
  int32_t *filler = malloc((size_t)filler_blocks * bs * sizeof *filler);
  assert_non_null(filler);
  for (uint32_t i = 0; i < filler_blocks * bs; i++) filler[i] = 3 + (int32_t)(i % 30000);
  uint32_t filler_seq, cached;
  pv_error err = {0};
  assert_int_equal(pv_kv_seq_create(e->kv, filler, filler_blocks * bs, &filler_seq, &cached, &err), PAGEDVK_OK);
  free(filler);
  assert_int_equal(pv_kv_free_blocks(e->kv), kv->n_blocks - filler_blocks);

  static pjob jobs[12];
  pj_make_jobs(e, jobs, 12, 150, 24, 2024);
  for (uint32_t i = 0; i < 12; i++) pj_submit(e, &jobs[i]);
  char msg[512];
  assert_true(pagedvk_engine_step(e, msg, sizeof msg) > 0);
  /* after the first step, where do the running sequences' blocks live? */
  bool in_buf[PV_KV_POOL_MAX_BUFS] = {false};
  bool straddles = false;
  for (const pv_sched_group *g = e->sched.running; g; g = g->next) {
    uint32_t n = 0;
    const uint32_t *table = pv_kv_seq_table(e->kv, g->seqs[0].kv_seq, &n);
    for (uint32_t b = 0; b < n; b++) {
      in_buf[table[b] / kv->blocks_per_buf] = true;
      if (b && table[b] / kv->blocks_per_buf != table[b - 1] / kv->blocks_per_buf) straddles = true;
    }
  }
  assert_false(in_buf[0]);
  assert_true(in_buf[1]);
  assert_true(in_buf[2]);
  if (!straddles) fprintf(stderr, "note: no sequence has blocks in two buffers this time\n");
  pj_run(e);
  pj_check(jobs, 12);
  assert_int_equal(pv_kv_seq_free(e->kv, filler_seq, &err), PAGEDVK_OK);
  pv_engine_update_stats(e);
  pj_finish(e);
}

/* The same three-buffer pool, lightly used: blocks are taken lowest first, so every request lies
 * in buffer 0 and the attention kernel may take its variant without the buffer switch (on CPU
 * devices) although the pool has three buffers. Same reference tokens. */
static void test_light_use_of_a_big_pool(void **state) {
  (void)state;
  pagedvk_engine *e = pj_engine("syn-llama-q4k.gguf", 160 * MIB, 64);
  if (!e) skip();
  const pv_kv_gpu *kv = &e->kv_gpu;
  assert_int_equal(kv->n_bufs, 3);
  static pjob jobs[12];
  pj_make_jobs(e, jobs, 12, 150, 24, 77);
  for (uint32_t i = 0; i < 12; i++) pj_submit(e, &jobs[i]);
  char msg[512];
  assert_true(pagedvk_engine_step(e, msg, sizeof msg) > 0);
  for (const pv_sched_group *g = e->sched.running; g; g = g->next) {
    uint32_t n = 0;
    const uint32_t *table = pv_kv_seq_table(e->kv, g->seqs[0].kv_seq, &n);
    for (uint32_t b = 0; b < n; b++) assert_true(table[b] < kv->blocks_per_buf);
  }
  pj_run(e);
  pj_check(jobs, 12);
  pj_finish(e);
}

/* Beyond what eight buffers of the clamped range can bind, --kv-mem is refused with a message. */
static void test_pool_too_large_is_refused(void **state) {
  (void)state;
  char path[1024], err[512];
  pv_test_model_path(path, sizeof path, "syn-llama-q4k.gguf");
  pagedvk_engine_options o;
  pagedvk_engine_options_default(&o);
  o.model_path = path;
  o.kv_mem = 9 * 64 * MIB;
  pagedvk_engine *e = NULL;
  assert_int_equal(pagedvk_engine_create(&e, &o, err, sizeof err), PAGEDVK_ERR_NO_MEMORY);
  assert_null(e);
  assert_non_null(strstr(err, "--kv-mem"));
}

int main(void) {
  setenv("PAGEDVK_PROFILE", "embedded", 1);
  pagedvk_env_reload();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pool_over_three_buffers),
      cmocka_unit_test(test_light_use_of_a_big_pool),
      cmocka_unit_test(test_pool_too_large_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
