/*
 * bench_workload.c — the requests a scenario queues: a seeded splitmix64 generator, the long-tailed
 * mix (log-normal prompt and output lengths, clipped, kept under max_model_len) and fixed-length
 * bursts, with token ids drawn from the ordinary (non-special) part of the vocabulary.
 *
 * The same seed gives the same workload: every configuration of a scenario runs identical requests.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

uint64_t bench_rng_next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s) { return ((double)(bench_rng_next(s) >> 11) + 0.5) / 9007199254740992.0; }

static double rng_normal(uint64_t *s) {
  double u1 = rng_unit(s), u2 = rng_unit(s);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static uint32_t lognormal_len(uint64_t *s, double median, double sigma, uint32_t lo, uint32_t hi) {
  double v = median * exp(sigma * rng_normal(s));
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  return (uint32_t)(v + 0.5);
}

/* Ordinary (non-special) ids: above the byte-fallback range of small vocabularies. */
int32_t bench_rng_token(uint64_t *s, uint32_t vocab) {
  uint32_t lo = vocab > 2000 ? 1000 : vocab / 2;
  return (int32_t)(lo + bench_rng_next(s) % (vocab - lo));
}

wl_req *wl_add(workload *w, uint32_t n_prompt) {
  w->r = realloc(w->r, (w->n + 1) * sizeof *w->r);
  wl_req *q = &w->r[w->n++];
  memset(q, 0, sizeof *q);
  q->prompt = calloc(n_prompt, sizeof *q->prompt);
  q->n_prompt = n_prompt;
  q->n = 1;
  return q;
}

void wl_free(workload *w) {
  for (uint32_t i = 0; i < w->n; i++) free(w->r[i].prompt);
  free(w->r);
  memset(w, 0, sizeof *w);
}

/* The long-tailed mix: prompt and output lengths log-normal (median, sigma), clipped, and the
 * total kept under max_model_len. */
void wl_mixed(workload *w, const bench_args *a, const model_facts *f, uint32_t mml, uint32_t n) {
  uint64_t s = a->seed;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t p = lognormal_len(&s, a->prompt_median, a->sigma, a->min_len, a->max_len);
    uint32_t o = lognormal_len(&s, a->output_median, a->sigma, a->min_len, a->max_len);
    if (p + o > mml - 1) o = mml - 1 - p;
    wl_req *q = wl_add(w, p);
    for (uint32_t t = 0; t < p; t++) q->prompt[t] = bench_rng_token(&s, f->vocab);
    q->max_tokens = o;
  }
}

void wl_fixed(workload *w, const model_facts *f, uint64_t seed, uint32_t n, uint32_t prompt, uint32_t out) {
  uint64_t s = seed;
  for (uint32_t i = 0; i < n; i++) {
    wl_req *q = wl_add(w, prompt);
    for (uint32_t t = 0; t < prompt; t++) q->prompt[t] = bench_rng_token(&s, f->vocab);
    q->max_tokens = out;
  }
}

void wl_stats(const workload *w, double *mean_p, double *mean_o, uint32_t *max_p, uint32_t *max_o) {
  double sp = 0, so = 0;
  *max_p = *max_o = 0;
  for (uint32_t i = 0; i < w->n; i++) {
    sp += w->r[i].n_prompt;
    so += w->r[i].max_tokens;
    if (w->r[i].n_prompt > *max_p) *max_p = w->r[i].n_prompt;
    if (w->r[i].max_tokens > *max_o) *max_o = w->r[i].max_tokens;
  }
  *mean_p = w->n ? sp / w->n : 0;
  *mean_o = w->n ? so / w->n : 0;
}
