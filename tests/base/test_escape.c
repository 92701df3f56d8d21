/*
 * pv_escape (runtime/base/escape.c): text from a file or a client made safe to print. Control bytes
 * (ESC, newline, DEL, ...), the C1 controls U+0080..U+009F and bytes that are not UTF-8 become
 * escapes; valid UTF-8 and printable ASCII stay; a short buffer cuts the text with "..." and never
 * splits an escape or a character; the result never holds a byte below 0x20 or DEL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base/base.h"

static const char *esc(const char *s, size_t n) {
  static char buf[256];
  return pv_escape(s, n, buf, sizeof buf);
}

#define ESC_STR(lit) esc(lit, sizeof(lit) - 1)

static void test_controls_escaped(void **state) {
  (void)state;
  assert_string_equal(ESC_STR("plain name-1.0"), "plain name-1.0");
  assert_string_equal(ESC_STR("evil\x1b[31mred\nnext\r\tline"), "evil\\x1b[31mred\\nnext\\r\\tline");
  assert_string_equal(ESC_STR("a\x7f" "b\x01"), "a\\x7fb\\x01");
  assert_string_equal(ESC_STR("back\\slash"), "back\\\\slash");
  /* a NUL inside the text is a byte like the others */
  assert_string_equal(ESC_STR("a\0b"), "a\\x00b");
  assert_string_equal(pv_escape(NULL, 5, (char[8]){0}, 8), "");
}

static void test_utf8(void **state) {
  (void)state;
  /* kept: é, €, an emoji */
  assert_string_equal(ESC_STR("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  /* C1 control CSI (U+009B) encoded in UTF-8, and raw 0x9b (an 8-bit terminal's CSI) */
  assert_string_equal(ESC_STR("x\xc2\x9b" "1m"), "x\\u009b1m");
  assert_string_equal(ESC_STR("x\x9b" "1m"), "x\\x9b1m");
  /* overlong, surrogate, truncated sequence, beyond U+10FFFF */
  assert_string_equal(ESC_STR("\xc0\xaf"), "\\xc0\\xaf");
  assert_string_equal(ESC_STR("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  assert_string_equal(ESC_STR("\xe2\x82"), "\\xe2\\x82");
  assert_string_equal(ESC_STR("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
}

static void test_truncation(void **state) {
  (void)state;
  char buf[12];
  /* fits exactly: no "..." */
  assert_string_equal(pv_escape("hello world", 11, buf, sizeof buf), "hello world");
  assert_string_equal(pv_escape("hello world!", 12, buf, sizeof buf), "hello wo...");
  /* an escape is never cut in two */
  assert_string_equal(pv_escape("abcdef\x1b\x1b\x1b", 9, buf, sizeof buf), "abcdef...");
  /* nor a character */
  assert_string_equal(pv_escape("abcdef\xe2\x82\xac\xe2\x82\xac", 12, buf, sizeof buf), "abcdef...");
  char tiny[2];
  assert_string_equal(pv_escape("abc", 3, tiny, sizeof tiny), "");
  assert_string_equal(pv_escape("a", 1, tiny, sizeof tiny), "a");
}

/* Every byte value in every position: the output is printable or UTF-8 of U+00A0 and above. */
static void test_no_control_byte_survives(void **state) {
  (void)state;
  char in[3], out[64];
  for (int a = 0; a < 256; a++)
    for (int b = 0; b < 256; b++) {
      in[0] = (char)a, in[1] = (char)b, in[2] = 'z';
      pv_escape(in, 3, out, sizeof out);
      for (const unsigned char *p = (const unsigned char *)out; *p; p++)
        if (*p < 0x20 || *p == 0x7f) fail_msg("byte 0x%02x survived in the escape of %02x %02x", *p, a, b);
      assert_non_null(strchr(out, 'z'));
    }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_controls_escaped),
      cmocka_unit_test(test_utf8),
      cmocka_unit_test(test_truncation),
      cmocka_unit_test(test_no_control_byte_survives),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
