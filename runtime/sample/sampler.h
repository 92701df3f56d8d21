/*
 * sampler.h — one sequence's sampler: turns a row of logits into the next token.
 *
 * A pv_sampler is made from a request's pagedvk_sampling_params and the vocabulary size and
 * belongs to one sequence. It owns:
 *   - its own PRNG (rng.h), seeded from params.seed when has_seed, else from the process-wide
 *     entropy source; one uniform number is drawn per non-greedy pv_sample call and none
 *     otherwise, so a seeded request gives the same tokens whatever it is batched with;
 *   - the tokens seen so far, for the penalties (penalty.h states the convention: repetition
 *     over prompt + generated, presence and frequency over generated tokens only);
 *   - scratch for n_vocab candidates (8 bytes each) when temperature > 0, so pv_sample never
 *     allocates. Greedy samplers allocate no scratch.
 *
 * pv_sample applies, in order:
 *   1. penalties, in place on `logits` (the caller's row is modified);
 *   2. log-probabilities for the report: log-softmax of the penalized logits at temperature 1 —
 *      result.logprob is that of the chosen token, result.top_* the params.logprobs best tokens,
 *      best first, lowest id first among equals. Filters and temperature do not change them;
 *   3. temperature == 0: greedy, the argmax with the lowest id on ties, no random draw;
 *   4. otherwise temperature (weights exp((l - max) / T)), top-k (the k largest logits), top-p
 *      (the smallest best-first prefix whose mass is >= top_p of what top-k kept), min-p (drop
 *      weights < min_p * the largest weight), then one draw from what is left.
 * Selection costs: top-k with k <= 256 uses a heap straight from the row (O(V log k)); larger k
 * or no top-k copies the row and quickselects (O(V)); top-p sorts only a growing best-first
 * prefix (quickselect 64, 256, ... candidates until the mass is reached), never the whole row
 * unless the mass needs it.
 *
 * pv_sample does not record the token: the engine calls pv_sampler_accept with the token it
 * actually appends (the sampled one, or a beam-search choice), and pv_sampler_add_prompt once
 * with the prompt.
 */
#ifndef PV_SAMPLE_SAMPLER_H
#define PV_SAMPLE_SAMPLER_H

#include <stdint.h>

#include "base/base.h"
#include "sample/params.h"

typedef struct pv_sample_result {
  int32_t token;
  float logprob; /* log-softmax at temperature 1 of the penalized logits, for `token` */
  uint32_t n_top; /* params.logprobs (at most PV_MAX_LOGPROBS, at most n_vocab) */
  int32_t top_ids[PV_MAX_LOGPROBS];
  float top_logprobs[PV_MAX_LOGPROBS];
} pv_sample_result;

typedef struct pv_sampler pv_sampler;

/* Checks the params (pv_sampling_params_check) and n_vocab >= 1. Keeps no pointer into p. */
int pv_sampler_create(pv_sampler **out, const pagedvk_sampling_params *p, uint32_t n_vocab, pv_error *err);
void pv_sampler_destroy(pv_sampler *s);

/* A new sampler for parallel sample `index` (1..n-1) of the same request, forked from src: the
 * same params and seen tokens, and a PRNG of its own — seeded with
 * pv_rng_derive_seed(request seed, index) when the request is seeded (so the children repeat
 * from run to run yet differ from each other and from sample 0), else from fresh entropy.
 * index 0 is the original sampler and is refused. */
int pv_sampler_clone(pv_sampler **out, const pv_sampler *src, uint32_t index, pv_error *err);

/* Records the prompt's tokens (for the repetition penalty). Ids must be in [0, n_vocab). */
int pv_sampler_add_prompt(pv_sampler *s, const int32_t *tokens, size_t n, pv_error *err);
/* Records one generated token (for all three penalties). Id must be in [0, n_vocab). */
int pv_sampler_accept(pv_sampler *s, int32_t token, pv_error *err);

/* Samples one token from logits[0..n_vocab) (modified in place by the penalties). n_vocab must
 * equal the sampler's. Fails on NaN / +inf logits or a row with no finite logit. */
int pv_sample(pv_sampler *s, float *logits, uint32_t n_vocab, pv_sample_result *out, pv_error *err);

/* No filters (top-k, top-p, min-p), no penalties, no log-probability report: what
 * pv_sample_allowed needs. */
bool pv_sampler_plain(const pv_sampler *s);

/* Samples among the tokens whose bit is set in `allow` (bit t of word t / 64, the first n_bits
 * tokens; the rest are not allowed), reading only their logits: greedy takes the argmax among
 * them (lowest id on ties); otherwise one uniform draw from exp((l - max) / T) over them, in id
 * order. result.logprob: log-softmax at temperature 1 over the allowed tokens. The distribution
 * of pv_sample on the row with every other logit at -inf (and for greedy the same token), at the
 * cost of the allowed tokens only. Needs pv_sampler_plain. PAGEDVK_ERR_NONFINITE for NaN / +inf
 * among the allowed logits or when none of them is finite; PAGEDVK_ERR_INVALID when none is allowed. */
int pv_sample_allowed(pv_sampler *s, const float *logits, uint32_t n_vocab, const uint64_t *allow, uint32_t n_bits,
                      pv_sample_result *out, pv_error *err);

/* The seed the PRNG started from (the request's, a derived one, or drawn from entropy). */
uint64_t pv_sampler_seed(const pv_sampler *s);

#endif /* PV_SAMPLE_SAMPLER_H */
