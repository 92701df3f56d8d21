/*
 * test_chat_template.c — recognition of each chat template family from its Jinja markers, the
 * exact text each family renders for the same conversation (written out by hand from the
 * families' reference templates), trimming, role checks, the chatml fallback, and the public
 * pagedvk_chat_format on the Qwen2 vocabulary (skipped when ../shared is absent).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/chat_template.h"
#include "shared_paths.h"

/* Templates reduced to what recognition looks at, in the shape the families' templates have. */
static const char T_LLAMA2[] =
    "{% if messages[0]['role'] == 'system' %}{% set sys = '<<SYS>>\\n' + messages[0]['content'] + "
    "'\\n<</SYS>>\\n\\n' %}{% endif %}{% for m in loop_messages %}{{ bos_token + '[INST] ' + m['content'].strip() "
    "+ ' [/INST]' }}{% endfor %}";
static const char T_LLAMA3[] =
    "{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' + m['content'] | trim "
    "+ '<|eot_id|>' }}{% endfor %}";
static const char T_QWEN[] =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}";
static const char T_CHATML[] =
    "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n'}}{% endfor %}";
static const char T_MISTRAL[] =
    "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}{{ '[INST] ' + m['content'] + ' [/INST]' }}"
    "{% else %}{{ m['content'] + eos_token }}{% endif %}{% endfor %}";
static const char T_MISTRAL_V01[] =
    "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}{{ '[INST] ' + m['content'] + ' [/INST]' }}"
    "{% else %}{{ m['content'] + eos_token + ' ' }}{% endif %}{% endfor %}";
static const char T_ZEPHYR[] =
    "{% for m in messages %}\n{% if m['role'] == 'user' %}\n{{ '<|user|>\\n' + m['content'] + eos_token }}\n"
    "{% elif m['role'] == 'assistant' %}\n{{ '<|assistant|>\\n' + m['content'] + eos_token }}\n{% endif %}\n"
    "{% endfor %}";

static const pv_chat_msg CHAT[] = {
    {"system", "You are helpful."},
    {"user", "Hi!"},
    {"assistant", "Hello."},
    {"user", "How are you?"},
};

static void init(pv_chat_template *t, const char *jinja, const char *bos, const char *eos) {
  pv_error err = {0};
  if (pv_chat_template_init(t, jinja, jinja ? strlen(jinja) : 0, bos, eos, &err)) fail_msg("init: %s", err.msg);
}

static void expect_format(const pv_chat_template *t, const pv_chat_msg *m, size_t n, bool gen, const char *want) {
  char *out;
  size_t len;
  pv_error err = {0};
  if (pv_chat_format(t, m, n, gen, &out, &len, &err)) fail_msg("format: %s", err.msg);
  if (strcmp(out, want)) fprintf(stderr, "want: [%s]\ngot:  [%s]\n", want, out);
  assert_string_equal(out, want);
  assert_int_equal(len, strlen(want));
  free(out);
}

static void test_llama2(void **state) {
  pv_chat_template t;
  init(&t, T_LLAMA2, "<s>", "</s>");
  assert_int_equal(t.family, PV_CHAT_LLAMA2);
  assert_false(t.fallback);
  expect_format(&t, CHAT, 4, true,
                "<s>[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHi! [/INST] Hello. </s><s>[INST] How are you? [/INST]");
  const pv_chat_msg padded[] = {{"user", "  Hi!\n"}, {"assistant", " Hello.  "}};
  expect_format(&t, padded, 2, false, "<s>[INST] Hi! [/INST] Hello. </s>");
  char *out;
  size_t len;
  pv_error err = {0};
  const pv_chat_msg bad[] = {{"user", "a"}, {"user", "b"}};
  assert_int_equal(pv_chat_format(&t, bad, 2, true, &out, &len, &err), PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(err.msg, "alternate"));
  pv_chat_template_free(&t);
}

static void test_llama3(void **state) {
  pv_chat_template t;
  init(&t, T_LLAMA3, "<|begin_of_text|>", "<|end_of_text|>");
  assert_int_equal(t.family, PV_CHAT_LLAMA3);
  expect_format(&t, CHAT, 4, true,
                "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
                "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
                "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\n\n");
  const pv_chat_msg padded[] = {{"user", "\n  Hi!  \n"}};
  expect_format(&t, padded, 1, false,
                "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>");
  pv_chat_template_free(&t);
}

static void test_chatml_and_qwen(void **state) {
  pv_chat_template t;
  init(&t, T_CHATML, NULL, NULL);
  assert_int_equal(t.family, PV_CHAT_CHATML);
  assert_false(t.fallback);
  assert_null(t.default_system);
  expect_format(&t, CHAT, 4, true,
                "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"
                "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n"
                "<|im_start|>assistant\n");
  pv_chat_template_free(&t);

  init(&t, T_QWEN, "<|endoftext|>", "<|endoftext|>");
  assert_int_equal(t.family, PV_CHAT_CHATML);
  assert_string_equal(t.default_system, "You are a helpful assistant");
  expect_format(&t, CHAT + 1, 1, true,
                "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"
                "<|im_start|>assistant\n");
  expect_format(&t, CHAT, 2, false, /* a system message of its own replaces the default */
                "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n");
  pv_chat_template_free(&t);
}

static void test_mistral(void **state) {
  pv_chat_template t;
  init(&t, T_MISTRAL, "<s>", "</s>");
  assert_int_equal(t.family, PV_CHAT_MISTRAL);
  expect_format(&t, CHAT + 1, 3, true, "<s>[INST] Hi! [/INST]Hello.</s>[INST] How are you? [/INST]");
  expect_format(&t, CHAT, 4, true, "<s>[INST] You are helpful.\n\nHi! [/INST]Hello.</s>[INST] How are you? [/INST]");
  pv_chat_template_free(&t);
  init(&t, T_MISTRAL_V01, "<s>", "</s>");
  assert_true(t.eos_space);
  expect_format(&t, CHAT + 1, 3, true, "<s>[INST] Hi! [/INST]Hello.</s> [INST] How are you? [/INST]");
  pv_chat_template_free(&t);
}

static void test_zephyr(void **state) {
  pv_chat_template t;
  init(&t, T_ZEPHYR, "<s>", "</s>");
  assert_int_equal(t.family, PV_CHAT_ZEPHYR);
  expect_format(&t, CHAT, 4, true,
                "<|system|>\nYou are helpful.</s>\n<|user|>\nHi!</s>\n<|assistant|>\nHello.</s>\n"
                "<|user|>\nHow are you?</s>\n<|assistant|>\n");
  expect_format(&t, CHAT + 1, 1, false, "<|user|>\nHi!</s>\n");
  pv_chat_template_free(&t);
}

static void test_fallback(void **state) {
  pv_chat_template t;
  init(&t, NULL, "<s>", "</s>");
  assert_true(t.fallback);
  assert_int_equal(t.family, PV_CHAT_CHATML);
  expect_format(&t, CHAT + 1, 1, true, "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
  pv_chat_template_free(&t);
  init(&t, "{{ messages | tojson }}", "<s>", "</s>");
  assert_true(t.fallback);
  assert_string_equal(pv_chat_family_name(t.family), "chatml");
  pv_chat_template_free(&t);
  char *out;
  size_t len;
  pv_error err = {0};
  init(&t, T_LLAMA3, "", "");
  const pv_chat_msg no_content[] = {{"user", NULL}};
  assert_int_equal(pv_chat_format(&t, no_content, 1, true, &out, &len, &err), PAGEDVK_ERR_INVALID);
  pv_chat_template_free(&t);
}

/* The public API on the Qwen2 vocabulary, whose GGUF carries a chat template. */
static void test_public_chat_qwen2(void **state) {
  char path[1024], err[256];
  if (!pv_test_shared_path(path, sizeof path, "vocab/ggml-vocab-qwen2.gguf")) skip();
  pagedvk_model *m;
  assert_int_equal(pagedvk_model_open(&m, path, err, sizeof err), 0);
  int fallback = -1;
  assert_string_equal(pagedvk_model_chat_template(m, &fallback), "chatml");
  assert_int_equal(fallback, 0);
  const pagedvk_chat_message msgs[] = {{"user", "Hi!"}};
  char buf[512];
  size_t len;
  int has_bos = -1;
  assert_int_equal(pagedvk_chat_format(m, msgs, 1, 1, buf, 8, &len, &has_bos, err, sizeof err), PAGEDVK_ERR_TOO_LONG);
  assert_int_equal(pagedvk_chat_format(m, msgs, 1, 1, buf, sizeof buf, &len, &has_bos, err, sizeof err), 0);
  assert_string_equal(buf, "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"
                           "<|im_start|>assistant\n");
  assert_int_equal(has_bos, 0);
  int32_t ids[64];
  size_t n;
  assert_int_equal(pagedvk_tokenize(m, buf, !has_bos, 1, ids, 64, &n, err, sizeof err), 0);
  assert_int_equal(ids[0], 151644); /* <|im_start|> */
  assert_int_equal(ids[n - 3], 151644);
  pagedvk_model_close(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_llama2),  cmocka_unit_test(test_llama3),   cmocka_unit_test(test_chatml_and_qwen),
      cmocka_unit_test(test_mistral), cmocka_unit_test(test_zephyr),   cmocka_unit_test(test_fallback),
      cmocka_unit_test(test_public_chat_qwen2),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
