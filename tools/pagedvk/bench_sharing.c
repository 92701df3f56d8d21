/*
 * bench_sharing.c — `pagedvk bench sharing`: parallel sampling (n = 2, 4, 8) and beam search (width
 * 4) on one prompt, against the same prompt sent as k unrelated requests with the prefix cache off;
 * reports the peak KV blocks of each, against the ideal where the prompt's full blocks are stored
 * once and each sample keeps its own tail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int bench_sharing(bench_args *a, const model_facts *f) {
  uint32_t mml = bench_model_len(f, &a->o.engine);
  uint32_t plen = a->prompt_len ? a->prompt_len : 200, glen = a->gen_len ? a->gen_len : 32;
  if (plen + glen >= mml) return cli_fail("sharing: prompt + output must be below max_model_len %u", mml);
  const uint32_t bs = a->o.engine.block_size;
  if (!a->kv_mem_given) {
    uint64_t blocks = 8 * ((plen + glen + bs - 1) / bs + 1) * 2 + 16;
    a->o.engine.kv_mem = blocks * bs * bench_kv_bytes_per_token(f, &a->o.engine);
  }
  static const struct { const char *name; uint32_t n, beam; } cases[] = {
      {"n=2", 2, 0}, {"n=4", 4, 0}, {"n=8", 8, 0}, {"beam=4", 1, 4}};
  enum { NC = 4 };
  workload shared[NC], separate[NC];
  suite s = {.runs = a->runs};
  for (uint32_t i = 0; i < NC; i++) {
    uint32_t k = cases[i].beam ? cases[i].beam : cases[i].n;
    memset(&shared[i], 0, sizeof shared[i]);
    memset(&separate[i], 0, sizeof separate[i]);
    wl_fixed(&shared[i], f, a->seed, 1, plen, glen);
    shared[i].r[0].n = cases[i].n;
    shared[i].r[0].beam = cases[i].beam;
    shared[i].r[0].temperature = 0.8f;
    for (uint32_t j = 0; j < k; j++) { /* the same prompt k times, as unrelated requests */
      wl_fixed(&separate[i], f, a->seed, 1, plen, glen);
      separate[i].r[j].temperature = 0.8f;
    }
    pagedvk_engine_options on = a->o.engine, off = a->o.engine;
    off.prefix_cache = 0;
    char label[64];
    snprintf(label, sizeof label, "%s shared", cases[i].name);
    suite_add(&s, label, &on, &shared[i]);
    snprintf(label, sizeof label, "%s separate", cases[i].name);
    suite_add(&s, label, &off, &separate[i]);
  }
  int rc = suite_run(&s, f, a->o.quiet || a->json);
  if (!rc) {
    const uint32_t prompt_full = plen / bs;
    if (a->json) {
      bench_json_begin(a, f);
      printf(", \"prompt_len\": %u, \"output_len\": %u, \"block_size\": %u", plen, glen, bs);
      bench_json_configs(&s);
      printf(", \"cases\": [");
    } else {
      printf("one request of %u prompt + %u output tokens (temperature 0.8, seeded), block size %u: the prompt is %u "
             "full block%s + %u tokens; %u run%s, medians\n"
             "'separate' = the same prompt as k unrelated requests with the prefix cache off (no sharing)\n\n",
             plen, glen, bs, prompt_full, prompt_full == 1 ? "" : "s", plen % bs, a->runs, a->runs == 1 ? "" : "s");
      printf("%-8s %13s %15s %10s %13s %16s %s\n", "case", "peak blocks", "separate peak", "saved", "ideal shared",
             "no-sharing ideal", "prompt stored once");
    }
    for (uint32_t i = 0; i < NC; i++) {
      uint32_t k = cases[i].beam ? cases[i].beam : cases[i].n;
      double sh = s.c[2 * i].med.v[M_PEAK_BLOCKS], sep = s.c[2 * i + 1].med.v[M_PEAK_BLOCKS];
      /* Shared ideal: the prompt's full blocks once, then each sample's own tail (the partly filled
       * prompt block is copied on write, then its output). */
      uint32_t ideal = prompt_full + k * ((plen % bs + glen + bs - 1) / bs);
      uint32_t sep_ideal = k * ((plen + glen + bs - 1) / bs);
      bool once = sh <= ideal + (cases[i].beam ? k : 0);
      if (a->json)
        printf("%s{\"case\": \"%s\", \"samples\": %u, \"peak_blocks_shared\": %.0f, \"peak_blocks_separate\": %.0f, "
               "\"ideal_shared_blocks\": %u, \"separate_blocks_computed\": %u, \"saving\": %.4g, "
               "\"prompt_stored_once\": %s}",
               i ? ", " : "", cases[i].name, k, sh, sep, ideal, sep_ideal, sep > 0 ? 1 - sh / sep : 0,
               once ? "true" : "false");
      else
        printf("%-8s %13.0f %15.0f %9.0f%% %13u %16u %s\n", cases[i].name, sh, sep, sep > 0 ? 100 * (1 - sh / sep) : 0,
               ideal, sep_ideal, once ? "yes" : "no");
    }
    if (a->json) printf("]}\n");
    else
      printf("\npeak blocks sampled after every step; 'ideal shared' = %u prompt blocks once + per-sample tails "
             "(beam search may hold up to width extra blocks while beams fork)\n",
             prompt_full);
  }
  suite_free(&s);
  for (uint32_t i = 0; i < NC; i++) {
    wl_free(&shared[i]);
    wl_free(&separate[i]);
  }
  return rc;
}
