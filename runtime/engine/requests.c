/*
 * requests.c — a request's life: queued by any thread (inbox), taken into the scheduler by the
 * step thread, fed tokens that become text events, and finished (stop, length, abort, error)
 * with its KV blocks returned at once.
 */
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "engine/engine_internal.h"
#include "sample/params.h"

static pv_request *request_new(const pagedvk_sampling_params *sp, uint32_t n_prompt) {
  pv_request *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->sp = *sp;
  r->n_prompt = n_prompt;
  r->cap = sp->beam_width > 1 ? sp->beam_width : (sp->n ? sp->n : 1);
  r->seqs = calloc(r->cap, sizeof *r->seqs);
  r->st = calloc(r->cap, sizeof *r->st);
  if (sp->beam_width > 1) r->cands = calloc((size_t)sp->beam_width * 2 * sp->beam_width, sizeof *r->cands);
  if (!r->seqs || !r->st || (sp->beam_width > 1 && !r->cands)) {
    pv_request_free(NULL, r);
    return NULL;
  }
  r->group.seqs = r->seqs;
  r->group.n_seqs = 1;
  r->group.user = r;
  r->group.priority = sp->priority;
  r->group.n_prompt = n_prompt;
  r->group.max_len = n_prompt + sp->max_tokens + 1;
  return r;
}

static void seq_state_free(pv_seq_state *st) {
  pv_sampler_destroy(st->sampler);
  pv_detok_free(&st->detok);
  pv_stop_destroy(st->stop);
  pv_gram_state_free(&st->gram);
  memset(st, 0, sizeof *st);
}

void pv_request_free(pagedvk_engine *e, pv_request *r) {
  if (!r) return;
  for (uint32_t i = 0; i < r->cap && r->st; i++) seq_state_free(&r->st[i]);
  for (uint32_t i = 0; i < r->cap && r->seqs; i++) free(r->seqs[i].tokens);
  for (uint32_t i = 0; r->stop_copy && i < r->sp.n_stop; i++) free(r->stop_copy[i]);
  free(r->stop_copy);
  free(r->stop_len_copy);
  free(r->stop_ids_copy);
  pv_beam_destroy(r->beam);
  for (uint32_t i = 0; r->gram_next && i < r->cap; i++) pv_gram_state_free(&r->gram_next[i]);
  free(r->gram_next);
  if (e) pv_engine_grammar_put(e, r->gref);
  free(r->cands);
  free(r->seqs);
  free(r->st);
  free(r);
}

static int cmp_i32(const void *a, const void *b) {
  const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* Copies what the caller's params point at, so the request owns everything it reads later. */
static int copy_params(pv_request *r, pv_error *err) {
  if (!r->sp.n_stop) r->sp.stop_len = NULL;
  if (r->sp.n_stop) {
    r->stop_copy = calloc(r->sp.n_stop, sizeof *r->stop_copy);
    if (!r->stop_copy) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "out of memory");
    r->stop_len_copy = calloc(r->sp.n_stop, sizeof *r->stop_len_copy);
    if (!r->stop_len_copy) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "out of memory");
    for (uint32_t i = 0; i < r->sp.n_stop; i++) {
      const char *s = r->sp.stop[i] ? r->sp.stop[i] : "";
      size_t len = r->sp.stop[i] && r->sp.stop_len ? r->sp.stop_len[i] : strlen(s);
      if (!(r->stop_copy[i] = malloc(len + 1))) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "out of memory");
      memcpy(r->stop_copy[i], s, len);
      r->stop_copy[i][len] = 0;
      r->stop_len_copy[i] = len;
    }
    r->sp.stop = (const char *const *)r->stop_copy;
    r->sp.stop_len = r->stop_len_copy;
  }
  if (r->sp.n_stop_ids) { /* sorted without repeats: is_stop_id searches it by halves */
    r->stop_ids_copy = malloc(r->sp.n_stop_ids * sizeof(int32_t));
    if (!r->stop_ids_copy) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "out of memory");
    memcpy(r->stop_ids_copy, r->sp.stop_ids, r->sp.n_stop_ids * sizeof(int32_t));
    qsort(r->stop_ids_copy, r->sp.n_stop_ids, sizeof(int32_t), cmp_i32);
    uint32_t n = 1;
    for (uint32_t i = 1; i < r->sp.n_stop_ids; i++)
      if (r->stop_ids_copy[i] != r->stop_ids_copy[n - 1]) r->stop_ids_copy[n++] = r->stop_ids_copy[i];
    r->sp.n_stop_ids = n;
    r->sp.stop_ids = r->stop_ids_copy;
  }
  return PAGEDVK_OK;
}

int pv_engine_seq_state_init(pagedvk_engine *e, pv_request *r, uint32_t i, const pv_sampler *parent, pv_error *err) {
  pv_seq_state *st = &r->st[i];
  int rc = parent ? pv_sampler_clone(&st->sampler, parent, i, err)
                  : pv_sampler_create(&st->sampler, &r->sp, e->hp.n_vocab, err);
  if (!rc && !parent) rc = pv_sampler_add_prompt(st->sampler, r->seqs[0].tokens, r->n_prompt, err);
  if (!rc) pv_detok_init(&st->detok, &e->model->tok, 0);
  if (!rc && r->sp.n_stop) rc = pv_stop_create(&st->stop, r->sp.stop, r->sp.stop_len, r->sp.n_stop, err);
  /* a fork starts where sample 0 is (after the prompt: the grammar's start); sample 0's state is
   * made at its first step, on the step thread (pv_engine_grammar_get says why) */
  if (!rc && r->grammar && parent) {
    rc = pv_gram_state_copy(&st->gram, &r->st[0].gram, err);
    st->gram_ready = !rc;
  }
  return rc;
}

/* Finds or compiles the request's grammar (on the caller's thread) and drops the caller's
 * pointer to its text. */
static int grammar_init(pagedvk_engine *e, pv_request *r, pv_error *err) {
  const int kind = r->sp.grammar_kind;
  const char *text = r->sp.grammar;
  const size_t len = r->sp.grammar_len || !text ? r->sp.grammar_len : strlen(text);
  /* r->grammar is what says the request has one from here on */
  r->sp.grammar_kind = PAGEDVK_GRAMMAR_NONE;
  r->sp.grammar = NULL;
  r->sp.grammar_len = 0;
  if (kind == PAGEDVK_GRAMMAR_NONE) return PAGEDVK_OK;
  int rc = pv_engine_grammar_get(e, kind, text, len, &r->gref, err);
  if (!rc) r->grammar = r->gref->g;
  if (!rc && r->sp.beam_width > 1) {
    r->gram_next = calloc(r->cap, sizeof *r->gram_next);
    if (!r->gram_next) rc = pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "out of memory");
  }
  return rc;
}

static int request_init(pagedvk_engine *e, pv_request *r, const int32_t *prompt, size_t n, pv_error *err) {
  int rc = copy_params(r, err);
  if (!rc) rc = grammar_init(e, r, err);
  /* The token list holds the prompt and every token the request may generate: no growth per step. */
  uint64_t want = (uint64_t)n + (r->sp.max_tokens ? r->sp.max_tokens : e->opt.max_model_len) + 1;
  if (want > e->opt.max_model_len + 1ull) want = e->opt.max_model_len + 1ull;
  if (!rc && want > n && !r->seqs[0].tokens) {
    r->seqs[0].tokens = malloc(want * sizeof *r->seqs[0].tokens);
    if (!r->seqs[0].tokens) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "engine: out of memory");
    r->seqs[0].cap = (uint32_t)want;
  }
  for (size_t i = 0; i < n && !rc; i++) {
    if (prompt[i] < 0 || (uint32_t)prompt[i] >= e->hp.n_vocab)
      return pv_fail(err, PAGEDVK_ERR_INVALID, "prompt token %zu is %d, outside the vocabulary (%u)", i, prompt[i],
                     e->hp.n_vocab);
    rc = pv_sched_seq_push(&r->seqs[0], prompt[i], err);
  }
  if (!rc) rc = pv_engine_seq_state_init(e, r, 0, NULL, err);
  if (!rc && r->sp.beam_width > 1) {
    uint32_t max_len = e->opt.max_model_len - r->n_prompt;
    pv_beam_config bc = {r->sp.beam_width, r->sp.n ? r->sp.n : 1, 2 * r->sp.beam_width,
                         r->sp.max_tokens < max_len ? r->sp.max_tokens : max_len, r->sp.length_penalty};
    rc = pv_beam_create(&r->beam, &bc, err);
  }
  return rc;
}

int pagedvk_engine_add_request(pagedvk_engine *e, const int32_t *prompt, size_t n_prompt,
                               const pagedvk_sampling_params *sp_in, pagedvk_token_cb cb, void *user,
                               uint64_t *request_id, char *errbuf, size_t err_size) {
  pv_error err = {0};
  pagedvk_sampling_params sp;
  if (sp_in) sp = *sp_in;
  else pagedvk_sampling_params_default(&sp);
  if (!sp.n) sp.n = 1;
  int rc = pv_sampling_params_check(&sp, &err);
  if (!rc && (sp.beam_width > 1 ? sp.beam_width : sp.n) > e->opt.max_num_seqs)
    rc = pv_fail(&err, PAGEDVK_ERR_INVALID, "n / beam width %u exceeds --max-num-seqs %u",
                 sp.beam_width > 1 ? sp.beam_width : sp.n, e->opt.max_num_seqs);
  if (!rc && n_prompt > UINT32_MAX) rc = pv_fail(&err, PAGEDVK_ERR_TOO_LONG, "prompt too long");
  /* within the model's context but past what the pool holds (the context was clamped to the pool):
   * the pool is what is short */
  if (!rc && n_prompt >= e->ctx_before_pool)
    rc = pv_fail(&err, PAGEDVK_ERR_TOO_LONG, "the prompt has %zu tokens; this model's context allows %u", n_prompt,
                 e->ctx_before_pool - 1);
  if (!rc && n_prompt >= e->opt.max_model_len)
    rc = pv_fail(&err, PAGEDVK_ERR_KV_FULL,
                 "the prompt needs %u KV blocks; the whole pool has %u and holds at most %u tokens (raise --kv-mem)",
                 pv_kv_blocks_for_sequence(e->kv, (uint32_t)n_prompt + 1), pv_kv_total_blocks(e->kv),
                 e->opt.max_model_len);
  if (!rc) rc = pv_sched_check_prompt(&e->sched, (uint32_t)n_prompt, sp.max_tokens, &err);
  pv_request *r = NULL;
  if (!rc && !(r = request_new(&sp, (uint32_t)n_prompt))) rc = pv_fail(&err, PAGEDVK_ERR_NO_MEMORY, "out of memory");
  if (!rc) rc = request_init(e, r, prompt, n_prompt, &err);
  if (rc) {
    pv_request_free(e, r);
    pv_error_copy(&err, errbuf, err_size);
    return rc;
  }
  r->cb = cb;
  r->user = user;
  r->t_arrival = pv_now();
  pthread_mutex_lock(&e->lock);
  const uint64_t id = r->id = e->next_id++;
  if (e->inbox_tail) e->inbox_tail->next = r;
  else e->inbox = r;
  e->inbox_tail = r;
  e->stats.requests_waiting++;
  pthread_cond_broadcast(&e->wake);
  pthread_mutex_unlock(&e->lock);
  /* r belongs to the step thread from the unlock on (it may be finished and freed already): only
   * the copy of its id is read here */
  if (request_id) *request_id = id;
  return PAGEDVK_OK;
}

void pagedvk_engine_abort(pagedvk_engine *e, uint64_t id) {
  pthread_mutex_lock(&e->lock);
  if (PV_GROW_U32(e->aborts, e->cap_aborts, (size_t)e->n_aborts + 1) == PAGEDVK_OK) e->aborts[e->n_aborts++] = id;
  else pv_log(PV_LOG_ERROR, "engine: no memory to queue the abort of request %llu", (unsigned long long)id);
  pthread_cond_broadcast(&e->wake);
  pthread_mutex_unlock(&e->lock);
}

/* Moves queued requests into the scheduler (step thread). */
void pv_engine_take_inbox(pagedvk_engine *e) {
  pthread_mutex_lock(&e->lock);
  pv_request *r = e->inbox;
  e->inbox = e->inbox_tail = NULL;
  pthread_mutex_unlock(&e->lock);
  while (r) {
    pv_request *next = r->next;
    r->next = e->live;
    e->live = r;
    if (e->sched_ready) pv_sched_add(&e->sched, &r->group);
    else r->group.state = PV_GROUP_WAITING;
    r = next;
  }
}

/* Every abort queued so far takes effect in this step: the queue's array is swapped for the
 * (empty) work array under the lock, so callers go on queueing while the step applies them. */
void pv_engine_apply_aborts(pagedvk_engine *e) {
  pthread_mutex_lock(&e->lock);
  const uint32_t n = e->n_aborts;
  uint64_t *ids = e->aborts;
  uint32_t cap = e->cap_aborts;
  e->aborts = e->aborts_work;
  e->cap_aborts = e->cap_aborts_work;
  e->n_aborts = 0;
  e->aborts_work = ids;
  e->cap_aborts_work = cap;
  pthread_mutex_unlock(&e->lock);
  for (uint32_t i = 0; i < n; i++)
    for (pv_request *r = e->live; r; r = r->next)
      if (r->id == ids[i]) {
        pv_engine_finish_request(e, r, PAGEDVK_FINISH_ABORT, PAGEDVK_ERR_ABORTED);
        break;
      }
}

static void emit(pv_request *r, uint32_t i, int32_t token, const char *text, size_t len, const pv_sample_result *res,
                 pagedvk_finish_reason finish, int status) {
  if (!r->cb) return;
  pagedvk_token_event ev = {.request_id = r->id, .index = i, .token = token, .text = text ? text : "",
                            .text_len = len, .finish = finish, .status = status, .prompt_tokens = r->n_prompt,
                            .completion_tokens = r->st[i].generated,
                            .queue_seconds = r->t_scheduled > 0 ? r->t_scheduled - r->t_arrival : -1};
  if (finish == PAGEDVK_FINISH_LENGTH && r->grammar && !r->beam && i < r->cap)
    ev.grammar_incomplete = !pv_gram_state_complete(&r->st[i].gram);
  if (res) {
    ev.logprob = res->logprob;
    ev.top_ids = res->top_ids;
    ev.top_logprobs = res->top_logprobs;
    ev.n_top = res->n_top;
  }
  r->cb(&ev, r->user);
}

/* Ends sequence i: flushes held text, sends its final event, returns its blocks. */
static void end_seq(pagedvk_engine *e, pv_request *r, uint32_t i, pagedvk_finish_reason why, int status) {
  pv_seq_state *st = &r->st[i];
  if (st->done) return;
  st->done = true;
  const char *text = NULL;
  size_t len = 0;
  if (why != PAGEDVK_FINISH_ABORT && why != PAGEDVK_FINISH_ERROR && !r->beam) {
    int rc = pv_detok_flush(&st->detok, &text, &len, NULL);
    if (!rc && st->stop) {
      pv_stop_out so;
      if (len) rc = pv_stop_feed(st->stop, text, len, &so, NULL);
      if (!rc) pv_stop_flush(st->stop, &so);
      text = so.text;
      len = so.len;
    }
    if (rc) { /* the held text is lost: the sample ends with the error instead */
      why = PAGEDVK_FINISH_ERROR;
      status = rc;
      text = NULL;
      len = 0;
    }
  }
  if (!r->beam) emit(r, i, -1, text, len, NULL, why, status);
  if (e->sched_ready && r->group.state != PV_GROUP_FINISHED) pv_sched_seq_done(&e->sched, &r->seqs[i]);
  else r->seqs[i].finished = true;
}

static void unlink_live(pagedvk_engine *e, pv_request *r) {
  for (pv_request **p = &e->live; *p; p = &(*p)->next)
    if (*p == r) {
      *p = r->next;
      return;
    }
}

void pv_engine_finish_request(pagedvk_engine *e, pv_request *r, pagedvk_finish_reason why, int status) {
  uint32_t n = r->forked || r->beam ? r->group.n_seqs : 1;
  if (r->beam && why != PAGEDVK_FINISH_ABORT && why != PAGEDVK_FINISH_ERROR) {
    pv_engine_maybe_finish(e, r);
    return;
  }
  for (uint32_t i = 0; i < n; i++) end_seq(e, r, i, why, status);
  /* requested samples that never came to exist (n > 1 before the prompt finished), and a beam
   * search's hypotheses (its beams send no events of their own): one final event each */
  for (uint32_t i = r->beam ? 0 : n; i < (r->sp.n ? r->sp.n : 1); i++) {
    r->st[i].generated = 0;
    emit(r, i, -1, NULL, 0, NULL, why, status);
  }
  if (e->sched_ready && r->group.state != PV_GROUP_FINISHED) pv_sched_remove(&e->sched, &r->group);
  unlink_live(e, r);
  pv_engine_count_finished(e);
  pv_request_free(e, r);
}

void pv_engine_fail_all(pagedvk_engine *e, int status) {
  pagedvk_finish_reason why = status == PAGEDVK_ERR_ABORTED ? PAGEDVK_FINISH_ABORT : PAGEDVK_FINISH_ERROR;
  while (e->live) pv_engine_finish_request(e, e->live, why, status);
}

/* The request's stop ids are sorted (copy_params): O(log n) per token. */
static bool is_stop_id(const pv_request *r, int32_t t) {
  uint32_t lo = 0, hi = r->sp.n_stop_ids;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (r->sp.stop_ids[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo < r->sp.n_stop_ids && r->sp.stop_ids[lo] == t;
}

/* Streams the text of a new token through the detokenizer and the stop matcher; *stopped when a
 * stop string matched. An error (no memory for the text) is returned: the request ends with it. */
static int stream_text(pv_request *r, uint32_t i, const pv_sample_result *res, bool *stopped, pv_error *err) {
  pv_seq_state *st = &r->st[i];
  const char *text = NULL;
  size_t len = 0;
  *stopped = false;
  int rc = pv_detok_feed(&st->detok, res->token, &text, &len, err);
  if (rc) return rc;
  if (st->stop) {
    pv_stop_out so;
    rc = pv_stop_feed(st->stop, text, len, &so, err);
    if (rc) return rc;
    text = so.text;
    len = so.len;
    *stopped = so.stopped;
  }
  emit(r, i, res->token, text, len, res, PAGEDVK_FINISH_NONE, PAGEDVK_OK);
  return PAGEDVK_OK;
}

int pv_engine_accept_token(pagedvk_engine *e, pv_request *r, uint32_t i, const pv_sample_result *res, pv_error *err) {
  pv_seq_state *st = &r->st[i];
  pv_sched_seq *q = &r->seqs[i];
  int rc = r->grammar ? pv_gram_accept_token(r->grammar, e->gram_vocab, &st->gram, res->token, err) : PAGEDVK_OK;
  if (!rc) rc = pv_sched_seq_push(q, res->token, err);
  if (!rc) rc = pv_sampler_accept(st->sampler, res->token, err);
  if (rc) return rc;
  st->generated++;
  bool eog = !r->sp.ignore_eos && pv_tokenizer_is_eog(&e->model->tok, res->token);
  if (eog || is_stop_id(r, res->token)) {
    end_seq(e, r, i, PAGEDVK_FINISH_STOP, PAGEDVK_OK); /* the stop token itself is not text */
    return PAGEDVK_OK;
  }
  bool stopped = false;
  rc = stream_text(r, i, res, &stopped, err);
  if (rc) return rc;
  /* a grammar that can take nothing more has finished the text: the end-of-generation token it
   * would allow next adds nothing */
  if (stopped || (r->grammar && pv_gram_state_final(&st->gram))) end_seq(e, r, i, PAGEDVK_FINISH_STOP, PAGEDVK_OK);
  else if (st->generated >= r->sp.max_tokens || q->n_tokens >= e->opt.max_model_len) {
    if (r->grammar && !pv_gram_state_complete(&st->gram))
      pv_log(PV_LOG_INFO, "request %llu sample %u: max_tokens ran out before its grammar was complete",
             (unsigned long long)r->id, i);
    end_seq(e, r, i, PAGEDVK_FINISH_LENGTH, PAGEDVK_OK);
  }
  return PAGEDVK_OK;
}

static bool beam_eog(int32_t token, void *user) {
  pagedvk_engine *e = user;
  return pv_tokenizer_is_eog(&e->model->tok, token);
}

/* Beam search: emits each of the best hypotheses as one event with its whole text and its token
 * ids (an end-of-generation token is in neither, as with sampled sequences). A hypothesis whose
 * text cannot be made (no memory) ends with that error. */
static void finish_beams(pagedvk_engine *e, pv_request *r) {
  pv_beam_hyp *hyps = e->hyps; /* n_best <= width <= max_num_seqs entries */
  uint32_t n = pv_beam_final(r->beam, hyps, e->opt.max_num_seqs);
  for (uint32_t h = 0; h < n; h++) {
    char *text = NULL;
    size_t len = 0;
    uint32_t ntok = hyps[h].len - (hyps[h].eog ? 1 : 0);
    int rc = pv_detokenize(&e->model->tok, hyps[h].tokens, ntok, 0, &text, &len, NULL);
    if (r->cb) {
      pagedvk_token_event ev = {.request_id = r->id, .index = h, .token = -1, .text = text ? text : "",
                                .text_len = rc ? 0 : len, .logprob = hyps[h].cum_logprob,
                                .finish = hyps[h].eog ? PAGEDVK_FINISH_STOP : PAGEDVK_FINISH_LENGTH,
                                .status = rc, .prompt_tokens = r->n_prompt, .completion_tokens = hyps[h].len,
                                .token_ids = hyps[h].tokens, .n_token_ids = ntok,
                                .queue_seconds = r->t_scheduled > 0 ? r->t_scheduled - r->t_arrival : -1};
      if (rc) ev.finish = PAGEDVK_FINISH_ERROR;
      r->cb(&ev, r->user);
    }
    free(text);
  }
}

void pv_engine_maybe_finish(pagedvk_engine *e, pv_request *r) {
  if (r->beam) {
    if (!pv_beam_is_done(r->beam) && r->group.state != PV_GROUP_FINISHED && !r->group.kv_exhausted) return;
    finish_beams(e, r);
    for (uint32_t i = 0; i < r->group.n_seqs; i++) r->st[i].done = true;
  } else {
    uint32_t n = r->forked ? r->group.n_seqs : 1;
    for (uint32_t i = 0; i < n; i++)
      if (!r->st[i].done) return;
    if (!r->forked && (r->sp.n ? r->sp.n : 1) > 1 && !r->st[0].done) return;
  }
  if (e->sched_ready && r->group.state != PV_GROUP_FINISHED) pv_sched_remove(&e->sched, &r->group);
  unlink_live(e, r);
  pv_engine_count_finished(e);
  pv_request_free(e, r);
}

pv_beam_is_eog_fn pv_engine_beam_eog(void) { return beam_eog; }
