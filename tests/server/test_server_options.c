/*
 * test_server_options.c — what pagedvk_server_create refuses before it needs an engine, and the
 * log's escaping (runtime/server, issue 21 items 3, 11, 13):
 * - an API key that is set but empty is an error (it would have turned authentication off), as
 *   is a malformed CORS origin list; good options get as far as "no engine";
 * - srv_log_escape writes C0 controls, DEL, C1 controls and invalid UTF-8 as \xNN and keeps valid
 *   UTF-8 text; srv_log turns a client string holding ESC and a newline into one line without
 *   either (no forged log line, no terminal escape).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagedvk.h"

#include "server/server_internal.h"

/* pagedvk_server_create without an engine: the status, and the message in err. */
static int create(const pagedvk_server_options *o, char *err, size_t size) {
  pagedvk_server *s = NULL;
  int rc = pagedvk_server_create(&s, NULL, o, err, size);
  assert_null(s);
  return rc;
}

static void test_empty_key_refused(void **state) {
  (void)state;
  char err[256];
  pagedvk_server_options o;
  pagedvk_server_options_default(&o);
  o.api_key = "";
  assert_int_equal(create(&o, err, sizeof err), PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(err, "API key is empty"));
  o.api_key = "k";
  assert_int_equal(create(&o, err, sizeof err), PAGEDVK_ERR_INVALID);
  assert_string_equal(err, "no engine");
}

static void test_cors_origins_checked(void **state) {
  (void)state;
  char err[256];
  pagedvk_server_options o;
  pagedvk_server_options_default(&o);
  static const char *good[] = {"*", "http://a.example", "http://a.example, https://b.example:8443",
                               "http://localhost:3000,*"};
  static const char *bad[] = {"", " , ", "a.example", "http://a.example/", "http://a.example/x", "http://",
                              "://a", "http://a b", "http://a\x1b"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    o.cors_origins = good[i];
    assert_int_equal(create(&o, err, sizeof err), PAGEDVK_ERR_INVALID);
    if (strcmp(err, "no engine")) fail_msg("'%s' refused: %s", good[i], err);
  }
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    o.cors_origins = bad[i];
    assert_int_equal(create(&o, err, sizeof err), PAGEDVK_ERR_INVALID);
    if (!strstr(err, "CORS")) fail_msg("'%s' accepted (%s)", bad[i], err);
  }
}

static void expect_escaped(const char *in, const char *want) {
  char out[256];
  srv_log_escape(out, sizeof out, in);
  assert_string_equal(out, want);
}

static void test_log_escape(void **state) {
  (void)state;
  expect_escaped("plain text", "plain text");
  expect_escaped("x\x1b[31m\nFAKE", "x\\x1b[31m\\x0aFAKE");
  expect_escaped("a\rb\tc\x7f", "a\\x0db\\x09c\\x7f");
  expect_escaped("caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac");   /* é €: kept */
  expect_escaped("\xc2\x9b" "2J", "\\xc2\\x9b2J");                          /* C1 CSI */
  expect_escaped("\xc2\xa0", "\xc2\xa0");                                   /* NBSP: kept */
  expect_escaped("bad \xff\xc3(", "bad \\xff\\xc3(");                       /* invalid UTF-8 */
  char small[8];
  srv_log_escape(small, sizeof small, "ab\x1b\x1b"); /* cut at a whole escape */
  assert_string_equal(small, "ab\\x1b");
}

static void test_log_one_line(void **state) {
  (void)state;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  pagedvk_server s;
  memset(&s, 0, sizeof s);
  s.log = f;
  srv_log(&s, "error 404: the model '%s' does not exist", "x\x1b[31m\nFAKE LOG LINE");
  fclose(f);
  assert_null(strchr(text, '\x1b'));
  assert_ptr_equal(strchr(text, '\n'), text + len - 1); /* one line */
  assert_non_null(strstr(text, "x\\x1b[31m\\x0aFAKE LOG LINE"));
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty_key_refused),
      cmocka_unit_test(test_cors_origins_checked),
      cmocka_unit_test(test_log_escape),
      cmocka_unit_test(test_log_one_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

