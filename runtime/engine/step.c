/*
 * step.c — one engine step, as DESIGN.md's "one step, as data":
 *   1. the scheduler plans (runtime/sched) and carries out the block side through runtime/kv;
 *   2. the step's inputs are written once into host-visible buffers: token rows with positions
 *      and slots, block tables, the rows whose logits are needed;
 *   3. one command buffer: swap-outs, swap-ins, copy-on-write copies, then the forward pass;
 *   4. one submit, one fence; then sampling, text streaming, and finished requests give their
 *      blocks back at once.
 * Errors are scoped: one that belongs to a request (sampling, text, a fork) ends that request
 * with a final error event and the step goes on; one that belongs to the step (planning, recording,
 * submitting) ends the requests the step concerns; only a lost device ends every request and
 * makes the step return the error.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"

#define NO_ROW UINT32_MAX

/* Greedy without penalties or logprobs: the device's argmax is the answer (the whole answer
 * without a grammar; the first try with one). */
static bool plain_greedy(const pv_request *r) {
  const pagedvk_sampling_params *p = &r->sp;
  return p->temperature == 0.0f && p->logprobs == 0 && p->beam_width <= 1 && p->repetition_penalty == 1.0f &&
         p->presence_penalty == 0.0f && p->frequency_penalty == 0.0f;
}

static bool pure_greedy(const pv_request *r) { return plain_greedy(r) && !r->grammar; }

/* A grammar request whose sampling has no filters and reports no log-probabilities may try the
 * unconstrained choice first and keep it when the grammar allows it. Greedy: the allowed argmax
 * is the masked row's argmax. Sampled: a draw from the whole row, kept when allowed and else
 * replaced by a draw from the masked row, gives each allowed token p / (1 - q) (q: the mass of
 * the disallowed ones), which is the masked distribution exactly. Only a rejected first try pays
 * for the mask; filters (top-k/p, min-p) would see a different row, so they always mask first. */
static bool grammar_try_first(const pv_request *r) {
  const pagedvk_sampling_params *p = &r->sp;
  return r->grammar && !r->beam && p->logprobs == 0 && p->top_k == 0 && p->top_p >= 1.0f && p->min_p == 0.0f;
}

/* The device's argmax of logits row `row`; a row with a NaN or an infinity fails (that request only). */
static int device_argmax(const pagedvk_engine *e, uint32_t row, int32_t *token, pv_error *err) {
  const uint32_t best = e->fw.argmax_map[row];
  if (best == PV_ARGMAX_NONFINITE)
    return pv_fail(err, PAGEDVK_ERR_NONFINITE, "the model produced non-finite logits (NaN/inf)");
  if (best >= e->hp.n_vocab)
    return pv_fail(err, PAGEDVK_ERR_VULKAN, "the device's argmax gave token %u, outside the vocabulary (%u)", best,
                   e->hp.n_vocab);
  *token = (int32_t)best;
  return PAGEDVK_OK;
}

/* The first sequence's grammar state, made at the request's first sampling, on the step thread
 * (the grammar may be shared with running requests, grammars.c). */
static int gram_start(pv_request *r, pv_error *err) {
  if (!r->grammar || r->st[0].gram_ready) return PAGEDVK_OK;
  int rc = pv_gram_state_init(r->grammar, &r->st[0].gram, err);
  r->st[0].gram_ready = !rc;
  return rc;
}

/* A request with a grammar: the row of sequence i, copied into logits_tmp with every token its
 * grammar state does not allow at -inf (the vocabulary's trie is made at the first such row). */
static int masked_row(pagedvk_engine *e, pv_request *r, uint32_t i, const float *logits, pv_error *err) {
  int rc = e->gram_vocab ? PAGEDVK_OK : pv_gram_vocab_create(&e->gram_vocab, &e->model->tok, err);
  memcpy(e->logits_tmp, logits, e->hp.n_vocab * sizeof(float));
  if (!rc) rc = pv_gram_apply(r->grammar, e->gram_vocab, &r->st[i].gram, e->logits_tmp, e->hp.n_vocab, err);
  return rc;
}

/* Samples sequence i of r from its logits row `row` (the device's argmax is used only where
 * plain_greedy says it is the answer). */
static int sample_seq(pagedvk_engine *e, pv_request *r, uint32_t i, uint32_t row, pv_sample_result *res,
                      pv_error *err) {
  const float *logits = e->fw.logits_map + (size_t)row * e->hp.n_vocab;
  pv_sampler *smp = r->st[i].sampler;
  memset(res, 0, sizeof *res);
  int rc = r->grammar && !e->gram_vocab ? pv_gram_vocab_create(&e->gram_vocab, &e->model->tok, err) : PAGEDVK_OK;
  if (!rc && grammar_try_first(r)) {
    if (plain_greedy(r)) {
      rc = device_argmax(e, row, &res->token, err);
    } else {
      memcpy(e->logits_tmp, logits, e->hp.n_vocab * sizeof(float));
      rc = pv_sample(smp, e->logits_tmp, e->hp.n_vocab, res, err);
    }
    bool ok = false;
    if (!rc) rc = pv_gram_allows(r->grammar, e->gram_vocab, &r->st[i].gram, res->token, &ok, err);
    if (rc || ok) return rc;
  }
  if (rc) return rc;
  if (r->grammar && pv_sampler_plain(smp)) { /* read only the allowed tokens' logits */
    const uint64_t *mask;
    uint32_t n_allowed;
    rc = pv_gram_mask(r->grammar, e->gram_vocab, &r->st[i].gram, &mask, &n_allowed, err);
    if (!rc && !n_allowed)
      rc = pv_fail(err, PAGEDVK_ERR_INVALID, "grammar: no token of the vocabulary can continue the text here");
    if (!rc) rc = pv_sample_allowed(smp, logits, e->hp.n_vocab, mask, pv_gram_vocab_size(e->gram_vocab), res, err);
    return rc;
  }
  if (r->grammar) {
    rc = masked_row(e, r, i, logits, err);
  } else {
    memcpy(e->logits_tmp, logits, e->hp.n_vocab * sizeof(float));
  }
  if (!rc) rc = pv_sample(smp, e->logits_tmp, e->hp.n_vocab, res, err);
  return rc;
}

/* Writes token rows, block tables and logit rows; returns what the pass must produce. */
static pv_forward_batch write_inputs(pagedvk_engine *e) {
  pv_forward *fw = &e->fw;
  const pv_sched_plan *plan = &e->plan;
  const uint32_t bs = e->opt.block_size, maxb = fw->lim.max_blocks_per_seq;
  pv_forward_batch b = {0};
  for (uint32_t k = 0; k < plan->n_items; k++) {
    const pv_sched_item *it = &plan->items[k];
    const pv_sched_seq *q = &it->group->seqs[it->seq_index];
    const uint32_t first_row = b.n_rows;
    for (uint32_t g = 0; g < fw->lim.n_groups; g++) {
      uint32_t nb;
      const uint32_t *table = pv_kv_seq_group_table(e->kv, q->kv_seq, g, &nb);
      uint32_t *dst = pv_forward_tables_map(fw, g) + (size_t)k * maxb;
      pv_token_row *rows = pv_forward_rows_map(fw, g) + first_row;
      /* entries out of a sliding window are empty: 0 keeps them in range (the kernels start
       * at the window's first block and never read them) */
      for (uint32_t i = 0; i < nb && i < maxb; i++) dst[i] = table[i] == PV_KV_NONE ? 0 : table[i];
      for (uint32_t p = it->start; p < it->start + it->n; p++)
        rows[p - it->start] = (pv_token_row){(uint32_t)q->tokens[p], p, k, table[p / bs] * bs + p % bs};
      const uint32_t used = (it->start + it->n + bs - 1) / bs; /* blocks holding positions 0 .. start+n-1 */
      for (uint32_t i = 0; i < used && i < nb; i++)
        if (table[i] != PV_KV_NONE && table[i] > b.max_block) b.max_block = table[i];
    }
    b.n_rows += it->n;
    e->sampled[k] = NO_ROW;
    if (it->wants_logits) {
      fw->logit_rows_map[b.n_logits] = b.n_rows - 1;
      e->sampled[k] = b.n_logits++;
      if (plain_greedy(it->group->user)) b.want_argmax = true;
      if (!pure_greedy(it->group->user)) b.want_logits = true;
    }
    if (it->start + it->n > b.max_context) b.max_context = it->start + it->n;
  }
  return b;
}

static void record_transfers(pagedvk_engine *e) {
  const pv_sched_plan *plan = &e->plan;
  pv_vk_cmd *cmd = &e->cmd;
  for (uint32_t i = 0; i < plan->swap_out.count; i++)
    pv_kv_gpu_swap_out(&e->kv_gpu, cmd, plan->swap_out.items[i].src, plan->swap_out.items[i].dst);
  if (plan->swap_out.count) pv_vk_cmd_barrier(cmd, PV_BARRIER_TRANSFER_TO_TRANSFER);
  for (uint32_t i = 0; i < plan->swap_in.count; i++)
    pv_kv_gpu_swap_in(&e->kv_gpu, cmd, plan->swap_in.items[i].src, plan->swap_in.items[i].dst);
  if (plan->swap_in.count) pv_vk_cmd_barrier(cmd, PV_BARRIER_TRANSFER_TO_TRANSFER);
  for (uint32_t i = 0; i < plan->copies.count; i++)
    pv_kv_gpu_copy_block(&e->kv_gpu, cmd, plan->copies.items[i].src, plan->copies.items[i].dst);
  if (plan->swap_out.count + plan->swap_in.count + plan->copies.count)
    pv_vk_cmd_barrier(cmd, PV_BARRIER_TRANSFER_TO_COMPUTE);
}

static void pool_of(const pv_kv_gpu *kv, pv_op_pool *pool) {
  memset(pool, 0, sizeof *pool);
  for (uint32_t i = 0; i < kv->n_bufs; i++) {
    pool->bufs[i] = &kv->bufs[i];
    pool->texels[i] = kv->texels[i];
  }
  for (uint32_t i = 0; i < kv->n_bufs; i++)
    if (!kv->texels[i]) pool->texels[0] = VK_NULL_HANDLE; /* all or none */
  pool->n_bufs = kv->n_bufs;
  pool->block_size = kv->geom.block_size;
  pool->blocks_per_buf = kv->blocks_per_buf;
  pool->n_layer = kv->geom.n_layer;
  pool->n_kv_head = kv->geom.n_kv_head;
  pool->head_dim = kv->geom.head_dim;
  pool->f32 = kv->geom.f32;
  pool->q8 = kv->geom.q8;
}

_Static_assert(PV_KV_POOL_MAX_BUFS == PV_KV_MAX_BUFS, "kv_gpu.h and ops.h must agree on the pool's buffer count");

int pv_engine_warmup(pagedvk_engine *e, pv_error *err) {
  pv_op_pool pool;
  pool_of(&e->kv_gpu, &pool);
  int rc = pv_vk_cmd_begin(&e->cmd, err);
  if (rc) return rc;
  rc = pv_forward_prepare(&e->fw, &e->cmd, &pool, err);
  pv_error err2 = {0};
  int rc2 = pv_vk_cmd_run(&e->cmd, &err2); /* the buffer must end even after an error */
  return pv_error_keep(err, rc, &err2, rc2);
}

static int run_plan(pagedvk_engine *e, pv_forward_batch *b, pv_error *err) {
  *b = write_inputs(e);
  int rc = pv_vk_cmd_begin(&e->cmd, err);
  if (rc) return rc;
  record_transfers(e);
  if (b->n_rows) {
    pv_op_pool pool;
    pool_of(&e->kv_gpu, &pool);
    pool.bufs_in_use = b->max_block / pool.blocks_per_buf + 1;
    rc = pv_forward_record(&e->fw, &e->cmd, &pool, b, err);
  }
  pv_error err2 = {0};
  int rc2 = pv_vk_cmd_run(&e->cmd, &err2); /* submit even after a recording error: the buffer must end */
  return pv_error_keep(err, rc, &err2, rc2);
}

/* n > 1: the prompt's logits give the first token of every sample; samples 1..n-1 fork the
 * prompt's blocks (shared; copy-on-write when they diverge). */
static int fork_samples(pagedvk_engine *e, pv_request *r, uint32_t row, pv_error *err) {
  const uint32_t n = r->sp.n;
  for (uint32_t j = 1; j < n; j++) {
    int rc = pv_engine_seq_state_init(e, r, j, r->st[0].sampler, err);
    if (!rc) rc = pv_sched_fork_seq(&e->sched, &r->group, 0, err); /* becomes r->seqs[j] */
    if (rc) return rc;
  }
  r->forked = true;
  for (uint32_t j = 0; j < n; j++) {
    pv_sample_result res;
    int rc = sample_seq(e, r, j, row, &res, err);
    if (!rc) rc = pv_engine_accept_token(e, r, j, &res, err);
    if (rc) return rc;
  }
  return PAGEDVK_OK;
}

/* Beam search: every live beam got its logits this step (the scheduler runs a group's decodes
 * together). The scheduler gives the new beams their KV: a parent's first child takes its
 * sequence, the others fork it. */
static int step_beams(pagedvk_engine *e, pv_request *r, pv_error *err) {
  const uint32_t n_live = r->group.n_seqs, k = 2 * r->sp.beam_width, V = e->hp.n_vocab;
  int rc0 = gram_start(r, err);
  if (rc0) return rc0;
  for (uint32_t i = 0; i < n_live; i++) {
    uint32_t got = 0;
    pv_cand *c = r->cands + (size_t)i * k;
    const float *logits = e->fw.logits_map + (size_t)r->st[i].logit_row * V;
    int rc = r->grammar ? masked_row(e, r, i, logits, err) : PAGEDVK_OK;
    if (!rc) rc = pv_top_logprobs(r->grammar ? e->logits_tmp : logits, V, k, c, &got, err);
    if (rc) return rc;
    for (uint32_t j = got; j < k; j++) c[j] = (pv_cand){-1, -INFINITY}; /* a vocabulary under k tokens */
  }
  pv_beam_step_out out;
  int rc = pv_beam_step(r->beam, r->cands, k, pv_engine_beam_eog(), e, &out, err);
  if (!rc) rc = pv_sched_reparent(&e->sched, &r->group, out.parent, out.n_live, err);
  for (uint32_t j = 0; j < out.n_live && !rc; j++) rc = pv_sched_seq_push(&r->seqs[j], out.token[j], err);
  /* each new beam takes its parent's grammar state and moves it over its token */
  for (uint32_t j = 0; j < out.n_live && !rc && r->grammar; j++) {
    rc = pv_gram_state_copy(&r->gram_next[j], &r->st[out.parent[j]].gram, err);
    if (!rc) rc = pv_gram_accept_token(r->grammar, e->gram_vocab, &r->gram_next[j], out.token[j], err);
  }
  for (uint32_t j = 0; j < out.n_live && !rc && r->grammar; j++) {
    pv_gram_state t = r->st[j].gram;
    r->st[j].gram = r->gram_next[j];
    r->gram_next[j] = t;
  }
  if (!rc && out.n_live == 0) r->group.kv_exhausted = true; /* nothing left to extend: finish */
  return rc;
}

static int sample_item(pagedvk_engine *e, const pv_sched_item *it, uint32_t row, pv_error *err) {
  pv_request *r = it->group->user;
  int rc = gram_start(r, err);
  if (rc) return rc;
  if (!r->forked && r->sp.n > 1 && !r->beam) return fork_samples(e, r, row, err);
  pv_sample_result res;
  memset(&res, 0, sizeof res);
  if (pure_greedy(r)) {
    rc = device_argmax(e, row, &res.token, err);
    if (rc) return rc;
  } else {
    rc = sample_seq(e, r, it->seq_index, row, &res, err);
    if (rc) return rc;
  }
  return pv_engine_accept_token(e, r, it->seq_index, &res, err);
}

/* Requests touched this step, each once, into e->touched (max_num_seqs entries: the plan has at
 * most that many items). */
static uint32_t touched(pagedvk_engine *e) {
  uint32_t n = 0;
  double now = 0;
  e->step_mark++;
  for (uint32_t k = 0; k < e->plan.n_items; k++) {
    pv_request *r = e->plan.items[k].group->user;
    if (r->step_mark == e->step_mark) continue;
    r->step_mark = e->step_mark;
    if (r->t_scheduled == 0) r->t_scheduled = now > 0 ? now : (now = pv_now());
    r->step_status = PAGEDVK_OK;
    r->has_logits = false;
    assert(n < e->opt.max_num_seqs);
    e->touched[n++] = r;
  }
  return n;
}

/* Request r failed this step: the first error wins, and is logged with its message. */
static void request_error(pv_request *r, int rc, const pv_error *err) {
  if (r->step_status) return;
  r->step_status = rc;
  pv_log(PV_LOG_WARN, "request %llu ends with an error: %s", (unsigned long long)r->id, err->msg);
}

/* Samples every item with logits; a request whose sampling, text or fork fails ends with that error
 * alone, the others go on. */
static void sample_all(pagedvk_engine *e) {
  const uint32_t n_reqs = touched(e);
  for (uint32_t k = 0; k < e->plan.n_items; k++) {
    const pv_sched_item *it = &e->plan.items[k];
    pv_request *r = it->group->user;
    if (e->sampled[k] == NO_ROW || r->step_status) continue;
    if (r->beam) {
      r->st[it->seq_index].logit_row = e->sampled[k];
      r->has_logits = true;
      continue;
    }
    pv_error err = {0};
    int rc = sample_item(e, it, e->sampled[k], &err);
    if (rc) request_error(r, rc, &err);
  }
  for (uint32_t j = 0; j < n_reqs; j++) {
    pv_request *r = e->touched[j];
    pv_error err = {0};
    /* a beam search steps once all its beams have logits (not while its prompt is in chunks) */
    int rc = r->beam && r->has_logits && !r->step_status ? step_beams(e, r, &err) : PAGEDVK_OK;
    if (rc) request_error(r, rc, &err);
  }
  for (uint32_t j = 0; j < n_reqs; j++) {
    pv_request *r = e->touched[j];
    if (r->step_status) pv_engine_finish_request(e, r, PAGEDVK_FINISH_ERROR, r->step_status);
    else pv_engine_maybe_finish(e, r);
  }
}

/* Groups the scheduler found alone and still out of blocks end with "length". */
static void end_exhausted(pagedvk_engine *e) {
  for (pv_request *r = e->live, *next; r; r = next) {
    next = r->next;
    if (r->group.kv_exhausted && r->group.state == PV_GROUP_RUNNING)
      pv_engine_finish_request(e, r, PAGEDVK_FINISH_LENGTH, PAGEDVK_ERR_KV_FULL);
  }
}

/* Prompt and generated tokens in the plan; read before sampling, which may free finished groups. */
static void count_plan_tokens(const pagedvk_engine *e, uint32_t *prompt, uint32_t *gen) {
  *prompt = *gen = 0;
  for (uint32_t k = 0; k < e->plan.n_items; k++) {
    const pv_sched_item *it = &e->plan.items[k];
    if (it->start < it->group->n_prompt) *prompt += it->n;
    else *gen += it->n;
  }
}

/* The step failed before sampling (planning, recording, submitting, committing). A lost device
 * fails every request and the step returns the error. Anything else fails the requests the step
 * concerns: every request when the plan moved blocks (swaps, copy-on-write copies: their contents
 * are unknown now); else the one the scheduler was serving when planning failed; else those with
 * tokens in the plan (and every request when there are none, so that no error repeats forever).
 * The engine goes on with the others. */
static int step_failed(pagedvk_engine *e, int rc, const pv_error *err) {
  if (rc == PAGEDVK_ERR_DEVICE_LOST) {
    pv_engine_fail_all(e, rc);
    pv_engine_update_stats(e);
    return rc;
  }
  pv_log(PV_LOG_ERROR, "engine step failed (%s): %s", pagedvk_status_str(rc), err->msg);
  const pv_sched_plan *plan = &e->plan;
  const uint32_t n = touched(e);
  if (plan->swap_out.count || plan->swap_in.count || plan->copies.count || (!plan->failed && !n)) {
    pv_engine_fail_all(e, rc);
  } else if (plan->failed) {
    pv_engine_finish_request(e, plan->failed->user, PAGEDVK_FINISH_ERROR, rc);
  } else {
    for (uint32_t j = 0; j < n; j++) pv_engine_finish_request(e, e->touched[j], PAGEDVK_FINISH_ERROR, rc);
  }
  pv_engine_update_stats(e);
  return PAGEDVK_OK;
}

int pv_engine_step_once(pagedvk_engine *e, pv_error *err) {
  pv_engine_take_inbox(e);
  pv_engine_apply_aborts(e);
  if (!e->live) {
    pv_engine_update_stats(e);
    return PAGEDVK_OK;
  }
  double t0 = pv_now();
  int rc = pv_sched_step(&e->sched, &e->plan, err);
  const uint32_t blocks_used = pv_kv_total_blocks(e->kv) - pv_kv_free_blocks(e->kv); /* this step's peak */
  if (!rc) end_exhausted(e);
  bool work = e->plan.n_items || e->plan.swap_out.count || e->plan.swap_in.count || e->plan.copies.count;
  pv_forward_batch b = {0};
  if (!rc && work) rc = run_plan(e, &b, err);
  if (!rc) rc = pv_sched_commit(&e->sched, &e->plan, err);
  uint32_t prompt = 0, gen = 0;
  if (!rc) count_plan_tokens(e, &prompt, &gen);
  if (!rc && b.n_rows && e->fw.times.on) {
    pthread_mutex_lock(&e->lock); /* pagedvk_engine_stage_times reads them from any thread */
    rc = pv_forward_times_collect(&e->fw, prompt > 0, err);
    pthread_mutex_unlock(&e->lock);
  }
  if (rc) return step_failed(e, rc, err);
  if (b.n_logits) sample_all(e);
  pv_engine_count_step(e, pv_now() - t0, prompt, gen, e->plan.n_items, blocks_used);
  pv_engine_update_stats(e);
  return PAGEDVK_OK;
}
