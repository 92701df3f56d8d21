/*
 * test_request_limits.c — the server's request bodies (oai_parse over the bounded JSON reader,
 * runtime/server/json_read.c) on a small vocabulary file (no ../shared):
 * - hostile bodies are refused by the reader's limits with 400 "json_limit_exceeded" naming the
 *   limit, before a tree is built: 4 million zeros in an 8 MiB body (more than 1048576 values),
 *   arrays nested 65 deep, a 65-character number; just under each limit is accepted, and an
 *   800-message chat with 40 tools passes;
 * - strings are (pointer, length): "\u0000" in a completion prompt, a chat message and a stop
 *   string is a NUL byte of it (the prompt's ids are those of the three bytes); stop strings
 *   that are not valid UTF-8 (lone surrogates, raw bytes) are refused;
 * - integers are read exactly: seed 2^64-1, 2^63-1 and -2^63 keep every bit, 2^64 and 1e300
 *   are refused, a fraction is not an integer;
 * - stop_token_ids at most 256, logprob entries n × max_tokens × (1 + top_logprobs) at most
 *   1048576 (the n=64, max_tokens=1000, top_logprobs=20 is refused).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagedvk.h"

#include "chat_vocab.h"
#include "server/server_internal.h"

static pagedvk_server srv;

static const char ECHO[] = "{%- for m in messages -%}<{{ m.role }}>{{ m.content }}{%- endfor -%}|{{ tools | length if tools else 0 }}";

static int setup(void **state) {
  (void)state;
  char path[512], err[512];
  snprintf(path, sizeof path, "%s/pv-req-limits-%d.gguf", P_tmpdir, (int)getpid());
  assert_int_equal(pv_test_write_chat_vocab(path, 0, NULL), 0);
  memset(&srv, 0, sizeof srv);
  if (pagedvk_model_open(&srv.model, path, err, sizeof err)) fail_msg("%s", err);
  unlink(path);
  if (pagedvk_model_set_chat_template(srv.model, ECHO, strlen(ECHO), "echo.jinja", err, sizeof err)) fail_msg("%s", err);
  srv.model_name = "m";
  srv.max_model_len = 8192;
  srv.max_body = 8 << 20;
  pagedvk_sampling_params_default(&srv.defaults);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  pagedvk_model_close(srv.model);
  return 0;
}

static int parse_n(oai_kind kind, const char *body, size_t len, oai_request *r, srv_error *e) {
  memset(e, 0, sizeof *e);
  int rc = oai_parse(&srv, kind, body, len, r, e);
  if (rc) oai_request_free(r);
  return rc;
}

static int parse(oai_kind kind, const char *body, oai_request *r, srv_error *e) {
  return parse_n(kind, body, strlen(body), r, e);
}

static void expect_ok(oai_kind kind, const char *body) {
  oai_request r;
  srv_error e;
  if (parse(kind, body, &r, &e)) fail_msg("refused (%u %s) %.200s", e.http, e.message, body);
  oai_request_free(&r);
}

static void expect_400(oai_kind kind, const char *body, const char *code, const char *param, const char *msg_part) {
  oai_request r;
  srv_error e;
  if (!parse(kind, body, &r, &e)) {
    oai_request_free(&r);
    fail_msg("accepted %.200s", body);
  }
  assert_int_equal(e.http, 400);
  if (code && (!e.code || strcmp(e.code, code))) fail_msg("code %s, want %s: %s", e.code ? e.code : "null", code, e.message);
  if (param && strcmp(e.param, param)) fail_msg("param '%s', want '%s'", e.param, param);
  if (msg_part && !strstr(e.message, msg_part)) fail_msg("message '%s' lacks '%s'", e.message, msg_part);
}

/* {"model":"m","prompt":"hi","x":[0,0,…]} with n zeros. */
static char *zeros_body(size_t n, size_t *len) {
  char *b = malloc(2 * n + 64);
  size_t at = (size_t)sprintf(b, "{\"model\":\"m\",\"prompt\":\"hi\",\"x\":[");
  for (size_t i = 0; i < n; i++) {
    b[at++] = '0';
    b[at++] = i + 1 < n ? ',' : ']';
  }
  at += (size_t)sprintf(b + at, "}");
  *len = at;
  return b;
}

static void test_hostile_bodies(void **state) {
  (void)state;
  oai_request r;
  srv_error e;
  size_t len;
  char *b = zeros_body(4u << 20, &len); /* the 8 MiB body: ~330 MB as a cJSON tree */
  assert_int_equal(parse_n(OAI_COMPLETION, b, len, &r, &e), -1);
  assert_int_equal(e.http, 400);
  assert_string_equal(e.code, "json_limit_exceeded");
  if (!strstr(e.message, "more than 1048576 values")) fail_msg("message: %s", e.message);
  free(b);
  /* just under: 7 values around the zeros (the object, 3 keys, "m", "hi", the array) */
  b = zeros_body(SJ_MAX_VALUES - 7, &len);
  if (parse_n(OAI_COMPLETION, b, len, &r, &e)) fail_msg("%u %s", e.http, e.message);
  oai_request_free(&r);
  free(b);
  b = zeros_body(SJ_MAX_VALUES - 6, &len);
  assert_int_equal(parse_n(OAI_COMPLETION, b, len, &r, &e), -1);
  assert_string_equal(e.code, "json_limit_exceeded");
  free(b);
  /* nesting: the body's object and 63 arrays pass, 64 arrays do not */
  char deep[512];
  for (int k = 63; k <= 64; k++) {
    int at = sprintf(deep, "{\"model\":\"m\",\"prompt\":\"hi\",\"x\":");
    for (int i = 0; i < k; i++) deep[at++] = '[';
    for (int i = 0; i < k; i++) deep[at++] = ']';
    sprintf(deep + at, "}");
    if (k == 63) expect_ok(OAI_COMPLETION, deep);
    else expect_400(OAI_COMPLETION, deep, "json_limit_exceeded", NULL, "nested more than 64 deep");
  }
  /* a number of 64 characters passes, 65 do not */
  char num[256];
  sprintf(num, "{\"model\":\"m\",\"prompt\":\"hi\",\"x\":1%063d}", 0);
  expect_ok(OAI_COMPLETION, num);
  sprintf(num, "{\"model\":\"m\",\"prompt\":\"hi\",\"x\":1%064d}", 0);
  expect_400(OAI_COMPLETION, num, "json_limit_exceeded", NULL, "longer than 64 characters");
  /* malformed stays invalid_json */
  expect_400(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"hi\",", "invalid_json", NULL, "at byte");
  expect_400(OAI_COMPLETION, "[1]", "invalid_json", NULL, "not a JSON object");
  expect_400(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"\\x\"}", "invalid_json", NULL, "escape");
  expect_400(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":01}", "invalid_json", NULL, NULL);
}

/* 800 messages of a long chat and 40 tools with nested JSON-schema parameters. */
static void test_real_chat_passes(void **state) {
  (void)state;
  size_t cap = 1 << 20, at = 0;
  char *b = malloc(cap);
  at += (size_t)sprintf(b + at, "{\"model\":\"m\",\"max_tokens\":16,\"tools\":[");
  for (int t = 0; t < 40; t++)
    at += (size_t)sprintf(b + at,
                          "%s{\"type\":\"function\",\"function\":{\"name\":\"tool_%d\",\"description\":\"does %d\","
                          "\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{"
                          "\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"c\":{\"type\":\"number\""
                          "}}}}},\"required\":[\"a\"]}}}",
                          t ? "," : "", t, t);
  at += (size_t)sprintf(b + at, "],\"messages\":[");
  for (int m = 0; m < 800; m++)
    at += (size_t)sprintf(b + at, "%s{\"role\":\"%s\",\"content\":\"turn %d\"}", m ? "," : "",
                          m % 2 ? "assistant" : "user", m);
  sprintf(b + at, "]}");
  srv.max_model_len = 1 << 16;
  oai_request r;
  srv_error e;
  if (parse(OAI_CHAT, b, &r, &e)) fail_msg("%u %s", e.http, e.message);
  assert_true(r.n_prompt > 800);
  oai_request_free(&r);
  srv.max_model_len = 8192;
  free(b);
}

static void expect_ids(const oai_request *r, const int32_t *want, size_t n) {
  if (r->n_prompt != n) fail_msg("%zu prompt ids, want %zu", r->n_prompt, n);
  assert_memory_equal(r->prompt, want, n * sizeof *want);
}

static void test_strings_keep_nul(void **state) {
  (void)state;
  oai_request r;
  srv_error e;
  char err[256];
  int32_t want[64];
  size_t n = 0;
  /* completion prompt */
  assert_int_equal(pagedvk_tokenize_len(srv.model, "a\0b", 3, 1, 0, want, 64, &n, err, sizeof err), 0);
  if (parse(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"a\\u0000b\"}", &r, &e)) fail_msg("%s", e.message);
  expect_ids(&r, want, n);
  oai_request_free(&r);
  if (parse(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":[\"a\\u0000b\"]}", &r, &e)) fail_msg("%s", e.message);
  expect_ids(&r, want, n);
  oai_request_free(&r);
  /* chat message: the template gets the NUL and the rendered text keeps it */
  pagedvk_chat_input in = {.messages_json = "[{\"role\":\"user\",\"content\":\"x\\u0000y\"}]", .add_generation_prompt = 1};
  char *text = NULL;
  size_t len = 0;
  int has_bos = 0;
  assert_int_equal(pagedvk_chat_render(srv.model, &in, &text, &len, &has_bos, err, sizeof err), 0);
  assert_int_equal(len, strlen("<user>x") + 1 + strlen("y|0"));
  assert_memory_equal(text, "<user>x\0y|0", len);
  assert_int_equal(pagedvk_tokenize_len(srv.model, text, len, !has_bos, 1, want, 64, &n, err, sizeof err), 0);
  free(text);
  if (parse(OAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\\u0000y\"}]}", &r, &e))
    fail_msg("%s", e.message);
  expect_ids(&r, want, n);
  oai_request_free(&r);
  /* stop strings */
  if (parse(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"hi\",\"stop\":[\"a\\u0000b\",\"\\ud83d\\ude00\"]}", &r, &e))
    fail_msg("%s", e.message);
  assert_int_equal(r.sp.n_stop, 2);
  assert_non_null(r.sp.stop_len);
  assert_int_equal(r.sp.stop_len[0], 3);
  assert_memory_equal(r.sp.stop[0], "a\0b", 3);
  assert_int_equal(r.sp.stop_len[1], 4);
  assert_memory_equal(r.sp.stop[1], "\xF0\x9F\x98\x80", 4);
  oai_request_free(&r);
  expect_400(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"hi\",\"stop\":\"\\ud800\"}", "invalid_value", "stop", "UTF-8");
  char longstop[400];
  int at = sprintf(longstop, "{\"model\":\"m\",\"prompt\":\"hi\",\"stop\":\"");
  memset(longstop + at, 'a', 257);
  sprintf(longstop + at + 257, "\"}");
  expect_400(OAI_COMPLETION, longstop, "invalid_value", "stop", "at most 256 bytes");
  expect_400(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"hi\",\"stop\":[\"ok\",\"x\\udc00\"]}", "invalid_value", "stop",
             "UTF-8");
  expect_400(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"hi\",\"stop\":\"\xff\"}", "invalid_value", "stop", "UTF-8");
  /* a model name with bytes that are not text: the message stays valid UTF-8 */
  assert_int_equal(parse(OAI_COMPLETION, "{\"model\":\"\\ud800\xff\\u0001\",\"prompt\":\"hi\"}", &r, &e), -1);
  assert_int_equal(e.http, 404);
  assert_true(srv_utf8_valid(e.message, strlen(e.message)));
  for (const char *c = e.message; *c; c++) assert_true((unsigned char)*c >= 0x20);
}

static void expect_seed(const char *text, uint64_t want) {
  char body[256];
  snprintf(body, sizeof body, "{\"model\":\"m\",\"prompt\":\"hi\",\"seed\":%s}", text);
  oai_request r;
  srv_error e;
  if (parse(OAI_COMPLETION, body, &r, &e)) fail_msg("seed %s: %s", text, e.message);
  assert_true(r.sp.has_seed);
  if (r.sp.seed != want) fail_msg("seed %s: got %llu", text, (unsigned long long)r.sp.seed);
  oai_request_free(&r);
}

static void test_integers_exact(void **state) {
  (void)state;
  expect_seed("18446744073709551615", UINT64_MAX);
  expect_seed("9223372036854775807", (uint64_t)INT64_MAX); /* a double would make it 2^63 */
  expect_seed("9223372036854775809", (uint64_t)INT64_MAX + 2);
  expect_seed("-9223372036854775808", (uint64_t)1 << 63);
  expect_seed("-1", UINT64_MAX);
  expect_seed("0", 0);
  expect_seed("7.0", 7);
  expect_seed("1e3", 1000);
  const char *bad_range[] = {"18446744073709551616", "-9223372036854775809", "1e300", "1e400", "-1e19",
                             "99999999999999999999999"};
  for (size_t i = 0; i < sizeof bad_range / sizeof *bad_range; i++) {
    char body[256];
    snprintf(body, sizeof body, "{\"model\":\"m\",\"prompt\":\"hi\",\"seed\":%s}", bad_range[i]);
    expect_400(OAI_COMPLETION, body, "invalid_value", "seed", "18446744073709551615");
  }
  expect_400(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"hi\",\"seed\":1.5}", "invalid_type", "seed", NULL);
  expect_400(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"hi\",\"seed\":\"7\"}", "invalid_type", "seed", NULL);
  expect_400(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"hi\",\"top_k\":1e10}", "invalid_value", "top_k", NULL);
  expect_400(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"hi\",\"max_tokens\":1e400}", "invalid_value", "max_tokens",
             NULL);
  expect_400(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"hi\",\"n\":-18446744073709551615}", "invalid_value", "n",
             NULL);
  oai_request r;
  srv_error e;
  if (parse(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"hi\",\"n\":2.0,\"max_tokens\":5,\"priority\":-3}", &r, &e))
    fail_msg("%s", e.message);
  assert_int_equal(r.sp.n, 2);
  assert_int_equal(r.sp.max_tokens, 5);
  assert_int_equal(r.sp.priority, -3);
  oai_request_free(&r);
}

static void test_caps(void **state) {
  (void)state;
  char *b = malloc(8192);
  for (int k = 256; k <= 257; k++) {
    int at = sprintf(b, "{\"model\":\"m\",\"prompt\":\"hi\",\"stop_token_ids\":[");
    for (int i = 0; i < k; i++) at += sprintf(b + at, "%s%d", i ? "," : "", 2 + i % 50);
    sprintf(b + at, "]}");
    if (k == 256) expect_ok(OAI_COMPLETION, b);
    else expect_400(OAI_COMPLETION, b, "invalid_value", "stop_token_ids", "at most 256 stop token ids");
  }
  free(b);
  /* the 104 MB body: 64 × 1000 × 21 = 1344000 entries */
  expect_400(OAI_CHAT,
             "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":64,\"max_tokens\":1000,"
             "\"logprobs\":true,\"top_logprobs\":20}",
             "invalid_value", "top_logprobs", "1344000 entries; at most 1048576");
  expect_400(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"hi\",\"n\":64,\"max_tokens\":1000,\"logprobs\":20}",
             "invalid_value", "logprobs", "at most 1048576");
  /* max_tokens left out (and no server default) is what the context leaves; the message says so */
  srv.defaults.max_tokens = 0;
  expect_400(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"hi\",\"n\":64,\"logprobs\":5}", "invalid_value", "logprobs",
             "max_tokens was left out");
  pagedvk_sampling_params_default(&srv.defaults);
  /* 64 × 1000 × 16 = 1024000 is under the bound */
  expect_ok(OAI_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":64,\"max_tokens\":1000,"
                      "\"logprobs\":true,\"top_logprobs\":15}");
  /* without logprobs nothing is counted */
  expect_ok(OAI_COMPLETION, "{\"model\":\"m\",\"prompt\":\"hi\",\"n\":64,\"max_tokens\":8000}");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hostile_bodies), cmocka_unit_test(test_real_chat_passes),
      cmocka_unit_test(test_strings_keep_nul), cmocka_unit_test(test_integers_exact),
      cmocka_unit_test(test_caps),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

