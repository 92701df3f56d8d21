/*
 * test_chat_request.c — a chat completion request's prompt (oai_parse, runtime/server) is the
 * model's Jinja template rendered with the request's messages, tools and chat_template_kwargs,
 * tokenized with control tokens parsed and BOS not doubled:
 * - on a small vocabulary file with the built-in llama2 template: the request's ids equal
 *   pagedvk_chat_render + pagedvk_tokenize of the same messages, one BOS;
 * - every wire field reaches the template (name, text parts, null content, reasoning_content,
 *   tool_calls with their "arguments" string turned into the object it spells, tool messages,
 *   tools, kwargs, add_generation_prompt); a template error is a 400 with the template's text;
 *   a model without a template gives its clear error while completions still work;
 * - a model file carrying the Llama-3.2 template (file metadata) on the Llama-3 vocabulary: every
 *   case of ../shared/templates/llama-3.2 sent as OpenAI wire JSON gives the ids of the case's own
 *   rendering; the Qwen3 template with {"enable_thinking": false} ends its prompt with the empty
 *   think block (both skip without ../shared).
 * The server object is set up without a socket or engine, as fuzz_http_body does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagedvk.h"

#include "chat_vocab.h"
#include "devkit/gguf_write.h"
#include "server/server_internal.h"
#include "shared_paths.h"

static pagedvk_server srv;

static void serve_model(pagedvk_model *m) {
  memset(&srv, 0, sizeof srv);
  srv.model = m;
  srv.model_name = "m";
  srv.max_model_len = 8192;
  srv.max_body = 1 << 20;
  pagedvk_sampling_params_default(&srv.defaults);
}

static pagedvk_model *open_vocab(int chatml_type, const char *builtin) {
  char path[512], err[512];
  snprintf(path, sizeof path, "%s/pv-chat-req-%d.gguf", P_tmpdir, (int)getpid());
  assert_int_equal(pv_test_write_chat_vocab(path, chatml_type, NULL), 0);
  pagedvk_model *m = NULL;
  if (pagedvk_model_open(&m, path, err, sizeof err)) fail_msg("%s", err);
  unlink(path);
  if (builtin && pagedvk_model_set_chat_template(m, NULL, 0, builtin, err, sizeof err)) fail_msg("%s", err);
  return m;
}

/* Parses `body` as a chat request; 0 or -1 with *e. */
static int parse(oai_kind kind, const char *body, oai_request *r, srv_error *e) {
  memset(e, 0, sizeof *e);
  return oai_parse(&srv, kind, body, strlen(body), r, e);
}

/* The ids the rendering of `in` gives, tokenized as a chat prompt must be. */
static int32_t *expected_ids(const pagedvk_chat_input *in, size_t *n, int *has_bos) {
  char err[512], *text = NULL;
  size_t len = 0;
  if (pagedvk_chat_render(srv.model, in, &text, &len, has_bos, err, sizeof err)) fail_msg("render: %s", err);
  int32_t *ids = malloc((len + 16) * sizeof *ids);
  if (pagedvk_tokenize(srv.model, text, !*has_bos, 1, ids, len + 16, n, err, sizeof err)) fail_msg("%s", err);
  free(text);
  return ids;
}

static void expect_same_ids(const oai_request *r, const int32_t *want, size_t n) {
  if (r->n_prompt != n) fail_msg("the request has %zu prompt ids, the rendering %zu", r->n_prompt, n);
  for (size_t i = 0; i < n; i++)
    if (r->prompt[i] != want[i]) fail_msg("prompt id %zu: %d, the rendering's %d", i, r->prompt[i], want[i]);
}

/* The prompt's text from its ids (after the BOS, which must be exactly one). */
static char *prompt_text(const oai_request *r, int32_t bos) {
  char err[512];
  size_t len = 0, skip = r->n_prompt && r->prompt[0] == bos ? 1 : 0;
  if (r->n_prompt > 1 && r->prompt[1] == bos) fail_msg("BOS doubled");
  pagedvk_detokenize(srv.model, r->prompt + skip, r->n_prompt - skip, PAGEDVK_DETOK_SPECIAL | PAGEDVK_DETOK_STRIP_SPACE,
                     NULL, 0, &len, err, sizeof err);
  char *text = malloc(len + 1);
  if (pagedvk_detokenize(srv.model, r->prompt + skip, r->n_prompt - skip,
                         PAGEDVK_DETOK_SPECIAL | PAGEDVK_DETOK_STRIP_SPACE, text, len + 1, &len, err, sizeof err))
    fail_msg("%s", err);
  return text;
}

static void test_ids_equal_rendering(void **state) {
  (void)state;
  serve_model(open_vocab(0, "llama2"));
  static const char msgs[] = "[{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": "
                             "\"Hi there\"}, {\"role\": \"assistant\", \"content\": \"Hello\"}, {\"role\": \"user\", "
                             "\"content\": \"Why?\"}]";
  char body[1024];
  snprintf(body, sizeof body, "{\"model\": \"m\", \"messages\": %s}", msgs);
  oai_request r;
  srv_error e;
  if (parse(OAI_CHAT, body, &r, &e)) fail_msg("%u %s", e.http, e.message);
  pagedvk_chat_input in = {.messages_json = msgs, .add_generation_prompt = 1};
  size_t n = 0;
  int has_bos = 0;
  int32_t *want = expected_ids(&in, &n, &has_bos);
  assert_int_equal(has_bos, 1);
  expect_same_ids(&r, want, n);
  assert_int_equal(r.prompt[0], 1);
  assert_int_not_equal(r.prompt[1], 1);
  oai_request_free(&r);
  /* "developer" is the system role */
  snprintf(body, sizeof body, "{\"model\": \"m\", \"messages\": [{\"role\": \"developer\", \"content\": \"Be brief.\"}, "
           "{\"role\": \"user\", \"content\": \"Hi there\"}, {\"role\": \"assistant\", \"content\": \"Hello\"}, "
           "{\"role\": \"user\", \"content\": \"Why?\"}]}");
  if (parse(OAI_CHAT, body, &r, &e)) fail_msg("%u %s", e.http, e.message);
  expect_same_ids(&r, want, n);
  oai_request_free(&r);
  free(want);
  /* the template's raise_exception is the client's 400, with its text */
  assert_int_equal(parse(OAI_CHAT, "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"a\"}, "
                                   "{\"role\": \"user\", \"content\": \"b\"}]}", &r, &e), -1);
  oai_request_free(&r);
  assert_int_equal(e.http, 400);
  assert_string_equal(e.code, "chat_template_error");
  if (!strstr(e.message, "Conversation roles must alternate")) fail_msg("message: %s", e.message);
  pagedvk_model_close(srv.model);
}

static void test_no_template(void **state) {
  (void)state;
  serve_model(open_vocab(0, NULL));
  oai_request r;
  srv_error e;
  assert_int_equal(parse(OAI_CHAT, "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"a\"}]}", &r, &e),
                   -1);
  oai_request_free(&r);
  assert_int_equal(e.http, 400);
  if (!strstr(e.message, "the model has no chat template; pass --chat-template-file or --chat-template NAME"))
    fail_msg("message: %s", e.message);
  if (parse(OAI_COMPLETION, "{\"model\": \"m\", \"prompt\": \"Hi\"}", &r, &e)) fail_msg("completion: %s", e.message);
  assert_int_equal(r.prompt[0], 1);
  oai_request_free(&r);
  pagedvk_model_close(srv.model);
}

/* A template that prints every field it is given. */
static const char ECHO[] =
    "{%- for m in messages -%}"
    "<{{ m.role }}{% if m.name is defined %}/{{ m.name }}{% endif %}>"
    "{%- if m.content is string %}{{ m.content }}{% elif m.content is none %}NONE"
    "{% else %}{% for p in m.content %}{{ p.text }}+{% endfor %}{% endif -%}"
    "{%- if m.reasoning_content is defined %}~{{ m.reasoning_content }}{% endif -%}"
    "{%- for c in m.tool_calls if m.tool_calls is defined %} {{ c.id }}:{{ c.function.name }}"
    "{{ c.function.arguments | tojson }}{% endfor -%}"
    "{%- if m.tool_call_id is defined %}#{{ m.tool_call_id }}{% endif -%}"
    "{%- endfor -%}"
    "|{{ tools | length }}:{{ tools[0].function.name }}|{{ enable_thinking }}|{{ add_generation_prompt }}";

static void test_fields_reach_template(void **state) {
  (void)state;
  serve_model(open_vocab(0, NULL));
  char err[512];
  if (pagedvk_model_set_chat_template(srv.model, ECHO, strlen(ECHO), "echo.jinja", err, sizeof err)) fail_msg("%s", err);
  static const char body[] =
      "{\"model\": \"m\", \"add_generation_prompt\": false, \"chat_template_kwargs\": {\"enable_thinking\": false},"
      " \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {}}}],"
      " \"messages\": ["
      "{\"role\": \"user\", \"name\": \"ann\", \"content\": [{\"type\": \"text\", \"text\": \"a\"}, {\"type\": \"text\", "
      "\"text\": \"b\"}]},"
      "{\"role\": \"assistant\", \"content\": null, \"reasoning_content\": \"hmm\", \"tool_calls\": [{\"id\": \"c1\", "
      "\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\", "
      "\\\"days\\\": 2}\"}}, {\"id\": \"c2\", \"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": "
      "\"not json\"}}]},"
      "{\"role\": \"tool\", \"tool_call_id\": \"c1\", \"content\": \"20C\"}]}";
  oai_request r;
  srv_error e;
  if (parse(OAI_CHAT, body, &r, &e)) fail_msg("%u %s", e.http, e.message);
  char *text = prompt_text(&r, 1);
  assert_int_equal(r.prompt[0], 1); /* the template writes no BOS: the tokenizer adds it */
  const char *want = "<user/ann>a+b+<assistant>NONE~hmm c1:get_weather{\"city\": \"Paris\", \"days\": 2} "
                     "c2:f\"not json\"<tool>20C#c1|1:get_weather|False|False";
  if (strcmp(text, want)) fail_msg("want [%s]\ngot  [%s]", want, text);
  free(text);
  oai_request_free(&r);
  const char *bad[] = {
      "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"a\"}], \"chat_template_kwargs\": [1]}",
      "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"a\"}], \"tools\": {}}",
      "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}",
      "{\"model\": \"m\", \"messages\": [{\"role\": \"wizard\", \"content\": \"a\"}]}",
      "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": 5}]}",
      "{\"model\": \"m\", \"messages\": [{\"role\": \"assistant\", \"tool_calls\": 5}]}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    if (!parse(OAI_CHAT, bad[i], &r, &e)) fail_msg("accepted %s", bad[i]);
    oai_request_free(&r);
    assert_int_equal(e.http, 400);
  }
  pagedvk_model_close(srv.model);
}

/* ---- with ../shared ---------------------------------------------------------------------------- */

/* The Llama-3 vocabulary with `template_rel` (a file under ../shared) as tokenizer.chat_template. */
static pagedvk_model *model_with_template(const char *vocab_rel, const char *template_rel) {
  char vocab[1024], tpath[1024], out[512], err[512];
  if (!pv_test_shared_path(vocab, sizeof vocab, vocab_rel) || !pv_test_shared_path(tpath, sizeof tpath, template_rel))
    return NULL;
  size_t len;
  char *tmpl = pv_test_read_file(tpath, &len);
  assert_non_null(tmpl);
  snprintf(out, sizeof out, "%s/pv-chat-l32-%d.gguf", P_tmpdir, (int)getpid());
  pv_error e = {0};
  pv_gguf_file *src = NULL;
  pv_gguf_writer *w = NULL;
  int rc = pv_gguf_open(&src, vocab, &e);
  if (!rc) rc = pv_gguf_writer_create(&w, &e);
  if (!rc) rc = pv_gguf_writer_add_str(w, "general.architecture", "llama", &e);
  if (!rc) rc = pv_gguf_writer_copy_tokenizer(w, src, &e);
  if (!rc) rc = pv_gguf_writer_add_str(w, "tokenizer.chat_template", tmpl, &e);
  if (!rc) rc = pv_gguf_writer_write(w, out, &e);
  if (rc) fail_msg("%s", e.msg);
  pv_gguf_writer_destroy(w);
  pv_gguf_close(src);
  free(tmpl);
  pagedvk_model *m = NULL;
  if (pagedvk_model_open(&m, out, err, sizeof err)) fail_msg("%s", err);
  unlink(out);
  assert_string_equal(pagedvk_model_chat_template_source(m), "gguf");
  return m;
}

/* The case as an OpenAI request: tool-call arguments as JSON strings, as clients send them. */
static char *wire_body(const cJSON *c) {
  cJSON *body = cJSON_CreateObject();
  cJSON_AddStringToObject(body, "model", "m");
  cJSON *msgs = cJSON_Duplicate(cJSON_GetObjectItem(c, "messages"), 1);
  cJSON *m;
  cJSON_ArrayForEach(m, msgs) {
    cJSON *call;
    cJSON_ArrayForEach(call, cJSON_GetObjectItem(m, "tool_calls")) {
      cJSON *fn = cJSON_GetObjectItem(call, "function");
      cJSON *args = cJSON_GetObjectItem(fn, "arguments");
      if (!cJSON_IsObject(args)) continue;
      char *s = cJSON_PrintUnformatted(args);
      cJSON_ReplaceItemInObject(fn, "arguments", cJSON_CreateString(s));
      cJSON_free(s);
    }
  }
  cJSON_AddItemToObject(body, "messages", msgs);
  if (cJSON_GetObjectItem(c, "tools")) cJSON_AddItemToObject(body, "tools", cJSON_Duplicate(cJSON_GetObjectItem(c, "tools"), 1));
  cJSON_AddBoolToObject(body, "add_generation_prompt", cJSON_IsTrue(cJSON_GetObjectItem(c, "add_generation_prompt")));
  char *text = cJSON_PrintUnformatted(body);
  cJSON_Delete(body);
  return text;
}

static void check_llama32_case(const char *path) {
  size_t len;
  char *text = pv_test_read_file(path, &len);
  cJSON *c = cJSON_Parse(text);
  free(text);
  assert_non_null(c);
  char *body = wire_body(c);
  oai_request r;
  srv_error e;
  int rc = parse(OAI_CHAT, body, &r, &e);
  const cJSON *error = cJSON_GetObjectItem(c, "error");
  if (error) {
    if (!rc || e.http != 400 || !strstr(e.message, error->valuestring))
      fail_msg("%s: want a 400 with '%s', got %u %s", path, error->valuestring, e.http, e.message);
  } else {
    if (rc) fail_msg("%s: %u %s", path, e.http, e.message);
    char *msgs = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "messages"));
    char *tools = cJSON_GetObjectItem(c, "tools") ? cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "tools")) : NULL;
    pagedvk_chat_input in = {.messages_json = msgs, .tools_json = tools,
                             .add_generation_prompt = cJSON_IsTrue(cJSON_GetObjectItem(c, "add_generation_prompt"))};
    size_t n = 0;
    int has_bos = 0;
    int32_t *want = expected_ids(&in, &n, &has_bos);
    assert_int_equal(has_bos, 1); /* the template writes <|begin_of_text|> ... */
    expect_same_ids(&r, want, n);
    assert_int_equal(r.prompt[0], 128000);
    assert_int_not_equal(r.prompt[1], 128000); /* ... and it is not added again */
    free(want);
    cJSON_free(msgs);
    cJSON_free(tools);
  }
  oai_request_free(&r);
  cJSON_free(body);
  cJSON_Delete(c);
}

static void test_llama32_template_from_file(void **state) {
  (void)state;
  pagedvk_model *m = model_with_template("vocab/ggml-vocab-llama-bpe.gguf", "templates/llama-3.2/llama-3.2.jinja");
  if (!m) skip();
  serve_model(m);
  char dir[1024];
  assert_true(pv_test_shared_path(dir, sizeof dir, "templates/llama-3.2"));
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  for (struct dirent *ent; (ent = readdir(d));) {
    size_t l = strlen(ent->d_name);
    if (l < 5 || strcmp(ent->d_name + l - 5, ".json")) continue;
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
    check_llama32_case(path);
    n++;
  }
  closedir(d);
  assert_true(n >= 5);
  pagedvk_model_close(m);
}

static void test_qwen3_enable_thinking(void **state) {
  (void)state;
  char vocab[1024], tpath[1024], err[512];
  if (!pv_test_shared_path(vocab, sizeof vocab, "vocab/ggml-vocab-qwen2.gguf") ||
      !pv_test_shared_path(tpath, sizeof tpath, "templates/qwen3/qwen3.jinja"))
    skip();
  pagedvk_model *m = NULL;
  if (pagedvk_model_open(&m, vocab, err, sizeof err)) fail_msg("%s", err);
  size_t len;
  char *tmpl = pv_test_read_file(tpath, &len);
  if (pagedvk_model_set_chat_template(m, tmpl, len, tpath, err, sizeof err)) fail_msg("%s", err);
  free(tmpl);
  serve_model(m);
  const char *bodies[2] = {
      "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}",
      "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"chat_template_kwargs\": "
      "{\"enable_thinking\": false}}"};
  const char *tails[2] = {"<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
                          "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"};
  for (int i = 0; i < 2; i++) {
    oai_request r;
    srv_error e;
    if (parse(OAI_CHAT, bodies[i], &r, &e)) fail_msg("%s", e.message);
    char *text = prompt_text(&r, -1);
    if (strcmp(text, tails[i])) fail_msg("want [%s]\ngot  [%s]", tails[i], text);
    free(text);
    oai_request_free(&r);
  }
  pagedvk_model_close(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ids_equal_rendering),   cmocka_unit_test(test_no_template),
      cmocka_unit_test(test_fields_reach_template), cmocka_unit_test(test_llama32_template_from_file),
      cmocka_unit_test(test_qwen3_enable_thinking),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

