/*
 * hmap.c — open addressing with linear probing (hmap.h).
 */
#include <stdlib.h>
#include <xxhash.h>

#include "base/base.h"
#include "base/hmap.h"

uint64_t pv_hash_u64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

uint64_t pv_hash_bytes(const void *p, size_t n) { return XXH3_64bits(p, n); }

static size_t home(const pv_hmap *m, uint64_t key) { return (size_t)pv_hash_u64(key) & (m->cap - 1); }

static void clear_slots(pv_hmap_slot *s, size_t cap) {
  for (size_t i = 0; i < cap; i++) s[i] = (pv_hmap_slot){0, PV_HMAP_EMPTY};
}

/* Moves every entry into a table of `cap` slots (a power of two above 2n). */
static int rehash(pv_hmap *m, size_t cap) {
  pv_hmap_slot *s = malloc(cap * sizeof *s);
  if (!s) return PAGEDVK_ERR_NO_MEMORY;
  clear_slots(s, cap);
  pv_hmap_slot *old = m->slots;
  size_t old_cap = m->cap;
  m->slots = s;
  m->cap = cap;
  for (size_t i = 0; i < old_cap; i++) {
    if (old[i].val == PV_HMAP_EMPTY) continue;
    size_t j = home(m, old[i].key);
    while (s[j].val != PV_HMAP_EMPTY) j = (j + 1) & (cap - 1);
    s[j] = old[i];
  }
  free(old);
  return PAGEDVK_OK;
}

/* Room for one more entry at load <= 1/2. */
static int reserve_one(pv_hmap *m) {
  if (m->cap && (m->n + 1) * 2 <= m->cap) return PAGEDVK_OK;
  size_t cap = m->cap ? m->cap : 16;
  while ((m->n + 1) * 2 > cap) {
    if (cap > SIZE_MAX / 2 / sizeof(pv_hmap_slot)) return PAGEDVK_ERR_NO_MEMORY;
    cap *= 2;
  }
  return rehash(m, cap);
}

int pv_hmap_init(pv_hmap *m, size_t expected) {
  m->slots = NULL;
  m->cap = m->n = 0;
  if (!expected) return PAGEDVK_OK;
  size_t cap = 16;
  while (cap < expected * 2) {
    if (cap > SIZE_MAX / 2 / sizeof(pv_hmap_slot)) return PAGEDVK_ERR_NO_MEMORY;
    cap *= 2;
  }
  return rehash(m, cap);
}

void pv_hmap_free(pv_hmap *m) {
  free(m->slots);
  m->slots = NULL;
  m->cap = m->n = 0;
}

void pv_hmap_clear(pv_hmap *m) {
  if (m->slots) clear_slots(m->slots, m->cap);
  m->n = 0;
}

/* The slot holding integer key `key`, or the free slot where it would go; NULL for an empty table. */
static pv_hmap_slot *probe(const pv_hmap *m, uint64_t key) {
  if (!m->cap) return NULL;
  size_t i = home(m, key);
  while (m->slots[i].val != PV_HMAP_EMPTY && m->slots[i].key != key) i = (i + 1) & (m->cap - 1);
  return &m->slots[i];
}

bool pv_hmap_get(const pv_hmap *m, uint64_t key, uint64_t *val) {
  const uint64_t *v = pv_hmap_ref(m, key);
  if (!v) return false;
  if (val) *val = *v;
  return true;
}

uint64_t *pv_hmap_ref(const pv_hmap *m, uint64_t key) {
  pv_hmap_slot *s = probe(m, key);
  return s && s->val != PV_HMAP_EMPTY ? &s->val : NULL;
}

int pv_hmap_put(pv_hmap *m, uint64_t key, uint64_t val) {
  if (val == PV_HMAP_EMPTY) return PAGEDVK_ERR_INVALID;
  pv_hmap_slot *s = probe(m, key);
  if (s && s->val != PV_HMAP_EMPTY) {
    s->val = val;
    return PAGEDVK_OK;
  }
  int rc = reserve_one(m);
  if (rc) return rc;
  s = probe(m, key);
  *s = (pv_hmap_slot){key, val};
  m->n++;
  return PAGEDVK_OK;
}

bool pv_hmap_find(const pv_hmap *m, uint64_t hash, pv_hmap_same same, const void *key, void *user, uint64_t *val) {
  if (!m->cap) return false;
  for (size_t i = home(m, hash); m->slots[i].val != PV_HMAP_EMPTY; i = (i + 1) & (m->cap - 1)) {
    if (m->slots[i].key == hash && same(m->slots[i].val, key, user)) {
      if (val) *val = m->slots[i].val;
      return true;
    }
  }
  return false;
}

int pv_hmap_add(pv_hmap *m, uint64_t hash, uint64_t val) {
  if (val == PV_HMAP_EMPTY) return PAGEDVK_ERR_INVALID;
  int rc = reserve_one(m);
  if (rc) return rc;
  size_t i = home(m, hash);
  while (m->slots[i].val != PV_HMAP_EMPTY) i = (i + 1) & (m->cap - 1);
  m->slots[i] = (pv_hmap_slot){hash, val};
  m->n++;
  return PAGEDVK_OK;
}
