/*
 * kv_logits.c — build/kv-logits: how far a q8_0 KV cache moves a model's logits from an f16 one
 * (a measurement for docs/BENCHMARKS.md, not a test). The CPU reference (runtime/model/ref.c) runs
 * twice per prompt: with K/V rounded to f16 as they enter its cache (what an f16 pool holds) and
 * quantized to q8_0 (pv_ref_q8_round: what a q8_0 pool holds; the engine equals it token for
 * token, tests/engine/test_engine.c). The f16 run picks GEN tokens greedily; the q8_0 run is fed
 * the same tokens (teacher forcing) and at every step the |logit difference| over the vocabulary
 * gives its max and mean, and whether the top token is the same; a free q8_0 greedy run gives how
 * many of the GEN tokens equal the f16 run's and where they first differ.
 *   usage: kv-logits [--prompts N] [--prompt-len L] [--gen G] [--seed S] MODEL.gguf ...
 * One markdown table row per model.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/ref.h"

static uint64_t next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int step(pv_ref *r, int32_t tok, const float **logits) {
  pv_error err = {0};
  if (pv_ref_step(r, tok, logits, &err)) {
    fprintf(stderr, "kv-logits: %s\n", err.msg);
    return 1;
  }
  return 0;
}

static int run_model(const char *path, uint32_t n_prompts, uint32_t plen, uint32_t gen, uint64_t seed) {
  pv_error err = {0};
  pv_gguf_file *f = NULL;
  pv_ref *a = NULL, *b = NULL;
  if (pv_gguf_open(&f, path, &err) || pv_ref_create(&a, f, plen + gen + 1, &err) ||
      pv_ref_create(&b, f, plen + gen + 1, &err)) {
    fprintf(stderr, "kv-logits: %s: %s\n", path, err.msg);
    pv_ref_destroy(a);
    if (f) pv_gguf_close(f);
    return 1;
  }
  const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  if (a->hp.head_dim % 32) {
    printf("| %s | %u | - | - | - | - | - | (head size not a multiple of 32: no q8_0) |\n", name, a->hp.head_dim);
    pv_ref_destroy(a), pv_ref_destroy(b), pv_gguf_close(f);
    return 0;
  }
  a->kv_f16 = true;
  b->kv_q8 = true;
  const uint32_t nv = a->hp.n_vocab;
  int32_t *prompt = malloc(plen * sizeof *prompt), *want = malloc(gen * sizeof *want), *got = malloc(gen * sizeof *got);
  float *la = malloc((size_t)nv * sizeof *la);
  double dmax = 0, dsum = 0;
  uint64_t n_logits = 0, top_same = 0, steps = 0, free_same = 0, first_diff_sum = 0;
  int rc = !(prompt && want && got && la);
  for (uint32_t p = 0; p < n_prompts && !rc; p++) {
    uint64_t s = seed + p;
    prompt[0] = 1;
    for (uint32_t i = 1; i < plen; i++) prompt[i] = 3 + (int32_t)(next(&s) % (nv - 3));
    pv_ref_reset(a);
    pv_ref_reset(b);
    const float *lga = NULL, *lgb = NULL;
    for (uint32_t i = 0; i < plen && !rc; i++)
      rc = step(a, prompt[i], i + 1 == plen ? &lga : NULL) || step(b, prompt[i], i + 1 == plen ? &lgb : NULL);
    for (uint32_t k = 0; k < gen && !rc; k++) {
      memcpy(la, lga, (size_t)nv * sizeof *la);
      want[k] = (int32_t)pv_ref_argmax(la, nv);
      for (uint32_t v = 0; v < nv; v++) {
        const double d = fabs((double)la[v] - lgb[v]);
        dmax = d > dmax ? d : dmax;
        dsum += d;
      }
      n_logits += nv;
      top_same += pv_ref_argmax(lgb, nv) == (uint32_t)want[k];
      steps++;
      if (k + 1 < gen) rc = step(a, want[k], &lga) || step(b, want[k], &lgb);
    }
    if (rc) break;
    /* q8_0 on its own: greedy from the prompt */
    err = (pv_error){0};
    if (pv_ref_generate_greedy(b, prompt, plen, gen, got, &err)) {
      fprintf(stderr, "kv-logits: %s\n", err.msg);
      rc = 1;
      break;
    }
    uint32_t first = gen;
    for (uint32_t k = 0; k < gen; k++) {
      free_same += got[k] == want[k];
      if (got[k] != want[k] && first == gen) first = k;
    }
    first_diff_sum += first;
  }
  if (!rc)
    printf("| %s | %u | %u x %u+%u | %.4f | %.5f | %.2f%% | %.2f%% | %.1f |\n", name, a->hp.head_dim, n_prompts, plen, gen,
           dmax, dsum / (double)n_logits, 100.0 * (double)top_same / (double)steps,
           100.0 * (double)free_same / (double)(n_prompts * gen), (double)first_diff_sum / n_prompts);
  free(prompt), free(want), free(got), free(la);
  pv_ref_destroy(a), pv_ref_destroy(b), pv_gguf_close(f);
  return rc;
}

int main(int argc, char **argv) {
  uint32_t n_prompts = 4, plen = 32, gen = 256;
  uint64_t seed = 42;
  int i = 1, rc = 0;
  for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
    const unsigned long v = strtoul(argv[i + 1], NULL, 10);
    if (!strcmp(argv[i], "--prompts")) n_prompts = (uint32_t)v;
    else if (!strcmp(argv[i], "--prompt-len")) plen = (uint32_t)v;
    else if (!strcmp(argv[i], "--gen")) gen = (uint32_t)v;
    else if (!strcmp(argv[i], "--seed")) seed = v;
    else break;
  }
  if (i >= argc || !n_prompts || plen < 1 || !gen) {
    fprintf(stderr, "usage: kv-logits [--prompts N] [--prompt-len L] [--gen G] [--seed S] MODEL.gguf ...\n");
    return 2;
  }
  printf("| model | head | prompts x len+gen | max abs dlogit | mean abs dlogit | same top token (forced) | "
         "same greedy tokens | first greedy difference (mean step) |\n|---|---|---|---|---|---|---|---|\n");
  for (; i < argc; i++) rc |= run_model(argv[i], n_prompts, plen, gen, seed);
  return rc;
}
