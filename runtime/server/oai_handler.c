/*
 * oai_handler.c — POST /v1/completions and /v1/chat/completions on a connection thread.
 *
 * Parse → submit to the engine → then either
 * - non-streaming: wait in the handler (short timed waits, checking for a hang-up between them)
 *   until every choice has ended, and answer one JSON — written whole up to 1 MiB (with its
 *   Content-Length), beyond that 64 KiB at a time as MHD sends it (chunked); or
 * - streaming: answer 200 at once with a callback response; MHD calls stream_read on this same
 *   thread whenever it can send, and stream_read blocks (timed waits, hang-up checks) until the
 *   engine has produced events, formats them into SSE bytes and hands them over.
 * A hang-up noticed while waiting, or a failed write noticed by MHD (which then frees the
 * response: stream_free), aborts the request in the engine so its KV blocks are freed next step.
 */
#include <stdio.h>
#include <string.h>

#include "server_internal.h"

#define WAIT_SLICE_S 0.05 /* how often a waiting connection looks for a hang-up */
#define BODY_WHOLE (1u << 20) /* a non-streaming body up to this size is sent whole */
#define BODY_PIECE (1u << 16) /* else it is written this much at a time */

enum MHD_Result srv_send_json(pagedvk_server *s, struct MHD_Connection *c, unsigned status, cJSON *j) {
  char *text = j ? cJSON_PrintUnformatted(j) : NULL;
  cJSON_Delete(j);
  if (!text) return MHD_NO;
  size_t len = strlen(text);
  struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
  cJSON_free(text);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  return srv_queue(s, c, status, r);
}

enum MHD_Result srv_send_error(pagedvk_server *s, struct MHD_Connection *c, const srv_error *e) {
  srv_log(s, "error %u: %s", e->http, e->message);
  return srv_send_json(s, c, e->http, srv_error_json(e));
}

/* MHD's read callback for a streaming response. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  srv_gen *g = cls;
  (void)pos;
  for (;;) {
    if (g->out.oom) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (g->out_pos < g->out.len) {
      size_t n = g->out.len - g->out_pos;
      if (n > max) n = max;
      memcpy(buf, g->out.p + g->out_pos, n);
      g->out_pos += n;
      if (g->out_pos == g->out.len) g->out_pos = g->out.len = 0;
      return (ssize_t)n;
    }
    if (g->out_done) return MHD_CONTENT_READER_END_OF_STREAM;
    srv_event *evs;
    size_t n;
    int rc = srv_gen_wait(g, &evs, &n, WAIT_SLICE_S);
    if (rc < 0) return MHD_CONTENT_READER_END_WITH_ERROR; /* stream_free aborts */
    oai_stream_events(g, evs, n);
    srv_events_free(evs, n);
  }
}

/* MHD frees the streaming response: the stream ended or the connection is gone. */
static void stream_free(void *cls) {
  srv_gen *g = cls;
  if (!srv_gen_done(g)) {
    srv_metrics_disconnect(&g->srv->metrics);
    srv_log(g->srv, "%s: client hung up, aborting", g->rid);
    srv_gen_abort(g);
  }
  srv_gen_release(g);
}

static enum MHD_Result start_stream(pagedvk_server *s, struct MHD_Connection *c, srv_gen *g) {
  struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, g, stream_free);
  if (!r) {
    srv_gen_abort(g);
    srv_gen_release(g);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
  return srv_queue(s, c, MHD_HTTP_OK, r); /* the connection keeps it; stream_free runs when it is done */
}

/* Non-streaming: collects until every choice has ended. 0, or -1 when the client hung up. */
static int collect_all(srv_gen *g) {
  while (!srv_gen_done(g)) {
    srv_event *evs;
    size_t n;
    int rc = srv_gen_wait(g, &evs, &n, WAIT_SLICE_S);
    if (rc < 0) return -1;
    oai_collect(g, evs, n);
    srv_events_free(evs, n);
  }
  return 0;
}

/* MHD's read callback for a large non-streaming body: oai_body_next fills g->out as MHD drains it. */
static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max) {
  srv_gen *g = cls;
  (void)pos;
  while (g->out_pos == g->out.len && !g->out_done) {
    g->out_pos = g->out.len = 0;
    while (g->out.len < BODY_PIECE && !g->out_done) g->out_done = !oai_body_next(g, &g->out);
  }
  if (g->out.oom) return MHD_CONTENT_READER_END_WITH_ERROR;
  if (g->out_pos == g->out.len) return MHD_CONTENT_READER_END_OF_STREAM;
  size_t n = g->out.len - g->out_pos;
  if (n > max) n = max;
  memcpy(buf, g->out.p + g->out_pos, n);
  g->out_pos += n;
  return (ssize_t)n;
}

static void body_free(void *cls) { srv_gen_release(cls); }

/* The 200 answer: written whole when it is small (with its Content-Length), else sent through
 * body_read as it is written, so a large body (logprobs) is never held whole. */
static enum MHD_Result send_body(pagedvk_server *s, struct MHD_Connection *c, srv_gen *g) {
  while (g->out.len < BODY_WHOLE && !g->out_done) g->out_done = !oai_body_next(g, &g->out);
  struct MHD_Response *r;
  if (g->out.oom) {
    srv_gen_release(g);
    return MHD_NO;
  }
  if (g->out_done) {
    r = MHD_create_response_from_buffer(g->out.len, g->out.p, MHD_RESPMEM_MUST_COPY);
    srv_gen_release(g);
  } else {
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536, body_read, g, body_free);
    if (!r) srv_gen_release(g);
  }
  if (!r) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  return srv_queue(s, c, MHD_HTTP_OK, r);
}

static enum MHD_Result answer_whole(pagedvk_server *s, struct MHD_Connection *c, srv_gen *g) {
  if (collect_all(g)) {
    srv_metrics_disconnect(&s->metrics);
    srv_log(s, "%s: client hung up, aborting", g->rid);
    srv_gen_abort(g);
    srv_gen_release(g);
    return MHD_NO;
  }
  if (!g->failed) return send_body(s, c, g);
  srv_error e;
  srv_error_from_status(&e, g->fail_status, "generation failed");
  enum MHD_Result ok = srv_send_error(s, c, &e);
  srv_gen_release(g);
  return ok;
}

static int connection_fd(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  return ci ? ci->connect_fd : -1;
}

enum MHD_Result oai_handle(pagedvk_server *s, struct MHD_Connection *c, oai_kind kind, const char *body,
                           size_t len) {
  srv_error err;
  srv_gen *g = srv_gen_new(s, connection_fd(c));
  if (!g) {
    srv_error_set(&err, 503, "server_error", NULL, NULL, "out of memory");
    return srv_send_error(s, c, &err);
  }
  int rc = oai_parse(s, kind, body, len, &g->req, &err);
  if (!rc) rc = srv_gen_submit(g, &err);
  if (rc) {
    if (!strcmp(err.param, "messages") && kind == OAI_COMPLETION) snprintf(err.param, sizeof err.param, "prompt");
    srv_gen_release(g);
    return srv_send_error(s, c, &err);
  }
  srv_log(s, "%s: %s, %zu prompt tokens, max_tokens %u, n %u%s", g->rid,
          kind == OAI_CHAT ? "chat" : "completion", g->req.n_prompt, g->req.sp.max_tokens, g->n_choices,
          g->req.stream ? ", stream" : "");
  return g->req.stream ? start_stream(s, c, g) : answer_whole(s, c, g);
}
