/*
 * metrics.c — the server's own counters and latency histograms, and GET /metrics: the engine's
 * stats snapshot plus these, in the Prometheus text format (version 0.0.4).
 *
 * Histograms are cumulative as Prometheus wants them only when rendered; in memory each bucket
 * counts its own observations. Everything is under one mutex held for a few additions or one
 * render into memory — never while writing to a socket.
 */
#include <stdio.h>
#include <string.h>

#include "server_internal.h"

static const double TTFT_BOUNDS[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80};
static const double TPOT_BOUNDS[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5};
static const double E2E_BOUNDS[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320};
static const double QUEUE_BOUNDS[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

#define COUNT(a) (uint32_t)(sizeof(a) / sizeof((a)[0]))
_Static_assert(sizeof TTFT_BOUNDS / sizeof(double) <= SRV_HIST_BUCKETS, "too many buckets");
_Static_assert(sizeof QUEUE_BOUNDS / sizeof(double) <= SRV_HIST_BUCKETS, "too many buckets");

static void hist_init(srv_hist *h, const double *bounds, uint32_t n) {
  memset(h, 0, sizeof *h);
  h->bounds = bounds;
  h->n_bounds = n;
}

static void hist_add(srv_hist *h, double v) {
  uint32_t i = 0;
  while (i < h->n_bounds && v > h->bounds[i]) i++;
  h->counts[i]++;
  h->count++;
  h->sum += v;
}

void srv_metrics_init(srv_metrics *m) {
  memset(m, 0, sizeof *m);
  pthread_mutex_init(&m->lock, NULL);
  hist_init(&m->ttft, TTFT_BOUNDS, COUNT(TTFT_BOUNDS));
  hist_init(&m->tpot, TPOT_BOUNDS, COUNT(TPOT_BOUNDS));
  hist_init(&m->e2e, E2E_BOUNDS, COUNT(E2E_BOUNDS));
  hist_init(&m->queue, QUEUE_BOUNDS, COUNT(QUEUE_BOUNDS));
}

void srv_metrics_destroy(srv_metrics *m) { pthread_mutex_destroy(&m->lock); }

void srv_metrics_observe(srv_metrics *m, double ttft, double tpot, double e2e, pagedvk_finish_reason why) {
  pthread_mutex_lock(&m->lock);
  if (ttft >= 0) hist_add(&m->ttft, ttft);
  if (tpot >= 0) hist_add(&m->tpot, tpot);
  hist_add(&m->e2e, e2e);
  if (why == PAGEDVK_FINISH_STOP || why == PAGEDVK_FINISH_LENGTH) m->requests_ok++;
  else if (why == PAGEDVK_FINISH_ABORT) m->requests_aborted++;
  else m->requests_failed++;
  pthread_mutex_unlock(&m->lock);
}

void srv_metrics_http(srv_metrics *m, unsigned status) {
  unsigned cls = status / 100;
  pthread_mutex_lock(&m->lock);
  if (cls < 6) m->http_by_class[cls]++;
  pthread_mutex_unlock(&m->lock);
}

void srv_metrics_disconnect(srv_metrics *m) {
  pthread_mutex_lock(&m->lock);
  m->client_disconnects++;
  pthread_mutex_unlock(&m->lock);
}

void srv_metrics_conn_timeout(srv_metrics *m) {
  pthread_mutex_lock(&m->lock);
  m->conn_timeouts++;
  pthread_mutex_unlock(&m->lock);
}

void srv_metrics_queue_time(srv_metrics *m, double seconds) {
  pthread_mutex_lock(&m->lock);
  hist_add(&m->queue, seconds);
  pthread_mutex_unlock(&m->lock);
}

void srv_metrics_drain_reject(srv_metrics *m) {
  pthread_mutex_lock(&m->lock);
  m->drain_rejects++;
  pthread_mutex_unlock(&m->lock);
}

void srv_metrics_busy_reject(srv_metrics *m) {
  pthread_mutex_lock(&m->lock);
  m->busy_rejects++;
  pthread_mutex_unlock(&m->lock);
}

static void metric(srv_buf *b, const char *name, const char *type, const char *help, double v) {
  srv_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

/* label: "" or `model_name="x",` (a trailing comma; it goes before le) */
static void hist_render_l(srv_buf *b, const char *name, const char *help, const srv_hist *h, const char *label) {
  srv_buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
  uint64_t cum = 0;
  for (uint32_t i = 0; i < h->n_bounds; i++) {
    cum += h->counts[i];
    srv_buf_printf(b, "%s_bucket{%sle=\"%g\"} %llu\n", name, label, h->bounds[i], (unsigned long long)cum);
  }
  cum += h->counts[h->n_bounds];
  size_t ln = strlen(label);
  int n = ln ? (int)ln - 1 : 0; /* the label set without its comma */
  srv_buf_printf(b, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, label, (unsigned long long)cum);
  srv_buf_printf(b, "%s_sum%s%.*s%s %.17g\n", name, ln ? "{" : "", n, label, ln ? "}" : "", h->sum);
  srv_buf_printf(b, "%s_count%s%.*s%s %llu\n", name, ln ? "{" : "", n, label, ln ? "}" : "",
                 (unsigned long long)h->count);
}

static void hist_render(srv_buf *b, const char *name, const char *help, const srv_hist *h) {
  hist_render_l(b, name, help, h, "");
}

/* A vLLM-named sample with the model_name label (label: `model_name="x"`). */
static void vmetric(srv_buf *b, const char *name, const char *type, const char *help, const char *label, double v) {
  srv_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s{%s} %.17g\n", name, help, name, type, name, label, v);
}

static void render_engine(srv_buf *b, const pagedvk_stats *st) {
  metric(b, "pagedvk_requests_running", "gauge", "Requests in the running batch.", st->requests_running);
  metric(b, "pagedvk_requests_waiting", "gauge", "Requests queued, not yet scheduled.", st->requests_waiting);
  metric(b, "pagedvk_requests_swapped", "gauge", "Requests whose KV blocks are swapped to host memory.",
         st->requests_swapped);
  metric(b, "pagedvk_requests_finished_total", "counter", "Requests the engine has ended.",
         (double)st->requests_finished);
  metric(b, "pagedvk_kv_blocks_total", "gauge", "KV blocks in the pool.", st->blocks_total);
  metric(b, "pagedvk_kv_blocks_used", "gauge", "KV blocks held by sequences.", st->blocks_used);
  metric(b, "pagedvk_kv_blocks_free", "gauge", "KV blocks free (including cached ones).", st->blocks_free);
  metric(b, "pagedvk_kv_blocks_cached", "gauge", "Free KV blocks that still hold a reusable prefix.",
         st->blocks_cached);
  metric(b, "pagedvk_kv_block_size", "gauge", "Tokens per KV block.", st->block_size);
  metric(b, "pagedvk_kv_usage_ratio", "gauge", "Used blocks / all blocks.",
         st->blocks_total ? (double)st->blocks_used / st->blocks_total : 0.0);
  metric(b, "pagedvk_kv_utilization", "gauge", "Tokens stored / slots in used blocks.", st->kv_utilization);
  metric(b, "pagedvk_kv_tokens_stored", "gauge", "Tokens held in the KV pool.", (double)st->tokens_stored);
  metric(b, "pagedvk_prefix_cache_queries_tokens_total", "counter", "Prompt tokens looked up in the prefix cache.",
         (double)st->prefix_cache_queries);
  metric(b, "pagedvk_prefix_cache_hits_tokens_total", "counter", "Prompt tokens found in the prefix cache.",
         (double)st->prefix_cache_hits);
  metric(b, "pagedvk_prefix_cache_hit_rate", "gauge", "Prefix cache hits / queries, in tokens.",
         st->prefix_cache_queries ? (double)st->prefix_cache_hits / st->prefix_cache_queries : 0.0);
  metric(b, "pagedvk_preemptions_total", "counter", "Sequence groups preempted.", (double)st->preemptions);
  metric(b, "pagedvk_swaps_out_total", "counter", "Groups swapped out to host memory.", (double)st->swaps_out);
  metric(b, "pagedvk_swaps_in_total", "counter", "Groups swapped back in.", (double)st->swaps_in);
  metric(b, "pagedvk_prompt_tokens_total", "counter", "Prompt tokens processed.", (double)st->prompt_tokens);
  metric(b, "pagedvk_generation_tokens_total", "counter", "Tokens generated.", (double)st->generated_tokens);
  metric(b, "pagedvk_generation_tokens_per_second", "gauge", "Tokens generated per second of engine busy time.",
         st->busy_seconds > 0 ? (double)st->generated_tokens / st->busy_seconds : 0.0);
  metric(b, "pagedvk_engine_steps_total", "counter", "Engine steps run.", (double)st->steps);
  metric(b, "pagedvk_engine_busy_seconds_total", "counter", "Seconds spent in engine steps.", st->busy_seconds);
  metric(b, "pagedvk_engine_prefill_seconds_total", "counter", "Seconds spent in steps that computed prompt tokens.",
         st->prefill_seconds);
  metric(b, "pagedvk_peak_running_sequences", "gauge", "Most sequences in one step.", st->peak_running);
}

/* The same signals under vLLM's names (its V1 engine's), so dashboards, autoscalers and routers
 * written for vLLM read a replica of pagedvk: label is `model_name="x"`. */
static void render_vllm(srv_buf *b, const pagedvk_stats *st, const char *label) {
  vmetric(b, "vllm:num_requests_running", "gauge", "Requests in the running batch.", label, st->requests_running);
  vmetric(b, "vllm:num_requests_waiting", "gauge", "Requests waiting to be scheduled.", label,
          st->requests_waiting + st->requests_swapped);
  vmetric(b, "vllm:kv_cache_usage_perc", "gauge", "Fraction of KV cache blocks used (0 to 1).", label,
          st->blocks_total ? (double)st->blocks_used / st->blocks_total : 0.0);
  vmetric(b, "vllm:prefix_cache_queries_total", "counter", "Prompt tokens looked up in the prefix cache.", label,
          (double)st->prefix_cache_queries);
  vmetric(b, "vllm:prefix_cache_hits_total", "counter", "Prompt tokens found in the prefix cache.", label,
          (double)st->prefix_cache_hits);
  vmetric(b, "vllm:num_preemptions_total", "counter", "Preemptions.", label, (double)st->preemptions);
  vmetric(b, "vllm:prompt_tokens_total", "counter", "Prompt tokens processed.", label, (double)st->prompt_tokens);
  vmetric(b, "vllm:generation_tokens_total", "counter", "Tokens generated.", label, (double)st->generated_tokens);
}

static void render_vllm_hists(srv_buf *b, const srv_metrics *m, const char *label_comma) {
  hist_render_l(b, "vllm:request_queue_time_seconds", "Time requests waited before they were first scheduled.",
                &m->queue, label_comma);
  hist_render_l(b, "vllm:time_to_first_token_seconds", "From arrival to the first generated token.", &m->ttft,
                label_comma);
  hist_render_l(b, "vllm:e2e_request_latency_seconds", "From arrival to the last event of a request.", &m->e2e,
                label_comma);
}

static void render_server(srv_buf *b, const srv_metrics *m) {
  srv_buf_puts(b, "# HELP pagedvk_http_responses_total HTTP responses by status class.\n"
                  "# TYPE pagedvk_http_responses_total counter\n");
  for (unsigned c = 2; c <= 5; c++)
    srv_buf_printf(b, "pagedvk_http_responses_total{class=\"%uxx\"} %llu\n", c,
                   (unsigned long long)m->http_by_class[c]);
  srv_buf_puts(b, "# HELP pagedvk_requests_total Generation requests ended, by outcome.\n"
                  "# TYPE pagedvk_requests_total counter\n");
  srv_buf_printf(b, "pagedvk_requests_total{outcome=\"finished\"} %llu\n", (unsigned long long)m->requests_ok);
  srv_buf_printf(b, "pagedvk_requests_total{outcome=\"aborted\"} %llu\n", (unsigned long long)m->requests_aborted);
  srv_buf_printf(b, "pagedvk_requests_total{outcome=\"failed\"} %llu\n", (unsigned long long)m->requests_failed);
  metric(b, "pagedvk_client_disconnects_total", "counter", "Clients that went away before their request ended.",
         (double)m->client_disconnects);
  metric(b, "pagedvk_connections_timed_out_total", "counter",
         "Connections closed because their request did not arrive within the header timeout.",
         (double)m->conn_timeouts);
  metric(b, "pagedvk_requests_rejected_busy_total", "counter",
         "Generation requests refused with 503 because max_pending_requests were in progress.",
         (double)m->busy_rejects);
  metric(b, "pagedvk_requests_rejected_unavailable_total", "counter",
         "Generation requests refused with 503 because the model was loading or the server draining.",
         (double)m->drain_rejects);
  hist_render(b, "pagedvk_request_queue_time_seconds", "From arrival until the engine first scheduled the request.",
              &m->queue);
  hist_render(b, "pagedvk_time_to_first_token_seconds", "From arrival to the first generated token.", &m->ttft);
  hist_render(b, "pagedvk_time_per_output_token_seconds", "Mean time between output tokens of a request.",
              &m->tpot);
  hist_render(b, "pagedvk_e2e_request_latency_seconds", "From arrival to the last event of a request.", &m->e2e);
}

/* Writes `model_name="NAME"` with NAME escaped for a label value (backslash, quote, newline). */
static void label_of(char *out, size_t cap, const char *name, bool comma) {
  size_t o = 0;
  const char *pre = "model_name=\"";
  for (const char *p = pre; *p && o + 1 < cap; p++) out[o++] = *p;
  for (const char *p = name ? name : ""; *p && o + 3 < cap; p++) {
    if (*p == '\\' || *p == '"') out[o++] = '\\', out[o++] = *p;
    else if (*p == '\n') out[o++] = '\\', out[o++] = 'n';
    else out[o++] = *p;
  }
  if (o + 1 < cap) out[o++] = '"';
  if (comma && o + 1 < cap) out[o++] = ',';
  out[o] = 0;
}

bool srv_metrics_render(srv_metrics *m, pagedvk_engine *e, const char *model_name, srv_buf *out) {
  char label[300], label_comma[300];
  label_of(label, sizeof label, model_name, false);
  label_of(label_comma, sizeof label_comma, model_name, true);
  pagedvk_stats st;
  if (e) {
    pagedvk_engine_stats(e, &st);
    render_engine(out, &st);
    render_vllm(out, &st, label);
  }
  pthread_mutex_lock(&m->lock);
  render_server(out, m);
  if (e) render_vllm_hists(out, m, label_comma);
  pthread_mutex_unlock(&m->lock);
  return !out->oom;
}
