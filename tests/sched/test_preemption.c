/* Scheduler preemption over the real KV manager (no GPU): the victim is the latest-arrived (and,
 * in priority mode, lowest-priority) running group; recompute frees its blocks and puts it back in
 * the waiting queue in arrival order with its tokens kept; swap moves its blocks to host slots,
 * falling back to recompute when the swap space is full; swapped groups come back before any new
 * admission (a group of any size: more than 64 sequences too); a group alone that cannot grow is
 * flagged kv_exhausted. Every test ends with all blocks and swap slots free and the KV invariants
 * holding. */
#include "sched_helpers.h"

static world_config small_pool(uint32_t n_blocks, uint32_t n_swap, bool swap, bool priority) {
  world_config c = {.n_blocks = n_blocks, .block_size = 8, .n_swap_slots = n_swap};
  c.sched = (pv_sched_config){.max_num_seqs = 16, .max_num_batched_tokens = 512, .max_model_len = 256,
                              .swap = swap, .priority = priority};
  return c;
}

/* Three 16-token prompts take 6 of 7 blocks; the next tokens of the first two need a block each:
 * the second's is taken from the latest arrival. */
static void test_recompute_preempts_latest(void **state) {
  (void)state;
  world w;
  world_config c = small_pool(7, 0, false, false);
  world_init(&w, &c);
  pv_sched_group *a = world_add(&w, 16, 1, 0), *b = world_add(&w, 16, 1, 0), *cc = world_add(&w, 16, 1, 0);
  const pv_sched_plan *p = world_step(&w);
  assert_int_equal(p->n_items, 3);
  assert_int_equal(pv_kv_free_blocks(w.kv), 1);
  pv_sched_group *d = world_add(&w, 8, 1, 0);

  p = world_step(&w);
  assert_int_equal(p->preempted, 1);
  assert_int_equal(w.s.preemptions, 1);
  assert_int_equal(cc->preemptions, 1);
  assert_int_equal(a->preemptions + b->preemptions, 0);
  assert_int_equal(cc->state, PV_GROUP_WAITING);
  assert_int_equal(cc->seqs[0].kv_seq, PV_SCHED_NO_KV);
  assert_int_equal(cc->seqs[0].n_tokens, 17); /* the prompt and its sampled token are kept */
  assert_int_equal(p->swap_out.count, 0);
  assert_int_equal(p->n_items, 2);
  assert_item(p, 0, a, 16, 1, true);
  assert_item(p, 1, b, 16, 1, true);
  /* back in the waiting queue by arrival: before d, which arrived after it */
  assert_queue(w.s.waiting, (int[]){2, 3, -1});
  assert_queue(w.s.running, (int[]){0, 1, -1});
  assert_int_equal(pv_kv_free_blocks(w.kv), 1);
  assert_kv_invariants(&w);

  /* c needs 3 blocks, 1 is free: d (1 block) would fit but does not overtake c */
  p = world_step(&w);
  assert_int_equal(p->n_items, 2);
  assert_int_equal(d->state, PV_GROUP_WAITING);

  /* a leaves (4 free): c is recomputed from its first token (17 of them), then d starts */
  world_remove(&w, a);
  p = world_step(&w);
  assert_plan_consistent(p);
  assert_int_equal(p->n_items, 3);
  assert_item(p, 0, b, 18, 1, true);
  assert_item(p, 1, cc, 0, 17, true);
  assert_item(p, 2, d, 0, 8, true);
  assert_int_equal(cc->state, PV_GROUP_RUNNING);
  world_done(&w);
}

/* Priority mode: the victim is the lowest-priority group even when a more important one arrived
 * later; among equals, the latest arrival. */
static void test_priority_victim(void **state) {
  (void)state;
  world w;
  world_config c = small_pool(6, 0, false, true);
  world_init(&w, &c);
  pv_sched_group *a = world_add(&w, 16, 1, 5), *b = world_add(&w, 16, 1, 5), *cc = world_add(&w, 16, 1, 0);
  world_step(&w);
  assert_queue(w.s.running, (int[]){2, 0, 1, -1});
  const pv_sched_plan *p = world_step(&w);
  assert_int_equal(p->preempted, 1);
  assert_int_equal(b->state, PV_GROUP_WAITING);
  assert_int_equal(a->state, PV_GROUP_RUNNING);
  assert_int_equal(cc->state, PV_GROUP_RUNNING);
  assert_item(p, 0, cc, 16, 1, true);
  assert_item(p, 1, a, 16, 1, true);
  world_done(&w);
}

/* Swap: the victim's blocks go to host slots; while it is out, no new group is admitted even one
 * that fits; it comes back (before d) once its blocks are there, with its computed tokens intact. */
static void test_swap_and_return_before_admission(void **state) {
  (void)state;
  world w;
  world_config c = small_pool(8, 8, true, false);
  world_init(&w, &c);
  pv_sched_group *a = world_add(&w, 16, 1, 0), *b = world_add(&w, 16, 1, 0), *cc = world_add(&w, 32, 1, 0);
  world_step(&w);
  assert_int_equal(pv_kv_free_blocks(w.kv), 0);

  const pv_sched_plan *p = world_step(&w);
  assert_int_equal(p->preempted, 1);
  assert_int_equal(cc->state, PV_GROUP_SWAPPED);
  assert_int_equal(w.s.swaps_out, 1);
  assert_int_equal(p->swap_out.count, 4);
  assert_int_equal(p->swap_in.count, 0);
  assert_true(pv_kv_seq_swapped(w.kv, cc->seqs[0].kv_seq));
  assert_int_equal(pv_kv_seq_computed(w.kv, cc->seqs[0].kv_seq), 32);
  assert_int_equal(pv_kv_free_swap_slots(w.kv), 4);
  assert_int_equal(p->n_items, 2);
  assert_int_equal(pv_kv_free_blocks(w.kv), 2);
  assert_kv_invariants(&w);

  pv_sched_group *d = world_add(&w, 8, 1, 0); /* 1 block: fits in the 2 free */
  p = world_step(&w);
  assert_int_equal(cc->state, PV_GROUP_SWAPPED); /* needs 4 blocks */
  assert_int_equal(d->state, PV_GROUP_WAITING);  /* swapped groups first */
  assert_int_equal(p->n_items, 2);
  assert_int_equal(p->swap_in.count, 0);

  world_remove(&w, a); /* 3 blocks back: 5 free */
  p = world_step(&w);
  assert_int_equal(cc->state, PV_GROUP_RUNNING);
  assert_int_equal(w.s.swaps_in, 1);
  assert_int_equal(p->swap_in.count, 4);
  assert_false(pv_kv_seq_swapped(w.kv, cc->seqs[0].kv_seq));
  assert_int_equal(pv_kv_free_swap_slots(w.kv), 8);
  /* every swap-in lands on a distinct device block and reads a distinct slot */
  for (uint32_t i = 0; i < p->swap_in.count; i++)
    for (uint32_t j = 0; j < i; j++) {
      assert_int_not_equal(p->swap_in.items[i].src, p->swap_in.items[j].src);
      assert_int_not_equal(p->swap_in.items[i].dst, p->swap_in.items[j].dst);
    }
  assert_int_equal(p->n_items, 2);
  assert_item(p, 0, b, 18, 1, true);
  assert_item(p, 1, cc, 32, 1, true); /* decodes on: nothing recomputed */
  assert_int_equal(d->state, PV_GROUP_WAITING); /* the 33rd token took the last free block */
  assert_int_equal(pv_kv_free_blocks(w.kv), 0);

  world_remove(&w, b);
  p = world_step(&w);
  assert_int_equal(d->state, PV_GROUP_RUNNING);
  assert_non_null(item_of(p, d, 0));
  world_done(&w);
}

/* A swap space too small for the victim's blocks: preempted by recompute instead. */
static void test_swap_full_falls_back_to_recompute(void **state) {
  (void)state;
  world w;
  world_config c = small_pool(8, 3, true, false);
  world_init(&w, &c);
  world_add(&w, 16, 1, 0);
  world_add(&w, 16, 1, 0);
  pv_sched_group *cc = world_add(&w, 32, 1, 0); /* 4 blocks > 3 slots */
  world_step(&w);
  const pv_sched_plan *p = world_step(&w);
  assert_int_equal(p->preempted, 1);
  assert_int_equal(cc->state, PV_GROUP_WAITING);
  assert_int_equal(cc->seqs[0].kv_seq, PV_SCHED_NO_KV);
  assert_int_equal(p->swap_out.count, 0);
  assert_int_equal(w.s.swaps_out, 0);
  assert_int_equal(pv_kv_free_swap_slots(w.kv), 3);
  assert_int_equal(pv_kv_free_blocks(w.kv), 2);
  world_done(&w);
}

/* A group alone on the device that cannot get a block for its next token is flagged, and is not
 * scheduled; the engine ends it. */
static void test_alone_and_out_of_blocks_is_exhausted(void **state) {
  (void)state;
  world w;
  world_config c = small_pool(2, 0, false, false);
  world_init(&w, &c);
  pv_sched_group *a = world_add(&w, 16, 1, 0);
  const pv_sched_plan *p = world_step(&w);
  assert_int_equal(p->n_items, 1);
  assert_false(a->kv_exhausted);
  p = world_step(&w);
  assert_true(a->kv_exhausted);
  assert_int_equal(a->state, PV_GROUP_RUNNING);
  assert_int_equal(p->n_items, 0);
  assert_int_equal(p->preempted, 0);
  assert_int_equal(w.s.preemptions, 0);
  world_done(&w);
}

/* A group of 80 sequences (above the 64 a fixed id array once held) is swapped out whole and
 * comes back whole, instead of silently falling back to recompute. */
static void test_swap_group_above_64(void **state) {
  (void)state;
  enum { N = 80 };
  world w;
  world_config c = small_pool(N + 2, N + 20, true, false);
  c.sched.max_num_seqs = 128;
  c.sched.max_num_batched_tokens = 1024;
  world_init(&w, &c);
  pv_sched_group *a = world_add(&w, 16, 1, 0);
  static pv_sched_seq big_seqs[N];
  memset(big_seqs, 0, sizeof big_seqs);
  pv_sched_group big = {.id = 99, .n_prompt = 7, .max_len = 64, .seqs = big_seqs, .n_seqs = N};
  for (uint32_t q = 0; q < N; q++)
    for (uint32_t t = 0; t < 7; t++) assert_int_equal(pv_sched_seq_push(&big_seqs[q], 5000 + 10 * (int32_t)q + (int32_t)t, NULL), 0);
  pv_sched_add(&w.s, &big);
  const pv_sched_plan *p = world_step(&w);
  assert_int_equal(big.state, PV_GROUP_RUNNING);
  assert_int_equal(p->n_items, N + 1);
  assert_int_equal(pv_kv_free_blocks(w.kv), 0);

  p = world_step(&w); /* a's 17th token needs a block: big, the latest arrival, goes out */
  assert_int_equal(p->preempted, 1);
  assert_int_equal(big.state, PV_GROUP_SWAPPED);
  assert_int_equal(w.s.swaps_out, 1);
  assert_int_equal(p->swap_out.count, N);
  for (uint32_t q = 0; q < N; q++) assert_true(pv_kv_seq_swapped(w.kv, big_seqs[q].kv_seq));
  assert_kv_invariants(&w);

  world_remove(&w, a);
  p = world_step(&w);
  assert_int_equal(big.state, PV_GROUP_RUNNING);
  assert_int_equal(w.s.swaps_in, 1);
  assert_int_equal(p->swap_in.count, N);
  assert_int_equal(p->n_items, N);
  assert_kv_invariants(&w);
  pv_sched_remove(&w.s, &big);
  for (uint32_t q = 0; q < N; q++) free(big_seqs[q].tokens);
  world_done(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_recompute_preempts_latest),
      cmocka_unit_test(test_priority_victim),
      cmocka_unit_test(test_swap_and_return_before_admission),
      cmocka_unit_test(test_swap_full_falls_back_to_recompute),
      cmocka_unit_test(test_alone_and_out_of_blocks_is_exhausted),
      cmocka_unit_test(test_swap_group_above_64),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
