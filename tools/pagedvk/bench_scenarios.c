/*
 * bench_scenarios.c — `pagedvk bench <scenario>`: end-to-end benchmark scenarios that drive the
 * engine through include/pagedvk.h only, plus the `make demo` showcase.
 *
 * Contract (for whoever wires the `bench` command):
 *   int cmd_bench_scenario(int argc, char **argv);
 *   argv[0] is the scenario name — mixed, concurrency, sharing, block-size, prefix, roofline or
 *   demo — and argv[1..argc) its options (the shared engine options of cli_opts.h plus the bench
 *   options below). It prints a readable table to stdout, or with --json one JSON object
 *   (scenario, model, parameters, per-configuration medians, ratios). Returns the exit status
 *   (0 ok, 1 failure, 2 usage). `pagedvk bench <scenario> --help` lists the options.
 *
 * Measurement rules:
 *   - every request of a scenario is queued at once (an offline burst) and the engine is stepped
 *     until idle; the clock runs from the first add_request to idle (model load excluded);
 *   - token timestamps come from the token callback: time to first token (TTFT) = first token
 *     event − submit time; inter-token latency (ITL) = gaps between consecutive token events of
 *     one sample; p50/p99 are nearest-rank percentiles over all requests;
 *   - KV utilization is sampled after every step that holds KV: paged = tokens stored ÷ slots of
 *     the blocks in use (the engine's kv_utilization); contiguous = tokens stored ÷ (running
 *     sequences × max_model_len), the slots that layout reserves; mean over steps and peak;
 *   - --runs R repeats every configuration R times, interleaved (run 1 of each, then run 2, …),
 *     and reports the median of each metric; ratios are computed within a run, then the median.
 *   - outputs use greedy decoding with ignore_eos, so lengths are exactly the workload's.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_opts.h"

/* ---- options ------------------------------------------------------------------------------ */

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

static bool parse_num(const char *s, double *out) {
  char *end;
  *out = strtod(s, &end);
  return *s && !*end;
}

/* ---- model facts (parsed from pagedvk_model_print_info, the public description) ----------- */

typedef struct model_facts {
  uint32_t n_layer, n_head, n_kv_head, head_dim, ctx, vocab;
  double decode_weight_bytes; /* bytes a decode step reads: every weight except the embedding table */
  double total_weight_bytes;
  uint64_t params;
} model_facts;

static double type_bytes_per_elem(const char *t) {
  static const struct { const char *name; double bpe; } T[] = {
      {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"Q8_0", 34.0 / 32}, {"Q4_0", 18.0 / 32}, {"Q4_1", 20.0 / 32},
      {"Q5_0", 22.0 / 32}, {"Q5_1", 24.0 / 32}, {"Q4_K", 144.0 / 256}, {"Q5_K", 176.0 / 256}, {"Q6_K", 210.0 / 256},
      {"Q8_K", 292.0 / 256}, {"Q2_K", 84.0 / 256}, {"Q3_K", 110.0 / 256}};
  for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
    if (!strcmp(t, T[i].name)) return T[i].bpe;
  return 2;
}

static int model_facts_load(const char *path, model_facts *f) {
  char err[512];
  memset(f, 0, sizeof *f);
  pagedvk_model *m = NULL;
  if (pagedvk_model_open(&m, path, err, sizeof err)) return cli_fail("%s", err);
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  if (!mem) {
    pagedvk_model_close(m);
    return cli_fail("out of memory");
  }
  pagedvk_model_print_info(m, mem);
  fclose(mem);
  f->vocab = (uint32_t)pagedvk_vocab_size(m);
  pagedvk_model_close(m);
  bool has_output = false;
  double embd_bytes = 0;
  for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
    unsigned a, b, c;
    unsigned long long d0, d1;
    char name[160], type[16];
    if (sscanf(line, "layers: %u", &a) == 1) f->n_layer = a;
    else if (sscanf(line, "heads: %u (kv heads %u, head size %u)", &a, &b, &c) == 3) {
      f->n_head = a;
      f->n_kv_head = b;
      f->head_dim = c;
    } else if (sscanf(line, "context: %u", &a) == 1) f->ctx = a;
    else if (sscanf(line, "parameters: %llu", &d0) == 1) f->params = d0;
    else if (line[0] == ' ' && line[1] == ' ') {
      int k = sscanf(line, " %159s %15s [%llu, %llu]", name, type, &d0, &d1);
      if (k < 3) continue;
      double elems = (double)d0 * (k == 4 ? (double)d1 : 1.0);
      double bytes = elems * type_bytes_per_elem(type);
      f->total_weight_bytes += bytes;
      if (!strcmp(name, "token_embd.weight")) embd_bytes = bytes;
      if (!strcmp(name, "output.weight")) has_output = true;
    }
  }
  free(buf);
  /* The embedding lookup reads one row per token; a tied model's output reads the whole table. */
  f->decode_weight_bytes = f->total_weight_bytes - (has_output ? embd_bytes : 0);
  if (!f->n_layer || !f->n_kv_head || !f->head_dim || !f->ctx)
    return cli_fail("%s: could not read the model's dimensions", path);
  return 0;
}

static uint64_t kv_bytes_per_token(const model_facts *f, const pagedvk_engine_options *eo) {
  return (uint64_t)f->n_layer * 2 * f->n_kv_head * f->head_dim * (eo->kv_f32 ? 4 : 2);
}

static uint32_t model_len(const model_facts *f, const pagedvk_engine_options *eo) {
  return eo->max_model_len && eo->max_model_len < f->ctx ? eo->max_model_len : f->ctx;
}

/* KV memory that holds k contiguous sequences (max_model_len slots each), plus the scheduler's
 * 1% watermark and a block of slack, so that exactly floor(k) of them are admitted. */
static uint64_t kv_mem_for_contiguous(const model_facts *f, const pagedvk_engine_options *eo, double k) {
  uint64_t bs = eo->block_size, per_seq = (model_len(f, eo) + bs - 1) / bs;
  uint64_t blocks = (uint64_t)ceil(k * (double)per_seq);
  blocks += blocks / 99 + 2;
  return blocks * bs * kv_bytes_per_token(f, eo);
}

/* ---- workloads ---------------------------------------------------------------------------- */

typedef struct wl_req {
  int32_t *prompt;
  uint32_t n_prompt, max_tokens, n, beam;
  float temperature;
} wl_req;

typedef struct workload {
  wl_req *r;
  uint32_t n;
} workload;

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s) { return ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0; }

static double rng_normal(uint64_t *s) {
  double u1 = rng_unit(s), u2 = rng_unit(s);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static uint32_t lognormal_len(uint64_t *s, double median, double sigma, uint32_t lo, uint32_t hi) {
  double v = median * exp(sigma * rng_normal(s));
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  return (uint32_t)(v + 0.5);
}

/* Ordinary (non-special) ids: above the byte-fallback range of small vocabularies. */
static int32_t rng_token(uint64_t *s, uint32_t vocab) {
  uint32_t lo = vocab > 2000 ? 1000 : vocab / 2;
  return (int32_t)(lo + rng_next(s) % (vocab - lo));
}

static wl_req *wl_add(workload *w, uint32_t n_prompt) {
  w->r = realloc(w->r, (w->n + 1) * sizeof *w->r);
  wl_req *q = &w->r[w->n++];
  memset(q, 0, sizeof *q);
  q->prompt = calloc(n_prompt, sizeof *q->prompt);
  q->n_prompt = n_prompt;
  q->n = 1;
  return q;
}

static void wl_free(workload *w) {
  for (uint32_t i = 0; i < w->n; i++) free(w->r[i].prompt);
  free(w->r);
  memset(w, 0, sizeof *w);
}

/* The long-tailed mix: prompt and output lengths log-normal (median, sigma), clipped, and the
 * total kept under max_model_len. */
static void wl_mixed(workload *w, const bench_args *a, const model_facts *f, uint32_t mml, uint32_t n) {
  uint64_t s = a->seed;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t p = lognormal_len(&s, a->prompt_median, a->sigma, a->min_len, a->max_len);
    uint32_t o = lognormal_len(&s, a->output_median, a->sigma, a->min_len, a->max_len);
    if (p + o > mml - 1) o = mml - 1 - p;
    wl_req *q = wl_add(w, p);
    for (uint32_t t = 0; t < p; t++) q->prompt[t] = rng_token(&s, f->vocab);
    q->max_tokens = o;
  }
}

static void wl_fixed(workload *w, const model_facts *f, uint64_t seed, uint32_t n, uint32_t prompt, uint32_t out) {
  uint64_t s = seed;
  for (uint32_t i = 0; i < n; i++) {
    wl_req *q = wl_add(w, prompt);
    for (uint32_t t = 0; t < prompt; t++) q->prompt[t] = rng_token(&s, f->vocab);
    q->max_tokens = out;
  }
}

static void wl_stats(const workload *w, double *mean_p, double *mean_o, uint32_t *max_p, uint32_t *max_o) {
  double sp = 0, so = 0;
  *max_p = *max_o = 0;
  for (uint32_t i = 0; i < w->n; i++) {
    sp += w->r[i].n_prompt;
    so += w->r[i].max_tokens;
    if (w->r[i].n_prompt > *max_p) *max_p = w->r[i].n_prompt;
    if (w->r[i].max_tokens > *max_o) *max_o = w->r[i].max_tokens;
  }
  *mean_p = w->n ? sp / w->n : 0;
  *mean_o = w->n ? so / w->n : 0;
}

/* ---- metrics ---------------------------------------------------------------------------------- */

enum {
  M_WALL, M_OUT_TOKENS, M_TOKS, M_PEAK_SEQS, M_UTIL_MEAN, M_UTIL_PEAK, M_RES_UTIL_MEAN, M_RES_UTIL_PEAK,
  M_TTFT50, M_TTFT99, M_ITL50, M_ITL99, M_PREEMPT, M_PEAK_BLOCKS, M_PROMPT_COMPUTED, M_PREFIX_HIT,
  M_STEPS, M_STEP_MS, M_WASTE_MEAN, M_SHARED_PEAK, M_BLOCKS_TOTAL, M_KV_MIB, M_PREFILL_S, M_DECODE_S,
  M_ATTN_PROMPT_MS, M_ATTN_DECODE_MS, M_COUNT
};
static const char *const M_NAMES[M_COUNT] = {
    "wall_s", "output_tokens", "output_tokens_per_s", "peak_concurrent_seqs", "kv_util_mean", "kv_util_peak",
    "kv_util_reserved_mean", "kv_util_reserved_peak", "ttft_p50_ms", "ttft_p99_ms", "itl_p50_ms", "itl_p99_ms",
    "preemptions", "peak_blocks_used", "prompt_tokens_computed", "prefix_cache_hit_tokens", "steps",
    "step_ms_mean", "waste_slots_mean", "peak_blocks_saved_by_sharing", "blocks_total", "kv_mib",
    "prefill_steps_s", "decode_steps_s", "attention_ms_per_prompt_step", "attention_ms_per_decode_step"};

typedef struct metrics {
  double v[M_COUNT];
} metrics;

typedef struct dvec {
  double *v;
  size_t n, cap;
} dvec;

static void dvec_push(dvec *d, double x) {
  if (d->n == d->cap) d->v = realloc(d->v, (d->cap = d->cap ? d->cap * 2 : 256) * sizeof *d->v);
  d->v[d->n++] = x;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile (sorts in place). */
static double percentile(double *v, size_t n, double p) {
  if (!n) return 0;
  qsort(v, n, sizeof *v, cmp_double);
  size_t k = (size_t)ceil(p / 100.0 * (double)n);
  return v[k ? k - 1 : 0];
}

static double median(double *v, size_t n) {
  if (!n) return 0;
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- running one configuration ------------------------------------------------------------ */

typedef struct req_track {
  double t_submit, t_first, t_last;
  uint32_t n_out;   /* tokens of sample 0 */
  uint32_t all_out; /* tokens of every sample */
  bool done;
  int status;
  struct run_ctx *ctx;
} req_track;

typedef struct run_ctx {
  dvec ttft, itl;
  uint64_t out_tokens, finished;
  int failed_status;
} run_ctx;

static void on_token(const pagedvk_token_event *ev, void *user) {
  req_track *t = user;
  double now = pagedvk_now_seconds();
  if (ev->token >= 0) {
    t->all_out++;
    t->ctx->out_tokens++;
    if (ev->index == 0) {
      if (t->n_out == 0) {
        t->t_first = now;
        dvec_push(&t->ctx->ttft, now - t->t_submit);
      } else {
        dvec_push(&t->ctx->itl, now - t->t_last);
      }
      t->t_last = now;
      t->n_out++;
    }
  }
  if (ev->finish != PAGEDVK_FINISH_NONE && ev->index == 0) {
    t->done = true;
    t->ctx->finished++;
    if (ev->status != PAGEDVK_OK) {
      t->status = ev->status;
      t->ctx->failed_status = ev->status;
    }
  }
}

typedef enum { PROGRESS_NONE, PROGRESS_BAR } progress_kind;

static void draw_progress(const run_ctx *c, uint32_t n_req, uint64_t total_tokens, double t0, bool final) {
  const int w = 30;
  int done = n_req ? (int)((double)c->finished / n_req * w + 0.5) : w;
  double dt = pagedvk_now_seconds() - t0;
  fprintf(stderr, "\r  [%.*s%*s] %3llu/%u requests  %6llu/%llu tokens  %6.1f tokens/s ", done,
          "##############################", w - done, "", (unsigned long long)c->finished, n_req,
          (unsigned long long)c->out_tokens, (unsigned long long)total_tokens, dt > 0 ? c->out_tokens / dt : 0.0);
  if (final) fputc('\n', stderr);
  fflush(stderr);
}

/* The attention stage's device time per step (engines created with kernel_times; else 0). */
static void attention_times(pagedvk_engine *e, metrics *m) {
  pagedvk_stage_time st[16];
  uint64_t prompt_steps = 0, decode_steps = 0;
  const uint32_t n = pagedvk_engine_stage_times(e, st, 16, &prompt_steps, &decode_steps);
  for (uint32_t i = 0; i < n && i < 16; i++) {
    if (strcmp(st[i].stage, "attention")) continue;
    m->v[M_ATTN_PROMPT_MS] = prompt_steps ? st[i].prompt_ms / (double)prompt_steps : 0;
    m->v[M_ATTN_DECODE_MS] = decode_steps ? st[i].decode_ms / (double)decode_steps : 0;
  }
}

/* Runs workload w on a fresh engine with options eo; fills m. Returns 0 or 1 (message printed). */
static int run_config(const pagedvk_engine_options *eo, const model_facts *f, const workload *w, metrics *m,
                      progress_kind prog) {
  char err[512];
  pagedvk_engine *e = NULL;
  memset(m, 0, sizeof *m);
  pagedvk_engine_options o = *eo;
  o.progress = NULL;
  if (pagedvk_engine_create(&e, &o, err, sizeof err)) return cli_fail("%s", err);
  const uint32_t mml = model_len(f, eo);
  run_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  req_track *tr = calloc(w->n, sizeof *tr);
  uint64_t total_tokens = 0;
  int rc = 0;
  double t0 = pagedvk_now_seconds();
  for (uint32_t i = 0; i < w->n && !rc; i++) {
    const wl_req *q = &w->r[i];
    pagedvk_sampling_params sp;
    pagedvk_sampling_params_default(&sp);
    sp.temperature = q->temperature;
    sp.seed = 1000 + i;
    sp.has_seed = 1;
    sp.max_tokens = q->max_tokens;
    sp.ignore_eos = 1;
    sp.n = q->n ? q->n : 1;
    sp.beam_width = q->beam;
    total_tokens += (uint64_t)q->max_tokens * sp.n;
    tr[i].ctx = &ctx;
    tr[i].t_submit = pagedvk_now_seconds();
    if (pagedvk_engine_add_request(e, q->prompt, q->n_prompt, &sp, on_token, &tr[i], NULL, err, sizeof err))
      rc = cli_fail("request %u (%u prompt tokens): %s", i, q->n_prompt, err);
  }
  double util_sum = 0, res_sum = 0, waste_sum = 0;
  uint64_t util_n = 0, res_n = 0;
  double last_draw = 0;
  const bool tty = isatty(2); /* redraw in place on a terminal; one final line otherwise */
  int step_rc = 1;
  while (!rc && step_rc > 0) {
    step_rc = pagedvk_engine_step(e, err, sizeof err);
    if (step_rc < 0) {
      rc = cli_fail("%s", err);
      break;
    }
    pagedvk_stats s;
    pagedvk_engine_stats(e, &s);
    if (s.blocks_used) {
      util_sum += s.kv_utilization;
      util_n++;
      if (s.kv_utilization > m->v[M_UTIL_PEAK]) m->v[M_UTIL_PEAK] = s.kv_utilization;
      waste_sum += (double)s.blocks_used * s.block_size - (double)s.tokens_stored;
    }
    if (s.requests_running) {
      double r = (double)s.tokens_stored / ((double)s.requests_running * mml);
      res_sum += r;
      res_n++;
      if (r > m->v[M_RES_UTIL_PEAK]) m->v[M_RES_UTIL_PEAK] = r;
    }
    if (s.blocks_used > m->v[M_PEAK_BLOCKS]) m->v[M_PEAK_BLOCKS] = s.blocks_used;
    if (s.blocks_saved_by_sharing > m->v[M_SHARED_PEAK]) m->v[M_SHARED_PEAK] = (double)s.blocks_saved_by_sharing;
    double now = pagedvk_now_seconds();
    if (prog == PROGRESS_BAR && tty && now - last_draw > 0.1) {
      draw_progress(&ctx, w->n, total_tokens, t0, false);
      last_draw = now;
    }
  }
  double wall = pagedvk_now_seconds() - t0;
  if (prog == PROGRESS_BAR) draw_progress(&ctx, w->n, total_tokens, t0, true);
  pagedvk_stats s;
  pagedvk_engine_stats(e, &s);
  if (!rc && ctx.failed_status) rc = cli_fail("a request ended with %s", pagedvk_status_str(ctx.failed_status));
  m->v[M_WALL] = wall;
  m->v[M_OUT_TOKENS] = (double)ctx.out_tokens;
  m->v[M_TOKS] = wall > 0 ? ctx.out_tokens / wall : 0;
  m->v[M_PEAK_SEQS] = s.peak_running;
  m->v[M_UTIL_MEAN] = util_n ? util_sum / util_n : 0;
  m->v[M_RES_UTIL_MEAN] = res_n ? res_sum / res_n : 0;
  m->v[M_WASTE_MEAN] = util_n ? waste_sum / util_n : 0;
  if (eo->kv_layout == PAGEDVK_KV_PAGED) { /* paged reserves exactly the blocks it uses */
    m->v[M_RES_UTIL_MEAN] = m->v[M_UTIL_MEAN];
    m->v[M_RES_UTIL_PEAK] = m->v[M_UTIL_PEAK];
  }
  m->v[M_TTFT50] = percentile(ctx.ttft.v, ctx.ttft.n, 50) * 1e3;
  m->v[M_TTFT99] = percentile(ctx.ttft.v, ctx.ttft.n, 99) * 1e3;
  m->v[M_ITL50] = percentile(ctx.itl.v, ctx.itl.n, 50) * 1e3;
  m->v[M_ITL99] = percentile(ctx.itl.v, ctx.itl.n, 99) * 1e3;
  m->v[M_PREEMPT] = (double)s.preemptions;
  m->v[M_PROMPT_COMPUTED] = (double)s.prompt_tokens;
  m->v[M_PREFIX_HIT] = (double)s.prefix_cache_hits;
  m->v[M_STEPS] = (double)s.steps;
  m->v[M_STEP_MS] = s.steps ? s.busy_seconds / s.steps * 1e3 : 0;
  m->v[M_PREFILL_S] = s.prefill_seconds; /* steps with prompt tokens (decodes ride along) */
  m->v[M_DECODE_S] = s.busy_seconds - s.prefill_seconds;
  m->v[M_BLOCKS_TOTAL] = s.blocks_total;
  m->v[M_KV_MIB] = s.kv_bytes / 1048576.0;
  attention_times(e, m);
  free(ctx.ttft.v);
  free(ctx.itl.v);
  free(tr);
  pagedvk_engine_destroy(e);
  return rc;
}

/* ---- configurations, repeated runs, medians ------------------------------------------------ */

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

static config *suite_add(suite *s, const char *label, const pagedvk_engine_options *eo, workload *w) {
  config *c = &s->c[s->n++];
  memset(c, 0, sizeof *c);
  snprintf(c->label, sizeof c->label, "%s", label);
  c->eo = *eo;
  c->w = w;
  c->runs = calloc(s->runs, sizeof *c->runs);
  return c;
}

static void suite_free(suite *s) {
  for (uint32_t i = 0; i < s->n; i++) free(s->c[i].runs);
}

/* Runs every configuration s->runs times, interleaved, and takes medians. */
/* Run r goes through the configurations starting at r % n: this shared machine has fast and slow
 * spells of a few seconds, and in a fixed order one spell kept landing on the same configuration
 * run after run (a block size 1.5x faster in every stage, a different one in each report). */
static int suite_run(suite *s, const model_facts *f, bool quiet) {
  for (uint32_t r = 0; r < s->runs; r++)
    for (uint32_t j = 0; j < s->n; j++) {
      const uint32_t i = (j + r) % s->n;
      if (!quiet) fprintf(stderr, "\r  run %u/%u: %-28s", r + 1, s->runs, s->c[i].label);
      if (run_config(&s->c[i].eo, f, s->c[i].w, &s->c[i].runs[r], PROGRESS_NONE)) return 1;
    }
  if (!quiet) fprintf(stderr, "\r%60s\r", "");
  double *tmp = calloc(s->runs, sizeof *tmp);
  for (uint32_t i = 0; i < s->n; i++)
    for (int k = 0; k < M_COUNT; k++) {
      for (uint32_t r = 0; r < s->runs; r++) tmp[r] = s->c[i].runs[r].v[k];
      s->c[i].med.v[k] = median(tmp, s->runs);
    }
  free(tmp);
  return 0;
}

/* Median over runs of a ratio a/b of metric k between two configurations. */
static double ratio_median(const suite *s, uint32_t a, uint32_t b, int k) {
  double *tmp = calloc(s->runs, sizeof *tmp);
  for (uint32_t r = 0; r < s->runs; r++) {
    double den = s->c[b].runs[r].v[k];
    tmp[r] = den > 0 ? s->c[a].runs[r].v[k] / den : 0;
  }
  double m = median(tmp, s->runs);
  free(tmp);
  return m;
}

/* ---- output --------------------------------------------------------------------------------- */

static void json_begin(const bench_args *a, const model_facts *f) {
  printf("{\"scenario\": ");
  cli_json_string(stdout, a->scenario, strlen(a->scenario));
  printf(", \"model\": ");
  cli_json_string(stdout, a->o.engine.model_path, strlen(a->o.engine.model_path));
  printf(", \"model_params\": %llu, \"n_layer\": %u, \"n_kv_head\": %u, \"head_dim\": %u, \"runs\": %u, \"seed\": %llu",
         (unsigned long long)f->params, f->n_layer, f->n_kv_head, f->head_dim, a->runs, (unsigned long long)a->seed);
}

static void json_configs(const suite *s) {
  printf(", \"configs\": [");
  for (uint32_t i = 0; i < s->n; i++) {
    const config *c = &s->c[i];
    printf("%s{\"label\": ", i ? ", " : "");
    cli_json_string(stdout, c->label, strlen(c->label));
    printf(", \"kv_layout\": \"%s\", \"block_size\": %u, \"max_num_seqs\": %u, \"prefix_cache\": %d, \"requests\": %u",
           c->eo.kv_layout == PAGEDVK_KV_CONTIGUOUS ? "contiguous" : "paged", c->eo.block_size, c->eo.max_num_seqs,
           c->eo.prefix_cache, c->w->n);
    for (int k = 0; k < M_COUNT; k++) printf(", \"%s\": %.6g", M_NAMES[k], c->med.v[k]);
    printf("}");
  }
  printf("]");
}

static void print_workload(const bench_args *a, const workload *w, uint32_t mml, uint64_t kv_mem, const char *dist) {
  double mp, mo;
  uint32_t xp, xo;
  wl_stats(w, &mp, &mo, &xp, &xo);
  printf("workload: %u requests (%s), prompt mean %.0f (max %u), output mean %.0f (max %u) tokens; "
         "max_model_len %u; KV pool %.1f MiB; %u run%s, medians\n",
         w->n, dist, mp, xp, mo, xo, mml, kv_mem / 1048576.0, a->runs, a->runs == 1 ? "" : "s");
}

/* ---- scenarios ------------------------------------------------------------------------------ */

static void default_kv_mem(bench_args *a, const model_facts *f, double contig_seqs) {
  if (!a->kv_mem_given) a->o.engine.kv_mem = kv_mem_for_contiguous(f, &a->o.engine, contig_seqs);
}

static int sc_mixed(bench_args *a, const model_facts *f) {
  uint32_t n = a->requests ? a->requests : 64, mml = model_len(f, &a->o.engine);
  default_kv_mem(a, f, a->contig_seqs);
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
    double rp = ratio_median(&s, 0, 1, M_PEAK_SEQS), rt = ratio_median(&s, 0, 1, M_TOKS);
    char dist[160];
    snprintf(dist, sizeof dist, "seed %llu; lengths log-normal, medians %.0f/%.0f, sigma %.2f, clipped to [%u, %u]",
             (unsigned long long)a->seed, a->prompt_median, a->output_median, a->sigma, a->min_len, a->max_len);
    if (a->json) {
      json_begin(a, f);
      printf(", \"distribution\": ");
      cli_json_string(stdout, dist, strlen(dist));
      printf(", \"kv_mem\": %llu, \"max_model_len\": %u", (unsigned long long)a->o.engine.kv_mem, mml);
      json_configs(&s);
      printf(", \"ratio_peak_seqs\": %.4g, \"ratio_tokens_per_s\": %.4g}\n", rp, rt);
    } else {
      print_workload(a, &w, mml, a->o.engine.kv_mem, dist);
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

static int sc_concurrency(bench_args *a, const model_facts *f) {
  uint32_t mml = model_len(f, &a->o.engine);
  uint32_t plen = a->prompt_len ? a->prompt_len : 32, glen = a->gen_len ? a->gen_len : 32;
  uint32_t max_c = a->max_conc ? a->max_conc : 128;
  workload ws[MAX_CONFIGS];
  suite s = {.runs = a->runs};
  uint32_t nc = 0;
  for (uint32_t c = 1; c <= max_c && nc < MAX_CONFIGS; c *= 2, nc++) {
    /* Enough requests to keep c sequences busy for a while: 2c, at least 8 (or --requests). */
    uint32_t n = a->requests ? a->requests : (2 * c > 8 ? 2 * c : 8);
    if (n < c) n = c;
    memset(&ws[nc], 0, sizeof ws[nc]);
    wl_fixed(&ws[nc], f, a->seed, n, plen, glen);
    pagedvk_engine_options eo = a->o.engine;
    eo.max_num_seqs = c;
    if (!a->kv_mem_given) { /* room for every running sequence: memory is not the limit here */
      uint64_t bs = eo.block_size, per = (plen + glen + bs - 1) / bs + 1;
      eo.kv_mem = ((uint64_t)c * per + c / 50 + 4) * bs * kv_bytes_per_token(f, &eo) * 102 / 100 + bs * kv_bytes_per_token(f, &eo);
    }
    if (eo.max_num_batched_tokens < c) eo.max_num_batched_tokens = c;
    char label[32];
    snprintf(label, sizeof label, "max-num-seqs %u", c);
    suite_add(&s, label, &eo, &ws[nc]);
  }
  int rc = suite_run(&s, f, a->o.quiet || a->json);
  if (!rc) {
    if (a->json) {
      json_begin(a, f);
      printf(", \"prompt_len\": %u, \"output_len\": %u, \"max_model_len\": %u", plen, glen, mml);
      json_configs(&s);
      printf("}\n");
    } else {
      printf("workload: per point max(2c, 8) requests, prompt %u and output %u tokens each (seed %llu); "
             "paged KV sized so memory never limits; %u run%s, medians\n\n",
             plen, glen, (unsigned long long)a->seed, a->runs, a->runs == 1 ? "" : "s");
      printf("%14s %9s %9s %10s %9s %9s %10s\n", "max-num-seqs", "requests", "peak", "tok/s", "ITL p50", "step ms",
             "vs c=1");
      for (uint32_t i = 0; i < s.n; i++) {
        const double *v = s.c[i].med.v;
        printf("%14u %9u %9.0f %10.1f %7.1fms %9.2f %9.2fx\n", s.c[i].eo.max_num_seqs, s.c[i].w->n, v[M_PEAK_SEQS],
               v[M_TOKS], v[M_ITL50], v[M_STEP_MS], ratio_median(&s, i, 0, M_TOKS));
      }
    }
  }
  suite_free(&s);
  for (uint32_t i = 0; i < nc; i++) wl_free(&ws[i]);
  return rc;
}

static int sc_sharing(bench_args *a, const model_facts *f) {
  uint32_t mml = model_len(f, &a->o.engine);
  uint32_t plen = a->prompt_len ? a->prompt_len : 200, glen = a->gen_len ? a->gen_len : 32;
  if (plen + glen >= mml) return cli_fail("sharing: prompt + output must be below max_model_len %u", mml);
  const uint32_t bs = a->o.engine.block_size;
  if (!a->kv_mem_given) {
    uint64_t blocks = 8 * ((plen + glen + bs - 1) / bs + 1) * 2 + 16;
    a->o.engine.kv_mem = blocks * bs * kv_bytes_per_token(f, &a->o.engine);
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
      json_begin(a, f);
      printf(", \"prompt_len\": %u, \"output_len\": %u, \"block_size\": %u", plen, glen, bs);
      json_configs(&s);
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

static int sc_block_size(bench_args *a, const model_facts *f) {
  uint32_t n = a->requests ? a->requests : 64, mml = model_len(f, &a->o.engine);
  workload w = {0};
  wl_mixed(&w, a, f, mml, n);
  suite s = {.runs = a->runs};
  static const uint32_t sizes[] = {8, 16, 32, 64};
  /* The same KV memory for every block size: by default the pool of the mixed scenario at 16. */
  if (!a->kv_mem_given) {
    pagedvk_engine_options t = a->o.engine;
    t.block_size = 64;
    a->o.engine.kv_mem = kv_mem_for_contiguous(f, &t, a->contig_seqs);
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
      json_begin(a, f);
      printf(", \"distribution\": ");
      cli_json_string(stdout, dist, strlen(dist));
      printf(", \"kv_mem\": %llu", (unsigned long long)a->o.engine.kv_mem);
      json_configs(&s);
      printf("}\n");
    } else {
      print_workload(a, &w, mml, a->o.engine.kv_mem, dist);
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

static int sc_prefix(bench_args *a, const model_facts *f) {
  uint32_t n = a->requests ? a->requests : 64, mml = model_len(f, &a->o.engine);
  uint32_t plen = a->prefix_len ? a->prefix_len : 1000, glen = a->gen_len ? a->gen_len : 16;
  uint64_t s0 = a->seed;
  int32_t *sys = calloc(plen, sizeof *sys);
  for (uint32_t t = 0; t < plen; t++) sys[t] = rng_token(&s0, f->vocab);
  workload w = {0};
  for (uint32_t i = 0; i < n; i++) {
    uint32_t tail = 16 + (uint32_t)(rng_next(&s0) % 33); /* 16..48 tokens of user question */
    if (plen + tail + glen >= mml) return cli_fail("prefix: %u + %u + %u tokens exceed max_model_len %u", plen, tail, glen, mml);
    wl_req *q = wl_add(&w, plen + tail);
    memcpy(q->prompt, sys, plen * sizeof *sys);
    for (uint32_t t = 0; t < tail; t++) q->prompt[plen + t] = rng_token(&s0, f->vocab);
    q->max_tokens = glen;
  }
  free(sys);
  if (!a->kv_mem_given) { /* every request fits at once even without sharing */
    uint64_t bs = a->o.engine.block_size, per = (plen + 48 + glen + bs - 1) / bs + 1;
    a->o.engine.kv_mem = ((uint64_t)n * per * 102 / 100 + 8) * bs * kv_bytes_per_token(f, &a->o.engine);
  }
  suite s = {.runs = a->runs};
  pagedvk_engine_options on = a->o.engine, off = a->o.engine;
  on.prefix_cache = 1;
  off.prefix_cache = 0;
  suite_add(&s, "prefix cache on", &on, &w);
  suite_add(&s, "prefix cache off", &off, &w);
  int rc = suite_run(&s, f, a->o.quiet || a->json);
  if (!rc) {
    double rt = ratio_median(&s, 1, 0, M_TTFT50), rp = ratio_median(&s, 1, 0, M_PROMPT_COMPUTED);
    if (a->json) {
      json_begin(a, f);
      printf(", \"system_prompt_len\": %u, \"output_len\": %u, \"kv_mem\": %llu", plen, glen,
             (unsigned long long)a->o.engine.kv_mem);
      json_configs(&s);
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

static double host_copy_gbs(size_t bytes, int threads) {
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
    pthread_t th[16];
    copy_job jobs[16];
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

static int sc_roofline(bench_args *a, const model_facts *f) {
  uint32_t plen = a->prompt_len ? a->prompt_len : 16, glen = a->gen_len ? a->gen_len : 64;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  int threads = ncpu < 1 ? 1 : ncpu > 16 ? 16 : (int)ncpu;
  workload w = {0};
  wl_fixed(&w, f, a->seed, 1, plen, glen);
  if (!a->kv_mem_given) a->o.engine.kv_mem = kv_mem_for_contiguous(f, &a->o.engine, 1.0);
  pagedvk_engine_options eo = a->o.engine;
  eo.max_num_seqs = 1;
  suite s = {.runs = a->runs};
  suite_add(&s, "batch 1", &eo, &w);
  int rc = suite_run(&s, f, a->o.quiet || a->json);
  double *bw = calloc(a->runs, sizeof *bw);
  for (uint32_t r = 0; r < a->runs && !rc; r++) bw[r] = host_copy_gbs((size_t)256 << 20, threads);
  double gbs = median(bw, a->runs);
  free(bw);
  if (!rc) {
    const double *v = s.c[0].med.v;
    double bound_ms = gbs > 0 ? f->decode_weight_bytes / (gbs * 1e9) * 1e3 : 0;
    double ratio = bound_ms > 0 ? v[M_ITL50] / bound_ms : 0;
    if (a->json) {
      json_begin(a, f);
      printf(", \"decode_weight_bytes\": %.0f, \"copy_gb_per_s\": %.4g, \"copy_threads\": %d, \"bound_ms\": %.4g, "
             "\"decode_ms_per_token\": %.4g, \"ratio_to_bound\": %.4g",
             f->decode_weight_bytes, gbs, threads, bound_ms, v[M_ITL50], ratio);
      json_configs(&s);
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

/* The `make demo` showcase: a burst of mixed requests with a progress bar, then what paging bought. */
static int sc_demo(bench_args *a, const model_facts *f) {
  uint32_t n = a->requests ? a->requests : 64, mml = model_len(f, &a->o.engine);
  default_kv_mem(a, f, a->contig_seqs);
  workload w = {0};
  wl_mixed(&w, a, f, mml, n);
  double mp, mo;
  uint32_t xp, xo;
  wl_stats(&w, &mp, &mo, &xp, &xo);
  const uint64_t per_tok = kv_bytes_per_token(f, &a->o.engine);
  printf("burst of %u concurrent requests: prompts %.0f tokens on average (longest %u), outputs %.0f (longest %u)\n", n,
         mp, xp, mo, xo);
  printf("KV pool %.1f MiB, block size %u, max_model_len %u, up to %u sequences per step\n\n",
         a->o.engine.kv_mem / 1048576.0, a->o.engine.block_size, mml, a->o.engine.max_num_seqs);
  fflush(stdout);
  metrics m;
  int rc = run_config(&a->o.engine, f, &w, &m, PROGRESS_BAR);
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

/* ---- the command ---------------------------------------------------------------------------- */

typedef struct scenario {
  const char *name;
  int (*run)(bench_args *a, const model_facts *f);
  const char *help;
} scenario;

static const scenario SCENARIOS[] = {
    {"mixed", sc_mixed, "long-tailed workload, paged vs contiguous KV at the same --kv-mem"},
    {"concurrency", sc_concurrency, "output tokens/s at --max-num-seqs 1, 2, 4, ... --max-concurrency"},
    {"sharing", sc_sharing, "parallel sampling n=2,4,8 and beam 4: KV blocks shared vs separate requests"},
    {"block-size", sc_block_size, "block size 8/16/32/64 on the mixed workload: attention time and slot waste"},
    {"prefix", sc_prefix, "requests sharing a long system prompt: prefix cache on vs off"},
    {"roofline", sc_roofline, "decode time per token at batch 1 vs weight bytes / copy bandwidth"},
    {"demo", sc_demo, "the make demo showcase: a burst of 64 mixed requests with a progress bar"},
};

static void help(FILE *out) {
  fprintf(out, "usage: pagedvk bench <scenario> -m MODEL [options]\n\nscenarios:\n");
  for (size_t i = 0; i < sizeof SCENARIOS / sizeof SCENARIOS[0]; i++)
    fprintf(out, "  %-12s %s\n", SCENARIOS[i].name, SCENARIOS[i].help);
  fprintf(out,
          "\nbench options:\n"
          "  --json                   one JSON object instead of the table\n"
          "  --runs R                 repeat each configuration R times, report medians (default 1)\n"
          "  --requests N             requests (mixed, block-size, prefix, demo: default 64)\n"
          "  --seed S                 workload seed (default 42)\n"
          "  --prompt-median L, --output-median L, --sigma S\n"
          "                           log-normal lengths of the mixed workload (default 96, 64, 0.8)\n"
          "  --min-len L, --max-len L clip lengths to [L, L] (default 8, 1024)\n"
          "  --contig-seqs K          default --kv-mem: room for K contiguous sequences (default 4)\n"
          "  --max-concurrency C      concurrency: largest max-num-seqs (default 128)\n"
          "  --prefix-len L           prefix: system prompt tokens (default 1000)\n"
          "  --prompt-len L, --gen-len L  fixed prompt / output lengths (sharing, concurrency, roofline, prefix)\n\n");
  cli_opts_help(out);
}

int cmd_bench_scenario(int argc, char **argv) {
  if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
    help(stdout);
    return argc < 1 ? 2 : 0;
  }
  const scenario *sc = NULL;
  for (size_t i = 0; i < sizeof SCENARIOS / sizeof SCENARIOS[0]; i++)
    if (!strcmp(argv[0], SCENARIOS[i].name)) sc = &SCENARIOS[i];
  if (!sc) {
    cli_fail("bench: unknown scenario '%s'", argv[0]);
    help(stderr);
    return 2;
  }
  bench_args a;
  memset(&a, 0, sizeof a);
  cli_opts_default(&a.o);
  a.scenario = sc->name;
  a.runs = 1;
  a.seed = 42;
  a.prompt_median = 96;
  a.output_median = 64;
  a.sigma = 0.8;
  a.min_len = 8;
  a.max_len = 1024;
  a.contig_seqs = 4;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *v;
    double d;
#define NUM_OPT(flag, dst, lo)                                                              \
  if (!strcmp(arg, flag) || (!strncmp(arg, flag "=", strlen(flag) + 1))) {                  \
    if (!(v = cli_arg_value(argc, argv, &i)) || !parse_num(v, &d) || d < (lo))              \
      return cli_fail("bad value for %s", flag), 2;                                         \
    dst = d;                                                                                \
    continue;                                                                               \
  }
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      help(stdout);
      return 0;
    }
    if (!strcmp(arg, "--json")) {
      a.json = true;
      continue;
    }
    NUM_OPT("--runs", a.runs, 1)
    NUM_OPT("--requests", a.requests, 1)
    NUM_OPT("--seed", a.seed, 0)
    NUM_OPT("--prompt-median", a.prompt_median, 1)
    NUM_OPT("--output-median", a.output_median, 1)
    NUM_OPT("--sigma", a.sigma, 0)
    NUM_OPT("--min-len", a.min_len, 1)
    NUM_OPT("--max-len", a.max_len, 1)
    NUM_OPT("--contig-seqs", a.contig_seqs, 1)
    NUM_OPT("--max-concurrency", a.max_conc, 1)
    NUM_OPT("--prefix-len", a.prefix_len, 1)
    NUM_OPT("--prompt-len", a.prompt_len, 1)
    NUM_OPT("--gen-len", a.gen_len, 1)
#undef NUM_OPT
    if (!strncmp(arg, "--kv-mem", 8)) a.kv_mem_given = true;
    int rc = cli_opts_parse(&a.o, argc, argv, &i);
    if (rc < 0) return 2;
    if (rc == 0) return cli_fail("bench %s: unknown option '%s' (see --help)", sc->name, arg), 2;
  }
  if (!a.o.engine.model_path) return cli_fail("bench %s needs -m MODEL.gguf", sc->name), 2;
  if (a.min_len > a.max_len) return cli_fail("--min-len is above --max-len"), 2;
  model_facts f;
  if (model_facts_load(a.o.engine.model_path, &f)) return 1;
  a.o.engine.max_model_len = model_len(&f, &a.o.engine);
  return sc->run(&a, &f) ? 1 : 0;
}
