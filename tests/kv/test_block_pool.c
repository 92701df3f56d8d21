/* Block pool: validation, free-list order (head/tail/unlink), O(1) links; manager creation limits. */
#include "kv_helpers.h"
#include "kv/block_pool.h"

static void test_block_size_validation(void **state) {
  (void)state;
  pv_block_pool pool;
  pv_error err = {0};
  const uint32_t good[] = {8, 16, 32, 64}, bad[] = {0, 1, 4, 12, 24, 128};
  for (size_t i = 0; i < PV_ARRAY_LEN(good); i++) {
    assert_int_equal(pv_block_pool_create(&pool, 4, good[i], &err), PAGEDVK_OK);
    pv_block_pool_destroy(&pool);
  }
  for (size_t i = 0; i < PV_ARRAY_LEN(bad); i++) {
    assert_int_equal(pv_block_pool_create(&pool, 4, bad[i], &err), PAGEDVK_ERR_INVALID);
    assert_int_equal(err.code, PAGEDVK_ERR_INVALID);
    assert_non_null(strstr(err.msg, "block size"));
  }
  assert_int_equal(pv_block_pool_create(&pool, 0, 16, &err), PAGEDVK_ERR_INVALID);

  pv_kv_manager *kv = NULL;
  pv_kv_config cfg = {.n_blocks = 8, .block_size = 48};
  assert_int_equal(pv_kv_create(&kv, &cfg, &err), PAGEDVK_ERR_INVALID);
  assert_null(kv);
  cfg.block_size = 0; /* default */
  assert_int_equal(pv_kv_create(&kv, &cfg, &err), PAGEDVK_OK);
  assert_int_equal(pv_kv_block_size(kv), PV_KV_DEFAULT_BLOCK_SIZE);
  assert_int_equal(pv_kv_free_blocks(kv), 8);
  assert_kv_ok(kv);
  pv_kv_destroy(kv);
}

static void expect_list(const pv_block_pool *pool, const uint32_t *want, uint32_t n) {
  assert_int_equal(pool->n_free, n);
  uint32_t i = 0;
  for (uint32_t id = pool->head; id != PV_KV_NONE; id = pool->blocks[id].next) {
    assert_true(i < n);
    assert_int_equal(id, want[i]);
    i++;
  }
  assert_int_equal(i, n);
  /* and backwards */
  for (uint32_t id = pool->tail; id != PV_KV_NONE; id = pool->blocks[id].prev) assert_int_equal(id, want[--i]);
}

static void test_free_list_order(void **state) {
  (void)state;
  pv_block_pool pool;
  assert_int_equal(pv_block_pool_create(&pool, 5, 16, NULL), PAGEDVK_OK);
  expect_list(&pool, (uint32_t[]){0, 1, 2, 3, 4}, 5);
  assert_int_equal(pv_block_pool_pop_head(&pool), 0);
  assert_int_equal(pv_block_pool_pop_head(&pool), 1);
  expect_list(&pool, (uint32_t[]){2, 3, 4}, 3);
  pv_block_pool_unlink(&pool, 3); /* middle */
  expect_list(&pool, (uint32_t[]){2, 4}, 2);
  pv_block_pool_push_tail(&pool, 0);
  pv_block_pool_push_head(&pool, 1);
  expect_list(&pool, (uint32_t[]){1, 2, 4, 0}, 4);
  pv_block_pool_unlink(&pool, 1); /* head */
  pv_block_pool_unlink(&pool, 0); /* tail */
  expect_list(&pool, (uint32_t[]){2, 4}, 2);
  assert_false(pool.blocks[0].free);
  assert_true(pool.blocks[2].free);
  assert_int_equal(pv_block_pool_pop_head(&pool), 2);
  assert_int_equal(pv_block_pool_pop_head(&pool), 4);
  assert_int_equal(pv_block_pool_pop_head(&pool), PV_KV_NONE);
  assert_int_equal(pool.head, PV_KV_NONE);
  assert_int_equal(pool.tail, PV_KV_NONE);
  pv_block_pool_push_tail(&pool, 3);
  expect_list(&pool, (uint32_t[]){3}, 1);
  pv_block_pool_destroy(&pool);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_block_size_validation),
      cmocka_unit_test(test_free_list_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
