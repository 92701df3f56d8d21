/*
 * kv_internal.h — the manager's struct and the helpers its files share (kv_manager.c, kv_seq.c,
 * kv_swap.c, kv_check.c). Not for use outside runtime/kv.
 *
 * A sequence record, while live and not swapped:
 *   n_table == ceil(n_tokens / block_size); table[i] is a device block whose fill equals the number
 *   of this sequence's tokens in block i; n_computed <= n_tokens; the first n_hashed blocks are full
 *   and computed, and chain_key / chain_block / chain_gen describe block n_hashed-1 in the prefix
 *   cache (chain_block: the cached block with the same contents, PV_KV_NONE before the first).
 * While swapped, table[i] is a host slot id instead.
 *
 * Layer groups (pv_kv_config.n_groups > 1): a public sequence is one record per group, all with
 * the same n_tokens / n_computed / swapped state. The public id names the group-0 record (the
 * primary), whose grp[g] lists its records (grp[0] is itself); the others are sub-records: live but
 * hidden (sub = true, not counted in n_live, refused by public calls) and hold no token ids.
 * A record of a sliding group (window W > 0) may have PV_KV_NONE entries: below its first entry in
 * the window (dropped: every block wholly before n_computed - W + 1, given back) and, while a
 * prompt is being computed, past the blocks assigned so far. Every entry from the window's first
 * block to the block of position n_computed - 1 names a block.
 */
#ifndef PV_KV_INTERNAL_H
#define PV_KV_INTERNAL_H

#include "kv/block_pool.h"
#include "kv/kv_manager.h"
#include "kv/prefix_cache.h"
#include "kv/swap_space.h"

/* Scratch for one operation: seen-marks and maps over blocks and over host slots, the prefix walk's
 * hits. Behind a pointer so const queries may use it too (the manager is not thread-safe). */
typedef struct pv_kv_scratch {
  uint32_t *block_mark, *block_map; /* n_blocks each */
  uint32_t *slot_mark, *slot_map;   /* n_swap_slots each */
  uint32_t *hits;                   /* n_blocks */
  uint32_t stamp;
} pv_kv_scratch;

typedef struct pv_kv_seq {
  bool live, swapped;
  uint32_t *table;
  uint32_t n_table, cap_table;
  int32_t *tokens;
  uint32_t n_tokens, cap_tokens;
  uint32_t n_computed;
  uint32_t n_hashed;
  uint64_t chain_key;
  uint32_t chain_block, chain_gen;
  bool chain_broken; /* a key collision stopped registrations for this sequence */
  bool sub;          /* a hidden record of group > 0 */
  uint32_t lo, top;  /* entries [lo, top) name blocks; the others are PV_KV_NONE (lo = 0 and
                        top = n_table outside sliding groups) */
  uint32_t group;    /* its layer group */
  uint32_t grp[PV_KV_MAX_GROUPS]; /* primary only: record id of each group (grp[0] = own id) */
} pv_kv_seq;

struct pv_kv_manager {
  pv_block_pool pool;
  pv_prefix_cache cache;
  pv_swap_space swap;
  bool prefix_cache_on;
  uint32_t n_groups;                  /* records per sequence (>= 1) */
  uint32_t window[PV_KV_MAX_GROUPS];  /* per group: sliding window in tokens, 0 = every position */
  uint32_t reach[PV_KV_MAX_GROUPS];   /* per sliding group: most blocks its window and one chunk span */
  uint32_t max_chunk;

  pv_kv_seq *seqs; /* indexed by sequence id */
  uint32_t n_seq_records, cap_seq_records;
  uint32_t *free_ids; /* dead records to reuse, n_free_ids of them; room for every record */
  uint32_t n_free_ids, cap_free_ids;
  uint32_t n_live;

  pv_kv_scratch *scr;

  uint64_t prefix_query_tokens, prefix_hit_tokens;
  uint64_t evictions, cow_copies, swapped_out_blocks, swapped_in_blocks;

  /* Kept incrementally for pv_kv_get_stats (O(1) per step); pv_kv_check_invariants recomputes
   * them. Every change of a block's refcount or fill goes through the helpers below. */
  uint64_t ref_total;     /* sum of every block's refcount */
  uint64_t tokens_stored; /* sum of fill over blocks in use (refcount > 0) */
  uint32_t n_evictable;   /* free blocks holding a cached key */
  uint32_t n_swapped;     /* live sequences that are swapped out */
};

/* The live (any state) public sequence record (a primary), or NULL. */
pv_kv_seq *pv_kv_seq_get(const pv_kv_manager *kv, uint32_t seq);
/* Record of group g of the primary p. */
static inline pv_kv_seq *pv_kv_rec(const pv_kv_manager *kv, const pv_kv_seq *p, uint32_t g) {
  return &kv->seqs[p->grp[g]];
}
/* The live, not swapped record, or NULL with err filled. */
pv_kv_seq *pv_kv_seq_resident(const pv_kv_manager *kv, uint32_t seq, pv_error *err);

/* Takes the free-list head (evicting its cached contents), refcount 1, fill 0. Caller checks n_free. */
uint32_t pv_kv_block_take(pv_kv_manager *kv);
/* Adds one reference; a free block (a prefix-cache hit) leaves the free list. */
void pv_kv_block_retain(pv_kv_manager *kv, uint32_t id);
/* Drops one reference; at 0 the block goes to the free list (tail if cached, head otherwise). */
void pv_kv_block_release(pv_kv_manager *kv, uint32_t id);
/* Sets the fill of a block in use (fill <= block_size). */
void pv_kv_block_set_fill(pv_kv_manager *kv, uint32_t id, uint32_t fill);
/* Fresh marks for a scan over blocks or slots (block_mark[i] == stamp means seen). */
uint32_t pv_kv_new_stamp(const pv_kv_manager *kv);

int pv_kv_xfer_reserve(pv_kv_xfer_list *list, uint32_t extra, pv_error *err);
/* Room in a sequence record for n_blocks table entries and n_tokens tokens (PV_GROW). */
int pv_kv_seq_room(pv_kv_seq *s, uint32_t n_blocks, uint32_t n_tokens, pv_error *err);

#endif /* PV_KV_INTERNAL_H */
