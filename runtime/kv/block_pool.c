/*
 * block_pool.c — free list and per-block records of the KV block pool (see block_pool.h for the
 * invariants; the list operations assert "in the free list <=> refcount 0" in debug builds). Every
 * operation here is O(1) except create.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "kv/block_pool.h"

bool pv_block_size_valid(uint32_t block_size) {
  return block_size == 8 || block_size == 16 || block_size == 32 || block_size == 64;
}

int pv_block_pool_create(pv_block_pool *pool, uint32_t n_blocks, uint32_t block_size, pv_error *err) {
  memset(pool, 0, sizeof *pool);
  if (!pv_block_size_valid(block_size))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: block size %u (must be 8, 16, 32 or 64)", block_size);
  if (n_blocks == 0 || n_blocks == PV_KV_NONE)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: %u blocks (need 1 .. %u)", n_blocks, PV_KV_NONE - 1);
  pool->blocks = pv_calloc(n_blocks, sizeof *pool->blocks);
  if (!pool->blocks) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "kv: cannot allocate %u block records", n_blocks);
  pool->n_blocks = n_blocks;
  pool->block_size = block_size;
  pool->head = pool->tail = PV_KV_NONE;
  for (uint32_t i = 0; i < n_blocks; i++) pv_block_pool_push_tail(pool, i);
  return PAGEDVK_OK;
}

void pv_block_pool_destroy(pv_block_pool *pool) {
  free(pool->blocks);
  memset(pool, 0, sizeof *pool);
}

void pv_block_pool_unlink(pv_block_pool *pool, uint32_t id) {
  pv_block *b = &pool->blocks[id];
  assert(b->free && b->ref == 0 && pool->n_free > 0);
  if (b->prev != PV_KV_NONE) pool->blocks[b->prev].next = b->next;
  else pool->head = b->next;
  if (b->next != PV_KV_NONE) pool->blocks[b->next].prev = b->prev;
  else pool->tail = b->prev;
  b->prev = b->next = PV_KV_NONE;
  b->free = false;
  pool->n_free--;
}

uint32_t pv_block_pool_pop_head(pv_block_pool *pool) {
  uint32_t id = pool->head;
  if (id != PV_KV_NONE) pv_block_pool_unlink(pool, id);
  return id;
}

void pv_block_pool_push_head(pv_block_pool *pool, uint32_t id) {
  pv_block *b = &pool->blocks[id];
  assert(!b->free && b->ref == 0);
  b->prev = PV_KV_NONE;
  b->next = pool->head;
  if (pool->head != PV_KV_NONE) pool->blocks[pool->head].prev = id;
  else pool->tail = id;
  pool->head = id;
  b->free = true;
  pool->n_free++;
}

void pv_block_pool_push_tail(pv_block_pool *pool, uint32_t id) {
  pv_block *b = &pool->blocks[id];
  assert(!b->free && b->ref == 0);
  b->next = PV_KV_NONE;
  b->prev = pool->tail;
  if (pool->tail != PV_KV_NONE) pool->blocks[pool->tail].next = id;
  else pool->head = id;
  pool->tail = id;
  b->free = true;
  pool->n_free++;
}
