/*
 * grow.c — pv_grow: doubling growth with overflow checks (grow.h).
 */
#include <stdlib.h>

#include "base/base.h"
#include "base/grow.h"

/* The capacity to grow to, 0 when it cannot be expressed (overflow of count or bytes). */
static size_t next_cap(size_t cap, size_t need, size_t elem, size_t min_cap, size_t max_count) {
  size_t c = cap ? cap : (min_cap ? min_cap : 1);
  while (c < need) {
    if (c > max_count / 2) {
      c = need;
      break;
    }
    c *= 2;
  }
  if (c > max_count) c = need <= max_count ? max_count : 0;
  size_t bytes;
  if (!c || __builtin_mul_overflow(c, elem, &bytes)) return 0;
  return c;
}

static int grow_to(void **items, size_t cap, size_t need, size_t elem, size_t min_cap, size_t max_count,
                   size_t *new_cap) {
  *new_cap = cap;
  if (need <= cap) return PAGEDVK_OK;
  size_t c = next_cap(cap, need, elem, min_cap, max_count);
  if (!c) return PAGEDVK_ERR_NO_MEMORY;
  void *p = realloc(*items, c * elem);
  if (!p) return PAGEDVK_ERR_NO_MEMORY;
  *items = p;
  *new_cap = c;
  return PAGEDVK_OK;
}

int pv_grow(void **items, size_t *cap, size_t need, size_t elem, size_t min_cap) {
  size_t c;
  int rc = grow_to(items, *cap, need, elem, min_cap, SIZE_MAX / (elem ? elem : 1), &c);
  if (!rc) *cap = c;
  return rc;
}

int pv_grow_u32(void **items, uint32_t *cap, size_t need, size_t elem, size_t min_cap) {
  size_t c;
  int rc = grow_to(items, *cap, need, elem, min_cap, UINT32_MAX, &c);
  if (!rc) *cap = (uint32_t)c;
  return rc;
}
