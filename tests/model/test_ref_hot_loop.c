/* The CPU reference's matvec runs uninstrumented under the sanitizers (base.h PV_HOT_LOOP) and
 * checks its operands whole on entry instead. This proves the check catches what the per-access
 * instrumentation caught: a weight matrix one float short, an input one float short and an output
 * one float short each abort the (forked) process with the operand named, under AddressSanitizer;
 * in a build without it those cases are skipped, saying so. Also: the result equals a plain
 * row-by-row sum in the same order (the split into a checked wrapper changed no arithmetic). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/base.h"
#include "model/ref.h"

static void test_matvec_values(void **state) {
  (void)state;
  enum { R = 7, C = 13 };
  float w[R * C], x[C], out[R];
  for (int i = 0; i < R * C; i++) w[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
  for (int c = 0; c < C; c++) x[c] = (float)((c * 11) % 17) / 8.0f - 1.0f;
  pv_ref_matvec(out, w, x, R, C);
  for (int r = 0; r < R; r++) {
    float acc = 0.0f;
    for (int c = 0; c < C; c++) acc += w[r * C + c] * x[c];
    assert_true(acc == out[r]);
  }
}

/* Runs pv_ref_matvec in a child with one operand a float short; returns the child's stderr. */
static void expect_abort(int which, const char *name) {
#ifndef PV_ASAN
  (void)which;
  (void)name;
  skip();
#else
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    enum { R = 8, C = 16 };
    float *w = malloc(sizeof(float) * (R * C - (which == 0)));
    float *x = malloc(sizeof(float) * (C - (which == 1)));
    float *out = malloc(sizeof(float) * (R - (which == 2)));
    if (!w || !x || !out) _exit(3);
    memset(w, 0, sizeof(float) * (R * C - 1));
    memset(x, 0, sizeof(float) * (C - 1));
    pv_ref_matvec(out, w, x, R, C);
    _exit(0); /* not reached when the check works */
  }
  close(fds[1]);
  char buf[8192];
  size_t len = 0;
  ssize_t n;
  while (len + 1 < sizeof buf && (n = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)n;
  buf[len] = 0;
  close(fds[0]);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (!(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0)))
    fail_msg("matvec with a short %s did not abort", name);
  if (!strstr(buf, name)) fail_msg("the report does not name %s: %s", name, buf);
#endif
}

static void test_short_weights(void **state) {
  (void)state;
  expect_abort(0, "pv_ref_matvec weights");
}
static void test_short_input(void **state) {
  (void)state;
  expect_abort(1, "pv_ref_matvec input");
}
static void test_short_output(void **state) {
  (void)state;
  expect_abort(2, "pv_ref_matvec output");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matvec_values),
      cmocka_unit_test(test_short_weights),
      cmocka_unit_test(test_short_input),
      cmocka_unit_test(test_short_output),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
