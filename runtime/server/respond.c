/*
 * respond.c — what every response carries, whoever builds it (http.c, oai_handler.c): the CORS
 * headers when the request's Origin is allowed, Retry-After on 503, `Connection: close` while
 * draining, the replica's load (X-Pagedvk-Queue-Depth: requests waiting for the engine,
 * X-Pagedvk-Running: requests in its batch); then it is queued and its
 * status counted. Calls only libmicrohttpd and the metrics, so both callers can use it.
 */
#include <stdio.h>
#include <string.h>

#include "server_internal.h"

const char *srv_cors_origin(pagedvk_server *s, struct MHD_Connection *c) {
  if (!s->cors) return NULL;
  const char *o = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
  if (!o || !*o) return NULL;
  if (s->cors_any) return o;
  for (size_t i = 0; i < s->n_cors; i++)
    if (!strcmp(s->cors[i], o)) return o;
  return NULL;
}

enum MHD_Result srv_queue(pagedvk_server *s, struct MHD_Connection *c, unsigned status, struct MHD_Response *r) {
  const char *origin = srv_cors_origin(s, c);
  if (origin) {
    MHD_add_response_header(r, "Access-Control-Allow-Origin", s->cors_any ? "*" : origin);
    if (!s->cors_any) MHD_add_response_header(r, "Vary", "Origin");
    MHD_add_response_header(r, "Access-Control-Expose-Headers", "Retry-After, X-Pagedvk-Queue-Depth, X-Pagedvk-Running");
  }
  if (status == MHD_HTTP_SERVICE_UNAVAILABLE) MHD_add_response_header(r, "Retry-After", "1");
  bool ready;
  srv_phase ph = srv_phase_ready(s, &ready);
  /* Draining: no connection is kept for a next request, so a router's keep-alive pool lets go. */
  if (ph == SRV_DRAINING) MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
  if (ready) { /* the load a router may balance on */
    pagedvk_stats st;
    pagedvk_engine_stats(s->engine, &st);
    char v[16];
    snprintf(v, sizeof v, "%u", st.requests_waiting + st.requests_swapped);
    MHD_add_response_header(r, "X-Pagedvk-Queue-Depth", v);
    snprintf(v, sizeof v, "%u", st.requests_running);
    MHD_add_response_header(r, "X-Pagedvk-Running", v);
  }
  enum MHD_Result ok = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  srv_metrics_http(&s->metrics, status);
  return ok;
}
