/*
 * beam.h — beam search bookkeeping, independent of the GPU.
 *
 * The search starts with one live beam (the prompt, log-probability 0, no tokens). Each step
 * the engine gives, for every live beam i, its best candidates (token, log-probability) —
 * pv_top_logprobs with k = 2 * width is the usual source, so that even when `width` of them end
 * the generation there are `width` others to continue with. pv_beam_step then:
 *   - ranks every extension (beam i, candidate j) by cum_logprob[i] + logprob[i][j], best
 *     first; equal sums go to the lower beam index, then the earlier candidate;
 *   - walks the ranking: an end-of-generation extension (the caller's is_eog) among the first
 *     `width` ranks becomes a finished hypothesis; one ranked lower is dropped; every other
 *     extension becomes a new live beam, until `width` live beams are chosen;
 *   - reports each new beam's parent (index among the previous live beams) and token, and how
 *     many children each previous beam got. The engine forks the KV sequence of a parent with
 *     several children and frees one with none.
 * Finished hypotheses are scored score = cum_logprob / len^length_penalty, where len counts the
 * generated tokens including the end-of-generation token (at least 1); the best n_best are kept.
 *
 * pv_beam_is_done says the search may stop: no live beam is left, the live beams have
 * max_len tokens, or n_best hypotheses are finished and no live beam can ever score above the
 * worst of them. That bound is exact, not a heuristic: a live beam's cum_logprob can only fall,
 * so its best possible score is cum / L^length_penalty with L = max_len when length_penalty > 0
 * (a longer divisor helps a negative sum) and L = its length + 1 otherwise.
 * pv_beam_final returns the best n_best of the finished and the still-live beams together
 * (a live beam at the end has run out of length, or was never beaten), best score first.
 */
#ifndef PV_SAMPLE_BEAM_H
#define PV_SAMPLE_BEAM_H

#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "sample/logits.h"

typedef struct pv_beam_config {
  uint32_t width;       /* live beams kept per step, >= 1 */
  uint32_t n_best;      /* hypotheses returned, 1..width */
  uint32_t max_cand;    /* most candidates per beam a step may pass (e.g. 2 * width) */
  uint32_t max_len;     /* generated tokens at most, >= 1 */
  float length_penalty; /* exponent of the length in the score */
} pv_beam_config;

typedef bool (*pv_beam_is_eog_fn)(int32_t token, void *user);

typedef struct pv_beam_step_out {
  uint32_t n_live;            /* new live beams */
  const uint32_t *parent;     /* [n_live] index of each new beam's parent among the old beams */
  const int32_t *token;       /* [n_live] the token each new beam appended */
  const uint32_t *n_children; /* [old n_live] how many new beams each old beam produced */
  uint32_t n_finished_now;    /* hypotheses finished by this step (kept or not) */
} pv_beam_step_out;

typedef struct pv_beam_hyp {
  const int32_t *tokens; /* generated tokens, the end-of-generation token included when eog */
  uint32_t len;
  float cum_logprob;
  float score;           /* cum_logprob / max(len, 1)^length_penalty */
  bool eog;              /* ended by an end-of-generation token (else by length) */
} pv_beam_hyp;

typedef struct pv_beam_search pv_beam_search;

int pv_beam_create(pv_beam_search **out, const pv_beam_config *cfg, pv_error *err);
void pv_beam_destroy(pv_beam_search *b);

/* Live beams now (1 before the first step). */
uint32_t pv_beam_n_live(const pv_beam_search *b);
/* Live beam i: its generated tokens and cumulative log-probability. */
const int32_t *pv_beam_tokens(const pv_beam_search *b, uint32_t i, uint32_t *len, float *cum_logprob);

/* One step. cands is [n_live][n_cand] row-major (n_cand <= max_cand); a candidate with
 * log-probability -INFINITY is skipped. Out-pointers stay valid until the next step. Fails when
 * the search is already done or the arguments are inconsistent. */
int pv_beam_step(pv_beam_search *b, const pv_cand *cands, uint32_t n_cand, pv_beam_is_eog_fn is_eog, void *user,
                 pv_beam_step_out *out, pv_error *err);

bool pv_beam_is_done(const pv_beam_search *b);

/* Writes up to n_best hypotheses, best first, into out[]; returns how many. Pointers stay
 * valid until the next step or destroy. */
uint32_t pv_beam_final(pv_beam_search *b, pv_beam_hyp *out, uint32_t max_out);

/* The score of a sequence (exposed for tests and the engine's reports). */
float pv_beam_score(float cum_logprob, uint32_t len, float length_penalty);

#endif /* PV_SAMPLE_BEAM_H */
