/*
 * params.c — the documented defaults of pagedvk_sampling_params and their validation.
 *
 * Defaults (see include/pagedvk.h): temperature 0.8, every filter and penalty off, no seed,
 * 256 tokens, one sample, no beam search (beam_width 1), length penalty 1, no logprobs.
 */
#include <math.h>
#include <string.h>

#include "sample/params.h"

void pagedvk_sampling_params_default(pagedvk_sampling_params *p) {
  memset(p, 0, sizeof *p);
  p->temperature = 0.8f;
  p->top_k = 0;
  p->top_p = 1.0f;
  p->min_p = 0.0f;
  p->repetition_penalty = 1.0f;
  p->presence_penalty = 0.0f;
  p->frequency_penalty = 0.0f;
  p->max_tokens = 256;
  p->n = 1;
  p->beam_width = 1;
  p->length_penalty = 1.0f;
  p->logprobs = 0;
  p->priority = 0;
}

static int check_filters(const pagedvk_sampling_params *p, pv_error *err) {
  if (!isfinite(p->temperature) || p->temperature < 0.0f)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "temperature %g: must be finite and >= 0", (double)p->temperature);
  if (p->top_k < 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "top_k %d: must be >= 0", (int)p->top_k);
  if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "top_p %g: must be in (0, 1]", (double)p->top_p);
  if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "min_p %g: must be in [0, 1]", (double)p->min_p);
  return PAGEDVK_OK;
}

static int check_penalties(const pagedvk_sampling_params *p, pv_error *err) {
  if (!isfinite(p->repetition_penalty) || p->repetition_penalty <= 0.0f)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "repetition_penalty %g: must be finite and > 0",
                   (double)p->repetition_penalty);
  if (!isfinite(p->presence_penalty))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "presence_penalty must be finite");
  if (!isfinite(p->frequency_penalty))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "frequency_penalty must be finite");
  return PAGEDVK_OK;
}

static int check_outputs(const pagedvk_sampling_params *p, pv_error *err) {
  if (p->n == 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "n must be >= 1");
  if (p->beam_width > 1 && p->n > p->beam_width)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "n %u: beam search returns at most beam_width (%u) sequences",
                   p->n, p->beam_width);
  if (!isfinite(p->length_penalty)) return pv_fail(err, PAGEDVK_ERR_INVALID, "length_penalty must be finite");
  if (p->logprobs > PV_MAX_LOGPROBS)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "logprobs %u: at most %d", p->logprobs, PV_MAX_LOGPROBS);
  return PAGEDVK_OK;
}

/* Stop conditions are checked on the engine thread for every token: their number and size are bounded. */
static int check_stops(const pagedvk_sampling_params *p, pv_error *err) {
  if (p->n_stop_ids && !p->stop_ids) return pv_fail(err, PAGEDVK_ERR_INVALID, "n_stop_ids without stop_ids");
  if (p->n_stop_ids > PAGEDVK_MAX_STOP_IDS)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "%u stop token ids: at most %d", p->n_stop_ids, PAGEDVK_MAX_STOP_IDS);
  if (p->n_stop && !p->stop) return pv_fail(err, PAGEDVK_ERR_INVALID, "n_stop without stop");
  if (p->n_stop > PAGEDVK_MAX_STOP)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "%u stop strings: at most %d", p->n_stop, PAGEDVK_MAX_STOP);
  for (uint32_t i = 0; i < p->n_stop; i++) {
    if (!p->stop[i]) return pv_fail(err, PAGEDVK_ERR_INVALID, "stop[%u] is NULL", i);
    const size_t len = p->stop_len ? p->stop_len[i] : strnlen(p->stop[i], PAGEDVK_MAX_STOP_BYTES + 1);
    if (len > PAGEDVK_MAX_STOP_BYTES)
      return pv_fail(err, PAGEDVK_ERR_INVALID, "stop[%u] is longer than %d bytes", i, PAGEDVK_MAX_STOP_BYTES);
  }
  return PAGEDVK_OK;
}

static int check_grammar(const pagedvk_sampling_params *p, pv_error *err) {
  if (p->grammar_kind < PAGEDVK_GRAMMAR_NONE || p->grammar_kind > PAGEDVK_GRAMMAR_JSON_OBJECT)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "grammar_kind %d is unknown", p->grammar_kind);
  if ((p->grammar_kind == PAGEDVK_GRAMMAR_GBNF || p->grammar_kind == PAGEDVK_GRAMMAR_JSON_SCHEMA) && !p->grammar)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "grammar_kind %d needs the grammar text", p->grammar_kind);
  return PAGEDVK_OK;
}

int pv_sampling_params_check(const pagedvk_sampling_params *p, pv_error *err) {
  if (!p) return pv_fail(err, PAGEDVK_ERR_INVALID, "no sampling parameters");
  int rc = check_filters(p, err);
  if (!rc) rc = check_penalties(p, err);
  if (!rc) rc = check_outputs(p, err);
  if (!rc) rc = check_stops(p, err);
  if (!rc) rc = check_grammar(p, err);
  return rc;
}
