/*
 * heap.c — binary min-heap by value (heap.h). Sifting moves a hole instead of swapping, so each
 * level costs one copy of an element.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/grow.h"
#include "base/heap.h"

#define AT(h, i) ((h)->v + (i) * (h)->elem)

bool pv_heap_init(pv_heap *h, size_t elem, pv_heap_before before) {
  memset(h, 0, sizeof *h);
  if (!elem || elem > PV_HEAP_MAX_ELEM || !before) return false;
  h->elem = elem;
  h->before = before;
  return true;
}

int pv_heap_push(pv_heap *h, const void *e) {
  if (pv_grow((void **)&h->v, &h->cap, h->n + 1, h->elem, 64)) return PAGEDVK_ERR_NO_MEMORY;
  size_t i = h->n++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!h->before(e, AT(h, parent))) break;
    memcpy(AT(h, i), AT(h, parent), h->elem);
    i = parent;
  }
  memcpy(AT(h, i), e, h->elem);
  return PAGEDVK_OK;
}

bool pv_heap_pop(pv_heap *h, void *out) {
  if (h->n == 0) return false;
  memcpy(out, AT(h, 0), h->elem);
  if (--h->n == 0) return true;
  unsigned char last[PV_HEAP_MAX_ELEM];
  memcpy(last, AT(h, h->n), h->elem);
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= h->n) break;
    if (child + 1 < h->n && h->before(AT(h, child + 1), AT(h, child))) child++;
    if (!h->before(AT(h, child), last)) break;
    memcpy(AT(h, i), AT(h, child), h->elem);
    i = child;
  }
  memcpy(AT(h, i), last, h->elem);
  return true;
}

void pv_heap_free(pv_heap *h) {
  free(h->v);
  h->v = NULL;
  h->n = h->cap = 0;
}
