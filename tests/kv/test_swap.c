/* Swap: out/in round trip keeps each table's sharing structure and refcounts, shared blocks take one
 * host slot, a full swap space or pool fails with KV_FULL and changes nothing, partial groups,
 * free while swapped, blocks shared outside the group. */
#include "kv_helpers.h"

/* A group: a parent of 20 tokens (bs 8) and two forks; one fork has copied on write. */
static void make_group(pv_kv_manager *kv, uint32_t s[3]) {
  int32_t t[21];
  fill_tokens(t, 21, 40);
  pv_kv_xfer_list copies = {0};
  s[0] = new_seq(kv, t, 20, NULL);
  compute_all(kv, s[0]);
  assert_int_equal(pv_kv_fork(kv, s[0], &s[1], NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_fork(kv, s[0], &s[2], NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_append_slots(kv, s[1], t + 20, 1, &copies, NULL), PAGEDVK_OK);
  assert_int_equal(copies.count, 1);
  compute_all(kv, s[1]);
  pv_kv_xfer_list_free(&copies);
}

/* Same sharing structure: entries name the same block before iff after; same refcounts. */
static void assert_same_structure(const pv_kv_manager *kv, const uint32_t *s, uint32_t n, const kv_snapshot *before) {
  for (uint32_t a = 0; a < n; a++) {
    uint32_t na = 0;
    const uint32_t *ta = pv_kv_seq_table(kv, s[a], &na);
    assert_int_equal(na, before->n_table[s[a]]);
    for (uint32_t i = 0; i < na; i++) {
      assert_int_equal(pv_kv_block_ref(kv, ta[i]), before->refs[before->table[s[a]][i]]);
      for (uint32_t b = 0; b < n; b++) {
        uint32_t nb = 0;
        const uint32_t *tb = pv_kv_seq_table(kv, s[b], &nb);
        for (uint32_t j = 0; j < nb; j++)
          assert_int_equal(ta[i] == tb[j], before->table[s[a]][i] == before->table[s[b]][j]);
      }
    }
  }
}

static void test_round_trip(void **state) {
  (void)state;
  pv_kv_manager *kv = make_kv(16, 8, 16, NULL);
  uint32_t s[3];
  make_group(kv, s); /* distinct blocks: 2 full shared, last of s0/s2 shared, s1's copy = 4 */
  kv_snapshot before;
  take_snapshot(kv, &before);
  assert_int_equal(pv_kv_swap_out_slots(kv, s, 3), 4);
  assert_true(pv_kv_can_swap_out(kv, s, 3));
  pv_kv_xfer_list out = {0}, in = {0};
  assert_int_equal(pv_kv_swap_out(kv, s, 3, &out, NULL), PAGEDVK_OK);
  assert_int_equal(out.count, 4);
  assert_int_equal(pv_kv_free_blocks(kv), 16);
  assert_int_equal(pv_kv_free_swap_slots(kv), 12);
  for (int i = 0; i < 3; i++) {
    assert_true(pv_kv_seq_swapped(kv, s[i]));
    assert_int_equal(pv_kv_seq_len(kv, s[i]), before.len[s[i]]);
  }
  int32_t x = 1;
  uint32_t slot;
  pv_error err = {0};
  assert_int_equal(pv_kv_append_slots(kv, s[0], &x, 1, &out, &err), PAGEDVK_ERR_INVALID);
  assert_int_equal(pv_kv_slot(kv, s[0], 0, &slot, &err), PAGEDVK_ERR_INVALID);
  assert_int_equal(pv_kv_fork(kv, s[0], &slot, &err), PAGEDVK_ERR_INVALID);
  assert_int_equal(pv_kv_swap_out(kv, s, 1, &out, &err), PAGEDVK_ERR_INVALID); /* already out */
  assert_int_equal(out.count, 4);
  pv_kv_stats st;
  pv_kv_get_stats(kv, 1, &st);
  assert_int_equal(st.seqs_swapped, 3);
  assert_int_equal(st.swap_slots_used, 4);
  assert_kv_ok(kv);
  /* every out transfer names a distinct block and a distinct slot */
  for (uint32_t i = 0; i < out.count; i++)
    for (uint32_t j = 0; j < i; j++) {
      assert_int_not_equal(out.items[i].src, out.items[j].src);
      assert_int_not_equal(out.items[i].dst, out.items[j].dst);
    }

  assert_int_equal(pv_kv_swap_in_blocks(kv, s, 3), 4);
  assert_true(pv_kv_can_swap_in(kv, s, 3, 12));
  assert_false(pv_kv_can_swap_in(kv, s, 3, 13));
  assert_int_equal(pv_kv_swap_in(kv, s, 3, &in, NULL), PAGEDVK_OK);
  assert_int_equal(in.count, 4);
  assert_int_equal(pv_kv_free_swap_slots(kv), 16);
  assert_int_equal(pv_kv_free_blocks(kv), 12);
  assert_same_structure(kv, s, 3, &before);
  /* Old block -> slot -> new block agrees with every table entry. */
  for (int q = 0; q < 3; q++) {
    const uint32_t *t = pv_kv_seq_table(kv, s[q], NULL);
    for (uint32_t i = 0; i < before.n_table[s[q]]; i++) {
      uint32_t old = before.table[s[q]][i], via = PV_KV_NONE, now = PV_KV_NONE;
      for (uint32_t k = 0; k < out.count; k++)
        if (out.items[k].src == old) via = out.items[k].dst;
      for (uint32_t k = 0; k < in.count; k++)
        if (in.items[k].src == via) now = in.items[k].dst;
      assert_int_equal(t[i], now);
    }
  }
  assert_kv_ok(kv);
  /* Sharing restored means copy-on-write still works: s2 shares its last block with s0. */
  pv_kv_xfer_list copies = {0};
  assert_int_equal(pv_kv_append_slots(kv, s[2], &x, 1, &copies, NULL), PAGEDVK_OK);
  assert_int_equal(copies.count, 1);
  assert_kv_ok(kv);
  for (int i = 0; i < 3; i++) assert_int_equal(pv_kv_seq_free(kv, s[i], NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_free_blocks(kv), 16);
  pv_kv_xfer_list_free(&copies);
  pv_kv_xfer_list_free(&out);
  pv_kv_xfer_list_free(&in);
  pv_kv_destroy(kv);
}

static void test_full_swap_space_and_pool(void **state) {
  (void)state;
  pv_kv_manager *kv = make_kv(8, 8, 3, NULL);
  uint32_t s[3];
  make_group(kv, s);
  kv_snapshot before;
  take_snapshot(kv, &before);
  pv_kv_xfer_list out = {0}, in = {0};
  pv_error err = {0};
  assert_false(pv_kv_can_swap_out(kv, s, 3));
  assert_int_equal(pv_kv_swap_out(kv, s, 3, &out, &err), PAGEDVK_ERR_KV_FULL);
  assert_non_null(strstr(err.msg, "swap space full"));
  assert_int_equal(out.count, 0);
  assert_unchanged(kv, &before);
  uint32_t dup[2] = {s[0], s[0]};
  assert_int_equal(pv_kv_swap_out(kv, dup, 2, &out, &err), PAGEDVK_ERR_INVALID);
  assert_unchanged(kv, &before);

  /* s0 + s2 fit (3 blocks); then the pool fills and they cannot come back. */
  uint32_t pair[2] = {s[0], s[2]};
  assert_true(pv_kv_can_swap_out(kv, pair, 2));
  assert_int_equal(pv_kv_swap_out(kv, pair, 2, &out, NULL), PAGEDVK_OK);
  assert_int_equal(out.count, 3); /* every block of s0: s1 still holds the full ones on the device */
  assert_int_equal(pv_kv_block_ref(kv, pv_kv_seq_table(kv, s[1], NULL)[0]), 1);
  int32_t t[48];
  fill_tokens(t, 48, 7000);
  uint32_t filler = new_seq(kv, t, 40, NULL); /* 5 of the 5 free blocks */
  assert_int_equal(pv_kv_free_blocks(kv), 0);
  take_snapshot(kv, &before);
  assert_false(pv_kv_can_swap_in(kv, pair, 2, 0));
  assert_int_equal(pv_kv_swap_in(kv, pair, 2, &in, &err), PAGEDVK_ERR_KV_FULL);
  assert_int_equal(in.count, 0);
  assert_unchanged(kv, &before);
  assert_int_equal(pv_kv_seq_free(kv, filler, NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_swap_in(kv, pair, 2, &in, NULL), PAGEDVK_OK);
  assert_int_equal(in.count, 3);
  assert_kv_ok(kv);
  pv_kv_xfer_list_free(&out);
  pv_kv_xfer_list_free(&in);
  pv_kv_destroy(kv);
}

static void test_partial_group_and_free_while_swapped(void **state) {
  (void)state;
  pv_kv_manager *kv = make_kv(16, 8, 16, NULL);
  uint32_t s[3];
  make_group(kv, s);
  pv_kv_xfer_list out = {0}, in = {0};
  assert_int_equal(pv_kv_swap_out(kv, s, 3, &out, NULL), PAGEDVK_OK);
  /* s0 alone comes back: its slots stay referenced by s1 and s2. */
  assert_int_equal(pv_kv_swap_in(kv, s, 1, &in, NULL), PAGEDVK_OK);
  assert_int_equal(in.count, 3);
  assert_int_equal(pv_kv_free_swap_slots(kv), 12);
  assert_kv_ok(kv);
  /* freeing a swapped sequence gives its slots back */
  assert_int_equal(pv_kv_seq_free(kv, s[1], NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_free_swap_slots(kv), 13); /* s1's private copy; the full blocks stay for s2 */
  assert_int_equal(pv_kv_seq_free(kv, s[2], NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_free_swap_slots(kv), 16);
  assert_kv_ok(kv);
  assert_int_equal(pv_kv_seq_free(kv, s[0], NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_free_blocks(kv), 16);
  assert_kv_ok(kv);

  /* No swap space at all: every swap-out reports it full. */
  pv_kv_manager *none = make_kv(4, 8, 0, NULL);
  int32_t t[8];
  fill_tokens(t, 8, 1);
  uint32_t q = new_seq(none, t, 8, NULL);
  assert_int_equal(pv_kv_swap_out(none, &q, 1, &out, NULL), PAGEDVK_ERR_KV_FULL);
  assert_kv_ok(none);
  pv_kv_destroy(none);
  pv_kv_xfer_list_free(&out);
  pv_kv_xfer_list_free(&in);
  pv_kv_destroy(kv);
}

static void test_swap_out_of_prefix_hit(void **state) {
  (void)state;
  pv_kv_manager *kv = make_kv(8, 8, 8, NULL);
  int32_t t[12];
  fill_tokens(t, 12, 3);
  uint32_t a = new_seq(kv, t, 12, NULL);
  compute_all(kv, a);
  uint32_t cached = 0, b = new_seq(kv, t, 12, &cached);
  assert_int_equal(cached, 8);
  uint32_t shared = pv_kv_seq_table(kv, a, NULL)[0];
  assert_int_equal(pv_kv_block_ref(kv, shared), 2);
  pv_kv_xfer_list out = {0}, in = {0};
  assert_int_equal(pv_kv_swap_out(kv, &b, 1, &out, NULL), PAGEDVK_OK);
  assert_int_equal(out.count, 2);
  assert_int_equal(pv_kv_block_ref(kv, shared), 1);
  assert_non_null(pv_kv_block_cached_tokens(kv, shared));
  assert_int_equal(pv_kv_swap_in(kv, &b, 1, &in, NULL), PAGEDVK_OK);
  assert_int_not_equal(pv_kv_seq_table(kv, b, NULL)[0], shared); /* its own copy now */
  assert_int_equal(pv_kv_seq_computed(kv, b), 8);
  compute_all(kv, b);
  assert_kv_ok(kv);
  pv_kv_xfer_list_free(&out);
  pv_kv_xfer_list_free(&in);
  pv_kv_destroy(kv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_full_swap_space_and_pool),
      cmocka_unit_test(test_partial_group_and_free_while_swapped),
      cmocka_unit_test(test_swap_out_of_prefix_hit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
