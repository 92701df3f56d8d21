/*
 * registry.c — the requests the engine still holds (a doubly linked list through srv_gen), the
 * `ready`, `draining` and `stopping` flags, the count of requests whose response is not fully written (and since when it
 * is 0, for the watch thread's malloc_trim) and the count of generation requests in progress
 * (max_pending_requests), all under s->lock; and which connection this thread serves, for the
 * write timeout's touch (srv_http_touch). gen.c, http.c and server.c share this state here; it calls nothing in the server, so
 * the files that use it do not depend on each other through it.
 *
 * Invariant: g->in_registry ⇔ g is on the list from s->registry.
 */
#include "server_internal.h"

void srv_registry_add_locked(pagedvk_server *s, srv_gen *g) {
  g->reg_prev = NULL;
  g->reg_next = s->registry;
  if (s->registry) s->registry->reg_prev = g;
  s->registry = g;
  g->in_registry = true;
}

void srv_registry_remove_locked(pagedvk_server *s, srv_gen *g) {
  if (!g->in_registry) return;
  if (g->reg_prev) g->reg_prev->reg_next = g->reg_next;
  else s->registry = g->reg_next;
  if (g->reg_next) g->reg_next->reg_prev = g->reg_prev;
  g->reg_prev = g->reg_next = NULL;
  g->in_registry = false;
}

void srv_registry_remove(pagedvk_server *s, srv_gen *g) {
  pthread_mutex_lock(&s->lock);
  srv_registry_remove_locked(s, g);
  pthread_mutex_unlock(&s->lock);
}

bool srv_is_stopping(pagedvk_server *s) {
  pthread_mutex_lock(&s->lock);
  bool v = s->stopping;
  pthread_mutex_unlock(&s->lock);
  return v;
}

srv_phase srv_phase_of(pagedvk_server *s) { return srv_phase_ready(s, NULL); }

srv_phase srv_phase_ready(pagedvk_server *s, bool *ready) {
  pthread_mutex_lock(&s->lock);
  srv_phase ph = s->draining || s->stopping ? SRV_DRAINING : s->ready ? SRV_READY : SRV_LOADING;
  if (ready) *ready = s->ready;
  pthread_mutex_unlock(&s->lock);
  return ph;
}

void srv_requests_busy_add(pagedvk_server *s, int delta) {
  pthread_mutex_lock(&s->lock);
  s->requests_busy = (unsigned)((int)s->requests_busy + delta);
  if (delta > 0) s->trim_due = true;
  if (delta < 0) pthread_cond_broadcast(&s->idle);
  if (s->requests_busy == 0) s->idle_since = pagedvk_now_seconds();
  pthread_mutex_unlock(&s->lock);
}

bool srv_pending_take(pagedvk_server *s) {
  pthread_mutex_lock(&s->lock);
  bool ok = s->pending < s->max_pending;
  if (ok) s->pending++;
  pthread_mutex_unlock(&s->lock);
  return ok;
}

void srv_pending_give(pagedvk_server *s) {
  pthread_mutex_lock(&s->lock);
  s->pending--;
  pthread_mutex_unlock(&s->lock);
}

/* The connection this thread serves (thread per connection): set by http.c before a generation
 * request is handled, touched by gen.c while it waits. */
static _Thread_local struct MHD_Connection *tl_conn;
static _Thread_local unsigned tl_write_timeout;

void srv_touch_bind(struct MHD_Connection *c, unsigned write_timeout_s) {
  tl_conn = c;
  tl_write_timeout = write_timeout_s;
}

void srv_touch_unbind(struct MHD_Connection *c) {
  if (tl_conn == c) tl_conn = NULL;
}

/* Setting a connection's timeout from 0 restarts its clock (MHD_set_connection_option): waiting
 * for the engine is not the client's idleness. */
void srv_http_touch(void) {
  if (!tl_conn) return;
  MHD_set_connection_option(tl_conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
  MHD_set_connection_option(tl_conn, MHD_CONNECTION_OPTION_TIMEOUT, tl_write_timeout);
}
