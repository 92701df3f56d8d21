/*
 * kv_manager.h — the KV-cache block manager: what the engine and the scheduler call.
 *
 * Owns the block pool (block_pool.h), the prefix cache (prefix_cache.h), the host swap space
 * (swap_space.h) and the sequences: per sequence a block table (append-only array of physical
 * block ids), the token ids it stores and how many of them are computed (K/V on the device).
 * It never touches the GPU: block copies (copy-on-write) and swap transfers are handed back as
 * pv_kv_xfer requests that the engine records before the step's forward pass, in this order:
 * swap-outs, swap-ins, copies (a block freed by a swap-out may be handed out again in the same step).
 *
 * Sequence ids are the manager's own: small integers from pv_kv_seq_create / pv_kv_fork, valid
 * until pv_kv_seq_free, then reused. The engine maps its request ids to them.
 *
 * Policies (documented choices):
 *   - seq_create reserves blocks for the whole prompt at once (chunked prefill only calls
 *     mark_computed per chunk).
 *   - Prefix hits are whole FULL blocks, never the whole prompt: at most (n-1)/block_size blocks
 *     are taken, so the block holding the last prompt token is always fresh and private. When a
 *     prompt is an exact multiple of block_size and fully cached, its last block is recomputed
 *     (block_size tokens of work) instead of copied: no write can ever land in a shared block.
 *   - A block's key is registered in the prefix cache only by mark_computed, once the block is full
 *     and all its tokens are computed. A duplicate (same tokens, same prefix, already cached) is not
 *     registered twice; a key collision with other tokens is never registered and stops that
 *     sequence's registrations (its later blocks could not be reached anyway).
 *   - Free blocks with no cached contents go to the head of the free list, cached ones to the tail;
 *     a sequence's blocks are released last-to-first, so a chain's first blocks are evicted last.
 *   - fork requires every token of the parent to be computed (the engine forks after a step).
 *   - Copy-on-write happens in append_slots when the last block is partly filled and shared.
 *   - Swap moves whole sequences; pass a group's sequences together to keep their sharing.
 */
#ifndef PV_KV_MANAGER_H
#define PV_KV_MANAGER_H

#include "base/base.h"
#include "kv/block_pool.h" /* PV_KV_NONE */
#include "kv/prefix_cache.h"

#define PV_KV_DEFAULT_BLOCK_SIZE 16
#define PV_KV_MAX_GROUPS 32

typedef struct pv_kv_config {
  uint32_t n_blocks;          /* device blocks, ids 0..n_blocks-1 */
  uint32_t block_size;        /* tokens per block: 8, 16, 32 or 64; 0 means 16 */
  uint32_t n_swap_slots;      /* host swap space in blocks; 0 disables swapping */
  bool disable_prefix_cache;  /* no hits, no registrations */
  pv_kv_hash_fn hash;         /* NULL: XXH3 (tests inject a colliding one) */
  void *hash_user;
  /* Layer groups: each sequence keeps one block table per group (the layers of a group share a
   * block). 0 means 1. A group with window[g] = W > 0 serves sliding-window layers (a query at p
   * reads keys p-W+1 .. p): its blocks wholly before the window of every row still to compute go
   * back to the pool, and a prompt's blocks are assigned as its chunks are computed, so the group
   * never holds more than ceil((W - 1 + max_chunk) / block_size) + 1 blocks per sequence. The
   * prefix cache is off with more than one group (its hits would have to agree across groups). */
  uint32_t n_groups;
  uint32_t window[PV_KV_MAX_GROUPS];
  uint32_t max_chunk;         /* most rows one step computes for one sequence; needed with windows */
} pv_kv_config;

/* One block transfer request: copy-on-write (device block → device block), swap-out
 * (device block → host slot) or swap-in (host slot → device block). */
typedef struct pv_kv_xfer {
  uint32_t src, dst;
} pv_kv_xfer;

/* A growable list the caller owns; operations append to it (all-or-nothing). */
typedef struct pv_kv_xfer_list {
  pv_kv_xfer *items;
  uint32_t count, cap;
} pv_kv_xfer_list;

void pv_kv_xfer_list_clear(pv_kv_xfer_list *list);
void pv_kv_xfer_list_free(pv_kv_xfer_list *list);

typedef struct pv_kv_manager pv_kv_manager;

int pv_kv_create(pv_kv_manager **out, const pv_kv_config *cfg, pv_error *err);
void pv_kv_destroy(pv_kv_manager *kv);

/* ---- Pool queries ---------------------------------------------------------------------------- */
uint32_t pv_kv_block_size(const pv_kv_manager *kv);
uint32_t pv_kv_total_blocks(const pv_kv_manager *kv);
/* Blocks an allocation may take now: unused ones plus cached ones that nobody holds (evictable). */
uint32_t pv_kv_free_blocks(const pv_kv_manager *kv);
uint32_t pv_kv_free_swap_slots(const pv_kv_manager *kv);
/* ceil(n_tokens / block_size): blocks for n tokens ignoring the prefix cache. */
uint32_t pv_kv_blocks_for_tokens(const pv_kv_manager *kv, uint32_t n_tokens);
/* The most blocks one sequence of n_tokens holds over every layer group (a sliding group at most
 * its reach): what it needs to run alone in the pool. */
uint32_t pv_kv_blocks_for_sequence(const pv_kv_manager *kv, uint32_t n_tokens);

/* ---- Admission ------------------------------------------------------------------------------- */
typedef struct pv_kv_prompt_plan {
  uint32_t cached_tokens; /* tokens the prefix cache would supply (multiple of block_size, < n) */
  uint32_t blocks_total;  /* blocks in the table once created */
  uint32_t blocks_needed; /* blocks taken out of the free list: new ones + free cached hits revived */
} pv_kv_prompt_plan;

/* What seq_create would do for this prompt; changes nothing. n_tokens >= 1. */
int pv_kv_plan_prompt(const pv_kv_manager *kv, const int32_t *tokens, uint32_t n_tokens, pv_kv_prompt_plan *plan,
                      pv_error *err);
/* True when the prompt fits and at least watermark_blocks stay free afterwards. */
bool pv_kv_can_allocate(const pv_kv_manager *kv, const int32_t *tokens, uint32_t n_tokens, uint32_t watermark_blocks);

/* Creates a sequence holding the prompt: takes the longest verified cached prefix, reserves blocks
 * for the rest. *cached_tokens: how many leading tokens are already computed (always < n_tokens).
 * PAGEDVK_ERR_KV_FULL (state unchanged) when the blocks are not there. */
int pv_kv_seq_create(pv_kv_manager *kv, const int32_t *tokens, uint32_t n_tokens, uint32_t *seq,
                     uint32_t *cached_tokens, pv_error *err);

/* ---- Per step -------------------------------------------------------------------------------- */
/* Blocks append_slots(seq, n_new) would take from the free list (new blocks + a copy-on-write,
 * over every group, net of blocks sliding groups give back); UINT32_MAX for an unknown or
 * swapped sequence. */
uint32_t pv_kv_blocks_for_append(const pv_kv_manager *kv, uint32_t seq, uint32_t n_new);
/* Reserves slots for n_new tokens (their ids given); appends a {src, dst} copy to `copies` when the
 * last block was shared and partly filled. All-or-nothing: PAGEDVK_ERR_KV_FULL leaves everything
 * (the list included) unchanged. */
int pv_kv_append_slots(pv_kv_manager *kv, uint32_t seq, const int32_t *tokens, uint32_t n_new,
                       pv_kv_xfer_list *copies, pv_error *err);
/* Before a step computes the next n_rows prompt rows (positions n_computed ..): sliding groups
 * give back blocks out of the window and get blocks for those rows. No-op without windows.
 * All-or-nothing; PAGEDVK_ERR_KV_FULL when the blocks are not there (n_rows <= max_chunk). */
int pv_kv_seq_prepare(pv_kv_manager *kv, uint32_t seq, uint32_t n_rows, pv_error *err);
/* Blocks prepare(seq, n_rows) takes from the free list net of those it gives back (UINT32_MAX:
 * unknown or swapped sequence). */
uint32_t pv_kv_blocks_for_prepare(const pv_kv_manager *kv, uint32_t seq, uint32_t n_rows);
/* The next n tokens' K/V are on the device now; full blocks among them become prefix-cache hits. */
int pv_kv_mark_computed(pv_kv_manager *kv, uint32_t seq, uint32_t n_tokens, pv_error *err);
/* Sizes a sequence's block table and token list for n_tokens, so that appending up to there
 * allocates no host memory (the engine's per-step path stays allocation-free). Takes no blocks. */
int pv_kv_seq_reserve(pv_kv_manager *kv, uint32_t seq, uint32_t n_tokens, pv_error *err);
/* A new sequence sharing every block of `parent` (all of whose tokens must be computed). */
int pv_kv_fork(pv_kv_manager *kv, uint32_t parent, uint32_t *child, pv_error *err);
/* Releases every block (or host slot, if swapped) of the sequence; the id becomes invalid. */
int pv_kv_seq_free(pv_kv_manager *kv, uint32_t seq, pv_error *err);

/* slot = table[pos / block_size] * block_size + pos % block_size, for pos < seq_len. */
int pv_kv_slot(const pv_kv_manager *kv, uint32_t seq, uint32_t pos, uint32_t *slot, pv_error *err);
/* slots[i] = slot of position start + i, for i < n. */
int pv_kv_slot_mapping(const pv_kv_manager *kv, uint32_t seq, uint32_t start, uint32_t n, uint32_t *slots,
                       pv_error *err);

/* ---- Swap ------------------------------------------------------------------------------------ */
/* Host slots a swap-out of these sequences takes: their distinct device blocks (UINT32_MAX when an
 * id is unknown, swapped or listed twice). The swap queries use the manager's scratch marks. */
uint32_t pv_kv_swap_out_slots(const pv_kv_manager *kv, const uint32_t *seqs, uint32_t n_seqs);
bool pv_kv_can_swap_out(const pv_kv_manager *kv, const uint32_t *seqs, uint32_t n_seqs);
/* Device blocks a swap-in of these (swapped) sequences takes: their distinct host slots (or UINT32_MAX). */
uint32_t pv_kv_swap_in_blocks(const pv_kv_manager *kv, const uint32_t *seqs, uint32_t n_seqs);
bool pv_kv_can_swap_in(const pv_kv_manager *kv, const uint32_t *seqs, uint32_t n_seqs, uint32_t watermark_blocks);
/* Moves the sequences to host slots: {device block → host slot} per distinct block, device blocks
 * released. PAGEDVK_ERR_KV_FULL (nothing changed) means the swap space is full: recompute instead. */
int pv_kv_swap_out(pv_kv_manager *kv, const uint32_t *seqs, uint32_t n_seqs, pv_kv_xfer_list *out, pv_error *err);
/* The reverse: {host slot → device block} per distinct slot, sharing among `seqs` restored.
 * PAGEDVK_ERR_KV_FULL (nothing changed) when the device blocks are not there. */
int pv_kv_swap_in(pv_kv_manager *kv, const uint32_t *seqs, uint32_t n_seqs, pv_kv_xfer_list *in, pv_error *err);

/* ---- Sequence queries (invalid ids: false / 0 / NULL) ---------------------------------------- */
bool pv_kv_seq_valid(const pv_kv_manager *kv, uint32_t seq);
bool pv_kv_seq_swapped(const pv_kv_manager *kv, uint32_t seq);
uint32_t pv_kv_seq_len(const pv_kv_manager *kv, uint32_t seq);      /* tokens with a slot */
uint32_t pv_kv_seq_computed(const pv_kv_manager *kv, uint32_t seq); /* of which computed */
const int32_t *pv_kv_seq_tokens(const pv_kv_manager *kv, uint32_t seq);
/* Block table (host slot ids while swapped); *n_entries = blocks in it. Group 0's. */
const uint32_t *pv_kv_seq_table(const pv_kv_manager *kv, uint32_t seq, uint32_t *n_entries);
/* Group g's block table; entries of a sliding group outside its window are PV_KV_NONE. */
const uint32_t *pv_kv_seq_group_table(const pv_kv_manager *kv, uint32_t seq, uint32_t g, uint32_t *n_entries);
uint32_t pv_kv_n_groups(const pv_kv_manager *kv);
uint32_t pv_kv_group_window(const pv_kv_manager *kv, uint32_t g);
uint32_t pv_kv_num_seqs(const pv_kv_manager *kv); /* live sequences, swapped ones included */

/* Refcount of a device block; the token ids of a cached block (NULL if not cached). */
uint32_t pv_kv_block_ref(const pv_kv_manager *kv, uint32_t block);
const int32_t *pv_kv_block_cached_tokens(const pv_kv_manager *kv, uint32_t block);
/* The free list from head (next allocated) to tail; writes up to `cap` ids, returns the length. */
uint32_t pv_kv_free_list(const pv_kv_manager *kv, uint32_t *ids, uint32_t cap);

/* ---- Stats and checks ------------------------------------------------------------------------ */
typedef struct pv_kv_stats {
  uint32_t blocks_total, blocks_free, blocks_used;
  uint32_t blocks_cached;    /* holding a registered key (in use or not) */
  uint32_t blocks_evictable; /* cached and free */
  uint64_t tokens_stored;    /* reserved slots in used blocks, shared ones counted once */
  double utilization;        /* tokens_stored / (blocks_used * block_size), 0 when nothing is used */
  uint64_t bytes_total, bytes_used;
  uint64_t blocks_saved_by_sharing; /* sum over used blocks of refcount - 1 */
  uint64_t prefix_query_tokens, prefix_hit_tokens; /* over every seq_create */
  double prefix_hit_rate;                          /* hit / query tokens, 0 before any query */
  uint64_t evictions, cow_copies, swapped_out_blocks, swapped_in_blocks;
  uint32_t swap_slots_total, swap_slots_used;
  uint32_t seqs, seqs_swapped;
} pv_kv_stats;

void pv_kv_get_stats(const pv_kv_manager *kv, uint64_t bytes_per_block, pv_kv_stats *stats);

/* Checks every structural invariant (see kv_check.c); PAGEDVK_ERR_INVALID with the first broken
 * one in err. O(blocks + table entries); meant for tests and debug builds. */
int pv_kv_check_invariants(const pv_kv_manager *kv, pv_error *err);

#endif /* PV_KV_MANAGER_H */
