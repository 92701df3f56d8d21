/*
 * A request whose text cannot be made ends with the error, alone. Built with -Wl,--wrap=realloc
 * (tests/CMakeLists.txt): realloc of one armed pointer fails, as with no memory. The test arms the
 * detokenizer buffer of one running request (and shrinks its recorded capacity so the next token
 * must grow it): that request gets exactly one final event, PAGEDVK_FINISH_ERROR with
 * PAGEDVK_ERR_NO_MEMORY (the detokenizer's failure used to be swallowed and the request went on
 * without its text); the step does not fail, the other requests finish with their reference
 * continuations, and every block comes back. Not built under the sanitizers (they own malloc).
 */
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

static void test_text_failure_ends_that_request_alone(void **state) {
  (void)state;
  pagedvk_engine *e = rel_engine(64u * 16384, PAGEDVK_PREEMPT_RECOMPUTE, 0);
  if (!e) skip();
  enum { N = 4 };
  static rel_job jobs[N];
  rel_make_jobs(e, jobs, N, 30, 20, 11);
  uint32_t v = 0; /* the victim: the longest job, still running after two steps */
  for (uint32_t i = 1; i < N; i++)
    if (jobs[i].n_gen > jobs[v].n_gen) v = i;
  assert_true(jobs[v].n_gen >= 4);
  for (uint32_t i = 0; i < N; i++) rel_submit(e, &jobs[i], NULL);
  char err[512];
  for (int s = 0; s < 2; s++) assert_true(pagedvk_engine_step(e, err, sizeof err) > 0);
  pv_request *r = live_request_of(e, &jobs[v]);
  assert_non_null(r);
  assert_non_null(r->st[0].detok.raw);
  g_fail_ptr = r->st[0].detok.raw;
  r->st[0].detok.cap_raw = 1; /* the next token's bytes must grow the buffer */
  const uint32_t got_before = jobs[v].n_got;
  rel_run(e); /* the step itself succeeds */
  g_fail_ptr = NULL;
  assert_true(g_failed > 0);
  assert_int_equal(jobs[v].finals, 1);
  assert_int_equal(jobs[v].finish, PAGEDVK_FINISH_ERROR);
  assert_int_equal(jobs[v].status, PAGEDVK_ERR_NO_MEMORY);
  assert_int_equal(jobs[v].n_got, got_before); /* no token event after the failure */
  for (uint32_t i = 0; i < N; i++)
    if (i != v) rel_check_jobs(&jobs[i], 1);
  rel_finish(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_failure_ends_that_request_alone),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
