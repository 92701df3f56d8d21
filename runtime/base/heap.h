/*
 * heap.h — the one binary min-heap: elements of a fixed size held by value, ordered by a
 * caller's `before` (the element that must come out first is "before" the others). Used by the
 * SPM and BPE encoders for their merge queues.
 *
 * Invariants: for every i > 0, !before(v[i], v[(i-1)/2]); n <= cap; elements up to
 * PV_HEAP_MAX_ELEM bytes (checked at init). Ties come out in an unspecified order, so a caller
 * that needs a total order breaks ties inside `before`.
 */
#ifndef PV_HEAP_H
#define PV_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "base/base.h"

#define PV_HEAP_MAX_ELEM 64

typedef bool (*pv_heap_before)(const void *a, const void *b);

typedef struct pv_heap {
  unsigned char *v;
  size_t n, cap, elem;
  pv_heap_before before;
} pv_heap;

/* An empty heap (no allocation yet). False when elem is 0 or above PV_HEAP_MAX_ELEM. */
bool pv_heap_init(pv_heap *h, size_t elem, pv_heap_before before);
/* Adds a copy of *e: PAGEDVK_OK or PAGEDVK_ERR_NO_MEMORY (the heap unchanged). */
int pv_heap_push(pv_heap *h, const void *e);
/* Moves the first element into *out; false when the heap is empty. */
bool pv_heap_pop(pv_heap *h, void *out);
static inline size_t pv_heap_size(const pv_heap *h) { return h->n; }
/* Empties the heap, keeping its memory. */
static inline void pv_heap_clear(pv_heap *h) { h->n = 0; }
void pv_heap_free(pv_heap *h);

/* ---- The bodies of push and pop, for hot loops -------------------------------------------------
 * pv_heap_push_with / pv_heap_pop_with are pv_heap_push / pv_heap_pop with the element size and
 * the comparison named at the call site (they must be the heap's own `elem` and `before`), so the
 * compiler can inline the comparison and turn the copies into a few moves; the tokenizers' merge
 * queues use them. Sifting moves a hole instead of swapping: one element copy per level. */

int pv_heap_reserve_one(pv_heap *h); /* room for one more element (heap.c) */

#define PV_HEAP_AT(h, i, elem) ((h)->v + (i) * (elem))

static inline int pv_heap_push_with(pv_heap *h, const void *e, size_t elem, pv_heap_before before) {
  if (h->n == h->cap && pv_heap_reserve_one(h)) return PAGEDVK_ERR_NO_MEMORY;
  size_t i = h->n++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(e, PV_HEAP_AT(h, parent, elem))) break;
    memcpy(PV_HEAP_AT(h, i, elem), PV_HEAP_AT(h, parent, elem), elem);
    i = parent;
  }
  memcpy(PV_HEAP_AT(h, i, elem), e, elem);
  return PAGEDVK_OK;
}

static inline bool pv_heap_pop_with(pv_heap *h, void *out, size_t elem, pv_heap_before before) {
  if (h->n == 0) return false;
  memcpy(out, PV_HEAP_AT(h, 0, elem), elem);
  if (--h->n == 0) return true;
  unsigned char last[PV_HEAP_MAX_ELEM];
  memcpy(last, PV_HEAP_AT(h, h->n, elem), elem);
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= h->n) break;
    if (child + 1 < h->n && before(PV_HEAP_AT(h, child + 1, elem), PV_HEAP_AT(h, child, elem))) child++;
    if (!before(PV_HEAP_AT(h, child, elem), last)) break;
    memcpy(PV_HEAP_AT(h, i, elem), PV_HEAP_AT(h, child, elem), elem);
    i = child;
  }
  memcpy(PV_HEAP_AT(h, i, elem), last, elem);
  return true;
}

#endif /* PV_HEAP_H */
