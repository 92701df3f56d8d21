/*
 * Weights larger than one binding: with PAGEDVK_MAX_BINDING lowered to 1 MiB, the token embedding
 * and the output matrix of the test models (4.5-8 MiB) are placed as row ranges in several
 * buffers, and the engine's greedy output equals the CPU reference's token for token: a ragged
 * batch (mixed prompt and output lengths, chunked prefill, decode batches shrinking to 1, a KV
 * pool that holds a few sequences at a time, so later ones take blocks freed in another order),
 * with the device argmax over the
 * logits that the split output matrix wrote. Models: a Q4_K embedding with a separate Q6_K output
 * (syn-llama-q4k), a tied F16 embedding (syn-qwen2-f16), each also under the embedded profile.
 * The clamp also bounds every other binding: the engine's limits are chosen so its activation
 * buffers and KV pool buffers fit in 1 MiB.
 */
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

#define MAX_GEN 24
#define N_JOBS 12
/* 2 layers x 2 KV heads x (K, V) x 16 tokens x f16 x head size (64, 32) */
#define LLAMA_BLOCK (2u * 2 * 2 * 16 * 2 * 64)
#define QWEN2_BLOCK (2u * 2 * 2 * 16 * 2 * 32)
#define NEAR_TIE 0.02f /* the engine's f16 K/V differ from the f32 reference by ~1e-3 */

typedef struct job {
  int32_t prompt[128];
  uint32_t n_prompt, n_gen;
  int32_t want[MAX_GEN], got[MAX_GEN];
  float margin[MAX_GEN];
  uint32_t n_got;
  int finished;
} job;

static void on_token(const pagedvk_token_event *ev, void *user) {
  job *j = user;
  if (ev->token >= 0 && j->n_got < MAX_GEN) j->got[j->n_got++] = ev->token;
  if (ev->finish != PAGEDVK_FINISH_NONE) j->finished++;
}

/* block_bytes: one 16-token KV block of the model (f16 K and V of every layer) */
static pagedvk_engine *make_engine(const char *model, uint32_t block_bytes, bool warmup) {
  char path[1024], err[512];
  pv_test_model_path(path, sizeof path, model);
  pagedvk_engine_options o;
  pagedvk_engine_options_default(&o);
  o.model_path = path;
  o.kv_mem = 20u * block_bytes; /* 20 blocks for 12 jobs of up to 8: blocks freed and taken again */
  o.block_size = 16;
  o.max_num_batched_tokens = 64; /* activations: 64 x 512 floats = 128 KiB per buffer */
  o.max_num_seqs = 8;            /* logits: 8 x 32000 floats = 1000 KiB, within the 1 MiB clamp */
  o.max_model_len = 256;
  o.warmup = warmup;
  pagedvk_engine *e = NULL;
  int rc = pagedvk_engine_create(&e, &o, err, sizeof err);
  if (rc) fprintf(stderr, "engine: %s\n", err);
  assert_int_equal(rc, PAGEDVK_OK);
  return e;
}

static void make_jobs(pagedvk_engine *e, job *jobs, uint32_t seed) {
  pv_error err = {0};
  pv_ref *r = NULL;
  assert_int_equal(pv_ref_create(&r, e->model->gguf, 128 + MAX_GEN + 1, &err), PAGEDVK_OK);
  srand(seed);
  for (uint32_t i = 0; i < N_JOBS; i++) {
    job *j = &jobs[i];
    memset(j, 0, sizeof *j);
    j->n_prompt = 1 + (uint32_t)rand() % 100;
    j->prompt[0] = 1;
    for (uint32_t k = 1; k < j->n_prompt; k++) j->prompt[k] = 3 + rand() % (int)(e->hp.n_vocab - 3);
    j->n_gen = 1 + (uint32_t)rand() % MAX_GEN;
    assert_int_equal(pv_ref_greedy_margins(r, j->prompt, j->n_prompt, j->n_gen, j->want, j->margin, &err), 0);
  }
  pv_ref_destroy(r);
}

static void check_jobs(const job *jobs) {
  for (uint32_t i = 0; i < N_JOBS; i++) {
    const job *j = &jobs[i];
    assert_int_equal(j->finished, 1);
    assert_int_equal(j->n_got, j->n_gen);
    for (uint32_t k = 0; k < j->n_gen; k++) {
      if (j->got[k] == j->want[k]) continue;
      fprintf(stderr, "job %u (prompt %u): token %u: got %d want %d (reference margin %g)\n", i, j->n_prompt, k,
              j->got[k], j->want[k], j->margin[k]);
      assert_true(j->margin[k] < NEAR_TIE); /* past a near-tie the other token may win */
      break;
    }
  }
}

/* The parts of a split matrix: more than one, each within the clamp, rows adding up. */
static void check_split(const pagedvk_engine *e, const pv_op_weight *w) {
  assert_true(w->n_parts >= 2);
  uint32_t rows = 0;
  for (uint32_t i = 0; i < w->n_parts; i++) {
    assert_true(w->parts[i].buf->size <= e->ctx->caps.max_storage_buffer_range);
    rows += w->parts[i].n;
  }
  assert_int_equal(rows, w->n);
}

static void run_split(const char *model, uint32_t block_bytes, bool embedded) {
  setenv("PAGEDVK_MAX_BINDING", "1M", 1);
  if (embedded) setenv("PAGEDVK_PROFILE", "embedded", 1);
  pagedvk_env_reload();
  pagedvk_engine *e = make_engine(model, block_bytes, true);
  unsetenv("PAGEDVK_MAX_BINDING");
  unsetenv("PAGEDVK_PROFILE");
  pagedvk_env_reload();
  if (!e) skip();
  assert_int_equal(e->ctx->caps.max_storage_buffer_range, 1u << 20);
  check_split(e, &e->dev.tok_embd);
  check_split(e, &e->dev.output);
  static job jobs[N_JOBS];
  make_jobs(e, jobs, 4321);
  const uint32_t pipelines = e->ops.pipelines_created;
  e->ops.count_cold = true;
  char err[512];
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  sp.temperature = 0.0f; /* plain greedy: the device argmax */
  sp.ignore_eos = 1;
  for (uint32_t i = 0; i < N_JOBS; i++) {
    sp.max_tokens = jobs[i].n_gen;
    int rc = pagedvk_engine_add_request(e, jobs[i].prompt, jobs[i].n_prompt, &sp, on_token, &jobs[i], NULL, err,
                                        sizeof err);
    if (rc) fprintf(stderr, "add: %s\n", err);
    assert_int_equal(rc, PAGEDVK_OK);
  }
  int rc = pagedvk_engine_run_until_idle(e, err, sizeof err);
  if (rc) fprintf(stderr, "run: %s\n", err);
  assert_int_equal(rc, PAGEDVK_OK);
  check_jobs(jobs);
  pagedvk_stats st;
  pagedvk_engine_stats(e, &st);
  assert_true(st.peak_running >= 4); /* batches of several sequences */
  assert_int_equal(st.blocks_used, 0);
  /* the warm-up walked every part: no step met a pipeline or a binding it had not run */
  assert_int_equal(e->ops.pipelines_created, pipelines);
  assert_int_equal(e->ops.cold_dispatches, 0);
  assert_int_equal(pv_vk_validation_count(e->ctx), 0);
  pagedvk_engine_destroy(e);
}

static void test_split_llama_q4k(void **state) {
  (void)state;
  run_split("syn-llama-q4k.gguf", LLAMA_BLOCK, false);
}

static void test_split_qwen2_tied(void **state) {
  (void)state;
  run_split("syn-qwen2-f16.gguf", QWEN2_BLOCK, false);
}

static void test_split_llama_q4k_embedded(void **state) {
  (void)state;
  run_split("syn-llama-q4k.gguf", LLAMA_BLOCK, true);
}

static void test_split_qwen2_tied_embedded(void **state) {
  (void)state;
  run_split("syn-qwen2-f16.gguf", QWEN2_BLOCK, true);
}

/* Without the clamp nothing is split (the test models fit one binding). */
static void test_unsplit_by_default(void **state) {
  (void)state;
  pagedvk_engine *e = make_engine("syn-llama-q4k.gguf", LLAMA_BLOCK, false);
  if (!e) skip();
  assert_int_equal(e->dev.tok_embd.n_parts, 0);
  assert_int_equal(e->dev.output.n_parts, 0);
  assert_int_equal(e->dev.n_parts, 0);
  pagedvk_engine_destroy(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split_llama_q4k),
      cmocka_unit_test(test_split_qwen2_tied),
      cmocka_unit_test(test_split_llama_q4k_embedded),
      cmocka_unit_test(test_split_qwen2_tied_embedded),
      cmocka_unit_test(test_unsplit_by_default),
  };
  if (getenv("PV_TEST_FILTER")) cmocka_set_test_filter(getenv("PV_TEST_FILTER"));
  return cmocka_run_group_tests(tests, NULL, NULL);
}
