/*
 * bench.h — what the `pagedvk bench <scenario>` files share: the parsed options, the model facts,
 * workloads, metrics, the run loop and suites of configurations (bench_harness.c), and one entry
 * point per scenario. Like the rest of tools/pagedvk, it uses only include/pagedvk.h.
 */
#ifndef PV_CLI_BENCH_H
#define PV_CLI_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "cli_opts.h"

/* ---- options (bench_scenarios.c) -------------------------------------------------------------- */

typedef struct bench_args {
  cli_opts o;
  const char *scenario;
  bool json;
  uint32_t runs;
  uint32_t requests;     /* 0: the scenario's default */
  uint64_t seed;
  double prompt_median, output_median, sigma;
  uint32_t min_len, max_len;
  double contig_seqs;    /* --kv-mem default: this many contiguous sequences' worth */
  uint32_t max_conc;     /* concurrency: largest max-num-seqs */
  uint32_t prefix_len;   /* prefix: shared system prompt tokens */
  uint32_t prompt_len, gen_len; /* sharing, concurrency, roofline: fixed lengths */
  bool kv_mem_given, bs_given, seqs_given;
} bench_args;

/* ---- model facts (bench_model.c, from pagedvk_model_describe) ---------------------------------- */

typedef struct model_facts {
  uint32_t n_layer, n_head, n_kv_head, head_dim, ctx, vocab;
  double decode_weight_bytes; /* bytes a decode step reads: every weight except the embedding table */
  double total_weight_bytes;
  uint64_t params;
} model_facts;

int bench_model_load(const char *path, model_facts *f);
uint64_t bench_kv_bytes_per_token(const model_facts *f, const pagedvk_engine_options *eo);
/* max_model_len: the engine option when set and below the model's context, else the context. */
uint32_t bench_model_len(const model_facts *f, const pagedvk_engine_options *eo);
/* KV memory that holds k contiguous sequences (max_model_len slots each), plus the scheduler's
 * 1% watermark and a block of slack, so that exactly floor(k) of them are admitted. */
uint64_t bench_kv_mem_for_contiguous(const model_facts *f, const pagedvk_engine_options *eo, double k);
/* --kv-mem unless given: room for contig_seqs contiguous sequences. */
void bench_default_kv_mem(bench_args *a, const model_facts *f, double contig_seqs);

/* ---- workloads (bench_workload.c) --------------------------------------------------------------- */

typedef struct wl_req {
  int32_t *prompt;
  uint32_t n_prompt, max_tokens, n, beam;
  float temperature;
  int grammar_kind;    /* pagedvk_grammar_kind; 0: none */
  const char *grammar; /* its text (NUL-terminated), not owned */
} wl_req;

typedef struct workload {
  wl_req *r;
  uint32_t n;
} workload;

uint64_t bench_rng_next(uint64_t *s); /* splitmix64 */
/* Ordinary (non-special) ids: above the byte-fallback range of small vocabularies. */
int32_t bench_rng_token(uint64_t *s, uint32_t vocab);
/* Appends a request with room for n_prompt prompt tokens (zeroed), one sample. */
wl_req *wl_add(workload *w, uint32_t n_prompt);
void wl_free(workload *w);
/* The long-tailed mix: prompt and output lengths log-normal (median, sigma), clipped, and the
 * total kept under max_model_len. */
void wl_mixed(workload *w, const bench_args *a, const model_facts *f, uint32_t mml, uint32_t n);
/* n requests of `prompt` random tokens and `out` output tokens. */
void wl_fixed(workload *w, const model_facts *f, uint64_t seed, uint32_t n, uint32_t prompt, uint32_t out);
void wl_stats(const workload *w, double *mean_p, double *mean_o, uint32_t *max_p, uint32_t *max_o);

/* ---- metrics, runs, suites (bench_harness.c) ------------------------------------------------- */

enum {
  M_WALL, M_OUT_TOKENS, M_TOKS, M_PEAK_SEQS, M_UTIL_MEAN, M_UTIL_PEAK, M_RES_UTIL_MEAN, M_RES_UTIL_PEAK,
  M_TTFT50, M_TTFT99, M_ITL50, M_ITL99, M_PREEMPT, M_PEAK_BLOCKS, M_PROMPT_COMPUTED, M_PREFIX_HIT,
  M_STEPS, M_STEP_MS, M_WASTE_MEAN, M_SHARED_PEAK, M_BLOCKS_TOTAL, M_KV_MIB, M_PREFILL_S, M_DECODE_S,
  M_ATTN_PROMPT_MS, M_ATTN_DECODE_MS, M_PEAK_KV_MIB, M_COUNT
};

typedef struct metrics {
  double v[M_COUNT];
} metrics;

typedef enum { PROGRESS_NONE, PROGRESS_BAR } progress_kind;

/* Median (sorts v in place; 0 for n = 0). */
double bench_median(double *v, size_t n);
/* Runs workload w on a fresh engine with options eo; fills m. Returns 0 or 1 (message printed). */
int bench_run_config(const pagedvk_engine_options *eo, const model_facts *f, const workload *w, metrics *m,
                     progress_kind prog);

/* Configurations in one suite: every scenario adds a fixed few (block-size adds 4), except
 * concurrency, which refuses a --max-concurrency that would need more than this. */
#define MAX_CONFIGS 16

typedef struct config {
  char label[64];
  pagedvk_engine_options eo;
  workload *w;
  metrics *runs; /* [n_runs] */
  metrics med;
} config;

typedef struct suite {
  config c[MAX_CONFIGS];
  uint32_t n;
  uint32_t runs;
} suite;

config *suite_add(suite *s, const char *label, const pagedvk_engine_options *eo, workload *w);
void suite_free(suite *s);
/* Runs every configuration s->runs times, interleaved, and takes medians. */
int suite_run(suite *s, const model_facts *f, bool quiet);
/* Median over runs of a ratio a/b of metric k between two configurations. */
double suite_ratio_median(const suite *s, uint32_t a, uint32_t b, int k);

/* JSON: the object's opening fields (scenario, model, shape, runs, seed), then "configs". */
void bench_json_begin(const bench_args *a, const model_facts *f);
void bench_json_configs(const suite *s);
/* The table's workload line. */
void bench_print_workload(const bench_args *a, const workload *w, uint32_t mml, uint64_t kv_mem, const char *dist);

/* ---- scenarios (one file each): 0 ok, 1 failure (message printed) -------------------------------- */

int bench_mixed(bench_args *a, const model_facts *f);
int bench_concurrency(bench_args *a, const model_facts *f);
int bench_sharing(bench_args *a, const model_facts *f);
int bench_block_size(bench_args *a, const model_facts *f);
int bench_kv_type(bench_args *a, const model_facts *f);
int bench_prefix(bench_args *a, const model_facts *f);
int bench_window(bench_args *a, const model_facts *f);
int bench_roofline(bench_args *a, const model_facts *f);
int bench_demo(bench_args *a, const model_facts *f);
int bench_grammar(bench_args *a, const model_facts *f);

#endif /* PV_CLI_BENCH_H */
