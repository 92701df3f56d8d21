/* Sequences: create, append, slot mapping, copy-on-write, fork/free in every order, KV_FULL leaving
 * state unchanged, LRU eviction order of cached free blocks, stats. */
#include "kv_helpers.h"

static void test_create_append_slots(void **state) {
  (void)state;
  pv_kv_manager *kv = make_kv(8, 8, 0, NULL);
  int32_t t[64];
  fill_tokens(t, 64, 100);
  pv_error err = {0};
  uint32_t seq = 0, cached = 99;
  assert_int_equal(pv_kv_seq_create(kv, t, 0, &seq, &cached, &err), PAGEDVK_ERR_INVALID);
  seq = new_seq(kv, t, 20, &cached);
  assert_int_equal(cached, 0);
  assert_int_equal(pv_kv_seq_len(kv, seq), 20);
  assert_int_equal(pv_kv_seq_computed(kv, seq), 0);
  uint32_t n = 0;
  const uint32_t *table = pv_kv_seq_table(kv, seq, &n);
  assert_int_equal(n, 3);
  assert_int_equal(pv_kv_free_blocks(kv), 5);
  uint32_t slot = 0;
  assert_int_equal(pv_kv_slot(kv, seq, 9, &slot, NULL), PAGEDVK_OK);
  assert_int_equal(slot, table[1] * 8 + 1);
  assert_int_equal(pv_kv_slot(kv, seq, 20, &slot, &err), PAGEDVK_ERR_INVALID);
  uint32_t slots[20];
  assert_int_equal(pv_kv_slot_mapping(kv, seq, 0, 20, slots, NULL), PAGEDVK_OK);
  for (uint32_t p = 0; p < 20; p++) assert_int_equal(slots[p], table[p / 8] * 8 + p % 8);

  pv_kv_xfer_list copies = {0};
  assert_int_equal(pv_kv_blocks_for_append(kv, seq, 4), 0);
  assert_int_equal(pv_kv_append_slots(kv, seq, t + 20, 4, &copies, NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_free_blocks(kv), 5); /* filled the last block in place */
  assert_int_equal(pv_kv_blocks_for_append(kv, seq, 1), 1);
  assert_int_equal(pv_kv_blocks_for_append(kv, seq, 9), 2);
  assert_int_equal(pv_kv_append_slots(kv, seq, t + 24, 1, &copies, NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_free_blocks(kv), 4);
  assert_int_equal(pv_kv_append_slots(kv, seq, t, 0, &copies, NULL), PAGEDVK_OK);
  assert_int_equal(copies.count, 0);
  assert_int_equal(pv_kv_seq_len(kv, seq), 25);
  assert_memory_equal(pv_kv_seq_tokens(kv, seq), t, 25 * sizeof *t);
  table = pv_kv_seq_table(kv, seq, &n);
  assert_int_equal(n, 4);
  assert_int_equal(pv_kv_slot(kv, seq, 24, &slot, NULL), PAGEDVK_OK);
  assert_int_equal(slot, table[3] * 8);

  assert_int_equal(pv_kv_mark_computed(kv, seq, 26, &err), PAGEDVK_ERR_INVALID);
  assert_int_equal(pv_kv_mark_computed(kv, seq, 25, NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_mark_computed(kv, seq, 1, NULL), PAGEDVK_ERR_INVALID);

  pv_kv_stats st;
  pv_kv_get_stats(kv, 1000, &st);
  assert_int_equal(st.blocks_used, 4);
  assert_int_equal(st.tokens_stored, 25);
  assert_true(st.utilization > 25.0 / 32 - 1e-9 && st.utilization < 25.0 / 32 + 1e-9);
  assert_int_equal(st.bytes_total, 8000);
  assert_int_equal(st.bytes_used, 4000);
  assert_int_equal(st.blocks_cached, 3); /* three full computed blocks */
  assert_int_equal(st.blocks_saved_by_sharing, 0);
  assert_kv_ok(kv);

  assert_int_equal(pv_kv_seq_free(kv, seq, NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_seq_free(kv, seq, &err), PAGEDVK_ERR_INVALID);
  assert_false(pv_kv_seq_valid(kv, seq));
  assert_int_equal(pv_kv_append_slots(kv, seq, t, 1, &copies, &err), PAGEDVK_ERR_INVALID);
  assert_int_equal(pv_kv_free_blocks(kv), 8);
  assert_kv_ok(kv);
  pv_kv_xfer_list_free(&copies);
  pv_kv_destroy(kv);
}

static void test_copy_on_write(void **state) {
  (void)state;
  pv_kv_manager *kv = make_kv(8, 8, 0, NULL);
  int32_t t[32];
  fill_tokens(t, 32, 7);
  pv_kv_xfer_list copies = {0};
  pv_error err = {0};
  uint32_t parent = new_seq(kv, t, 10, NULL), child = 0;
  assert_int_equal(pv_kv_fork(kv, parent, &child, &err), PAGEDVK_ERR_INVALID); /* not computed yet */
  compute_all(kv, parent);
  assert_int_equal(pv_kv_fork(kv, parent, &child, NULL), PAGEDVK_OK);
  uint32_t n = 0;
  const uint32_t *pt = pv_kv_seq_table(kv, parent, &n);
  uint32_t a = pt[0], b = pt[1];
  assert_int_equal(pv_kv_block_ref(kv, a), 2);
  assert_int_equal(pv_kv_block_ref(kv, b), 2);
  assert_int_equal(pv_kv_seq_computed(kv, child), 10);
  pv_kv_stats st;
  pv_kv_get_stats(kv, 1, &st);
  assert_int_equal(st.blocks_saved_by_sharing, 2);
  assert_int_equal(st.tokens_stored, 10);

  assert_int_equal(pv_kv_blocks_for_append(kv, child, 1), 1); /* the copy */
  int32_t x = 500;
  assert_int_equal(pv_kv_append_slots(kv, child, &x, 1, &copies, NULL), PAGEDVK_OK);
  assert_int_equal(copies.count, 1);
  const uint32_t *ct = pv_kv_seq_table(kv, child, &n);
  assert_int_equal(copies.items[0].src, b);
  assert_int_equal(copies.items[0].dst, ct[1]);
  assert_int_not_equal(ct[1], b);
  assert_int_equal(ct[0], a);
  assert_int_equal(pv_kv_block_ref(kv, b), 1);
  assert_int_equal(pv_kv_block_ref(kv, ct[1]), 1);
  assert_int_equal(pv_kv_block_ref(kv, a), 2);
  pt = pv_kv_seq_table(kv, parent, &n);
  assert_int_equal(pt[1], b); /* the parent's table did not move */
  x = 501;
  assert_int_equal(pv_kv_append_slots(kv, parent, &x, 1, &copies, NULL), PAGEDVK_OK);
  assert_int_equal(copies.count, 1); /* b is the parent's alone now: written in place */
  assert_int_equal(pv_kv_seq_tokens(kv, parent)[10], 501);
  assert_int_equal(pv_kv_seq_tokens(kv, child)[10], 500);
  pv_kv_get_stats(kv, 1, &st);
  assert_int_equal(st.cow_copies, 1);
  assert_kv_ok(kv);

  /* A full shared last block needs no copy: the new token goes to a new block. */
  uint32_t full = new_seq(kv, t + 16, 16, NULL), twin = 0;
  compute_all(kv, full);
  assert_int_equal(pv_kv_fork(kv, full, &twin, NULL), PAGEDVK_OK);
  pv_kv_xfer_list_clear(&copies);
  assert_int_equal(pv_kv_blocks_for_append(kv, twin, 1), 1);
  assert_int_equal(pv_kv_append_slots(kv, twin, &x, 1, &copies, NULL), PAGEDVK_OK);
  assert_int_equal(copies.count, 0);
  assert_kv_ok(kv);
  pv_kv_xfer_list_free(&copies);
  pv_kv_destroy(kv);
}

static void test_fork_free_orders(void **state) {
  (void)state;
  static const uint32_t orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  int32_t t[24];
  fill_tokens(t, 24, 1);
  for (int o = 0; o < 6; o++) {
    pv_kv_manager *kv = make_kv(6, 8, 0, NULL);
    uint32_t s[3];
    s[0] = new_seq(kv, t, 12, NULL);
    compute_all(kv, s[0]);
    assert_int_equal(pv_kv_fork(kv, s[0], &s[1], NULL), PAGEDVK_OK);
    assert_int_equal(pv_kv_fork(kv, s[1], &s[2], NULL), PAGEDVK_OK); /* a fork of a fork */
    uint32_t n = 0;
    const uint32_t *tab = pv_kv_seq_table(kv, s[0], &n);
    uint32_t blocks[2] = {tab[0], tab[1]};
    assert_int_equal(pv_kv_free_blocks(kv), 4);
    for (int k = 0; k < 3; k++) {
      assert_int_equal(pv_kv_seq_free(kv, s[orders[o][k]], NULL), PAGEDVK_OK);
      assert_kv_ok(kv);
      assert_int_equal(pv_kv_block_ref(kv, blocks[0]), 2 - k);
      assert_int_equal(pv_kv_block_ref(kv, blocks[1]), 2 - k);
      for (int j = k + 1; j < 3; j++) assert_int_equal(pv_kv_seq_len(kv, s[orders[o][j]]), 12);
    }
    assert_int_equal(pv_kv_free_blocks(kv), 6);
    assert_int_equal(pv_kv_num_seqs(kv), 0);
    pv_kv_destroy(kv);
  }
}

static void test_kv_full_leaves_state_unchanged(void **state) {
  (void)state;
  pv_kv_manager *kv = make_kv(4, 8, 0, NULL);
  int32_t t[64];
  fill_tokens(t, 64, 1);
  pv_error err = {0};
  pv_kv_xfer_list copies = {0};
  uint32_t a = new_seq(kv, t, 20, NULL); /* 3 blocks, 1 free */
  compute_all(kv, a);
  kv_snapshot before;
  take_snapshot(kv, &before);

  uint32_t seq = 77, cached = 77;
  assert_false(pv_kv_can_allocate(kv, t + 30, 16, 0));
  assert_int_equal(pv_kv_seq_create(kv, t + 30, 16, &seq, &cached, &err), PAGEDVK_ERR_KV_FULL);
  assert_int_equal(err.code, PAGEDVK_ERR_KV_FULL);
  assert_int_equal(seq, 77);
  assert_unchanged(kv, &before);
  assert_true(pv_kv_can_allocate(kv, t + 30, 8, 0));
  assert_false(pv_kv_can_allocate(kv, t + 30, 8, 1)); /* the watermark */

  assert_int_equal(pv_kv_blocks_for_append(kv, a, 13), 2);
  assert_int_equal(pv_kv_append_slots(kv, a, t, 13, &copies, &err), PAGEDVK_ERR_KV_FULL);
  assert_unchanged(kv, &before);
  assert_int_equal(copies.count, 0);
  assert_kv_ok(kv);

  /* Copy-on-write that cannot get its block. */
  uint32_t b = 0;
  assert_int_equal(pv_kv_fork(kv, a, &b, NULL), PAGEDVK_OK);
  uint32_t filler = new_seq(kv, t + 40, 3, NULL); /* takes the last free block */
  assert_int_equal(pv_kv_free_blocks(kv), 0);
  take_snapshot(kv, &before);
  int32_t x = 9;
  assert_int_equal(pv_kv_append_slots(kv, b, &x, 1, &copies, &err), PAGEDVK_ERR_KV_FULL);
  assert_unchanged(kv, &before);
  assert_int_equal(copies.count, 0);
  assert_int_equal(pv_kv_fork(kv, b, &seq, NULL), PAGEDVK_OK); /* fork needs no block */
  assert_int_equal(pv_kv_seq_free(kv, seq, NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_seq_free(kv, filler, NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_append_slots(kv, b, &x, 1, &copies, NULL), PAGEDVK_OK);
  assert_int_equal(copies.count, 1);
  assert_kv_ok(kv);
  pv_kv_xfer_list_free(&copies);
  pv_kv_destroy(kv);
}

/* Three sequences of one full (cached) block plus a partial one, freed A, B, C. */
static void test_eviction_is_lru(void **state) {
  (void)state;
  pv_kv_manager *kv = make_kv(6, 8, 0, NULL);
  int32_t p[3][9];
  uint32_t s[3], full[3];
  for (int i = 0; i < 3; i++) {
    fill_tokens(p[i], 9, 100 * (i + 1));
    s[i] = new_seq(kv, p[i], 9, NULL);
    compute_all(kv, s[i]);
    uint32_t n;
    full[i] = pv_kv_seq_table(kv, s[i], &n)[0];
  }
  for (int i = 0; i < 3; i++) assert_int_equal(pv_kv_seq_free(kv, s[i], NULL), PAGEDVK_OK);
  uint32_t list[6];
  assert_int_equal(pv_kv_free_list(kv, list, 6), 6);
  /* Uncached partial blocks first (latest freed at the head), then cached ones oldest first. */
  assert_int_equal(list[3], full[0]);
  assert_int_equal(list[4], full[1]);
  assert_int_equal(list[5], full[2]);
  for (int i = 0; i < 3; i++) assert_non_null(pv_kv_block_cached_tokens(kv, list[i + 3]));
  for (int i = 0; i < 3; i++) assert_null(pv_kv_block_cached_tokens(kv, list[i]));
  pv_kv_stats st;
  pv_kv_get_stats(kv, 1, &st);
  assert_int_equal(st.blocks_evictable, 3);

  /* A hit on A's free cached block pulls it out of the list; freeing it again makes it the most
   * recently used. */
  uint32_t cached = 0, e = new_seq(kv, p[0], 9, &cached);
  assert_int_equal(cached, 8);
  assert_int_equal(pv_kv_seq_table(kv, e, NULL)[0], full[0]);
  assert_int_equal(pv_kv_free_list(kv, list, 6), 4);
  for (int i = 0; i < 4; i++) assert_int_not_equal(list[i], full[0]);
  assert_int_equal(pv_kv_seq_free(kv, e, NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_free_list(kv, list, 6), 6);
  assert_int_equal(list[3], full[1]);
  assert_int_equal(list[4], full[2]);
  assert_int_equal(list[5], full[0]);

  /* Five new blocks: the three uncached ones, then B's and C's cached blocks are evicted. */
  int32_t other[33];
  fill_tokens(other, 33, 5000);
  uint32_t d = new_seq(kv, other, 33, &cached);
  assert_int_equal(cached, 0);
  pv_kv_get_stats(kv, 1, &st);
  assert_int_equal(st.evictions, 2);
  assert_null(pv_kv_block_cached_tokens(kv, full[1]));
  assert_null(pv_kv_block_cached_tokens(kv, full[2]));
  assert_non_null(pv_kv_block_cached_tokens(kv, full[0]));
  pv_kv_prompt_plan plan;
  assert_int_equal(pv_kv_plan_prompt(kv, p[0], 9, &plan, NULL), PAGEDVK_OK);
  assert_int_equal(plan.cached_tokens, 8);
  assert_int_equal(plan.blocks_needed, 2); /* the revived hit + the partial block */
  assert_int_equal(pv_kv_plan_prompt(kv, p[1], 9, &plan, NULL), PAGEDVK_OK);
  assert_int_equal(plan.cached_tokens, 0);
  assert_int_equal(pv_kv_seq_free(kv, d, NULL), PAGEDVK_OK);
  assert_kv_ok(kv);
  pv_kv_destroy(kv);
}

static void test_stats_hit_rate(void **state) {
  (void)state;
  pv_kv_manager *kv = make_kv(16, 16, 0, NULL);
  int32_t t[40];
  fill_tokens(t, 40, 3);
  uint32_t a = new_seq(kv, t, 40, NULL);
  compute_all(kv, a);
  uint32_t cached = 0, b = new_seq(kv, t, 40, &cached);
  assert_int_equal(cached, 32);
  pv_kv_stats st;
  pv_kv_get_stats(kv, 4096, &st);
  assert_int_equal(st.prefix_query_tokens, 80);
  assert_int_equal(st.prefix_hit_tokens, 32);
  assert_true(st.prefix_hit_rate > 0.4 - 1e-9 && st.prefix_hit_rate < 0.4 + 1e-9);
  assert_int_equal(st.blocks_used, 4);          /* 2 shared + 2 partial */
  assert_int_equal(st.blocks_saved_by_sharing, 2);
  assert_int_equal(st.tokens_stored, 32 + 8 + 8);
  assert_int_equal(st.bytes_used, 4 * 4096);
  assert_int_equal(st.seqs, 2);
  (void)b;
  assert_kv_ok(kv);
  pv_kv_destroy(kv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_append_slots),   cmocka_unit_test(test_copy_on_write),
      cmocka_unit_test(test_fork_free_orders),      cmocka_unit_test(test_kv_full_leaves_state_unchanged),
      cmocka_unit_test(test_eviction_is_lru),       cmocka_unit_test(test_stats_hit_rate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
