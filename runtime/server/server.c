/*
 * server.c — the server's life: create (bind, start the engine thread and libmicrohttpd), run
 * (wait for a stop), shut down in order, destroy.
 *
 * Threads:
 * - the engine thread runs pagedvk_engine_serve; token callbacks (gen.c) only queue events;
 * - libmicrohttpd's listener thread, and one thread per connection running http.c / oai_handler.c,
 *   which may block while they wait for their request's events;
 * - the caller's thread, in pagedvk_server_run, sleeping on a self-pipe that pagedvk_server_stop
 *   (async-signal-safe) and the engine thread's exit write to.
 *
 * Invariants: every submitted request is in the registry until its last final event; after
 * `stopping` is set (under s->lock) nothing new is submitted. Shutdown: stopping → close the
 * listening socket → stop and join the engine thread (live requests get their abort events) →
 * abort and step away whatever was still queued → stop libmicrohttpd, which joins the connection
 * threads once they have written their last bytes. The engine is idle and untouched afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server_internal.h"

#define DEFAULT_MAX_BODY (8u << 20)
#define SHUTDOWN_GRACE_S 5

void pagedvk_server_options_default(pagedvk_server_options *o) {
  memset(o, 0, sizeof *o);
  o->host = "127.0.0.1";
  o->port = 8080;
  o->model_name = "pagedvk";
  o->max_body_bytes = DEFAULT_MAX_BODY;
}

/* ---- threads ------------------------------------------------------------------------------- */

static void wake(pagedvk_server *s) {
  ssize_t n = write(s->wake[1], "x", 1);
  (void)n; /* a full pipe already wakes the reader */
}

static void *engine_main(void *arg) {
  pagedvk_server *s = arg;
  char msg[256] = "";
  int rc = pagedvk_engine_serve(s->engine, msg, sizeof msg);
  pthread_mutex_lock(&s->lock);
  s->engine_rc = rc;
  memcpy(s->engine_err, msg, sizeof msg);
  pthread_mutex_unlock(&s->lock);
  wake(s);
  return NULL;
}

void pagedvk_server_stop(pagedvk_server *s) {
  if (!s) return;
  s->stop_requested = 1;
  wake(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
  pagedvk_server *s = cls;
  if (!s->log) return;
  fputs("pagedvk serve: libmicrohttpd: ", s->log);
  vfprintf(s->log, fmt, ap);
  fflush(s->log);
}

/* ---- create ----------------------------------------------------------------------------- */

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len, char *err,
                   size_t err_size) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
  struct addrinfo *res = NULL;
  char service[8];
  snprintf(service, sizeof service, "%u", port);
  int rc = getaddrinfo(host, service, &hints, &res);
  if (rc || !res) {
    snprintf(err, err_size, "cannot resolve host '%s': %s", host, gai_strerror(rc));
    return PAGEDVK_ERR_INVALID;
  }
  memcpy(ss, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  return PAGEDVK_OK;
}

static int start_http(pagedvk_server *s, uint16_t port, char *err, size_t err_size) {
  struct sockaddr_storage ss;
  socklen_t len;
  int rc = resolve(s->host, port, &ss, &len, err, err_size);
  if (rc) return rc;
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
                   MHD_USE_ERROR_LOG;
  if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  s->mhd = MHD_start_daemon(flags, port, NULL, NULL, srv_http_handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED,
                            srv_http_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300, MHD_OPTION_LISTEN_BACKLOG_SIZE,
                            (unsigned)256, MHD_OPTION_END);
  if (!s->mhd) {
    snprintf(err, err_size, "cannot listen on %s:%u (in use, or not an address of this machine?)", s->host, port);
    return PAGEDVK_ERR_IO;
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
  s->port = di && di->port ? di->port : port;
  return PAGEDVK_OK;
}

static int copy_options(pagedvk_server *s, const pagedvk_server_options *o) {
  s->host = strdup(o->host ? o->host : "127.0.0.1");
  s->model_name = strdup(o->model_name ? o->model_name : "pagedvk");
  s->api_key = o->api_key && *o->api_key ? strdup(o->api_key) : NULL;
  if (!s->host || !s->model_name || (o->api_key && *o->api_key && !s->api_key)) return PAGEDVK_ERR_NO_MEMORY;
  if (o->defaults) s->defaults = *o->defaults;
  else pagedvk_sampling_params_default(&s->defaults);
  s->defaults.stop = NULL;
  s->defaults.n_stop = 0;
  s->defaults.stop_ids = NULL;
  s->defaults.n_stop_ids = 0;
  s->max_body = o->max_body_bytes ? o->max_body_bytes : DEFAULT_MAX_BODY;
  s->log = o->log;
  return PAGEDVK_OK;
}

int pagedvk_server_create(pagedvk_server **out, pagedvk_engine *e, const pagedvk_server_options *opt, char *err,
                          size_t err_size) {
  char dummy[8];
  if (!err) err = dummy, err_size = sizeof dummy;
  *out = NULL;
  pagedvk_server_options def;
  if (!opt) pagedvk_server_options_default(&def), opt = &def;
  if (!e) return snprintf(err, err_size, "no engine"), PAGEDVK_ERR_INVALID;
  pagedvk_server *s = calloc(1, sizeof *s);
  if (!s) return snprintf(err, err_size, "out of memory"), PAGEDVK_ERR_NO_MEMORY;
  s->wake[0] = s->wake[1] = -1;
  s->engine = e;
  s->model = pagedvk_engine_model(e);
  s->max_model_len = pagedvk_engine_max_model_len(e);
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->idle, NULL);
  srv_metrics_init(&s->metrics);
  int rc = copy_options(s, opt);
  if (rc) snprintf(err, err_size, "out of memory");
  if (!rc && pipe2(s->wake, O_CLOEXEC | O_NONBLOCK))
    rc = PAGEDVK_ERR_IO, snprintf(err, err_size, "pipe: %s", strerror(errno));
  if (!rc && pthread_create(&s->engine_thread, NULL, engine_main, s))
    rc = PAGEDVK_ERR_NO_MEMORY, snprintf(err, err_size, "cannot start the engine thread");
  if (!rc) s->engine_started = true;
  if (!rc) rc = start_http(s, opt->port, err, err_size);
  if (rc) {
    pagedvk_server_destroy(s);
    return rc;
  }
  *out = s;
  return PAGEDVK_OK;
}

uint16_t pagedvk_server_port(const pagedvk_server *s) { return s->port; }

/* ---- shutdown ----------------------------------------------------------------------------- */

/* After the engine thread has stopped: ends, from this thread, what the engine never took in.
 * Ids are taken DRAIN_BATCH at a time: that is a batch, not a cap. A step applies every queued
 * abort and each aborted request's final events take it off the registry, so the registry shrinks
 * every round and later rounds take the rest. It gives up only after DRAIN_STALLED rounds in a row
 * in which the registry did not shrink (an engine that no longer finishes what it aborts). */
#define DRAIN_BATCH 256
#define DRAIN_STALLED 10000
static void drain_engine(pagedvk_server *s) {
  size_t before = SIZE_MAX;
  for (int stalled = 0; stalled < DRAIN_STALLED;) {
    uint64_t ids[DRAIN_BATCH];
    uint32_t n = 0;
    size_t total = 0;
    pthread_mutex_lock(&s->lock);
    for (srv_gen *g = s->registry; g; g = g->reg_next, total++)
      if (n < DRAIN_BATCH) ids[n++] = g->id;
    pthread_mutex_unlock(&s->lock);
    if (total == 0) return;
    stalled = total < before ? 0 : stalled + 1;
    before = total;
    for (uint32_t i = 0; i < n; i++) pagedvk_engine_abort(s->engine, ids[i]);
    if (pagedvk_engine_step(s->engine, NULL, 0) < 0) return;
  }
}

/* Lets the connections write their last bytes (error chunks, 503s) before MHD closes them; a
 * client that does not read is cut off after the grace period. */
static void wait_connections(pagedvk_server *s, double grace_s) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += (time_t)grace_s;
  pthread_mutex_lock(&s->lock);
  int rc = 0;
  while (s->requests_busy > 0 && rc == 0) rc = pthread_cond_timedwait(&s->idle, &s->lock, &ts);
  pthread_mutex_unlock(&s->lock);
}

static void shut_down(pagedvk_server *s) {
  if (s->shut_down) return;
  s->shut_down = true;
  pthread_mutex_lock(&s->lock);
  s->stopping = true;
  pthread_mutex_unlock(&s->lock);
  if (s->mhd) {
    MHD_socket fd = MHD_quiesce_daemon(s->mhd);
    if (fd != MHD_INVALID_SOCKET) close(fd);
  }
  if (s->engine_started) {
    pagedvk_engine_stop(s->engine);
    pthread_join(s->engine_thread, NULL);
    s->engine_started = false;
  }
  drain_engine(s);
  wait_connections(s, SHUTDOWN_GRACE_S);
  if (s->mhd) {
    MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
  }
}

int pagedvk_server_run(pagedvk_server *s, char *err, size_t err_size) {
  srv_log(s, "listening on http://%s%s%s:%u, model '%s', context %u tokens%s", strchr(s->host, ':') ? "[" : "",
          s->host, strchr(s->host, ':') ? "]" : "", s->port, s->model_name, s->max_model_len,
          s->api_key ? ", API key required" : "");
  for (;;) {
    struct pollfd p = {.fd = s->wake[0], .events = POLLIN};
    int n = poll(&p, 1, -1);
    if (n < 0 && errno != EINTR) break;
    char buf[64];
    while (read(s->wake[0], buf, sizeof buf) > 0) {
    }
    if (s->stop_requested) break;
    pthread_mutex_lock(&s->lock);
    bool failed = s->engine_rc < 0; /* the engine loop ended by itself */
    pthread_mutex_unlock(&s->lock);
    if (failed) break;
  }
  pthread_mutex_lock(&s->lock);
  int rc = s->engine_rc < 0 ? s->engine_rc : PAGEDVK_OK;
  if (rc && err) snprintf(err, err_size, "engine: %s", s->engine_err);
  pthread_mutex_unlock(&s->lock);
  srv_log(s, "stopping%s", rc ? " (engine failed)" : "");
  shut_down(s);
  srv_log(s, "stopped");
  return rc;
}

void pagedvk_server_destroy(pagedvk_server *s) {
  if (!s) return;
  shut_down(s);
  if (s->wake[0] >= 0) close(s->wake[0]);
  if (s->wake[1] >= 0) close(s->wake[1]);
  srv_metrics_destroy(&s->metrics);
  pthread_cond_destroy(&s->idle);
  pthread_mutex_destroy(&s->lock);
  free(s->host);
  free(s->api_key);
  free(s->model_name);
  free(s);
}
