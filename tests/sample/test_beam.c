/* Beam search bookkeeping on small hand-built trees whose answers are worked out by hand: a
 * greedy first choice that loses, parents and child counts for forking, low-ranked
 * end-of-generation candidates dropped, length penalty flipping the winner, the exact early
 * stop, max length, and the final best-n. Token 0 is the end-of-generation token. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "sample/beam.h"

#define MAX_PREFIX 6
#define MAX_CHILD 5

typedef struct node {
  int32_t prefix[MAX_PREFIX];
  uint32_t len;
  int32_t tok[MAX_CHILD];
  double p[MAX_CHILD];
  uint32_t n;
} node;

typedef struct tree {
  const node *nodes;
  size_t n_nodes;
} tree;

static const node *find(const tree *t, const int32_t *prefix, uint32_t len) {
  for (size_t i = 0; i < t->n_nodes; i++)
    if (t->nodes[i].len == len && memcmp(t->nodes[i].prefix, prefix, len * sizeof *prefix) == 0) return &t->nodes[i];
  return NULL;
}

static bool is_eog(int32_t token, void *user) {
  (void)user;
  return token == 0;
}

/* Candidates of every live beam from the tree; unused slots are -inf. */
static void fill(const tree *t, pv_beam_search *b, uint32_t n_cand, pv_cand *out) {
  for (uint32_t i = 0; i < pv_beam_n_live(b); i++) {
    uint32_t len;
    const int32_t *toks = pv_beam_tokens(b, i, &len, NULL);
    const node *nd = find(t, toks, len);
    for (uint32_t j = 0; j < n_cand; j++) {
      bool has = nd && j < nd->n;
      out[i * n_cand + j] = has ? (pv_cand){nd->tok[j], (float)log(nd->p[j])} : (pv_cand){1, -INFINITY};
    }
  }
}

static void step(const tree *t, pv_beam_search *b, pv_beam_step_out *out) {
  pv_cand cands[8 * MAX_CHILD];
  fill(t, b, MAX_CHILD, cands);
  pv_error err = {0};
  if (pv_beam_step(b, cands, MAX_CHILD, is_eog, NULL, out, &err) != PAGEDVK_OK) fail_msg("pv_beam_step: %s", err.msg);
}

static pv_beam_search *make(uint32_t width, uint32_t n_best, uint32_t max_len, float lp) {
  pv_beam_config cfg = {width, n_best, MAX_CHILD, max_len, lp};
  pv_beam_search *b = NULL;
  pv_error err = {0};
  if (pv_beam_create(&b, &cfg, &err) != PAGEDVK_OK) fail_msg("pv_beam_create: %s", err.msg);
  return b;
}

static void assert_tokens(const pv_beam_hyp *h, const int32_t *want, uint32_t len) {
  assert_int_equal(h->len, len);
  assert_memory_equal(h->tokens, want, len * sizeof *want);
}

/* Greedy takes 1 (0.6) and ends at 0.6 * 0.4 = 0.24; beam search finds 2 → 3 at 0.4 * 0.9. */
static const node greedy_loses[] = {
    {{0}, 0, {1, 2}, {0.6, 0.4}, 2},
    {{1}, 1, {3, 4, 0}, {0.4, 0.35, 0.25}, 3},
    {{2}, 1, {3, 4}, {0.9, 0.1}, 2},
    {{1, 3}, 2, {0}, {1.0}, 1},
    {{1, 4}, 2, {0}, {1.0}, 1},
    {{2, 3}, 2, {0}, {1.0}, 1},
    {{2, 4}, 2, {0}, {1.0}, 1},
};

static void test_greedy_path_loses(void **state) {
  (void)state;
  tree t = {greedy_loses, PV_ARRAY_LEN(greedy_loses)};
  pv_beam_search *b = make(2, 2, 5, 0.0f);
  pv_beam_step_out o;
  step(&t, b, &o);
  assert_int_equal(o.n_live, 2);
  assert_int_equal(o.parent[0], 0), assert_int_equal(o.parent[1], 0);
  assert_int_equal(o.token[0], 1), assert_int_equal(o.token[1], 2);
  assert_int_equal(o.n_children[0], 2);
  assert_false(pv_beam_is_done(b));
  /* ranks: [2,3] .36, [1,3] .24, [1,4] .21, [1,0] .15 (rank 3 >= width: dropped), [2,4] .04 */
  step(&t, b, &o);
  assert_int_equal(o.n_live, 2);
  assert_int_equal(o.parent[0], 1), assert_int_equal(o.token[0], 3);
  assert_int_equal(o.parent[1], 0), assert_int_equal(o.token[1], 3);
  assert_int_equal(o.n_children[0], 1), assert_int_equal(o.n_children[1], 1);
  assert_int_equal(o.n_finished_now, 0);
  float cum;
  pv_beam_tokens(b, 0, NULL, &cum);
  assert_true(fabsf(cum - (float)log(0.36)) < 1e-6f);
  step(&t, b, &o);
  assert_int_equal(o.n_live, 0);
  assert_int_equal(o.n_finished_now, 2);
  assert_true(pv_beam_is_done(b));
  pv_beam_hyp h[3];
  assert_int_equal(pv_beam_final(b, h, 3), 2);
  assert_tokens(&h[0], (int32_t[]){2, 3, 0}, 3);
  assert_tokens(&h[1], (int32_t[]){1, 3, 0}, 3);
  assert_true(h[0].eog && h[1].eog);
  assert_true(fabsf(h[0].cum_logprob - (float)log(0.36)) < 1e-6f);
  assert_true(fabsf(h[1].cum_logprob - (float)log(0.24)) < 1e-6f);
  assert_true(h[0].score == h[0].cum_logprob); /* length penalty 0 */
  /* the search is over: another step is refused */
  pv_cand c[MAX_CHILD] = {{0, 0.0f}};
  assert_int_equal(pv_beam_step(b, c, MAX_CHILD, is_eog, NULL, &o, NULL), PAGEDVK_ERR_INVALID);
  pv_beam_destroy(b);
}

static void test_max_len_returns_live_beams(void **state) {
  (void)state;
  tree t = {greedy_loses, PV_ARRAY_LEN(greedy_loses)};
  pv_beam_search *b = make(2, 2, 2, 1.0f);
  pv_beam_step_out o;
  step(&t, b, &o);
  assert_false(pv_beam_is_done(b));
  step(&t, b, &o);
  assert_true(pv_beam_is_done(b));
  pv_beam_hyp h[2];
  assert_int_equal(pv_beam_final(b, h, 2), 2);
  assert_tokens(&h[0], (int32_t[]){2, 3}, 2);
  assert_tokens(&h[1], (int32_t[]){1, 3}, 2);
  assert_false(h[0].eog);
  assert_true(fabsf(h[0].score - (float)log(0.36) / 2.0f) < 1e-6f);
  /* max_out smaller than n_best */
  assert_int_equal(pv_beam_final(b, h, 1), 1);
  assert_tokens(&h[0], (int32_t[]){2, 3}, 2);
  pv_beam_destroy(b);
}

/* Short A = [1,0]: 0.6 * 0.5 = 0.3 (len 2). Long B = [2,4,4,0]: 0.4 * 0.9 * 0.7 * 0.8 = 0.2016
 * (len 4). Without length penalty A wins (-1.204 > -1.601); with penalty 1, B wins
 * (-1.601 / 4 = -0.400 > -1.204 / 2 = -0.602). */
static const node length_tree[] = {
    {{0}, 0, {1, 2}, {0.6, 0.4}, 2},
    {{1}, 1, {0, 3}, {0.5, 0.3}, 2},
    {{2}, 1, {4}, {0.9}, 1},
    {{1, 3}, 2, {0, 4}, {0.05, 0.01}, 2},
    {{2, 4}, 2, {4}, {0.7}, 1},
    {{2, 4, 4}, 3, {0}, {0.8}, 1},
};

static void test_length_penalty_without(void **state) {
  (void)state;
  tree t = {length_tree, PV_ARRAY_LEN(length_tree)};
  pv_beam_search *b = make(2, 1, 6, 0.0f);
  pv_beam_step_out o;
  step(&t, b, &o);
  step(&t, b, &o); /* [2,4] .36 live, [1,0] .3 finished (rank 1), [1,3] .18 live */
  assert_int_equal(o.n_finished_now, 1);
  assert_int_equal(o.n_live, 2);
  assert_false(pv_beam_is_done(b)); /* [2,4] at log .36 could still beat log .3 */
  /* [2,4,4] .252 live; [1,3,0] .009 finished (rank 1) but worse than A: not kept; [1,3,4] .0018 live */
  step(&t, b, &o);
  assert_int_equal(o.n_live, 2);
  assert_int_equal(o.parent[0], 0), assert_int_equal(o.parent[1], 1);
  assert_int_equal(o.n_finished_now, 1);
  /* exact early stop: the live beams can only fall below .252 and .0018, both < .3 */
  assert_true(pv_beam_is_done(b));
  pv_beam_hyp h[1];
  assert_int_equal(pv_beam_final(b, h, 1), 1);
  assert_tokens(&h[0], (int32_t[]){1, 0}, 2);
  assert_true(fabsf(h[0].score - (float)log(0.3)) < 1e-6f);
  pv_beam_destroy(b);
}

static void test_length_penalty_flips_winner(void **state) {
  (void)state;
  tree t = {length_tree, PV_ARRAY_LEN(length_tree)};
  pv_beam_search *b = make(2, 1, 6, 1.0f);
  pv_beam_step_out o;
  step(&t, b, &o);
  step(&t, b, &o);
  step(&t, b, &o);
  /* A's score is -0.602; [2,4,4] could still reach log(.252) / 6 = -0.23 */
  assert_false(pv_beam_is_done(b));
  step(&t, b, &o);
  assert_int_equal(o.n_live, 0);
  assert_true(pv_beam_is_done(b));
  pv_beam_hyp h[1];
  assert_int_equal(pv_beam_final(b, h, 1), 1);
  assert_tokens(&h[0], (int32_t[]){2, 4, 4, 0}, 4);
  assert_true(fabsf(h[0].cum_logprob - (float)log(0.2016)) < 1e-6f);
  assert_true(fabsf(h[0].score - (float)log(0.2016) / 4.0f) < 1e-6f);
  pv_beam_destroy(b);
}

/* One parent gets both children, the other none: the engine forks the first, frees the second. */
static const node fork_tree[] = {
    {{0}, 0, {1, 2}, {0.9, 0.1}, 2},
    {{1}, 1, {3, 4}, {0.5, 0.5}, 2},
    {{2}, 1, {3, 4}, {0.5, 0.5}, 2},
};

static void test_fork_and_free(void **state) {
  (void)state;
  tree t = {fork_tree, PV_ARRAY_LEN(fork_tree)};
  pv_beam_search *b = make(2, 2, 4, 1.0f);
  pv_beam_step_out o;
  step(&t, b, &o);
  step(&t, b, &o);
  assert_int_equal(o.n_live, 2);
  assert_int_equal(o.parent[0], 0), assert_int_equal(o.parent[1], 0);
  assert_int_equal(o.token[0], 3), assert_int_equal(o.token[1], 4); /* tie: earlier candidate first */
  assert_int_equal(o.n_children[0], 2), assert_int_equal(o.n_children[1], 0);
  uint32_t len;
  const int32_t *toks = pv_beam_tokens(b, 1, &len, NULL);
  assert_int_equal(len, 2);
  assert_int_equal(toks[0], 1), assert_int_equal(toks[1], 4);
  assert_null(pv_beam_tokens(b, 2, &len, NULL));
  pv_beam_destroy(b);
}

/* Several end-of-generation tokens (a set passed through the predicate's user pointer): those
 * ranked inside the first `width` finish, the one ranked third is dropped, and the live beams
 * come from further down the ranking. */
static bool in_set(int32_t token, void *user) {
  for (const int32_t *s = user; *s >= 0; s++)
    if (*s == token) return true;
  return false;
}

static void test_low_ranked_eog_dropped(void **state) {
  (void)state;
  static const node root_only[] = {{{0}, 0, {0, 9, 8, 1, 2}, {0.3, 0.25, 0.2, 0.15, 0.1}, 5}};
  tree t = {root_only, 1};
  int32_t eog_set[] = {0, 8, 9, -1};
  pv_beam_search *b = make(2, 2, 4, 0.0f);
  pv_cand cands[MAX_CHILD];
  fill(&t, b, MAX_CHILD, cands);
  pv_beam_step_out o;
  assert_int_equal(pv_beam_step(b, cands, MAX_CHILD, in_set, eog_set, &o, NULL), PAGEDVK_OK);
  assert_int_equal(o.n_finished_now, 2);
  assert_int_equal(o.n_live, 2);
  assert_int_equal(o.token[0], 1), assert_int_equal(o.token[1], 2);
  assert_int_equal(o.n_children[0], 2);
  /* two finished at .3 and .25; the live beams (.15, .1) can never reach them */
  assert_true(pv_beam_is_done(b));
  pv_beam_hyp h[2];
  assert_int_equal(pv_beam_final(b, h, 2), 2);
  assert_tokens(&h[0], (int32_t[]){0}, 1);
  assert_tokens(&h[1], (int32_t[]){9}, 1);
  pv_beam_destroy(b);
}

static void test_score_and_config(void **state) {
  (void)state;
  assert_true(pv_beam_score(-2.0f, 4, 1.0f) == -0.5f);
  assert_true(pv_beam_score(-2.0f, 4, 0.0f) == -2.0f);
  assert_true(pv_beam_score(-2.0f, 4, 0.5f) == -1.0f);
  assert_true(pv_beam_score(-2.0f, 0, 1.0f) == -2.0f);
  pv_beam_search *b = NULL;
  pv_beam_config bad[] = {{0, 1, 4, 8, 1.0f}, {2, 3, 4, 8, 1.0f}, {2, 0, 4, 8, 1.0f}, {2, 1, 0, 8, 1.0f},
                          {2, 1, 4, 0, 1.0f}, {2, 1, 4, 8, NAN}};
  for (size_t i = 0; i < PV_ARRAY_LEN(bad); i++) {
    assert_int_equal(pv_beam_create(&b, &bad[i], NULL), PAGEDVK_ERR_INVALID);
    assert_null(b);
  }
  b = make(2, 1, 8, 1.0f);
  pv_cand c[8] = {{1, -0.1f}, {2, -0.2f}, {3, -0.3f}, {4, -0.4f}, {5, -0.5f}, {6, -0.6f}};
  pv_beam_step_out o;
  assert_int_equal(pv_beam_step(b, c, 6, is_eog, NULL, &o, NULL), PAGEDVK_ERR_INVALID); /* > max_cand */
  c[1].v = NAN;
  assert_int_equal(pv_beam_step(b, c, 2, is_eog, NULL, &o, NULL), PAGEDVK_ERR_INVALID);
  pv_beam_destroy(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_greedy_path_loses),
      cmocka_unit_test(test_max_len_returns_live_beams),
      cmocka_unit_test(test_length_penalty_without),
      cmocka_unit_test(test_length_penalty_flips_winner),
      cmocka_unit_test(test_fork_and_free),
      cmocka_unit_test(test_low_ranked_eog_dropped),
      cmocka_unit_test(test_score_and_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
