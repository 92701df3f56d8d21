/*
 * bench_demo.c — `pagedvk bench demo`, the `make demo` showcase: a burst of mixed requests run with
 * a progress bar, then what paging bought: peak concurrency and KV utilization against what the
 * contiguous layout could hold in the same pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int bench_demo(bench_args *a, const model_facts *f) {
  uint32_t n = a->requests ? a->requests : 64, mml = bench_model_len(f, &a->o.engine);
  bench_default_kv_mem(a, f, a->contig_seqs);
  workload w = {0};
  wl_mixed(&w, a, f, mml, n);
  double mp, mo;
  uint32_t xp, xo;
  wl_stats(&w, &mp, &mo, &xp, &xo);
  const uint64_t per_tok = bench_kv_bytes_per_token(f, &a->o.engine);
  printf("burst of %u concurrent requests: prompts %.0f tokens on average (longest %u), outputs %.0f (longest %u)\n", n,
         mp, xp, mo, xo);
  printf("KV pool %.1f MiB, block size %u, max_model_len %u, up to %u sequences per step\n\n",
         a->o.engine.kv_mem / 1048576.0, a->o.engine.block_size, mml, a->o.engine.max_num_seqs);
  fflush(stdout);
  metrics m;
  int rc = bench_run_config(&a->o.engine, f, &w, &m, PROGRESS_BAR);
  if (!rc) {
    const double *v = m.v;
    double contig_seq_mib = (double)mml * per_tok / 1048576.0;
    uint32_t contig_fit = (uint32_t)(a->o.engine.kv_mem / ((uint64_t)mml * per_tok));
    printf("\n%.0f output tokens in %.2f s: %.1f tokens/s\n", v[M_OUT_TOKENS], v[M_WALL], v[M_TOKS]);
    printf("peak concurrency            %.0f sequences\n", v[M_PEAK_SEQS]);
    printf("KV utilization              %.1f%% mean, %.1f%% peak (stored tokens / slots of blocks in use)\n",
           100 * v[M_UTIL_MEAN], 100 * v[M_UTIL_PEAK]);
    printf("time to first token         p50 %.0f ms, p99 %.0f ms; inter-token p50 %.1f ms\n", v[M_TTFT50], v[M_TTFT99],
           v[M_ITL50]);
    printf("preemptions                 %.0f\n", v[M_PREEMPT]);
    printf("\ncontiguous layout (max_model_len %u slots = %.1f MiB per sequence):\n", mml, contig_seq_mib);
    printf("  in this %.1f MiB pool it holds %u sequence%s at once (paged peaked at %.0f)\n",
           a->o.engine.kv_mem / 1048576.0, contig_fit, contig_fit == 1 ? "" : "s", v[M_PEAK_SEQS]);
    printf("  to run %.0f sequences at once it would need %.1f MiB (%.1fx this pool)\n", v[M_PEAK_SEQS],
           v[M_PEAK_SEQS] * contig_seq_mib, v[M_PEAK_SEQS] * contig_seq_mib / (a->o.engine.kv_mem / 1048576.0));
  }
  wl_free(&w);
  return rc;
}
