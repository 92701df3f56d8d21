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
 * Phases (srv_phase_of): loading (pagedvk_server_create_loading: HTTP answers, /health says 503,
 * generation requests get 503, until pagedvk_server_attach_engine), ready, draining (the first
 * pagedvk_server_stop: /health and new generation requests get 503 with Retry-After and
 * `Connection: close`, admitted requests run on until none is left or drain_timeout_s passes;
 * a second stop ends the drain), stopping (below).
 *
 * Invariants: every submitted request is in the registry until its last final event; after
 * `stopping` is set (under s->lock) nothing new is submitted. Shutdown: stopping → close the
 * listening socket → stop and join the engine thread (live requests get their abort events) →
 * abort and step away whatever was still queued → stop libmicrohttpd, which joins the connection
 * threads once they have written their last bytes. The engine is idle and untouched afterwards.
 *
 * The watch thread wakes every WATCH_PERIOD_S: it closes (shutdown) the connections whose request
 * has not arrived by its deadline (header_timeout_s; http.c sets and clears the deadlines, and
 * MHD's notifications keep s->conns to the open sockets), and once the server has been idle for
 * TRIM_IDLE_S after some requests it gives freed heap memory back to the system (malloc_trim: with
 * a thread per connection, glibc keeps freed memory in per-thread arenas otherwise).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "server_internal.h"

#define DEFAULT_MAX_BODY (8u << 20)
#define DEFAULT_MAX_CONNECTIONS 1000
#define DEFAULT_MAX_CONNECTIONS_PER_CLIENT 256
#define DEFAULT_MAX_PENDING 256
#define DEFAULT_HEADER_TIMEOUT_S 15
#define DEFAULT_WRITE_TIMEOUT_S 60
#define DEFAULT_DRAIN_TIMEOUT_S 20
#define SHUTDOWN_GRACE_S 5
#define DRAIN_POLL_MS 50
#define WATCH_PERIOD_S 0.25
#define TRIM_IDLE_S 1.0

void pagedvk_server_options_default(pagedvk_server_options *o) {
  memset(o, 0, sizeof *o);
  o->host = "127.0.0.1";
  o->port = 8080;
  o->model_name = "pagedvk";
  o->max_body_bytes = DEFAULT_MAX_BODY;
  o->max_connections = DEFAULT_MAX_CONNECTIONS;
  o->max_connections_per_client = DEFAULT_MAX_CONNECTIONS_PER_CLIENT;
  o->max_pending_requests = DEFAULT_MAX_PENDING;
  o->header_timeout_s = DEFAULT_HEADER_TIMEOUT_S;
  o->write_timeout_s = DEFAULT_WRITE_TIMEOUT_S;
  o->drain_timeout_s = DEFAULT_DRAIN_TIMEOUT_S;
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
  if (s->stop_requested < 2) s->stop_requested = s->stop_requested + 1; /* the handler's only writer */
  wake(s);
}

/* libmicrohttpd's messages may quote what a client sent: through srv_log, which escapes it. */
static void mhd_log(void *cls, const char *fmt, va_list ap) {
  pagedvk_server *s = cls;
  if (!s->log) return;
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
  srv_log(s, "libmicrohttpd: %s", line);
}

/* ---- the watch thread --------------------------------------------------------------------- */

static void deadline_in(struct timespec *ts, double seconds) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  long long ns = ts->tv_nsec + (long long)(seconds * 1e9);
  ts->tv_sec += (time_t)(ns / 1000000000LL);
  ts->tv_nsec = (long)(ns % 1000000000LL);
}

/* Gives freed memory back once the server has been idle a while after serving something. */
static void maybe_trim(pagedvk_server *s, double now) {
  pthread_mutex_lock(&s->lock);
  bool due = s->trim_due && s->requests_busy == 0 && now - s->idle_since >= TRIM_IDLE_S;
  if (due) s->trim_due = false;
  pthread_mutex_unlock(&s->lock);
#ifdef __GLIBC__
  if (due) malloc_trim(0);
#endif
}

static void *watch_main(void *arg) {
  pagedvk_server *s = arg;
  pthread_mutex_lock(&s->conn_lock);
  while (!s->watch_stop) {
    double now = pagedvk_now_seconds();
    unsigned dropped = 0;
    for (srv_conn *c = s->conns; c; c = c->next)
      if (c->deadline > 0 && now >= c->deadline) {
        shutdown(c->fd, SHUT_RDWR); /* its thread sees the end of the stream and closes it */
        c->deadline = 0;
        dropped++;
      }
    pthread_mutex_unlock(&s->conn_lock);
    while (dropped--) srv_metrics_conn_timeout(&s->metrics);
    maybe_trim(s, now);
    pthread_mutex_lock(&s->conn_lock);
    struct timespec ts;
    deadline_in(&ts, WATCH_PERIOD_S);
    if (!s->watch_stop) pthread_cond_timedwait(&s->watch_cond, &s->conn_lock, &ts);
  }
  pthread_mutex_unlock(&s->conn_lock);
  return NULL;
}

static void stop_watch(pagedvk_server *s) {
  if (!s->watch_started) return;
  pthread_mutex_lock(&s->conn_lock);
  s->watch_stop = true;
  pthread_cond_signal(&s->watch_cond);
  pthread_mutex_unlock(&s->conn_lock);
  pthread_join(s->watch_thread, NULL);
  s->watch_started = false;
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

static bool is_loopback(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
  }
  if (ss->ss_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(a)) return true;
    return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
  }
  return false;
}

static int start_http(pagedvk_server *s, uint16_t port, char *err, size_t err_size) {
  struct sockaddr_storage ss;
  socklen_t len;
  int rc = resolve(s->host, port, &ss, &len, err, err_size);
  if (rc) return rc;
  if (!is_loopback(&ss) && !s->api_key)
    srv_log(s, "WARNING: binding %s, beyond loopback, without an API key: anyone who can reach this address can "
               "use the server (set --api-key, --api-key-file or PAGEDVK_API_KEY)",
            s->host);
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
                   MHD_USE_ERROR_LOG;
  if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  /* MHD's idle timeout is the write timeout: while a request's response is produced, its thread
   * restarts the clock (srv_http_touch); before, the watch thread's deadline is the tighter one. */
  unsigned per_ip = s->max_conns_per_client < s->max_conns ? s->max_conns_per_client : 0;
  s->mhd = MHD_start_daemon(flags, port, NULL, NULL, srv_http_handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED,
                            srv_http_completed, s, MHD_OPTION_NOTIFY_CONNECTION, srv_http_conn_notify, s,
                            MHD_OPTION_CONNECTION_TIMEOUT, s->write_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
                            s->max_conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)256, MHD_OPTION_END);
  if (!s->mhd) {
    snprintf(err, err_size, "cannot listen on %s:%u (in use, or not an address of this machine?)", s->host, port);
    return PAGEDVK_ERR_IO;
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
  s->port = di && di->port ? di->port : port;
  return PAGEDVK_OK;
}

/* "*" or scheme://host[:port], no path, no spaces or control bytes. */
static bool origin_ok(const char *o, size_t n) {
  if (n == 1 && o[0] == '*') return true;
  const char *sep = NULL;
  for (size_t i = 0; i + 2 < n; i++)
    if (o[i] == ':' && o[i + 1] == '/' && o[i + 2] == '/') {
      sep = o + i;
      break;
    }
  if (!sep || sep == o || (size_t)(sep - o) + 3 >= n) return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)o[i];
    if (ch <= ' ' || ch >= 0x7f || ch == ',' || (o + i > sep + 2 && ch == '/')) return false;
  }
  return true;
}

/* cors_origins "a,b , *" → s->cors; -1 on a malformed entry (err filled) or out of memory. */
static int parse_cors(pagedvk_server *s, const char *list, char *err, size_t err_size) {
  for (const char *p = list; *p;) {
    while (*p == ' ' || *p == ',') p++;
    if (!*p) break;
    const char *q = p;
    while (*q && *q != ',') q++;
    size_t n = (size_t)(q - p);
    while (n && p[n - 1] == ' ') n--;
    if (!origin_ok(p, n)) {
      snprintf(err, err_size, "bad CORS origin '%.*s' (want * or scheme://host[:port])", (int)(n > 200 ? 200 : n), p);
      return PAGEDVK_ERR_INVALID;
    }
    char **grown = realloc(s->cors, (s->n_cors + 1) * sizeof *grown);
    if (!grown) return snprintf(err, err_size, "out of memory"), PAGEDVK_ERR_NO_MEMORY;
    s->cors = grown;
    if (!(s->cors[s->n_cors] = strndup(p, n))) return snprintf(err, err_size, "out of memory"), PAGEDVK_ERR_NO_MEMORY;
    s->n_cors++;
    if (n == 1 && *p == '*') s->cors_any = true;
    p = q;
  }
  if (!s->n_cors) return snprintf(err, err_size, "the CORS origin list is empty"), PAGEDVK_ERR_INVALID;
  return PAGEDVK_OK;
}

static int copy_options(pagedvk_server *s, const pagedvk_server_options *o, char *err, size_t err_size) {
  if (o->api_key && !*o->api_key) {
    snprintf(err, err_size, "the API key is empty (leave it unset to serve without one)");
    return PAGEDVK_ERR_INVALID;
  }
  if (o->cors_origins) {
    int rc = parse_cors(s, o->cors_origins, err, err_size);
    if (rc) return rc;
  }
  s->host = strdup(o->host ? o->host : "127.0.0.1");
  s->model_name = strdup(o->model_name ? o->model_name : "pagedvk");
  s->api_key = o->api_key ? strdup(o->api_key) : NULL;
  if (!s->host || !s->model_name || (o->api_key && !s->api_key))
    return snprintf(err, err_size, "out of memory"), PAGEDVK_ERR_NO_MEMORY;
  if (o->defaults) s->defaults = *o->defaults;
  else pagedvk_sampling_params_default(&s->defaults);
  s->defaults.stop = NULL;
  s->defaults.n_stop = 0;
  s->defaults.stop_ids = NULL;
  s->defaults.n_stop_ids = 0;
  s->max_body = o->max_body_bytes ? o->max_body_bytes : DEFAULT_MAX_BODY;
  s->log = o->log;
  s->max_conns = o->max_connections ? o->max_connections : DEFAULT_MAX_CONNECTIONS;
  s->max_conns_per_client = o->max_connections_per_client ? o->max_connections_per_client
                                                          : DEFAULT_MAX_CONNECTIONS_PER_CLIENT;
  s->max_pending = o->max_pending_requests ? o->max_pending_requests : DEFAULT_MAX_PENDING;
  s->header_timeout_s = o->header_timeout_s ? o->header_timeout_s : DEFAULT_HEADER_TIMEOUT_S;
  s->write_timeout_s = o->write_timeout_s ? o->write_timeout_s : DEFAULT_WRITE_TIMEOUT_S;
  s->metrics_open = o->metrics_no_auth != 0;
  if (!(o->drain_timeout_s >= 0 && o->drain_timeout_s <= 86400)) /* NaN too */
    return snprintf(err, err_size, "the drain timeout must be 0 to 86400 seconds"), PAGEDVK_ERR_INVALID;
  s->drain_timeout_s = o->drain_timeout_s;
  s->reasoning_format = o->reasoning_format == PAGEDVK_REASONING_NONE ? PAGEDVK_REASONING_NONE : PAGEDVK_REASONING_SPLIT;
  return PAGEDVK_OK;
}

/* Everything but the engine: the options, the self-pipe, the watch thread and the listening socket. */
static int create_common(pagedvk_server **out, const pagedvk_server_options *opt, bool need_engine, bool have_engine,
                         char *err, size_t err_size) {
  *out = NULL;
  pagedvk_server_options def;
  if (!opt) pagedvk_server_options_default(&def), opt = &def;
  pagedvk_server *s = calloc(1, sizeof *s);
  if (!s) return snprintf(err, err_size, "out of memory"), PAGEDVK_ERR_NO_MEMORY;
  s->wake[0] = s->wake[1] = -1;
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->idle, NULL);
  pthread_mutex_init(&s->conn_lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s->watch_cond, &ca);
  pthread_condattr_destroy(&ca);
  srv_metrics_init(&s->metrics);
  int rc = copy_options(s, opt, err, err_size); /* the options are checked first: also without an engine */
  if (!rc && need_engine && !have_engine) rc = PAGEDVK_ERR_INVALID, snprintf(err, err_size, "no engine");
  if (!rc && pipe2(s->wake, O_CLOEXEC | O_NONBLOCK))
    rc = PAGEDVK_ERR_IO, snprintf(err, err_size, "pipe: %s", strerror(errno));
  if (!rc && pthread_create(&s->watch_thread, NULL, watch_main, s))
    rc = PAGEDVK_ERR_NO_MEMORY, snprintf(err, err_size, "cannot start the watch thread");
  if (!rc) s->watch_started = true;
  if (!rc) rc = start_http(s, opt->port, err, err_size);
  if (rc) {
    pagedvk_server_destroy(s);
    return rc;
  }
  *out = s;
  return PAGEDVK_OK;
}

int pagedvk_server_attach_engine(pagedvk_server *s, pagedvk_engine *e, char *err, size_t err_size) {
  char dummy[8];
  if (!err) err = dummy, err_size = sizeof dummy;
  if (!s || !e) return snprintf(err, err_size, "no engine"), PAGEDVK_ERR_INVALID;
  pthread_mutex_lock(&s->lock);
  bool had = s->engine != NULL;
  pthread_mutex_unlock(&s->lock);
  if (had) return snprintf(err, err_size, "the server already has an engine"), PAGEDVK_ERR_INVALID;
  /* Written before `ready` is set under the lock: the connection threads read them only after
   * seeing `ready` (srv_phase_of) under the same lock. */
  s->engine = e;
  s->model = pagedvk_engine_model(e);
  s->max_model_len = pagedvk_engine_max_model_len(e);
  if (pthread_create(&s->engine_thread, NULL, engine_main, s)) {
    s->engine = NULL;
    return snprintf(err, err_size, "cannot start the engine thread"), PAGEDVK_ERR_NO_MEMORY;
  }
  s->engine_started = true;
  pthread_mutex_lock(&s->lock);
  s->ready = true;
  pthread_mutex_unlock(&s->lock);
  return PAGEDVK_OK;
}

int pagedvk_server_create_loading(pagedvk_server **out, const pagedvk_server_options *opt, char *err,
                                  size_t err_size) {
  char dummy[8];
  if (!err) err = dummy, err_size = sizeof dummy;
  return create_common(out, opt, false, false, err, err_size);
}

int pagedvk_server_create(pagedvk_server **out, pagedvk_engine *e, const pagedvk_server_options *opt, char *err,
                          size_t err_size) {
  char dummy[8];
  if (!err) err = dummy, err_size = sizeof dummy;
  int rc = create_common(out, opt, true, e != NULL, err, err_size);
  if (rc) return rc;
  rc = pagedvk_server_attach_engine(*out, e, err, err_size);
  if (rc) {
    pagedvk_server_destroy(*out);
    *out = NULL;
  }
  return rc;
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
  if (s->engine) drain_engine(s);
  wait_connections(s, SHUTDOWN_GRACE_S);
  if (s->mhd) {
    MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
  }
  stop_watch(s);
}

/* True when the engine loop ended by itself (a device error). */
static bool engine_failed(pagedvk_server *s) {
  pthread_mutex_lock(&s->lock);
  bool failed = s->engine_rc < 0;
  pthread_mutex_unlock(&s->lock);
  return failed;
}

static void drain_wake(pagedvk_server *s, int timeout_ms) {
  struct pollfd p = {.fd = s->wake[0], .events = POLLIN};
  if (poll(&p, 1, timeout_ms) > 0) {
    char buf[64];
    while (read(s->wake[0], buf, sizeof buf) > 0) {
    }
  }
}

/* The first stop: /health says 503, new generation requests get 503 with Retry-After and every
 * response closes its connection, while what was admitted runs on — until none is left, the
 * drain timeout passes, a second stop comes or the engine fails. */
static void drain(pagedvk_server *s) {
  pthread_mutex_lock(&s->lock);
  s->draining = true;
  unsigned left = s->pending;
  bool ready = s->ready;
  pthread_mutex_unlock(&s->lock);
  if (!ready || s->drain_timeout_s <= 0) return;
  srv_log(s, "draining: %u requests in progress, up to %g s (a second signal stops at once)", left,
          s->drain_timeout_s);
  double deadline = pagedvk_now_seconds() + s->drain_timeout_s;
  for (;;) {
    pthread_mutex_lock(&s->lock);
    left = s->pending;
    pthread_mutex_unlock(&s->lock);
    if (left == 0) {
      srv_log(s, "drained");
      return;
    }
    if (s->stop_requested >= 2 || engine_failed(s)) return;
    double now = pagedvk_now_seconds();
    if (now >= deadline) {
      srv_log(s, "drain timeout: ending %u requests", left);
      return;
    }
    double ms = (deadline - now) * 1000;
    drain_wake(s, ms < DRAIN_POLL_MS ? (int)ms + 1 : DRAIN_POLL_MS);
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
    if (engine_failed(s)) break;
  }
  if (!engine_failed(s)) drain(s);
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
  pthread_cond_destroy(&s->watch_cond);
  pthread_mutex_destroy(&s->conn_lock);
  pthread_cond_destroy(&s->idle);
  pthread_mutex_destroy(&s->lock);
  for (size_t i = 0; i < s->n_cors; i++) free(s->cors[i]);
  free(s->cors);
  free(s->host);
  free(s->api_key);
  free(s->model_name);
  free(s);
}
