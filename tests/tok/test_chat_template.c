/*
 * test_chat_template.c — a model's chat template (engine/chat_template.h) over the Jinja
 * interpreter: the text each built-in template renders for the same conversation (written out by
 * hand from the families' reference templates), their raise_exception checks, list-of-parts and
 * null content; the choice of template (the file's, an override, a built-in, the ChatML fallback
 * only when the vocabulary has <|im_start|> / <|im_end|> as control tokens, otherwise none with a
 * clear error); a file template that does not parse; kwargs, tools and the date reaching the
 * template; malformed JSON input refused; has_bos. Then the public API on a small vocabulary file
 * (chat_vocab.h): sources in the description and `info`, completions without a template, BOS not
 * doubled; the built-ins against the gemma-2 and phi-3.5 cases of ../shared/templates and the
 * Qwen2 vocabulary's own template (those two skip without ../shared).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>

#include <cjson/cJSON.h>

#include "chat_vocab.h"
#include "shared_paths.h"
#include "text/chat_builtin.h"
#include "engine/chat_template.h"

static const char CHAT[] = "[{\"role\": \"system\", \"content\": \"You are helpful.\"}, "
                           "{\"role\": \"user\", \"content\": \"Hi!\"}, "
                           "{\"role\": \"assistant\", \"content\": \"Hello.\"}, "
                           "{\"role\": \"user\", \"content\": \"How are you?\"}]";
static const char CHAT_NO_SYSTEM[] = "[{\"role\": \"user\", \"content\": \"Hi!\"}, "
                                     "{\"role\": \"assistant\", \"content\": \"Hello.\"}, "
                                     "{\"role\": \"user\", \"content\": \"How are you?\"}]";

static void builtin(pv_chat_template *t, const char *name) {
  pv_error err = {0};
  memset(t, 0, sizeof *t);
  if (pv_chat_template_load(t, NULL, NULL, 0, &err)) fail_msg("load: %s", err.msg);
  if (pv_chat_template_set_builtin(t, name, &err)) fail_msg("%s: %s", name, err.msg);
  char want[64];
  snprintf(want, sizeof want, "builtin:%s", name);
  assert_string_equal(t->source, want);
}

/* Renders `messages` (JSON) with bos / eos; the text, or NULL with the error in *err. */
static char *render(const pv_chat_template *t, const char *messages, bool gen, const char *bos, const char *eos,
                    pv_error *err) {
  pagedvk_chat_input in = {.messages_json = messages, .add_generation_prompt = gen, .bos_token = bos,
                           .eos_token = eos, .date = "2026-12-07"};
  char *out = NULL;
  size_t len = 0;
  if (pv_chat_render(t, &in, &out, &len, NULL, err)) return NULL;
  assert_int_equal(len, strlen(out));
  return out;
}

static void expect(const pv_chat_template *t, const char *messages, bool gen, const char *bos, const char *eos,
                   const char *want) {
  pv_error err = {0};
  char *out = render(t, messages, gen, bos, eos, &err);
  if (!out) fail_msg("render: %s", err.msg);
  if (strcmp(out, want)) fprintf(stderr, "want: [%s]\ngot:  [%s]\n", want, out);
  assert_string_equal(out, want);
  free(out);
}

static void expect_error(const pv_chat_template *t, const char *messages, const char *bos, const char *what) {
  pv_error err = {0};
  char *out = render(t, messages, true, bos, "", &err);
  if (out) fail_msg("rendered [%s], expected an error with '%s'", out, what);
  assert_int_equal(err.code, PAGEDVK_ERR_INVALID);
  if (!strstr(err.msg, what)) fail_msg("error '%s' lacks '%s'", err.msg, what);
}

static void test_builtin_llama2(void **state) {
  (void)state;
  pv_chat_template t;
  builtin(&t, "llama2");
  expect(&t, CHAT, true, "<s>", "</s>",
         "<s>[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHi! [/INST] Hello. </s><s>[INST] How are you? [/INST]");
  expect(&t, "[{\"role\": \"user\", \"content\": \"  Hi!\\n\"}, {\"role\": \"assistant\", \"content\": \" Hello.  \"}]",
         false, "<s>", "</s>", "<s>[INST] Hi! [/INST] Hello. </s>");
  expect_error(&t, "[{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"user\", \"content\": \"b\"}]", "<s>",
               "Conversation roles must alternate");
  pv_chat_template_free(&t);
}

static void test_builtin_llama3_chatml(void **state) {
  (void)state;
  pv_chat_template t;
  builtin(&t, "llama3");
  expect(&t, CHAT, true, "<|begin_of_text|>", "<|end_of_text|>",
         "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
         "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
         "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
         "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>"
         "<|start_header_id|>assistant<|end_header_id|>\n\n");
  expect(&t, "[{\"role\": \"user\", \"content\": \"\\n  Hi!  \\n\"}]", false, "<|begin_of_text|>", "",
         "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>");
  pv_chat_template_free(&t);
  builtin(&t, "chatml");
  expect(&t, CHAT, true, "", "",
         "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"
         "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n"
         "<|im_start|>assistant\n");
  /* text parts joined (other parts skipped); null content is empty */
  expect(&t,
         "[{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"a\"}, {\"type\": \"image_url\"}, "
         "{\"type\": \"text\", \"text\": \"b\"}]}, {\"role\": \"assistant\", \"content\": null}]",
         false, "", "", "<|im_start|>user\nab<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n");
  pv_chat_template_free(&t);
}

static void test_builtin_mistral_zephyr(void **state) {
  (void)state;
  pv_chat_template t;
  builtin(&t, "mistral");
  expect(&t, CHAT_NO_SYSTEM, true, "<s>", "</s>", "<s>[INST] Hi! [/INST]Hello.</s>[INST] How are you? [/INST]");
  expect(&t, CHAT, true, "<s>", "</s>", "<s>[INST] You are helpful.\n\nHi! [/INST]Hello.</s>[INST] How are you? [/INST]");
  expect_error(&t, "[{\"role\": \"assistant\", \"content\": \"a\"}]", "<s>", "conversation roles must alternate");
  pv_chat_template_free(&t);
  builtin(&t, "zephyr");
  expect(&t, CHAT, true, "<s>", "</s>",
         "<|system|>\nYou are helpful.</s>\n<|user|>\nHi!</s>\n<|assistant|>\nHello.</s>\n"
         "<|user|>\nHow are you?</s>\n<|assistant|>\n");
  expect(&t, "[{\"role\": \"user\", \"content\": \"Hi!\"}]", false, "<s>", "</s>", "<|user|>\nHi!</s>\n");
  pv_chat_template_free(&t);
}

static void test_builtin_gemma_phi3(void **state) {
  (void)state;
  pv_chat_template t;
  builtin(&t, "gemma");
  expect(&t, CHAT_NO_SYSTEM, true, "<bos>", "<eos>",
         "<bos><start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
         "<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n");
  expect_error(&t, CHAT, "<bos>", "System role not supported");
  pv_chat_template_free(&t);
  builtin(&t, "phi3");
  expect(&t, CHAT, true, "<s>", "<|endoftext|>",
         "<|system|>\nYou are helpful.<|end|>\n<|user|>\nHi!<|end|>\n<|assistant|>\nHello.<|end|>\n"
         "<|user|>\nHow are you?<|end|>\n<|assistant|>\n");
  expect(&t, "[{\"role\": \"system\", \"content\": \"\"}, {\"role\": \"user\", \"content\": \"Hi!\"}]", false, "<s>",
         "<|endoftext|>", "<|user|>\nHi!<|end|>\n<|endoftext|>");
  pv_chat_template_free(&t);
  pv_error err = {0};
  assert_int_equal(pv_chat_template_set_builtin(&t, "vicuna", &err), PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(err.msg, "chatml, llama3, llama2, mistral, zephyr, gemma, phi3"));
  size_t n = 0;
  for (const char *const *p = pv_chat_builtin_names(); *p; p++) n++;
  assert_int_equal(n, 7);
}

/* A tiny SentencePiece vocabulary: <unk> <s> </s>, then the ChatML markers with `type` (0: absent). */
static void mini_tokenizer(pv_tokenizer *tok, int type) {
  pv_gguf_str pieces[5] = {{"<unk>", 5}, {"<s>", 3}, {"</s>", 4}, {"<|im_start|>", 12}, {"<|im_end|>", 10}};
  int32_t types[5] = {PV_TOKEN_UNKNOWN, PV_TOKEN_CONTROL, PV_TOKEN_CONTROL, type, type};
  pv_vocab_desc d = {.model = "llama", .n_vocab = type ? 5 : 3, .pieces = pieces, .types = types, .bos = 1, .eos = 2,
                     .eot = -1, .unk = 0, .pad = -1, .add_bos = -1, .add_eos = -1, .add_space_prefix = -1};
  pv_error err = {0};
  if (pv_tokenizer_build(tok, &d, &err)) fail_msg("build: %s", err.msg);
}

/* No template in the file: ChatML only with the ChatML control tokens, otherwise none. */
static void test_fallback_needs_chatml_tokens(void **state) {
  (void)state;
  pv_tokenizer tok;
  pv_chat_template t;
  pv_error err = {0};
  mini_tokenizer(&tok, PV_TOKEN_CONTROL);
  assert_int_equal(pv_chat_template_load(&t, &tok, NULL, 0, &err), 0);
  assert_string_equal(t.source, "fallback:chatml");
  assert_string_equal(t.bos, "<s>");
  assert_string_equal(t.eos, "</s>");
  expect(&t, "[{\"role\": \"user\", \"content\": \"Hi!\"}]", true, NULL, NULL,
         "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
  pv_chat_template_free(&t);
  pv_tokenizer_free(&tok);

  for (int type = 0; type <= PV_TOKEN_NORMAL; type += PV_TOKEN_NORMAL) { /* absent, or plain text tokens */
    mini_tokenizer(&tok, type);
    assert_int_equal(pv_chat_template_load(&t, &tok, NULL, 0, &err), 0);
    assert_null(t.source);
    assert_null(t.tmpl);
    expect_error(&t, "[{\"role\": \"user\", \"content\": \"Hi!\"}]", NULL,
                 "the model has no chat template; pass --chat-template-file or --chat-template NAME");
    pv_chat_template_free(&t);
    pv_tokenizer_free(&tok);
  }
}

/* The file's template; one that does not parse; an override over it; a bad override keeps it. */
static void test_sources(void **state) {
  (void)state;
  pv_tokenizer tok;
  pv_chat_template t;
  pv_error err = {0};
  mini_tokenizer(&tok, PV_TOKEN_CONTROL);
  static const char own[] = "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}";
  assert_int_equal(pv_chat_template_load(&t, &tok, own, strlen(own), &err), 0);
  assert_string_equal(t.source, "gguf");
  pagedvk_chat_input in = {.messages_json = "[{\"role\": \"user\", \"content\": \"x\"}]"};
  char *out = NULL;
  size_t len = 0;
  bool has_bos = false;
  assert_int_equal(pv_chat_render(&t, &in, &out, &len, &has_bos, &err), 0);
  assert_string_equal(out, "<s>[user:x]");
  assert_true(has_bos);
  free(out);
  in.bos_token = ""; /* the caller's bos_token replaces the vocabulary's */
  assert_int_equal(pv_chat_render(&t, &in, &out, &len, &has_bos, &err), 0);
  assert_string_equal(out, "[user:x]");
  assert_false(has_bos);
  free(out);
  pv_chat_template_free(&t);

  static const char broken[] = "{% for m in messages %}{{ m.content }}";
  assert_int_equal(pv_chat_template_load(&t, &tok, broken, strlen(broken), &err), 0);
  assert_string_equal(t.source, "gguf");
  assert_null(t.tmpl);
  assert_non_null(strstr(t.problem, "tokenizer.chat_template) cannot be used: "));
  expect_error(&t, "[]", NULL, "cannot be used");
  static const char mine[] = "{{ messages | length }}";
  assert_int_equal(pv_chat_template_set(&t, mine, strlen(mine), "file:mine.jinja", &err), 0);
  assert_string_equal(t.source, "file:mine.jinja");
  assert_null(t.problem);
  expect(&t, "[{}, {}]", true, NULL, NULL, "2");
  assert_int_equal(pv_chat_template_set(&t, broken, strlen(broken), "file:broken.jinja", &err), PAGEDVK_ERR_FORMAT);
  assert_non_null(strstr(err.msg, "file:broken.jinja"));
  assert_string_equal(t.source, "file:mine.jinja");
  expect(&t, "[{}]", true, NULL, NULL, "1");
  pv_chat_template_free(&t);
  pv_tokenizer_free(&tok);
}

/* kwargs become variables but cannot replace the chat's own; tools; the date; bad input. */
static void test_variables_and_input_checks(void **state) {
  (void)state;
  pv_chat_template t;
  pv_error err = {0};
  memset(&t, 0, sizeof t);
  assert_int_equal(pv_chat_template_load(&t, NULL, NULL, 0, &err), 0);
  static const char tmpl[] = "{{ enable_thinking }}|{{ tools[0].function.name }}|{{ messages | length }}|"
                             "{{ strftime_now('%d %b %Y') }}|{{ add_generation_prompt }}|{{ documents is none }}";
  assert_int_equal(pv_chat_template_set(&t, tmpl, strlen(tmpl), NULL, &err), 0);
  assert_string_equal(t.source, "override");
  pagedvk_chat_input in = {.messages_json = "[{\"role\": \"user\", \"content\": \"x\"}]",
                           .tools_json = "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"}}]",
                           .kwargs_json = "{\"enable_thinking\": false, \"messages\": 5, \"add_generation_prompt\": 7}",
                           .add_generation_prompt = 1,
                           .date = "2026-03-09"};
  char *out = NULL;
  size_t len = 0;
  assert_int_equal(pv_chat_render(&t, &in, &out, &len, NULL, &err), 0);
  assert_string_equal(out, "False|get_weather|1|09 Mar 2026|True|True");
  free(out);
  const pagedvk_chat_input bad[] = {
      {.messages_json = "[], \"bos_token\": \"x\""},
      {.messages_json = "{\"role\": \"user\"}"},
      {.messages_json = NULL},
      {.messages_json = "[]", .tools_json = "{}"},
      {.messages_json = "[]", .kwargs_json = "[1]"},
      {.messages_json = "[]", .kwargs_json = "{\"a\": 1} {\"b\": 2}"},
      {.messages_json = "[\"unterminated]"},
      {.messages_json = "[]", .date = "2026-13-01"},
      {.messages_json = "[]", .date = "yesterday"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    out = NULL;
    if (pv_chat_render(&t, &bad[i], &out, &len, NULL, &err) != PAGEDVK_ERR_INVALID)
      fail_msg("input %zu accepted: [%s]", i, out ? out : "");
    assert_null(out);
  }
  pv_chat_template_free(&t);
}

/* ---- the public API on a vocabulary file ----------------------------------------------------- */

static pagedvk_model *open_vocab(const char *name, int chatml_type, const char *tmpl) {
  char path[512], err[512];
  snprintf(path, sizeof path, "%s/%s-%d.gguf", P_tmpdir, name, (int)getpid());
  assert_int_equal(pv_test_write_chat_vocab(path, chatml_type, tmpl), 0);
  pagedvk_model *m = NULL;
  if (pagedvk_model_open(&m, path, err, sizeof err)) fail_msg("%s", err);
  unlink(path);
  return m;
}

static char *info_text(pagedvk_model *m) {
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  assert_non_null(mem);
  pagedvk_model_print_info(m, mem);
  fclose(mem);
  return text;
}

/* No template and no ChatML tokens: the description and info say none, chats fail with the clear
 * error, completions (tokenizing) still work; a built-in set afterwards renders, and BOS written
 * by the template is not added again. */
static void test_public_none_then_builtin(void **state) {
  (void)state;
  pagedvk_model *m = open_vocab("pv-chat-none", 0, NULL);
  char err[512], buf[512];
  size_t len = 0, n = 0;
  int has_bos = -1, fallback = -1;
  assert_null(pagedvk_model_chat_template_source(m));
  assert_string_equal(pagedvk_model_chat_template(m, &fallback), "none");
  assert_int_equal(fallback, 1);
  pagedvk_model_description d;
  pagedvk_model_describe(m, &d, err, sizeof err);
  assert_null(d.chat_template_source);
  assert_int_equal(d.chat_template_usable, 0);
  assert_non_null(strstr(d.chat_template_reason, "no chat template"));
  char *text = info_text(m);
  if (!strstr(text, "chat template:  none (the model has no chat template; pass --chat-template-file or "
                    "--chat-template NAME)\n"))
    fail_msg("info:\n%s", text);
  free(text);
  const pagedvk_chat_message msgs[] = {{"user", "Hi"}};
  assert_int_equal(pagedvk_chat_format(m, msgs, 1, 1, buf, sizeof buf, &len, &has_bos, err, sizeof err),
                   PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(err, "no chat template"));
  int32_t ids[256];
  assert_int_equal(pagedvk_tokenize(m, "Hi", 1, 0, ids, 256, &n, err, sizeof err), 0);
  assert_int_equal(ids[0], 1);

  assert_int_equal(pagedvk_model_set_chat_template(m, NULL, 0, "nope", err, sizeof err), PAGEDVK_ERR_INVALID);
  assert_int_equal(pagedvk_model_set_chat_template(m, NULL, 0, "llama2", err, sizeof err), 0);
  assert_string_equal(pagedvk_model_chat_template_source(m), "builtin:llama2");
  assert_string_equal(pagedvk_model_chat_template(m, &fallback), "builtin:llama2");
  assert_int_equal(fallback, 0);
  assert_int_equal(pagedvk_chat_format(m, msgs, 1, 1, buf, 4, &len, &has_bos, err, sizeof err), PAGEDVK_ERR_TOO_LONG);
  assert_int_equal(pagedvk_chat_format(m, msgs, 1, 1, buf, sizeof buf, &len, &has_bos, err, sizeof err), 0);
  assert_string_equal(buf, "<s>[INST] Hi [/INST]");
  assert_int_equal(has_bos, 1);
  /* tokenized as the server and CLI do: one BOS, the template's */
  assert_int_equal(pagedvk_tokenize(m, buf, !has_bos, 1, ids, 256, &n, err, sizeof err), 0);
  assert_int_equal(ids[0], 1);
  assert_int_not_equal(ids[1], 1);
  size_t n_doubled = 0; /* what adding BOS regardless would give */
  assert_int_equal(pagedvk_tokenize(m, buf, 1, 1, ids, 256, &n_doubled, err, sizeof err), 0);
  assert_int_equal(n_doubled, n + 1);

  char *out = NULL;
  pagedvk_chat_input in = {.messages_json = "[{\"role\": \"user\", \"content\": \"Hi\"}]", .add_generation_prompt = 1};
  assert_int_equal(pagedvk_chat_render(m, &in, &out, &len, &has_bos, err, sizeof err), 0);
  assert_string_equal(out, "<s>[INST] Hi [/INST]");
  free(out);
  static const char file[] = "{% for m in messages %}{{ m.content }}{% endfor %}";
  assert_int_equal(pagedvk_model_set_chat_template(m, file, strlen(file), "t.jinja", err, sizeof err), 0);
  assert_string_equal(pagedvk_model_chat_template_source(m), "file:t.jinja");
  assert_int_equal(pagedvk_model_set_chat_template(m, "{% if %}", 8, "bad.jinja", err, sizeof err), PAGEDVK_ERR_FORMAT);
  assert_non_null(strstr(err, "line 1"));
  assert_string_equal(pagedvk_model_chat_template_source(m), "file:t.jinja");
  pagedvk_model_close(m);
}

/* The fallback on a vocabulary with the ChatML control tokens; not with them as plain tokens. */
static void test_public_fallback(void **state) {
  (void)state;
  pagedvk_model *m = open_vocab("pv-chat-chatml", 3, NULL);
  char err[512], buf[512];
  size_t len = 0, n = 0;
  int has_bos = -1;
  pagedvk_model_description d;
  pagedvk_model_describe(m, &d, err, sizeof err);
  assert_string_equal(d.chat_template_source, "fallback:chatml");
  assert_int_equal(d.chat_template_fallback, 1);
  assert_int_equal(d.chat_template_usable, 1);
  const pagedvk_chat_message msgs[] = {{"user", "Hi"}};
  assert_int_equal(pagedvk_chat_format(m, msgs, 1, 1, buf, sizeof buf, &len, &has_bos, err, sizeof err), 0);
  assert_string_equal(buf, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  assert_int_equal(has_bos, 0);
  int32_t ids[256];
  assert_int_equal(pagedvk_tokenize(m, buf, 0, 1, ids, 256, &n, err, sizeof err), 0);
  assert_int_equal(ids[0], 3);
  pagedvk_model_close(m);
  m = open_vocab("pv-chat-plain", 1, NULL);
  assert_null(pagedvk_model_chat_template_source(m));
  pagedvk_model_close(m);
  m = open_vocab("pv-chat-gguf", 0, "{{ bos_token }}{{ messages[0].content }}");
  assert_string_equal(pagedvk_model_chat_template_source(m), "gguf");
  char *text = info_text(m);
  if (!strstr(text, "chat template:  gguf\n")) fail_msg("info:\n%s", text);
  free(text);
  pagedvk_model_close(m);
}

/* ---- against ../shared ------------------------------------------------------------------------ */

/* Renders every case of shared/templates/DIR with built-in `name` and compares. */
static void check_case(const pv_chat_template *t, const char *path, const char *name) {
  size_t len;
  char *text = pv_test_read_file(path, &len);
  cJSON *c = cJSON_Parse(text);
  free(text);
  assert_non_null(c);
  char *msgs = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "messages"));
  const cJSON *want = cJSON_GetObjectItem(c, "expected"), *error = cJSON_GetObjectItem(c, "error");
  pv_error err = {0};
  char *out = render(t, msgs, cJSON_IsTrue(cJSON_GetObjectItem(c, "add_generation_prompt")),
                     cJSON_GetObjectItem(c, "bos_token")->valuestring, cJSON_GetObjectItem(c, "eos_token")->valuestring,
                     &err);
  if (want && (!out || strcmp(out, want->valuestring)))
    fail_msg("%s with builtin %s:\nwant [%s]\ngot  [%s] %s", path, name, want->valuestring, out ? out : "", err.msg);
  if (error && (out || !strstr(err.msg, error->valuestring)))
    fail_msg("%s with builtin %s: want an error '%s', got [%s] %s", path, name, error->valuestring, out ? out : "",
             err.msg);
  free(out);
  cJSON_free(msgs);
  cJSON_Delete(c);
}

static int check_cases(const char *dir, const char *name) {
  char rel[256], path[1024];
  snprintf(rel, sizeof rel, "templates/%s", dir);
  if (!pv_test_shared_path(path, sizeof path, rel)) return 0;
  DIR *d = opendir(path);
  assert_non_null(d);
  pv_chat_template t;
  builtin(&t, name);
  int checked = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 5, ".json")) continue;
    char file[1400];
    snprintf(file, sizeof file, "%s/%s", path, e->d_name);
    check_case(&t, file, name);
    checked++;
  }
  closedir(d);
  pv_chat_template_free(&t);
  return checked;
}

static void test_builtins_match_shared_cases(void **state) {
  (void)state;
  int n = check_cases("gemma-2", "gemma");
  n += check_cases("phi-3.5-mini", "phi3");
  if (!n) skip();
}

/* The Qwen2 vocabulary's own template (its tokenizer.chat_template) through the public API. */
static void test_public_chat_qwen2(void **state) {
  (void)state;
  char path[1024], err[256];
  if (!pv_test_shared_path(path, sizeof path, "vocab/ggml-vocab-qwen2.gguf")) skip();
  pagedvk_model *m;
  assert_int_equal(pagedvk_model_open(&m, path, err, sizeof err), 0);
  int fallback = -1;
  assert_string_equal(pagedvk_model_chat_template(m, &fallback), "gguf");
  assert_int_equal(fallback, 0);
  const pagedvk_chat_message msgs[] = {{"user", "Hi!"}};
  char buf[512];
  size_t len;
  int has_bos = -1;
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
      cmocka_unit_test(test_builtin_llama2),
      cmocka_unit_test(test_builtin_llama3_chatml),
      cmocka_unit_test(test_builtin_mistral_zephyr),
      cmocka_unit_test(test_builtin_gemma_phi3),
      cmocka_unit_test(test_fallback_needs_chatml_tokens),
      cmocka_unit_test(test_sources),
      cmocka_unit_test(test_variables_and_input_checks),
      cmocka_unit_test(test_public_none_then_builtin),
      cmocka_unit_test(test_public_fallback),
      cmocka_unit_test(test_builtins_match_shared_cases),
      cmocka_unit_test(test_public_chat_qwen2),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
