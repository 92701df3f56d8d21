/*
 * A failed submit (injected: pv_vk_fault_submit_arm, the hook behind PAGEDVK_FAULT_SUBMIT) is
 * a lost device: the step returns PAGEDVK_ERR_DEVICE_LOST, every request in flight or queued gets
 * exactly one final event with PAGEDVK_FINISH_ERROR / PAGEDVK_ERR_DEVICE_LOST, and a request added
 * afterwards fails the same way at the next step instead of hanging. Both in the step API
 * (run_until_idle) and in the serve loop on its own thread. The engine is destroyed cleanly.
 */
#include <pthread.h>

#include "rel_jobs.h"
#include "vk/vk_cmd.h"

static void check_lost(const rel_job *jobs, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    assert_int_equal(jobs[i].finals, 1);
    assert_int_equal(jobs[i].finish, PAGEDVK_FINISH_ERROR);
    assert_int_equal(jobs[i].status, PAGEDVK_ERR_DEVICE_LOST);
  }
}

static void test_lost_device_fails_every_request(void **state) {
  (void)state;
  pagedvk_engine *e = rel_engine(64u * 16384, PAGEDVK_PREEMPT_RECOMPUTE, 0);
  if (!e) skip();
  static rel_job jobs[6];
  rel_make_jobs(e, jobs, 6, 30, 20, 3);
  for (int i = 0; i < 6; i++) rel_submit(e, &jobs[i], NULL);
  char err[512];
  /* a few good steps, then the device goes */
  for (int s = 0; s < 3; s++) assert_true(pagedvk_engine_step(e, err, sizeof err) > 0);
  pv_vk_fault_submit_arm(2);
  err[0] = 0;
  int rc = pagedvk_engine_run_until_idle(e, err, sizeof err);
  assert_int_equal(rc, PAGEDVK_ERR_DEVICE_LOST);
  assert_non_null(strstr(err, "DEVICE_LOST"));
  check_lost(jobs, 6);
  /* a request added afterwards is answered too (the device stays lost) */
  static rel_job late;
  memcpy(&late, &jobs[0], sizeof late);
  late.finals = 0;
  late.n_got = 0;
  rel_submit(e, &late, NULL);
  assert_int_equal(pagedvk_engine_run_until_idle(e, err, sizeof err), PAGEDVK_ERR_DEVICE_LOST);
  check_lost(&late, 1);
  pv_vk_fault_submit_arm(0);
  pagedvk_stats st;
  pagedvk_engine_stats(e, &st);
  assert_int_equal(st.requests_running + st.requests_waiting + st.requests_swapped, 0);
  assert_int_equal(st.blocks_used, 0);
  pagedvk_engine_destroy(e);
}

typedef struct serve_arg {
  pagedvk_engine *e;
  int rc;
  char err[512];
} serve_arg;

static void *serve_thread(void *p) {
  serve_arg *a = p;
  a->rc = pagedvk_engine_serve(a->e, a->err, sizeof a->err);
  return NULL;
}

static void test_lost_device_ends_serve_loop(void **state) {
  (void)state;
  pagedvk_engine *e = rel_engine(64u * 16384, PAGEDVK_PREEMPT_RECOMPUTE, 0);
  if (!e) skip();
  static rel_job jobs[4];
  rel_make_jobs(e, jobs, 4, 30, 20, 5);
  pv_vk_fault_submit_arm(4);
  serve_arg a = {.e = e};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, serve_thread, &a), 0);
  for (int i = 0; i < 4; i++) rel_submit(e, &jobs[i], NULL);
  /* The serve loop must end by itself with the error (a hang here is the failure: ctest's
   * timeout ends the test). */
  pthread_join(t, NULL);
  assert_int_equal(a.rc, PAGEDVK_ERR_DEVICE_LOST);
  pv_vk_fault_submit_arm(0);
  /* every request that reached the engine got its error; any still queued in the inbox gets a
   * final event when the engine is destroyed */
  pagedvk_engine_destroy(e);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(jobs[i].finals, 1);
    assert_true(jobs[i].finish == PAGEDVK_FINISH_ERROR || jobs[i].finish == PAGEDVK_FINISH_ABORT);
    assert_true(jobs[i].n_got < jobs[i].n_gen || jobs[i].n_gen <= 3);
  }
  assert_int_equal(jobs[0].finish, PAGEDVK_FINISH_ERROR);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lost_device_fails_every_request),
      cmocka_unit_test(test_lost_device_ends_serve_loop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
