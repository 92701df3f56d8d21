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

/* Copies one element. The common sizes get a constant-size memcpy, which the compiler turns into
 * a few moves instead of a call into the C library (the encoders' heaps copy one per level). */
static inline void copy_elem(const pv_heap *h, void *dst, const void *src) {
  switch (h->elem) {
    case 8: memcpy(dst, src, 8); break;
    case 16: memcpy(dst, src, 16); break;
    case 24: memcpy(dst, src, 24); break;
    case 32: memcpy(dst, src, 32); break;
    default: memcpy(dst, src, h->elem); break;
  }
}

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
    copy_elem(h, AT(h, i), AT(h, parent));
    i = parent;
  }
  copy_elem(h, AT(h, i), e);
  return PAGEDVK_OK;
}

bool pv_heap_pop(pv_heap *h, void *out) {
  if (h->n == 0) return false;
  copy_elem(h, out, AT(h, 0));
  if (--h->n == 0) return true;
  unsigned char last[PV_HEAP_MAX_ELEM];
  copy_elem(h, last, AT(h, h->n));
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= h->n) break;
    if (child + 1 < h->n && h->before(AT(h, child + 1), AT(h, child))) child++;
    if (!h->before(AT(h, child), last)) break;
    copy_elem(h, AT(h, i), AT(h, child));
    i = child;
  }
  copy_elem(h, AT(h, i), last);
  return true;
}

void pv_heap_free(pv_heap *h) {
  free(h->v);
  h->v = NULL;
  h->n = h->cap = 0;
}
