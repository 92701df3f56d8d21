/*
 * bench_window.c — `pagedvk bench window`: long chats on a model with sliding-window layers
 * (gemma2/gemma3 shapes), with the KV blocks that fall out of the window given back
 * (sliding_window_free, the default) and kept (one block table for every layer). Reports the
 * peak KV memory in use and blocks, throughput and TTFT, and the kept/freed ratio of the peak.
 * Both configurations get the same pool, large enough to keep every request whole.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

int bench_window(bench_args *a, const model_facts *f) {
  uint32_t n = a->requests ? a->requests : 4, mml = bench_model_len(f, &a->o.engine);
  uint32_t plen = a->prompt_len ? a->prompt_len : 2048, glen = a->gen_len ? a->gen_len : 128;
  if (plen + glen > mml) return cli_fail("window: %u + %u tokens exceed max_model_len %u", plen, glen, mml);
  uint64_t s0 = a->seed;
  workload w = {0};
  for (uint32_t i = 0; i < n; i++) {
    wl_req *q = wl_add(&w, plen);
    for (uint32_t t = 0; t < plen; t++) q->prompt[t] = bench_rng_token(&s0, f->vocab);
    q->max_tokens = glen;
  }
  if (!a->kv_mem_given) { /* every request whole at once, with all layers' blocks kept */
    uint64_t bs = a->o.engine.block_size, per = (plen + glen + bs - 1) / bs + 1;
    a->o.engine.kv_mem = ((uint64_t)n * per * 102 / 100 + 8) * bs * bench_kv_bytes_per_token(f, &a->o.engine);
  }
  suite s = {.runs = a->runs};
  pagedvk_engine_options freed = a->o.engine, kept = a->o.engine;
  freed.sliding_window_free = 1;
  kept.sliding_window_free = 0;
  suite_add(&s, "window blocks freed", &freed, &w);
  suite_add(&s, "all blocks kept", &kept, &w);
  int rc = suite_run(&s, f, a->o.quiet || a->json);
  if (!rc) {
    double rm = suite_ratio_median(&s, 1, 0, M_PEAK_KV_MIB), rt = suite_ratio_median(&s, 1, 0, M_TOKS);
    if (a->json) {
      bench_json_begin(a, f);
      printf(", \"prompt_len\": %u, \"output_len\": %u, \"kv_mem\": %llu", plen, glen,
             (unsigned long long)a->o.engine.kv_mem);
      bench_json_configs(&s);
      printf(", \"ratio_peak_kv_kept_freed\": %.4g, \"ratio_toks_kept_freed\": %.4g}\n", rm, rt);
    } else {
      printf("workload: %u chats of %u prompt + %u output tokens at once (seed %llu); KV pool %.1f MiB; %u run%s, "
             "medians\n\n",
             n, plen, glen, (unsigned long long)a->seed, a->o.engine.kv_mem / 1048576.0, a->runs,
             a->runs == 1 ? "" : "s");
      printf("%-20s %13s %12s %11s %10s %10s %9s\n", "", "peak KV MiB", "peak blocks", "pool blocks", "TTFT p50",
             "tok/s", "wall s");
      for (uint32_t i = 0; i < s.n; i++) {
        const double *v = s.c[i].med.v;
        printf("%-20s %13.2f %12.0f %11.0f %8.0fms %10.1f %9.2f\n", s.c[i].label, v[M_PEAK_KV_MIB], v[M_PEAK_BLOCKS],
               v[M_BLOCKS_TOTAL], v[M_TTFT50], v[M_TOKS], v[M_WALL]);
      }
      printf("\nkept / freed: %.2fx peak KV memory in use, %.2fx tok/s\n", rm, rt);
    }
  }
  suite_free(&s);
  wl_free(&w);
  return rc;
}
