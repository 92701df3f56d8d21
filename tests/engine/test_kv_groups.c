/*
 * KV layer groups through the whole engine (kv_layout.h): with PAGEDVK_KV_GROUP_LAYERS a model
 * without sliding windows is split into several groups — each with its own block tables, token
 * rows and slots, a layer reading and writing its group's blocks at its slot — and a ragged batch
 * of greedy requests still equals the CPU reference token by token, at two block sizes. The pool
 * holds 4x the blocks of the one-group layout in the same memory (a block holds one layer, not 4),
 * which shows the layout took effect. Models come from the built mkmodel (skips without it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model_check.h"

static int setup(void **state) {
  (void)state;
  return mc_setup("kv_groups");
}

static int teardown(void **state) {
  (void)state;
  unsetenv("PAGEDVK_KV_GROUP_LAYERS");
  pagedvk_env_reload();
  return mc_teardown();
}

static uint32_t pool_blocks(const char *path) { return mc_pool_stats(path, 4u << 20, 16, 128).blocks_total; }

static void with_groups(const char *n) {
  if (n) setenv("PAGEDVK_KV_GROUP_LAYERS", n, 1);
  else unsetenv("PAGEDVK_KV_GROUP_LAYERS");
  pagedvk_env_reload();
}

static void test_groups_match_reference(void **state) {
  (void)state;
  char path[512];
  mc_mkmodel("--n-embd 64 --n-head 4 --n-head-kv 2 --n-ff 128 --n-layer 4 --ctx 128 --seed 11", "m.gguf", path,
             sizeof path);
  with_groups(NULL);
  const uint32_t one = pool_blocks(path);
  with_groups("1"); /* four groups of one layer */
  assert_int_equal(pool_blocks(path), 4 * one);
  mc_engine_matches_reference_bs(path, 8);
  mc_engine_matches_reference_bs(path, 16);
  with_groups("3"); /* two groups of two layers (three would leave two slots of six unused) */
  assert_int_equal(pool_blocks(path), 2 * one);
  mc_engine_matches_reference_bs(path, 16);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_groups_match_reference)};
  return cmocka_run_group_tests(tests, setup, teardown);
}
