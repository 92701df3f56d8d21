/* The shared containers of runtime/base: growth (grow.h), the binary heap (heap.h) and the hash
 * map (hmap.h), each against a plain model: sorted arrays for the heap, a direct table for the map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/base.h"
#include "base/grow.h"
#include "base/heap.h"
#include "base/hmap.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static void test_grow_doubles_and_keeps(void **state) {
  (void)state;
  int *a = NULL;
  size_t cap = 0;
  for (size_t i = 0; i < 1000; i++) {
    assert_int_equal(PV_GROW(a, cap, i + 1), PAGEDVK_OK);
    assert_true(cap >= i + 1);
    a[i] = (int)i;
  }
  assert_int_equal(cap, 1024); /* 16, 32, ... */
  for (size_t i = 0; i < 1000; i++) assert_int_equal(a[i], (int)i);
  assert_int_equal(PV_GROW(a, cap, 10), PAGEDVK_OK); /* no shrink, no move */
  assert_int_equal(cap, 1024);
  free(a);
}

static void test_grow_overflow(void **state) {
  (void)state;
  uint64_t *a = NULL;
  size_t cap = 0;
  assert_int_equal(PV_GROW(a, cap, SIZE_MAX / 4), PAGEDVK_ERR_NO_MEMORY);
  assert_null(a);
  assert_int_equal(cap, 0);
  uint32_t cap32 = 0;
  assert_int_equal(PV_GROW_U32(a, cap32, (size_t)UINT32_MAX + 1), PAGEDVK_ERR_NO_MEMORY);
  assert_int_equal(PV_GROW_U32(a, cap32, 100), PAGEDVK_OK);
  assert_int_equal(cap32, 128);
  free(a);
}

typedef struct {
  int32_t key;
  uint32_t seq;
} item;

static bool item_before(const void *a, const void *b) {
  const item *x = a, *y = b;
  return x->key < y->key || (x->key == y->key && x->seq < y->seq);
}

static int cmp_item(const void *a, const void *b) { return item_before(a, b) ? -1 : item_before(b, a) ? 1 : 0; }

/* Interleaved pushes and pops against a sorted model; `with`: through pv_heap_push_with/pop_with
 * (the comparison and size named at the call site) instead of pv_heap_push/pop. */
static void check_heap_sorts(bool with) {
  pv_heap h;
  assert_false(pv_heap_init(&h, 0, item_before));
  assert_false(pv_heap_init(&h, PV_HEAP_MAX_ELEM + 1, item_before));
  assert_true(pv_heap_init(&h, sizeof(item), item_before));
  item out;
  assert_false(pv_heap_pop(&h, &out));
  enum { N = 2000 };
  item *ref = malloc(N * sizeof *ref);
  size_t n_ref = 0;
  for (uint32_t i = 0; i < N; i++) {
    item it = {(int32_t)(rnd() % 50) - 25, i};
    assert_int_equal(with ? pv_heap_push_with(&h, &it, sizeof it, item_before) : pv_heap_push(&h, &it), PAGEDVK_OK);
    ref[n_ref++] = it;
    if (rnd() % 3 == 0) {
      qsort(ref, n_ref, sizeof *ref, cmp_item);
      assert_true(with ? pv_heap_pop_with(&h, &out, sizeof out, item_before) : pv_heap_pop(&h, &out));
      assert_int_equal(out.key, ref[0].key);
      assert_int_equal(out.seq, ref[0].seq);
      memmove(ref, ref + 1, --n_ref * sizeof *ref);
    }
    assert_int_equal(pv_heap_size(&h), n_ref);
  }
  qsort(ref, n_ref, sizeof *ref, cmp_item);
  for (size_t i = 0; i < n_ref; i++) {
    assert_true(with ? pv_heap_pop_with(&h, &out, sizeof out, item_before) : pv_heap_pop(&h, &out));
    assert_int_equal(out.seq, ref[i].seq);
  }
  assert_false(pv_heap_pop(&h, &out));
  pv_heap_free(&h);
  free(ref);
}

static void test_heap_sorts(void **state) {
  (void)state;
  check_heap_sorts(false);
  check_heap_sorts(true);
}

/* An element size without a constant-size copy path (12 bytes) sorts too. */
typedef struct {
  int32_t key;
  uint32_t seq, pad;
} item12;

static bool item12_before(const void *a, const void *b) {
  const item12 *x = a, *y = b;
  return x->key < y->key || (x->key == y->key && x->seq < y->seq);
}

static void test_heap_odd_size(void **state) {
  (void)state;
  pv_heap h;
  assert_true(pv_heap_init(&h, sizeof(item12), item12_before));
  enum { N = 500 };
  for (uint32_t i = 0; i < N; i++) {
    item12 it = {(int32_t)(rnd() % 40), i, ~i};
    assert_int_equal(pv_heap_push(&h, &it), PAGEDVK_OK);
  }
  item12 prev = {INT32_MIN, 0, 0}, out;
  for (uint32_t i = 0; i < N; i++) {
    assert_true(pv_heap_pop(&h, &out));
    assert_false(item12_before(&out, &prev));
    assert_int_equal(out.pad, ~out.seq);
    prev = out;
  }
  assert_false(pv_heap_pop(&h, &out));
  pv_heap_free(&h);
}

static void test_hmap_integer_keys(void **state) {
  (void)state;
  pv_hmap m;
  assert_int_equal(pv_hmap_init(&m, 0), PAGEDVK_OK);
  assert_false(pv_hmap_get(&m, 7, NULL));
  assert_null(pv_hmap_ref(&m, 7));
  enum { N = 5000 };
  uint64_t *model = calloc(N, sizeof *model); /* 0: absent, else value + 1 */
  for (int i = 0; i < 20000; i++) {
    uint64_t k = rnd() % N, v = rnd() % 1000;
    /* keys that differ only in high bits and sequential keys both land */
    uint64_t key = k << 40 | k;
    assert_int_equal(pv_hmap_put(&m, key, v), PAGEDVK_OK);
    model[k] = v + 1;
    if (i % 997 == 0) {
      uint64_t *r = pv_hmap_ref(&m, key);
      assert_non_null(r);
      *r += 1;
      model[k] += 1;
    }
  }
  size_t n = 0;
  for (uint64_t k = 0; k < N; k++) {
    uint64_t v;
    bool found = pv_hmap_get(&m, k << 40 | k, &v);
    assert_int_equal(found, model[k] != 0);
    if (found) {
      assert_int_equal(v + 1, model[k]);
      n++;
    }
  }
  assert_int_equal(m.n, n);
  assert_true(m.n * 2 <= m.cap);
  assert_int_equal(pv_hmap_put(&m, 1, PV_HMAP_EMPTY), PAGEDVK_ERR_INVALID);
  pv_hmap_clear(&m);
  assert_int_equal(m.n, 0);
  assert_false(pv_hmap_get(&m, 0, NULL));
  pv_hmap_free(&m);
  free(model);
}

static const char *const WORDS[] = {"a", "b", "ab", "ba", "", "hello", "hellO", "héllo", "x y", "a\0b"};

static bool same_word(uint64_t val, const void *key, void *user) {
  (void)user;
  return !strcmp(WORDS[val], key);
}

static void test_hmap_hashed_keys(void **state) {
  (void)state;
  pv_hmap m;
  assert_int_equal(pv_hmap_init(&m, 4), PAGEDVK_OK);
  const size_t n_words = PV_ARRAY_LEN(WORDS);
  for (uint64_t i = 0; i < n_words - 1; i++) {
    uint64_t h = pv_hash_bytes(WORDS[i], strlen(WORDS[i]));
    assert_false(pv_hmap_find(&m, h, same_word, WORDS[i], NULL, NULL));
    assert_int_equal(pv_hmap_add(&m, h, i), PAGEDVK_OK);
  }
  for (uint64_t i = 0; i < n_words - 1; i++) {
    uint64_t v = 99;
    assert_true(pv_hmap_find(&m, pv_hash_bytes(WORDS[i], strlen(WORDS[i])), same_word, WORDS[i], NULL, &v));
    assert_int_equal(v, i);
  }
  /* equal hashes, different keys: the callback decides */
  pv_hmap c;
  assert_int_equal(pv_hmap_init(&c, 0), PAGEDVK_OK);
  for (uint64_t i = 0; i < 5; i++) assert_int_equal(pv_hmap_add(&c, 42, i), PAGEDVK_OK);
  for (uint64_t i = 0; i < 5; i++) {
    uint64_t v = 99;
    assert_true(pv_hmap_find(&c, 42, same_word, WORDS[i], NULL, &v));
    assert_int_equal(v, i);
  }
  assert_false(pv_hmap_find(&c, 42, same_word, "hello", NULL, NULL));
  pv_hmap_free(&c);
  pv_hmap_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grow_doubles_and_keeps), cmocka_unit_test(test_grow_overflow),
      cmocka_unit_test(test_heap_sorts), cmocka_unit_test(test_heap_odd_size),             cmocka_unit_test(test_hmap_integer_keys),
      cmocka_unit_test(test_hmap_hashed_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
