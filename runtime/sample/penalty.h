/*
 * penalty.h — which tokens a sequence has seen, and the penalties that follow from it.
 *
 * Convention (the common one): the repetition penalty looks at every token of the prompt and
 * of the generated text; the presence and frequency penalties look at generated tokens only.
 * For each token id t that qualifies, in this order:
 *   repetition (t in prompt or generated, penalty r != 1):  l = l > 0 ? l / r : l * r
 *   presence and frequency (t generated c >= 1 times):     l = l - (presence + frequency * c)
 * computed in float exactly as written. Nothing else in the row changes.
 *
 * The table is the runtime's hash map (base/hmap.h) keyed by token id, so a sequence pays memory
 * for the distinct tokens it has seen, not for the vocabulary. A value packs the counts:
 * generated << 1 | in_prompt. It grows on insertion (an allocation that can fail) unless
 * reserved; applying penalties allocates nothing.
 */
#ifndef PV_SAMPLE_PENALTY_H
#define PV_SAMPLE_PENALTY_H

#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "base/hmap.h"

typedef struct pv_token_seen {
  int32_t token;
  uint32_t generated; /* occurrences among the generated tokens */
  uint32_t in_prompt; /* 1 when the token occurs in the prompt */
} pv_token_seen;

typedef struct pv_token_counts {
  pv_hmap map; /* token id -> generated << 1 | in_prompt; map.n: distinct tokens */
} pv_token_counts;

typedef struct pv_penalties {
  float repetition; /* 1 = off */
  float presence;   /* 0 = off */
  float frequency;  /* 0 = off */
} pv_penalties;

int pv_token_counts_init(pv_token_counts *t, pv_error *err);
void pv_token_counts_free(pv_token_counts *t);
/* dst (uninitialized) becomes an independent copy of src. */
int pv_token_counts_copy(pv_token_counts *dst, const pv_token_counts *src, pv_error *err);
/* Room for n_distinct tokens without growing again (the per-step path allocates nothing). */
int pv_token_counts_reserve(pv_token_counts *t, uint32_t n_distinct, pv_error *err);
/* Records one occurrence of token >= 0, in the prompt or among the generated tokens. */
int pv_token_counts_add(pv_token_counts *t, int32_t token, bool in_prompt, pv_error *err);
/* The counts of a token in *out; false when never seen. */
bool pv_token_counts_find(const pv_token_counts *t, int32_t token, pv_token_seen *out);

/* True when every penalty is at its "off" value. */
bool pv_penalties_off(const pv_penalties *p);
/* Applies the penalties to logits[0..n_vocab) (tokens >= n_vocab are ignored). */
void pv_penalties_apply(const pv_penalties *p, const pv_token_counts *t, float *logits, uint32_t n_vocab);

#endif /* PV_SAMPLE_PENALTY_H */
