/*
 * logits.c — max / log-sum-exp, argmax, heap top-k, quickselect and sort over candidates.
 *
 * The heap keeps the k best seen so far with the worst at the root, so most tokens of a large
 * vocabulary cost one comparison against the root. Quickselect is Hoare partitioning around a
 * median of three; after 64 rounds without finishing it sorts the remaining range, which bounds
 * the worst case at O(n log n).
 */
#include <math.h>
#include <stdlib.h>

#include "sample/logits.h"

/* Sum of exp(x - m) with four accumulators (the additions no longer wait on each other). */
static double sum_exp(const float *x, uint32_t n, float m) {
  double acc[4] = {0.0, 0.0, 0.0, 0.0};
  uint32_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; j++) acc[j] += (double)expf(x[i + j] - m);
  for (; i < n; i++) acc[0] += (double)expf(x[i] - m);
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

int pv_logits_stats(const float *logits, uint32_t n, pv_logits_info *info, pv_error *err) {
  float m = -INFINITY;
  uint32_t arg = 0;
  for (uint32_t i = 0; i < n; i++) {
    float x = logits[i];
    if (!(x < INFINITY))
      return pv_fail(err, PAGEDVK_ERR_NONFINITE, "the model produced non-finite logits (NaN/inf): logit %u is %s", i,
                     isnan(x) ? "NaN" : "+inf");
    if (x > m) m = x, arg = i;
  }
  if (m == -INFINITY)
    return pv_fail(err, PAGEDVK_ERR_NONFINITE, "the model produced non-finite logits (NaN/inf): no finite logit among %u",
                   n);
  info->max = m;
  info->argmax = (int32_t)arg;
  info->lse = (double)m + log(sum_exp(logits, n, m));
  return PAGEDVK_OK;
}

int32_t pv_logits_argmax(const float *logits, uint32_t n) {
  uint32_t best = 0;
  for (uint32_t i = 1; i < n; i++)
    if (logits[i] > logits[best]) best = i;
  return (int32_t)best;
}

static void cand_swap(pv_cand *a, pv_cand *b) {
  pv_cand t = *a;
  *a = *b;
  *b = t;
}

/* Min-heap by pv_cand_better: every parent is worse than its children; h[0] is the worst. */
static void heap_sift_down(pv_cand *h, uint32_t n, uint32_t i) {
  for (;;) {
    uint32_t l = 2 * i + 1, r = l + 1, w = i;
    if (l < n && pv_cand_better(h[w], h[l])) w = l;
    if (r < n && pv_cand_better(h[w], h[r])) w = r;
    if (w == i) return;
    cand_swap(&h[i], &h[w]);
    i = w;
  }
}

static void heap_sift_up(pv_cand *h, uint32_t i) {
  while (i > 0) {
    uint32_t parent = (i - 1) / 2;
    if (!pv_cand_better(h[parent], h[i])) return;
    cand_swap(&h[parent], &h[i]);
    i = parent;
  }
}

/* Turns a heap into an array sorted best first (the worst goes to the end first). */
static void heap_sort_best_first(pv_cand *h, uint32_t n) {
  for (uint32_t end = n; end > 1; end--) {
    cand_swap(&h[0], &h[end - 1]);
    heap_sift_down(h, end - 1, 0);
  }
}

uint32_t pv_logits_top(const float *logits, uint32_t n, uint32_t k, pv_cand *out) {
  if (k > n) k = n;
  if (k == 0) return 0;
  uint32_t size = 0;
  for (uint32_t i = 0; i < n; i++) {
    pv_cand c = {(int32_t)i, logits[i]};
    if (size < k) {
      out[size] = c;
      heap_sift_up(out, size++);
    } else if (pv_cand_better(c, out[0])) {
      out[0] = c;
      heap_sift_down(out, size, 0);
    }
  }
  heap_sort_best_first(out, size);
  return size;
}

int pv_top_logprobs(const float *logits, uint32_t n, uint32_t k, pv_cand *out, uint32_t *n_out, pv_error *err) {
  pv_logits_info info;
  int rc = pv_logits_stats(logits, n, &info, err);
  if (rc != PAGEDVK_OK) return rc;
  uint32_t got = pv_logits_top(logits, n, k, out);
  for (uint32_t i = 0; i < got; i++) out[i].v = (float)((double)out[i].v - info.lse);
  *n_out = got;
  return PAGEDVK_OK;
}

static int cand_cmp(const void *pa, const void *pb) {
  pv_cand a = *(const pv_cand *)pa, b = *(const pv_cand *)pb;
  if (pv_cand_better(a, b)) return -1;
  if (pv_cand_better(b, a)) return 1;
  return 0;
}

void pv_cand_sort(pv_cand *c, uint32_t n) {
  if (n > 1) qsort(c, n, sizeof *c, cand_cmp);
}

static pv_cand median_of_three(pv_cand a, pv_cand b, pv_cand c) {
  if (pv_cand_better(a, b)) {
    if (pv_cand_better(b, c)) return b;
    return pv_cand_better(a, c) ? c : a;
  }
  if (pv_cand_better(a, c)) return a;
  return pv_cand_better(b, c) ? c : b;
}

void pv_cand_select(pv_cand *c, uint32_t n, uint32_t k) {
  if (k == 0 || k >= n) return;
  int64_t lo = 0, hi = (int64_t)n - 1, target = (int64_t)k - 1;
  for (int round = 0; hi > lo; round++) {
    if (round == 64) {
      pv_cand_sort(c + lo, (uint32_t)(hi - lo + 1));
      return;
    }
    pv_cand pivot = median_of_three(c[lo], c[lo + (hi - lo) / 2], c[hi]);
    int64_t i = lo, j = hi;
    while (i <= j) {
      while (pv_cand_better(c[i], pivot)) i++;
      while (pv_cand_better(pivot, c[j])) j--;
      if (i <= j) cand_swap(&c[i++], &c[j--]);
    }
    /* Now c[lo..j] are not worse than the pivot and c[i..hi] not better; between them, the pivot. */
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return;
  }
}
