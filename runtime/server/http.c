/*
 * http.c — libmicrohttpd's access handler: collects the request body, routes by path and method,
 * checks the API key, and answers the small routes (/health, /metrics, /v1/models) itself.
 *
 * Routes:  GET /health, GET /metrics (open) · GET /v1/models, POST /v1/completions,
 * POST /v1/chat/completions (need "Authorization: Bearer KEY" when an API key is set).
 * Unknown path → 404, known path with another method → 405 with an Allow header, body larger
 * than max_body → 413; every error is an OpenAI error object.
 * Per-connection state (*con_cls) is a conn_body, freed in srv_http_completed.
 */
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

typedef struct conn_body {
  srv_buf body;
  bool too_big;
} conn_body;

typedef enum route_id { R_HEALTH, R_METRICS, R_MODELS, R_COMPLETIONS, R_CHAT, R_NONE } route_id;

typedef struct route {
  const char *path;
  const char *method;
  route_id id;
  bool needs_key;
} route;

static const route ROUTES[] = {
    {"/health", "GET", R_HEALTH, false},
    {"/metrics", "GET", R_METRICS, false},
    {"/v1/models", "GET", R_MODELS, true},
    {"/v1/completions", "POST", R_COMPLETIONS, true},
    {"/v1/chat/completions", "POST", R_CHAT, true},
};

static const route *find_route(const char *url) {
  size_t n = strlen(url);
  while (n > 1 && url[n - 1] == '/') n--; /* "/v1/models/" is "/v1/models" */
  for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++)
    if (strlen(ROUTES[i].path) == n && !strncmp(ROUTES[i].path, url, n)) return &ROUTES[i];
  return NULL;
}

/* Compares in time independent of where the strings differ. */
static bool same_secret(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  unsigned char d = la != lb;
  for (size_t i = 0; i < lb; i++) d |= (unsigned char)(a[i < la ? i : 0] ^ b[i]);
  return d == 0;
}

static bool authorized(pagedvk_server *s, struct MHD_Connection *c) {
  if (!s->api_key) return true;
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
  enum MHD_Result ok = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  srv_metrics_http(&s->metrics, status);
  return ok;
}

static enum MHD_Result handle_health(pagedvk_server *s, struct MHD_Connection *c) {
  cJSON *j = cJSON_CreateObject();
  bool stopping = srv_is_stopping(s);
  cJSON_AddStringToObject(j, "status", stopping ? "stopping" : "ok");
  return srv_send_json(s, c, stopping ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK, j);
}

static enum MHD_Result handle_metrics(pagedvk_server *s, struct MHD_Connection *c) {
  srv_buf b = {0};
  enum MHD_Result ok = MHD_NO;
  if (srv_metrics_render(&s->metrics, s->engine, &b))
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

static enum MHD_Result send_route_error(pagedvk_server *s, struct MHD_Connection *c, const char *url,
                                        const char *method, const route *r) {
  srv_error e;
  if (!r) {
    srv_error_set(&e, 404, "invalid_request_error", NULL, "not_found", "no route %s %s", method, url);
    return srv_send_error(s, c, &e);
  }
  srv_error_set(&e, 405, "invalid_request_error", NULL, "method_not_allowed", "%s needs %s, not %s", r->path,
                r->method, method);
  cJSON *j = srv_error_json(&e);
  char *text = j ? cJSON_PrintUnformatted(j) : NULL;
  cJSON_Delete(j);
  if (!text) return MHD_NO;
  struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
  cJSON_free(text);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->method);
  enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
  MHD_destroy_response(resp);
  srv_metrics_http(&s->metrics, 405);
  return ok;
}

static enum MHD_Result dispatch(pagedvk_server *s, struct MHD_Connection *c, const char *url, const char *method,
                                conn_body *b) {
  const route *r = find_route(url);
  srv_error e;
  if (!r || strcmp(method, r->method)) return send_route_error(s, c, url, method, r);
  if (r->needs_key && !authorized(s, c)) {
    srv_error_set(&e, 401, "authentication_error", NULL, "invalid_api_key", "missing or wrong API key");
    return srv_send_error(s, c, &e);
  }
  if (b->too_big) {
    srv_error_set(&e, 413, "invalid_request_error", NULL, "request_too_large", "the body exceeds %zu bytes",
                  s->max_body);
    return srv_send_error(s, c, &e);
  }
  if (b->body.oom) {
    srv_error_set(&e, 503, "server_error", NULL, NULL, "out of memory");
    return srv_send_error(s, c, &e);
  }
  switch (r->id) {
    case R_HEALTH: return handle_health(s, c);
    case R_METRICS: return handle_metrics(s, c);
    case R_MODELS: return handle_models(s, c);
    case R_COMPLETIONS: return oai_handle(s, c, OAI_COMPLETION, b->body.p ? b->body.p : "", b->body.len);
    case R_CHAT: return oai_handle(s, c, OAI_CHAT, b->body.p ? b->body.p : "", b->body.len);
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
    return MHD_YES;
  }
  if (*upload_size) {
    if (b->body.len + *upload_size > s->max_body) b->too_big = true;
    else srv_buf_append(&b->body, upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  return dispatch(s, c, url, method, b);
}

/* MHD calls this once the response is fully written (or the connection is gone): only then is the
 * request no longer busy, so shutdown waits for 503s and final chunks to reach their clients. */
void srv_http_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why) {
  (void)c;
  (void)why;
  conn_body *b = *con_cls;
  if (!b) return;
  srv_buf_free(&b->body);
  free(b);
  *con_cls = NULL;
  srv_requests_busy_add(cls, -1);
}
