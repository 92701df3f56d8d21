/*
 * kv_seq.c — sequences: admission with prefix-cache hits, slot reservation with copy-on-write,
 * registration of computed full blocks, fork, free, slot mapping and per-sequence queries.
 * Every state-changing operation checks blocks and memory first and then cannot fail, so a
 * failure leaves the manager exactly as it was.
 */
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "kv/kv_internal.h"

pv_kv_seq *pv_kv_seq_get(const pv_kv_manager *kv, uint32_t seq) {
  if (seq >= kv->n_seq_records || !kv->seqs[seq].live) return NULL;
  return &kv->seqs[seq];
}

pv_kv_seq *pv_kv_seq_resident(const pv_kv_manager *kv, uint32_t seq, pv_error *err) {
  pv_kv_seq *s = pv_kv_seq_get(kv, seq);
  if (!s) pv_fail(err, PAGEDVK_ERR_INVALID, "kv: no sequence %u", seq);
  else if (s->swapped) pv_fail(err, PAGEDVK_ERR_INVALID, "kv: sequence %u is swapped out", seq);
  return s && !s->swapped ? s : NULL;
}

/* A dead record to fill in (reusing its buffers). free_ids always has room for every record. */
static int new_record(pv_kv_manager *kv, uint32_t *id, pv_error *err) {
  if (kv->n_free_ids > 0) {
    *id = kv->free_ids[--kv->n_free_ids];
    return PAGEDVK_OK;
  }
  const uint32_t n = kv->n_seq_records, old_cap = kv->cap_seq_records;
  if (n >= PV_KV_NONE - 1) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "kv: too many sequences");
  if (PV_GROW_U32(kv->free_ids, kv->cap_free_ids, (size_t)n + 1) || PV_GROW_U32(kv->seqs, kv->cap_seq_records, (size_t)n + 1))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "kv: cannot grow the sequence table past %u", n);
  if (kv->cap_seq_records > old_cap)
    memset(kv->seqs + old_cap, 0, (size_t)(kv->cap_seq_records - old_cap) * sizeof *kv->seqs);
  *id = kv->n_seq_records++;
  return PAGEDVK_OK;
}

static void drop_record(pv_kv_manager *kv, uint32_t id) {
  pv_kv_seq *s = &kv->seqs[id];
  s->live = false;
  s->swapped = false;
  s->n_table = s->n_tokens = s->n_computed = s->n_hashed = 0;
  kv->free_ids[kv->n_free_ids++] = id;
}

/* Reserves a record with room for n_blocks table entries and n_tokens tokens. */
static int reserve_record(pv_kv_manager *kv, uint32_t n_blocks, uint32_t n_tokens, uint32_t *id, pv_error *err) {
  int rc = new_record(kv, id, err);
  if (rc) return rc;
  pv_kv_seq *s = &kv->seqs[*id];
  rc = pv_kv_seq_room(s, n_blocks, n_tokens, err);
  if (rc) drop_record(kv, *id);
  return rc;
}

/* ---- Prefix walk ------------------------------------------------------------------------------ */

typedef struct prefix_walk {
  uint32_t n_hits;   /* verified full blocks, at most (n-1)/block_size */
  uint32_t n_revive; /* of which free (refcount 0): they leave the free list */
  uint64_t key;      /* key of the last hit (PV_KV_ROOT_KEY if none) */
} prefix_walk;

/* Follows the key chain through the cache, accepting a block only with equal tokens and the
 * expected parent (prefix_cache.h). Writes the hit blocks to `hits` when non-NULL. */
static prefix_walk walk_prefix(const pv_kv_manager *kv, const int32_t *tokens, uint32_t n, uint32_t *hits) {
  prefix_walk w = {0, 0, PV_KV_ROOT_KEY};
  if (!kv->prefix_cache_on) return w;
  uint32_t bs = kv->pool.block_size, max_hits = (n - 1) / bs;
  uint32_t parent = PV_KV_NONE, parent_gen = 0;
  while (w.n_hits < max_hits && w.n_hits < kv->pool.n_blocks) {
    const int32_t *t = tokens + (size_t)w.n_hits * bs;
    uint64_t key = pv_prefix_cache_hash(&kv->cache, w.key, t);
    uint32_t b = pv_prefix_cache_find(&kv->cache, key, t, parent, parent_gen);
    if (b == PV_KV_NONE) break;
    if (hits) hits[w.n_hits] = b;
    if (kv->pool.blocks[b].ref == 0) w.n_revive++;
    w.key = key;
    parent = b;
    parent_gen = kv->cache.gen[b];
    w.n_hits++;
  }
  return w;
}

int pv_kv_plan_prompt(const pv_kv_manager *kv, const int32_t *tokens, uint32_t n_tokens, pv_kv_prompt_plan *plan,
                      pv_error *err) {
  if (!tokens || n_tokens == 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: empty prompt");
  prefix_walk w = walk_prefix(kv, tokens, n_tokens, NULL);
  plan->cached_tokens = w.n_hits * kv->pool.block_size;
  plan->blocks_total = pv_kv_blocks_for_tokens(kv, n_tokens);
  plan->blocks_needed = plan->blocks_total - w.n_hits + w.n_revive;
  return PAGEDVK_OK;
}

bool pv_kv_can_allocate(const pv_kv_manager *kv, const int32_t *tokens, uint32_t n_tokens, uint32_t watermark_blocks) {
  pv_kv_prompt_plan plan = {0, 0, 0};
  if (pv_kv_plan_prompt(kv, tokens, n_tokens, &plan, NULL) != PAGEDVK_OK) return false;
  return (uint64_t)plan.blocks_needed + watermark_blocks <= kv->pool.n_free;
}

/* ---- Create ----------------------------------------------------------------------------------- */

static void adopt_hits(pv_kv_manager *kv, pv_kv_seq *s, const prefix_walk *w) {
  for (uint32_t i = 0; i < w->n_hits; i++) {
    uint32_t b = kv->scr->hits[i];
    pv_kv_block_retain(kv, b);
    s->table[i] = b;
  }
  s->n_hashed = w->n_hits;
  s->chain_key = w->key;
  s->chain_block = w->n_hits ? kv->scr->hits[w->n_hits - 1] : PV_KV_NONE;
  s->chain_gen = w->n_hits ? kv->cache.gen[s->chain_block] : 0;
  s->chain_broken = false;
}

int pv_kv_seq_create(pv_kv_manager *kv, const int32_t *tokens, uint32_t n_tokens, uint32_t *seq,
                     uint32_t *cached_tokens, pv_error *err) {
  if (!tokens || n_tokens == 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: empty prompt");
  uint32_t bs = kv->pool.block_size;
  prefix_walk w = walk_prefix(kv, tokens, n_tokens, kv->scr->hits);
  uint32_t total = pv_kv_blocks_for_tokens(kv, n_tokens);
  uint32_t need = total - w.n_hits + w.n_revive;
  if (need > kv->pool.n_free)
    return pv_fail(err, PAGEDVK_ERR_KV_FULL, "kv: prompt of %u tokens needs %u blocks, %u free", n_tokens, need,
                   kv->pool.n_free);
  uint32_t id;
  int rc = reserve_record(kv, total, n_tokens, &id, err);
  if (rc) return rc;
  pv_kv_seq *s = &kv->seqs[id];
  adopt_hits(kv, s, &w); /* before taking new blocks: a hit must not be evicted by them */
  for (uint32_t i = w.n_hits; i < total; i++) {
    uint32_t b = pv_kv_block_take(kv);
    uint32_t left = n_tokens - i * bs;
    pv_kv_block_set_fill(kv, b, left < bs ? left : bs);
    s->table[i] = b;
  }
  memcpy(s->tokens, tokens, (size_t)n_tokens * sizeof *tokens);
  s->live = true;
  s->swapped = false;
  s->n_table = total;
  s->n_tokens = n_tokens;
  s->n_computed = w.n_hits * bs;
  kv->n_live++;
  kv->prefix_query_tokens += n_tokens;
  kv->prefix_hit_tokens += s->n_computed;
  *seq = id;
  if (cached_tokens) *cached_tokens = s->n_computed;
  return PAGEDVK_OK;
}

/* ---- Append ----------------------------------------------------------------------------------- */

/* Blocks an append of n_new takes; *cow says whether the last block must be copied first. */
static uint64_t append_need(const pv_kv_manager *kv, const pv_kv_seq *s, uint32_t n_new, bool *cow) {
  uint32_t bs = kv->pool.block_size;
  *cow = n_new > 0 && s->n_tokens % bs != 0 && kv->pool.blocks[s->table[s->n_table - 1]].ref > 1;
  uint64_t end = (uint64_t)s->n_tokens + n_new;
  uint64_t blocks = end / bs + (end % bs != 0);
  return blocks - s->n_table + (*cow ? 1 : 0);
}

uint32_t pv_kv_blocks_for_append(const pv_kv_manager *kv, uint32_t seq, uint32_t n_new) {
  const pv_kv_seq *s = pv_kv_seq_resident(kv, seq, NULL);
  if (!s) return UINT32_MAX;
  bool cow;
  uint64_t need = append_need(kv, s, n_new, &cow);
  return need > UINT32_MAX ? UINT32_MAX : (uint32_t)need;
}

static void copy_on_write(pv_kv_manager *kv, pv_kv_seq *s, pv_kv_xfer_list *copies) {
  uint32_t old = s->table[s->n_table - 1];
  uint32_t b = pv_kv_block_take(kv);
  pv_kv_block_set_fill(kv, b, kv->pool.blocks[old].fill);
  copies->items[copies->count++] = (pv_kv_xfer){old, b};
  pv_kv_block_release(kv, old); /* still held by the sharers */
  s->table[s->n_table - 1] = b;
  kv->cow_copies++;
}

int pv_kv_append_slots(pv_kv_manager *kv, uint32_t seq, const int32_t *tokens, uint32_t n_new,
                       pv_kv_xfer_list *copies, pv_error *err) {
  pv_kv_seq *s = pv_kv_seq_resident(kv, seq, err);
  if (!s) return PAGEDVK_ERR_INVALID;
  if (n_new == 0) return PAGEDVK_OK;
  if (!tokens || !copies) return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: append_slots needs tokens and a copy list");
  uint32_t bs = kv->pool.block_size;
  if (n_new > UINT32_MAX - bs - s->n_tokens)
    return pv_fail(err, PAGEDVK_ERR_TOO_LONG, "kv: sequence %u would exceed 2^32 tokens", seq);
  bool cow;
  uint64_t need = append_need(kv, s, n_new, &cow);
  if (need > kv->pool.n_free)
    return pv_fail(err, PAGEDVK_ERR_KV_FULL, "kv: sequence %u needs %llu blocks for %u tokens, %u free", seq,
                   (unsigned long long)need, n_new, kv->pool.n_free);
  uint32_t end = s->n_tokens + n_new;
  int rc = pv_kv_seq_room(s, pv_kv_blocks_for_tokens(kv, end), end, err);
  if (!rc && cow) rc = pv_kv_xfer_reserve(copies, 1, err);
  if (rc) return rc;
  if (cow) copy_on_write(kv, s, copies);
  for (uint32_t i = 0; i < n_new; i++) {
    if (s->n_tokens % bs == 0) s->table[s->n_table++] = pv_kv_block_take(kv);
    const uint32_t last = s->table[s->n_table - 1];
    pv_kv_block_set_fill(kv, last, kv->pool.blocks[last].fill + 1);
    s->tokens[s->n_tokens++] = tokens[i];
  }
  return PAGEDVK_OK;
}

/* ---- Computed tokens and prefix registration -------------------------------------------------- */

/* Registers block n_hashed of s (full and computed) or finds its twin already cached. */
static bool register_next_block(pv_kv_manager *kv, pv_kv_seq *s) {
  pv_prefix_cache *pc = &kv->cache;
  if (s->chain_block != PV_KV_NONE && (!pc->cached[s->chain_block] || pc->gen[s->chain_block] != s->chain_gen))
    return false; /* the twin of the previous block was evicted: this chain is unreachable */
  const int32_t *t = s->tokens + (size_t)s->n_hashed * kv->pool.block_size;
  uint32_t b = s->table[s->n_hashed];
  uint64_t key = pv_prefix_cache_hash(pc, s->chain_key, t);
  uint32_t c = pv_prefix_cache_find(pc, key, t, s->chain_block, s->chain_gen);
  if (c == PV_KV_NONE) {
    if (pv_prefix_cache_has_key(pc, key) || pc->cached[b]) return false; /* collision */
    pv_prefix_cache_insert(pc, b, key, t, s->chain_block, s->chain_gen);
    c = b;
  }
  s->chain_key = key;
  s->chain_block = c;
  s->chain_gen = pc->gen[c];
  s->n_hashed++;
  return true;
}

int pv_kv_mark_computed(pv_kv_manager *kv, uint32_t seq, uint32_t n_tokens, pv_error *err) {
  pv_kv_seq *s = pv_kv_seq_resident(kv, seq, err);
  if (!s) return PAGEDVK_ERR_INVALID;
  if (n_tokens > s->n_tokens - s->n_computed)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: sequence %u: %u tokens computed but only %u are pending", seq,
                   n_tokens, s->n_tokens - s->n_computed);
  s->n_computed += n_tokens;
  if (!kv->prefix_cache_on) return PAGEDVK_OK;
  uint32_t full = s->n_computed / kv->pool.block_size;
  while (!s->chain_broken && s->n_hashed < full)
    if (!register_next_block(kv, s)) s->chain_broken = true;
  return PAGEDVK_OK;
}

/* ---- Fork and free ---------------------------------------------------------------------------- */

int pv_kv_fork(pv_kv_manager *kv, uint32_t parent, uint32_t *child, pv_error *err) {
  pv_kv_seq *p = pv_kv_seq_resident(kv, parent, err);
  if (!p) return PAGEDVK_ERR_INVALID;
  if (p->n_computed != p->n_tokens)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: fork of sequence %u with %u uncomputed tokens", parent,
                   p->n_tokens - p->n_computed);
  uint32_t id;
  int rc = reserve_record(kv, p->n_table, p->n_tokens, &id, err);
  if (rc) return rc;
  p = &kv->seqs[parent]; /* the record array may have moved */
  pv_kv_seq *c = &kv->seqs[id];
  pv_kv_seq keep = *c; /* the child's own buffers */
  *c = *p;
  c->table = keep.table;
  c->cap_table = keep.cap_table;
  c->tokens = keep.tokens;
  c->cap_tokens = keep.cap_tokens;
  memcpy(c->table, p->table, (size_t)p->n_table * sizeof *p->table);
  memcpy(c->tokens, p->tokens, (size_t)p->n_tokens * sizeof *p->tokens);
  for (uint32_t i = 0; i < p->n_table; i++) pv_kv_block_retain(kv, p->table[i]);
  kv->n_live++;
  *child = id;
  return PAGEDVK_OK;
}

int pv_kv_seq_free(pv_kv_manager *kv, uint32_t seq, pv_error *err) {
  pv_kv_seq *s = pv_kv_seq_get(kv, seq);
  if (!s) return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: no sequence %u", seq);
  /* Last block first: at the free-list tail a chain's first blocks end up evicted last. */
  for (uint32_t i = s->n_table; i-- > 0;) {
    if (s->swapped) pv_swap_space_release(&kv->swap, s->table[i]);
    else pv_kv_block_release(kv, s->table[i]);
  }
  if (s->swapped) kv->n_swapped--;
  drop_record(kv, seq);
  kv->n_live--;
  return PAGEDVK_OK;
}

/* ---- Slots and queries ------------------------------------------------------------------------ */

int pv_kv_slot_mapping(const pv_kv_manager *kv, uint32_t seq, uint32_t start, uint32_t n, uint32_t *slots,
                       pv_error *err) {
  const pv_kv_seq *s = pv_kv_seq_resident(kv, seq, err);
  if (!s) return PAGEDVK_ERR_INVALID;
  if (start > s->n_tokens || n > s->n_tokens - start)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: positions %u..%u of sequence %u (length %u)", start, start + n,
                   seq, s->n_tokens);
  uint32_t bs = kv->pool.block_size;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t pos = start + i;
    slots[i] = s->table[pos / bs] * bs + pos % bs;
  }
  return PAGEDVK_OK;
}

int pv_kv_slot(const pv_kv_manager *kv, uint32_t seq, uint32_t pos, uint32_t *slot, pv_error *err) {
  return pv_kv_slot_mapping(kv, seq, pos, 1, slot, err);
}

bool pv_kv_seq_valid(const pv_kv_manager *kv, uint32_t seq) { return pv_kv_seq_get(kv, seq) != NULL; }

bool pv_kv_seq_swapped(const pv_kv_manager *kv, uint32_t seq) {
  const pv_kv_seq *s = pv_kv_seq_get(kv, seq);
  return s && s->swapped;
}

uint32_t pv_kv_seq_len(const pv_kv_manager *kv, uint32_t seq) {
  const pv_kv_seq *s = pv_kv_seq_get(kv, seq);
  return s ? s->n_tokens : 0;
}

uint32_t pv_kv_seq_computed(const pv_kv_manager *kv, uint32_t seq) {
  const pv_kv_seq *s = pv_kv_seq_get(kv, seq);
  return s ? s->n_computed : 0;
}

const int32_t *pv_kv_seq_tokens(const pv_kv_manager *kv, uint32_t seq) {
  const pv_kv_seq *s = pv_kv_seq_get(kv, seq);
  return s ? s->tokens : NULL;
}

const uint32_t *pv_kv_seq_table(const pv_kv_manager *kv, uint32_t seq, uint32_t *n_entries) {
  const pv_kv_seq *s = pv_kv_seq_get(kv, seq);
  if (n_entries) *n_entries = s ? s->n_table : 0;
  return s ? s->table : NULL;
}

uint32_t pv_kv_num_seqs(const pv_kv_manager *kv) { return kv->n_live; }

int pv_kv_seq_reserve(pv_kv_manager *kv, uint32_t seq, uint32_t n_tokens, pv_error *err) {
  pv_kv_seq *s = pv_kv_seq_resident(kv, seq, err);
  if (!s) return PAGEDVK_ERR_INVALID;
  return pv_kv_seq_room(s, pv_kv_blocks_for_tokens(kv, n_tokens), n_tokens, err);
}
