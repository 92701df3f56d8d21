/*
 * sched_helpers.h — a small world for scheduler tests, pure C over the real KV manager: groups
 * with owned token lists, a step that plans, "runs" (commit = the K/V exists now) and "samples"
 * (appends a made-up token to every item that wanted logits), and the end-of-test check that
 * every block is back in the pool. Header-only: each tests/sched/test_*.c is its own executable.
 */
#ifndef PV_TEST_SCHED_HELPERS_H
#define PV_TEST_SCHED_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sched/sched.h"

#define W_MAX_GROUPS 16
#define W_MAX_SEQS 4

typedef struct world {
  pv_kv_manager *kv;
  pv_sched s;
  pv_sched_plan plan;
  pv_sched_group g[W_MAX_GROUPS];
  pv_sched_seq seqs[W_MAX_GROUPS][W_MAX_SEQS];
  uint32_t n_groups;
  uint32_t steps;
} world;

typedef struct world_config {
  uint32_t n_blocks, block_size, n_swap_slots;
  pv_sched_config sched;
} world_config;

static inline void world_init(world *w, const world_config *c) {
  memset(w, 0, sizeof *w);
  pv_kv_config kc = {.n_blocks = c->n_blocks, .block_size = c->block_size, .n_swap_slots = c->n_swap_slots,
                     .disable_prefix_cache = true};
  pv_error err = {0};
  if (pv_kv_create(&w->kv, &kc, &err)) fail_msg("pv_kv_create: %s", err.msg);
  if (pv_sched_init(&w->s, &c->sched, w->kv, &err)) fail_msg("pv_sched_init: %s", err.msg);
  pv_sched_plan_init(&w->plan);
}

/* Adds a group of n_seqs sequences, each holding the same prompt of n_prompt tokens; tokens are
 * distinct per group (base 1000 * (index + 1)) so nothing matches another group's. */
static inline pv_sched_group *world_add(world *w, uint32_t n_prompt, uint32_t n_seqs, int32_t priority) {
  assert_true(w->n_groups < W_MAX_GROUPS && n_seqs <= W_MAX_SEQS);
  uint32_t i = w->n_groups++;
  pv_sched_group *g = &w->g[i];
  memset(g, 0, sizeof *g);
  g->id = i;
  g->priority = priority;
  g->n_prompt = n_prompt;
  g->seqs = w->seqs[i];
  g->n_seqs = n_seqs;
  for (uint32_t q = 0; q < n_seqs; q++) {
    memset(&g->seqs[q], 0, sizeof g->seqs[q]);
    for (uint32_t t = 0; t < n_prompt; t++)
      assert_int_equal(pv_sched_seq_push(&g->seqs[q], 1000 * (int32_t)(i + 1) + (int32_t)t, NULL), PAGEDVK_OK);
  }
  pv_sched_add(&w->s, g);
  return g;
}

/* Plans a step and asserts it succeeded; returns the plan. */
static inline const pv_sched_plan *world_plan(world *w) {
  pv_error err = {0};
  if (pv_sched_step(&w->s, &w->plan, &err)) fail_msg("pv_sched_step: %s", err.msg);
  return &w->plan;
}

/* The device ran the plan: commit, then every item that wanted logits gets one sampled token. */
static inline void world_finish_step(world *w) {
  pv_error err = {0};
  if (pv_sched_commit(&w->s, &w->plan, &err)) fail_msg("pv_sched_commit: %s", err.msg);
  for (uint32_t k = 0; k < w->plan.n_items; k++) {
    const pv_sched_item *it = &w->plan.items[k];
    if (!it->wants_logits) continue;
    pv_sched_seq *q = &it->group->seqs[it->seq_index];
    assert_int_equal(pv_sched_seq_push(q, 7 + (int32_t)w->steps, NULL), PAGEDVK_OK);
  }
  w->steps++;
}

static inline const pv_sched_plan *world_step(world *w) {
  world_plan(w);
  world_finish_step(w);
  return &w->plan;
}

/* The plan's item for group g's sequence q, or NULL. */
static inline const pv_sched_item *item_of(const pv_sched_plan *p, const pv_sched_group *g, uint32_t q) {
  for (uint32_t k = 0; k < p->n_items; k++)
    if (p->items[k].group == g && p->items[k].seq_index == q) return &p->items[k];
  return NULL;
}

static inline void assert_item(const pv_sched_plan *p, uint32_t k, const pv_sched_group *g, uint32_t start, uint32_t n,
                               bool wants_logits) {
  assert_true(k < p->n_items);
  const pv_sched_item *it = &p->items[k];
  assert_ptr_equal(it->group, g);
  assert_int_equal(it->start, start);
  assert_int_equal(it->n, n);
  assert_int_equal(it->wants_logits, wants_logits);
}

/* Sum of the plan's item lengths equals n_tokens, and no item is empty. */
static inline void assert_plan_consistent(const pv_sched_plan *p) {
  uint32_t sum = 0;
  for (uint32_t k = 0; k < p->n_items; k++) {
    assert_true(p->items[k].n > 0);
    sum += p->items[k].n;
  }
  assert_int_equal(sum, p->n_tokens);
}

static inline void assert_kv_invariants(const world *w) {
  pv_error e = {0};
  if (pv_kv_check_invariants(w->kv, &e) != PAGEDVK_OK) fail_msg("%s", e.msg);
}

/* Removes a group (as the engine does when a request finishes). */
static inline void world_remove(world *w, pv_sched_group *g) {
  pv_sched_remove(&w->s, g);
  assert_int_equal(g->state, PV_GROUP_FINISHED);
  assert_kv_invariants(w);
}

/* Every group removed, every block and swap slot free, invariants hold; frees everything. */
static inline void world_done(world *w) {
  for (uint32_t i = 0; i < w->n_groups; i++)
    if (w->g[i].state != PV_GROUP_FINISHED) pv_sched_remove(&w->s, &w->g[i]);
  assert_int_equal(w->s.n_waiting + w->s.n_running + w->s.n_swapped, 0);
  assert_int_equal(pv_kv_free_blocks(w->kv), pv_kv_total_blocks(w->kv));
  assert_int_equal(pv_kv_num_seqs(w->kv), 0);
  pv_kv_stats st;
  pv_kv_get_stats(w->kv, 1, &st);
  assert_int_equal(st.swap_slots_used, 0);
  assert_kv_invariants(w);
  for (uint32_t i = 0; i < w->n_groups; i++)
    for (uint32_t q = 0; q < W_MAX_SEQS; q++) free(w->seqs[i][q].tokens);
  pv_sched_plan_free(&w->plan);
  pv_sched_destroy(&w->s);
  pv_kv_destroy(w->kv);
}

/* The order of a queue as group ids, terminated by -1. */
static inline void assert_queue(const pv_sched_group *head, const int *ids) {
  uint32_t i = 0;
  const pv_sched_group *prev = NULL;
  for (const pv_sched_group *g = head; g; prev = g, g = g->next, i++) {
    assert_true(ids[i] >= 0);
    assert_int_equal(g->id, (uint64_t)ids[i]);
    assert_ptr_equal(g->prev, prev);
  }
  assert_int_equal(ids[i], -1);
}

#endif /* PV_TEST_SCHED_HELPERS_H */
