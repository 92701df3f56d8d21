/*
 * heap.c — binary min-heap by value (heap.h): set-up, growth, and push/pop through the heap's own
 * comparison (the bodies are heap.h's pv_heap_push_with / pv_heap_pop_with).
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/grow.h"
#include "base/heap.h"

bool pv_heap_init(pv_heap *h, size_t elem, pv_heap_before before) {
  memset(h, 0, sizeof *h);
  if (!elem || elem > PV_HEAP_MAX_ELEM || !before) return false;
  h->elem = elem;
  h->before = before;
  return true;
}

int pv_heap_reserve_one(pv_heap *h) {
  return pv_grow((void **)&h->v, &h->cap, h->n + 1, h->elem, 64) ? PAGEDVK_ERR_NO_MEMORY : PAGEDVK_OK;
}

/* The usual element sizes are passed as constants, so their copies are a few moves too. */
#define BY_SIZE(call, h, ...)                                                                      \
  switch ((h)->elem) {                                                                             \
    case 8: return call(h, __VA_ARGS__, 8, (h)->before);                                           \
    case 16: return call(h, __VA_ARGS__, 16, (h)->before);                                         \
    case 24: return call(h, __VA_ARGS__, 24, (h)->before);                                         \
    case 32: return call(h, __VA_ARGS__, 32, (h)->before);                                         \
    default: return call(h, __VA_ARGS__, (h)->elem, (h)->before);                                  \
  }

int pv_heap_push(pv_heap *h, const void *e) { BY_SIZE(pv_heap_push_with, h, e) }

bool pv_heap_pop(pv_heap *h, void *out) { BY_SIZE(pv_heap_pop_with, h, out) }

void pv_heap_free(pv_heap *h) {
  free(h->v);
  h->v = NULL;
  h->n = h->cap = 0;
}
