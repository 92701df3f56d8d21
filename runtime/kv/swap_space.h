/*
 * swap_space.h — the host swap space: a bounded number of host slots, each big enough for one KV
 * block, with a reference count per slot (a GPU block shared by several swapped sequences is
 * stored once and referenced by each of their host tables) and a stack of free slots.
 *
 * Invariants: a slot is on the free stack exactly once <=> its refcount is 0; n_free is the stack
 * height. The host memory itself belongs to the engine; this only accounts for it.
 */
#ifndef PV_KV_SWAP_SPACE_H
#define PV_KV_SWAP_SPACE_H

#include "base/base.h"

typedef struct pv_swap_space {
  uint32_t n_slots;
  uint32_t *ref;        /* per slot */
  uint32_t *free_stack; /* free slot ids, n_free of them */
  uint32_t n_free;
} pv_swap_space;

/* n_slots may be 0 (no swapping: every swap-out reports the swap space full). */
int pv_swap_space_create(pv_swap_space *sw, uint32_t n_slots, pv_error *err);
void pv_swap_space_destroy(pv_swap_space *sw);

/* A free slot with refcount 1; the caller checks n_free first. */
uint32_t pv_swap_space_take(pv_swap_space *sw);
/* Drops one reference; the slot is free again at 0. */
void pv_swap_space_release(pv_swap_space *sw, uint32_t slot);

#endif /* PV_KV_SWAP_SPACE_H */
