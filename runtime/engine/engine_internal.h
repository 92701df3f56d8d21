/*
 * engine_internal.h — what a pagedvk_engine holds, shared by the engine's files:
 *   engine.c    create / destroy / options / stats
 *   requests.c  the request life cycle: add, abort, token events, finishing
 *   step.c      one step: plan (sched) → block copies + forward pass (model) → sample → stream
 *
 * Threads: any thread may add or abort requests and read stats (under `lock`); one thread at a
 * time runs steps, and only it touches the scheduler, the KV manager and the device.
 */
#ifndef PV_ENGINE_INTERNAL_H
#define PV_ENGINE_INTERNAL_H

#include <pthread.h>

#include "engine/model_handle.h"
#include "kv/kv_gpu.h"
#include "kv/kv_manager.h"
#include "model/forward.h"
#include "sample/beam.h"
#include "sample/sampler.h"
#include "sample/stop.h"
#include "sched/sched.h"

/* Per-sequence state of a request: how its tokens become text. */
typedef struct pv_seq_state {
  pv_sampler *sampler;
  pv_detok detok;
  pv_stop *stop;
  uint32_t generated;
  uint32_t logit_row; /* beam search: this step's logits row */
  bool done;
} pv_seq_state;

typedef struct pv_request {
  uint64_t id;
  pv_sched_group group;       /* group.user == this; group.seqs points at seqs */
  pv_sched_seq *seqs;         /* capacity: max(n, beam_width) */
  pv_seq_state *st;           /* parallel to seqs */
  uint32_t cap;
  pagedvk_sampling_params sp; /* with stop strings and ids copied below */
  char **stop_copy;
  int32_t *stop_ids_copy;
  pagedvk_token_cb cb;
  void *user;
  uint32_t n_prompt;
  bool forked;                /* n > 1: the samples exist (after the prompt's logits) */
  pv_beam_search *beam;       /* beam_width > 1 */
  bool abort_requested;
  double t_arrival;
  struct pv_request *next;    /* engine's list of live requests */
} pv_request;

struct pagedvk_engine {
  pagedvk_engine_options opt;
  pagedvk_model *model;
  pv_hparams hp;
  pv_vk_context *ctx;
  pv_ops ops;
  pv_dev_model dev;
  pv_kv_gpu kv_gpu;
  pv_kv_manager *kv;
  pv_forward fw;
  pv_sched sched;
  pv_sched_plan plan;
  pv_vk_cmd cmd;
  bool ops_ready, dev_ready, kv_gpu_ready, fw_ready, sched_ready, cmd_ready;

  pthread_mutex_t lock;       /* guards inbox, aborts, stats, stop flag */
  pthread_cond_t wake;
  pv_request *inbox, *inbox_tail;
  uint64_t *aborts;
  uint32_t n_aborts, cap_aborts;
  bool stop;
  uint64_t next_id;

  pv_request *live;           /* requests owned by the step thread */
  uint32_t *sampled;          /* scratch: items' logit rows */
  float *logits_tmp;          /* scratch copy of one logits row (n_vocab) */
  pv_cand *cands;             /* scratch for beam search candidates */
  pagedvk_stats stats;
};

/* requests.c */
void pv_engine_take_inbox(pagedvk_engine *e);
void pv_engine_apply_aborts(pagedvk_engine *e);
void pv_engine_finish_request(pagedvk_engine *e, pv_request *r, pagedvk_finish_reason why, int status);
void pv_engine_fail_all(pagedvk_engine *e, int status);
/* Handles a sampled token of sequence i (text, stops, limits); may end the sequence. */
int pv_engine_accept_token(pagedvk_engine *e, pv_request *r, uint32_t i, const pv_sample_result *res, pv_error *err);
/* Ends the request when every sequence is done (beam search: emits the best hypotheses). */
void pv_engine_maybe_finish(pagedvk_engine *e, pv_request *r);
void pv_request_free(pv_request *r);
/* Sampler (fresh, or cloned from `parent` as sample i), detokenizer and stop matcher of seq i. */
int pv_engine_seq_state_init(pagedvk_engine *e, pv_request *r, uint32_t i, const pv_sampler *parent, pv_error *err);
pv_beam_is_eog_fn pv_engine_beam_eog(void);

/* step.c */
int pv_engine_step_once(pagedvk_engine *e, pv_error *err);
/* Creates every pipeline the steps can use and runs each pair once (engine creation, warmup on). */
int pv_engine_warmup(pagedvk_engine *e, pv_error *err);

/* engine.c */
void pv_engine_update_stats(pagedvk_engine *e);

#endif
