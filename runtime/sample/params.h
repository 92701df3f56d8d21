/*
 * params.h — checks on pagedvk_sampling_params (the public defaults live in params.c).
 *
 * The engine calls pv_sampling_params_check when a request arrives, so that every later stage
 * (sampler, stop matcher, beam search) can trust its inputs.
 */
#ifndef PV_SAMPLE_PARAMS_H
#define PV_SAMPLE_PARAMS_H

#include "base/base.h"

/* Most top log-probabilities a token event may carry (pagedvk_sampling_params.logprobs). */
#define PV_MAX_LOGPROBS 20

/* PAGEDVK_OK, or PAGEDVK_ERR_INVALID with a message naming the first bad field. */
int pv_sampling_params_check(const pagedvk_sampling_params *p, pv_error *err);

#endif /* PV_SAMPLE_PARAMS_H */
