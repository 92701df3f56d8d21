/*
 * test_oai_tool_format.c — tool calls in the server's responses (runtime/server/oai_format.c
 * with oai_tools.c), from token events, without a socket or an engine:
 * - non-streaming: message.content (the text around the calls; null when there is only calls),
 *   message.tool_calls ("call_" ids, type function, name, arguments as compact JSON text) and
 *   finish_reason "tool_calls"; a choice that calls nothing keeps "stop"; n = 2 choices each
 *   parsed on their own;
 * - streaming the same events one at a time: content deltas, then per call a delta with index,
 *   id, type, name and arguments "" and one with the arguments, then a chunk with the finish
 *   reason; assembled, they equal the non-streamed message;
 * - a marker that is a control token (Mistral's [TOOL_CALLS], in a vocabulary written here)
 *   arrives as an event with no text and is read all the same; a control token that is no marker
 *   stays out of the content; without tool parsing the marker's text is not put in.
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
#include "server/oai_tools.h"
#include "server/server_internal.h"

static pagedvk_server srv;

static void server_with(const char *path) {
  char err[512];
  memset(&srv, 0, sizeof srv);
  if (pagedvk_model_open(&srv.model, path, err, sizeof err)) fail_msg("%s", err);
  srv.model_name = "m";
  srv.max_model_len = 8192;
  pagedvk_sampling_params_default(&srv.defaults);
  pthread_mutex_init(&srv.lock, NULL);
  srv_metrics_init(&srv.metrics);
}

static void server_close(void) {
  srv_metrics_destroy(&srv.metrics);
  pthread_mutex_destroy(&srv.lock);
  pagedvk_model_close(srv.model);
}

static int setup(void **state) {
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/pv-oai-tool-format-%d.gguf", P_tmpdir, (int)getpid());
  assert_int_equal(pv_test_write_chat_vocab(path, 3, NULL), 0);
  server_with(path);
  unlink(path);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  server_close();
  return 0;
}

static srv_gen *new_gen(oai_tool_family fam, uint32_t n) {
  srv_gen *g = srv_gen_new(&srv, -1);
  assert_non_null(g);
  g->req.kind = OAI_CHAT;
  g->req.tools_parse = true;
  g->req.tool_family = (int)fam;
  g->n_choices = n;
  snprintf(g->rid, sizeof g->rid, "x-1");
  return g;
}

static srv_event ev(uint32_t index, int32_t token, const char *text, pagedvk_finish_reason f) {
  srv_event e;
  memset(&e, 0, sizeof e);
  e.index = index;
  e.token = token;
  e.text = (char *)text;
  e.len = strlen(text);
  e.finish = f;
  e.prompt_tokens = 3;
  e.completion_tokens = f ? 5 : 0;
  return e;
}

/* What a client reads: content (NULL: null), the calls' "name\targuments" lines, finish reason. */
typedef struct msg {
  char content[512];
  bool content_null;
  char calls[1024];
  char finish[32];
  int n_calls;
} msg;

static void str_at(const sj_doc *d, uint32_t v, char *out, size_t cap) {
  assert_int_not_equal(v, SJ_NONE);
  assert_int_equal(sj_type_of(d, v), SJ_STRING);
  snprintf(out, cap, "%.*s", (int)sj_len(d, v), sj_bytes(d, v));
}

static void check_id(const sj_doc *d, uint32_t call) {
  char id[64], type[32];
  str_at(d, sj_get(d, call, "id"), id, sizeof id);
  str_at(d, sj_get(d, call, "type"), type, sizeof type);
  assert_int_equal(strlen(id), 29);
  assert_memory_equal(id, "call_", 5);
  assert_string_equal(type, "function");
}

static void message_of_body(srv_gen *g, uint32_t choice, msg *m) {
  srv_buf body = {0};
  while (oai_body_next(g, &body)) {
  }
  assert_false(body.oom);
  sj_doc d;
  if (sj_parse(&d, body.p, body.len, NULL, 0)) fail_msg("not JSON: %s", body.p);
  memset(m, 0, sizeof *m);
  uint32_t c = sj_first(&d, sj_get(&d, 0, "choices"));
  for (uint32_t k = 0; k < choice; k++) c = sj_next(&d, c);
  uint32_t mm = sj_get(&d, c, "message"), content = sj_get(&d, mm, "content"), calls = sj_get(&d, mm, "tool_calls");
  m->content_null = sj_type_of(&d, content) == SJ_NULL;
  if (!m->content_null) str_at(&d, content, m->content, sizeof m->content);
  if (calls != SJ_NONE)
    for (uint32_t t = sj_first(&d, calls); t != SJ_NONE; t = sj_next(&d, t)) {
      check_id(&d, t);
      uint32_t fn = sj_get(&d, t, "function");
      char name[64], args[256];
      str_at(&d, sj_get(&d, fn, "name"), name, sizeof name);
      str_at(&d, sj_get(&d, fn, "arguments"), args, sizeof args);
      snprintf(m->calls + strlen(m->calls), sizeof m->calls - strlen(m->calls), "%s\t%s\n", name, args);
      m->n_calls++;
    }
  str_at(&d, sj_get(&d, c, "finish_reason"), m->finish, sizeof m->finish);
  sj_free(&d);
  srv_buf_free(&body);
}

/* The chunks of g->out assembled as OpenAI clients do, for choice `choice`. */
static void message_of_stream(srv_gen *g, uint32_t choice, msg *m) {
  memset(m, 0, sizeof *m);
  char args[8][256] = {{0}}, names[8][64] = {{0}};
  bool done = false;
  for (char *line = g->out.p; line && line < g->out.p + g->out.len;) {
    char *end = memmem(line, (size_t)(g->out.p + g->out.len - line), "\n\n", 2);
    assert_non_null(end);
    assert_memory_equal(line, "data: ", 6);
    if (!memcmp(line + 6, "[DONE]", 6)) {
      done = true;
      break;
    }
    sj_doc d;
    if (sj_parse(&d, line + 6, (size_t)(end - line - 6), NULL, 0)) fail_msg("chunk not JSON: %.*s", (int)(end - line), line);
    uint32_t c = sj_first(&d, sj_get(&d, 0, "choices"));
    uint32_t idx = sj_get(&d, c, "index");
    if (c != SJ_NONE && (uint32_t)sj_double(&d, idx) == choice) {
      uint32_t delta = sj_get(&d, c, "delta"), content = sj_get(&d, delta, "content"), calls = sj_get(&d, delta, "tool_calls");
      if (content != SJ_NONE && sj_type_of(&d, content) == SJ_STRING)
        snprintf(m->content + strlen(m->content), sizeof m->content - strlen(m->content), "%.*s", (int)sj_len(&d, content),
                 sj_bytes(&d, content));
      if (calls != SJ_NONE) {
        uint32_t t = sj_first(&d, calls);
        uint32_t k = (uint32_t)sj_double(&d, sj_get(&d, t, "index")), fn = sj_get(&d, t, "function");
        assert_true(k < 8);
        if (!names[k][0]) { /* the first delta of a call: id, type, name, arguments "" */
          check_id(&d, t);
          str_at(&d, sj_get(&d, fn, "name"), names[k], sizeof names[k]);
          char a[8];
          str_at(&d, sj_get(&d, fn, "arguments"), a, sizeof a);
          assert_string_equal(a, "");
          if ((int)k + 1 > m->n_calls) m->n_calls = (int)k + 1;
        } else {
          uint32_t a = sj_get(&d, fn, "arguments");
          snprintf(args[k] + strlen(args[k]), sizeof args[k] - strlen(args[k]), "%.*s", (int)sj_len(&d, a), sj_bytes(&d, a));
        }
      }
      uint32_t f = sj_get(&d, c, "finish_reason");
      if (f != SJ_NONE && sj_type_of(&d, f) == SJ_STRING) str_at(&d, f, m->finish, sizeof m->finish);
    }
    sj_free(&d);
    line = end + 2;
  }
  assert_true(done);
  m->content_null = !m->content[0];
  for (int k = 0; k < m->n_calls; k++)
    snprintf(m->calls + strlen(m->calls), sizeof m->calls - strlen(m->calls), "%s\t%s\n", names[k], args[k]);
}

static void assert_msg(const msg *m, const char *content, const char *calls, const char *finish) {
  if (content) {
    assert_false(m->content_null);
    assert_string_equal(m->content, content);
  } else {
    assert_true(m->content_null);
  }
  assert_string_equal(m->calls, calls);
  assert_string_equal(m->finish, finish);
}

/* The events, non-streamed and streamed one at a time, give the expected message. */
static void both_ways(oai_tool_family fam, const srv_event *evs, size_t n, const char *content, const char *calls,
                      const char *finish) {
  srv_gen *g = new_gen(fam, 1);
  oai_collect(g, evs, n);
  g->finals_out = 1;
  msg m;
  message_of_body(g, 0, &m);
  assert_msg(&m, content, calls, finish);
  srv_gen_release(g);
  g = new_gen(fam, 1);
  for (size_t i = 0; i < n; i++) {
    if (evs[i].finish) g->finals_out = 1;
    oai_stream_events(g, &evs[i], 1);
  }
  assert_true(g->out_done);
  message_of_stream(g, 0, &m);
  assert_msg(&m, content, calls, finish);
  srv_gen_release(g);
}

static void test_hermes_message_and_stream(void **state) {
  (void)state;
  const srv_event with_text[] = {
    ev(0, 5, "Sure.", 0), ev(0, 5, "\n<tool_", 0), ev(0, 5, "call>\n{\"name\": \"f\", \"argu", 0),
    ev(0, 5, "ments\": {\"a\": [1, 2]}}\n</tool_call>\n<tool_call>{\"name\": \"g\", \"arguments\": \"{}\"}", 0),
    ev(0, 2, "</tool_call>", PAGEDVK_FINISH_STOP)};
  both_ways(OAI_TF_HERMES, with_text, 5, "Sure.", "f\t{\"a\":[1,2]}\ng\t{}\n", "tool_calls");
  const srv_event only[] = {ev(0, 5, "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>", 0),
                            ev(0, 2, "", PAGEDVK_FINISH_STOP)};
  both_ways(OAI_TF_HERMES, only, 2, NULL, "f\t{}\n", "tool_calls");
  const srv_event none[] = {ev(0, 5, "No <tool_call> here", 0), ev(0, 2, "", PAGEDVK_FINISH_STOP)};
  both_ways(OAI_TF_HERMES, none, 2, "No <tool_call> here", "", "stop");
  /* cut by max_tokens inside a call: content, finish length */
  const srv_event cut[] = {ev(0, 5, "<tool_call>{\"name\": \"f\", \"arg", PAGEDVK_FINISH_LENGTH)};
  both_ways(OAI_TF_HERMES, cut, 1, "<tool_call>{\"name\": \"f\", \"arg", "", "length");
}

static void test_two_choices_apart(void **state) {
  (void)state;
  const srv_event evs[] = {ev(0, 5, "<tool_call>{\"name\": \"f\", \"arguments\": {\"x\": 1}}", 0), ev(1, 5, "plain", 0),
                           ev(1, 2, "", PAGEDVK_FINISH_STOP), ev(0, 2, "</tool_call>", PAGEDVK_FINISH_STOP)};
  srv_gen *g = new_gen(OAI_TF_HERMES, 2);
  oai_collect(g, evs, 4);
  g->finals_out = 2;
  msg m;
  message_of_body(g, 0, &m);
  assert_msg(&m, NULL, "f\t{\"x\":1}\n", "tool_calls");
  g->body = (srv_body){0};
  message_of_body(g, 1, &m);
  assert_msg(&m, "plain", "", "stop");
  srv_gen_release(g);
}

/* Mistral's [TOOL_CALLS] is a control token of its vocabulary: its event has no text, and the
 * server puts the marker's text in; another control token ([INST]) stays out of the content. */
static void test_control_token_marker(void **state) {
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/pv-oai-tool-format-m-%d.gguf", P_tmpdir, (int)getpid());
  static const char *const control[] = {"[TOOL_CALLS]", "[INST]"};
  assert_int_equal(pv_test_write_chat_vocab_with(path, 0, NULL, control, 2), 0);
  server_close();
  server_with(path);
  unlink(path);
  int32_t ids[8], inst[8];
  size_t n = 0;
  char err[256];
  assert_int_equal(pagedvk_tokenize_len(srv.model, "[TOOL_CALLS]", 12, 0, 1, ids, 8, &n, err, sizeof err), 0);
  assert_int_equal(n, 1);
  assert_int_equal(pagedvk_tokenize_len(srv.model, "[INST]", 6, 0, 1, inst, 8, &n, err, sizeof err), 0);
  assert_int_equal(n, 1);
  char piece[64];
  size_t len = 0;
  assert_int_equal(pagedvk_token_to_piece(srv.model, ids[0], 0, piece, sizeof piece, &len, NULL, 0), 0);
  assert_int_equal(len, 0); /* no text in the engine's events */
  const srv_event evs[] = {ev(0, 100, "Hi", 0), ev(0, inst[0], "", 0), ev(0, ids[0], "", 0),
                           ev(0, 100, "[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]", 0),
                           ev(0, 2, "", PAGEDVK_FINISH_STOP)};
  both_ways(OAI_TF_MISTRAL, evs, 5, "Hi", "get_weather\t{\"city\":\"Paris\"}\n", "tool_calls");
  /* without tool parsing the marker is not put in */
  srv_gen *g = new_gen(OAI_TF_MISTRAL, 1);
  g->req.tools_parse = false;
  oai_collect(g, evs, 5);
  g->finals_out = 1;
  msg m;
  message_of_body(g, 0, &m);
  assert_msg(&m, "Hi[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]", "", "stop");
  srv_gen_release(g);
  server_close();
  setup(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_hermes_message_and_stream),
    cmocka_unit_test(test_two_choices_apart),
    cmocka_unit_test(test_control_token_marker),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

