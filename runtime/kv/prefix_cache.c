/*
 * prefix_cache.c — chained hash map (bucket heads + per-block next links, no allocation after
 * create) from block key to cached block, and the verification of a hit (see prefix_cache.h).
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "kv/block_pool.h"
#include "kv/prefix_cache.h"

uint64_t pv_kv_hash_xxh3(uint64_t parent_key, const int32_t *tokens, uint32_t n_tokens, void *user) {
  (void)user;
  return XXH3_64bits_withSeed(tokens, (size_t)n_tokens * sizeof *tokens, parent_key);
}

int pv_prefix_cache_create(pv_prefix_cache *pc, uint32_t n_blocks, uint32_t block_size, pv_kv_hash_fn hash,
                           void *hash_user, pv_error *err) {
  memset(pc, 0, sizeof *pc);
  pc->n_blocks = n_blocks;
  pc->block_size = block_size;
  pc->hash = hash ? hash : pv_kv_hash_xxh3;
  pc->hash_user = hash_user;
  pc->n_buckets = 1;
  while (pc->n_buckets < n_blocks) pc->n_buckets *= 2;
  pc->key = pv_calloc(n_blocks, sizeof *pc->key);
  pc->parent = pv_calloc(n_blocks, sizeof *pc->parent);
  pc->parent_gen = pv_calloc(n_blocks, sizeof *pc->parent_gen);
  pc->gen = pv_calloc(n_blocks, sizeof *pc->gen);
  pc->hnext = pv_calloc(n_blocks, sizeof *pc->hnext);
  pc->cached = pv_calloc(n_blocks, sizeof *pc->cached);
  pc->tokens = pv_calloc((size_t)n_blocks * block_size, sizeof *pc->tokens);
  pc->buckets = pv_calloc(pc->n_buckets, sizeof *pc->buckets);
  if (!pc->key || !pc->parent || !pc->parent_gen || !pc->gen || !pc->hnext || !pc->cached || !pc->tokens ||
      !pc->buckets) {
    pv_prefix_cache_destroy(pc);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "kv: cannot allocate the prefix cache for %u blocks", n_blocks);
  }
  for (uint32_t i = 0; i < pc->n_buckets; i++) pc->buckets[i] = PV_KV_NONE;
  return PAGEDVK_OK;
}

void pv_prefix_cache_destroy(pv_prefix_cache *pc) {
  free(pc->buckets);
  free(pc->tokens);
  free(pc->cached);
  free(pc->hnext);
  free(pc->gen);
  free(pc->parent_gen);
  free(pc->parent);
  free(pc->key);
  memset(pc, 0, sizeof *pc);
}

uint64_t pv_prefix_cache_hash(const pv_prefix_cache *pc, uint64_t parent_key, const int32_t *tokens) {
  return pc->hash(parent_key, tokens, pc->block_size, pc->hash_user);
}

static uint32_t *bucket_of(const pv_prefix_cache *pc, uint64_t key) {
  return &pc->buckets[key & (pc->n_buckets - 1)];
}

static uint32_t block_with_key(const pv_prefix_cache *pc, uint64_t key) {
  for (uint32_t id = *bucket_of(pc, key); id != PV_KV_NONE; id = pc->hnext[id])
    if (pc->key[id] == key) return id;
  return PV_KV_NONE;
}

bool pv_prefix_cache_has_key(const pv_prefix_cache *pc, uint64_t key) { return block_with_key(pc, key) != PV_KV_NONE; }

uint32_t pv_prefix_cache_find(const pv_prefix_cache *pc, uint64_t key, const int32_t *tokens, uint32_t parent,
                              uint32_t parent_gen) {
  uint32_t id = block_with_key(pc, key);
  if (id == PV_KV_NONE) return PV_KV_NONE;
  if (pc->parent[id] != parent) return PV_KV_NONE;
  if (parent != PV_KV_NONE && pc->parent_gen[id] != parent_gen) return PV_KV_NONE;
  const int32_t *stored = pc->tokens + (size_t)id * pc->block_size;
  if (memcmp(stored, tokens, (size_t)pc->block_size * sizeof *tokens) != 0) return PV_KV_NONE;
  return id;
}

void pv_prefix_cache_insert(pv_prefix_cache *pc, uint32_t id, uint64_t key, const int32_t *tokens, uint32_t parent,
                            uint32_t parent_gen) {
  uint32_t *head = bucket_of(pc, key);
  pc->key[id] = key;
  pc->parent[id] = parent;
  pc->parent_gen[id] = parent_gen;
  pc->gen[id]++;
  pc->cached[id] = true;
  memcpy(pc->tokens + (size_t)id * pc->block_size, tokens, (size_t)pc->block_size * sizeof *tokens);
  pc->hnext[id] = *head;
  *head = id;
  pc->n_cached++;
}

void pv_prefix_cache_remove(pv_prefix_cache *pc, uint32_t id) {
  uint32_t *link = bucket_of(pc, pc->key[id]);
  while (*link != id) link = &pc->hnext[*link];
  *link = pc->hnext[id];
  pc->hnext[id] = PV_KV_NONE;
  pc->cached[id] = false;
  pc->gen[id]++;
  pc->n_cached--;
}
