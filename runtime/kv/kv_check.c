/*
 * kv_check.c — pv_kv_check_invariants: recomputes everything the manager keeps incrementally and
 * compares. Checked:
 *   pool    the free list is well linked (prev/next, head/tail), has n_free blocks, holds exactly
 *           the blocks flagged free, and those have refcount 0;
 *   refs    every block's refcount equals the number of device block-table entries naming it, so a
 *           block is never both free and in use; fill matches each table's token count in it;
 *   seqs    table length = ceil(tokens / block_size), computed <= tokens, registered blocks are
 *           full and computed; the id free list and the live count agree with the records;
 *   groups  each sequence has one record per layer group, agreeing on tokens and state; a full
 *           group names a block in every entry; a sliding group's blocks are one run of entries
 *           covering the window of the next row to compute, no longer than its reach;
 *   cache   n_cached blocks flagged cached, each exactly once in the bucket of its key, keys
 *           unique, a cached block is full, its stored tokens equal those of every table that
 *           names it, and its key is the hash of its tokens after its parent's key (when the
 *           parent is still the one it was inserted after);
 *   swap    every slot's refcount equals the swapped table entries naming it; the free stack holds
 *           exactly the slots with refcount 0, once each;
 *   stats   the counters kept for pv_kv_get_stats (refcount total, tokens stored, evictable blocks,
 *           swapped sequences) equal a full scan.
 */
#include <stdlib.h>
#include <string.h>

#include "kv/kv_internal.h"

#define CHECK(cond, ...)                                          \
  do {                                                            \
    if (!(cond)) return pv_fail(err, PAGEDVK_ERR_INVALID, __VA_ARGS__); \
  } while (0)

static int check_free_list(const pv_block_pool *pool, pv_error *err) {
  uint32_t n = 0, prev = PV_KV_NONE;
  for (uint32_t id = pool->head; id != PV_KV_NONE; prev = id, id = pool->blocks[id].next) {
    CHECK(id < pool->n_blocks && n < pool->n_blocks, "kv check: free list corrupt after %u entries", n);
    const pv_block *b = &pool->blocks[id];
    CHECK(b->free && b->ref == 0, "kv check: block %u in the free list (free=%d, ref=%u)", id, b->free, b->ref);
    CHECK(b->prev == prev, "kv check: block %u prev link %u, expected %u", id, b->prev, prev);
    n++;
  }
  CHECK(pool->tail == prev, "kv check: free list tail %u, walk ended at %u", pool->tail, prev);
  CHECK(n == pool->n_free, "kv check: free list has %u blocks, n_free says %u", n, pool->n_free);
  uint32_t flagged = 0;
  for (uint32_t i = 0; i < pool->n_blocks; i++) flagged += pool->blocks[i].free;
  CHECK(flagged == n, "kv check: %u blocks flagged free, %u in the list", flagged, n);
  return PAGEDVK_OK;
}

static int check_seq_blocks(const pv_kv_manager *kv, uint32_t id, const pv_kv_seq *s, uint32_t *refs,
                            pv_error *err) {
  uint32_t bs = kv->pool.block_size;
  for (uint32_t i = s->lo; i < s->top; i++) {
    uint32_t b = s->table[i];
    CHECK(b < kv->pool.n_blocks, "kv check: seq %u entry %u names block %u", id, i, b);
    refs[b]++;
    uint32_t left = s->n_tokens - i * bs, want = left < bs ? left : bs;
    CHECK(kv->pool.blocks[b].fill == want, "kv check: seq %u block %u (entry %u) fill %u, expected %u", id, b, i,
          kv->pool.blocks[b].fill, want);
    if (!kv->cache.cached[b]) continue;
    CHECK(i < s->n_hashed, "kv check: seq %u entry %u (block %u) cached but not registered (%u registered)", id, i,
          b, s->n_hashed);
    const int32_t *stored = kv->cache.tokens + (size_t)b * bs;
    CHECK(!memcmp(stored, s->tokens + (size_t)i * bs, bs * sizeof *stored),
          "kv check: cached block %u holds other tokens than seq %u entry %u", b, id, i);
  }
  return PAGEDVK_OK;
}

/* The records of primary `id` exist, name their group and agree on tokens and state. */
static int check_groups(const pv_kv_manager *kv, uint32_t id, const pv_kv_seq *s, pv_error *err) {
  CHECK(s->grp[0] == id && s->group == 0, "kv check: seq %u is not its own group 0", id);
  for (uint32_t g = 1; g < kv->n_groups; g++) {
    uint32_t r = s->grp[g];
    CHECK(r < kv->n_seq_records && r != id, "kv check: seq %u group %u names record %u", id, g, r);
    const pv_kv_seq *q = &kv->seqs[r];
    CHECK(q->live && q->sub && q->group == g, "kv check: seq %u group %u record %u is not a live sub-record", id, g, r);
    CHECK(q->n_tokens == s->n_tokens && q->n_computed == s->n_computed && q->swapped == s->swapped,
          "kv check: seq %u group %u disagrees (tokens %u/%u, computed %u/%u)", id, g, q->n_tokens, s->n_tokens,
          q->n_computed, s->n_computed);
  }
  return PAGEDVK_OK;
}

static int check_seqs(const pv_kv_manager *kv, uint32_t *refs, uint32_t *slot_refs, pv_error *err) {
  uint32_t live = 0, n_records = 0, bs = kv->pool.block_size;
  for (uint32_t id = 0; id < kv->n_seq_records; id++) {
    const pv_kv_seq *s = &kv->seqs[id];
    if (!s->live) continue;
    n_records++;
    if (!s->sub) {
      live++;
      int rc = check_groups(kv, id, s, err);
      if (rc) return rc;
    }
    CHECK(s->n_tokens > 0 && s->n_table == pv_kv_blocks_for_tokens(kv, s->n_tokens),
          "kv check: seq %u has %u tokens in %u blocks", id, s->n_tokens, s->n_table);
    CHECK(s->lo <= s->top && s->top <= s->n_table, "kv check: seq %u entries %u..%u of %u", id, s->lo, s->top,
          s->n_table);
    for (uint32_t i = 0; i < s->n_table; i++)
      CHECK((i >= s->lo && i < s->top) == (s->table[i] != PV_KV_NONE),
            "kv check: seq %u entry %u is %s outside %u..%u", id, i, s->table[i] == PV_KV_NONE ? "empty" : "a block",
            s->lo, s->top);
    if (!kv->window[s->group]) {
      CHECK(s->lo == 0 && s->top == s->n_table, "kv check: seq %u (full group %u) lacks blocks %u..%u of %u", id,
            s->group, s->lo, s->top, s->n_table);
    } else if (s->n_computed) {
      uint32_t need_lo = s->n_computed + 1 > kv->window[s->group] ? (s->n_computed + 1 - kv->window[s->group]) / bs : 0;
      CHECK(s->lo <= need_lo && s->top >= (s->n_computed - 1) / bs + 1,
            "kv check: seq %u (window %u) holds entries %u..%u, computed %u tokens", id, kv->window[s->group], s->lo,
            s->top, s->n_computed);
      CHECK(s->top - s->lo <= kv->reach[s->group],
            "kv check: seq %u (window %u) holds %u blocks, more than %u", id, kv->window[s->group], s->top - s->lo,
            kv->reach[s->group]);
    }
    CHECK(s->n_computed <= s->n_tokens, "kv check: seq %u computed %u > %u", id, s->n_computed, s->n_tokens);
    CHECK(s->n_hashed <= s->n_computed / bs, "kv check: seq %u registered %u blocks, %u computed tokens", id,
          s->n_hashed, s->n_computed);
    if (!s->swapped) {
      int rc = check_seq_blocks(kv, id, s, refs, err);
      if (rc) return rc;
      continue;
    }
    for (uint32_t i = s->lo; i < s->top; i++) {
      CHECK(s->table[i] < kv->swap.n_slots, "kv check: swapped seq %u entry %u names slot %u", id, i, s->table[i]);
      slot_refs[s->table[i]]++;
    }
  }
  CHECK(live == kv->n_live, "kv check: %u live sequences, n_live says %u", live, kv->n_live);
  CHECK(n_records == live * kv->n_groups, "kv check: %u live records for %u sequences of %u groups", n_records, live,
        kv->n_groups);
  CHECK(kv->n_free_ids + n_records == kv->n_seq_records, "kv check: %u free ids + %u live records != %u records",
        kv->n_free_ids, n_records, kv->n_seq_records);
  for (uint32_t i = 0; i < kv->n_free_ids; i++) {
    uint32_t id = kv->free_ids[i];
    CHECK(id < kv->n_seq_records && !kv->seqs[id].live, "kv check: free id %u is live or out of range", id);
  }
  return PAGEDVK_OK;
}

static int check_refs(const pv_kv_manager *kv, const uint32_t *refs, pv_error *err) {
  for (uint32_t b = 0; b < kv->pool.n_blocks; b++) {
    const pv_block *blk = &kv->pool.blocks[b];
    CHECK(blk->ref == refs[b], "kv check: block %u refcount %u, %u table entries name it", b, blk->ref, refs[b]);
    CHECK(blk->free == (blk->ref == 0), "kv check: block %u free=%d with refcount %u", b, blk->free, blk->ref);
    CHECK(blk->fill <= kv->pool.block_size, "kv check: block %u fill %u", b, blk->fill);
  }
  return PAGEDVK_OK;
}

static int check_cached_block(const pv_prefix_cache *pc, uint32_t b, pv_error *err) {
  const int32_t *t = pc->tokens + (size_t)b * pc->block_size;
  uint32_t p = pc->parent[b];
  if (p == PV_KV_NONE) {
    CHECK(pv_prefix_cache_hash(pc, PV_KV_ROOT_KEY, t) == pc->key[b], "kv check: first block %u has a wrong key", b);
  } else if (pc->cached[p] && pc->gen[p] == pc->parent_gen[b]) {
    CHECK(pv_prefix_cache_hash(pc, pc->key[p], t) == pc->key[b], "kv check: block %u key is not hash(parent %u)", b,
          p);
  }
  for (uint32_t o = pc->hnext[b]; o != PV_KV_NONE; o = pc->hnext[o])
    CHECK(pc->key[o] != pc->key[b], "kv check: blocks %u and %u share a key", b, o);
  return PAGEDVK_OK;
}

static int check_cache(const pv_kv_manager *kv, pv_error *err) {
  const pv_prefix_cache *pc = &kv->cache;
  uint32_t flagged = 0, listed = 0;
  for (uint32_t b = 0; b < pc->n_blocks; b++) {
    if (!pc->cached[b]) continue;
    flagged++;
    CHECK(kv->pool.blocks[b].fill == pc->block_size, "kv check: cached block %u is not full", b);
  }
  CHECK(flagged == pc->n_cached, "kv check: %u blocks flagged cached, n_cached says %u", flagged, pc->n_cached);
  for (uint32_t h = 0; h < pc->n_buckets; h++) {
    for (uint32_t b = pc->buckets[h]; b != PV_KV_NONE; b = pc->hnext[b]) {
      CHECK(b < pc->n_blocks && listed < flagged, "kv check: bucket %u corrupt", h);
      CHECK(pc->cached[b] && (pc->key[b] & (pc->n_buckets - 1)) == h, "kv check: block %u misplaced in bucket %u", b,
            h);
      int rc = check_cached_block(pc, b, err);
      if (rc) return rc;
      listed++;
    }
  }
  CHECK(listed == flagged, "kv check: %u blocks in buckets, %u flagged cached", listed, flagged);
  return PAGEDVK_OK;
}

static int check_swap(const pv_swap_space *sw, const uint32_t *slot_refs, pv_error *err) {
  uint32_t zero = 0;
  for (uint32_t s = 0; s < sw->n_slots; s++) {
    CHECK(sw->ref[s] == slot_refs[s], "kv check: slot %u refcount %u, %u swapped entries name it", s, sw->ref[s],
          slot_refs[s]);
    zero += sw->ref[s] == 0;
  }
  CHECK(zero == sw->n_free, "kv check: %u slots unused, %u on the free stack", zero, sw->n_free);
  for (uint32_t i = 0; i < sw->n_free; i++) {
    uint32_t s = sw->free_stack[i];
    CHECK(s < sw->n_slots && sw->ref[s] == 0, "kv check: free stack entry %u (slot %u) in use", i, s);
    for (uint32_t j = 0; j < i; j++) CHECK(sw->free_stack[j] != s, "kv check: slot %u twice on the free stack", s);
  }
  return PAGEDVK_OK;
}

static int check_counters(const pv_kv_manager *kv, pv_error *err) {
  uint64_t refs = 0, tokens = 0;
  uint32_t evictable = 0, swapped = 0;
  for (uint32_t b = 0; b < kv->pool.n_blocks; b++) {
    const pv_block *blk = &kv->pool.blocks[b];
    refs += blk->ref;
    if (blk->ref) tokens += blk->fill;
    else evictable += kv->cache.cached[b];
  }
  for (uint32_t i = 0; i < kv->n_seq_records; i++)
    swapped += kv->seqs[i].live && !kv->seqs[i].sub && kv->seqs[i].swapped;
  CHECK(refs == kv->ref_total, "kv check: refcounts sum to %llu, the counter says %llu", (unsigned long long)refs,
        (unsigned long long)kv->ref_total);
  CHECK(tokens == kv->tokens_stored, "kv check: %llu tokens stored, the counter says %llu",
        (unsigned long long)tokens, (unsigned long long)kv->tokens_stored);
  CHECK(evictable == kv->n_evictable, "kv check: %u evictable blocks, the counter says %u", evictable,
        kv->n_evictable);
  CHECK(swapped == kv->n_swapped, "kv check: %u swapped sequences, the counter says %u", swapped, kv->n_swapped);
  return PAGEDVK_OK;
}

int pv_kv_check_invariants(const pv_kv_manager *kv, pv_error *err) {
  uint32_t *refs = pv_calloc(kv->pool.n_blocks, sizeof *refs);
  uint32_t *slot_refs = pv_calloc(kv->swap.n_slots, sizeof *slot_refs);
  int rc = PAGEDVK_OK;
  if (!refs || !slot_refs) rc = pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "kv check: out of memory");
  if (!rc) rc = check_free_list(&kv->pool, err);
  if (!rc) rc = check_seqs(kv, refs, slot_refs, err);
  if (!rc) rc = check_refs(kv, refs, err);
  if (!rc) rc = check_cache(kv, err);
  if (!rc) rc = check_swap(&kv->swap, slot_refs, err);
  if (!rc) rc = check_counters(kv, err);
  free(slot_refs);
  free(refs);
  return rc;
}
