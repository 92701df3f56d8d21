/*
 * prefix_cache.h — the hash map from block key to the physical block that holds a full,
 * computed block of tokens, with the token ids of every cached block kept for verification.
 *
 * Key chain: key(block 0) = hash(PV_KV_ROOT_KEY, tokens[0..bs)), key(block i) = hash(key(block i-1),
 * tokens of block i). A hash match alone is never trusted: a cached block also records its token
 * ids and its parent (the cached block before it in the chain, plus that block's generation), and a
 * lookup accepts it only if the tokens are equal and the parent is the block the walk just accepted.
 * By induction an accepted block holds exactly the prompt's prefix, whatever the hash does.
 * The generation of a block changes whenever it enters or leaves the cache, so a child whose parent
 * was evicted (and maybe reused for other tokens) can no longer be reached.
 *
 * Invariants: at most one cached block per key; a block is in the bucket of its key iff cached;
 * n_cached equals the number of cached blocks. The cache holds no references: whether a cached
 * block is in use or free (evictable) is the block pool's business.
 */
#ifndef PV_KV_PREFIX_CACHE_H
#define PV_KV_PREFIX_CACHE_H

#include "base/base.h"

#define PV_KV_ROOT_KEY UINT64_C(0x70616765646b7600) /* parent key of a sequence's first block */

/* Hash of one block: the parent's key and the block's block_size token ids. Injectable for tests. */
typedef uint64_t (*pv_kv_hash_fn)(uint64_t parent_key, const int32_t *tokens, uint32_t n_tokens, void *user);

/* The default: XXH3_64bits_withSeed over the token ids, seeded with the parent key. */
uint64_t pv_kv_hash_xxh3(uint64_t parent_key, const int32_t *tokens, uint32_t n_tokens, void *user);

typedef struct pv_prefix_cache {
  uint32_t n_blocks, block_size;
  pv_kv_hash_fn hash;
  void *hash_user;
  uint64_t *key;        /* per block, valid while cached */
  uint32_t *parent;     /* per block: cached parent block or PV_KV_NONE for the first block */
  uint32_t *parent_gen; /* per block: the parent's generation when this block was inserted */
  uint32_t *gen;        /* per block: bumped on insert and on remove */
  uint32_t *hnext;      /* per block: next block in the same bucket */
  bool *cached;         /* per block */
  int32_t *tokens;      /* n_blocks * block_size token ids of cached blocks */
  uint32_t *buckets;    /* first block of each bucket, PV_KV_NONE when empty */
  uint32_t n_buckets;   /* power of two */
  uint32_t n_cached;
} pv_prefix_cache;

int pv_prefix_cache_create(pv_prefix_cache *pc, uint32_t n_blocks, uint32_t block_size, pv_kv_hash_fn hash,
                           void *hash_user, pv_error *err);
void pv_prefix_cache_destroy(pv_prefix_cache *pc);

uint64_t pv_prefix_cache_hash(const pv_prefix_cache *pc, uint64_t parent_key, const int32_t *tokens);

/* The block cached under `key` that holds `tokens` after `parent`/`parent_gen`, or PV_KV_NONE. */
uint32_t pv_prefix_cache_find(const pv_prefix_cache *pc, uint64_t key, const int32_t *tokens, uint32_t parent,
                              uint32_t parent_gen);
/* True when some block is cached under `key` (whatever its contents). */
bool pv_prefix_cache_has_key(const pv_prefix_cache *pc, uint64_t key);

/* Caches block `id` (not cached) under `key` (not present). */
void pv_prefix_cache_insert(pv_prefix_cache *pc, uint32_t id, uint64_t key, const int32_t *tokens, uint32_t parent,
                            uint32_t parent_gen);
/* Drops block `id` (cached) from the map: its contents are about to be overwritten. */
void pv_prefix_cache_remove(pv_prefix_cache *pc, uint32_t id);

#endif /* PV_KV_PREFIX_CACHE_H */
