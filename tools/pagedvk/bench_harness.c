/*
 * bench_harness.c — the run loop the scenarios share: one configuration (engine options and a
 * workload) on a fresh engine, timed from the token callback; suites of configurations repeated
 * and interleaved, with medians; the JSON and table pieces every scenario prints.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* ---- metrics ---------------------------------------------------------------------------------- */

static const char *const M_NAMES[M_COUNT] = {
    "wall_s", "output_tokens", "output_tokens_per_s", "peak_concurrent_seqs", "kv_util_mean", "kv_util_peak",
    "kv_util_reserved_mean", "kv_util_reserved_peak", "ttft_p50_ms", "ttft_p99_ms", "itl_p50_ms", "itl_p99_ms",
    "preemptions", "peak_blocks_used", "prompt_tokens_computed", "prefix_cache_hit_tokens", "steps",
    "step_ms_mean", "waste_slots_mean", "peak_blocks_saved_by_sharing", "blocks_total", "kv_mib",
    "prefill_steps_s", "decode_steps_s", "attention_ms_per_prompt_step", "attention_ms_per_decode_step"};

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

double bench_median(double *v, size_t n) {
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
  uint64_t prompt_steps = 0, decode_steps = 0;
  const uint32_t stages = pagedvk_engine_stage_times(e, NULL, 0, NULL, NULL); /* how many there are */
  pagedvk_stage_time *st = stages ? calloc(stages, sizeof *st) : NULL;
  if (!st) return;
  const uint32_t got = pagedvk_engine_stage_times(e, st, stages, &prompt_steps, &decode_steps);
  const uint32_t n = got < stages ? got : stages;
  for (uint32_t i = 0; i < n; i++) {
    if (strcmp(st[i].stage, "attention")) continue;
    m->v[M_ATTN_PROMPT_MS] = prompt_steps ? st[i].prompt_ms / (double)prompt_steps : 0;
    m->v[M_ATTN_DECODE_MS] = decode_steps ? st[i].decode_ms / (double)decode_steps : 0;
  }
  free(st);
}

/* Runs workload w on a fresh engine with options eo; fills m. Returns 0 or 1 (message printed). */
int bench_run_config(const pagedvk_engine_options *eo, const model_facts *f, const workload *w, metrics *m,
                      progress_kind prog) {
  char err[512];
  pagedvk_engine *e = NULL;
  memset(m, 0, sizeof *m);
  pagedvk_engine_options o = *eo;
  o.progress = NULL;
  if (pagedvk_engine_create(&e, &o, err, sizeof err)) return cli_fail("%s", err);
  const uint32_t mml = bench_model_len(f, eo);
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
    sp.grammar_kind = q->grammar_kind;
    sp.grammar = q->grammar;
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
  m->v[M_PEAK_KV_MIB] = s.peak_kv_bytes_used / 1048576.0;
  attention_times(e, m);
  free(ctx.ttft.v);
  free(ctx.itl.v);
  free(tr);
  pagedvk_engine_destroy(e);
  return rc;
}

/* ---- configurations, repeated runs, medians ------------------------------------------------ */

config *suite_add(suite *s, const char *label, const pagedvk_engine_options *eo, workload *w) {
  config *c = &s->c[s->n++];
  memset(c, 0, sizeof *c);
  snprintf(c->label, sizeof c->label, "%s", label);
  c->eo = *eo;
  c->w = w;
  c->runs = calloc(s->runs, sizeof *c->runs);
  return c;
}

void suite_free(suite *s) {
  for (uint32_t i = 0; i < s->n; i++) free(s->c[i].runs);
}

/* Runs every configuration s->runs times, interleaved, and takes medians. */
/* Run r goes through the configurations starting at r % n: this shared machine has fast and slow
 * spells of a few seconds, and in a fixed order one spell kept landing on the same configuration
 * run after run (a block size 1.5x faster in every stage, a different one in each report). */
int suite_run(suite *s, const model_facts *f, bool quiet) {
  for (uint32_t r = 0; r < s->runs; r++)
    for (uint32_t j = 0; j < s->n; j++) {
      const uint32_t i = (j + r) % s->n;
      if (!quiet) fprintf(stderr, "\r  run %u/%u: %-28s", r + 1, s->runs, s->c[i].label);
      if (bench_run_config(&s->c[i].eo, f, s->c[i].w, &s->c[i].runs[r], PROGRESS_NONE)) return 1;
    }
  if (!quiet) fprintf(stderr, "\r%60s\r", "");
  double *tmp = calloc(s->runs, sizeof *tmp);
  for (uint32_t i = 0; i < s->n; i++)
    for (int k = 0; k < M_COUNT; k++) {
      for (uint32_t r = 0; r < s->runs; r++) tmp[r] = s->c[i].runs[r].v[k];
      s->c[i].med.v[k] = bench_median(tmp, s->runs);
    }
  free(tmp);
  return 0;
}

/* Median over runs of a ratio a/b of metric k between two configurations. */
double suite_ratio_median(const suite *s, uint32_t a, uint32_t b, int k) {
  double *tmp = calloc(s->runs, sizeof *tmp);
  for (uint32_t r = 0; r < s->runs; r++) {
    double den = s->c[b].runs[r].v[k];
    tmp[r] = den > 0 ? s->c[a].runs[r].v[k] / den : 0;
  }
  double m = bench_median(tmp, s->runs);
  free(tmp);
  return m;
}

/* ---- output --------------------------------------------------------------------------------- */

void bench_json_begin(const bench_args *a, const model_facts *f) {
  printf("{\"scenario\": ");
  cli_json_string(stdout, a->scenario, strlen(a->scenario));
  printf(", \"model\": ");
  cli_json_string(stdout, a->o.engine.model_path, strlen(a->o.engine.model_path));
  printf(", \"model_params\": %llu, \"n_layer\": %u, \"n_kv_head\": %u, \"head_dim\": %u, \"runs\": %u, \"seed\": %llu",
         (unsigned long long)f->params, f->n_layer, f->n_kv_head, f->head_dim, a->runs, (unsigned long long)a->seed);
}

void bench_json_configs(const suite *s) {
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

void bench_print_workload(const bench_args *a, const workload *w, uint32_t mml, uint64_t kv_mem, const char *dist) {
  double mp, mo;
  uint32_t xp, xo;
  wl_stats(w, &mp, &mo, &xp, &xo);
  printf("workload: %u requests (%s), prompt mean %.0f (max %u), output mean %.0f (max %u) tokens; "
         "max_model_len %u; KV pool %.1f MiB; %u run%s, medians\n",
         w->n, dist, mp, xp, mo, xo, mml, kv_mem / 1048576.0, a->runs, a->runs == 1 ? "" : "s");
}
