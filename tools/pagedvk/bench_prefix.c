/*
 * bench_prefix.c — `pagedvk bench prefix`: requests that share a long system prompt (--prefix-len)
 * followed by 16..48 tokens of their own, with the prefix cache on and off; reports the prompt
 * tokens computed, cache hits and TTFT, and the off/on ratios.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int bench_prefix(bench_args *a, const model_facts *f) {
  uint32_t n = a->requests ? a->requests : 64, mml = bench_model_len(f, &a->o.engine);
  uint32_t plen = a->prefix_len ? a->prefix_len : 1000, glen = a->gen_len ? a->gen_len : 16;
  uint64_t s0 = a->seed;
  int32_t *sys = calloc(plen, sizeof *sys);
  for (uint32_t t = 0; t < plen; t++) sys[t] = bench_rng_token(&s0, f->vocab);
  workload w = {0};
  for (uint32_t i = 0; i < n; i++) {
    uint32_t tail = 16 + (uint32_t)(bench_rng_next(&s0) % 33); /* 16..48 tokens of user question */
    if (plen + tail + glen >= mml) return cli_fail("prefix: %u + %u + %u tokens exceed max_model_len %u", plen, tail, glen, mml);
    wl_req *q = wl_add(&w, plen + tail);
    memcpy(q->prompt, sys, plen * sizeof *sys);
    for (uint32_t t = 0; t < tail; t++) q->prompt[plen + t] = bench_rng_token(&s0, f->vocab);
    q->max_tokens = glen;
  }
  free(sys);
  if (!a->kv_mem_given) { /* every request fits at once even without sharing */
    uint64_t bs = a->o.engine.block_size, per = (plen + 48 + glen + bs - 1) / bs + 1;
    a->o.engine.kv_mem = ((uint64_t)n * per * 102 / 100 + 8) * bs * bench_kv_bytes_per_token(f, &a->o.engine);
  }
  suite s = {.runs = a->runs};
  pagedvk_engine_options on = a->o.engine, off = a->o.engine;
  on.prefix_cache = 1;
  off.prefix_cache = 0;
  suite_add(&s, "prefix cache on", &on, &w);
  suite_add(&s, "prefix cache off", &off, &w);
  int rc = suite_run(&s, f, a->o.quiet || a->json);
  if (!rc) {
    double rt = suite_ratio_median(&s, 1, 0, M_TTFT50), rp = suite_ratio_median(&s, 1, 0, M_PROMPT_COMPUTED);
    if (a->json) {
      bench_json_begin(a, f);
      printf(", \"system_prompt_len\": %u, \"output_len\": %u, \"kv_mem\": %llu", plen, glen,
             (unsigned long long)a->o.engine.kv_mem);
      bench_json_configs(&s);
      printf(", \"ratio_prefill_off_on\": %.4g, \"ratio_ttft_p50_off_on\": %.4g}\n", rp, rt);
    } else {
      printf("workload: %u requests = one %u-token system prompt + 16..48 own tokens, %u output tokens each "
             "(seed %llu); KV pool %.1f MiB; %u run%s, medians\n\n",
             n, plen, glen, (unsigned long long)a->seed, a->o.engine.kv_mem / 1048576.0, a->runs,
             a->runs == 1 ? "" : "s");
      printf("%-17s %15s %12s %10s %10s %10s %9s\n", "", "prefill tokens", "cache hits", "TTFT p50", "TTFT p99",
             "tok/s", "wall s");
      for (uint32_t i = 0; i < s.n; i++) {
        const double *v = s.c[i].med.v;
        printf("%-17s %15.0f %12.0f %8.0fms %8.0fms %10.1f %9.2f\n", s.c[i].label, v[M_PROMPT_COMPUTED],
               v[M_PREFIX_HIT], v[M_TTFT50], v[M_TTFT99], v[M_TOKS], v[M_WALL]);
      }
      printf("\noff / on: %.2fx prefill tokens computed, %.2fx TTFT p50\n", rp, rt);
    }
  }
  suite_free(&s);
  wl_free(&w);
  return rc;
}
