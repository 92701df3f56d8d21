/*
 * bench_concurrency.c — `pagedvk bench concurrency`: output tokens/s at --max-num-seqs 1, 2, 4, ...
 * up to --max-concurrency, each point with max(2c, 8) fixed-length requests and a KV pool sized so
 * that memory never limits; the speed-up is taken against c = 1 within each run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int bench_concurrency(bench_args *a, const model_facts *f) {
  uint32_t mml = bench_model_len(f, &a->o.engine);
  uint32_t plen = a->prompt_len ? a->prompt_len : 32, glen = a->gen_len ? a->gen_len : 32;
  uint32_t max_c = a->max_conc ? a->max_conc : 128;
  if (max_c >= 1u << MAX_CONFIGS) /* one configuration per power of two up to max_c */
    return cli_fail("bench concurrency: --max-concurrency at most %u (%d points)", (1u << MAX_CONFIGS) - 1, MAX_CONFIGS);
  workload ws[MAX_CONFIGS];
  suite s = {.runs = a->runs};
  uint32_t nc = 0;
  for (uint32_t c = 1; c <= max_c; c *= 2, nc++) {
    /* Enough requests to keep c sequences busy for a while: 2c, at least 8 (or --requests). */
    uint32_t n = a->requests ? a->requests : (2 * c > 8 ? 2 * c : 8);
    if (n < c) n = c;
    memset(&ws[nc], 0, sizeof ws[nc]);
    wl_fixed(&ws[nc], f, a->seed, n, plen, glen);
    pagedvk_engine_options eo = a->o.engine;
    eo.max_num_seqs = c;
    if (!a->kv_mem_given) { /* room for every running sequence: memory is not the limit here */
      uint64_t bs = eo.block_size, per = (plen + glen + bs - 1) / bs + 1;
      eo.kv_mem = ((uint64_t)c * per + c / 50 + 4) * bs * bench_kv_bytes_per_token(f, &eo) * 102 / 100 + bs * bench_kv_bytes_per_token(f, &eo);
    }
    if (eo.max_num_batched_tokens < c) eo.max_num_batched_tokens = c;
    char label[32];
    snprintf(label, sizeof label, "max-num-seqs %u", c);
    suite_add(&s, label, &eo, &ws[nc]);
  }
  int rc = suite_run(&s, f, a->o.quiet || a->json);
  if (!rc) {
    if (a->json) {
      bench_json_begin(a, f);
      printf(", \"prompt_len\": %u, \"output_len\": %u, \"max_model_len\": %u", plen, glen, mml);
      bench_json_configs(&s);
      printf("}\n");
    } else {
      printf("workload: per point max(2c, 8) requests, prompt %u and output %u tokens each (seed %llu); "
             "paged KV sized so memory never limits; %u run%s, medians\n\n",
             plen, glen, (unsigned long long)a->seed, a->runs, a->runs == 1 ? "" : "s");
      printf("%14s %9s %9s %10s %9s %9s %10s\n", "max-num-seqs", "requests", "peak", "tok/s", "ITL p50", "step ms",
             "vs c=1");
      for (uint32_t i = 0; i < s.n; i++) {
        const double *v = s.c[i].med.v;
        printf("%14u %9u %9.0f %10.1f %7.1fms %9.2f %9.2fx\n", s.c[i].eo.max_num_seqs, s.c[i].w->n, v[M_PEAK_SEQS],
               v[M_TOKS], v[M_ITL50], v[M_STEP_MS], suite_ratio_median(&s, i, 0, M_TOKS));
      }
    }
  }
  suite_free(&s);
  for (uint32_t i = 0; i < nc; i++) wl_free(&ws[i]);
  return rc;
}
