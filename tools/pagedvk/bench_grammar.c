/*
 * bench_grammar.c — `pagedvk bench grammar`: what constrained decoding costs per output token.
 * --requests (default 16) requests of --prompt-len (32) random prompt tokens and --gen-len (128)
 * output tokens decode together, unconstrained and under a JSON schema (an array of records with
 * strings, integers, numbers, an enum list and booleans, at least 1000 of them, so that every
 * request makes all its tokens and the batch stays full), sampled at temperature 0.8 (seeded: both configurations draw the same
 * way) and greedy (the unconstrained greedy rows take the device's argmax and copy no logits; the
 * constrained ones are masked on the host, so that pair shows the whole price of the host path).
 * Reported: decode milliseconds per output token (decode-step time / tokens those steps made),
 * the median inter-token latency, and the constrained / unconstrained ratios. Aim: at most 1.2
 * on a 151,936-token vocabulary (mkmodel --vocab-from ggml-vocab-qwen2.gguf).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char *const SCHEMA =
  "{\"type\": \"array\", \"minItems\": 1000, \"items\": {\"type\": \"object\", \"properties\": {"
  "\"name\": {\"type\": \"string\", \"maxLength\": 16}, \"id\": {\"type\": \"integer\"},"
  "\"score\": {\"type\": \"number\"}, \"tags\": {\"type\": \"array\", \"items\": {\"enum\": [\"red\", \"green\", "
  "\"blue\"]}, \"maxItems\": 4}, \"ok\": {\"type\": \"boolean\"}},"
  "\"required\": [\"name\", \"id\", \"score\", \"tags\", \"ok\"]}}";

/* Decode-step milliseconds per token those steps made (the first token of each request comes
 * from its prefill step). */
static double ms_per_token(const metrics *m, uint32_t n_req) {
  const double toks = m->v[M_OUT_TOKENS] - n_req;
  return toks > 0 ? m->v[M_DECODE_S] * 1e3 / toks : 0;
}

int bench_grammar(bench_args *a, const model_facts *f) {
  const uint32_t n_req = a->requests ? a->requests : 16, plen = a->prompt_len ? a->prompt_len : 32,
                 glen = a->gen_len ? a->gen_len : 128;
  const uint32_t mml = bench_model_len(f, &a->o.engine);
  if (plen + glen >= mml) return cli_fail("grammar: prompt + output must be below max_model_len %u", mml);
  if (!a->seqs_given && a->o.engine.max_num_seqs < n_req) a->o.engine.max_num_seqs = n_req;
  if (!a->kv_mem_given) {
    const uint32_t bs = a->o.engine.block_size;
    a->o.engine.kv_mem = (uint64_t)n_req * ((plen + glen) / bs + 2) * bs * bench_kv_bytes_per_token(f, &a->o.engine);
  }
  static const struct { const char *name; float temp; bool constrained; } cases[] = {
    {"sampled, no grammar", 0.8f, false}, {"sampled, json schema", 0.8f, true},
    {"greedy, no grammar", 0.0f, false},  {"greedy, json schema", 0.0f, true}};
  enum { NC = 4 };
  workload w[NC];
  suite s = {.runs = a->runs};
  for (uint32_t i = 0; i < NC; i++) {
    memset(&w[i], 0, sizeof w[i]);
    wl_fixed(&w[i], f, a->seed, n_req, plen, glen);
    for (uint32_t j = 0; j < n_req; j++) {
      w[i].r[j].temperature = cases[i].temp;
      if (cases[i].constrained) {
        w[i].r[j].grammar_kind = PAGEDVK_GRAMMAR_JSON_SCHEMA;
        w[i].r[j].grammar = SCHEMA;
      }
    }
    suite_add(&s, cases[i].name, &a->o.engine, &w[i]);
  }
  int rc = suite_run(&s, f, a->o.quiet || a->json);
  if (!rc) {
    double ms[NC];
    for (uint32_t i = 0; i < NC; i++) ms[i] = ms_per_token(&s.c[i].med, n_req);
    const double r_sampled = ms[0] > 0 ? ms[1] / ms[0] : 0, r_greedy = ms[2] > 0 ? ms[3] / ms[2] : 0;
    if (a->json) {
      bench_json_begin(a, f);
      printf(", \"requests\": %u, \"prompt_len\": %u, \"output_len\": %u, \"vocab\": %u", n_req, plen, glen, f->vocab);
      bench_json_configs(&s);
      printf(", \"ms_per_token\": {");
      for (uint32_t i = 0; i < NC; i++) printf("%s\"%s\": %.4g", i ? ", " : "", cases[i].name, ms[i]);
      printf("}, \"overhead_sampled\": %.4g, \"overhead_greedy\": %.4g}\n", r_sampled - 1, r_greedy - 1);
    } else {
      printf("%u requests at once, %u prompt + %u output tokens each, vocabulary %u, %u run%s, medians\n"
             "schema: an array of >= 1000 records (string <= 16, integer, number, enum list <= 4, boolean)\n\n",
             n_req, plen, glen, f->vocab, a->runs, a->runs == 1 ? "" : "s");
      printf("%-22s %14s %12s %12s %10s\n", "case", "ms/out token", "ITL p50 ms", "out tokens", "tokens/s");
      for (uint32_t i = 0; i < NC; i++)
        printf("%-22s %14.3f %12.2f %12.0f %10.1f\n", cases[i].name, ms[i], s.c[i].med.v[M_ITL50],
               s.c[i].med.v[M_OUT_TOKENS], s.c[i].med.v[M_TOKS]);
      printf("\nconstrained / unconstrained per output token: sampled %.3f (%+.1f%%), greedy %.3f (%+.1f%%)\n",
             r_sampled, 100 * (r_sampled - 1), r_greedy, 100 * (r_greedy - 1));
    }
  }
  suite_free(&s);
  for (uint32_t i = 0; i < NC; i++) wl_free(&w[i]);
  return rc;
}
