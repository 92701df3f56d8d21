/*
 * test_pretok.c — the pre-tokenizer rule sets without files: each `tokenizer.ggml.pre` family
 * cuts hand-picked text into the words its rules give (joined here with '|'), the names of
 * released models map to their families, and an unknown name is reported as such.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "text/pretok.h"

typedef struct joined {
  char buf[512];
  size_t n;
} joined;

static int add_word(void *user, const char *word, size_t len, pv_error *err) {
  (void)err;
  joined *j = user;
  assert_true(len > 0 && j->n + len + 2 < sizeof j->buf);
  if (j->n) j->buf[j->n++] = '|';
  memcpy(j->buf + j->n, word, len);
  j->n += len;
  j->buf[j->n] = 0;
  return PAGEDVK_OK;
}

static void expect_split(const char *pre_name, const char *text, const char *want) {
  bool known;
  pv_tok_pre pre = pv_pretok_from_name(pre_name, &known);
  assert_true(known);
  pv_pretok *p;
  pv_error err = {0};
  assert_int_equal(pv_pretok_compile(pre, &p, &err), 0);
  joined j = {{0}, 0};
  assert_int_equal(pv_pretok_split(p, text, strlen(text), add_word, &j, &err), 0);
  if (strcmp(j.buf, want)) fail_msg("%s on '%s': got '%s', want '%s'", pre_name, text, j.buf, want);
  pv_pretok_free(p);
}

static void test_digits(void **state) {
  (void)state;
  expect_split("gpt2", "a 12345", "a| 12345");
  expect_split("llama-bpe", "a 12345", "a| |123|45");
  expect_split("qwen2", "a 12345", "a| |1|2|3|4|5");
  expect_split("deepseek-r1-qwen", "x12", "x|1|2");
  expect_split("starcoder", "a 123", "a| |1|2|3");
  expect_split("smollm", "v2.0", "v|2|.|0");
  expect_split("falcon", "12345", "123|45");
  expect_split("deepseek-v3", "12345", "123|45");
  expect_split("deepseek-coder", "1234", "1|2|3|4");
}

static void test_letters_and_case(void **state) {
  (void)state;
  expect_split("tekken", "HelloWorld fooBar", "Hello|World| foo|Bar");
  expect_split("tekken", "a/b//c", "a|/b|//|c");
  expect_split("gpt-4o", "HelloWorld it's", "Hello|World| it's");
  expect_split("llama3", "HelloWorld it's", "HelloWorld| it|'s");
  expect_split("smaug-bpe", "HelloWorld it's", "HelloWorld| it|'s");
  expect_split("deepseek-llm", "Hi!\n\nok", "Hi|!|\n|\n|ok");
}

static void test_whitespace(void **state) {
  (void)state;
  expect_split("gpt2", "a  b", "a| | b");
  expect_split("llama3", ".\n\nx", ".\n\n|x");
  expect_split("gpt2", ".\n\nx", ".|\n|\n|x");
  expect_split("deepseek-llm", "a   ", "a|   ");
}

static void test_names(void **state) {
  (void)state;
  static const struct { const char *name; pv_tok_pre pre; } cases[] = {
      {NULL, PV_PRE_GPT2},          {"default", PV_PRE_GPT2},        {"mpt", PV_PRE_GPT2},
      {"llama-v3", PV_PRE_LLAMA3},  {"falcon3", PV_PRE_LLAMA3},      {"smaug-bpe", PV_PRE_SMAUG},
      {"qwen35", PV_PRE_QWEN35},    {"refact", PV_PRE_DIGITS_GPT2}, {"command-r", PV_PRE_DIGITS_GPT2},
      {"gpt-4o", PV_PRE_GPT4O},     {"tekken", PV_PRE_TEKKEN},      {"deepseek-v3", PV_PRE_DEEPSEEK_V3},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    bool known = false;
    assert_int_equal(pv_pretok_from_name(cases[i].name, &known), cases[i].pre);
    assert_true(known);
  }
  bool known = true;
  assert_int_equal(pv_pretok_from_name("no-such-rules", &known), PV_PRE_GPT2);
  assert_false(known);
  for (int pre = 0; pre < PV_PRE_COUNT; pre++) { /* every rule set compiles and has a name */
    pv_pretok *p;
    pv_error err = {0};
    assert_int_equal(pv_pretok_compile((pv_tok_pre)pre, &p, &err), 0);
    pv_pretok_free(p);
    assert_string_not_equal(pv_pretok_name((pv_tok_pre)pre), "?");
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_digits),
      cmocka_unit_test(test_letters_and_case),
      cmocka_unit_test(test_whitespace),
      cmocka_unit_test(test_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
