/* Scheduler admission and batching over the real KV manager (no GPU): FCFS order with no
 * overtaking, the watermark, the token and sequence budgets, decodes before prefill chunks,
 * chunked prefill progression, the contiguous baseline's per-sequence reservation, priority
 * order. Every test ends with all blocks free and the KV invariants holding. */
#include "sched_helpers.h"

static world_config paged(uint32_t n_blocks, uint32_t block_size, uint32_t max_seqs, uint32_t max_tokens) {
  world_config c = {.n_blocks = n_blocks, .block_size = block_size};
  c.sched = (pv_sched_config){.max_num_seqs = max_seqs, .max_num_batched_tokens = max_tokens, .max_model_len = 256};
  return c;
}

/* Groups are admitted in arrival order; a group that does not fit stops admission, so smaller
 * ones behind it wait too (no starvation of large requests). */
static void test_fcfs_no_overtaking(void **state) {
  (void)state;
  world w;
  world_config c = paged(10, 8, 16, 512);
  world_init(&w, &c);
  pv_sched_group *a = world_add(&w, 48, 1, 0); /* 6 blocks */
  pv_sched_group *b = world_add(&w, 40, 1, 0); /* 5 blocks: does not fit beside a */
  pv_sched_group *cc = world_add(&w, 8, 1, 0); /* 1 block: would fit, must not overtake b */
  const pv_sched_plan *p = world_step(&w);
  assert_int_equal(p->n_items, 1);
  assert_item(p, 0, a, 0, 48, true);
  assert_int_equal(a->state, PV_GROUP_RUNNING);
  assert_int_equal(b->state, PV_GROUP_WAITING);
  assert_int_equal(cc->state, PV_GROUP_WAITING);
  assert_queue(w.s.waiting, (int[]){1, 2, -1});
  assert_int_equal(cc->seqs[0].kv_seq, PV_SCHED_NO_KV);
  /* still blocked while a runs */
  p = world_step(&w);
  assert_int_equal(p->n_items, 1);
  assert_item(p, 0, a, 48, 1, true);
  assert_int_equal(w.s.n_waiting, 2);
  /* a leaves: b then c, in that order, in the same step */
  world_remove(&w, a);
  p = world_step(&w);
  assert_int_equal(p->n_items, 2);
  assert_item(p, 0, b, 0, 40, true);
  assert_item(p, 1, cc, 0, 8, true);
  assert_queue(w.s.running, (int[]){1, 2, -1});
  assert_plan_consistent(p);
  world_done(&w);
}

/* A new group is admitted only when watermark_blocks stay free after its prompt's blocks. */
static void test_watermark(void **state) {
  (void)state;
  for (uint32_t wm = 0; wm <= 4; wm++) {
    world w;
    world_config c = paged(10, 8, 16, 512);
    c.sched.watermark_blocks = wm;
    world_init(&w, &c);
    pv_sched_group *a = world_add(&w, 56, 1, 0); /* 7 blocks: admitted iff 7 + wm <= 10 */
    const pv_sched_plan *p = world_step(&w);
    bool admitted = 7 + wm <= 10;
    assert_int_equal(p->n_items, admitted ? 1 : 0);
    assert_int_equal(a->state, admitted ? PV_GROUP_RUNNING : PV_GROUP_WAITING);
    assert_int_equal(pv_kv_free_blocks(w.kv), admitted ? 3 : 10);
    if (admitted) {
      /* the watermark holds back admission, never the growth of running sequences */
      pv_sched_group *b = world_add(&w, 8, 1, 0);
      p = world_step(&w); /* a's 57th token takes an 8th block first: 2 left for b's 1 + wm */
      assert_int_equal(b->state, 1 + wm <= 2 ? PV_GROUP_RUNNING : PV_GROUP_WAITING);
      assert_non_null(item_of(p, a, 0));
    }
    world_done(&w);
  }
}

/* max_num_batched_tokens caps a step's tokens: the last admitted prompt is cut into a chunk. */
static void test_token_budget(void **state) {
  (void)state;
  world w;
  world_config c = paged(64, 8, 16, 10);
  world_init(&w, &c);
  pv_sched_group *a = world_add(&w, 6, 1, 0);
  pv_sched_group *b = world_add(&w, 6, 1, 0);
  pv_sched_group *cc = world_add(&w, 6, 1, 0);
  const pv_sched_plan *p = world_step(&w);
  assert_int_equal(p->n_tokens, 10);
  assert_int_equal(p->n_items, 2);
  assert_item(p, 0, a, 0, 6, true);
  assert_item(p, 1, b, 0, 4, false); /* a chunk: no logits yet */
  assert_int_equal(cc->state, PV_GROUP_WAITING); /* no budget left to start it */
  /* next step: a's decode first, then b's remaining 2 tokens, then all of c in the 7 left */
  p = world_step(&w);
  assert_plan_consistent(p);
  assert_item(p, 0, a, 6, 1, true);
  assert_item(p, 1, b, 4, 2, true);
  assert_item(p, 2, cc, 0, 6, true);
  assert_int_equal(p->n_tokens, 9);
  p = world_step(&w);
  assert_int_equal(p->n_items, 3);
  assert_int_equal(p->n_tokens, 3); /* three decodes */
  world_done(&w);
}

/* max_num_seqs caps the sequences of a step; a group of several sequences counts them all. */
static void test_sequence_budget(void **state) {
  (void)state;
  world w;
  world_config c = paged(64, 8, 3, 512);
  world_init(&w, &c);
  pv_sched_group *a = world_add(&w, 5, 2, 0);
  pv_sched_group *b = world_add(&w, 5, 2, 0); /* 2 more: 4 > 3 */
  pv_sched_group *cc = world_add(&w, 5, 1, 0);
  const pv_sched_plan *p = world_step(&w);
  assert_int_equal(p->n_items, 2);
  assert_non_null(item_of(p, a, 0));
  assert_non_null(item_of(p, a, 1));
  assert_int_equal(b->state, PV_GROUP_WAITING);
  assert_int_equal(cc->state, PV_GROUP_WAITING); /* FCFS: c waits behind b */
  world_remove(&w, a);
  p = world_step(&w);
  assert_int_equal(p->n_items, 3);
  assert_int_equal(b->state, PV_GROUP_RUNNING);
  assert_int_equal(cc->state, PV_GROUP_RUNNING);
  world_done(&w);
}

/* Decodes of running sequences come before prefill chunks, and a long prompt progresses chunk by
 * chunk in the budget the decodes leave, asking for logits only with its last chunk. */
static void test_decode_before_chunked_prefill(void **state) {
  (void)state;
  world w;
  world_config c = paged(64, 8, 16, 8);
  world_init(&w, &c);
  pv_sched_group *a = world_add(&w, 3, 1, 0);
  const pv_sched_plan *p = world_step(&w);
  assert_item(p, 0, a, 0, 3, true);
  pv_sched_group *b = world_add(&w, 20, 1, 0);
  uint32_t done = 0, steps = 0;
  while (done < 20) {
    p = world_step(&w);
    assert_plan_consistent(p);
    assert_int_equal(p->n_items, 2);
    assert_item(p, 0, a, 3 + steps, 1, true); /* decode first */
    uint32_t n = 20 - done < 7 ? 20 - done : 7;
    assert_item(p, 1, b, done, n, done + n == 20);
    assert_int_equal(pv_kv_seq_computed(w.kv, b->seqs[0].kv_seq), done + n);
    done += n;
    steps++;
  }
  assert_int_equal(steps, 3); /* 7 + 7 + 6 */
  p = world_step(&w);
  assert_item(p, 0, a, 3 + steps, 1, true);
  assert_item(p, 1, b, 20, 1, true); /* b decodes now */
  world_done(&w);
}

/* Contiguous baseline: every admitted sequence holds max_model_len slots' worth of blocks. */
static void test_contiguous_reserves_max_model_len(void **state) {
  (void)state;
  for (int contiguous = 0; contiguous <= 1; contiguous++) {
    world w;
    world_config c = paged(10, 8, 16, 512);
    c.sched.max_model_len = 32; /* 4 blocks per sequence */
    c.sched.contiguous = contiguous;
    world_init(&w, &c);
    pv_sched_group *g[3];
    for (int i = 0; i < 3; i++) g[i] = world_add(&w, 8, 1, 0);
    world_step(&w);
    /* paged: three one-block prompts fit; contiguous: 10 blocks hold two reservations of 4 */
    assert_int_equal(w.s.n_running, contiguous ? 2 : 3);
    assert_int_equal(g[2]->state, contiguous ? PV_GROUP_WAITING : PV_GROUP_RUNNING);
    /* growing to 29 tokens (4 blocks each): the contiguous reservations hold, no preemption; paged,
     * three sequences need 12 of the 10 blocks and the latest is preempted */
    for (int s = 0; s < 20; s++) world_step(&w);
    if (contiguous) assert_int_equal(w.s.preemptions, 0);
    else assert_true(w.s.preemptions > 0);
    if (contiguous) assert_int_equal(g[2]->state, PV_GROUP_WAITING);
    pv_error err = {0};
    /* a prompt is refused when its reservation is more than the pool */
    assert_int_equal(pv_sched_check_prompt(&w.s, 8, 1, &err), PAGEDVK_OK);
    world_done(&w);
  }
  world w;
  world_config c = paged(3, 8, 16, 512);
  c.sched.max_model_len = 32;
  c.sched.contiguous = true;
  world_init(&w, &c);
  pv_error err = {0};
  assert_int_equal(pv_sched_check_prompt(&w.s, 8, 1, &err), PAGEDVK_ERR_KV_FULL);
  assert_int_equal(pv_sched_check_prompt(&w.s, 32, 1, &err), PAGEDVK_ERR_TOO_LONG);
  assert_int_equal(pv_sched_check_prompt(&w.s, 0, 1, &err), PAGEDVK_ERR_INVALID);
  world_done(&w);
}

/* Priority mode: lower value first, then arrival; arrival only when off. */
static void test_priority_order(void **state) {
  (void)state;
  for (int prio = 0; prio <= 1; prio++) {
    world w;
    world_config c = paged(64, 8, 1, 512); /* one sequence per step: admission order is visible */
    c.sched.priority = prio;
    world_init(&w, &c);
    world_add(&w, 4, 1, 5);
    world_add(&w, 4, 1, 1);
    world_add(&w, 4, 1, 3);
    world_add(&w, 4, 1, 1);
    if (prio) assert_queue(w.s.waiting, (int[]){1, 3, 2, 0, -1});
    else assert_queue(w.s.waiting, (int[]){0, 1, 2, 3, -1});
    const int order_prio[] = {1, 3, 2, 0}, order_fcfs[] = {0, 1, 2, 3};
    for (int k = 0; k < 4; k++) {
      const pv_sched_plan *p = world_step(&w);
      assert_int_equal(p->n_items, 1);
      assert_int_equal(p->items[0].group->id, (uint64_t)(prio ? order_prio[k] : order_fcfs[k]));
      world_remove(&w, p->items[0].group);
    }
    world_done(&w);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fcfs_no_overtaking),
      cmocka_unit_test(test_watermark),
      cmocka_unit_test(test_token_budget),
      cmocka_unit_test(test_sequence_budget),
      cmocka_unit_test(test_decode_before_chunked_prefill),
      cmocka_unit_test(test_contiguous_reserves_max_model_len),
      cmocka_unit_test(test_priority_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
