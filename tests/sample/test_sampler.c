/* pv_sampler: defaults and validation, greedy ties, reported log-probabilities, the
 * temperature distribution (chi-square on a fixed seed), the exact sets kept by top-k, top-p
 * and min-p and their order, exact penalties, seeded repeats and diverging clones. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sample/rng.h"
#include "sample/sampler.h"

static pagedvk_sampling_params seeded(float temperature, uint64_t seed) {
  pagedvk_sampling_params p;
  pagedvk_sampling_params_default(&p);
  p.temperature = temperature;
  p.seed = seed;
  p.has_seed = 1;
  return p;
}

static pv_sampler *make(const pagedvk_sampling_params *p, uint32_t n_vocab) {
  pv_sampler *s = NULL;
  pv_error err = {0};
  int rc = pv_sampler_create(&s, p, n_vocab, &err);
  if (rc != PAGEDVK_OK) fail_msg("pv_sampler_create: %s", err.msg);
  return s;
}

static int32_t sample_once(pv_sampler *s, const float *logits, uint32_t n) {
  float *row = malloc(n * sizeof *row);
  memcpy(row, logits, n * sizeof *row);
  pv_sample_result r;
  pv_error err = {0};
  if (pv_sample(s, row, n, &r, &err) != PAGEDVK_OK) fail_msg("pv_sample: %s", err.msg);
  free(row);
  return r.token;
}

/* Histogram of `draws` samples (the row is never penalized, so it is reused). */
static void histogram(pv_sampler *s, float *row, uint32_t n, uint32_t draws, uint32_t *counts) {
  memset(counts, 0, n * sizeof *counts);
  pv_sample_result r;
  for (uint32_t i = 0; i < draws; i++) {
    assert_int_equal(pv_sample(s, row, n, &r, NULL), PAGEDVK_OK);
    assert_true(r.token >= 0 && (uint32_t)r.token < n);
    counts[r.token]++;
  }
}

/* Every token in `keep` drawn at least once, every other token never. */
static void assert_kept_exactly(const uint32_t *counts, uint32_t n, const int *keep) {
  for (uint32_t i = 0; i < n; i++) {
    if (keep[i] && counts[i] == 0) fail_msg("token %u should be kept but was never drawn", i);
    if (!keep[i] && counts[i] != 0) fail_msg("token %u should be excluded but was drawn %u times", i, counts[i]);
  }
}

static void test_defaults_and_validation(void **state) {
  (void)state;
  pagedvk_sampling_params p;
  pagedvk_sampling_params_default(&p);
  assert_true(p.temperature == 0.8f && p.top_k == 0 && p.top_p == 1.0f && p.min_p == 0.0f);
  assert_true(p.repetition_penalty == 1.0f && p.presence_penalty == 0.0f && p.frequency_penalty == 0.0f);
  assert_true(p.max_tokens == 256 && p.n == 1 && p.beam_width == 1 && p.length_penalty == 1.0f);
  assert_true(p.logprobs == 0 && !p.has_seed && p.priority == 0 && p.n_stop == 0 && p.n_stop_ids == 0);
  assert_int_equal(pv_sampling_params_check(&p, NULL), PAGEDVK_OK);
  struct {
    const char *what;
    pagedvk_sampling_params p;
  } bad[8];
  for (int i = 0; i < 8; i++) bad[i].p = p;
  bad[0].p.temperature = -0.1f, bad[0].what = "temperature";
  bad[1].p.top_p = 0.0f, bad[1].what = "top_p";
  bad[2].p.min_p = 1.5f, bad[2].what = "min_p";
  bad[3].p.top_k = -1, bad[3].what = "top_k";
  bad[4].p.repetition_penalty = 0.0f, bad[4].what = "repetition_penalty";
  bad[5].p.logprobs = 21, bad[5].what = "logprobs";
  bad[6].p.n = 0, bad[6].what = "n";
  bad[7].p.beam_width = 2, bad[7].p.n = 3, bad[7].what = "beam_width";
  for (int i = 0; i < 8; i++) {
    pv_error err = {0};
    pv_sampler *s = (pv_sampler *)&err; /* must come back NULL */
    assert_int_equal(pv_sampler_create(&s, &bad[i].p, 10, &err), PAGEDVK_ERR_INVALID);
    assert_null(s);
    assert_non_null(strstr(err.msg, bad[i].what));
  }
}

static void test_greedy_lowest_id_on_ties(void **state) {
  (void)state;
  pagedvk_sampling_params p = seeded(0.0f, 1);
  p.top_k = 2; /* ignored by greedy */
  pv_sampler *s = make(&p, 8);
  float x[8] = {0.0f, 1.0f, 4.0f, -2.0f, 3.0f, 4.0f, 4.0f, 1.0f};
  for (int i = 0; i < 5; i++) assert_int_equal(sample_once(s, x, 8), 2);
  x[2] = 3.9f;
  assert_int_equal(sample_once(s, x, 8), 5);
  pv_sampler_destroy(s);
}

static void test_logprobs_reported(void **state) {
  (void)state;
  pagedvk_sampling_params p = seeded(0.5f, 3);
  p.logprobs = 4;
  p.top_k = 1; /* the drawn token is then the argmax, lowest id first */
  pv_sampler *s = make(&p, 6);
  float x[6] = {0.25f, 2.0f, -1.0f, 2.0f, 1.5f, -3.0f};
  double sum = 0.0;
  for (int i = 0; i < 6; i++) sum += exp((double)x[i]);
  double lse = log(sum);
  float row[6];
  memcpy(row, x, sizeof x);
  pv_sample_result r;
  assert_int_equal(pv_sample(s, row, 6, &r, NULL), PAGEDVK_OK);
  assert_int_equal(r.token, 1);
  assert_true(fabs(r.logprob - (2.0 - lse)) < 1e-5);
  assert_int_equal(r.n_top, 4);
  int32_t ids[4] = {1, 3, 4, 0};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(r.top_ids[i], ids[i]);
    assert_true(fabs(r.top_logprobs[i] - ((double)x[ids[i]] - lse)) < 1e-5);
    if (i) assert_true(r.top_logprobs[i] <= r.top_logprobs[i - 1]);
  }
  pv_sampler_destroy(s);
  /* all of a small vocabulary: the probabilities add up to 1 */
  p.logprobs = 20;
  s = make(&p, 6);
  memcpy(row, x, sizeof x);
  assert_int_equal(pv_sample(s, row, 6, &r, NULL), PAGEDVK_OK);
  assert_int_equal(r.n_top, 6);
  double total = 0.0;
  for (uint32_t i = 0; i < r.n_top; i++) total += exp((double)r.top_logprobs[i]);
  assert_true(fabs(total - 1.0) < 1e-5);
  pv_sampler_destroy(s);
}

/* Chi-square of counts against softmax(x / T). */
static double chi_square(const uint32_t *counts, const float *x, uint32_t n, double t, uint32_t draws) {
  double z = 0.0, chi = 0.0;
  for (uint32_t i = 0; i < n; i++) z += exp((double)x[i] / t);
  for (uint32_t i = 0; i < n; i++) {
    double e = draws * exp((double)x[i] / t) / z;
    chi += (counts[i] - e) * (counts[i] - e) / e;
  }
  return chi;
}

static void test_temperature_distribution(void **state) {
  (void)state;
  enum { N = 6, DRAWS = 200000 };
  float x[N] = {1.0f, 0.0f, 2.0f, -0.5f, 1.5f, 0.7f};
  uint32_t counts[N];
  float temps[] = {0.6f, 1.0f, 1.7f};
  for (size_t t = 0; t < PV_ARRAY_LEN(temps); t++) {
    pagedvk_sampling_params p = seeded(temps[t], 1234 + t);
    pv_sampler *s = make(&p, N);
    histogram(s, x, N, DRAWS, counts);
    /* 5 degrees of freedom: P(chi2 > 40) < 1e-6 for a correct sampler; the seed is fixed, so
     * the outcome is too. A wrong temperature gives a statistic in the thousands (checked). */
    double good = chi_square(counts, x, N, temps[t], DRAWS);
    assert_true(good < 40.0);
    double wrong = chi_square(counts, x, N, temps[t] * 1.25, DRAWS);
    assert_true(wrong > 400.0);
    pv_sampler_destroy(s);
  }
}

/* A distribution with probabilities proportional to w: logits log(w). */
static void logits_of(const double *w, uint32_t n, float *x) {
  for (uint32_t i = 0; i < n; i++) x[i] = (float)log(w[i]);
}

static void check_set(pagedvk_sampling_params p, const float *x, uint32_t n, const int *keep, uint32_t draws) {
  pv_sampler *s = make(&p, n);
  uint32_t *counts = malloc(n * sizeof *counts);
  float *row = malloc(n * sizeof *row);
  memcpy(row, x, n * sizeof *row);
  histogram(s, row, n, draws, counts);
  assert_kept_exactly(counts, n, keep);
  free(row);
  free(counts);
  pv_sampler_destroy(s);
}

static void test_top_k_small(void **state) {
  (void)state;
  float x[6] = {5.0f, 4.0f, 4.0f, 4.0f, 1.0f, 4.5f};
  pagedvk_sampling_params p = seeded(3.0f, 5);
  p.top_k = 3; /* 0 and 5, then the lowest id of the three tied at 4 */
  check_set(p, x, 6, (int[]){1, 1, 0, 0, 0, 1}, 5000);
  p.top_k = 6; /* k = vocabulary: everything */
  check_set(p, x, 6, (int[]){1, 1, 1, 1, 1, 1}, 5000);
}

static void test_top_k_large(void **state) {
  (void)state;
  /* 2000 tokens with distinct logits in a scrambled order; top_k 500 takes the quickselect path */
  enum { N = 2000, K = 500 };
  float *x = malloc(N * sizeof *x);
  int *keep = malloc(N * sizeof *keep);
  for (uint32_t i = 0; i < N; i++) {
    uint32_t rank = (i * 7919u) % N; /* a permutation: 7919 is prime to 2000 */
    x[i] = -(float)rank * 0.001f;
    keep[i] = rank < K;
  }
  pagedvk_sampling_params p = seeded(50.0f, 6); /* nearly flat inside the kept set */
  p.top_k = K;
  check_set(p, x, N, keep, 20000);
  free(keep);
  free(x);
}

static void test_top_p_small(void **state) {
  (void)state;
  double w[5] = {0.5, 0.2, 0.15, 0.1, 0.05};
  float x[5];
  logits_of(w, 5, x);
  pagedvk_sampling_params p = seeded(1.0f, 7);
  p.top_p = 0.45f;
  check_set(p, x, 5, (int[]){1, 0, 0, 0, 0}, 3000);
  p.top_p = 0.69f;
  check_set(p, x, 5, (int[]){1, 1, 0, 0, 0}, 3000);
  p.top_p = 0.75f;
  check_set(p, x, 5, (int[]){1, 1, 1, 0, 0}, 3000);
  p.top_p = 0.96f;
  check_set(p, x, 5, (int[]){1, 1, 1, 1, 1}, 3000);
}

static void test_top_p_large_grows_prefix(void **state) {
  (void)state;
  /* 300 "hot" tokens of equal logit scattered among 5000; the rest nearly impossible. top_p
   * 0.495 needs 148.5 hot tokens' worth of mass: the 149 lowest-id hot tokens (ties by id),
   * more than the first sorted chunk of 64, so the prefix must grow. */
  enum { N = 5000 };
  float *x = malloc(N * sizeof *x);
  int *keep = malloc(N * sizeof *keep);
  uint32_t hot = 0;
  for (uint32_t i = 0; i < N; i++) {
    bool is_hot = i % 16 == 5 && hot < 300;
    x[i] = is_hot ? 0.0f : -30.0f;
    keep[i] = is_hot && hot < 149;
    hot += is_hot;
  }
  assert_int_equal(hot, 300);
  pagedvk_sampling_params p = seeded(1.0f, 8);
  p.top_p = 0.495f;
  check_set(p, x, N, keep, 30000);
  free(keep);
  free(x);
}

static void test_min_p(void **state) {
  (void)state;
  double w[5] = {0.1, 0.4, 0.3, 0.05, 0.15};
  float x[5];
  logits_of(w, 5, x);
  pagedvk_sampling_params p = seeded(1.0f, 9);
  p.min_p = 0.55f; /* keeps p >= 0.22: ids 1, 2 */
  check_set(p, x, 5, (int[]){0, 1, 1, 0, 0}, 3000);
  p.min_p = 0.3f; /* keeps p >= 0.12: ids 1, 2, 4 */
  check_set(p, x, 5, (int[]){0, 1, 1, 0, 1}, 3000);
  /* min-p compares weights after temperature: T = 0.5 squares the ratios, so 0.3/0.4 → 0.5625
   * and 0.15/0.4 → 0.14 — with min_p 0.3 id 4 goes */
  p.temperature = 0.5f;
  check_set(p, x, 5, (int[]){0, 1, 1, 0, 0}, 3000);
}

static void test_filter_order(void **state) {
  (void)state;
  double w[4] = {0.4, 0.3, 0.2, 0.1};
  float x[4];
  logits_of(w, 4, x);
  /* top-k 2 first, then top-p on the renormalized pair (0.571, 0.429): 0.5 keeps id 0 alone.
   * Applied to the full distribution instead, top-p 0.5 would keep ids 0 and 1. */
  pagedvk_sampling_params p = seeded(1.0f, 10);
  p.top_k = 2;
  p.top_p = 0.5f;
  check_set(p, x, 4, (int[]){1, 0, 0, 0}, 2000);
  /* temperature before top-p: at T = 0.25 the weights become 256:81:16:1, id 0 alone has 0.72 */
  p.top_k = 0;
  p.top_p = 0.65f;
  p.temperature = 0.25f;
  check_set(p, x, 4, (int[]){1, 0, 0, 0}, 2000);
  p.temperature = 1.0f; /* at T = 1 top-p 0.65 needs ids 0 and 1 */
  check_set(p, x, 4, (int[]){1, 1, 0, 0}, 2000);
}

static void test_penalties_exact(void **state) {
  (void)state;
  enum { N = 3000 };
  pagedvk_sampling_params p = seeded(0.0f, 1);
  p.repetition_penalty = 2.0f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.25f;
  pv_sampler *s = make(&p, N);
  float *x = malloc(N * sizeof *x), *row = malloc(N * sizeof *row);
  for (uint32_t i = 0; i < N; i++) x[i] = (float)((int)(i % 13) - 6) * 0.5f;
  /* prompt: tokens 1..1000 (grows the table), 1 and 7 twice */
  int32_t prompt[1002];
  for (int i = 0; i < 1000; i++) prompt[i] = i + 1;
  prompt[1000] = 1, prompt[1001] = 7;
  assert_int_equal(pv_sampler_add_prompt(s, prompt, 1002, NULL), PAGEDVK_OK);
  int32_t gen[] = {2000, 2000, 2000, 2500, 7};
  for (size_t i = 0; i < PV_ARRAY_LEN(gen); i++) assert_int_equal(pv_sampler_accept(s, gen[i], NULL), PAGEDVK_OK);
  memcpy(row, x, N * sizeof *row);
  pv_sample_result r;
  assert_int_equal(pv_sample(s, row, N, &r, NULL), PAGEDVK_OK);
  for (uint32_t t = 0; t < N; t++) {
    float l = x[t], want = l;
    uint32_t c = t == 2000 ? 3 : (t == 2500 || t == 7) ? 1 : 0;
    bool seen = (t >= 1 && t <= 1000) || c > 0;
    if (seen) want = l > 0.0f ? l / 2.0f : l * 2.0f;
    if (c) want = want - (0.5f + 0.25f * (float)c);
    if (row[t] != want) fail_msg("token %u: logit %g, want %g", t, (double)row[t], (double)want);
  }
  /* spot values worked by hand: 2000 % 13 = 11 → 2.5 → 1.25 - 1.25 = 0 */
  assert_true(row[2000] == 0.0f);
  assert_true(row[2] == -4.0f); /* 2 % 13 = 2 → -2 → -2 * 2, prompt only: no presence/frequency */
  assert_true(row[1001] == x[1001]);
  free(row);
  free(x);
  pv_sampler_destroy(s);
}

static void test_penalty_steers_greedy(void **state) {
  (void)state;
  pagedvk_sampling_params p = seeded(0.0f, 1);
  p.frequency_penalty = 1.0f;
  pv_sampler *s = make(&p, 3);
  float x[3] = {2.5f, 1.0f, 0.0f};
  int32_t got[6];
  for (int i = 0; i < 6; i++) {
    got[i] = sample_once(s, x, 3);
    assert_int_equal(pv_sampler_accept(s, got[i], NULL), PAGEDVK_OK);
  }
  /* logits minus the counts so far: (2.5 1 0) → 0; (1.5 1 0) → 0; (0.5 1 0) → 1; (0.5 0 0) → 0;
   * (-0.5 0 0) → 1, lowest id of the tie; (-0.5 -1 0) → 2 */
  int32_t want[6] = {0, 0, 1, 0, 1, 2};
  for (int i = 0; i < 6; i++) assert_int_equal(got[i], want[i]);
  pv_sampler_destroy(s);
}

/* Generates `n` tokens, accepting each, from a fixed pseudo-random logit row. */
static void generate(pv_sampler *s, const float *x, uint32_t v, uint32_t n, int32_t *out) {
  for (uint32_t i = 0; i < n; i++) {
    out[i] = sample_once(s, x, v);
    assert_int_equal(pv_sampler_accept(s, out[i], NULL), PAGEDVK_OK);
  }
}

static float *random_row(uint32_t v, uint64_t seed) {
  pv_rng r;
  pv_rng_seed(&r, seed);
  float *x = malloc(v * sizeof *x);
  for (uint32_t i = 0; i < v; i++) x[i] = (float)(pv_rng_uniform(&r) * 4.0);
  return x;
}

static void test_seeded_repeats(void **state) {
  (void)state;
  enum { V = 32000, T = 40 };
  float *x = random_row(V, 99);
  pagedvk_sampling_params p = seeded(0.9f, 42);
  p.top_p = 0.95f;
  p.repetition_penalty = 1.3f;
  int32_t a[T], b[T], c[T];
  pv_sampler *sa = make(&p, V);
  generate(sa, x, V, T, a);
  pv_sampler_destroy(sa);
  /* the same request again, this time interleaved with another request's sampler */
  pagedvk_sampling_params other = seeded(1.0f, 7);
  pv_sampler *sb = make(&p, V), *so = make(&other, V);
  for (uint32_t i = 0; i < T; i++) {
    int32_t noise[3];
    generate(so, x, V, 3, noise);
    generate(sb, x, V, 1, &b[i]);
  }
  assert_memory_equal(a, b, sizeof a);
  pv_sampler_destroy(so);
  pv_sampler_destroy(sb);
  /* another seed gives another text */
  p.seed = 43;
  pv_sampler *sc = make(&p, V);
  generate(sc, x, V, T, c);
  assert_memory_not_equal(a, c, sizeof a);
  pv_sampler_destroy(sc);
  free(x);
}

static void test_clones_diverge_reproducibly(void **state) {
  (void)state;
  enum { V = 32000, T = 30 };
  float *x = random_row(V, 5);
  pagedvk_sampling_params p = seeded(1.0f, 2024);
  p.presence_penalty = 100.0f; /* a token once generated is never drawn again */
  pv_sampler *parent = make(&p, V);
  int32_t first;
  generate(parent, x, V, 1, &first);
  pv_sampler *c1, *c2, *c1again, *bad = NULL;
  assert_int_equal(pv_sampler_clone(&c1, parent, 1, NULL), PAGEDVK_OK);
  assert_int_equal(pv_sampler_clone(&c2, parent, 2, NULL), PAGEDVK_OK);
  assert_int_equal(pv_sampler_clone(&c1again, parent, 1, NULL), PAGEDVK_OK);
  assert_int_equal(pv_sampler_clone(&bad, parent, 0, NULL), PAGEDVK_ERR_INVALID);
  assert_null(bad);
  assert_true(pv_sampler_seed(c1) == pv_rng_derive_seed(2024, 1));
  assert_true(pv_sampler_seed(c1) != pv_sampler_seed(c2) && pv_sampler_seed(c1) != 2024);
  int32_t a[T], b[T], a2[T], base[T];
  generate(c1, x, V, T, a);
  generate(c2, x, V, T, b);
  generate(c1again, x, V, T, a2);
  generate(parent, x, V, T, base);
  assert_memory_equal(a, a2, sizeof a);
  assert_memory_not_equal(a, b, sizeof a);
  assert_memory_not_equal(a, base, sizeof a);
  /* the clones inherited the parent's counts: the first token is never repeated */
  for (int i = 0; i < T; i++) assert_true(a[i] != first && b[i] != first && base[i] != first);
  pv_sampler_destroy(c1);
  pv_sampler_destroy(c2);
  pv_sampler_destroy(c1again);
  pv_sampler_destroy(parent);
  free(x);
}

static void test_unseeded_differ(void **state) {
  (void)state;
  pagedvk_sampling_params p;
  pagedvk_sampling_params_default(&p);
  pv_sampler *a = make(&p, 100), *b = make(&p, 100);
  assert_true(pv_sampler_seed(a) != pv_sampler_seed(b));
  pv_sampler *c;
  assert_int_equal(pv_sampler_clone(&c, a, 1, NULL), PAGEDVK_OK);
  assert_true(pv_sampler_seed(c) != pv_sampler_seed(a));
  pv_sampler_destroy(c);
  pv_sampler_destroy(b);
  pv_sampler_destroy(a);
}

static void test_bad_inputs(void **state) {
  (void)state;
  pagedvk_sampling_params p = seeded(1.0f, 1);
  pv_sampler *s = make(&p, 4);
  pv_sample_result r;
  pv_error err = {0};
  float nan_row[4] = {0.0f, NAN, 1.0f, 2.0f};
  assert_int_equal(pv_sample(s, nan_row, 4, &r, &err), PAGEDVK_ERR_NONFINITE);
  float row[5] = {0};
  assert_int_equal(pv_sample(s, row, 5, &r, &err), PAGEDVK_ERR_INVALID);
  assert_int_equal(pv_sampler_accept(s, 4, &err), PAGEDVK_ERR_INVALID);
  assert_int_equal(pv_sampler_accept(s, -1, &err), PAGEDVK_ERR_INVALID);
  int32_t prompt[2] = {0, 9};
  assert_int_equal(pv_sampler_add_prompt(s, prompt, 2, &err), PAGEDVK_ERR_INVALID);
  /* masked tokens are never drawn */
  float masked[4] = {-INFINITY, 0.0f, -INFINITY, 0.0f};
  for (int i = 0; i < 200; i++) {
    int32_t t = sample_once(s, masked, 4);
    assert_true(t == 1 || t == 3);
  }
  pv_sampler_destroy(s);
  pv_sampler *z = NULL;
  assert_int_equal(pv_sampler_create(&z, &p, 0, &err), PAGEDVK_ERR_INVALID);
}

static void test_large_vocab_paths(void **state) {
  (void)state;
  enum { V = 151936 };
  float *x = random_row(V, 3);
  x[777] = 40.0f; /* dominates: every filter keeps it */
  pagedvk_sampling_params p = seeded(0.7f, 1);
  struct { int32_t k; float top_p, min_p; } cfg[] = {{40, 1.0f, 0.0f}, {0, 0.9f, 0.0f}, {1000, 0.8f, 0.05f}, {0, 1.0f, 0.5f}};
  for (size_t i = 0; i < PV_ARRAY_LEN(cfg); i++) {
    p.top_k = cfg[i].k, p.top_p = cfg[i].top_p, p.min_p = cfg[i].min_p;
    pv_sampler *s = make(&p, V);
    assert_int_equal(sample_once(s, x, V), 777);
    pv_sampler_destroy(s);
  }
  free(x);
}

/* Sampling among allowed tokens (the grammar's mask): greedy takes the best allowed one (lowest id
 * on ties), draws follow the softmax over the allowed tokens only and never leave them, the
 * log-probability is over the allowed tokens, and samplers with filters or penalties are refused. */
static void test_sample_allowed(void **state) {
  (void)state;
  enum { V = 130 };
  float logits[V];
  for (int i = 0; i < V; i++) logits[i] = 5.0f; /* disallowed tokens are the most likely */
  logits[3] = 0.0f, logits[70] = logf(2.0f), logits[129] = logf(4.0f);
  uint64_t allow[3] = {1ull << 3, 1ull << (70 - 64), 1ull << (129 - 128)};
  pagedvk_sampling_params p;
  pagedvk_sampling_params_default(&p);
  p.temperature = 0.0f;
  pv_sampler *s = make(&p, V);
  pv_sample_result r;
  pv_error err = {0};
  assert_int_equal(pv_sample_allowed(s, logits, V, allow, V, &r, &err), 0);
  assert_int_equal(r.token, 129);
  assert_float_equal(r.logprob, logf(4.0f / 7.0f), 1e-5);
  logits[70] = logf(4.0f); /* a tie: the lowest id */
  assert_int_equal(pv_sample_allowed(s, logits, V, allow, V, &r, &err), 0);
  assert_int_equal(r.token, 70);
  assert_int_equal(pv_sample_allowed(s, logits, V, allow, 100, &r, &err), 0); /* 129 is past n_bits */
  assert_int_equal(r.token, 70);
  logits[70] = logf(2.0f);
  pv_sampler_destroy(s);
  p.temperature = 1.0f;
  p.seed = 7;
  p.has_seed = 1;
  s = make(&p, V);
  int count[V] = {0};
  const int N = 20000;
  for (int k = 0; k < N; k++) {
    assert_int_equal(pv_sample_allowed(s, logits, V, allow, V, &r, &err), 0);
    count[r.token]++;
  }
  assert_int_equal(count[3] + count[70] + count[129], N);
  assert_true(fabs(count[3] / (double)N - 1.0 / 7) < 0.015);
  assert_true(fabs(count[70] / (double)N - 2.0 / 7) < 0.015);
  assert_true(fabs(count[129] / (double)N - 4.0 / 7) < 0.015);
  uint64_t none[3] = {0};
  assert_int_equal(pv_sample_allowed(s, logits, V, none, V, &r, &err), PAGEDVK_ERR_INVALID);
  logits[70] = NAN;
  assert_int_equal(pv_sample_allowed(s, logits, V, allow, V, &r, &err), PAGEDVK_ERR_NONFINITE);
  pv_sampler_destroy(s);
  p.top_k = 5;
  s = make(&p, V);
  assert_false(pv_sampler_plain(s));
  assert_int_equal(pv_sample_allowed(s, logits, V, allow, V, &r, &err), PAGEDVK_ERR_INVALID);
  pv_sampler_destroy(s);
  p.top_k = 0;
  p.presence_penalty = 0.5f;
  s = make(&p, V);
  assert_false(pv_sampler_plain(s));
  pv_sampler_destroy(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_and_validation),
      cmocka_unit_test(test_sample_allowed),
      cmocka_unit_test(test_greedy_lowest_id_on_ties),
      cmocka_unit_test(test_logprobs_reported),
      cmocka_unit_test(test_temperature_distribution),
      cmocka_unit_test(test_top_k_small),
      cmocka_unit_test(test_top_k_large),
      cmocka_unit_test(test_top_p_small),
      cmocka_unit_test(test_top_p_large_grows_prefix),
      cmocka_unit_test(test_min_p),
      cmocka_unit_test(test_filter_order),
      cmocka_unit_test(test_penalties_exact),
      cmocka_unit_test(test_penalty_steers_greedy),
      cmocka_unit_test(test_seeded_repeats),
      cmocka_unit_test(test_clones_diverge_reproducibly),
      cmocka_unit_test(test_unseeded_differ),
      cmocka_unit_test(test_bad_inputs),
      cmocka_unit_test(test_large_vocab_paths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
