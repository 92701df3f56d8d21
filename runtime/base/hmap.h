/*
 * hmap.h — the one open-addressing hash map of the runtime: 64-bit stored keys and 64-bit values,
 * linear probing, power-of-two capacity, load factor at most 1/2, no deletion (maps here are built,
 * read, and cleared or freed whole).
 *
 * Two ways to use it:
 *  - integer keys (token ids, packed pairs, pipeline keys): pv_hmap_get/put/ref; the stored key is
 *    the key itself;
 *  - keys that live elsewhere (strings in a vocabulary, names in a file): the caller stores the
 *    key's hash (pv_hash_bytes) as the stored key and an index as the value, looks up with
 *    pv_hmap_find and a `same` callback that compares the real key, and adds with pv_hmap_add.
 * A slot's index is pv_hash_u64(stored key) & (cap - 1), so clustered integer keys spread.
 *
 * Invariants: n < cap / 2 + 1 (grown before an insert would pass it); a value is never
 * PV_HMAP_EMPTY (that marks a free slot; put/add refuse it); every stored (key, value) is reachable
 * from its home slot without crossing a free slot.
 */
#ifndef PV_HMAP_H
#define PV_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PV_HMAP_EMPTY UINT64_MAX

typedef struct pv_hmap_slot {
  uint64_t key;
  uint64_t val; /* PV_HMAP_EMPTY: free */
} pv_hmap_slot;

typedef struct pv_hmap {
  pv_hmap_slot *slots;
  size_t cap; /* power of two, or 0 before the first insert */
  size_t n;
} pv_hmap;

/* 64-bit mixer (a bijection) and byte-string hash. */
uint64_t pv_hash_u64(uint64_t x);
uint64_t pv_hash_bytes(const void *p, size_t n);

/* An empty map with room for `expected` entries before it grows (0: allocate on first insert).
 * PAGEDVK_OK or PAGEDVK_ERR_NO_MEMORY. */
int pv_hmap_init(pv_hmap *m, size_t expected);
void pv_hmap_free(pv_hmap *m);
/* Removes every entry, keeping the memory. */
void pv_hmap_clear(pv_hmap *m);

/* Integer keys. get: false when absent. put: inserts or replaces. ref: the value's slot to update
 * in place, NULL when absent (valid until the next insert). */
bool pv_hmap_get(const pv_hmap *m, uint64_t key, uint64_t *val);
int pv_hmap_put(pv_hmap *m, uint64_t key, uint64_t val);
uint64_t *pv_hmap_ref(const pv_hmap *m, uint64_t key);

/* Keys stored elsewhere: `same(val, key, user)` says whether the entry with value `val` is `key`. */
typedef bool (*pv_hmap_same)(uint64_t val, const void *key, void *user);
bool pv_hmap_find(const pv_hmap *m, uint64_t hash, pv_hmap_same same, const void *key, void *user, uint64_t *val);
/* Adds (hash, val) without looking for an equal key (callers find first when keys must be unique). */
int pv_hmap_add(pv_hmap *m, uint64_t hash, uint64_t val);

#endif /* PV_HMAP_H */
