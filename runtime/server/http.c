/*
 * http.c — libmicrohttpd's access handler: routes by path and method, checks the API key and the
 * request's size from its headers, collects the body, and answers the small routes (/health,
 * /metrics, /v1/models) itself; keeps the per-connection deadline for a request to arrive.
 *
 * Routes:  GET|HEAD /health (readiness: 503 while loading or draining; open), GET|HEAD
 * /health/live (liveness: 200 whenever HTTP is served; open), GET|HEAD /metrics (needs the key when one is set, unless
 * metrics_no_auth), GET|HEAD /v1/models, POST /v1/completions, POST /v1/chat/completions (need
 * "Authorization: Bearer KEY" when an API key is set). OPTIONS on any route: 204 with Allow, and
 * the CORS preflight headers when the Origin is allowed (no key needed).
 *
 * Decided at the first call, from the headers alone, before any byte of the body is read (MHD
 * then answers without reading the body and closes the connection): unknown path → 404, known
 * path with another method → 405 with an Allow header, missing or wrong key → 401, Content-Length
 * above max_body → 413, the model still loading or the server draining → 503 (generation routes
 * and /v1/models), max_pending_requests generation requests in progress → 503 with
 * Retry-After. A chunked body that grows past max_body closes the connection (no response: the
 * answer could only come after reading it). Every error is an OpenAI error object.
 *
 * Per-request state (*con_cls) is a conn_body, freed in srv_http_completed; per-connection state
 * (the socket context) is a srv_conn on s->conns.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server_internal.h"

typedef enum route_id { R_HEALTH, R_LIVE, R_METRICS, R_MODELS, R_COMPLETIONS, R_CHAT, R_NONE } route_id;
typedef enum route_auth { OPEN, NEEDS_KEY, METRICS_KEY } route_auth;

typedef struct route {
  const char *path;
  const char *method; /* GET routes also answer HEAD */
  const char *allow;  /* the Allow header of 405 and OPTIONS */
  route_id id;
  route_auth auth;
} route;

static const route ROUTES[] = {
    {"/health", "GET", "GET, HEAD, OPTIONS", R_HEALTH, OPEN},
    {"/health/live", "GET", "GET, HEAD, OPTIONS", R_LIVE, OPEN},
    {"/metrics", "GET", "GET, HEAD, OPTIONS", R_METRICS, METRICS_KEY},
    {"/v1/models", "GET", "GET, HEAD, OPTIONS", R_MODELS, NEEDS_KEY},
    {"/v1/completions", "POST", "POST, OPTIONS", R_COMPLETIONS, NEEDS_KEY},
    {"/v1/chat/completions", "POST", "POST, OPTIONS", R_CHAT, NEEDS_KEY},
};

typedef struct conn_body {
  srv_buf body;
  const route *route;
  bool answered; /* a response was queued at the first call */
  bool pending;  /* holds one of max_pending_requests (srv_pending_take) */
} conn_body;

static const route *find_route(const char *url) {
  size_t n = strlen(url);
  while (n > 1 && url[n - 1] == '/') n--; /* "/v1/models/" is "/v1/models" */
  for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++)
    if (strlen(ROUTES[i].path) == n && !strncmp(ROUTES[i].path, url, n)) return &ROUTES[i];
  return NULL;
}

static bool method_ok(const route *r, const char *method) {
  return !strcmp(method, r->method) || (!strcmp(r->method, "GET") && !strcmp(method, "HEAD"));
}

/* Compares in time independent of where the strings differ. */
static bool same_secret(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  unsigned char d = la != lb;
  for (size_t i = 0; i < lb; i++) d |= (unsigned char)(a[i < la ? i : 0] ^ b[i]);
  return d == 0;
}

static bool authorized(pagedvk_server *s, struct MHD_Connection *c, const route *r) {
  if (!s->api_key || r->auth == OPEN || (r->auth == METRICS_KEY && s->metrics_open)) return true;
  const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  if (!h || strncasecmp(h, "Bearer ", 7)) return false;
  h += 7;
  while (*h == ' ') h++;
  return same_secret(h, s->api_key);
}

static enum MHD_Result send_text(pagedvk_server *s, struct MHD_Connection *c, unsigned status, const char *type,
                                 const char *text, size_t len) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  return srv_queue(s, c, status, r);
}

/* ---- small routes ---------------------------------------------------------------------------- */

/* Readiness: 200 only when an engine is attached and no stop was asked. */
static enum MHD_Result handle_health(pagedvk_server *s, struct MHD_Connection *c) {
  cJSON *j = cJSON_CreateObject();
  srv_phase ph = srv_phase_of(s);
  cJSON_AddStringToObject(j, "status", ph == SRV_READY ? "ok" : ph == SRV_LOADING ? "loading" : "draining");
  return srv_send_json(s, c, ph == SRV_READY ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, j);
}

/* Liveness: the process serves HTTP (loading and draining included). */
static enum MHD_Result handle_live(pagedvk_server *s, struct MHD_Connection *c) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "status", "alive");
  return srv_send_json(s, c, MHD_HTTP_OK, j);
}

static enum MHD_Result handle_metrics(pagedvk_server *s, struct MHD_Connection *c) {
  srv_buf b = {0};
  enum MHD_Result ok = MHD_NO;
  bool ready;
  srv_phase_ready(s, &ready);
  if (srv_metrics_render(&s->metrics, ready ? s->engine : NULL, s->model_name, &b))
    ok = send_text(s, c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
  srv_buf_free(&b);
  return ok;
}

static enum MHD_Result handle_models(pagedvk_server *s, struct MHD_Connection *c) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "object", "list");
  cJSON *m = cJSON_CreateObject();
  cJSON_AddStringToObject(m, "id", s->model_name);
  cJSON_AddStringToObject(m, "object", "model");
  cJSON_AddNumberToObject(m, "created", 0);
  cJSON_AddStringToObject(m, "owned_by", "pagedvk");
  cJSON_AddNumberToObject(m, "max_model_len", s->max_model_len);
  cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "data"), m);
  return srv_send_json(s, c, MHD_HTTP_OK, root);
}

/* OPTIONS: 204 with Allow, and the preflight's answer when the Origin is allowed. */
static enum MHD_Result handle_options(pagedvk_server *s, struct MHD_Connection *c, const route *r) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
  if (srv_cors_origin(s, c)) {
    MHD_add_response_header(resp, "Access-Control-Allow-Methods", r->allow);
    MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type, Accept");
    MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
  }
  return srv_queue(s, c, MHD_HTTP_NO_CONTENT, resp);
}

static enum MHD_Result send_route_error(pagedvk_server *s, struct MHD_Connection *c, const char *url,
                                        const char *method, const route *r) {
  srv_error e;
  if (!r) {
    srv_error_set(&e, 404, "invalid_request_error", NULL, "not_found", "no route %s %s", method, url);
    return srv_send_error(s, c, &e);
  }
  srv_error_set(&e, 405, "invalid_request_error", NULL, "method_not_allowed", "%s needs %s, not %s", r->path,
                r->method, method);
  srv_log(s, "error %u: %s", e.http, e.message);
  cJSON *j = srv_error_json(&e);
  char *text = j ? cJSON_PrintUnformatted(j) : NULL;
  cJSON_Delete(j);
  if (!text) return MHD_NO;
  struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
  cJSON_free(text);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
  return srv_queue(s, c, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
}

/* ---- the request's life ---------------------------------------------------------------------- */

static srv_conn *conn_of(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

/* The request has arrived (or is answered from its headers): no deadline while its response is
 * produced and written; the write timeout governs from here. */
static void clear_deadline(pagedvk_server *s, struct MHD_Connection *c) {
  srv_conn *sc = conn_of(c);
  if (!sc) return;
  pthread_mutex_lock(&s->conn_lock);
  sc->deadline = 0;
  pthread_mutex_unlock(&s->conn_lock);
}

/* Content-Length above max_body (a malformed one MHD has already answered with 400). */
static bool declared_too_big(pagedvk_server *s, struct MHD_Connection *c) {
  const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (!v) return false;
  char *end;
  unsigned long long n = strtoull(v, &end, 10);
  return n > s->max_body;
}

/* The first call, with the headers only: what can be answered without the body is answered now. */
static enum MHD_Result first_call(pagedvk_server *s, struct MHD_Connection *c, const char *url, const char *method,
                                  conn_body *b) {
  const route *r = b->route = find_route(url);
  srv_error e;
  if (r && !strcmp(method, "OPTIONS")) return b->answered = true, handle_options(s, c, r);
  if (!r || !method_ok(r, method)) return b->answered = true, send_route_error(s, c, url, method, r);
  if (!authorized(s, c, r)) {
    srv_error_set(&e, 401, "authentication_error", NULL, "invalid_api_key", "missing or wrong API key");
    return b->answered = true, srv_send_error(s, c, &e);
  }
  if (declared_too_big(s, c)) {
    srv_error_set(&e, 413, "invalid_request_error", NULL, "request_too_large", "the body exceeds %zu bytes",
                  s->max_body);
    return b->answered = true, srv_send_error(s, c, &e);
  }
  if (r->id == R_COMPLETIONS || r->id == R_CHAT || r->id == R_MODELS) {
    srv_phase ph = srv_phase_of(s);
    if (ph == SRV_LOADING || (ph == SRV_DRAINING && r->id != R_MODELS)) {
      if (r->id != R_MODELS) srv_metrics_drain_reject(&s->metrics);
      if (ph == SRV_LOADING)
        srv_error_set(&e, 503, "server_error", NULL, "model_loading", "the model is loading; retry later");
      else
        srv_error_set(&e, 503, "server_error", NULL, "shutting_down", "the server is shutting down");
      return b->answered = true, srv_send_error(s, c, &e);
    }
  }
  if (r->id == R_COMPLETIONS || r->id == R_CHAT) {
    if (!srv_pending_take(s)) {
      srv_metrics_busy_reject(&s->metrics);
      srv_error_set(&e, 503, "server_error", NULL, "server_busy",
                    "%u requests are in progress, the most this server takes; retry later", s->max_pending);
      return b->answered = true, srv_send_error(s, c, &e);
    }
    b->pending = true;
  }
  return MHD_YES; /* go on: the body, then the last call */
}

static enum MHD_Result dispatch(pagedvk_server *s, struct MHD_Connection *c, conn_body *b) {
  srv_error e;
  if (b->body.oom) {
    srv_error_set(&e, 503, "server_error", NULL, NULL, "out of memory");
    return srv_send_error(s, c, &e);
  }
  switch (b->route->id) {
    case R_HEALTH: return handle_health(s, c);
    case R_LIVE: return handle_live(s, c);
    case R_METRICS: return handle_metrics(s, c);
    case R_MODELS: return handle_models(s, c);
    case R_COMPLETIONS:
    case R_CHAT:
      srv_touch_bind(c, s->write_timeout_s);
      return oai_handle(s, c, b->route->id == R_CHAT ? OAI_CHAT : OAI_COMPLETION, b->body.p ? b->body.p : "",
                        b->body.len);
    default: return MHD_NO;
  }
}

enum MHD_Result srv_http_handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                const char *version, const char *upload, size_t *upload_size, void **con_cls) {
  pagedvk_server *s = cls;
  (void)version;
  conn_body *b = *con_cls;
  if (!b) { /* headers only so far */
    if (!(b = calloc(1, sizeof *b))) return MHD_NO;
    *con_cls = b;
    srv_requests_busy_add(s, 1);
    enum MHD_Result ok = first_call(s, c, url, method, b);
    if (b->answered) clear_deadline(s, c);
    return ok;
  }
  if (b->answered) { /* MHD discards the body of an early answer; nothing more to do */
    *upload_size = 0;
    return MHD_YES;
  }
  if (*upload_size) {
    if (b->body.len + *upload_size > s->max_body) { /* chunked, past the limit: do not read the rest */
      srv_log(s, "a chunked body exceeds %zu bytes: connection closed", s->max_body);
      return MHD_NO;
    }
    srv_buf_append(&b->body, upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  clear_deadline(s, c);
  return dispatch(s, c, b);
}

/* MHD calls this once the response is fully written (or the connection is gone): only then is the
 * request no longer busy, so shutdown waits for 503s and final chunks to reach their clients. A
 * connection kept alive has header_timeout_s for its next request. */
void srv_http_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why) {
  pagedvk_server *s = cls;
  (void)why;
  conn_body *b = *con_cls;
  if (!b) return;
  srv_touch_unbind(c);
  srv_conn *sc = conn_of(c);
  if (sc) {
    pthread_mutex_lock(&s->conn_lock);
    sc->deadline = pagedvk_now_seconds() + s->header_timeout_s;
    pthread_mutex_unlock(&s->conn_lock);
  }
  if (b->pending) srv_pending_give(s);
  srv_buf_free(&b->body);
  free(b);
  *con_cls = NULL;
  srv_requests_busy_add(s, -1);
}

void srv_http_conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  pagedvk_server *s = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    srv_conn *sc = calloc(1, sizeof *sc);
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!sc || !ci) { /* untracked: MHD's idle timeout still applies */
      free(sc);
      return;
    }
    sc->fd = ci->connect_fd;
    sc->deadline = pagedvk_now_seconds() + s->header_timeout_s;
    pthread_mutex_lock(&s->conn_lock);
    sc->next = s->conns;
    if (s->conns) s->conns->prev = sc;
    s->conns = sc;
    pthread_mutex_unlock(&s->conn_lock);
    *socket_context = sc;
    return;
  }
  srv_conn *sc = *socket_context; /* MHD_CONNECTION_NOTIFY_CLOSED: the socket is still open */
  if (!sc) return;
  pthread_mutex_lock(&s->conn_lock);
  if (sc->prev) sc->prev->next = sc->next;
  else s->conns = sc->next;
  if (sc->next) sc->next->prev = sc->prev;
  pthread_mutex_unlock(&s->conn_lock);
  free(sc);
  *socket_context = NULL;
}
