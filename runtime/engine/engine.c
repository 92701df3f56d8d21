/*
 * engine.c — engine life cycle: options, create (model → device → weights → KV pool →
 * scheduler), destroy and the run loops (stats: engine_stats.c). See engine_internal.h for the
 * threading rules.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/env.h"
#include "engine/engine_internal.h"
#include "vk/vk_buffer.h"

#define DEFAULT_SWAP_MEM (256ull << 20)

void pagedvk_engine_options_default(pagedvk_engine_options *o) {
  memset(o, 0, sizeof *o);
  o->kv_mem_fraction = 0.5;
  o->block_size = 16;
  o->max_num_seqs = 64;
  o->max_num_batched_tokens = 512;
  o->swap_mem = DEFAULT_SWAP_MEM;
  o->prefix_cache = 1;
  /* the environment sets the defaults; what a program writes into the options afterwards wins */
  o->warmup = !pv_env_get()->no_warmup;
  o->sliding_window_free = !pv_env_get()->no_swa_free;
  o->kernel_times = pv_env_get()->kernel_times;
}

static uint64_t largest_device_heap(const pv_vk_context *ctx) {
  uint64_t best = 0;
  const VkPhysicalDeviceMemoryProperties *m = &ctx->caps.memory;
  for (uint32_t i = 0; i < m->memoryHeapCount; i++)
    if ((m->memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && m->memoryHeaps[i].size > best)
      best = m->memoryHeaps[i].size;
  return best;
}

static double mib(uint64_t bytes) { return bytes / 1048576.0; }

/* Device bytes the weights will take: matrices as stored, vectors (norms, biases) as F32. A lower
 * bound (arena alignment comes on top), so a model it rejects cannot load. */
static uint64_t weight_bytes_needed(const pv_gguf_file *f) {
  uint64_t n = 0;
  for (uint64_t i = 0; i < f->n_tensors; i++) {
    const pv_gguf_tensor *t = &f->tensors[i];
    n += t->n_dims == 1 ? t->ne[0] * sizeof(float) : t->nbytes;
  }
  return n;
}

/* Before any upload: the weights alone must fit the largest device-local heap. */
static int check_weights_fit(const pagedvk_engine *e, pv_error *err) {
  uint64_t need = weight_bytes_needed(e->model->gguf), heap = largest_device_heap(e->ctx);
  if (need <= heap) return PAGEDVK_OK;
  return pv_fail(err, PAGEDVK_ERR_NO_MEMORY,
                 "engine: the model needs %.1f MiB of device memory for its weights, the device heap has %.1f MiB "
                 "(%s); use a smaller quantization of the model or a device with more memory",
                 mib(need), mib(heap), e->ctx->caps.device_name);
}

/* No --kv-mem and the fraction's share of the heap is used up by the weights: says what is left. */
static int no_kv_room(const pagedvk_engine *e, uint64_t block, pv_error *err) {
  uint64_t heap = largest_device_heap(e->ctx), left = heap > e->dev.bytes ? heap - e->dev.bytes : 0;
  return pv_fail(err, PAGEDVK_ERR_NO_MEMORY,
                 "engine: the weights take %.1f MiB of the %.1f MiB device heap; the KV pool gets kv_mem_fraction "
                 "%.2f of the heap minus the weights, which is less than one KV block (%.1f KiB); give --kv-mem "
                 "(the heap has %.1f MiB left after the weights)",
                 mib(e->dev.bytes), mib(heap), e->opt.kv_mem_fraction, block / 1024.0, mib(left));
}

/* Blocks for the pool: --kv-mem, or a fraction of the device heap after the weights; at most
 * what the device's buffer limits can bind. */
static int choose_blocks(pagedvk_engine *e, const pv_kv_geometry *g, uint32_t *n_blocks, pv_error *err) {
  uint64_t block = pv_kv_block_bytes(g), budget = e->opt.kv_mem;
  if (!budget) {
    uint64_t heap = largest_device_heap(e->ctx);
    double share = heap * e->opt.kv_mem_fraction;
    budget = share > (double)e->dev.bytes ? (uint64_t)(share - (double)e->dev.bytes) : 0;
  }
  uint64_t n = budget / block, cap = pv_kv_gpu_max_blocks(e->ctx, g);
  if (n == 0 && !e->opt.kv_mem) return no_kv_room(e, block, err);
  if (!e->opt.kv_mem && n > cap) n = cap;
  if (n == 0)
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "engine: --kv-mem of %llu bytes holds no KV block (one block is %llu bytes)",
                   (unsigned long long)budget, (unsigned long long)block);
  if (n > cap)
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY,
                   "engine: --kv-mem %llu MiB is more than this device can bind for the KV pool (%llu MiB); use a "
                   "smaller --kv-mem",
                   (unsigned long long)(budget >> 20), (unsigned long long)(cap * block >> 20));
  *n_blocks = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
  return PAGEDVK_OK;
}

int pagedvk_kv_type_parse(const char *name, pagedvk_kv_type *out) {
  static const char *const names[] = {"f16", "f32", "q8_0"};
  for (int i = 0; name && i < 3; i++)
    if (!strcmp(name, names[i])) {
      *out = (pagedvk_kv_type)i;
      return 0;
    }
  return -1;
}

const char *pagedvk_kv_type_name(pagedvk_kv_type t) {
  return t == PAGEDVK_KV_F16 ? "f16" : t == PAGEDVK_KV_F32 ? "f32" : t == PAGEDVK_KV_Q8_0 ? "q8_0" : "?";
}

pagedvk_kv_type pv_engine_kv_type(const pagedvk_engine_options *o) {
  return o->kv_type == PAGEDVK_KV_F16 && o->kv_f32 ? PAGEDVK_KV_F32 : o->kv_type;
}

static int check_options(const pagedvk_engine_options *o, pv_error *err) {
  if (!o->model_path) return pv_fail(err, PAGEDVK_ERR_INVALID, "engine: no model file given");
  if (o->kv_type != PAGEDVK_KV_F16 && o->kv_type != PAGEDVK_KV_F32 && o->kv_type != PAGEDVK_KV_Q8_0)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "engine: KV type %d is not one of f16, f32, q8_0", (int)o->kv_type);
  uint32_t bs = o->block_size;
  if (bs != 8 && bs != 16 && bs != 32 && bs != 64)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "engine: --block-size must be 8, 16, 32 or 64 (got %u)", bs);
  if (!o->max_num_seqs || !o->max_num_batched_tokens)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "engine: --max-num-seqs and --max-num-batched-tokens must be > 0");
  if (o->max_num_batched_tokens > 65535)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "engine: --max-num-batched-tokens must be <= 65535");
  return PAGEDVK_OK;
}

/* The option when given and within the model's context_length, else that; never over
 * PV_MAX_MODEL_LEN (a file may say 2^32 - 1). */
static void limit_context(pagedvk_engine *e) {
  uint32_t n = e->hp.n_ctx_train;
  e->ctx_given = e->opt.max_model_len && e->opt.max_model_len < n;
  if (e->ctx_given) n = e->opt.max_model_len;
  if (n > PV_MAX_MODEL_LEN) {
    pv_log(PV_LOG_WARN, "engine: context %u tokens (%s) clamped to %u, the most this engine runs", n,
           e->ctx_given ? "--max-model-len" : "the model's context_length", PV_MAX_MODEL_LEN);
    n = PV_MAX_MODEL_LEN;
  }
  e->opt.max_model_len = n;
}

static int open_device(pagedvk_engine *e, pv_error *err) {
  pv_vk_options vo;
  pv_vk_options_from_env(&vo);
  if (e->opt.device) vo.device = e->opt.device;
  int rc = pv_vk_context_create(&e->ctx, &vo, err);
  if (!rc) rc = pv_ops_init(&e->ops, e->ctx, err);
  e->ops_ready = rc == 0;
  if (!rc) rc = check_weights_fit(e, err);
  if (!rc) rc = pv_dev_model_load(&e->dev, e->ctx, e->model->gguf, e->opt.max_model_len, e->opt.progress,
                                  e->opt.progress_user, err);
  e->dev_ready = rc == 0;
  return rc;
}

static int create_kv(pagedvk_engine *e, pv_error *err) {
  /* layer groups: sliding-window layers get block tables of their own (kv_layout.h), unless the
   * contiguous layout (a benchmark baseline) or sliding_window_free = 0 asks for one of every layer */
  uint32_t *windows = pv_calloc(e->hp.n_layer, sizeof *windows);
  if (!windows) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "engine: out of memory");
  for (uint32_t l = 0; l < e->hp.n_layer; l++) windows[l] = e->hp.layer[l].window;
  const bool one_group = e->opt.kv_layout == PAGEDVK_KV_CONTIGUOUS || !e->opt.sliding_window_free;
  int rc0 = pv_kv_layout_plan(&e->layout, windows, e->hp.n_layer, one_group, pv_env_get()->kv_group_layers, err);
  free(windows);
  if (rc0) return rc0;
  e->layout_ready = true;
  const pagedvk_kv_type kt = pv_engine_kv_type(&e->opt);
  if (kt == PAGEDVK_KV_Q8_0 && e->hp.head_dim % 32)
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED,
                   "engine: --kv-type q8_0 stores K/V in blocks of 32 values of a head, and this model's head size "
                   "is %u (not a multiple of 32); use --kv-type f16", e->hp.head_dim);
  pv_kv_geometry g = {e->opt.block_size, e->layout.layers_per_block, e->hp.n_head_kv, e->hp.head_dim,
                      kt == PAGEDVK_KV_F32, kt == PAGEDVK_KV_Q8_0};
  uint32_t n_blocks = 0;
  int rc = choose_blocks(e, &g, &n_blocks, err);
  if (rc) return rc;
  uint64_t swap_slots = e->opt.preempt == PAGEDVK_PREEMPT_SWAP ? e->opt.swap_mem / pv_kv_block_bytes(&g) : 0;
  pv_kv_config kc = {.n_blocks = n_blocks, .block_size = e->opt.block_size,
                     .n_swap_slots = (uint32_t)(swap_slots > UINT32_MAX ? UINT32_MAX : swap_slots),
                     .disable_prefix_cache = !e->opt.prefix_cache, .n_groups = e->layout.n_groups,
                     .max_chunk = e->opt.max_num_batched_tokens};
  memcpy(kc.window, e->layout.window, sizeof kc.window);
  rc = pv_kv_create(&e->kv, &kc, err);
  if (!rc) rc = pv_kv_gpu_create(&e->kv_gpu, e->ctx, &g, n_blocks, kc.n_swap_slots, err);
  e->kv_gpu_ready = rc == 0;
  return rc;
}

/* Blocks the scheduler keeps free when it admits a prompt (1%). */
static uint32_t watermark_blocks(const pagedvk_engine *e) { return pv_kv_total_blocks(e->kv) / 100; }

/* The longest sequence (prompt and output) whose blocks over every layer group fit the whole pool
 * less the admission watermark, at most `limit`: a request longer than that could never run (or,
 * its prompt filling the pool, never be admitted). */
static uint32_t pool_context(const pagedvk_engine *e, uint32_t limit) {
  const uint32_t total = pv_kv_total_blocks(e->kv) - watermark_blocks(e);
  if (pv_kv_blocks_for_sequence(e->kv, limit) <= total) return limit;
  uint32_t lo = 0, hi = limit; /* blocks_for_sequence(lo) fits, (hi) does not; it grows with the length */
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (pv_kv_blocks_for_sequence(e->kv, mid) <= total) lo = mid;
    else hi = mid;
  }
  return lo;
}

/* The context the engine runs with: the option (or the model's context_length), at most
 * PV_MAX_MODEL_LEN, and at most what the KV pool can hold for one sequence; said when clamped. Every
 * size that follows the context (block tables, a request's token list) is bounded by it. */
static int clamp_context(pagedvk_engine *e, pv_error *err) {
  const uint32_t want = e->opt.max_model_len, fits = pool_context(e, want);
  if (fits < 2)
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "engine: the KV pool (%u blocks of %u tokens) holds no sequence of "
                   "2 tokens; raise --kv-mem", pv_kv_total_blocks(e->kv), e->opt.block_size);
  if (fits < want)
    pv_log(e->ctx_given ? PV_LOG_WARN : PV_LOG_INFO,
           "engine: context %u tokens (%s) clamped to %u: the KV pool (%u blocks of %u tokens, 1%% kept free for "
           "admission) holds no longer sequence; raise --kv-mem for more",
           want, e->ctx_given ? "--max-model-len" : "the model's context_length", fits, pv_kv_total_blocks(e->kv),
           e->opt.block_size);
  e->ctx_before_pool = want;
  e->opt.max_model_len = fits;
  return PAGEDVK_OK;
}

static int create_runtime(pagedvk_engine *e, pv_error *err) {
  const uint32_t max_blocks = pv_kv_blocks_for_tokens(e->kv, e->opt.max_model_len); /* no wrap near 2^32 */
  pv_forward_limits lim = {e->opt.max_num_batched_tokens, e->opt.max_num_seqs, max_blocks, e->layout.n_groups,
                           e->layout.group, e->layout.slot};
  int rc = pv_forward_create(&e->fw, e->ctx, &e->ops, &e->dev, &lim, err);
  e->fw_ready = rc == 0;
  pv_sched_config sc = {.max_num_seqs = e->opt.max_num_seqs,
                        .max_num_batched_tokens = e->opt.max_num_batched_tokens,
                        .max_model_len = e->opt.max_model_len,
                        .watermark_blocks = watermark_blocks(e),
                        .swap = e->opt.preempt == PAGEDVK_PREEMPT_SWAP,
                        .priority = e->opt.priority_scheduling != 0,
                        .contiguous = e->opt.kv_layout == PAGEDVK_KV_CONTIGUOUS};
  if (!rc) rc = pv_sched_init(&e->sched, &sc, e->kv, err);
  e->sched_ready = rc == 0;
  pv_sched_plan_init(&e->plan);
  if (!rc) rc = pv_vk_cmd_create(e->ctx, &e->cmd, err);
  e->cmd_ready = rc == 0;
  e->sampled = calloc(e->opt.max_num_seqs, sizeof *e->sampled);
  e->touched = calloc(e->opt.max_num_seqs, sizeof *e->touched);
  e->hyps = calloc(e->opt.max_num_seqs, sizeof *e->hyps);
  e->logits_tmp = calloc(e->hp.n_vocab, sizeof *e->logits_tmp);
  if (!rc && (!e->sampled || !e->touched || !e->hyps || !e->logits_tmp))
    rc = pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "engine: out of memory");
  return rc;
}

int pagedvk_engine_create(pagedvk_engine **out, const pagedvk_engine_options *o, char *errbuf, size_t err_size) {
  pv_error err = {0};
  *out = NULL;
  pagedvk_engine *e = calloc(1, sizeof *e);
  if (!e) return PAGEDVK_ERR_NO_MEMORY;
  e->opt = *o;
  pthread_mutex_init(&e->lock, NULL);
  pthread_cond_init(&e->wake, NULL);
  e->next_id = 1;
  int rc = check_options(o, &err);
  if (!rc) rc = pagedvk_model_open(&e->model, o->model_path, err.msg, sizeof err.msg);
  if (!rc) rc = pv_hparams_load(&e->hp, e->model->gguf, &err);
  if (!rc) limit_context(e);
  if (!rc) rc = open_device(e, &err);
  if (!rc) rc = create_kv(e, &err);
  if (!rc) rc = clamp_context(e, &err);
  if (!rc) rc = create_runtime(e, &err);
  if (!rc && o->kernel_times && pv_forward_times_enable(&e->fw, &err)) {
    pv_log(PV_LOG_WARN, "stage times (kernel_times / PAGEDVK_KERNEL_TIMES): %s; running without them", err.msg);
    err = (pv_error){0};
  }
  if (!rc && o->warmup) rc = pv_engine_warmup(e, &err);
  if (rc) {
    pv_error_copy(&err, errbuf, err_size);
    pagedvk_engine_destroy(e);
    return rc;
  }
  pv_engine_update_stats(e);
  *out = e;
  return PAGEDVK_OK;
}

void pagedvk_engine_destroy(pagedvk_engine *e) {
  if (!e) return;
  if (e->sched_ready) pv_engine_fail_all(e, PAGEDVK_ERR_ABORTED);
  pv_engine_take_inbox(e);
  if (e->sched_ready) pv_engine_fail_all(e, PAGEDVK_ERR_ABORTED);
  if (e->cmd_ready) pv_vk_cmd_destroy(&e->cmd);
  pv_sched_plan_free(&e->plan);
  if (e->sched_ready) pv_sched_destroy(&e->sched);
  if (e->fw_ready && pv_env_get()->kernel_times) pv_forward_times_print(&e->fw, stderr);
  if (e->fw_ready) pv_forward_destroy(&e->fw);
  if (e->kv_gpu_ready) pv_kv_gpu_destroy(&e->kv_gpu);
  if (e->layout_ready) pv_kv_layout_free(&e->layout);
  if (e->kv) pv_kv_destroy(e->kv);
  if (e->dev_ready) pv_dev_model_destroy(&e->dev, e->ctx);
  if (e->ops_ready) pv_ops_destroy(&e->ops);
  if (e->ctx) pv_vk_context_destroy(e->ctx);
  if (e->model) pagedvk_model_close(e->model);
  free(e->aborts);
  free(e->aborts_work);
  free(e->sampled);
  free(e->touched);
  free(e->hyps);
  free(e->logits_tmp);
  pv_gram_vocab_destroy(e->gram_vocab);
  pv_engine_grammars_free(e);
  pthread_cond_destroy(&e->wake);
  pthread_mutex_destroy(&e->lock);
  free(e);
}

pagedvk_model *pagedvk_engine_model(pagedvk_engine *e) { return e->model; }

/* The context before the pool's clamp: prompts within it that the pool cannot hold are refused with
 * KV_FULL (and a word on --kv-mem), those beyond it with TOO_LONG. */
uint32_t pagedvk_engine_max_model_len(const pagedvk_engine *e) { return e->ctx_before_pool; }

int pagedvk_engine_step(pagedvk_engine *e, char *errbuf, size_t err_size) {
  pv_error err = {0};
  int rc = pv_engine_step_once(e, &err);
  if (rc < 0) {
    pv_error_copy(&err, errbuf, err_size);
    return rc;
  }
  pthread_mutex_lock(&e->lock);
  int busy = (int)(e->sched.n_waiting + e->sched.n_running + e->sched.n_swapped) + (e->inbox != NULL);
  pthread_mutex_unlock(&e->lock);
  return busy;
}

int pagedvk_engine_run_until_idle(pagedvk_engine *e, char *err, size_t err_size) {
  int rc;
  while ((rc = pagedvk_engine_step(e, err, err_size)) > 0) {
  }
  return rc < 0 ? rc : PAGEDVK_OK;
}

int pagedvk_engine_serve(pagedvk_engine *e, char *err, size_t err_size) {
  for (;;) {
    pthread_mutex_lock(&e->lock);
    while (!e->stop && !e->inbox && !e->n_aborts && !e->live) pthread_cond_wait(&e->wake, &e->lock);
    bool stop = e->stop;
    pthread_mutex_unlock(&e->lock);
    if (stop) break;
    int rc = pagedvk_engine_step(e, err, err_size);
    if (rc < 0 && rc != PAGEDVK_ERR_KV_FULL) return rc;
  }
  pv_engine_fail_all(e, PAGEDVK_ERR_ABORTED);
  return PAGEDVK_OK;
}

void pagedvk_engine_stop(pagedvk_engine *e) {
  pthread_mutex_lock(&e->lock);
  e->stop = true;
  pthread_cond_broadcast(&e->wake);
  pthread_mutex_unlock(&e->lock);
}
