/*
 * bench_roofline.c — `pagedvk bench roofline`: decode time per token at batch 1 against the bound
 * that memory bandwidth sets (weight bytes a decode step reads / host copy bandwidth, measured here
 * with one memcpy thread per core as a proxy for a CPU device's memory system).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* Host copy bandwidth with one thread per core: lavapipe's "device memory" is host memory, so this
 * is the CPU device's memory system (a proxy: the public API has no device copy). */
typedef struct copy_job {
  char *src, *dst;
  size_t bytes;
  int reps;
} copy_job;

static void *copy_thread(void *p) {
  copy_job *j = p;
  for (int r = 0; r < j->reps; r++) {
    memcpy(j->dst, j->src, j->bytes);
    j->src[r % j->bytes] ^= 1; /* keep the copies from being elided */
  }
  return NULL;
}

/* The copy uses one thread per online CPU, at most COPY_MAX_THREADS: a host's memory bandwidth is
 * reached with far fewer, and the count used is reported (copy_threads). */
#define COPY_MAX_THREADS 16

static double host_copy_gbs(size_t bytes, int threads) {
  if (threads < 1 || threads > COPY_MAX_THREADS) return 0; /* bench_roofline clamps before calling */
  char *src = malloc(bytes), *dst = malloc(bytes);
  if (!src || !dst) {
    free(src);
    free(dst);
    return 0;
  }
  memset(src, 1, bytes);
  memset(dst, 2, bytes);
  double best = 0;
  for (int trial = 0; trial < 5; trial++) {
    pthread_t th[COPY_MAX_THREADS];
    copy_job jobs[COPY_MAX_THREADS];
    size_t part = bytes / threads;
    double t0 = pagedvk_now_seconds();
    for (int i = 0; i < threads; i++) {
      jobs[i] = (copy_job){src + i * part, dst + i * part, part, 2};
      pthread_create(&th[i], NULL, copy_thread, &jobs[i]);
    }
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    double dt = pagedvk_now_seconds() - t0;
    double gbs = 2.0 * 2.0 * (double)part * threads / dt / 1e9; /* read + write, 2 reps */
    if (gbs > best) best = gbs;
  }
  free(src);
  free(dst);
  return best;
}

int bench_roofline(bench_args *a, const model_facts *f) {
  uint32_t plen = a->prompt_len ? a->prompt_len : 16, glen = a->gen_len ? a->gen_len : 64;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  int threads = ncpu < 1 ? 1 : ncpu > COPY_MAX_THREADS ? COPY_MAX_THREADS : (int)ncpu;
  workload w = {0};
  wl_fixed(&w, f, a->seed, 1, plen, glen);
  if (!a->kv_mem_given) a->o.engine.kv_mem = bench_kv_mem_for_contiguous(f, &a->o.engine, 1.0);
  pagedvk_engine_options eo = a->o.engine;
  eo.max_num_seqs = 1;
  suite s = {.runs = a->runs};
  suite_add(&s, "batch 1", &eo, &w);
  int rc = suite_run(&s, f, a->o.quiet || a->json);
  double *bw = calloc(a->runs, sizeof *bw);
  for (uint32_t r = 0; r < a->runs && !rc; r++) bw[r] = host_copy_gbs((size_t)256 << 20, threads);
  double gbs = bench_median(bw, a->runs);
  free(bw);
  if (!rc) {
    const double *v = s.c[0].med.v;
    double bound_ms = gbs > 0 ? f->decode_weight_bytes / (gbs * 1e9) * 1e3 : 0;
    double ratio = bound_ms > 0 ? v[M_ITL50] / bound_ms : 0;
    if (a->json) {
      bench_json_begin(a, f);
      printf(", \"decode_weight_bytes\": %.0f, \"copy_gb_per_s\": %.4g, \"copy_threads\": %d, \"bound_ms\": %.4g, "
             "\"decode_ms_per_token\": %.4g, \"ratio_to_bound\": %.4g",
             f->decode_weight_bytes, gbs, threads, bound_ms, v[M_ITL50], ratio);
      bench_json_configs(&s);
      printf("}\n");
    } else {
      printf("decode at batch 1: prompt %u, %u output tokens; %u run%s, medians\n\n", plen, glen, a->runs,
             a->runs == 1 ? "" : "s");
      printf("weights read per decode step       %10.1f MiB (all but the embedding table)\n",
             f->decode_weight_bytes / 1048576.0);
      printf("host copy bandwidth (read+write)   %10.2f GB/s (memcpy of 256 MiB, %d threads; CPU-device proxy)\n", gbs,
             threads);
      printf("bandwidth bound per token          %10.2f ms\n", bound_ms);
      printf("measured decode time per token     %10.2f ms (ITL p50; p99 %.2f ms)\n", v[M_ITL50], v[M_ITL99]);
      printf("measured / bound                   %10.1fx\n", ratio);
    }
  }
  suite_free(&s);
  wl_free(&w);
  return rc;
}
