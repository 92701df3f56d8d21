/*
 * kv_manager.c — creation and destruction of the manager, the block take/release policy that ties
 * the pool to the prefix cache (eviction on take, head-or-tail on release), pool queries and small
 * shared helpers. Sequences live in kv_seq.c, swapping in kv_swap.c, checks and stats in kv_check.c
 * and kv_stats.c.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "kv/kv_internal.h"

int pv_kv_create(pv_kv_manager **out, const pv_kv_config *cfg, pv_error *err) {
  *out = NULL;
  uint32_t bs = cfg->block_size ? cfg->block_size : PV_KV_DEFAULT_BLOCK_SIZE;
  pv_kv_manager *kv = pv_calloc(1, sizeof *kv);
  if (!kv) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "kv: cannot allocate the manager");
  int rc = pv_block_pool_create(&kv->pool, cfg->n_blocks, bs, err);
  if (!rc) rc = pv_prefix_cache_create(&kv->cache, cfg->n_blocks, bs, cfg->hash, cfg->hash_user, err);
  if (!rc) rc = pv_swap_space_create(&kv->swap, cfg->n_swap_slots, err);
  if (rc) {
    pv_kv_destroy(kv);
    return rc;
  }
  kv->n_groups = cfg->n_groups ? cfg->n_groups : 1;
  kv->max_chunk = cfg->max_chunk;
  if (kv->n_groups > PV_KV_MAX_GROUPS) {
    pv_kv_destroy(kv);
    return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: %u layer groups (at most %d)", cfg->n_groups, PV_KV_MAX_GROUPS);
  }
  for (uint32_t g = 0; g < kv->n_groups; g++) {
    uint32_t w = kv->window[g] = cfg->window[g];
    if (w && !cfg->max_chunk) {
      pv_kv_destroy(kv);
      return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: a sliding-window group needs max_chunk");
    }
    uint64_t reach = w ? ((uint64_t)w - 1 + cfg->max_chunk + bs - 1) / bs + 1 : 0;
    kv->reach[g] = reach > UINT32_MAX ? UINT32_MAX : (uint32_t)reach;
  }
  kv->prefix_cache_on = !cfg->disable_prefix_cache && kv->n_groups == 1;
  pv_kv_scratch *scr = kv->scr = pv_calloc(1, sizeof *kv->scr);
  if (scr) {
    scr->block_mark = pv_calloc(cfg->n_blocks, sizeof *scr->block_mark);
    scr->block_map = pv_calloc(cfg->n_blocks, sizeof *scr->block_map);
    scr->slot_mark = pv_calloc(cfg->n_swap_slots, sizeof *scr->slot_mark);
    scr->slot_map = pv_calloc(cfg->n_swap_slots, sizeof *scr->slot_map);
    scr->hits = pv_calloc(cfg->n_blocks, sizeof *scr->hits);
  }
  if (!scr || !scr->block_mark || !scr->block_map || !scr->slot_mark || !scr->slot_map || !scr->hits) {
    pv_kv_destroy(kv);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "kv: cannot allocate scratch for %u blocks", cfg->n_blocks);
  }
  *out = kv;
  return PAGEDVK_OK;
}

void pv_kv_destroy(pv_kv_manager *kv) {
  if (!kv) return;
  for (uint32_t i = 0; i < kv->n_seq_records; i++) {
    free(kv->seqs[i].tokens);
    free(kv->seqs[i].table);
  }
  free(kv->free_ids);
  free(kv->seqs);
  if (kv->scr) {
    free(kv->scr->hits);
    free(kv->scr->slot_map);
    free(kv->scr->slot_mark);
    free(kv->scr->block_map);
    free(kv->scr->block_mark);
    free(kv->scr);
  }
  pv_swap_space_destroy(&kv->swap);
  pv_prefix_cache_destroy(&kv->cache);
  pv_block_pool_destroy(&kv->pool);
  free(kv);
}

uint32_t pv_kv_block_take(pv_kv_manager *kv) {
  uint32_t id = pv_block_pool_pop_head(&kv->pool);
  assert(id != PV_KV_NONE && kv->pool.blocks[id].ref == 0);
  if (kv->cache.cached[id]) {
    pv_prefix_cache_remove(&kv->cache, id);
    kv->evictions++;
    kv->n_evictable--;
  }
  kv->pool.blocks[id].ref = 1;
  kv->pool.blocks[id].fill = 0;
  kv->ref_total++;
  return id;
}

void pv_kv_block_retain(pv_kv_manager *kv, uint32_t id) {
  pv_block *b = &kv->pool.blocks[id];
  assert(b->free == (b->ref == 0));
  if (b->ref == 0) { /* a free block revived by a prefix-cache hit: it holds a cached key */
    pv_block_pool_unlink(&kv->pool, id);
    kv->tokens_stored += b->fill;
    if (kv->cache.cached[id]) kv->n_evictable--;
  }
  b->ref++;
  kv->ref_total++;
}

void pv_kv_block_release(pv_kv_manager *kv, uint32_t id) {
  pv_block *b = &kv->pool.blocks[id];
  assert(b->ref > 0 && !b->free);
  kv->ref_total--;
  if (--b->ref > 0) return;
  kv->tokens_stored -= b->fill;
  if (kv->cache.cached[id]) {
    kv->n_evictable++;
    pv_block_pool_push_tail(&kv->pool, id);
  } else {
    pv_block_pool_push_head(&kv->pool, id);
  }
}

void pv_kv_block_set_fill(pv_kv_manager *kv, uint32_t id, uint32_t fill) {
  pv_block *b = &kv->pool.blocks[id];
  assert(b->ref > 0 && fill <= kv->pool.block_size);
  kv->tokens_stored = kv->tokens_stored - b->fill + fill;
  b->fill = fill;
}

int pv_kv_seq_room(pv_kv_seq *s, uint32_t n_blocks, uint32_t n_tokens, pv_error *err) {
  if (PV_GROW_U32(s->table, s->cap_table, n_blocks) || PV_GROW_U32(s->tokens, s->cap_tokens, n_tokens))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "kv: no memory for a sequence of %u tokens", n_tokens);
  return PAGEDVK_OK;
}

uint32_t pv_kv_new_stamp(const pv_kv_manager *kv) {
  pv_kv_scratch *scr = kv->scr;
  if (++scr->stamp == 0) {
    memset(scr->block_mark, 0, (size_t)kv->pool.n_blocks * sizeof *scr->block_mark);
    memset(scr->slot_mark, 0, (size_t)kv->swap.n_slots * sizeof *scr->slot_mark);
    scr->stamp = 1;
  }
  return scr->stamp;
}

int pv_kv_xfer_reserve(pv_kv_xfer_list *list, uint32_t extra, pv_error *err) {
  if (extra > UINT32_MAX - list->count) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "kv: transfer list overflow");
  if (PV_GROW_U32(list->items, list->cap, (size_t)list->count + extra))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "kv: cannot grow a transfer list to %u entries", list->count + extra);
  return PAGEDVK_OK;
}

void pv_kv_xfer_list_clear(pv_kv_xfer_list *list) { list->count = 0; }

void pv_kv_xfer_list_free(pv_kv_xfer_list *list) {
  free(list->items);
  memset(list, 0, sizeof *list);
}

uint32_t pv_kv_block_size(const pv_kv_manager *kv) { return kv->pool.block_size; }
uint32_t pv_kv_n_groups(const pv_kv_manager *kv) { return kv->n_groups; }
uint32_t pv_kv_group_window(const pv_kv_manager *kv, uint32_t g) { return g < kv->n_groups ? kv->window[g] : 0; }
uint32_t pv_kv_total_blocks(const pv_kv_manager *kv) { return kv->pool.n_blocks; }
uint32_t pv_kv_free_blocks(const pv_kv_manager *kv) { return kv->pool.n_free; }
uint32_t pv_kv_free_swap_slots(const pv_kv_manager *kv) { return kv->swap.n_free; }

uint32_t pv_kv_blocks_for_tokens(const pv_kv_manager *kv, uint32_t n_tokens) {
  return n_tokens / kv->pool.block_size + (n_tokens % kv->pool.block_size != 0);
}

uint32_t pv_kv_block_ref(const pv_kv_manager *kv, uint32_t block) {
  return block < kv->pool.n_blocks ? kv->pool.blocks[block].ref : 0;
}

const int32_t *pv_kv_block_cached_tokens(const pv_kv_manager *kv, uint32_t block) {
  if (block >= kv->pool.n_blocks || !kv->cache.cached[block]) return NULL;
  return kv->cache.tokens + (size_t)block * kv->pool.block_size;
}

uint32_t pv_kv_free_list(const pv_kv_manager *kv, uint32_t *ids, uint32_t cap) {
  uint32_t n = 0;
  for (uint32_t id = kv->pool.head; id != PV_KV_NONE; id = kv->pool.blocks[id].next, n++)
    if (n < cap) ids[n] = id;
  return n;
}
