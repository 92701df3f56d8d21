/*
 * test_oai_format.c — the server's responses from token events (runtime/server/oai_format.c, gen.c),
 * without a socket or an engine (a small vocabulary file gives the token texts):
 * - any bytes in generated text come out as valid JSON in UTF-8, streaming and not: a NUL byte
 *   is "\u0000" (it cut the non-streaming text, which was a C string), bytes that are not UTF-8
 *   are U+FFFD; both forms carry the same text;
 * - the non-streaming body is written in bounded pieces (oai_body_next: no piece over 128 KiB
 *   for a body of megabytes of logprobs) and reads back as the JSON it should be;
 * - the writer spells numbers and strings as cJSON did (the responses stay byte for byte);
 * - a final event that cannot be queued (out of memory) ends the request with an error once the
 *   engine has ended it: the connection no longer waits (spun) for the lost final.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagedvk.h"

#include "chat_vocab.h"
#include "server/server_internal.h"

/* The lost-final test asks for an allocation that cannot succeed; under ASan that must be NULL
 * rather than a report. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

static pagedvk_server srv;

static int setup(void **state) {
  (void)state;
  char path[512], err[512];
  snprintf(path, sizeof path, "%s/pv-oai-format-%d.gguf", P_tmpdir, (int)getpid());
  assert_int_equal(pv_test_write_chat_vocab(path, 0, NULL), 0);
  memset(&srv, 0, sizeof srv);
  if (pagedvk_model_open(&srv.model, path, err, sizeof err)) fail_msg("%s", err);
  unlink(path);
  srv.model_name = "m";
  srv.max_model_len = 8192;
  pagedvk_sampling_params_default(&srv.defaults);
  pthread_mutex_init(&srv.lock, NULL);
  srv_metrics_init(&srv.metrics);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  srv_metrics_destroy(&srv.metrics);
  pthread_mutex_destroy(&srv.lock);
  pagedvk_model_close(srv.model);
  return 0;
}

static srv_gen *new_gen(oai_kind kind, uint32_t n, bool logprobs, uint32_t top) {
  srv_gen *g = srv_gen_new(&srv, -1);
  assert_non_null(g);
  g->req.kind = kind;
  g->req.logprobs = logprobs;
  g->req.top_logprobs = top;
  g->n_choices = n;
  snprintf(g->rid, sizeof g->rid, "x-1");
  return g;
}

static srv_event ev_text(uint32_t index, int32_t token, const char *text, size_t len, pagedvk_finish_reason f) {
  srv_event e;
  memset(&e, 0, sizeof e);
  e.index = index;
  e.token = token;
  e.text = (char *)text;
  e.len = len;
  e.logprob = -0.5f;
  e.finish = f;
  e.prompt_tokens = 3;
  e.completion_tokens = f ? 2 : 0;
  return e;
}

/* The whole non-streaming body; *max_piece gets the largest piece. */
static void body_of(srv_gen *g, srv_buf *out, size_t *max_piece) {
  *max_piece = 0;
  for (;;) {
    size_t before = out->len;
    bool more = oai_body_next(g, out);
    if (out->len - before > *max_piece) *max_piece = out->len - before;
    if (!more) break;
  }
  assert_false(out->oom);
}

/* The decoded string at path choices[0].<a>[.<b>] of a parsed body. */
static uint32_t choice0(const sj_doc *d) {
  uint32_t ch = sj_get(d, 0, "choices");
  assert_int_not_equal(ch, SJ_NONE);
  return sj_first(d, ch);
}

static const char GEN[] = "a\0b\xff\xe2\x82 \"q\"\n"; /* NUL, a bad byte, a cut sequence */
#define GEN_LEN (sizeof GEN - 1)
static const char WANT[] = "a\0b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \"q\"\n";
#define WANT_LEN (sizeof WANT - 1)

static void test_any_bytes_make_valid_json(void **state) {
  (void)state;
  for (int kind = 0; kind < 2; kind++) {
    /* non-streaming */
    srv_gen *g = new_gen((oai_kind)kind, 1, false, 0);
    srv_event evs[2] = {ev_text(0, 5, GEN, 3, 0), ev_text(0, 6, GEN + 3, GEN_LEN - 3, PAGEDVK_FINISH_LENGTH)};
    oai_collect(g, evs, 2);
    g->finals_out = 1;
    srv_buf body = {0};
    size_t piece;
    body_of(g, &body, &piece);
    assert_true(srv_utf8_valid(body.p, body.len));
    assert_non_null(memmem(body.p, body.len, "a\\u0000b", 8));
    sj_doc d;
    if (sj_parse(&d, body.p, body.len, NULL, 0)) fail_msg("not JSON: %.*s", (int)body.len, body.p);
    uint32_t c = choice0(&d);
    uint32_t t = kind == OAI_CHAT ? sj_get(&d, sj_get(&d, c, "message"), "content") : sj_get(&d, c, "text");
    assert_int_equal(sj_len(&d, t), WANT_LEN);
    assert_memory_equal(sj_bytes(&d, t), WANT, WANT_LEN);
    sj_free(&d);
    srv_buf_free(&body);
    srv_gen_release(g);
    /* streaming: the same text over the chunks */
    g = new_gen((oai_kind)kind, 1, false, 0);
    srv_event one[1];
    srv_buf text = {0};
    for (size_t i = 0; i < GEN_LEN; i++) {
      one[0] = ev_text(0, 5, GEN + i, 1, i + 1 == GEN_LEN ? PAGEDVK_FINISH_STOP : 0);
      if (one[0].finish) g->finals_out = 1;
      oai_stream_events(g, one, 1);
    }
    assert_true(g->out_done);
    assert_true(srv_utf8_valid(g->out.p, g->out.len));
    for (char *line = g->out.p; line && line < g->out.p + g->out.len;) {
      char *end = memmem(line, (size_t)(g->out.p + g->out.len - line), "\n\n", 2);
      assert_non_null(end);
      assert_memory_equal(line, "data: ", 6);
      if (memcmp(line + 6, "[DONE]", 6)) {
        if (sj_parse(&d, line + 6, (size_t)(end - line - 6), NULL, 0)) fail_msg("chunk not JSON: %.*s", (int)(end - line), line);
        uint32_t ch = choice0(&d);
        uint32_t s = kind == OAI_CHAT ? sj_get(&d, sj_get(&d, ch, "delta"), "content") : sj_get(&d, ch, "text");
        if (s != SJ_NONE) srv_buf_append(&text, sj_bytes(&d, s), sj_len(&d, s));
        sj_free(&d);
      }
      line = end + 2;
    }
    /* byte by byte each bad byte is its own U+FFFD: the cut sequence's two bytes give two */
    assert_int_equal(text.len, WANT_LEN);
    assert_memory_equal(text.p, WANT, WANT_LEN);
    srv_buf_free(&text);
    srv_gen_release(g);
  }
}

static void test_body_in_pieces(void **state) {
  (void)state;
  enum { N = 4, TOKENS = 1000, TOP = 20 };
  for (int kind = 0; kind < 2; kind++) {
    srv_gen *g = new_gen((oai_kind)kind, N, true, TOP);
    static int32_t ids[TOP];
    static float lps[TOP];
    for (int i = 0; i < TOP; i++) {
      ids[i] = 3 + 13 * i; /* byte pieces and characters of the vocabulary, some not UTF-8 alone */
      lps[i] = -0.1f * (float)i;
    }
    char big[40000]; /* one event with a long text: written in slices */
    for (size_t i = 0; i < sizeof big; i++) big[i] = i % 7 == 0 ? '\x01' : (char)('a' + i % 26);
    for (uint32_t c = 0; c < N; c++)
      for (int t = 0; t < TOKENS; t++) {
        srv_event e = ev_text(c, 3 + t % 200, t == 7 ? big : "xy\xc3\xa9", t == 7 ? sizeof big : 4,
                              t + 1 == TOKENS ? PAGEDVK_FINISH_LENGTH : 0);
        e.n_top = TOP;
        memcpy(e.top_ids, ids, sizeof ids);
        memcpy(e.top_logprobs, lps, sizeof lps);
        oai_collect(g, &e, 1);
      }
    g->finals_out = N;
    srv_buf body = {0};
    size_t piece;
    body_of(g, &body, &piece);
    if (body.len < (1u << 20)) fail_msg("body of %zu bytes: want megabytes", body.len);
    if (piece > (128u << 10)) fail_msg("a piece of %zu bytes", piece);
    assert_true(srv_utf8_valid(body.p, body.len));
    sj_doc d;
    if (sj_parse(&d, body.p, body.len, NULL, 0)) fail_msg("not JSON");
    uint32_t ch = sj_get(&d, 0, "choices");
    assert_int_equal(sj_len(&d, ch), N);
    for (uint32_t c = sj_first(&d, ch); c != SJ_NONE; c = sj_next(&d, c)) {
      uint32_t lp = sj_get(&d, c, "logprobs");
      if (kind == OAI_CHAT) {
        uint32_t content = sj_get(&d, lp, "content");
        assert_int_equal(sj_len(&d, content), TOKENS);
        assert_int_equal(sj_len(&d, sj_get(&d, sj_first(&d, content), "top_logprobs")), TOP);
        uint32_t text = sj_get(&d, sj_get(&d, c, "message"), "content");
        assert_int_equal(sj_len(&d, text), (TOKENS - 1) * 4 + sizeof big);
      } else {
        assert_int_equal(sj_len(&d, sj_get(&d, lp, "tokens")), TOKENS);
        assert_int_equal(sj_len(&d, sj_get(&d, lp, "token_logprobs")), TOKENS);
        assert_int_equal(sj_len(&d, sj_get(&d, lp, "top_logprobs")), TOKENS);
        uint32_t off = sj_get(&d, lp, "text_offset");
        assert_int_equal(sj_len(&d, off), TOKENS);
        uint32_t o8 = sj_first(&d, off);
        for (int k = 0; k < 8; k++) o8 = sj_next(&d, o8);
        assert_int_equal((int)sj_double(&d, o8), 7 * 4 + sizeof big);
      }
      assert_true(sj_str_is(&d, sj_get(&d, c, "finish_reason"), "length"));
    }
    assert_int_equal((int)sj_double(&d, sj_get(&d, sj_get(&d, 0, "usage"), "completion_tokens")), 2 * N);
    sj_free(&d);
    srv_buf_free(&body);
    srv_gen_release(g);
  }
}

static void test_spelling_as_cjson(void **state) {
  (void)state;
  double vals[] = {0, -0.0, 1, -1, 3, 2147483647.0, 2147483648.0, -2147483648.0, 1765000000, 0.1, -0.5,
                   -1.2345678901234567, 1e-300, 1e300, 123456789012345678.0, NAN, INFINITY, -INFINITY};
  srand(7);
  for (int i = 0; i < 20000; i++) {
    double v = i < (int)(sizeof vals / sizeof *vals) ? vals[i]
               : i % 2 ? (double)(-(float)rand() / (float)RAND_MAX * 30.0f)
                       : (double)rand() / 7.0;
    cJSON *n = cJSON_CreateNumber(v);
    char *want = cJSON_PrintUnformatted(n);
    srv_buf b = {0};
    jw_num(&b, v);
    if (strcmp(b.p, want)) fail_msg("%.17g: cJSON %s, ours %s", v, want, b.p);
    srv_buf_free(&b);
    cJSON_free(want);
    cJSON_Delete(n);
  }
  const char *strs[] = {"", "plain", "q\"b\\s/", "\b\f\n\r\t\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"};
  for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
    cJSON *s = cJSON_CreateString(strs[i]);
    char *want = cJSON_PrintUnformatted(s);
    srv_buf b = {0};
    jw_cstr(&b, strs[i]);
    if (strcmp(b.p, want)) fail_msg("cJSON %s, ours %s", want, b.p);
    srv_buf_free(&b);
    cJSON_free(want);
    cJSON_Delete(s);
  }
}

static void test_lost_final_ends_request(void **state) {
  (void)state;
  for (int stream = 0; stream < 2; stream++) {
    srv_gen *g = new_gen(OAI_COMPLETION, 1, false, 0);
    g->req.stream = stream;
    g->refs++; /* the engine's reference, as srv_gen_submit takes it */
    pagedvk_token_event ev;
    memset(&ev, 0, sizeof ev);
    ev.token = 5;
    ev.text = "hi";
    ev.text_len = 2;
    srv_gen_on_token(&ev, g);
    /* the final event's copy cannot be allocated: it is lost */
    ev.finish = PAGEDVK_FINISH_LENGTH;
    ev.text_len = (size_t)1 << 62;
    srv_gen_on_token(&ev, g);
    int rounds = 0;
    while (!srv_gen_done(g) && rounds < 50) {
      srv_event *evs;
      size_t n;
      assert_int_not_equal(srv_gen_wait(g, &evs, &n, 0.01), -1);
      if (stream) oai_stream_events(g, evs, n);
      else oai_collect(g, evs, n);
      srv_events_free(evs, n);
      rounds++;
    }
    if (!srv_gen_done(g)) fail_msg("the request never ended after its final event was lost");
    assert_true(g->failed);
    assert_int_equal(g->fail_status, PAGEDVK_ERR_NO_MEMORY);
    if (stream) {
      assert_true(g->out_done);
      assert_non_null(strstr(g->out.p, "data: {\"error\":"));
      assert_non_null(strstr(g->out.p, "data: [DONE]\n\n"));
    }
    srv_gen_release(g);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_any_bytes_make_valid_json), cmocka_unit_test(test_body_in_pieces),
      cmocka_unit_test(test_spelling_as_cjson), cmocka_unit_test(test_lost_final_ends_request),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

