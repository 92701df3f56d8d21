/*
 * registry.c — the requests the engine still holds (a doubly linked list through srv_gen), the
 * `stopping` flag, the count of requests whose response is not fully written (and since when it
 * is 0, for the watch thread's malloc_trim) and the count of generation requests in progress
 * (max_pending_requests), all under s->lock. gen.c, http.c and server.c share this state here; it calls nothing in the server, so
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
