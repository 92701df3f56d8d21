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

#endif /* PV_HEAP_H */
