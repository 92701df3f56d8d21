/*
 * block_pool.h — the physical KV blocks of one device pool: ids 0..n_blocks-1, a reference count
 * per block, the number of token slots filled in it, and the free list.
 *
 * The free list is intrusive (prev/next indices inside each block record) and doubly linked, so
 * taking the head, pushing at either end and unlinking any block are O(1). Its order is also the
 * prefix-cache eviction order: allocation takes the head; blocks that hold nothing worth keeping
 * are pushed at the head (reused first), blocks that still hold a cached full block are pushed at
 * the tail (reused last, least recently freed first → LRU). A cache hit on a free block unlinks it.
 *
 * Invariants (checked by pv_kv_check_invariants):
 *   - a block is in the free list  <=>  its refcount is 0;
 *   - n_free equals the length of the list, walked from head or from tail;
 *   - fill <= block_size.
 * The pool knows nothing about sequences or hashes: kv_manager.c decides head or tail.
 */
#ifndef PV_KV_BLOCK_POOL_H
#define PV_KV_BLOCK_POOL_H

#include "base/base.h"

#define PV_KV_NONE UINT32_MAX /* "no block / no slot / no sequence" */

typedef struct pv_block {
  uint32_t ref;  /* number of block-table entries that name this block */
  uint32_t fill; /* token slots reserved in it (same for every table that shares it) */
  uint32_t prev; /* free-list links, PV_KV_NONE at the ends; meaningful only while free */
  uint32_t next;
  bool free;     /* in the free list */
} pv_block;

typedef struct pv_block_pool {
  uint32_t n_blocks;
  uint32_t block_size;
  pv_block *blocks;
  uint32_t head, tail; /* free list ends, PV_KV_NONE when empty */
  uint32_t n_free;
} pv_block_pool;

/* block_size must be 8, 16, 32 or 64; n_blocks >= 1. All blocks start free, in id order. */
int pv_block_pool_create(pv_block_pool *pool, uint32_t n_blocks, uint32_t block_size, pv_error *err);
void pv_block_pool_destroy(pv_block_pool *pool);

bool pv_block_size_valid(uint32_t block_size);

/* Removes and returns the head of the free list (PV_KV_NONE when empty). Refcount stays 0. */
uint32_t pv_block_pool_pop_head(pv_block_pool *pool);
/* Unlinks a free block from wherever it is in the list. */
void pv_block_pool_unlink(pv_block_pool *pool, uint32_t id);
/* Puts a block with refcount 0 back: at the head (reuse first) or the tail (reuse last). */
void pv_block_pool_push_head(pv_block_pool *pool, uint32_t id);
void pv_block_pool_push_tail(pv_block_pool *pool, uint32_t id);

#endif /* PV_KV_BLOCK_POOL_H */
