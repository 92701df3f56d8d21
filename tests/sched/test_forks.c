/* Forks through the scheduler (no GPU): pv_sched_fork_seq appends a copy of a sequence whose KV
 * shares every block; pv_sched_reparent (a beam step) gives a parent's first child its sequence,
 * forks it for the others and frees a parent without children; a failed reparent leaves the group,
 * the blocks and the KV sequences exactly as they were. Every test ends with all blocks free and
 * the KV invariants holding. */
#include "sched_helpers.h"

static world_config pool(void) {
  world_config c = {.n_blocks = 16, .block_size = 8};
  c.sched = (pv_sched_config){.max_num_seqs = 8, .max_num_batched_tokens = 256, .max_model_len = 128};
  return c;
}

/* A group of n sequences with a 16-token prompt, prefilled and committed (nothing sampled yet). */
static pv_sched_group *prefilled(world *w, uint32_t n) {
  pv_sched_group *g = world_add(w, 16, n, 0);
  g->max_len = 40;
  world_plan(w);
  pv_error err = {0};
  assert_int_equal(pv_sched_commit(&w->s, &w->plan, &err), PAGEDVK_OK);
  assert_int_equal(g->state, PV_GROUP_RUNNING);
  return g;
}

static void test_fork_seq_shares_blocks(void **state) {
  (void)state;
  world w;
  world_config c = pool();
  world_init(&w, &c);
  pv_sched_group *g = prefilled(&w, 1);
  const uint32_t free_before = pv_kv_free_blocks(w.kv);
  pv_error err = {0};
  assert_int_equal(pv_sched_fork_seq(&w.s, g, 0, &err), PAGEDVK_OK);
  assert_int_equal(pv_sched_fork_seq(&w.s, g, 0, &err), PAGEDVK_OK);
  assert_int_equal(g->n_seqs, 3);
  assert_int_equal(pv_kv_free_blocks(w.kv), free_before); /* shared, not copied */
  for (uint32_t q = 1; q < 3; q++) {
    assert_int_equal(g->seqs[q].n_tokens, 16);
    assert_true(g->seqs[q].cap >= g->max_len);
    assert_memory_equal(g->seqs[q].tokens, g->seqs[0].tokens, 16 * sizeof(int32_t));
    assert_int_equal(pv_kv_seq_computed(w.kv, g->seqs[q].kv_seq), 16);
  }
  uint32_t n;
  const uint32_t *t = pv_kv_seq_table(w.kv, g->seqs[0].kv_seq, &n);
  assert_int_equal(pv_kv_block_ref(w.kv, t[0]), 3);
  assert_int_equal(pv_sched_fork_seq(&w.s, g, 7, &err), PAGEDVK_ERR_INVALID);
  assert_kv_invariants(&w);
  world_done(&w);
}

static void test_reparent_moves_forks_and_frees(void **state) {
  (void)state;
  world w;
  world_config c = pool();
  world_init(&w, &c);
  pv_sched_group *g = prefilled(&w, 2);
  const uint32_t kv0 = g->seqs[0].kv_seq, kv1 = g->seqs[1].kv_seq;
  const int32_t *tok1 = g->seqs[1].tokens;
  pv_error err = {0};
  /* old 1 gets three children, old 0 none */
  assert_int_equal(pv_sched_reparent(&w.s, g, (const uint32_t[]){1, 1, 1}, 3, &err), PAGEDVK_OK);
  assert_int_equal(g->n_seqs, 3);
  assert_int_equal(g->seqs[0].kv_seq, kv1);    /* the first child took its parent's sequence */
  assert_ptr_equal(g->seqs[0].tokens, tok1);   /* and its token list */
  assert_false(pv_kv_seq_valid(w.kv, kv0)); /* freed: the forks took new ids while it lived */
  assert_int_equal(pv_kv_num_seqs(w.kv), 3);
  uint32_t n;
  const uint32_t *t = pv_kv_seq_table(w.kv, kv1, &n);
  assert_int_equal(pv_kv_block_ref(w.kv, t[1]), 3);
  assert_null(g->seqs[3].tokens); /* unused entries hold nothing */
  /* down to none: every sequence freed */
  assert_int_equal(pv_sched_reparent(&w.s, g, NULL, 0, &err), PAGEDVK_OK);
  assert_int_equal(g->n_seqs, 0);
  assert_int_equal(pv_kv_num_seqs(w.kv), 0);
  assert_int_equal(pv_kv_free_blocks(w.kv), pv_kv_total_blocks(w.kv));
  assert_kv_invariants(&w);
  world_done(&w);
}

static void test_failed_reparent_changes_nothing(void **state) {
  (void)state;
  world w;
  world_config c = pool();
  world_init(&w, &c);
  pv_sched_group *g = prefilled(&w, 2);
  pv_sched_seq_done(&w.s, &g->seqs[1]); /* its KV is gone: forking it fails */
  const uint32_t kv0 = g->seqs[0].kv_seq, free_before = pv_kv_free_blocks(w.kv);
  pv_error err = {0};
  /* the fork of old 0 (new 1) succeeds before the fork of old 1 (new 3) fails: it is undone */
  assert_int_equal(pv_sched_reparent(&w.s, g, (const uint32_t[]){0, 0, 1, 1}, 4, &err), PAGEDVK_ERR_INVALID);
  assert_int_equal(g->n_seqs, 2);
  assert_int_equal(g->seqs[0].kv_seq, kv0);
  assert_int_equal(pv_kv_num_seqs(w.kv), 1);
  assert_int_equal(pv_kv_free_blocks(w.kv), free_before);
  /* a parent out of range is refused before anything happens */
  assert_int_equal(pv_sched_reparent(&w.s, g, (const uint32_t[]){2}, 1, &err), PAGEDVK_ERR_INVALID);
  assert_int_equal(g->n_seqs, 2);
  assert_kv_invariants(&w);
  world_done(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fork_seq_shares_blocks),
      cmocka_unit_test(test_reparent_moves_forks_and_frees),
      cmocka_unit_test(test_failed_reparent_changes_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
