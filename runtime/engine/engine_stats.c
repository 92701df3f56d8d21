/*
 * engine_stats.c — the engine's stats: the snapshot any thread reads under the lock
 * (pagedvk_engine_stats, pagedvk_engine_stage_times), refreshed by the step thread from the
 * scheduler's queues and the KV manager's counters (O(1): runtime/kv keeps them incrementally),
 * and the counters that steps and finished requests add to.
 */
#include "engine/engine_internal.h"

void pv_engine_count_step(pagedvk_engine *e, double seconds, uint32_t prompt, uint32_t gen, uint32_t n_seqs,
                          uint32_t blocks_used) {
  pthread_mutex_lock(&e->lock);
  if (blocks_used > e->stats.peak_blocks_used) {
    e->stats.peak_blocks_used = blocks_used;
    e->stats.peak_kv_bytes_used = (uint64_t)blocks_used * e->kv_gpu.block_bytes;
  }
  e->stats.steps++;
  e->stats.busy_seconds += seconds;
  if (prompt) {
    e->stats.prefill_steps++;
    e->stats.prefill_seconds += seconds;
  }
  e->stats.prompt_tokens += prompt;
  e->stats.generated_tokens += gen;
  if (n_seqs > e->stats.peak_running) e->stats.peak_running = n_seqs;
  pthread_mutex_unlock(&e->lock);
}

void pv_engine_count_finished(pagedvk_engine *e) {
  pthread_mutex_lock(&e->lock);
  e->stats.requests_finished++;
  pthread_mutex_unlock(&e->lock);
}

void pv_engine_update_stats(pagedvk_engine *e) {
  pv_kv_stats ks;
  pv_kv_get_stats(e->kv, e->kv_gpu.block_bytes, &ks);
  pthread_mutex_lock(&e->lock);
  pagedvk_stats *s = &e->stats;
  s->requests_running = e->sched.n_running;
  s->requests_waiting = e->sched.n_waiting;
  for (pv_request *r = e->inbox; r; r = r->next) s->requests_waiting++;
  s->requests_swapped = e->sched.n_swapped;
  s->blocks_total = ks.blocks_total;
  s->blocks_free = ks.blocks_free;
  s->blocks_used = ks.blocks_used;
  s->blocks_cached = ks.blocks_cached;
  s->block_size = e->opt.block_size;
  s->tokens_stored = ks.tokens_stored;
  s->kv_utilization = ks.utilization;
  s->kv_bytes = ks.bytes_total;
  s->kv_type = e->kv_gpu.geom.q8 ? "q8_0" : e->kv_gpu.geom.f32 ? "f32" : "f16";
  s->kv_block_bytes = e->kv_gpu.block_bytes;
  s->blocks_saved_by_sharing = ks.blocks_saved_by_sharing;
  s->prefix_cache_queries = ks.prefix_query_tokens;
  s->prefix_cache_hits = ks.prefix_hit_tokens;
  s->preemptions = e->sched.preemptions;
  s->swaps_out = e->sched.swaps_out;
  s->swaps_in = e->sched.swaps_in;
  pthread_mutex_unlock(&e->lock);
}

void pagedvk_engine_stats(pagedvk_engine *e, pagedvk_stats *s) {
  pthread_mutex_lock(&e->lock);
  *s = e->stats;
  pthread_mutex_unlock(&e->lock);
}

uint32_t pagedvk_engine_stage_times(pagedvk_engine *e, pagedvk_stage_time *out, uint32_t max, uint64_t *prompt_steps,
                                    uint64_t *decode_steps) {
  pthread_mutex_lock(&e->lock);
  const pv_forward_times *t = &e->fw.times;
  if (prompt_steps) *prompt_steps = t->on ? t->steps[1] : 0;
  if (decode_steps) *decode_steps = t->on ? t->steps[0] : 0;
  for (uint32_t s = 0; t->on && s < PV_STAGE_COUNT && s < max; s++)
    out[s] = (pagedvk_stage_time){pv_stage_name((pv_stage)s), t->ns[1][s] / 1e6, t->ns[0][s] / 1e6};
  const uint32_t n = t->on ? PV_STAGE_COUNT : 0;
  pthread_mutex_unlock(&e->lock);
  return n;
}
