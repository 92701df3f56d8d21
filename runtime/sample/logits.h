/*
 * logits.h — the selection arithmetic under sampling and beam search: max and log-sum-exp of a
 * logit row, argmax, the best k tokens by a bounded heap, quickselect and sort of candidates.
 *
 * A candidate (pv_cand) is a token id with one value: a logit, a probability weight or a
 * log-probability, depending on the stage. Candidates are ordered by value, higher first, and
 * equal values by id, lower first — a strict total order, so every selection is deterministic
 * and "lowest id wins ties" holds everywhere.
 *
 * Logit rows may hold -INFINITY (masked tokens) but no NaN or +INFINITY, and at least one
 * finite value; pv_logits_stats checks that and the functions after it assume it.
 */
#ifndef PV_SAMPLE_LOGITS_H
#define PV_SAMPLE_LOGITS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"

typedef struct pv_cand {
  int32_t id;
  float v;
} pv_cand;

/* True when a comes before b: larger value, or equal value and lower id. */
static inline bool pv_cand_better(pv_cand a, pv_cand b) { return a.v > b.v || (a.v == b.v && a.id < b.id); }

typedef struct pv_logits_info {
  float max;      /* the largest logit */
  int32_t argmax; /* its index, the lowest among equals */
  double lse;     /* log(sum(exp(logits))): exp in float, the sum in double */
} pv_logits_info;

/* One pass for max and argmax, one for the log-sum-exp. Fails with PAGEDVK_ERR_INVALID on NaN,
 * +INFINITY or a row without a finite value. */
int pv_logits_stats(const float *logits, uint32_t n, pv_logits_info *info, pv_error *err);

/* Index of the largest logit; the lowest index among equals. n >= 1. */
int32_t pv_logits_argmax(const float *logits, uint32_t n);

/* Writes the min(k, n) best (logit, id) pairs to out[], best first, in O(n log k) with a
 * bounded min-heap in out[] itself (no other memory). Returns how many were written. */
uint32_t pv_logits_top(const float *logits, uint32_t n, uint32_t k, pv_cand *out);

/* The min(k, n) most likely tokens with their log-probabilities (log-softmax of the row at
 * temperature 1), best first, into out[] (v = log-probability). Returns the count through
 * *n_out. What beam search feeds on: ask for 2 * beam_width per beam. */
int pv_top_logprobs(const float *logits, uint32_t n, uint32_t k, pv_cand *out, uint32_t *n_out, pv_error *err);

/* Rearranges c[0..n) so that c[0..k) holds the k best candidates, in no particular order;
 * expected O(n) (quickselect, median-of-three), O(n log n) at worst. */
void pv_cand_select(pv_cand *c, uint32_t n, uint32_t k);

/* Sorts c[0..n) best first. */
void pv_cand_sort(pv_cand *c, uint32_t n);

#endif /* PV_SAMPLE_LOGITS_H */
