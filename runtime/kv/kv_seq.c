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
  if (seq >= kv->n_seq_records || !kv->seqs[seq].live || kv->seqs[seq].sub) return NULL;
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
  s->sub = false;
  s->n_table = s->n_tokens = s->n_computed = s->n_hashed = s->lo = s->top = 0;
  kv->free_ids[kv->n_free_ids++] = id;
}

/* Reserves one record per group, with room for n_blocks table entries (and n_tokens tokens in the
 * primary); *id is the primary, whose grp[] lists them. All or nothing. */
static int reserve_record(pv_kv_manager *kv, uint32_t n_blocks, uint32_t n_tokens, uint32_t *id, pv_error *err) {
  uint32_t ids[PV_KV_MAX_GROUPS];
  int rc = PAGEDVK_OK;
  uint32_t made = 0;
  while (made < kv->n_groups && !rc) {
    rc = new_record(kv, &ids[made], err);
    if (rc) break;
    rc = pv_kv_seq_room(&kv->seqs[ids[made]], n_blocks, made == 0 ? n_tokens : 0, err);
    made++;
  }
  if (rc) {
    while (made-- > 0) drop_record(kv, ids[made]);
    return rc;
  }
  for (uint32_t g = 0; g < kv->n_groups; g++) {
    pv_kv_seq *r = &kv->seqs[ids[g]];
    r->sub = g > 0;
    r->group = g;
  }
  memcpy(kv->seqs[ids[0]].grp, ids, kv->n_groups * sizeof *ids);
  *id = ids[0];
  return PAGEDVK_OK;
}

/* Releases every record of the primary `id` (its blocks must be released already). */
static void drop_records(pv_kv_manager *kv, uint32_t id) {
  uint32_t ids[PV_KV_MAX_GROUPS];
  memcpy(ids, kv->seqs[id].grp, kv->n_groups * sizeof *ids);
  for (uint32_t g = kv->n_groups; g-- > 0;) drop_record(kv, ids[g]);
}

/* ---- Windows ---------------------------------------------------------------------------------- */

/* The first table entry a sliding group still needs when the rows from position c0 on are still
 * to compute (a row at p reads keys p-W+1 .. p); 0 for a full group. */
static uint32_t window_lo(const pv_kv_manager *kv, uint32_t g, uint32_t c0) {
  uint32_t w = kv->window[g];
  if (!w || c0 + 1 < w) return 0;
  return (c0 + 1 - w) / kv->pool.block_size;
}

/* What moving one record to "rows from c0 on, positions below `upto` backed, n_new tokens
 * appended" does to the pool. */
typedef struct rec_plan {
  uint32_t lo;      /* new first entry */
  uint32_t top;     /* new end of the assigned entries */
  uint32_t n_table; /* new table length */
  uint32_t take;    /* blocks taken (new entries + a copy-on-write) */
  uint32_t freed;   /* dropped blocks that become free (refcount 1) */
  bool cow;
} rec_plan;

/* `reserve`: a new prompt (c0 = 0): a sliding group takes only the blocks its window and a chunk
 * can span, later ones come with pv_kv_seq_prepare as earlier ones go. */
static rec_plan plan_rec(const pv_kv_manager *kv, const pv_kv_seq *s, uint32_t c0, uint64_t upto, uint32_t n_new,
                         bool reserve) {
  const uint32_t bs = kv->pool.block_size;
  rec_plan p = {0};
  p.lo = window_lo(kv, s->group, c0);
  if (p.lo < s->lo) p.lo = s->lo;
  if (reserve && kv->window[s->group] && upto > ((uint64_t)p.lo + kv->reach[s->group]) * bs)
    upto = ((uint64_t)p.lo + kv->reach[s->group]) * bs;
  for (uint32_t i = s->lo; i < p.lo && i < s->top; i++) p.freed += kv->pool.blocks[s->table[i]].ref == 1;
  uint64_t end = (uint64_t)s->n_tokens + n_new;
  p.n_table = (uint32_t)(end / bs + (end % bs != 0));
  if (p.n_table < s->n_table) p.n_table = s->n_table;
  uint32_t hi = (uint32_t)(upto / bs + (upto % bs != 0));
  uint32_t from = s->top > p.lo ? s->top : p.lo;
  p.top = hi > from ? hi : from;
  p.take = p.top - from;
  const uint32_t last = s->n_table - 1;
  p.cow = n_new > 0 && s->n_tokens % bs != 0 && last >= p.lo && last < s->top &&
          kv->pool.blocks[s->table[last]].ref > 1;
  p.take += p.cow;
  return p;
}

/* Gives back the blocks plan_rec's plan drops (done for every group before any takes). */
static void apply_drop(pv_kv_manager *kv, pv_kv_seq *s, const rec_plan *p) {
  for (uint32_t i = (p->lo < s->top ? p->lo : s->top); i-- > s->lo;) { /* last first, as in seq_free */
    pv_kv_block_release(kv, s->table[i]);
    s->table[i] = PV_KV_NONE;
  }
  if (s->top < p->lo) s->top = p->lo;
  s->lo = p->lo;
}

/* Applies the rest of the plan (memory reserved, blocks checked); tokens_after = n_tokens + n_new. */
static void apply_rec(pv_kv_manager *kv, pv_kv_seq *s, const rec_plan *p, uint32_t tokens_after,
                      pv_kv_xfer_list *copies) {
  const uint32_t bs = kv->pool.block_size;
  apply_drop(kv, s, p);
  if (p->cow) {
    uint32_t old = s->table[s->n_table - 1], b = pv_kv_block_take(kv);
    pv_kv_block_set_fill(kv, b, kv->pool.blocks[old].fill);
    copies->items[copies->count++] = (pv_kv_xfer){old, b};
    pv_kv_block_release(kv, old); /* still held by the sharers */
    s->table[s->n_table - 1] = b;
    kv->cow_copies++;
  }
  for (uint32_t i = s->n_table; i < p->n_table; i++) s->table[i] = PV_KV_NONE;
  uint32_t from = s->top > p->lo ? s->top : p->lo;
  for (uint32_t i = from; i < p->top; i++) {
    uint32_t left = tokens_after - i * bs;
    s->table[i] = pv_kv_block_take(kv);
    pv_kv_block_set_fill(kv, s->table[i], left < bs ? left : bs);
  }
  /* the old last block, partly filled, takes the first appended tokens */
  const uint32_t last = s->n_tokens ? (s->n_tokens - 1) / bs : 0;
  if (s->n_tokens % bs != 0 && tokens_after > s->n_tokens && last >= p->lo && last < from) {
    uint32_t left = tokens_after - last * bs;
    pv_kv_block_set_fill(kv, s->table[last], left < bs ? left : bs);
  }
  s->lo = p->lo;
  s->top = p->top > p->lo ? p->top : p->lo;
  s->n_table = p->n_table;
  s->n_tokens = tokens_after;
}

/* Plans every record of primary s; *need: blocks taken net of those given back first; *take:
 * blocks taken; *cows: copies. */
static void plan_all(const pv_kv_manager *kv, const pv_kv_seq *s, uint32_t c0, uint64_t upto, uint32_t n_new,
                     bool reserve, rec_plan *plans, uint64_t *take, uint64_t *freed, uint32_t *cows) {
  *take = *freed = 0;
  *cows = 0;
  for (uint32_t g = 0; g < kv->n_groups; g++) {
    plans[g] = plan_rec(kv, pv_kv_rec(kv, s, g), c0, upto, n_new, reserve);
    *take += plans[g].take;
    *freed += plans[g].freed;
    *cows += plans[g].cow;
  }
}

static uint32_t net_need(uint64_t take, uint64_t freed) {
  uint64_t n = take > freed ? take - freed : 0;
  return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
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

/* Blocks group g takes for a new prompt of `total` blocks (no prefix hits). */
static uint32_t create_blocks(const pv_kv_manager *kv, uint32_t g, uint32_t total) {
  return kv->window[g] && kv->reach[g] < total ? kv->reach[g] : total;
}

uint32_t pv_kv_blocks_for_sequence(const pv_kv_manager *kv, uint32_t n_tokens) {
  const uint32_t total = pv_kv_blocks_for_tokens(kv, n_tokens);
  uint64_t need = 0;
  for (uint32_t g = 0; g < kv->n_groups; g++) need += create_blocks(kv, g, total);
  return need > UINT32_MAX ? UINT32_MAX : (uint32_t)need;
}

int pv_kv_plan_prompt(const pv_kv_manager *kv, const int32_t *tokens, uint32_t n_tokens, pv_kv_prompt_plan *plan,
                      pv_error *err) {
  if (!tokens || n_tokens == 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: empty prompt");
  prefix_walk w = walk_prefix(kv, tokens, n_tokens, NULL);
  plan->cached_tokens = w.n_hits * kv->pool.block_size;
  plan->blocks_total = pv_kv_blocks_for_tokens(kv, n_tokens);
  uint64_t need = plan->blocks_total - w.n_hits + w.n_revive; /* group 0 has the hits (one group then) */
  for (uint32_t g = 1; g < kv->n_groups; g++) need += create_blocks(kv, g, plan->blocks_total);
  if (kv->window[0]) need = need - plan->blocks_total + create_blocks(kv, 0, plan->blocks_total);
  plan->blocks_needed = need > UINT32_MAX ? UINT32_MAX : (uint32_t)need;
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
  s->n_table = s->top = w->n_hits;
  s->n_tokens = w->n_hits * kv->pool.block_size;
  s->n_hashed = w->n_hits;
  s->chain_key = w->key;
  s->chain_block = w->n_hits ? kv->scr->hits[w->n_hits - 1] : PV_KV_NONE;
  s->chain_gen = w->n_hits ? kv->cache.gen[s->chain_block] : 0;
  s->chain_broken = false;
}

int pv_kv_seq_create(pv_kv_manager *kv, const int32_t *tokens, uint32_t n_tokens, uint32_t *seq,
                     uint32_t *cached_tokens, pv_error *err) {
  if (!tokens || n_tokens == 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: empty prompt");
  pv_kv_prompt_plan pp;
  int rc = pv_kv_plan_prompt(kv, tokens, n_tokens, &pp, err);
  if (rc) return rc;
  if (pp.blocks_needed > kv->pool.n_free)
    return pv_fail(err, PAGEDVK_ERR_KV_FULL, "kv: prompt of %u tokens needs %u blocks, %u free", n_tokens,
                   pp.blocks_needed, kv->pool.n_free);
  prefix_walk w = walk_prefix(kv, tokens, n_tokens, kv->scr->hits);
  uint32_t id;
  rc = reserve_record(kv, pp.blocks_total, n_tokens, &id, err);
  if (rc) return rc;
  pv_kv_seq *s = &kv->seqs[id];
  adopt_hits(kv, s, &w); /* before taking new blocks: a hit must not be evicted by them */
  for (uint32_t g = 0; g < kv->n_groups; g++) {
    pv_kv_seq *r = pv_kv_rec(kv, s, g);
    rec_plan p = plan_rec(kv, r, 0, n_tokens, n_tokens - r->n_tokens, true);
    apply_rec(kv, r, &p, n_tokens, NULL);
    r->n_computed = w.n_hits * kv->pool.block_size;
    r->live = true;
    r->swapped = false;
  }
  memcpy(s->tokens, tokens, (size_t)n_tokens * sizeof *tokens);
  kv->n_live++;
  kv->prefix_query_tokens += n_tokens;
  kv->prefix_hit_tokens += s->n_computed;
  *seq = id;
  if (cached_tokens) *cached_tokens = s->n_computed;
  return PAGEDVK_OK;
}

/* ---- Append and prepare ----------------------------------------------------------------------- */

uint32_t pv_kv_blocks_for_append(const pv_kv_manager *kv, uint32_t seq, uint32_t n_new) {
  const pv_kv_seq *s = pv_kv_seq_resident(kv, seq, NULL);
  if (!s) return UINT32_MAX;
  rec_plan plans[PV_KV_MAX_GROUPS];
  uint64_t take, freed;
  uint32_t cows;
  plan_all(kv, s, s->n_computed, (uint64_t)s->n_tokens + n_new, n_new, false, plans, &take, &freed, &cows);
  return net_need(take, freed);
}

uint32_t pv_kv_blocks_for_prepare(const pv_kv_manager *kv, uint32_t seq, uint32_t n_rows) {
  const pv_kv_seq *s = pv_kv_seq_resident(kv, seq, NULL);
  if (!s) return UINT32_MAX;
  rec_plan plans[PV_KV_MAX_GROUPS];
  uint64_t take, freed;
  uint32_t cows;
  plan_all(kv, s, s->n_computed, (uint64_t)s->n_computed + n_rows, 0, false, plans, &take, &freed, &cows);
  return net_need(take, freed);
}

/* Moves every record: rows from n_computed on, positions below `upto` backed, n_new tokens
 * appended (their ids in `tokens`). All-or-nothing. */
static int advance(pv_kv_manager *kv, uint32_t seq, pv_kv_seq *s, uint64_t upto, const int32_t *tokens,
                   uint32_t n_new, pv_kv_xfer_list *copies, pv_error *err) {
  rec_plan plans[PV_KV_MAX_GROUPS];
  uint64_t take, freed;
  uint32_t cows;
  plan_all(kv, s, s->n_computed, upto, n_new, false, plans, &take, &freed, &cows);
  if (take > (uint64_t)kv->pool.n_free + freed)
    return pv_fail(err, PAGEDVK_ERR_KV_FULL, "kv: sequence %u needs %llu blocks for %u tokens, %u free", seq,
                   (unsigned long long)net_need(take, freed), n_new, kv->pool.n_free);
  uint32_t end = s->n_tokens + n_new;
  int rc = PAGEDVK_OK;
  for (uint32_t g = 0; g < kv->n_groups && !rc; g++)
    rc = pv_kv_seq_room(pv_kv_rec(kv, s, g), plans[g].n_table, g == 0 ? end : 0, err);
  if (!rc && cows) rc = pv_kv_xfer_reserve(copies, cows, err);
  if (rc) return rc;
  if (n_new) memcpy(s->tokens + s->n_tokens, tokens, (size_t)n_new * sizeof *tokens); /* prepare: tokens NULL */
  for (uint32_t g = 0; g < kv->n_groups; g++) apply_drop(kv, pv_kv_rec(kv, s, g), &plans[g]);
  for (uint32_t g = 0; g < kv->n_groups; g++) apply_rec(kv, pv_kv_rec(kv, s, g), &plans[g], end, copies);
  return PAGEDVK_OK;
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
  if (kv->max_chunk && s->n_tokens + n_new - s->n_computed > kv->max_chunk)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: sequence %u: %u rows to compute in one step, at most %u", seq,
                   s->n_tokens + n_new - s->n_computed, kv->max_chunk);
  return advance(kv, seq, s, (uint64_t)s->n_tokens + n_new, tokens, n_new, copies, err);
}

int pv_kv_seq_prepare(pv_kv_manager *kv, uint32_t seq, uint32_t n_rows, pv_error *err) {
  pv_kv_seq *s = pv_kv_seq_resident(kv, seq, err);
  if (!s) return PAGEDVK_ERR_INVALID;
  if (n_rows > s->n_tokens - s->n_computed)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: sequence %u: %u rows to prepare, %u pending", seq, n_rows,
                   s->n_tokens - s->n_computed);
  if (kv->max_chunk && n_rows > kv->max_chunk)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: sequence %u: %u rows in one step, at most %u", seq, n_rows,
                   kv->max_chunk);
  pv_kv_xfer_list none = {0};
  return advance(kv, seq, s, (uint64_t)s->n_computed + n_rows, NULL, 0, &none, err);
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
  const uint32_t bs = kv->pool.block_size, after = s->n_computed + n_tokens;
  for (uint32_t g = 0; g < kv->n_groups; g++) {
    const pv_kv_seq *r = pv_kv_rec(kv, s, g);
    if (after && r->top < (after - 1) / bs + 1)
      return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: sequence %u: group %u has no block for position %u", seq, g,
                     after - 1);
  }
  for (uint32_t g = 0; g < kv->n_groups; g++) pv_kv_rec(kv, s, g)->n_computed = after;
  if (!kv->prefix_cache_on) return PAGEDVK_OK;
  uint32_t full = s->n_computed / bs;
  while (!s->chain_broken && s->n_hashed < full)
    if (!register_next_block(kv, s)) s->chain_broken = true;
  return PAGEDVK_OK;
}

/* ---- Fork and free ---------------------------------------------------------------------------- */

/* Child record c (own buffers) becomes a copy of p sharing its blocks. */
static void copy_record(pv_kv_manager *kv, pv_kv_seq *c, const pv_kv_seq *p) {
  pv_kv_seq keep = *c; /* the child's own buffers and group links */
  *c = *p;
  c->table = keep.table;
  c->cap_table = keep.cap_table;
  c->tokens = keep.tokens;
  c->cap_tokens = keep.cap_tokens;
  memcpy(c->grp, keep.grp, sizeof c->grp);
  memcpy(c->table, p->table, (size_t)p->n_table * sizeof *p->table);
  if (!p->sub) memcpy(c->tokens, p->tokens, (size_t)p->n_tokens * sizeof *p->tokens);
  for (uint32_t i = p->lo; i < p->top; i++) pv_kv_block_retain(kv, p->table[i]);
}

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
  for (uint32_t g = 0; g < kv->n_groups; g++) copy_record(kv, pv_kv_rec(kv, c, g), pv_kv_rec(kv, p, g));
  kv->n_live++;
  *child = id;
  return PAGEDVK_OK;
}

int pv_kv_seq_free(pv_kv_manager *kv, uint32_t seq, pv_error *err) {
  pv_kv_seq *s = pv_kv_seq_get(kv, seq);
  if (!s) return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: no sequence %u", seq);
  const bool swapped = s->swapped;
  for (uint32_t g = kv->n_groups; g-- > 0;) {
    pv_kv_seq *r = pv_kv_rec(kv, s, g);
    /* Last block first: at the free-list tail a chain's first blocks end up evicted last. */
    for (uint32_t i = r->top; i-- > r->lo;) {
      if (swapped) pv_swap_space_release(&kv->swap, r->table[i]);
      else pv_kv_block_release(kv, r->table[i]);
    }
  }
  if (swapped) kv->n_swapped--;
  drop_records(kv, seq);
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
  return pv_kv_seq_group_table(kv, seq, 0, n_entries);
}

const uint32_t *pv_kv_seq_group_table(const pv_kv_manager *kv, uint32_t seq, uint32_t g, uint32_t *n_entries) {
  const pv_kv_seq *s = pv_kv_seq_get(kv, seq);
  if (s && g >= kv->n_groups) s = NULL;
  if (s) s = pv_kv_rec(kv, s, g);
  if (n_entries) *n_entries = s ? s->n_table : 0;
  return s ? s->table : NULL;
}

uint32_t pv_kv_num_seqs(const pv_kv_manager *kv) { return kv->n_live; }

int pv_kv_seq_reserve(pv_kv_manager *kv, uint32_t seq, uint32_t n_tokens, pv_error *err) {
  pv_kv_seq *s = pv_kv_seq_resident(kv, seq, err);
  if (!s) return PAGEDVK_ERR_INVALID;
  int rc = PAGEDVK_OK;
  for (uint32_t g = 0; g < kv->n_groups && !rc; g++)
    rc = pv_kv_seq_room(pv_kv_rec(kv, s, g), pv_kv_blocks_for_tokens(kv, n_tokens), g == 0 ? n_tokens : 0, err);
  return rc;
}
