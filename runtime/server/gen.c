/*
 * gen.c — one request's generation state, shared by the engine thread and a connection thread.
 *
 * The engine thread's token callback only copies the event into the srv_gen's queue under its
 * mutex and signals: it never formats, never touches a socket, never waits on a client. The
 * connection thread takes the whole queue at once (srv_gen_wait) and formats at its own pace.
 *
 * Lifetime: a reference count. The connection holds one from srv_gen_new; the engine holds one
 * from a successful add_request until the last final event (one per choice) — whoever drops the
 * last one frees. While the engine holds its reference, the srv_gen is in the server's registry,
 * so shutdown can abort what the engine has not ended.
 *
 * A client that hangs up is noticed while waiting: every wake-up polls its socket for an error or
 * a hang-up of both directions (a reset). The end of what the client sends is not one: a client
 * may shut down its sending side once its request is out (POLLRDHUP, a read of 0) and still read
 * the answer. A client that closed its socket entirely looks the same until something is written
 * to it: a stream notices at its next write, a non-streaming request runs to its end.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oai_tools.h"
#include "server_internal.h"

srv_gen *srv_gen_new(pagedvk_server *s, int fd) {
  srv_gen *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  if (pthread_mutex_init(&g->lock, NULL)) {
    free(g);
    return NULL;
  }
  if (pthread_cond_init(&g->cond, NULL)) {
    pthread_mutex_destroy(&g->lock);
    free(g);
    return NULL;
  }
  g->srv = s;
  g->refs = 1;
  g->fd = fd;
  g->n_choices = 1;
  g->created = (long long)time(NULL);
  return g;
}

static void gen_free(srv_gen *g) {
  srv_events_free(g->q, g->nq);
  for (uint32_t i = 0; i < SRV_MAX_CHOICES; i++) {
    srv_buf_free(&g->choices[i].text);
    srv_buf_free(&g->choices[i].reasoning);
    srv_buf_free(&g->choices[i].lp);
    if (g->choices[i].tools) oai_tools_free(g->choices[i].tools);
    free(g->choices[i].tools);
  }
  srv_buf_free(&g->out);
  oai_request_free(&g->req);
  pthread_cond_destroy(&g->cond);
  pthread_mutex_destroy(&g->lock);
  free(g);
}

static void gen_unref(srv_gen *g) {
  pthread_mutex_lock(&g->lock);
  int left = --g->refs;
  pthread_mutex_unlock(&g->lock);
  if (left == 0) gen_free(g);
}

void srv_events_free(srv_event *evs, size_t n) {
  for (size_t i = 0; i < n; i++) free(evs[i].text);
  free(evs);
}

static bool queue_push(srv_gen *g, const pagedvk_token_event *ev) {
  if (!srv_grow((void **)&g->q, &g->capq, g->nq + 1, sizeof *g->q, 16)) return false;
  srv_event *e = &g->q[g->nq];
  memset(e, 0, sizeof *e);
  e->text = malloc(ev->text_len + 1);
  if (!e->text) return false;
  memcpy(e->text, ev->text, ev->text_len);
  e->text[ev->text_len] = 0;
  e->len = ev->text_len;
  e->index = ev->index;
  e->token = ev->token;
  e->logprob = ev->logprob;
  e->n_top = ev->n_top < SRV_MAX_TOP ? ev->n_top : SRV_MAX_TOP;
  for (uint32_t i = 0; i < e->n_top; i++) {
    e->top_ids[i] = ev->top_ids[i];
    e->top_logprobs[i] = ev->top_logprobs[i];
  }
  e->finish = ev->finish;
  e->status = ev->status;
  e->prompt_tokens = ev->prompt_tokens;
  e->completion_tokens = ev->completion_tokens;
  e->grammar_incomplete = ev->grammar_incomplete != 0;
  g->nq++;
  return true;
}

/* Engine thread: timings of the first choice feed the latency histograms. */
static void note_timing(srv_gen *g, const pagedvk_token_event *ev, double now) {
  if (ev->token < 0) return;
  if (g->t_first == 0) g->t_first = now;
  if (ev->index == 0) {
    g->t_last = now;
    g->tokens0++;
  }
}

static void observe(srv_gen *g, pagedvk_finish_reason why, double now) {
  double ttft = g->t_first > 0 ? g->t_first - g->t_arrival : -1;
  double tpot = g->tokens0 > 1 && g->t_first > 0 ? (g->t_last - g->t_first) / (g->tokens0 - 1) : -1;
  srv_metrics_observe(&g->srv->metrics, ttft, tpot, now - g->t_arrival, why);
}

/* The engine's callback (engine thread). */
void srv_gen_on_token(const pagedvk_token_event *ev, void *user) {
  srv_gen *g = user;
  double now = pagedvk_now_seconds();
  note_timing(g, ev, now);
  if (!g->queue_seen && ev->queue_seconds >= 0) {
    g->queue_seen = true;
    srv_metrics_queue_time(&g->srv->metrics, ev->queue_seconds);
  }
  pthread_mutex_lock(&g->lock);
  if (!queue_push(g, ev)) g->lost_events = true;
  bool last = false;
  if (ev->finish != PAGEDVK_FINISH_NONE && ++g->finals_in == g->n_choices) last = true;
  pthread_cond_signal(&g->cond);
  pthread_mutex_unlock(&g->lock);
  if (!last) return;
  observe(g, ev->finish, now);
  srv_registry_remove(g->srv, g);
  gen_unref(g);
}

int srv_gen_submit(srv_gen *g, srv_error *err) {
  pagedvk_server *s = g->srv;
  char msg[512] = "";
  g->n_choices = g->req.sp.n ? g->req.sp.n : 1;
  for (uint32_t i = 0; i < g->n_choices && i < SRV_MAX_CHOICES; i++)
    oai_reasoning_init(&g->choices[i].split, g->req.think_style, g->req.think_start);
  g->t_arrival = pagedvk_now_seconds();
  pthread_mutex_lock(&s->lock);
  if (s->stopping) {
    pthread_mutex_unlock(&s->lock);
    srv_error_from_status(err, PAGEDVK_ERR_ABORTED, NULL);
    return -1;
  }
  g->refs++; /* the engine's, taken before its callback can run */
  snprintf(g->rid, sizeof g->rid, "%s-%llx%06llx", g->req.kind == OAI_CHAT ? "chatcmpl" : "cmpl",
           (unsigned long long)g->created, (unsigned long long)(++s->next_rid & 0xffffff));
  srv_registry_add_locked(s, g);
  int rc = pagedvk_engine_add_request(s->engine, g->req.prompt, g->req.n_prompt, &g->req.sp, srv_gen_on_token, g,
                                      &g->id, msg, sizeof msg);
  if (rc) {
    srv_registry_remove_locked(s, g);
    g->refs--;
  }
  pthread_mutex_unlock(&s->lock);
  if (rc) {
    srv_error_from_status(err, rc, msg);
    /* an invalid grammar or schema: the engine's message says where; the param names the field */
    if (rc == PAGEDVK_ERR_INVALID && g->req.grammar_param &&
        (!strncmp(msg, "grammar", 7) || !strncmp(msg, "json schema", 11))) {
      snprintf(err->param, sizeof err->param, "%s", g->req.grammar_param);
      err->code = "invalid_value";
    }
    /* the prompt of a completion is "prompt", not "messages" */
    if (g->req.kind == OAI_COMPLETION && !strcmp(err->param, "messages")) snprintf(err->param, sizeof err->param, "prompt");
  }
  return rc ? -1 : 0;
}

static bool peer_hung_up(int fd) {
  if (fd < 0) return false;
  struct pollfd p = {.fd = fd, .events = 0}; /* POLLERR and POLLHUP are always reported */
  if (poll(&p, 1, 0) <= 0) return false;
  return (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
}

static void deadline_after(struct timespec *ts, double seconds) {
  clock_gettime(CLOCK_REALTIME, ts);
  long long ns = ts->tv_nsec + (long long)(seconds * 1e9);
  ts->tv_sec += (time_t)(ns / 1000000000LL);
  ts->tv_nsec = (long)(ns % 1000000000LL);
}

int srv_gen_wait(srv_gen *g, srv_event **evs, size_t *n, double timeout_s) {
  *evs = NULL;
  *n = 0;
  struct timespec ts;
  deadline_after(&ts, timeout_s);
  pthread_mutex_lock(&g->lock);
  int rc = 0;
  while (g->nq == 0 && g->finals_in < g->n_choices && rc == 0) rc = pthread_cond_timedwait(&g->cond, &g->lock, &ts);
  *evs = g->q;
  *n = g->nq;
  g->q = NULL;
  g->nq = g->capq = 0;
  bool ended = g->finals_in >= g->n_choices;
  bool lost = g->lost_events;
  if (lost) {
    g->failed = true;
    if (!g->fail_status) g->fail_status = PAGEDVK_ERR_NO_MEMORY; /* first error wins */
  }
  pthread_mutex_unlock(&g->lock);
  srv_http_touch(); /* waiting for the engine is not the client's idleness */
  /* Checked on every wake-up, not only on time-outs: a running request sends events all the time,
   * and a non-streaming client that left must still stop it. */
  if (!ended && peer_hung_up(g->fd)) {
    srv_events_free(*evs, *n);
    *evs = NULL;
    *n = 0;
    return -1;
  }
  for (size_t i = 0; i < *n; i++)
    if ((*evs)[i].finish != PAGEDVK_FINISH_NONE) g->finals_out++;
  /* A final event that could not be queued never comes: once the engine has ended every choice,
   * a request that lost events is over (failed, answered with the error), else its connection
   * would wait for the missing final without end. */
  if (ended && lost) g->finals_out = g->n_choices;
  return *n || ended ? 1 : 0;
}

bool srv_gen_done(const srv_gen *g) { return g->finals_out >= g->n_choices; }

void srv_gen_abort(srv_gen *g) {
  pthread_mutex_lock(&g->lock);
  bool running = g->refs > 1 && g->finals_in < g->n_choices;
  pthread_mutex_unlock(&g->lock);
  if (running) pagedvk_engine_abort(g->srv->engine, g->id);
}

void srv_gen_release(srv_gen *g) { gen_unref(g); }
