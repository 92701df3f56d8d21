/*
 * pagedvk.h — the public C API of pagedvk, a PagedAttention LLM inference runtime on Vulkan compute.
 *
 * This header is the only door into the library: the CLI (tools/pagedvk), the HTTP server
 * (runtime/server) and embedding programs use nothing else.
 *
 * Conventions: every function that can fail returns a pagedvk_status (0 = PAGEDVK_OK) and, when
 * given a non-NULL `char *err, size_t err_size` pair, writes one human-readable line there.
 * Objects are created by a create or open function and released by the matching destroy or close.
 */
#ifndef PAGEDVK_H
#define PAGEDVK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PAGEDVK_VERSION_MAJOR 0
#define PAGEDVK_VERSION_MINOR 1
#define PAGEDVK_VERSION_PATCH 0
#define PAGEDVK_VERSION_STRING "0.1.0"

typedef enum pagedvk_status {
  PAGEDVK_OK = 0,
  PAGEDVK_ERR_INVALID = -1,     /* bad argument or option */
  PAGEDVK_ERR_IO = -2,          /* file could not be opened or read */
  PAGEDVK_ERR_FORMAT = -3,      /* malformed file (GGUF) or input */
  PAGEDVK_ERR_UNSUPPORTED = -4, /* valid but not supported: tensor type, architecture, device feature */
  PAGEDVK_ERR_NO_DEVICE = -5,   /* no Vulkan driver or no usable device */
  PAGEDVK_ERR_VULKAN = -6,      /* a Vulkan call failed */
  PAGEDVK_ERR_NO_MEMORY = -7,   /* host or device allocation failed */
  PAGEDVK_ERR_KV_FULL = -8,     /* the KV block pool cannot hold the request */
  PAGEDVK_ERR_TOO_LONG = -9,    /* prompt or request longer than the context allows */
  PAGEDVK_ERR_ABORTED = -10,    /* request aborted (client went away, shutdown) */
  PAGEDVK_ERR_DEVICE_LOST = -11 /* the device was lost or a submit failed */
} pagedvk_status;

/* A short constant name for a status ("PAGEDVK_ERR_FORMAT" → "format error"). */
const char *pagedvk_status_str(int status);

/* ---------------------------------------------------------------------------------------------
 * Devices
 * ------------------------------------------------------------------------------------------- */

/* Writes the Vulkan devices, the one pagedvk would choose (PAGEDVK_DEVICE selects by index or
 * name substring) and its capability record and limits, as text, to `out`. */
int pagedvk_print_devices(FILE *out, char *err, size_t err_size);

/* ---------------------------------------------------------------------------------------------
 * Models (GGUF files): metadata, tokenizer, CPU reference
 * ------------------------------------------------------------------------------------------- */

typedef struct pagedvk_model pagedvk_model;

int pagedvk_model_open(pagedvk_model **out, const char *path, char *err, size_t err_size);
void pagedvk_model_close(pagedvk_model *model);

/* Architecture, hyper-parameters, tokenizer, chat template family, tensors with types and shapes,
 * parameter count and bytes per type, as text. */
void pagedvk_model_print_info(const pagedvk_model *model, FILE *out);


/* ---------------------------------------------------------------------------------------------
 * Sampling
 * ------------------------------------------------------------------------------------------- */

typedef struct pagedvk_sampling_params {
  float temperature;        /* 0 = greedy (argmax, lowest id on ties); default 0.8 */
  int32_t top_k;            /* keep the k most likely tokens; 0 = off */
  float top_p;              /* nucleus: smallest set with probability >= top_p; 1 = off */
  float min_p;              /* drop tokens with p < min_p * p_max; 0 = off */
  float repetition_penalty; /* divide positive / multiply negative logits of seen tokens; 1 = off */
  float presence_penalty;   /* subtract once per generated token present; 0 = off */
  float frequency_penalty;  /* subtract per occurrence in the generated tokens; 0 = off */
  uint64_t seed;            /* used when has_seed: the same request gives the same text */
  int has_seed;
  uint32_t max_tokens;      /* generated tokens at most; default 256 */
  int ignore_eos;           /* keep going past end-of-generation tokens */
  const int32_t *stop_ids;  /* extra token ids that end generation */
  uint32_t n_stop_ids;
  const char *const *stop;  /* strings that end generation (not included in the output) */
  uint32_t n_stop;
  uint32_t n;               /* parallel samples sharing the prompt's KV blocks; default 1 */
  uint32_t beam_width;      /* > 1: beam search, returns the best n of beam_width beams */
  float length_penalty;     /* beam search: score = logprob / len^length_penalty; default 1 */
  uint32_t logprobs;        /* report the top-N log-probabilities per token; 0 = none (max 20) */
  int32_t priority;         /* lower runs first when priority scheduling is on; default 0 */
} pagedvk_sampling_params;

void pagedvk_sampling_params_default(pagedvk_sampling_params *p);

/* ---------------------------------------------------------------------------------------------
 * Engine: continuous batching over a paged KV cache on a Vulkan device
 * ------------------------------------------------------------------------------------------- */

typedef struct pagedvk_engine pagedvk_engine;

typedef enum pagedvk_kv_layout {
  PAGEDVK_KV_PAGED = 0,      /* blocks taken as tokens arrive (default) */
  PAGEDVK_KV_CONTIGUOUS = 1  /* baseline: each sequence reserves max_model_len slots up front */
} pagedvk_kv_layout;

typedef enum pagedvk_preempt_mode {
  PAGEDVK_PREEMPT_RECOMPUTE = 0, /* free the blocks, prefill again later (default) */
  PAGEDVK_PREEMPT_SWAP = 1       /* copy the blocks to host memory and back */
} pagedvk_preempt_mode;

typedef struct pagedvk_engine_options {
  const char *model_path;          /* GGUF file (required) */
  const char *device;              /* index or name substring; NULL: PAGEDVK_DEVICE or the default */
  uint64_t kv_mem;                 /* bytes for the KV pool; 0: kv_mem_fraction of free device memory */
  double kv_mem_fraction;          /* default 0.5 (after the weights) */
  uint32_t block_size;             /* tokens per KV block: 8, 16 (default), 32, 64 */
  uint32_t max_num_seqs;           /* sequences in one step; default 64 */
  uint32_t max_num_batched_tokens; /* tokens in one step (decode + prefill chunks); default 512 */
  uint32_t max_model_len;          /* longest prompt + output; 0: the model's context length */
  pagedvk_kv_layout kv_layout;
  pagedvk_preempt_mode preempt;
  uint64_t swap_mem;               /* bytes of host swap space; default 256 MiB */
  int prefix_cache;                /* automatic prefix caching; default 1 */
  int kv_f32;                      /* store K/V as f32 instead of f16 */
  int priority_scheduling;         /* order by sampling priority, then arrival; default FCFS */
  /* Called while the model loads with a fraction in [0, 1]. */
  void (*progress)(double fraction, void *user);
  void *progress_user;
} pagedvk_engine_options;

void pagedvk_engine_options_default(pagedvk_engine_options *o);

int pagedvk_engine_create(pagedvk_engine **out, const pagedvk_engine_options *o, char *err, size_t err_size);
void pagedvk_engine_destroy(pagedvk_engine *e);

/* The model the engine serves (tokenizer, chat template, metadata); owned by the engine. */
pagedvk_model *pagedvk_engine_model(pagedvk_engine *e);

typedef enum pagedvk_finish_reason {
  PAGEDVK_FINISH_NONE = 0,   /* not finished */
  PAGEDVK_FINISH_STOP = 1,   /* end-of-generation token, stop token or stop string */
  PAGEDVK_FINISH_LENGTH = 2, /* max_tokens or the context limit */
  PAGEDVK_FINISH_ABORT = 3,  /* pagedvk_engine_abort or shutdown */
  PAGEDVK_FINISH_ERROR = 4   /* see status */
} pagedvk_finish_reason;

/* One generated token of one sample (or the end of a sample), passed to the request's callback
 * from the thread that runs the engine's steps. Pointers are valid during the call only. */
typedef struct pagedvk_token_event {
  uint64_t request_id;
  uint32_t index;             /* which sample (0..n-1) */
  int32_t token;              /* -1 on a final event without a token */
  const char *text;           /* newly completed UTF-8 text; never a broken sequence */
  size_t text_len;
  float logprob;              /* of the chosen token */
  const int32_t *top_ids;     /* the request's `logprobs` most likely tokens */
  const float *top_logprobs;
  uint32_t n_top;
  pagedvk_finish_reason finish; /* != NONE on the last event of this sample */
  int status;                   /* PAGEDVK_OK, or the error that ended it */
  uint32_t prompt_tokens;       /* usage counts */
  uint32_t completion_tokens;
} pagedvk_token_event;

typedef void (*pagedvk_token_cb)(const pagedvk_token_event *ev, void *user);

/* Queues a request (thread-safe). The prompt is copied. A prompt that can never fit (longer than
 * max_model_len, or more blocks than the whole pool) is refused here with PAGEDVK_ERR_TOO_LONG
 * or PAGEDVK_ERR_KV_FULL, and nothing else is disturbed. */
int pagedvk_engine_add_request(pagedvk_engine *e, const int32_t *prompt, size_t n_prompt,
                               const pagedvk_sampling_params *sp, pagedvk_token_cb cb, void *user,
                               uint64_t *request_id, char *err, size_t err_size);

/* Aborts a request (thread-safe): its blocks are freed at the next step and its callback gets a
 * final event with PAGEDVK_FINISH_ABORT. Unknown or finished ids are ignored. */
void pagedvk_engine_abort(pagedvk_engine *e, uint64_t request_id);

/* Runs one step: schedule, one forward pass on the device, sample, stream. Returns the number
 * of requests still queued or running (0 = idle), or a negative status on a device error (every
 * affected request then gets a final error event). Call from one thread at a time. */
int pagedvk_engine_step(pagedvk_engine *e, char *err, size_t err_size);

/* Steps until every queued request has finished. */
int pagedvk_engine_run_until_idle(pagedvk_engine *e, char *err, size_t err_size);

/* Steps forever, sleeping while idle, until pagedvk_engine_stop is called (from any thread):
 * the loop a server runs in its engine thread. */
int pagedvk_engine_serve(pagedvk_engine *e, char *err, size_t err_size);
void pagedvk_engine_stop(pagedvk_engine *e);

typedef struct pagedvk_stats {
  uint32_t requests_running, requests_waiting, requests_swapped;
  uint64_t requests_finished;
  uint32_t blocks_total, blocks_free, blocks_used, blocks_cached;
  uint32_t block_size;
  uint64_t tokens_stored;          /* tokens held in the pool */
  double kv_utilization;           /* tokens stored / (used blocks * block size) */
  uint64_t kv_bytes;               /* the pool's size */
  uint64_t blocks_saved_by_sharing;
  uint64_t prefix_cache_queries, prefix_cache_hits; /* in tokens */
  uint64_t preemptions, swaps_out, swaps_in;
  uint64_t prompt_tokens, generated_tokens;
  uint32_t peak_running;           /* most sequences in one step */
  uint64_t steps;
  double busy_seconds;             /* time spent in steps */
} pagedvk_stats;

/* A consistent snapshot (thread-safe). */
void pagedvk_engine_stats(pagedvk_engine *e, pagedvk_stats *s);

#ifdef __cplusplus
}
#endif
#endif /* PAGEDVK_H */
