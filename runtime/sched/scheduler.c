/*
 * scheduler.c — see sched.h for the policy. Invariants:
 *   - a group is in exactly one of the waiting / running / swapped lists, or in none once removed;
 *   - a running group's live sequences each have a KV sequence; a waiting group's have none;
 *   - for every live sequence of a running group, the KV manager holds slots for all its tokens
 *     after pass 0 of a step (tokens sampled last step get their slot then);
 *   - a plan stays within its budget: n_tokens <= max_num_batched_tokens, n_items <= max_num_seqs
 *     (asserted at the end of pv_sched_step; assert() is on in Debug builds, off under NDEBUG).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "sched/sched.h"

/* ---- queues ------------------------------------------------------------------------------- */

static bool before(const pv_sched *s, const pv_sched_group *a, const pv_sched_group *b) {
  if (s->cfg.priority && a->priority != b->priority) return a->priority < b->priority;
  return a->arrival < b->arrival;
}

static pv_sched_group **queue_of(pv_sched *s, pv_group_state st, uint32_t **count) {
  switch (st) {
    case PV_GROUP_WAITING: *count = &s->n_waiting; return &s->waiting;
    case PV_GROUP_RUNNING: *count = &s->n_running; return &s->running;
    case PV_GROUP_SWAPPED: *count = &s->n_swapped; return &s->swapped;
    default: *count = NULL; return NULL;
  }
}

static void unlink_group(pv_sched *s, pv_sched_group *g) {
  uint32_t *count;
  pv_sched_group **head = queue_of(s, g->state, &count);
  if (!head) return;
  if (g->prev) g->prev->next = g->next;
  else *head = g->next;
  if (g->next) g->next->prev = g->prev;
  g->prev = g->next = NULL;
  (*count)--;
}

/* Inserts in order (stable: after equals). */
static void link_group(pv_sched *s, pv_sched_group *g, pv_group_state st) {
  uint32_t *count;
  g->state = st;
  pv_sched_group **head = queue_of(s, st, &count);
  pv_sched_group *prev = NULL, *cur = *head;
  while (cur && !before(s, g, cur)) {
    prev = cur;
    cur = cur->next;
  }
  g->prev = prev;
  g->next = cur;
  if (prev) prev->next = g;
  else *head = g;
  if (cur) cur->prev = g;
  (*count)++;
}

static void move_group(pv_sched *s, pv_sched_group *g, pv_group_state st) {
  unlink_group(s, g);
  link_group(s, g, st);
}

static pv_sched_group *tail(pv_sched_group *head) {
  while (head && head->next) head = head->next;
  return head;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

int pv_sched_init(pv_sched *s, const pv_sched_config *cfg, pv_kv_manager *kv, pv_error *err) {
  memset(s, 0, sizeof *s);
  s->cfg = *cfg;
  s->kv = kv;
  if (!cfg->max_num_seqs || !cfg->max_num_batched_tokens || !cfg->max_model_len)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "scheduler: max_num_seqs, max_num_batched_tokens and max_model_len must be > 0");
  const uint32_t n = cfg->max_num_seqs;
  if (PV_GROW_U32(s->items, s->items_cap, n) || PV_GROW_U32(s->ids, s->ids_cap, n) ||
      PV_GROW_U32(s->next_seqs, s->next_cap, n) || PV_GROW_U32(s->first_child, s->first_cap, n)) {
    pv_sched_destroy(s);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "scheduler: no memory for %u sequences", n);
  }
  return PAGEDVK_OK;
}

void pv_sched_destroy(pv_sched *s) {
  free(s->items);
  free(s->ids);
  free(s->next_seqs);
  free(s->first_child);
  s->items = NULL;
  s->ids = s->first_child = NULL;
  s->next_seqs = NULL;
  s->items_cap = s->ids_cap = s->next_cap = s->first_cap = 0;
}

void pv_sched_plan_init(pv_sched_plan *plan) { memset(plan, 0, sizeof *plan); }

void pv_sched_plan_free(pv_sched_plan *plan) {
  pv_kv_xfer_list_free(&plan->copies);
  pv_kv_xfer_list_free(&plan->swap_out);
  pv_kv_xfer_list_free(&plan->swap_in);
}

void pv_sched_add(pv_sched *s, pv_sched_group *g) {
  g->arrival = s->arrivals++;
  g->prev = g->next = NULL;
  for (uint32_t i = 0; i < g->n_seqs; i++) g->seqs[i].kv_seq = PV_SCHED_NO_KV;
  link_group(s, g, PV_GROUP_WAITING);
}

static void free_kv(pv_sched *s, pv_sched_seq *q) {
  if (q->kv_seq != PV_SCHED_NO_KV) pv_kv_seq_free(s->kv, q->kv_seq, NULL);
  q->kv_seq = PV_SCHED_NO_KV;
}

void pv_sched_remove(pv_sched *s, pv_sched_group *g) {
  unlink_group(s, g);
  for (uint32_t i = 0; i < g->n_seqs; i++) free_kv(s, &g->seqs[i]);
  g->state = PV_GROUP_FINISHED;
}

void pv_sched_seq_done(pv_sched *s, pv_sched_seq *seq) {
  seq->finished = true;
  free_kv(s, seq);
}

int pv_sched_seq_push(pv_sched_seq *q, int32_t token, pv_error *err) {
  if (PV_GROW_U32(q->tokens, q->cap, (size_t)q->n_tokens + 1))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "scheduler: out of memory");
  q->tokens[q->n_tokens++] = token;
  return PAGEDVK_OK;
}

/* ---- forks (parallel samples, beam search) ------------------------------------------------------ */

/* Frees what a sequence holds: its KV sequence and its token list. */
static void drop_seq(pv_sched *s, pv_sched_seq *q) {
  if (q->kv_seq != PV_SCHED_NO_KV) pv_kv_seq_free(s->kv, q->kv_seq, NULL);
  free(q->tokens);
  memset(q, 0, sizeof *q);
  q->kv_seq = PV_SCHED_NO_KV;
}

/* *dst (holding nothing) becomes a copy of src: tokens with room for the group's max_len, and a
 * KV sequence sharing src's blocks. On failure *dst holds nothing. */
static int fork_into(pv_sched *s, const pv_sched_group *g, const pv_sched_seq *src, pv_sched_seq *dst, pv_error *err) {
  memset(dst, 0, sizeof *dst);
  dst->kv_seq = PV_SCHED_NO_KV;
  dst->user = src->user;
  uint32_t want = g->max_len > src->n_tokens ? g->max_len : src->n_tokens + 1;
  if (PV_GROW_U32(dst->tokens, dst->cap, want)) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "scheduler: out of memory");
  memcpy(dst->tokens, src->tokens, (size_t)src->n_tokens * sizeof *src->tokens);
  dst->n_tokens = src->n_tokens;
  int rc = pv_kv_fork(s->kv, src->kv_seq, &dst->kv_seq, err);
  if (!rc) rc = pv_kv_seq_reserve(s->kv, dst->kv_seq, want, err);
  if (rc) drop_seq(s, dst);
  return rc;
}

int pv_sched_fork_seq(pv_sched *s, pv_sched_group *g, uint32_t src, pv_error *err) {
  if (src >= g->n_seqs) return pv_fail(err, PAGEDVK_ERR_INVALID, "scheduler: fork of sequence %u of %u", src, g->n_seqs);
  pv_sched_seq *dst = &g->seqs[g->n_seqs];
  free(dst->tokens);
  int rc = fork_into(s, g, &g->seqs[src], dst, err);
  if (!rc) g->n_seqs++;
  return rc;
}

#define NO_CHILD UINT32_MAX

int pv_sched_reparent(pv_sched *s, pv_sched_group *g, const uint32_t *parent, uint32_t n_new, pv_error *err) {
  const uint32_t n_old = g->n_seqs;
  for (uint32_t j = 0; j < n_new; j++)
    if (parent[j] >= n_old)
      return pv_fail(err, PAGEDVK_ERR_INVALID, "scheduler: new sequence %u names parent %u of %u", j, parent[j], n_old);
  if (PV_GROW_U32(s->next_seqs, s->next_cap, n_new) || PV_GROW_U32(s->first_child, s->first_cap, n_old))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "scheduler: out of memory");
  pv_sched_seq *next = s->next_seqs;
  uint32_t *first = s->first_child;
  for (uint32_t p = 0; p < n_old; p++) first[p] = NO_CHILD;
  for (uint32_t j = 0; j < n_new; j++) { /* forks first, while the parents are intact */
    if (first[parent[j]] == NO_CHILD) {
      first[parent[j]] = j;
      continue;
    }
    int rc = fork_into(s, g, &g->seqs[parent[j]], &next[j], err);
    if (rc) { /* undo the forks made so far: the group stays as it was */
      for (uint32_t k = 0; k < j; k++)
        if (first[parent[k]] != k) drop_seq(s, &next[k]);
      return rc;
    }
  }
  for (uint32_t p = 0; p < n_old; p++) {
    if (first[p] != NO_CHILD) next[first[p]] = g->seqs[p]; /* takes its tokens and KV sequence */
    else drop_seq(s, &g->seqs[p]);
    memset(&g->seqs[p], 0, sizeof g->seqs[p]);
  }
  for (uint32_t j = 0; j < n_new; j++) {
    g->seqs[j] = next[j];
    g->seqs[j].finished = false;
  }
  g->n_seqs = n_new;
  return PAGEDVK_OK;
}

int pv_sched_check_prompt(const pv_sched *s, uint32_t n_prompt, uint32_t max_tokens, pv_error *err) {
  (void)max_tokens;
  if (n_prompt == 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "the prompt is empty");
  if (n_prompt >= s->cfg.max_model_len)
    return pv_fail(err, PAGEDVK_ERR_TOO_LONG, "the prompt has %u tokens; this model's context allows %u", n_prompt,
                   s->cfg.max_model_len - 1);
  uint32_t need = s->cfg.contiguous ? pv_kv_blocks_for_tokens(s->kv, s->cfg.max_model_len)
                                    : pv_kv_blocks_for_sequence(s->kv, n_prompt + 1);
  if (need > pv_kv_total_blocks(s->kv))
    return pv_fail(err, PAGEDVK_ERR_KV_FULL, "the prompt needs %u KV blocks; the whole pool has %u (raise --kv-mem)",
                   need, pv_kv_total_blocks(s->kv));
  return PAGEDVK_OK;
}

/* ---- helpers over a group's live sequences ------------------------------------------------ */

static uint32_t live_seqs(const pv_sched_group *g, uint32_t *kv_ids) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < g->n_seqs; i++)
    if (!g->seqs[i].finished) {
      if (kv_ids) kv_ids[n] = g->seqs[i].kv_seq;
      n++;
    }
  return n;
}

/* Blocks reserved per sequence in the contiguous baseline. */
static uint32_t contiguous_blocks(const pv_sched *s) { return pv_kv_blocks_for_tokens(s->kv, s->cfg.max_model_len); }

/* Blocks the contiguous baseline holds back for running sequences beyond what they use now. */
static uint32_t reserved_blocks(const pv_sched *s) {
  if (!s->cfg.contiguous) return 0;
  uint64_t reserved = 0;
  for (const pv_sched_group *g = s->running; g; g = g->next)
    for (uint32_t i = 0; i < g->n_seqs; i++) {
      const pv_sched_seq *q = &g->seqs[i];
      if (q->finished || q->kv_seq == PV_SCHED_NO_KV) continue;
      uint32_t used = pv_kv_blocks_for_tokens(s->kv, pv_kv_seq_len(s->kv, q->kv_seq));
      reserved += contiguous_blocks(s) > used ? contiguous_blocks(s) - used : 0;
    }
  return reserved > UINT32_MAX ? UINT32_MAX : (uint32_t)reserved;
}

static uint32_t available_blocks(const pv_sched *s) {
  uint32_t free = pv_kv_free_blocks(s->kv), res = reserved_blocks(s);
  return free > res ? free - res : 0;
}

/* ---- preemption ------------------------------------------------------------------------------ */

/* The KV sequence ids of g's live sequences into s->ids (grown for a group above max_num_seqs). */
static int live_ids(pv_sched *s, const pv_sched_group *g, uint32_t *n, pv_error *err) {
  if (PV_GROW_U32(s->ids, s->ids_cap, live_seqs(g, NULL)))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "scheduler: out of memory");
  *n = live_seqs(g, s->ids);
  return PAGEDVK_OK;
}

static int preempt(pv_sched *s, pv_sched_group *g, pv_sched_plan *plan, pv_error *err) {
  uint32_t n = 0;
  s->preemptions++;
  g->preemptions++;
  plan->preempted++;
  if (s->cfg.swap) {
    int rc = live_ids(s, g, &n, err);
    if (rc) return rc;
    if (pv_kv_can_swap_out(s->kv, s->ids, n)) {
      rc = pv_kv_swap_out(s->kv, s->ids, n, &plan->swap_out, err);
      if (rc) return rc;
      s->swaps_out++;
      move_group(s, g, PV_GROUP_SWAPPED);
      return PAGEDVK_OK;
    }
  }
  for (uint32_t i = 0; i < g->n_seqs; i++) free_kv(s, &g->seqs[i]);
  move_group(s, g, PV_GROUP_WAITING);
  return PAGEDVK_OK;
}

/* Gives every live sequence of g slots for its tokens, preempting from the tail of the running
 * list when blocks run out. Sets *lost when g itself had to be preempted. */
static int reserve_slots(pv_sched *s, pv_sched_group *g, pv_sched_plan *plan, bool *lost, pv_error *err) {
  *lost = false;
  for (uint32_t i = 0; i < g->n_seqs; i++) {
    pv_sched_seq *q = &g->seqs[i];
    if (q->finished) continue;
    uint32_t len = pv_kv_seq_len(s->kv, q->kv_seq);
    if (q->n_tokens <= len || g->kv_exhausted) continue;
    uint32_t need = q->n_tokens - len;
    while (pv_kv_free_blocks(s->kv) < pv_kv_blocks_for_append(s->kv, q->kv_seq, need)) {
      pv_sched_group *victim = tail(s->running);
      if (!victim || (victim == g && s->running == g)) { /* nothing left to preempt: it can never grow */
        g->kv_exhausted = true;
        return PAGEDVK_OK;
      }
      int rc = preempt(s, victim, plan, err);
      if (rc) return rc;
      if (victim == g) {
        *lost = true;
        return PAGEDVK_OK;
      }
    }
    int rc = pv_kv_append_slots(s->kv, q->kv_seq, q->tokens + len, need, &plan->copies, err);
    if (rc) return rc;
  }
  return PAGEDVK_OK;
}

/* ---- building the batch ------------------------------------------------------------------- */

typedef struct budget {
  uint32_t tokens, seqs;
} budget;

static int add_item(pv_sched *s, pv_sched_plan *plan, pv_sched_group *g, uint32_t i, uint32_t start, uint32_t n,
                    pv_error *err) {
  if (PV_GROW_U32(s->items, s->items_cap, (size_t)plan->n_items + 1))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "scheduler: out of memory");
  plan->items = s->items;
  s->items[plan->n_items++] = (pv_sched_item){g, i, start, n, start + n == g->seqs[i].n_tokens};
  plan->n_tokens += n;
  return PAGEDVK_OK;
}

/* Decoding sequences of g: all of them run in the same step or none (beam search and parallel
 * samples advance together). */
static uint32_t decoding_seqs(const pv_sched *s, const pv_sched_group *g) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < g->n_seqs; i++) {
    const pv_sched_seq *q = &g->seqs[i];
    if (!q->finished && q->n_tokens - pv_kv_seq_computed(s->kv, q->kv_seq) == 1) n++;
  }
  return n;
}

/* Schedules the live sequences of g that need exactly one token (decode) or more (prefill). */
static int schedule_group(pv_sched *s, pv_sched_plan *plan, pv_sched_group *g, bool prefill, budget *b,
                          pv_error *err) {
  if (!prefill) {
    uint32_t n = decoding_seqs(s, g);
    if (n > b->seqs || n > b->tokens) return PAGEDVK_OK;
  }
  for (uint32_t i = 0; i < g->n_seqs; i++) {
    pv_sched_seq *q = &g->seqs[i];
    if (q->finished) continue;
    uint32_t done = pv_kv_seq_computed(s->kv, q->kv_seq);
    uint32_t todo = q->n_tokens - done;
    if (todo == 0 || (todo > 1) != prefill || g->kv_exhausted) continue;
    if (b->seqs == 0 || b->tokens == 0) return PAGEDVK_OK;
    uint32_t n = todo < b->tokens ? todo : b->tokens;
    /* sliding-window layer groups: blocks out of the window go back, the chunk's come in (no net
     * need unless blocks are shared; then the chunk waits for blocks to free up) */
    if (pv_kv_blocks_for_prepare(s->kv, q->kv_seq, n) > pv_kv_free_blocks(s->kv)) continue;
    int rc = pv_kv_seq_prepare(s->kv, q->kv_seq, n, err);
    if (!rc) rc = add_item(s, plan, g, i, done, n, err);
    if (rc) return rc;
    b->tokens -= n;
    b->seqs--;
  }
  return PAGEDVK_OK;
}

static bool fits_waiting(const pv_sched *s, const pv_sched_group *g, const budget *b) {
  uint32_t n = live_seqs(g, NULL);
  if (n > b->seqs || b->tokens == 0) return false;
  uint64_t need = 0;
  for (uint32_t i = 0; i < g->n_seqs; i++) {
    const pv_sched_seq *q = &g->seqs[i];
    if (q->finished) continue;
    if (s->cfg.contiguous) {
      need += contiguous_blocks(s);
    } else {
      pv_kv_prompt_plan pp;
      if (pv_kv_plan_prompt(s->kv, q->tokens, q->n_tokens, &pp, NULL)) return false;
      need += pp.blocks_needed;
    }
  }
  return need + s->cfg.watermark_blocks <= available_blocks(s);
}

static int admit(pv_sched *s, pv_sched_group *g, pv_error *err) {
  for (uint32_t i = 0; i < g->n_seqs; i++) {
    pv_sched_seq *q = &g->seqs[i];
    if (q->finished) continue;
    uint32_t cached = 0;
    int rc = pv_kv_seq_create(s->kv, q->tokens, q->n_tokens, &q->kv_seq, &cached, err);
    if (!rc && g->max_len > q->n_tokens) rc = pv_kv_seq_reserve(s->kv, q->kv_seq, g->max_len, err);
    if (rc && q->kv_seq != PV_SCHED_NO_KV) {
      pv_kv_seq_free(s->kv, q->kv_seq, NULL);
      q->kv_seq = PV_SCHED_NO_KV;
    }
    if (rc) {
      for (uint32_t j = 0; j < i; j++) free_kv(s, &g->seqs[j]);
      return rc;
    }
  }
  move_group(s, g, PV_GROUP_RUNNING);
  return PAGEDVK_OK;
}

static int swap_in(pv_sched *s, pv_sched_group *g, pv_sched_plan *plan, const budget *b, bool *done, pv_error *err) {
  uint32_t n = live_seqs(g, NULL);
  *done = false;
  if (n > b->seqs) return PAGEDVK_OK;
  int rc = live_ids(s, g, &n, err);
  if (rc) return rc;
  if (!pv_kv_can_swap_in(s->kv, s->ids, n, s->cfg.watermark_blocks)) return PAGEDVK_OK;
  rc = pv_kv_swap_in(s->kv, s->ids, n, &plan->swap_in, err);
  if (rc) return rc;
  s->swaps_in++;
  move_group(s, g, PV_GROUP_RUNNING);
  *done = true;
  return PAGEDVK_OK;
}

/* An error while serving g is g's: the plan names it (first error wins). */
static int blame(pv_sched_plan *plan, pv_sched_group *g, int rc) {
  if (rc && !plan->failed) plan->failed = g;
  return rc;
}

int pv_sched_step(pv_sched *s, pv_sched_plan *plan, pv_error *err) {
  pv_kv_xfer_list_clear(&plan->copies);
  pv_kv_xfer_list_clear(&plan->swap_out);
  pv_kv_xfer_list_clear(&plan->swap_in);
  plan->items = s->items;
  plan->n_items = plan->n_tokens = plan->preempted = 0;
  plan->failed = NULL;
  budget b = {s->cfg.max_num_batched_tokens, s->cfg.max_num_seqs};
  int rc = PAGEDVK_OK;

  /* 0: slots for the tokens sampled last step, preempting from the tail when needed. */
  /* Victims come from the tail, so g->next is read only after g's own reservation. */
  for (pv_sched_group *g = s->running; g && !rc; g = g->next) {
    bool lost;
    rc = blame(plan, g, reserve_slots(s, g, plan, &lost, err));
    if (lost) break; /* everything after g was preempted before it */
  }
  /* 1: swapped groups come back first when nothing had to be preempted. */
  if (!plan->preempted)
    for (pv_sched_group *g = s->swapped, *next; g && !rc; g = next) {
      next = g->next;
      bool done;
      rc = blame(plan, g, swap_in(s, g, plan, &b, &done, err));
      if (!rc && done) {
        bool lost;
        rc = blame(plan, g, reserve_slots(s, g, plan, &lost, err));
      }
      if (!done) break;
    }
  /* 2: decodes, then the next chunks of prompts being prefilled. */
  for (pv_sched_group *g = s->running; g && !rc; g = g->next) rc = blame(plan, g, schedule_group(s, plan, g, false, &b, err));
  for (pv_sched_group *g = s->running; g && !rc; g = g->next) rc = blame(plan, g, schedule_group(s, plan, g, true, &b, err));
  /* 3: new groups in order, while they fit (none while others wait to swap back in). */
  if (!plan->preempted && !s->swapped)
    for (pv_sched_group *g = s->waiting, *next; g && !rc; g = next) {
      next = g->next;
      if (!fits_waiting(s, g, &b)) break;
      rc = blame(plan, g, admit(s, g, err));
      if (!rc) rc = blame(plan, g, schedule_group(s, plan, g, true, &b, err));
      if (!rc) rc = blame(plan, g, schedule_group(s, plan, g, false, &b, err));
    }
  assert(plan->n_tokens <= s->cfg.max_num_batched_tokens && plan->n_items <= s->cfg.max_num_seqs);
  return rc;
}

int pv_sched_commit(pv_sched *s, const pv_sched_plan *plan, pv_error *err) {
  for (uint32_t i = 0; i < plan->n_items; i++) {
    const pv_sched_item *it = &plan->items[i];
    int rc = pv_kv_mark_computed(s->kv, it->group->seqs[it->seq_index].kv_seq, it->n, err);
    if (rc) return rc;
  }
  return PAGEDVK_OK;
}
