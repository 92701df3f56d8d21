/*
 * bench_mixed.c — `pagedvk bench mixed`: the long-tailed workload (log-normal prompt and output
 * lengths) run with the paged and the contiguous KV layout at the same --kv-mem (by default room for
 * --contig-seqs contiguous sequences); reports peak concurrency, KV utilization, tokens/s, TTFT and
 * ITL per layout, and paged/contiguous ratios taken within each run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int bench_mixed(bench_args *a, const model_facts *f) {
  uint32_t n = a->requests ? a->requests : 64, mml = bench_model_len(f, &a->o.engine);
  bench_default_kv_mem(a, f, a->contig_seqs);
  workload w = {0};
  wl_mixed(&w, a, f, mml, n);
  suite s = {.runs = a->runs};
  pagedvk_engine_options paged = a->o.engine, contig = a->o.engine;
  paged.kv_layout = PAGEDVK_KV_PAGED;
  contig.kv_layout = PAGEDVK_KV_CONTIGUOUS;
  suite_add(&s, "paged", &paged, &w);
  suite_add(&s, "contiguous", &contig, &w);
  int rc = suite_run(&s, f, a->o.quiet || a->json);
  if (!rc) {
    double rp = suite_ratio_median(&s, 0, 1, M_PEAK_SEQS), rt = suite_ratio_median(&s, 0, 1, M_TOKS);
    char dist[160];
    snprintf(dist, sizeof dist, "seed %llu; lengths log-normal, medians %.0f/%.0f, sigma %.2f, clipped to [%u, %u]",
             (unsigned long long)a->seed, a->prompt_median, a->output_median, a->sigma, a->min_len, a->max_len);
    if (a->json) {
      bench_json_begin(a, f);
      printf(", \"distribution\": ");
      cli_json_string(stdout, dist, strlen(dist));
      printf(", \"kv_mem\": %llu, \"max_model_len\": %u", (unsigned long long)a->o.engine.kv_mem, mml);
      bench_json_configs(&s);
      printf(", \"ratio_peak_seqs\": %.4g, \"ratio_tokens_per_s\": %.4g}\n", rp, rt);
    } else {
      bench_print_workload(a, &w, mml, a->o.engine.kv_mem, dist);
      printf("\n%-11s %9s %10s %10s %9s %9s %9s %9s %9s %9s %8s\n", "layout", "peak seqs", "KV util", "util peak",
             "tok/s", "TTFT p50", "TTFT p99", "ITL p50", "ITL p99", "wall s", "preempt");
      for (uint32_t i = 0; i < s.n; i++) {
        const double *v = s.c[i].med.v;
        printf("%-11s %9.0f %9.1f%% %9.1f%% %9.1f %7.0fms %7.0fms %7.1fms %7.1fms %9.2f %8.0f\n", s.c[i].label,
               v[M_PEAK_SEQS], 100 * v[M_RES_UTIL_MEAN], 100 * v[M_RES_UTIL_PEAK], v[M_TOKS], v[M_TTFT50],
               v[M_TTFT99], v[M_ITL50], v[M_ITL99], v[M_WALL], v[M_PREEMPT]);
      }
      printf("\npaged / contiguous: %.2fx peak concurrent sequences, %.2fx output tokens/s (medians of per-run ratios)\n"
             "KV util: paged = stored tokens / slots of used blocks; contiguous = stored tokens / (running seqs x %u)\n",
             rp, rt, mml);
    }
  }
  suite_free(&s);
  wl_free(&w);
  return rc;
}
