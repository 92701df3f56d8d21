/* Stop strings over streamed pieces: held-back prefixes, matches spanning pieces, overlapping
 * prefixes, several strings, first-ending match, flush, and a randomized comparison with a
 * whole-text reference under random piece boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sample/rng.h"
#include "sample/stop.h"

typedef struct run {
  char text[4096]; /* everything emitted */
  size_t len;
  bool stopped;
  uint32_t which;
} run;

static pv_stop *make(const char *const *stops, uint32_t n) {
  pv_stop *s = NULL;
  pv_error err = {0};
  if (pv_stop_create(&s, stops, NULL, n, &err) != PAGEDVK_OK) fail_msg("pv_stop_create: %s", err.msg);
  return s;
}

static size_t feed(pv_stop *s, run *r, const char *piece) {
  pv_stop_out o;
  assert_int_equal(pv_stop_feed(s, piece, strlen(piece), &o, NULL), PAGEDVK_OK);
  memcpy(r->text + r->len, o.text, o.len);
  r->len += o.len;
  r->text[r->len] = 0;
  r->stopped = o.stopped;
  r->which = o.which;
  return o.len;
}

static size_t flush(pv_stop *s, run *r) {
  pv_stop_out o;
  pv_stop_flush(s, &o);
  memcpy(r->text + r->len, o.text, o.len);
  r->len += o.len;
  r->text[r->len] = 0;
  return o.len;
}

static void test_no_stops_pass_through(void **state) {
  (void)state;
  pv_stop *s = make(NULL, 0);
  run r = {0};
  assert_int_equal(feed(s, &r, "hello "), 6);
  assert_int_equal(feed(s, &r, "world"), 5);
  assert_int_equal(flush(s, &r), 0);
  assert_string_equal(r.text, "hello world");
  assert_false(r.stopped);
  pv_stop_destroy(s);
}

static void test_stop_across_pieces(void **state) {
  (void)state;
  const char *stops[] = {"</s>"};
  pv_stop *s = make(stops, 1);
  run r = {0};
  assert_int_equal(feed(s, &r, "Hello <"), 6); /* "<" held */
  assert_int_equal(pv_stop_held(s), 1);
  assert_int_equal(feed(s, &r, "/"), 0);
  assert_int_equal(feed(s, &r, "s> and more"), 0);
  assert_true(r.stopped);
  assert_int_equal(r.which, 0);
  assert_string_equal(r.text, "Hello ");
  assert_int_equal(feed(s, &r, "ignored"), 0); /* stays stopped */
  assert_true(r.stopped);
  assert_int_equal(flush(s, &r), 0);
  assert_string_equal(r.text, "Hello ");
  pv_stop_destroy(s);
}

static void test_held_tail_released(void **state) {
  (void)state;
  const char *stops[] = {"</s>"};
  pv_stop *s = make(stops, 1);
  run r = {0};
  feed(s, &r, "a </");
  assert_string_equal(r.text, "a ");
  feed(s, &r, "x"); /* "</x" can no longer become "</s>" */
  assert_string_equal(r.text, "a </x");
  feed(s, &r, "<");
  assert_string_equal(r.text, "a </x");
  flush(s, &r); /* end of sample: the held "<" goes out */
  assert_string_equal(r.text, "a </x<");
  assert_false(r.stopped);
  pv_stop_destroy(s);
}

static void test_overlapping_prefix(void **state) {
  (void)state;
  const char *stops[] = {"aab"};
  pv_stop *s = make(stops, 1);
  run r = {0};
  assert_int_equal(feed(s, &r, "a"), 0);
  assert_int_equal(feed(s, &r, "a"), 0);
  assert_int_equal(feed(s, &r, "a"), 1); /* "aaa": only the last "aa" can still start "aab" */
  assert_int_equal(feed(s, &r, "b"), 0);
  assert_true(r.stopped);
  assert_string_equal(r.text, "a");
  pv_stop_destroy(s);
}

static void test_several_strings(void **state) {
  (void)state;
  const char *stops[] = {"STOP", "", "END"};
  pv_stop *s = make(stops, 3); /* the empty string is ignored */
  run r = {0};
  feed(s, &r, "xx ST");
  assert_string_equal(r.text, "xx ");
  feed(s, &r, "AR EN");
  assert_string_equal(r.text, "xx STAR ");
  feed(s, &r, "D!");
  assert_true(r.stopped);
  assert_int_equal(r.which, 2); /* index in the caller's array */
  assert_string_equal(r.text, "xx STAR ");
  pv_stop_destroy(s);
}

static void test_first_ending_match_wins(void **state) {
  (void)state;
  const char *stops[] = {"abcd", "bc", "zbcq"};
  const char *pieces_whole[] = {"xabcd"};
  const char *pieces_bytes[] = {"x", "a", "b", "c", "d"};
  const char *const *cuts[] = {pieces_whole, pieces_bytes};
  size_t counts[] = {1, 5};
  for (int c = 0; c < 2; c++) {
    pv_stop *s = make(stops, 3);
    run r = {0};
    for (size_t i = 0; i < counts[c] && !r.stopped; i++) feed(s, &r, cuts[c][i]);
    assert_true(r.stopped);
    assert_int_equal(r.which, 1);
    assert_string_equal(r.text, "xa");
    pv_stop_destroy(s);
  }
  /* same end: the earlier start (longer string) wins */
  const char *same_end[] = {"cd", "bcd"};
  pv_stop *s = make(same_end, 2);
  run r = {0};
  feed(s, &r, "abcde");
  assert_int_equal(r.which, 1);
  assert_string_equal(r.text, "a");
  pv_stop_destroy(s);
}

static void test_stop_inside_one_piece(void **state) {
  (void)state;
  const char *stops[] = {"\n\n"};
  pv_stop *s = make(stops, 1);
  run r = {0};
  feed(s, &r, "line one\n");
  assert_string_equal(r.text, "line one");
  feed(s, &r, "\n\nthree");
  assert_true(r.stopped);
  assert_string_equal(r.text, "line one");
  pv_stop_destroy(s);
}

/* The reference: cut the whole text before the first-ending match. */
static size_t reference_cut(const char *text, size_t len, const char *const *stops, uint32_t n, bool *stopped) {
  for (size_t end = 1; end <= len; end++) {
    for (size_t start = 0; start < end; start++) {
      for (uint32_t k = 0; k < n; k++) {
        size_t sl = strlen(stops[k]);
        if (sl && end - start == sl && memcmp(text + start, stops[k], sl) == 0) {
          *stopped = true;
          return start;
        }
      }
    }
  }
  *stopped = false;
  return len;
}

static void test_random_pieces_match_reference(void **state) {
  (void)state;
  const char *stops[] = {"abab", "bba", "aaaa", "cab"};
  pv_rng rng;
  pv_rng_seed(&rng, 77);
  for (int trial = 0; trial < 3000; trial++) {
    char text[64];
    size_t len = 1 + pv_rng_next(&rng) % 40;
    for (size_t i = 0; i < len; i++) text[i] = "abc"[pv_rng_next(&rng) % (trial % 2 ? 3 : 2)];
    text[len] = 0;
    uint32_t n = 1 + (uint32_t)(pv_rng_next(&rng) % 4);
    bool want_stop;
    size_t want = reference_cut(text, len, stops, n, &want_stop);
    pv_stop *s = make(stops, n);
    run r = {0};
    for (size_t at = 0; at < len && !r.stopped;) {
      size_t piece = 1 + pv_rng_next(&rng) % 5;
      if (piece > len - at) piece = len - at;
      char buf[8];
      memcpy(buf, text + at, piece);
      buf[piece] = 0;
      feed(s, &r, buf);
      at += piece;
      /* never emitted anything the reference would not */
      assert_true(r.len <= want && memcmp(r.text, text, r.len) == 0);
    }
    if (!r.stopped) flush(s, &r);
    assert_int_equal(r.stopped, want_stop);
    assert_int_equal(r.len, want);
    assert_memory_equal(r.text, text, want);
    pv_stop_destroy(s);
  }
}

static void test_bad_create(void **state) {
  (void)state;
  pv_stop *s = NULL;
  const char *stops[] = {"ok", NULL};
  assert_int_equal(pv_stop_create(&s, stops, NULL, 2, NULL), PAGEDVK_ERR_INVALID);
  assert_null(s);
  assert_int_equal(pv_stop_create(&s, NULL, NULL, 1, NULL), PAGEDVK_ERR_INVALID);
}

/* Strings with lengths: a NUL byte is part of a stop string (and of the text), not its end. */
static void test_nul_bytes_with_lengths(void **state) {
  (void)state;
  const char *stops[2] = {"b\0c", "zz"};
  const size_t lens[2] = {3, 2};
  pv_stop *s = NULL;
  pv_error err = {0};
  if (pv_stop_create(&s, stops, lens, 2, &err) != PAGEDVK_OK) fail_msg("pv_stop_create: %s", err.msg);
  pv_stop_out o;
  /* "ab" then "\0" then "x": "b\0" was a prefix, "b\0x" is not: everything comes out */
  assert_int_equal(pv_stop_feed(s, "ab", 2, &o, NULL), PAGEDVK_OK);
  assert_int_equal(o.len, 1);
  assert_int_equal(pv_stop_feed(s, "\0", 1, &o, NULL), PAGEDVK_OK);
  assert_int_equal(o.len, 0);
  assert_int_equal(pv_stop_feed(s, "x", 1, &o, NULL), PAGEDVK_OK);
  assert_int_equal(o.len, 3);
  assert_memory_equal(o.text, "b\0x", 3);
  assert_false(o.stopped);
  /* "b\0c" matches across pieces; "b" alone (what a NUL-terminated copy would hold) did not stop */
  assert_int_equal(pv_stop_feed(s, "b\0", 2, &o, NULL), PAGEDVK_OK);
  assert_false(o.stopped);
  assert_int_equal(pv_stop_feed(s, "cd", 2, &o, NULL), PAGEDVK_OK);
  assert_true(o.stopped);
  assert_int_equal(o.which, 0);
  assert_int_equal(o.len, 0);
  pv_stop_destroy(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_stops_pass_through),
      cmocka_unit_test(test_stop_across_pieces),
      cmocka_unit_test(test_held_tail_released),
      cmocka_unit_test(test_overlapping_prefix),
      cmocka_unit_test(test_several_strings),
      cmocka_unit_test(test_first_ending_match_wins),
      cmocka_unit_test(test_stop_inside_one_piece),
      cmocka_unit_test(test_random_pieces_match_reference),
      cmocka_unit_test(test_bad_create),
      cmocka_unit_test(test_nul_bytes_with_lengths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
