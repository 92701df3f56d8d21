/*
 * bench_block_size.c — `pagedvk bench block-size`: the mixed workload at block sizes 8, 16, 32 and
 * 64 with the same KV memory, with the attention stage's device time (kernel_times) per prompt step
 * and per decode-only step, and the slots wasted in partly filled last blocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int bench_block_size(bench_args *a, const model_facts *f) {
  uint32_t n = a->requests ? a->requests : 64, mml = bench_model_len(f, &a->o.engine);
  workload w = {0};
  wl_mixed(&w, a, f, mml, n);
  suite s = {.runs = a->runs};
  static const uint32_t sizes[] = {8, 16, 32, 64};
  /* The same KV memory for every block size: by default the pool of the mixed scenario at 16. */
  if (!a->kv_mem_given) {
    pagedvk_engine_options t = a->o.engine;
    t.block_size = 64;
    a->o.engine.kv_mem = bench_kv_mem_for_contiguous(f, &t, a->contig_seqs);
  }
  for (uint32_t i = 0; i < 4; i++) {
    pagedvk_engine_options eo = a->o.engine;
    eo.block_size = sizes[i];
    eo.kernel_times = 1; /* the attention stage's own device time */
    char label[32];
    snprintf(label, sizeof label, "block %u", sizes[i]);
    suite_add(&s, label, &eo, &w);
  }
  int rc = suite_run(&s, f, a->o.quiet || a->json);
  if (!rc) {
    char dist[160];
    snprintf(dist, sizeof dist, "seed %llu; lengths log-normal, medians %.0f/%.0f, sigma %.2f, clipped to [%u, %u]",
             (unsigned long long)a->seed, a->prompt_median, a->output_median, a->sigma, a->min_len, a->max_len);
    if (a->json) {
      bench_json_begin(a, f);
      printf(", \"distribution\": ");
      cli_json_string(stdout, dist, strlen(dist));
      printf(", \"kv_mem\": %llu", (unsigned long long)a->o.engine.kv_mem);
      bench_json_configs(&s);
      printf("}\n");
    } else {
      bench_print_workload(a, &w, mml, a->o.engine.kv_mem, dist);
      printf("\n%-6s %8s %10s %11s %11s %10s %12s %10s %9s %10s %8s\n", "block", "blocks", "step ms", "attn ms/pf",
             "attn ms/dec", "tok/s", "waste slots", "waste", "peak seqs", "ITL p50", "preempt");
      for (uint32_t i = 0; i < s.n; i++) {
        const double *v = s.c[i].med.v;
        printf("%-6u %8.0f %10.2f %11.3f %11.3f %10.1f %12.1f %9.1f%% %9.0f %8.1fms %8.0f\n", s.c[i].eo.block_size,
               v[M_BLOCKS_TOTAL], v[M_STEP_MS], v[M_ATTN_PROMPT_MS], v[M_ATTN_DECODE_MS], v[M_TOKS], v[M_WASTE_MEAN],
               100 * (1 - v[M_UTIL_MEAN]), v[M_PEAK_SEQS], v[M_ITL50], v[M_PREEMPT]);
      }
      printf("\nwaste = reserved but empty slots in partly filled last blocks (mean over steps); attn ms = device time\n"
             "of the attention stage per step with prompt rows (pf) and per decode-only step (dec), timestamp queries\n");
    }
  }
  suite_free(&s);
  wl_free(&w);
  return rc;
}
