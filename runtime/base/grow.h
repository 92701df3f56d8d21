/*
 * grow.h — the one growth helper for dynamic arrays: capacity doubles (from a floor) until it holds
 * what is needed, with overflow checks on the element count and the byte size.
 *
 * Invariant: on success *cap >= need and *items holds at least *cap elements (old contents kept);
 * on failure nothing changes (the old array stays valid and owned by the caller).
 */
#ifndef PV_GROW_H
#define PV_GROW_H

#include <stddef.h>
#include <stdint.h>

/* Makes room for `need` elements of `elem` bytes: PAGEDVK_OK, or PAGEDVK_ERR_NO_MEMORY (also on overflow). */
int pv_grow(void **items, size_t *cap, size_t need, size_t elem, size_t min_cap);
/* The same for arrays whose capacity is a uint32_t (at most UINT32_MAX elements). */
int pv_grow_u32(void **items, uint32_t *cap, size_t need, size_t elem, size_t min_cap);

/* PV_GROW(arr, cap, need): room for `need` elements of *arr, capacity at least 16 when it grows. */
#define PV_GROW(arr, cap, need) pv_grow((void **)&(arr), &(cap), (need), sizeof *(arr), 16)
#define PV_GROW_U32(arr, cap, need) pv_grow_u32((void **)&(arr), &(cap), (need), sizeof *(arr), 16)

#endif /* PV_GROW_H */
