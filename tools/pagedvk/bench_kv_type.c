/*
 * bench_kv_type.c — `pagedvk bench kv-type`: the mixed workload with an f16 and a q8_0 KV pool at
 * the same KV memory (by default the mixed scenario's pool at f16): the blocks each pool holds,
 * peak concurrent sequences, output tokens/s, and the attention stage's device time per prompt step
 * and per decode-only step (kernel_times), with the q8_0/f16 ratios taken within each run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int bench_kv_type(bench_args *a, const model_facts *f) {
  uint32_t n = a->requests ? a->requests : 64, mml = bench_model_len(f, &a->o.engine);
  if (f->head_dim % 32) return cli_fail("bench kv-type: head size %u is not a multiple of 32 (no q8_0 blocks)", f->head_dim);
  if (!a->kv_mem_given) { /* the mixed scenario's pool, sized for f16 */
    pagedvk_engine_options t = a->o.engine;
    t.kv_type = PAGEDVK_KV_F16;
    t.kv_f32 = 0;
    a->o.engine.kv_mem = bench_kv_mem_for_contiguous(f, &t, a->contig_seqs);
  }
  workload w = {0};
  wl_mixed(&w, a, f, mml, n);
  suite s = {.runs = a->runs};
  static const pagedvk_kv_type types[] = {PAGEDVK_KV_F16, PAGEDVK_KV_Q8_0};
  for (uint32_t i = 0; i < 2; i++) {
    pagedvk_engine_options eo = a->o.engine;
    eo.kv_type = types[i];
    eo.kv_f32 = 0;
    eo.kernel_times = 1; /* the attention stage's own device time */
    suite_add(&s, pagedvk_kv_type_name(types[i]), &eo, &w);
  }
  int rc = suite_run(&s, f, a->o.quiet || a->json);
  if (!rc) {
    const double rp = suite_ratio_median(&s, 1, 0, M_PEAK_SEQS), rt = suite_ratio_median(&s, 1, 0, M_TOKS);
    const double rb = suite_ratio_median(&s, 1, 0, M_BLOCKS_TOTAL);
    char dist[160];
    snprintf(dist, sizeof dist, "seed %llu; lengths log-normal, medians %.0f/%.0f, sigma %.2f, clipped to [%u, %u]",
             (unsigned long long)a->seed, a->prompt_median, a->output_median, a->sigma, a->min_len, a->max_len);
    if (a->json) {
      bench_json_begin(a, f);
      printf(", \"distribution\": ");
      cli_json_string(stdout, dist, strlen(dist));
      printf(", \"kv_mem\": %llu, \"max_model_len\": %u", (unsigned long long)a->o.engine.kv_mem, mml);
      bench_json_configs(&s);
      printf(", \"ratio_blocks\": %.4g, \"ratio_peak_seqs\": %.4g, \"ratio_tokens_per_s\": %.4g}\n", rb, rp, rt);
    } else {
      bench_print_workload(a, &w, mml, a->o.engine.kv_mem, dist);
      printf("\n%-6s %8s %9s %10s %11s %11s %9s %9s %8s\n", "KV", "blocks", "peak seqs", "tok/s", "attn ms/pf",
             "attn ms/dec", "ITL p50", "TTFT p50", "preempt");
      for (uint32_t i = 0; i < s.n; i++) {
        const double *v = s.c[i].med.v;
        printf("%-6s %8.0f %9.0f %10.1f %11.3f %11.3f %7.1fms %7.0fms %8.0f\n", s.c[i].label, v[M_BLOCKS_TOTAL],
               v[M_PEAK_SEQS], v[M_TOKS], v[M_ATTN_PROMPT_MS], v[M_ATTN_DECODE_MS], v[M_ITL50], v[M_TTFT50],
               v[M_PREEMPT]);
      }
      printf("\nq8_0 / f16: blocks %.2fx, peak sequences %.2fx, output tokens/s %.2fx (medians of per-run ratios)\n"
             "attn ms = device time of the attention stage per step with prompt rows (pf) and per decode-only\n"
             "step (dec), timestamp queries\n", rb, rp, rt);
    }
  }
  suite_free(&s);
  wl_free(&w);
  return rc;
}
