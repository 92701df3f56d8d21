/* Selection arithmetic: heap top-k and quickselect against a brute-force sort, ties by lowest
 * id, max/log-sum-exp, top log-probabilities, rejected rows. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sample/logits.h"
#include "sample/rng.h"

/* Random logits over few distinct values, so ties are common. */
static void fill_tied(float *x, uint32_t n, pv_rng *r, uint32_t levels) {
  for (uint32_t i = 0; i < n; i++) x[i] = (float)(pv_rng_next(r) % levels) * 0.5f - 3.0f;
}

static pv_cand *sorted_reference(const float *x, uint32_t n) {
  pv_cand *c = malloc(n * sizeof *c);
  for (uint32_t i = 0; i < n; i++) c[i] = (pv_cand){(int32_t)i, x[i]};
  pv_cand_sort(c, n);
  return c;
}

static void test_sort_order(void **state) {
  (void)state;
  float x[] = {1.0f, 3.0f, 3.0f, -INFINITY, 2.0f, 3.0f};
  pv_cand *c = sorted_reference(x, 6);
  int32_t want[] = {1, 2, 5, 4, 0, 3};
  for (int i = 0; i < 6; i++) assert_int_equal(c[i].id, want[i]);
  free(c);
}

static void test_heap_top_matches_sort(void **state) {
  (void)state;
  pv_rng r;
  pv_rng_seed(&r, 7);
  uint32_t sizes[] = {1, 2, 5, 100, 3001};
  uint32_t ks[] = {1, 2, 3, 7, 64, 300, 5000};
  for (size_t si = 0; si < PV_ARRAY_LEN(sizes); si++) {
    uint32_t n = sizes[si];
    float *x = malloc(n * sizeof *x);
    fill_tied(x, n, &r, 9);
    pv_cand *ref = sorted_reference(x, n);
    for (size_t ki = 0; ki < PV_ARRAY_LEN(ks); ki++) {
      uint32_t k = ks[ki];
      pv_cand *out = malloc(k * sizeof *out);
      uint32_t got = pv_logits_top(x, n, k, out);
      assert_int_equal(got, k < n ? k : n);
      for (uint32_t i = 0; i < got; i++) {
        assert_int_equal(out[i].id, ref[i].id);
        assert_true(out[i].v == ref[i].v);
      }
      free(out);
    }
    free(ref);
    free(x);
  }
}

/* After select, the first k are exactly the reference's first k (as a set). */
static void check_select(const float *x, uint32_t n, uint32_t k) {
  pv_cand *ref = sorted_reference(x, n);
  pv_cand *c = malloc(n * sizeof *c);
  for (uint32_t i = 0; i < n; i++) c[i] = (pv_cand){(int32_t)i, x[i]};
  pv_cand_select(c, n, k);
  pv_cand_sort(c, k < n ? k : n);
  for (uint32_t i = 0; i < (k < n ? k : n); i++) assert_int_equal(c[i].id, ref[i].id);
  /* and nothing was lost: the whole array is still a permutation */
  pv_cand_sort(c, n);
  for (uint32_t i = 0; i < n; i++) assert_int_equal(c[i].id, ref[i].id);
  free(c);
  free(ref);
}

static void test_select_matches_sort(void **state) {
  (void)state;
  pv_rng r;
  pv_rng_seed(&r, 11);
  uint32_t n = 5000;
  float *x = malloc(n * sizeof *x);
  uint32_t ks[] = {0, 1, 2, 63, 64, 257, 2500, 4999, 5000};
  for (uint32_t levels = 1; levels <= 1000; levels *= 10) {
    fill_tied(x, n, &r, levels);
    for (size_t ki = 0; ki < PV_ARRAY_LEN(ks); ki++) check_select(x, n, ks[ki]);
  }
  for (uint32_t i = 0; i < n; i++) x[i] = (float)i; /* ascending: the classic bad pivot input */
  check_select(x, n, 100);
  for (uint32_t i = 0; i < n; i++) x[i] = -(float)i;
  check_select(x, n, 4000);
  free(x);
}

static void test_argmax_lowest_id(void **state) {
  (void)state;
  float x[] = {0.5f, 2.0f, -1.0f, 2.0f, 2.0f};
  assert_int_equal(pv_logits_argmax(x, 5), 1);
  float y[] = {-INFINITY, -INFINITY, -3.0f};
  assert_int_equal(pv_logits_argmax(y, 3), 2);
  pv_logits_info info;
  assert_int_equal(pv_logits_stats(x, 5, &info, NULL), PAGEDVK_OK);
  assert_int_equal(info.argmax, 1);
}

static void test_stats_and_top_logprobs(void **state) {
  (void)state;
  float x[] = {1.0f, -2.0f, 0.5f, 3.0f, -INFINITY, 3.0f};
  pv_logits_info info;
  assert_int_equal(pv_logits_stats(x, 6, &info, NULL), PAGEDVK_OK);
  assert_true(info.max == 3.0f);
  assert_int_equal(info.argmax, 3);
  double sum = exp(1.0) + exp(-2.0) + exp(0.5) + 2 * exp(3.0);
  assert_true(fabs(info.lse - log(sum)) < 1e-6); /* exp in float, sum in double */
  pv_cand out[6];
  uint32_t n;
  assert_int_equal(pv_top_logprobs(x, 6, 6, out, &n, NULL), PAGEDVK_OK);
  assert_int_equal(n, 6);
  int32_t order[] = {3, 5, 0, 2, 1, 4};
  double total = 0.0;
  for (int i = 0; i < 6; i++) {
    assert_int_equal(out[i].id, order[i]);
    if (order[i] == 4) {
      assert_true(out[i].v == -INFINITY);
      continue;
    }
    assert_true(fabs(out[i].v - ((double)x[order[i]] - log(sum))) < 1e-6);
    total += exp(out[i].v);
  }
  assert_true(fabs(total - 1.0) < 1e-6);
}

static void test_stats_rejects_bad_rows(void **state) {
  (void)state;
  pv_logits_info info;
  pv_error err = {0};
  float nan_row[] = {0.0f, NAN};
  assert_int_equal(pv_logits_stats(nan_row, 2, &info, &err), PAGEDVK_ERR_NONFINITE);
  assert_non_null(strstr(err.msg, "NaN"));
  assert_non_null(strstr(err.msg, "the model produced non-finite logits (NaN/inf)"));
  float inf_row[] = {INFINITY, 0.0f};
  assert_int_equal(pv_logits_stats(inf_row, 2, &info, &err), PAGEDVK_ERR_NONFINITE);
  assert_non_null(strstr(err.msg, "+inf"));
  float masked[] = {-INFINITY, -INFINITY};
  assert_int_equal(pv_logits_stats(masked, 2, &info, &err), PAGEDVK_ERR_NONFINITE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sort_order),
      cmocka_unit_test(test_heap_top_matches_sort),
      cmocka_unit_test(test_select_matches_sort),
      cmocka_unit_test(test_argmax_lowest_id),
      cmocka_unit_test(test_stats_and_top_logprobs),
      cmocka_unit_test(test_stats_rejects_bad_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
