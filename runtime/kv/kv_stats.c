/*
 * kv_stats.c — pv_kv_get_stats: a snapshot of the pool for logs, metrics and the scheduler.
 * O(1): it reads the counters the manager keeps incrementally (kv_internal.h: refcount total,
 * tokens stored, evictable blocks, swapped sequences); pv_kv_check_invariants recomputes them by a
 * full scan and compares.
 */
#include <string.h>

#include "kv/kv_internal.h"

void pv_kv_get_stats(const pv_kv_manager *kv, uint64_t bytes_per_block, pv_kv_stats *st) {
  memset(st, 0, sizeof *st);
  const pv_block_pool *pool = &kv->pool;
  st->blocks_total = pool->n_blocks;
  st->blocks_free = pool->n_free;
  st->blocks_used = pool->n_blocks - pool->n_free;
  st->blocks_cached = kv->cache.n_cached;
  st->blocks_evictable = kv->n_evictable;
  st->tokens_stored = kv->tokens_stored;
  st->blocks_saved_by_sharing = kv->ref_total - st->blocks_used; /* sum over used blocks of ref - 1 */
  if (st->blocks_used)
    st->utilization = (double)st->tokens_stored / ((double)st->blocks_used * pool->block_size);
  st->bytes_total = (uint64_t)pool->n_blocks * bytes_per_block;
  st->bytes_used = (uint64_t)st->blocks_used * bytes_per_block;
  st->prefix_query_tokens = kv->prefix_query_tokens;
  st->prefix_hit_tokens = kv->prefix_hit_tokens;
  if (kv->prefix_query_tokens)
    st->prefix_hit_rate = (double)kv->prefix_hit_tokens / (double)kv->prefix_query_tokens;
  st->evictions = kv->evictions;
  st->cow_copies = kv->cow_copies;
  st->swapped_out_blocks = kv->swapped_out_blocks;
  st->swapped_in_blocks = kv->swapped_in_blocks;
  st->swap_slots_total = kv->swap.n_slots;
  st->swap_slots_used = kv->swap.n_slots - kv->swap.n_free;
  st->seqs = kv->n_live;
  st->seqs_swapped = kv->n_swapped;
}
