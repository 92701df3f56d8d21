/* Prefix cache: hits only after mark_computed, never the whole prompt, duplicates and collisions
 * (injected hash functions) never give a wrong hit, generations cut chains through evicted parents. */
#include "kv_helpers.h"
#include "kv/prefix_cache.h"

static uint64_t constant_hash(uint64_t parent, const int32_t *t, uint32_t n, void *user) {
  (void)parent, (void)t, (void)n, (void)user;
  return 42;
}

/* Ignores the parent key: equal blocks after different prefixes collide. */
static uint64_t parent_blind_hash(uint64_t parent, const int32_t *t, uint32_t n, void *user) {
  (void)parent;
  return pv_kv_hash_xxh3(0, t, n, user);
}

static void test_hit_after_mark_computed_only(void **state) {
  (void)state;
  pv_kv_manager *kv = make_kv(32, 8, 0, NULL);
  int32_t t[17];
  fill_tokens(t, 17, 1000);
  uint32_t cached = 99, a = new_seq(kv, t, 17, &cached);
  assert_int_equal(cached, 0);
  uint32_t b = new_seq(kv, t, 17, &cached);
  assert_int_equal(cached, 0); /* a's blocks exist but are not computed */
  assert_int_equal(pv_kv_mark_computed(kv, a, 7, NULL), PAGEDVK_OK);
  uint32_t c = new_seq(kv, t, 17, &cached);
  assert_int_equal(cached, 0); /* 7 of 8: not full yet */
  assert_int_equal(pv_kv_mark_computed(kv, a, 1, NULL), PAGEDVK_OK);
  uint32_t d = new_seq(kv, t, 17, &cached);
  assert_int_equal(cached, 8);
  assert_int_equal(pv_kv_seq_computed(kv, d), 8);
  assert_int_equal(pv_kv_mark_computed(kv, a, 9, NULL), PAGEDVK_OK);
  uint32_t e = new_seq(kv, t, 17, &cached);
  assert_int_equal(cached, 16);
  const uint32_t *ta = pv_kv_seq_table(kv, a, NULL), *te = pv_kv_seq_table(kv, e, NULL);
  assert_int_equal(te[0], ta[0]);
  assert_int_equal(te[1], ta[1]);
  assert_int_not_equal(te[2], ta[2]);
  assert_int_equal(pv_kv_block_ref(kv, ta[0]), 3); /* a, d, e */
  assert_kv_ok(kv);

  /* The whole prompt cached (16 = 2 full blocks): only the first block is taken, the second is
   * recomputed into a fresh private block, and then not registered twice. */
  uint32_t f = new_seq(kv, t, 16, &cached);
  assert_int_equal(cached, 8);
  const uint32_t *tf = pv_kv_seq_table(kv, f, NULL);
  assert_int_equal(tf[0], ta[0]);
  assert_int_not_equal(tf[1], ta[1]);
  assert_int_equal(pv_kv_block_ref(kv, tf[1]), 1);
  compute_all(kv, f);
  assert_null(pv_kv_block_cached_tokens(kv, tf[1]));
  assert_non_null(pv_kv_block_cached_tokens(kv, ta[1]));
  /* A one-token prompt never hits. */
  assert_int_equal(pv_kv_seq_computed(kv, new_seq(kv, t, 1, NULL)), 0);
  (void)b, (void)c;
  assert_kv_ok(kv);
  pv_kv_destroy(kv);
}

static void test_partial_prefix_and_plan(void **state) {
  (void)state;
  pv_kv_manager *kv = make_kv(16, 8, 0, NULL);
  int32_t t[30], u[30];
  fill_tokens(t, 30, 1);
  memcpy(u, t, sizeof t);
  u[12] = -5; /* differs in the second block */
  uint32_t a = new_seq(kv, t, 30, NULL);
  compute_all(kv, a);
  kv_snapshot before;
  take_snapshot(kv, &before);
  pv_kv_prompt_plan plan;
  assert_int_equal(pv_kv_plan_prompt(kv, u, 30, &plan, NULL), PAGEDVK_OK);
  assert_unchanged(kv, &before);
  assert_int_equal(plan.cached_tokens, 8);
  assert_int_equal(plan.blocks_total, 4);
  assert_int_equal(plan.blocks_needed, 3);
  assert_int_equal(pv_kv_plan_prompt(kv, u, 0, &plan, NULL), PAGEDVK_ERR_INVALID);
  uint32_t cached = 0;
  new_seq(kv, u, 30, &cached);
  assert_int_equal(cached, 8);
  assert_int_equal(pv_kv_free_blocks(kv), 16 - 4 - 3);
  assert_kv_ok(kv);
  pv_kv_destroy(kv);

  pv_kv_config cfg = {.n_blocks = 16, .block_size = 8, .disable_prefix_cache = true};
  assert_int_equal(pv_kv_create(&kv, &cfg, NULL), PAGEDVK_OK);
  a = new_seq(kv, t, 30, NULL);
  compute_all(kv, a);
  new_seq(kv, t, 30, &cached);
  assert_int_equal(cached, 0);
  assert_null(pv_kv_block_cached_tokens(kv, pv_kv_seq_table(kv, a, NULL)[0]));
  assert_kv_ok(kv);
  pv_kv_destroy(kv);
}

static void test_constant_hash_never_wrong(void **state) {
  (void)state;
  pv_kv_manager *kv = make_kv(32, 8, 0, constant_hash);
  int32_t a_tok[20], b_tok[20];
  fill_tokens(a_tok, 20, 1);
  fill_tokens(b_tok, 20, 501);
  uint32_t a = new_seq(kv, a_tok, 20, NULL);
  compute_all(kv, a); /* block 0 registered under 42; block 1 collides and is not */
  uint32_t cached = 99, b = new_seq(kv, b_tok, 20, &cached);
  assert_int_equal(cached, 0); /* same key, other tokens: no hit */
  compute_all(kv, b);
  assert_null(pv_kv_block_cached_tokens(kv, pv_kv_seq_table(kv, b, NULL)[0]));
  new_seq(kv, b_tok, 20, &cached);
  assert_int_equal(cached, 0);
  uint32_t c = new_seq(kv, a_tok, 20, &cached);
  assert_int_equal(cached, 8);
  assert_memory_equal(pv_kv_block_cached_tokens(kv, pv_kv_seq_table(kv, c, NULL)[0]), a_tok, 8 * sizeof(int32_t));
  assert_kv_ok(kv);
  pv_kv_destroy(kv);
}

static void test_parent_blind_hash_never_wrong(void **state) {
  (void)state;
  pv_kv_manager *kv = make_kv(32, 8, 0, parent_blind_hash);
  int32_t x_y[17], w_y[17];
  fill_tokens(x_y, 17, 100);
  memcpy(w_y, x_y, sizeof x_y);
  for (int i = 0; i < 8; i++) w_y[i] = 900 + i; /* W, then the same Y block */
  uint32_t a = new_seq(kv, x_y, 17, NULL);
  compute_all(kv, a); /* X and Y(after X) cached */
  uint32_t b = new_seq(kv, w_y, 17, NULL);
  compute_all(kv, b); /* W cached; Y(after W) has Y(after X)'s key and tokens: refused */
  const uint32_t *ta = pv_kv_seq_table(kv, a, NULL), *tb = pv_kv_seq_table(kv, b, NULL);
  assert_non_null(pv_kv_block_cached_tokens(kv, tb[0]));
  assert_null(pv_kv_block_cached_tokens(kv, tb[1]));
  uint32_t cached = 0, c = new_seq(kv, w_y, 17, &cached);
  assert_int_equal(cached, 8); /* W only: Y's K/V after X is not Y's K/V after W */
  const uint32_t *tc = pv_kv_seq_table(kv, c, NULL);
  assert_int_equal(tc[0], tb[0]);
  assert_int_not_equal(tc[1], ta[1]);
  uint32_t d = new_seq(kv, x_y, 17, &cached);
  assert_int_equal(cached, 16);
  assert_int_equal(pv_kv_seq_table(kv, d, NULL)[1], ta[1]);
  assert_kv_ok(kv);
  pv_kv_destroy(kv);
}

/* Directly on the map: a child inserted after a parent is unreachable once the parent leaves the
 * cache, even if the parent block comes back with the same key and tokens. */
static void test_generation_cuts_stale_children(void **state) {
  (void)state;
  pv_prefix_cache pc;
  assert_int_equal(pv_prefix_cache_create(&pc, 4, 8, NULL, NULL, NULL), PAGEDVK_OK);
  int32_t x[8], y[8];
  fill_tokens(x, 8, 1);
  fill_tokens(y, 8, 9);
  uint64_t kx = pv_prefix_cache_hash(&pc, PV_KV_ROOT_KEY, x), ky = pv_prefix_cache_hash(&pc, kx, y);
  pv_prefix_cache_insert(&pc, 0, kx, x, PV_KV_NONE, 0);
  pv_prefix_cache_insert(&pc, 1, ky, y, 0, pc.gen[0]);
  assert_int_equal(pv_prefix_cache_find(&pc, kx, x, PV_KV_NONE, 0), 0);
  assert_int_equal(pv_prefix_cache_find(&pc, ky, y, 0, pc.gen[0]), 1);
  assert_int_equal(pv_prefix_cache_find(&pc, ky, x, 0, pc.gen[0]), PV_KV_NONE); /* tokens differ */
  assert_int_equal(pv_prefix_cache_find(&pc, ky, y, 2, pc.gen[0]), PV_KV_NONE); /* parent differs */
  pv_prefix_cache_remove(&pc, 0);
  assert_false(pv_prefix_cache_has_key(&pc, kx));
  pv_prefix_cache_insert(&pc, 0, kx, x, PV_KV_NONE, 0);
  assert_int_equal(pv_prefix_cache_find(&pc, ky, y, 0, pc.gen[0]), PV_KV_NONE);
  assert_true(pv_prefix_cache_has_key(&pc, ky));
  assert_int_equal(pc.n_cached, 2);
  pv_prefix_cache_remove(&pc, 1);
  pv_prefix_cache_remove(&pc, 0);
  assert_int_equal(pc.n_cached, 0);
  pv_prefix_cache_destroy(&pc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hit_after_mark_computed_only),  cmocka_unit_test(test_partial_prefix_and_plan),
      cmocka_unit_test(test_constant_hash_never_wrong),     cmocka_unit_test(test_parent_blind_hash_never_wrong),
      cmocka_unit_test(test_generation_cuts_stale_children),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
