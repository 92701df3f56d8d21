/*
 * engine_internal.h — what a pagedvk_engine holds, shared by the engine's files:
 *   engine.c        create / destroy / options / the run loops
 *   engine_stats.c  the stats snapshot other threads read, and the counters steps and requests add to
 *   requests.c      the request life cycle: add, abort, token events, finishing
 *   step.c          one step: plan (sched) → block copies + forward pass (model) → sample → stream
 *   grammars.c      compiled grammars shared by requests with the same grammar
 * Calls go one way: engine.c → step.c → requests.c, each of them → engine_stats.c.
 *
 * No fixed caps: the per-step scratch (sampled rows, touched requests, beam hypotheses) holds
 * max_num_seqs entries, allocated at creation; a request's n and beam width are checked against
 * max_num_seqs when it is added; a beam request owns its candidate buffer (width x 2*width).
 *
 * Threads: any thread may add or abort requests and read stats (under `lock`); one thread at a
 * time runs steps, and only it touches the scheduler, the KV manager and the device.
 */
#ifndef PV_ENGINE_INTERNAL_H
#define PV_ENGINE_INTERNAL_H

#include <pthread.h>

#include "engine/model_handle.h"
#include "kv/kv_gpu.h"
#include "kv/kv_layout.h"
#include "kv/kv_manager.h"
#include "model/forward.h"
#include "sample/beam.h"
#include "sample/grammar/grammar.h"
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
  pv_gram_state gram; /* where its text is in the request's grammar (when it has one) */
  bool gram_ready;    /* gram was made (at the first step: the grammar may be shared) */
  bool done;
} pv_seq_state;

/* A compiled grammar shared by the requests that bring the same one (grammars.c). */
typedef struct pv_grammar_ref {
  int kind;
  char *text;
  size_t len;
  pv_grammar *g;
  uint32_t refs;      /* live requests using it (under the engine's lock) */
  uint64_t last_use;
  struct pv_grammar_ref *next;
} pv_grammar_ref;

typedef struct pv_request {
  uint64_t id;
  pv_sched_group group;       /* group.user == this; group.seqs points at seqs */
  pv_sched_seq *seqs;         /* capacity: max(n, beam_width) */
  pv_seq_state *st;           /* parallel to seqs */
  uint32_t cap;
  pagedvk_sampling_params sp; /* with stop strings and ids copied below */
  char **stop_copy;
  size_t *stop_len_copy;
  int32_t *stop_ids_copy;
  pagedvk_token_cb cb;
  void *user;
  uint32_t n_prompt;
  bool forked;                /* n > 1: the samples exist (after the prompt's logits) */
  pv_grammar *grammar;        /* constrained decoding: gref's grammar (NULL: none) */
  pv_grammar_ref *gref;       /* the engine's shared entry, held while the request lives */
  pv_gram_state *gram_next;   /* beam search with a grammar: the new beams' states (cap entries) */
  pv_beam_search *beam;       /* beam_width > 1 */
  pv_cand *cands;             /* beam search: width rows of 2 * width candidates */
  uint64_t step_mark;         /* == the engine's step_mark: already in this step's touched list */
  int step_status;            /* this step's error for this request (first one wins), else 0 */
  bool has_logits;            /* beam search: its beams got logits this step */
  bool abort_requested;
  double t_arrival;
  double t_scheduled;         /* when a step first took it (0: not yet): its queue time for the events */
  struct pv_request *next;    /* engine's list of live requests */
} pv_request;

/* The longest context the engine runs (tokens): bounds the block tables and a request's token list
 * whatever a file's context_length says (Qwen2.5-1M's 1010000 fits). */
#define PV_MAX_MODEL_LEN (1u << 20)

struct pagedvk_engine {
  pagedvk_engine_options opt; /* opt.max_model_len: the context in effect (engine.c clamp_context) */
  uint32_t ctx_before_pool;   /* the context before the KV pool's clamp: prompts up to it are KV_FULL, beyond TOO_LONG */
  bool ctx_given;             /* max_model_len came from the caller's option, not the file */
  pagedvk_model *model;
  pv_hparams hp;
  pv_vk_context *ctx;
  pv_ops ops;
  pv_dev_model dev;
  pv_kv_gpu kv_gpu;
  pv_kv_manager *kv;
  pv_kv_layout layout; /* which layers share a block (sliding-window groups) */
  bool layout_ready;
  pv_forward fw;
  pv_sched sched;
  pv_sched_plan plan;
  pv_vk_cmd cmd;
  bool ops_ready, dev_ready, kv_gpu_ready, fw_ready, sched_ready, cmd_ready;

  pthread_mutex_t lock;       /* guards inbox, aborts, stats, stop flag */
  pthread_cond_t wake;
  pv_request *inbox, *inbox_tail;
  uint64_t *aborts;           /* ids to abort, n_aborts of them; the step thread swaps this array */
  uint32_t n_aborts, cap_aborts; /* with aborts_work and applies them all in one step */
  uint64_t *aborts_work;
  uint32_t cap_aborts_work;
  bool stop;
  uint64_t next_id;

  pv_request *live;           /* requests owned by the step thread */
  uint32_t *sampled;          /* scratch: items' logit rows (max_num_seqs) */
  pv_request **touched;       /* scratch: requests in this step's plan, each once (max_num_seqs) */
  uint64_t step_mark;         /* bumped for each touched list */
  pv_beam_hyp *hyps;          /* scratch: a finished beam search's hypotheses (max_num_seqs) */
  float *logits_tmp;          /* scratch copy of one logits row (n_vocab) */
  pv_gram_vocab *gram_vocab;  /* the vocabulary in prefix-trie order, made at the first grammar step */
  pv_grammar_ref *grammars;   /* compiled grammars by kind and text (grammars.c; under `lock`) */
  uint64_t grammar_clock;
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
void pv_request_free(pagedvk_engine *e, pv_request *r);
/* Sampler (fresh, or cloned from `parent` as sample i), detokenizer and stop matcher of seq i. */
int pv_engine_seq_state_init(pagedvk_engine *e, pv_request *r, uint32_t i, const pv_sampler *parent, pv_error *err);
pv_beam_is_eog_fn pv_engine_beam_eog(void);

/* grammars.c */
/* The compiled grammar of (kind, text), shared with other requests, compiled when new (caller's
 * thread); every get is matched by a put. */
int pv_engine_grammar_get(pagedvk_engine *e, int kind, const char *text, size_t len, pv_grammar_ref **out,
                          pv_error *err);
void pv_engine_grammar_put(pagedvk_engine *e, pv_grammar_ref *g);
void pv_engine_grammars_free(pagedvk_engine *e);

/* step.c */
int pv_engine_step_once(pagedvk_engine *e, pv_error *err);
/* Creates every pipeline the steps can use and runs each pair once (engine creation, warmup on). */
int pv_engine_warmup(pagedvk_engine *e, pv_error *err);
/* The pool's element type the options ask for (kv_f32 = 1 with kv_type f16: f32). */
pagedvk_kv_type pv_engine_kv_type(const pagedvk_engine_options *o);

/* engine_stats.c */
/* Refreshes the snapshot other threads read (step thread). */
void pv_engine_update_stats(pagedvk_engine *e);
/* A step ran for `seconds` with these prompt / generated tokens and sequences. */
void pv_engine_count_step(pagedvk_engine *e, double seconds, uint32_t prompt, uint32_t gen, uint32_t n_seqs,
                          uint32_t blocks_used);
void pv_engine_count_finished(pagedvk_engine *e);

#endif
