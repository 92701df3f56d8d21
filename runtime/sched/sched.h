/*
 * sched.h — the continuous-batching scheduler.
 *
 * It owns the queues of sequence groups (one group = one request; several sequences when the
 * request samples n > 1 or searches beams) and decides, each step, which sequences run with how
 * many new tokens within max_num_seqs and max_num_batched_tokens. It carries out the block side
 * of its decisions through the KV manager (runtime/kv: admission with prefix-cache hits, slot
 * appends, preemption) and hands the engine a plain plan: token chunks to compute and the block
 * copies and swap transfers to record. It records no GPU commands.
 *
 * Policy: FCFS (or priority, then arrival). Running sequences first (decodes and the next
 * chunks of prompts being prefilled), then swapped-out groups come back in, then waiting groups
 * are admitted while budget, sequences and free blocks above a watermark allow — in order, so a
 * large request is never starved by smaller ones behind it. When a running sequence needs a
 * block and none is free, the lowest-priority, latest-arrived running group is preempted: by
 * recompute (blocks freed; its tokens are prefilled again when it is readmitted) or by swapping
 * its blocks to host memory (falling back to recompute when the swap space is full).
 */
#ifndef PV_SCHED_H
#define PV_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "kv/kv_manager.h"

#define PV_SCHED_NO_KV UINT32_MAX

typedef enum pv_group_state { PV_GROUP_WAITING, PV_GROUP_RUNNING, PV_GROUP_SWAPPED, PV_GROUP_FINISHED } pv_group_state;

typedef struct pv_sched_seq {
  int32_t *tokens;       /* prompt + generated, all of them */
  uint32_t n_tokens;
  uint32_t cap;
  uint32_t kv_seq;       /* PV_SCHED_NO_KV while waiting (never admitted, or preempted by recompute) */
  bool finished;
  void *user;            /* the engine's per-sequence state */
} pv_sched_seq;

typedef struct pv_sched_group {
  uint64_t id;
  int32_t priority;
  uint64_t arrival;
  uint32_t n_prompt;
  uint32_t max_len;      /* tokens a sequence can reach (prompt + max_tokens): KV host arrays sized once */
  pv_group_state state;
  pv_sched_seq *seqs;
  uint32_t n_seqs;
  uint32_t preemptions;
  bool kv_exhausted;     /* alone on the device and still out of blocks: the engine ends it */
  void *user;            /* the engine's request */
  struct pv_sched_group *prev, *next; /* in its queue */
} pv_sched_group;

typedef struct pv_sched_config {
  uint32_t max_num_seqs;
  uint32_t max_num_batched_tokens;
  uint32_t max_model_len;
  uint32_t watermark_blocks;  /* free blocks kept back when admitting new groups */
  bool swap;                  /* preempt by swapping (else recompute) */
  bool priority;              /* priority, then arrival; else arrival only */
  bool contiguous;            /* baseline: reserve max_model_len slots per sequence at admission */
} pv_sched_config;

/* One chunk of one sequence computed this step: tokens [start, start + n) of seq. */
typedef struct pv_sched_item {
  pv_sched_group *group;
  uint32_t seq_index;
  uint32_t start;
  uint32_t n;
  bool wants_logits;         /* the chunk reaches the sequence's end: sample the next token */
} pv_sched_item;

typedef struct pv_sched_plan {
  pv_sched_item *items;
  uint32_t n_items;
  uint32_t n_tokens;
  pv_kv_xfer_list copies;    /* copy-on-write: device block -> device block, before the forward pass */
  pv_kv_xfer_list swap_out;  /* device block -> host slot */
  pv_kv_xfer_list swap_in;   /* host slot -> device block */
  uint32_t preempted;        /* groups preempted this step */
  pv_sched_group *failed;    /* pv_sched_step failed: the group it was serving (NULL when it did not) */
} pv_sched_plan;

typedef struct pv_sched {
  pv_sched_config cfg;
  pv_kv_manager *kv;
  pv_sched_group *waiting, *running, *swapped; /* doubly linked, ordered by (priority,) arrival */
  uint32_t n_waiting, n_running, n_swapped;
  uint64_t arrivals;
  uint64_t preemptions, swaps_out, swaps_in;
  pv_sched_item *items;
  uint32_t items_cap;
  /* scratch, sized for max_num_seqs at init (grown only for a larger group): a group's live KV
   * sequence ids (swap), and the new sequences and each old one's first child (reparent) */
  uint32_t *ids;
  uint32_t ids_cap;
  pv_sched_seq *next_seqs;
  uint32_t next_cap;
  uint32_t *first_child;
  uint32_t first_cap;
} pv_sched;

int pv_sched_init(pv_sched *s, const pv_sched_config *cfg, pv_kv_manager *kv, pv_error *err);
void pv_sched_destroy(pv_sched *s);

/* Queues a new group (its sequences hold the prompt tokens). */
void pv_sched_add(pv_sched *s, pv_sched_group *g);

/* Removes a group from whichever queue holds it and frees its KV sequences. */
void pv_sched_remove(pv_sched *s, pv_sched_group *g);

/* Frees the KV of one finished sequence of a running group (its siblings go on). */
void pv_sched_seq_done(pv_sched *s, pv_sched_seq *seq);

/* Appends a token to a sequence's token list (after sampling). */
int pv_sched_seq_push(pv_sched_seq *seq, int32_t token, pv_error *err);

/* Who holds which KV blocks is decided here and in runtime/kv only: the engine asks for forks.
 *
 * fork_seq: a new sequence g->seqs[g->n_seqs] (the caller's array has room; its old token list, if
 * any, is freed) becomes a copy of running sequence `src`: the same tokens (room for g->max_len) and a
 * KV sequence sharing all of src's blocks (copy-on-write when they diverge). src's tokens must all be
 * computed. g->n_seqs grows by one; on failure nothing changes. */
int pv_sched_fork_seq(pv_sched *s, pv_sched_group *g, uint32_t src, pv_error *err);

/* reparent (beam search): g's n_seqs sequences are replaced by n_new ones, new sequence j
 * descending from old sequence parent[j]. An old sequence's first child takes its tokens and KV
 * sequence, its further children fork it, one without children is freed. All or nothing: on failure
 * (PAGEDVK_ERR_INVALID for a parent out of range, or no memory / blocks for a fork) the group is as
 * it was. n_new may be 0 (every sequence freed). */
int pv_sched_reparent(pv_sched *s, pv_sched_group *g, const uint32_t *parent, uint32_t n_new, pv_error *err);

/* Plans the next step. The plan is valid until the next call; it stays within the budget:
 * n_tokens <= max_num_batched_tokens and n_items <= max_num_seqs (asserted in debug builds).
 * On failure plan->failed names the group whose reservation, swap-in, admission or item failed; the
 * block side of what was planned before it stays done (transfers and copies listed in the plan). */
int pv_sched_step(pv_sched *s, pv_sched_plan *plan, pv_error *err);

/* After the device ran the plan: the computed tokens' K/V now exist (feeds the prefix cache). */
int pv_sched_commit(pv_sched *s, const pv_sched_plan *plan, pv_error *err);

void pv_sched_plan_init(pv_sched_plan *plan);
void pv_sched_plan_free(pv_sched_plan *plan);

/* Whether a prompt of n tokens could ever be served (fits max_model_len and the whole pool). */
int pv_sched_check_prompt(const pv_sched *s, uint32_t n_prompt, uint32_t max_tokens, pv_error *err);

#endif
