/*
 * An error that belongs to one request ends that request alone. Built with -Wl,--wrap=realloc
 * (tests/CMakeLists.txt): realloc of one armed pointer fails, as with no memory. Each test arms a
 * buffer of one running request and shrinks its recorded capacity so that the next step must grow
 * it; that request gets exactly one final event, PAGEDVK_FINISH_ERROR with PAGEDVK_ERR_NO_MEMORY,
 * the step does not fail, the other requests finish with their reference continuations, and every
 * block comes back. The buffers:
 *   - its detokenizer's: the text of a token cannot be made (the failure used to be swallowed and
 *     the request went on without its text);
 *   - its KV block table: the scheduler cannot reserve its next slot, so planning the step fails
 *     (every request used to end with "device lost").
 * Not built under the sanitizers (they own malloc).
 */
#include "kv/kv_internal.h"
#include "rel_jobs.h"

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static void *volatile g_fail_ptr; /* realloc of this pointer fails */
static volatile int g_failed;

void *__wrap_realloc(void *p, size_t n) {
  if (p && p == g_fail_ptr) {
    g_failed++;
    return NULL;
  }
  return __real_realloc(p, n);
}

static pv_request *live_request_of(pagedvk_engine *e, const rel_job *j) {
  for (pv_request *r = e->live; r; r = r->next)
    if (r->user == j) return r;
  return NULL;
}

/* Four jobs, two steps taken; returns the index of the longest (still running) job. */
static uint32_t start_jobs(pagedvk_engine *e, rel_job *jobs, uint32_t n, unsigned seed) {
  rel_make_jobs(e, jobs, n, 30, 20, seed);
  uint32_t v = 0;
  for (uint32_t i = 1; i < n; i++)
    if (jobs[i].n_gen > jobs[v].n_gen) v = i;
  assert_true(jobs[v].n_gen >= 4);
  for (uint32_t i = 0; i < n; i++) rel_submit(e, &jobs[i], NULL);
  char err[512];
  for (int s = 0; s < 2; s++) assert_true(pagedvk_engine_step(e, err, sizeof err) > 0);
  return v;
}

/* Runs to the end with `ptr` armed; job v ended alone with the error, the others as the reference. */
static void run_and_check(pagedvk_engine *e, rel_job *jobs, uint32_t n, uint32_t v, void *ptr) {
  const uint32_t got_before = jobs[v].n_got;
  g_failed = 0;
  g_fail_ptr = ptr;
  rel_run(e); /* the steps themselves succeed */
  g_fail_ptr = NULL;
  assert_true(g_failed > 0);
  assert_int_equal(jobs[v].finals, 1);
  assert_int_equal(jobs[v].finish, PAGEDVK_FINISH_ERROR);
  assert_int_equal(jobs[v].status, PAGEDVK_ERR_NO_MEMORY);
  assert_int_equal(jobs[v].n_got, got_before); /* no token event after the failure */
  for (uint32_t i = 0; i < n; i++)
    if (i != v) rel_check_jobs(&jobs[i], 1);
}

static void test_text_failure_ends_that_request_alone(void **state) {
  (void)state;
  pagedvk_engine *e = rel_engine(64u * 16384, PAGEDVK_PREEMPT_RECOMPUTE, 0);
  if (!e) skip();
  static rel_job jobs[4];
  const uint32_t v = start_jobs(e, jobs, 4, 11);
  pv_request *r = live_request_of(e, &jobs[v]);
  assert_non_null(r);
  assert_non_null(r->st[0].detok.raw);
  r->st[0].detok.cap_raw = 1; /* the next token's bytes must grow the buffer */
  run_and_check(e, jobs, 4, v, r->st[0].detok.raw);
  rel_finish(e);
}

static void test_plan_failure_ends_that_request_alone(void **state) {
  (void)state;
  pagedvk_engine *e = rel_engine(64u * 16384, PAGEDVK_PREEMPT_RECOMPUTE, 0);
  if (!e) skip();
  static rel_job jobs[4];
  const uint32_t v = start_jobs(e, jobs, 4, 12);
  pv_request *r = live_request_of(e, &jobs[v]);
  assert_non_null(r);
  pv_kv_seq *ks = pv_kv_seq_get(e->kv, r->seqs[0].kv_seq);
  assert_non_null(ks);
  ks->cap_table = ks->n_table - 1; /* the next slot reservation must grow the block table */
  run_and_check(e, jobs, 4, v, ks->table);
  rel_finish(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_failure_ends_that_request_alone),
      cmocka_unit_test(test_plan_failure_ends_that_request_alone),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
