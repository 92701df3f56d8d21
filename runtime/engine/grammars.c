/*
 * grammars.c — the engine's compiled grammars, shared by the requests that bring the same one
 * (same kind, same text): a server sends one schema many times, and every request then finds
 * the masks the others already made (a grammar's mask cache and stack frames belong to the
 * grammar, runtime/sample/grammar).
 *
 * The list is guarded by the engine's lock; a grammar is compiled outside it, on the caller's
 * thread. Only the step thread touches a grammar after that (states, masks), so a grammar shared
 * with a running request is never used by add_request: the first sequence's state is made at
 * its first step (step.c). Entries with no request left are kept, the most recently used first,
 * up to PV_ENGINE_KEEP_GRAMMARS of them.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"

#define PV_ENGINE_KEEP_GRAMMARS 8

static pv_grammar_ref *find(pagedvk_engine *e, int kind, const char *text, size_t len) {
  for (pv_grammar_ref *g = e->grammars; g; g = g->next)
    if (g->kind == kind && g->len == len && (!len || !memcmp(g->text, text, len))) return g;
  return NULL;
}

static void ref_free(pv_grammar_ref *g) {
  pv_grammar_destroy(g->g);
  free(g->text);
  free(g);
}

/* Drops the least recently used entries without requests beyond the ones kept (under the lock). */
static void trim(pagedvk_engine *e) {
  for (;;) {
    uint32_t idle = 0;
    pv_grammar_ref **oldest = NULL;
    for (pv_grammar_ref **p = &e->grammars; *p; p = &(*p)->next)
      if (!(*p)->refs) {
        idle++;
        if (!oldest || (*p)->last_use < (*oldest)->last_use) oldest = p;
      }
    if (idle <= PV_ENGINE_KEEP_GRAMMARS) return;
    pv_grammar_ref *g = *oldest;
    *oldest = g->next;
    ref_free(g);
  }
}

int pv_engine_grammar_get(pagedvk_engine *e, int kind, const char *text, size_t len, pv_grammar_ref **out,
                          pv_error *err) {
  if (!text) len = 0;
  pthread_mutex_lock(&e->lock);
  pv_grammar_ref *g = find(e, kind, text, len);
  if (g) {
    g->refs++;
    g->last_use = ++e->grammar_clock;
  }
  pthread_mutex_unlock(&e->lock);
  if (g) {
    *out = g;
    return PAGEDVK_OK;
  }
  pv_grammar_ref *n = calloc(1, sizeof *n);
  int rc = n ? PAGEDVK_OK : pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "out of memory");
  if (!rc && len && !(n->text = malloc(len))) rc = pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "out of memory");
  if (!rc) rc = pv_grammar_compile(&n->g, kind, text, len, err);
  if (rc) {
    if (n) ref_free(n);
    return rc;
  }
  if (len) memcpy(n->text, text, len);
  n->kind = kind;
  n->len = len;
  pthread_mutex_lock(&e->lock);
  g = find(e, kind, text, len); /* another thread may have compiled the same one meanwhile */
  if (!g) {
    g = n;
    g->next = e->grammars;
    e->grammars = g;
    n = NULL;
  }
  g->refs++;
  g->last_use = ++e->grammar_clock;
  pthread_mutex_unlock(&e->lock);
  if (n) ref_free(n);
  *out = g;
  return PAGEDVK_OK;
}

void pv_engine_grammar_put(pagedvk_engine *e, pv_grammar_ref *g) {
  if (!g) return;
  pthread_mutex_lock(&e->lock);
  g->refs--;
  trim(e);
  pthread_mutex_unlock(&e->lock);
}

void pv_engine_grammars_free(pagedvk_engine *e) {
  while (e->grammars) {
    pv_grammar_ref *g = e->grammars;
    e->grammars = g->next;
    ref_free(g);
  }
}
