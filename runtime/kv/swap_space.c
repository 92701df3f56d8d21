/* swap_space.c — host swap slot accounting (see swap_space.h). O(1) take and release. */
#include <stdlib.h>
#include <string.h>

#include "kv/swap_space.h"

int pv_swap_space_create(pv_swap_space *sw, uint32_t n_slots, pv_error *err) {
  memset(sw, 0, sizeof *sw);
  sw->ref = pv_calloc(n_slots, sizeof *sw->ref);
  sw->free_stack = pv_calloc(n_slots, sizeof *sw->free_stack);
  if (!sw->ref || !sw->free_stack) {
    pv_swap_space_destroy(sw);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "kv: cannot allocate %u swap slots", n_slots);
  }
  sw->n_slots = n_slots;
  /* Lowest slot ids on top, so a fresh space hands out 0, 1, 2, ... */
  for (uint32_t i = 0; i < n_slots; i++) sw->free_stack[i] = n_slots - 1 - i;
  sw->n_free = n_slots;
  return PAGEDVK_OK;
}

void pv_swap_space_destroy(pv_swap_space *sw) {
  free(sw->free_stack);
  free(sw->ref);
  memset(sw, 0, sizeof *sw);
}

uint32_t pv_swap_space_take(pv_swap_space *sw) {
  uint32_t slot = sw->free_stack[--sw->n_free];
  sw->ref[slot] = 1;
  return slot;
}

void pv_swap_space_release(pv_swap_space *sw, uint32_t slot) {
  if (--sw->ref[slot] == 0) sw->free_stack[sw->n_free++] = slot;
}
