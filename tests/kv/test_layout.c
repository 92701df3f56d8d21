/*
 * pv_kv_layout_plan: which layers share a block, for the shapes of real models.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kv/kv_layout.h"

static pv_kv_layout plan(const uint32_t *w, uint32_t n, bool disable) {
  pv_kv_layout l;
  pv_error err = {0};
  if (pv_kv_layout_plan(&l, w, n, disable, 0, &err)) fail_msg("%s", err.msg);
  return l;
}

/* Every group holds layers of one window, at most layers_per_block of them, each slot once. */
static void check_consistent(const pv_kv_layout *l, const uint32_t *w) {
  uint32_t used[PV_KV_MAX_GROUPS][64] = {{0}};
  for (uint32_t i = 0; i < l->n_layer; i++) {
    assert_true(l->group[i] < l->n_groups);
    assert_true(l->slot[i] < l->layers_per_block);
    assert_int_equal(l->window[l->group[i]], w[i]);
    assert_int_equal(used[l->group[i]][l->slot[i]]++, 0);
  }
}

static void test_shapes(void **state) {
  (void)state;
  uint32_t w[64] = {0};
  pv_kv_layout l = plan(w, 16, false); /* llama: one group of every layer */
  assert_int_equal(l.n_groups, 1);
  assert_int_equal(l.layers_per_block, 16);
  check_consistent(&l, w);
  pv_kv_layout_free(&l);

  w[0] = 8; /* gemma2-shaped, 2 layers: local, global */
  l = plan(w, 2, false);
  assert_int_equal(l.n_groups, 2);
  assert_int_equal(l.layers_per_block, 1);
  assert_int_equal(l.window[l.group[0]], 8);
  assert_int_equal(l.window[l.group[1]], 0);
  pv_kv_layout_free(&l);

  for (uint32_t i = 0; i < 26; i++) w[i] = (i + 1) % 6 ? 512 : 0; /* gemma3-1b: 22 local, 4 global */
  l = plan(w, 26, false);
  assert_int_equal(l.layers_per_block, 4);
  assert_int_equal(l.n_groups, 7);
  check_consistent(&l, w);
  pv_kv_layout_free(&l);

  for (uint32_t i = 0; i < 62; i++) w[i] = (i + 1) % 6 ? 1024 : 0; /* gemma3-27b: 52 local, 10 global */
  l = plan(w, 62, false);
  assert_int_equal(l.layers_per_block, 6); /* 7 would pad 8 slots, more than 62/8 */
  assert_int_equal(l.n_groups, 9 + 2);
  check_consistent(&l, w);
  pv_kv_layout_free(&l);

  pv_error err = {0};
  uint32_t zero[12] = {0}; /* at most 5 layers a block: 12 global layers in groups of 4 (padding 0) */
  assert_int_equal(pv_kv_layout_plan(&l, zero, 12, false, 5, &err), PAGEDVK_OK);
  assert_int_equal(l.layers_per_block, 4);
  assert_int_equal(l.n_groups, 3);
  check_consistent(&l, zero);
  pv_kv_layout_free(&l);

  l = plan(w, 62, true); /* groups off: one group, every layer global in the manager's eyes */
  assert_int_equal(l.n_groups, 1);
  assert_int_equal(l.window[0], 0);
  pv_kv_layout_free(&l);
}

static void test_too_many_kinds(void **state) {
  (void)state;
  uint32_t w[40];
  for (uint32_t i = 0; i < 40; i++) w[i] = 8 + i; /* 40 different windows: more than 32 groups */
  pv_kv_layout l;
  pv_error err = {0};
  assert_int_equal(pv_kv_layout_plan(&l, w, 40, false, 0, &err), PAGEDVK_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "groups"));
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_shapes), cmocka_unit_test(test_too_many_kinds)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
