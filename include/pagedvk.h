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
  PAGEDVK_ERR_DEVICE_LOST = -11, /* the device was lost or a submit failed */
  PAGEDVK_ERR_NONFINITE = -12    /* the model produced non-finite logits (NaN/inf): that request ends */
} pagedvk_status;

/* Monotonic clock in seconds (for callers that time requests). */
double pagedvk_now_seconds(void);

/* A short constant name for a status ("PAGEDVK_ERR_FORMAT" → "format error"). */
const char *pagedvk_status_str(int status);

/* ---------------------------------------------------------------------------------------------
 * Environment: the variables the library reads (one table, read once; engine options override)
 * ------------------------------------------------------------------------------------------- */

/* The value read for one of the table's variables (e.g. "PAGEDVK_DEVICE", "LP_NUM_THREADS"); NULL
 * when unset or not in the table. The environment is read at the library's first use of it. */
const char *pagedvk_env_get(const char *name);
/* Reads the environment again (after setenv, before creating engines or contexts). */
void pagedvk_env_reload(void);
/* Writes every variable of the table with its value and meaning, one per line. */
void pagedvk_env_print(FILE *out);

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

/* Tensors and bytes of one GGUF weight type in a model. */
typedef struct pagedvk_weight_type_bytes {
  const char *type;     /* GGUF type name: "F32", "F16", "Q4_K" ... (static) */
  uint32_t ggml_type;   /* its GGUF type number */
  uint32_t block_elems; /* elements per block (1 for F32/F16/BF16, 32, 256 for K-quants) */
  uint32_t block_bytes; /* bytes per block */
  uint64_t n_tensors;
  uint64_t bytes;       /* bytes of those tensors' data in the file */
} pagedvk_weight_type_bytes;

/* At most this many weight types (GGUF type numbers below it); checked when the library builds. */
#define PAGEDVK_MAX_WEIGHT_TYPES 64

/* What a model is, as plain data. Strings are static or live as long as the model. */
typedef struct pagedvk_model_description {
  const char *path;          /* the file opened */
  const char *name;          /* general.name; NULL when absent */
  uint32_t gguf_version;
  uint64_t n_metadata;       /* metadata keys */
  /* Architecture and hyper-parameters: zero (architecture NULL) when describe returns an error. */
  const char *architecture;  /* "llama", "qwen2", "qwen3", ... */
  uint32_t n_layer, n_embd, n_head, n_head_kv, head_dim, n_ff;
  uint32_t context_length;   /* the context the model was trained with */
  uint32_t vocab_size;       /* rows of the embedding table */
  uint32_t rope_dims;        /* dimensions of a head that RoPE rotates */
  int rope_neox;             /* 1: NeoX pairing (x[i], x[i + dims/2]); 0: (x[2i], x[2i+1]) */
  float rope_base, rope_pos_scale, rms_eps;
  const char *rope_scaling;  /* applied frequency scaling: "llama3 (rope_freqs.weight)", "llama3
                              * (rope.scaling metadata)", "LongRoPE (rope_factors_short/long.weight)";
                              * NULL when none (linear: rope_pos_scale) */
  uint32_t rope_orig_context; /* LongRoPE: contexts above it use the long factors (0 without LongRoPE) */
  float rope_attn_factor;    /* rotated dims of q and k multiplied by it (rope.scaling.attn_factor; 1: none) */
  int qkv_bias;              /* q/k/v projections have biases */
  int tied_embeddings;       /* no output.weight: logits use the embedding table */
  /* The architecture's mechanisms (0 / off unless the model uses them). */
  int qk_norm;               /* q and k RMS-normed per head before RoPE (attn_q_norm, attn_k_norm) */
  int fused_qkv;             /* q, k, v bound as row slices of attn_qkv */
  int fused_gate_up;         /* FFN gate and up bound as the two halves of ffn_up */
  float embedding_scale;     /* input embedding multiplied by it (1: none) */
  float residual_scale;      /* attention and FFN outputs multiplied by it before the residual adds (1: none) */
  float attention_scale;     /* q.k multiplier (1/sqrt(head_dim) unless the file says otherwise) */
  float logit_scale;         /* logits divided by it (1: none) */
  int post_norms;            /* attention and FFN outputs RMS-normed before each residual add (gemma) */
  int ffn_gelu;              /* FFN gate through GELU (tanh), GeGLU (gemma); 0: SiLU (SwiGLU) */
  float attn_softcap;        /* attention scores soft-capped, s -> c tanh(s / c) (0: none) */
  float final_softcap;       /* logits soft-capped likewise (0: none) */
  char layer_mechanisms[256]; /* layers that differ from the others, e.g. "no RoPE (NoPE): 3, 7",
                               * "sliding window 4096: 0, 2; RoPE base 10000: 0, 2"; "" when every
                               * layer is alike (truncated past 255 characters) */
  /* Tokenizer and chat template (always filled). */
  const char *tokenizer;     /* "llama" (SentencePiece) or "gpt2" (byte-level BPE) */
  uint32_t tokenizer_vocab;
  int32_t bos, eos;
  int add_bos;
  const char *pre_tokenizer;         /* byte-level BPE: the splitting rules used ("llama3", "qwen2", "gpt2",
                                      * ...); NULL for SentencePiece */
  const char *pre_tokenizer_unknown; /* the file's tokenizer.ggml.pre when it is not known and
                                      * pre_tokenizer fell back to "gpt2"; NULL otherwise */
  const char *chat_template; /* pagedvk_model_chat_template: the source, or "none" */
  int chat_template_fallback; /* 1: the model has no template of its own (ChatML fallback or none) */
  const char *chat_template_reason; /* with fallback, or when the template cannot be used: why (NULL otherwise) */
  const char *chat_template_source; /* "gguf", "file:NAME", "override", "builtin:NAME", "fallback:chatml";
                                     * NULL: none (chat requests fail, completions work) */
  int chat_template_usable;  /* 1: chats can be rendered (0: none, or it did not parse: see the reason) */
  const char *unapplied_metadata; /* metadata keys that change the model but are not applied, as
                                     "key = value, ..."; NULL when none */
  /* Tensors (always filled). */
  uint64_t n_tensors;
  uint64_t n_params;         /* elements of all tensors */
  uint64_t weight_bytes;     /* bytes of all tensors' data */
  uint64_t token_embd_bytes; /* bytes of token_embd.weight (0 when absent) */
  uint32_t n_weight_types;   /* entries of weight_types: the types present, by GGUF number */
  pagedvk_weight_type_bytes weight_types[PAGEDVK_MAX_WEIGHT_TYPES];
} pagedvk_model_description;

/* Fills *out. Returns PAGEDVK_OK; when the hyper-parameters cannot be read (an architecture the
 * library does not run, inconsistent shapes) that status and the reason in err, with *out filled
 * except the architecture fields. */
int pagedvk_model_describe(const pagedvk_model *model, pagedvk_model_description *out, char *err, size_t err_size);

/* pagedvk_model_describe as text, followed by every tensor with its type and shape. */
void pagedvk_model_print_info(const pagedvk_model *model, FILE *out);


/* ---------------------------------------------------------------------------------------------
 * CPU reference: the plain float32 forward pass every Vulkan kernel is tested against
 * ------------------------------------------------------------------------------------------- */

/* Feeds the prompt and writes n_gen greedily chosen ids (argmax, lowest id on ties) to `out`. */
int pagedvk_reference_greedy(const pagedvk_model *model, const int32_t *prompt, size_t n_prompt, uint32_t n_gen,
                             int32_t *out, char *err, size_t err_size);

/* ---------------------------------------------------------------------------------------------
 * Sampling
 * ------------------------------------------------------------------------------------------- */

/* Limits of one request's stop conditions (checked when it is added: PAGEDVK_ERR_INVALID beyond them). */
#define PAGEDVK_MAX_STOP_IDS 1024  /* stop_ids per request */
#define PAGEDVK_MAX_STOP 16        /* stop strings per request */
#define PAGEDVK_MAX_STOP_BYTES 256 /* bytes of one stop string */

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
  const int32_t *stop_ids;  /* extra token ids that end generation (at most PAGEDVK_MAX_STOP_IDS) */
  uint32_t n_stop_ids;
  const char *const *stop;  /* strings that end generation (not included in the output; at most
                             * PAGEDVK_MAX_STOP of at most PAGEDVK_MAX_STOP_BYTES bytes) */
  uint32_t n_stop;
  uint32_t n;               /* parallel samples sharing the prompt's KV blocks; default 1 */
  uint32_t beam_width;      /* > 1: beam search, returns the best n of beam_width beams */
  float length_penalty;     /* beam search: score = logprob / len^length_penalty; default 1 */
  uint32_t logprobs;        /* report the top-N log-probabilities per token; 0 = none (max 20) */
  int32_t priority;         /* lower runs first when priority scheduling is on; default 0 */
  /* Constrained decoding: every generated token keeps the text a prefix of a sentence of the
   * grammar, and end-of-generation tokens are allowed only where the sentence is complete.
   * grammar_kind PAGEDVK_GRAMMAR_GBNF: `grammar` holds GBNF text (start rule `root`);
   * PAGEDVK_GRAMMAR_JSON_SCHEMA: a JSON schema (docs/GRAMMAR.md lists the supported keywords);
   * PAGEDVK_GRAMMAR_JSON_OBJECT: any JSON object (grammar ignored). pagedvk_engine_add_request
   * compiles the text (and keeps no pointer to it): an invalid one fails with
   * PAGEDVK_ERR_INVALID and the position of the error ("grammar:LINE:COL: ..." or "json schema
   * at /pointer: ..."). grammar_len 0: NUL-terminated. A sample whose grammar can take nothing
   * more ends with PAGEDVK_FINISH_STOP; one whose max_tokens run out before the grammar
   * completes ends with PAGEDVK_FINISH_LENGTH and grammar_incomplete set in its final event.
   * Works with n > 1 and beam search (every sample and beam keeps its own grammar state). */
  int grammar_kind;         /* pagedvk_grammar_kind; default PAGEDVK_GRAMMAR_NONE */
  const char *grammar;
  size_t grammar_len;
  const size_t *stop_len;   /* stop[i] is stop_len[i] bytes (NUL bytes included); NULL: each
                             * stop string is NUL-terminated */
} pagedvk_sampling_params;

/* Grammars for constrained decoding (docs/GRAMMAR.md). */
typedef enum pagedvk_grammar_kind {
  PAGEDVK_GRAMMAR_NONE = 0,
  PAGEDVK_GRAMMAR_GBNF = 1,
  PAGEDVK_GRAMMAR_JSON_SCHEMA = 2,
  PAGEDVK_GRAMMAR_JSON_OBJECT = 3
} pagedvk_grammar_kind;

void pagedvk_sampling_params_default(pagedvk_sampling_params *p);

/* The GBNF text that a JSON schema compiles to (what PAGEDVK_GRAMMAR_JSON_SCHEMA runs), with
 * every rule name prefixed by `prefix` (letters, digits and '-'; NULL or "": none) and the start
 * rule named PREFIXroot, so a grammar of the caller's own can embed one or several schemas, each
 * under its own prefix (the server's forced tool calls: docs/TOOLS.md). *gbnf is malloc'd
 * (free()), NUL-terminated; *gbnf_len (may be NULL) excludes the NUL. PAGEDVK_ERR_INVALID with
 * "json schema at /pointer: ..." (or "json schema:LINE:COL: ..." for text that is not JSON). */
int pagedvk_json_schema_to_gbnf(const char *schema, size_t len, const char *prefix, char **gbnf, size_t *gbnf_len,
                                char *err, size_t err_size);

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

/* What the KV pool stores per element. q8_0: blocks of 32 values of one head row, each an int8 times
 * one f16 scale d = max|x| / 127 (GGUF's Q8_0), 34 bytes per 32 values instead of 64: about twice
 * the tokens in the same memory; needs a head size that is a multiple of 32. */
typedef enum pagedvk_kv_type {
  PAGEDVK_KV_F16 = 0, /* default */
  PAGEDVK_KV_F32 = 1,
  PAGEDVK_KV_Q8_0 = 2
} pagedvk_kv_type;

/* "f16", "f32", "q8_0" -> the type: 0, or -1 for another name. */
int pagedvk_kv_type_parse(const char *name, pagedvk_kv_type *out);
/* The name of a type ("f16", "f32", "q8_0"; "?" for another value). */
const char *pagedvk_kv_type_name(pagedvk_kv_type t);

typedef struct pagedvk_engine_options {
  const char *model_path;          /* GGUF file (required) */
  const char *device;              /* index or name substring; NULL: PAGEDVK_DEVICE or the default */
  uint64_t kv_mem;                 /* bytes for the KV pool; 0: kv_mem_fraction of free device memory */
  double kv_mem_fraction;          /* default 0.5 (after the weights) */
  uint32_t block_size;             /* tokens per KV block: 8, 16 (default), 32, 64 */
  uint32_t max_num_seqs;           /* sequences in one step; default 64 */
  uint32_t max_num_batched_tokens; /* tokens in one step (decode + prefill chunks); default 512 */
  uint32_t max_model_len;          /* longest prompt + output; 0: the model's context length. The engine
                                    * runs with at most 2^20 and at most what its KV pool holds for one
                                    * sequence (logged when it clamps; pagedvk_engine_max_model_len) */
  pagedvk_kv_layout kv_layout;
  pagedvk_preempt_mode preempt;
  uint64_t swap_mem;               /* bytes of host swap space; default 256 MiB */
  int prefix_cache;                /* automatic prefix caching; default 1 */
  int kv_f32;                      /* store K/V as f32 instead of f16 (kv_type f32; kept for callers) */
  pagedvk_kv_type kv_type;         /* K/V element type; default f16 (kv_f32 = 1 with f16: f32) */
  int priority_scheduling;         /* order by sampling priority, then arrival; default FCFS */
  /* Called while the model loads with a fraction in [0, 1]. */
  void (*progress)(double fraction, void *user);
  void *progress_user;
  /* Create every compute pipeline the steps can use here and run each once with each of its
   * bindings, so that no request waits for a shader compile mid-stream; default 1. On a CPU
   * device (lavapipe) that takes 4-6 s the first time on a machine, then ~1-2 s (Mesa's shader
   * cache). 0, or PAGEDVK_NO_WARMUP=1 in the environment, compiles each on first use. */
  int warmup;
  /* Time each stage of every step's forward pass on the device (timestamp queries), for
   * pagedvk_engine_stage_times; default 0. PAGEDVK_KERNEL_TIMES=1 in the environment turns it on
   * too and prints the table when the engine closes. Ignored where the queue writes no timestamps. */
  int kernel_times;
  /* Sliding-window layers (gemma2/3...) keep KV block tables of their own and give back the blocks
   * that fell out of their window; default 1. 0 (or PAGEDVK_NO_SWA_FREE=1 in the environment):
   * one block table for every layer, nothing given back (attention still sees only the window). */
  int sliding_window_free;
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
  /* Beam search sends one final event per hypothesis with its whole text; these are its token
   * ids (an end-of-generation token excluded, as from the text). NULL / 0 on other events, whose
   * one token is `token`. Valid during the callback. */
  const int32_t *token_ids;
  uint32_t n_token_ids;
  /* A sample with a grammar (sampling params grammar_kind) whose final event says LENGTH: 1 when
   * its text is not a complete sentence of the grammar (max_tokens ran out first). */
  int grammar_incomplete;
  /* Seconds from add_request until the engine first scheduled the request (the time it waited in
   * the queue); -1 while it has not been scheduled (an event of a request aborted or failed
   * before it ran). */
  double queue_seconds;
} pagedvk_token_event;

typedef void (*pagedvk_token_cb)(const pagedvk_token_event *ev, void *user);

/* Queues a request (thread-safe). The prompt is copied. A prompt that can never fit (longer than
 * the model's context or the max_model_len option: PAGEDVK_ERR_TOO_LONG; within it but more than
 * the whole KV pool holds: PAGEDVK_ERR_KV_FULL) is refused here, and nothing else is disturbed. The
 * request's events may start (on the engine's thread) before this returns; *request_id is theirs. */
int pagedvk_engine_add_request(pagedvk_engine *e, const int32_t *prompt, size_t n_prompt,
                               const pagedvk_sampling_params *sp, pagedvk_token_cb cb, void *user,
                               uint64_t *request_id, char *err, size_t err_size);

/* Aborts a request (thread-safe): its blocks are freed at the next step and its callback gets a
 * final event with PAGEDVK_FINISH_ABORT. Unknown or finished ids are ignored. */
void pagedvk_engine_abort(pagedvk_engine *e, uint64_t request_id);

/* Runs one step: schedule, one forward pass on the device, sample, stream. Returns the number
 * of requests still queued or running (0 = idle), or a negative status when the device is lost
 * (every request then gets a final error event). An error that concerns some requests only (a
 * sampler or text failure, a step that could not be recorded or submitted) ends those with a final
 * error event carrying the status, and the step returns normally. Call from one thread at a time. */
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
  uint64_t prefill_steps;          /* steps that computed prompt tokens (possibly with decodes) ... */
  double prefill_seconds;          /* ... and their share of busy_seconds */
  uint32_t peak_blocks_used;       /* most KV blocks in use at once (measured after each step's planning) */
  uint64_t peak_kv_bytes_used;     /* ... in bytes (block sizes differ with sliding-window layer groups) */
  const char *kv_type;             /* the pool's element type: "f16", "f32" or "q8_0" (static) */
  uint64_t kv_block_bytes;         /* bytes of one block (of the largest layer group) */
} pagedvk_stats;

/* A consistent snapshot (thread-safe). */
void pagedvk_engine_stats(pagedvk_engine *e, pagedvk_stats *s);

/* Device time of one stage of the forward pass, summed over the steps so far. */
typedef struct pagedvk_stage_time {
  const char *stage; /* embed, attn_norm, qkv, rope_kv, attention, attn_out, ffn_norm, ffn_gate_up,
                        ffn_down, out_norm, logits, argmax (static strings) */
  double prompt_ms;  /* in steps that computed prompt rows (decodes riding along included) */
  double decode_ms;  /* in decode-only steps */
} pagedvk_stage_time;

/* With kernel_times on: fills out[0 .. min(max, stages)) and the step counts (either may be NULL)
 * and returns the number of stages; 0 when times are off. Thread-safe. */
uint32_t pagedvk_engine_stage_times(pagedvk_engine *e, pagedvk_stage_time *out, uint32_t max, uint64_t *prompt_steps,
                                    uint64_t *decode_steps);

/* The context in tokens: max_model_len after the defaults, at most 2^20. Prompts beyond it are
 * refused with PAGEDVK_ERR_TOO_LONG; within it, those longer than the KV pool holds for one sequence
 * (the engine runs with that shorter context and logs it) with PAGEDVK_ERR_KV_FULL. */
uint32_t pagedvk_engine_max_model_len(const pagedvk_engine *e);
/* ---------------------------------------------------------------------------------------------
 * Tokenizer (the model's vocabulary: SentencePiece "llama" or byte-level BPE "gpt2")
 * A vocabulary-only GGUF (tokenizer metadata, no tensors) opens and tokenizes like a full model.
 * ------------------------------------------------------------------------------------------- */

/* Vocabulary size; ids are in [0, size). */
size_t pagedvk_vocab_size(const pagedvk_model *model);
/* Special token ids, -1 when the vocabulary has none. EOT is the end-of-turn token
 * (<|eot_id|>, <|im_end|>, …). */
int32_t pagedvk_token_bos(const pagedvk_model *model);
int32_t pagedvk_token_eos(const pagedvk_model *model);
int32_t pagedvk_token_eot(const pagedvk_model *model);
/* 1 when generation should stop at `id` (EOS, EOT and the chat formats' end-of-turn tokens). */
int pagedvk_token_is_eog(const pagedvk_model *model, int32_t id);

/* Encodes the NUL-terminated `text` into ids[0..cap).
 * add_bos: put BOS first when the model wants one (tokenizer.ggml.add_bos_token; by default true
 *   for SentencePiece vocabularies and Llama 3's, false for other BPE ones) — and EOS last when
 *   tokenizer.ggml.add_eos_token says so; 0 never adds either.
 * parse_special: text spelling a control token ("<|im_start|>", "<s>") becomes that token;
 *   with 0 such text is tokenized as plain characters.
 * *n gets the number of ids. When cap is too small, ids holds the first cap of them, *n the
 * number needed, and PAGEDVK_ERR_TOO_LONG is returned (cap = 0 measures). */
int pagedvk_tokenize(const pagedvk_model *model, const char *text, int add_bos, int parse_special, int32_t *ids,
                     size_t cap, size_t *n, char *err, size_t err_size);
/* pagedvk_tokenize of text[0..len): NUL bytes are text like any other (pagedvk_tokenize is this
 * with len = strlen(text)). */
int pagedvk_tokenize_len(const pagedvk_model *model, const char *text, size_t len, int add_bos, int parse_special,
                         int32_t *ids, size_t cap, size_t *n, char *err, size_t err_size);

/* The text of one token: "▁Hello" → " Hello", <0x0A> → "\n", byte-level pieces → their bytes.
 * May be part of a UTF-8 character (byte tokens) — use the detokenizer to build text. Control
 * tokens give "" unless `special` (then their text). Writes min(cap, *len) bytes, plus a NUL
 * when it fits; *len gets the full length. PAGEDVK_ERR_INVALID for an id out of range. */
int pagedvk_token_to_piece(const pagedvk_model *model, int32_t id, int special, char *buf, size_t cap,
                           size_t *len, char *err, size_t err_size);

/* Detokenizer flags. */
#define PAGEDVK_DETOK_SPECIAL 1     /* render control tokens (<|im_end|>, </s>) as their text */
#define PAGEDVK_DETOK_STRIP_SPACE 2 /* SentencePiece: drop the space the tokenizer put before the text
                                       (first token after an optional BOS), so that decoding a whole
                                       encoded prompt gives the prompt back */

/* Token ids to text, all at once. Invalid or incomplete UTF-8 (from byte tokens) becomes U+FFFD,
 * so the text is always valid UTF-8. Same buffer contract as pagedvk_tokenize (*len excludes the
 * NUL, which is written when it fits; PAGEDVK_ERR_TOO_LONG when cap <= *len). */
int pagedvk_detokenize(const pagedvk_model *model, const int32_t *ids, size_t n, unsigned flags, char *buf,
                       size_t cap, size_t *len, char *err, size_t err_size);

/* Streaming detokenizer: feed generated ids one at a time and get the text they complete. Bytes of
 * a UTF-8 character split across tokens are held back until the character is complete, so every
 * piece returned is valid UTF-8; feeding a list then flushing gives exactly pagedvk_detokenize's
 * text. The model must outlive the detokenizer. */
typedef struct pagedvk_detok pagedvk_detok;
int pagedvk_detok_create(pagedvk_detok **out, const pagedvk_model *model, unsigned flags, char *err,
                         size_t err_size);
/* *text (NUL-terminated) and *len: the text completed by `id`, possibly empty; valid until the
 * next call on `d`. */
int pagedvk_detok_feed(pagedvk_detok *d, int32_t id, const char **text, size_t *len, char *err, size_t err_size);
/* End of stream: held-back bytes of an unfinished character come out as U+FFFD. */
int pagedvk_detok_flush(pagedvk_detok *d, const char **text, size_t *len, char *err, size_t err_size);
void pagedvk_detok_destroy(pagedvk_detok *d);

/* ---------------------------------------------------------------------------------------------
 * Chat templates (Jinja)
 * A model's tokenizer.chat_template is Jinja text; these render it exactly as Hugging Face
 * transformers' apply_chat_template does (trim_blocks, lstrip_blocks, loopcontrols; Python's
 * semantics for values, printing and tojson). Rendering is bounded: an endless loop, runaway
 * recursion or a huge output fails with PAGEDVK_ERR_INVALID instead of hanging.
 * ------------------------------------------------------------------------------------------- */

/* What a chat template is rendered with (transformers' apply_chat_template variables). */
typedef struct pagedvk_chat_input {
  const char *messages_json; /* JSON array of message objects, passed to the template as they are */
  const char *tools_json;    /* JSON array of tool definitions; NULL: tools is none */
  const char *kwargs_json;   /* JSON object; each member becomes a template variable (e.g. enable_thinking); NULL: none */
  int add_generation_prompt;
  const char *bos_token;     /* pagedvk_template_render: NULL = ""; pagedvk_chat_render: NULL = the model's */
  const char *eos_token;     /* likewise */
  const char *date;          /* "YYYY-MM-DD", the day strftime_now sees; NULL: today */
} pagedvk_chat_input;

/* Renders Jinja template text (tmpl_len bytes) with `in` as transformers does. *text is malloc'd
 * (free()), NUL-terminated; *len excludes the NUL. A template error or raise_exception:
 * PAGEDVK_ERR_FORMAT (syntax) or PAGEDVK_ERR_INVALID (render), with the message in err. */
int pagedvk_template_render(const char *tmpl, size_t tmpl_len, const pagedvk_chat_input *in, char **text,
                            size_t *len, char *err, size_t err_size);

/* ---------------------------------------------------------------------------------------------
 * Chat templates of a model
 * Every chat is rendered by a Jinja chat template, as transformers' apply_chat_template renders
 * it. A model's template is, in order of precedence:
 *   - one set by pagedvk_model_set_chat_template (source "file:NAME", "override" or "builtin:NAME");
 *   - its file's tokenizer.chat_template (source "gguf");
 *   - with no template in the file, pagedvk's ChatML template (source "fallback:chatml"), but only
 *     when the vocabulary has <|im_start|> and <|im_end|> as control tokens;
 *   - otherwise none: chat functions fail with "the model has no chat template; pass
 *     --chat-template-file or --chat-template NAME" (completions and tokenizing still work).
 * A file's template that does not parse does not stop the model from opening: a warning is
 * logged and chat functions fail with the parse error until another template is set.
 * ------------------------------------------------------------------------------------------- */

/* The names of the built-in templates (NULL-terminated, static): "chatml", "llama3", "llama2",
 * "mistral", "zephyr", "gemma", "phi3". Each is pagedvk's own text rendering what its family's
 * reference template renders. */
const char *const *pagedvk_chat_template_builtins(void);

/* Replaces the model's template. With `text` (len bytes of Jinja), the template is that text and
 * its source "file:NAME", or "override" when name is NULL; with text NULL, `name` is a built-in
 * name and the source "builtin:NAME". PAGEDVK_ERR_FORMAT for a syntax error (message "line N:
 * ..."), PAGEDVK_ERR_INVALID for an unknown built-in; on error the template in use is kept.
 * Not thread-safe: call before the model is shared (before serving or adding chat requests). */
int pagedvk_model_set_chat_template(pagedvk_model *model, const char *text, size_t len, const char *name, char *err,
                                    size_t err_size);

/* Where the model's template comes from: "gguf", "file:NAME", "override", "builtin:NAME" or
 * "fallback:chatml"; NULL when the model has none. A template that did not parse is still
 * "gguf" (see pagedvk_model_describe's chat_template_reason). Valid until the template changes. */
const char *pagedvk_model_chat_template_source(const pagedvk_model *model);

/* The Jinja text of the model's template in use (*len, may be NULL: its length); NULL when the
 * model has none. The server reads it to know how the model writes tool calls. Valid until the
 * template changes. */
const char *pagedvk_model_chat_template_text(const pagedvk_model *model, size_t *len);

/* Renders the chat `in` with the model's template (pagedvk_chat_input: the messages, tools and
 * kwargs as JSON, passed to the template as they are, each exactly one JSON array / object;
 * bos_token / eos_token NULL: the vocabulary's BOS / EOS texts; date NULL: today). A kwarg
 * named like one of the chat's own variables (messages, tools, documents, add_generation_prompt,
 * bos_token, eos_token) does not replace it. *text is malloc'd (free it), NUL-terminated,
 * *len excludes the NUL. The text holds the template's special tokens as text: tokenize it with
 * parse_special = 1 and add_bos = !*has_bos, where *has_bos (may be NULL) says the text already
 * starts with the BOS token's text (so BOS is never doubled). PAGEDVK_ERR_INVALID for a render
 * error, with the template's own message (raise_exception's text), for malformed JSON, and when
 * the model has no usable template. Thread-safe. */
int pagedvk_chat_render(const pagedvk_model *model, const pagedvk_chat_input *in, char **text, size_t *len,
                        int *has_bos, char *err, size_t err_size);

/* The simple form: plain role / content strings, rendered by pagedvk_chat_render. */
typedef struct pagedvk_chat_message {
  const char *role;    /* "system", "user", "assistant", ... (the template decides what it accepts) */
  const char *content;
} pagedvk_chat_message;

/* What pagedvk_model_chat_template_source says ("none" instead of NULL); *is_fallback (may be
 * NULL) gets 1 when the model has no template of its own or set by the caller (the ChatML
 * fallback, or none). */
const char *pagedvk_model_chat_template(const pagedvk_model *model, int *is_fallback);

/* pagedvk_chat_render of `msgs` into a caller's buffer (same buffer contract as
 * pagedvk_detokenize; cap = 0 measures). PAGEDVK_ERR_INVALID when the template refuses the
 * messages (e.g. llama2-style templates need user/assistant turns to alternate). */
int pagedvk_chat_format(const pagedvk_model *model, const pagedvk_chat_message *msgs, size_t n,
                        int add_generation_prompt, char *buf, size_t cap, size_t *len, int *has_bos, char *err,
                        size_t err_size);

/* ---------------------------------------------------------------------------------------------
 * Server: an OpenAI-compatible HTTP server over one engine (libpagedvk_server; needs libmicrohttpd
 * and cJSON). Routes: POST /v1/completions, POST /v1/chat/completions (both with "stream": true
 * for server-sent events), GET /v1/models, GET /health, GET /metrics (Prometheus text).
 *
 * The server runs the engine's loop (pagedvk_engine_serve) in a thread of its own and one thread
 * per HTTP connection; the engine thread never waits on a client. A client that disconnects has
 * its request aborted and its KV blocks freed at the next step.
 * ------------------------------------------------------------------------------------------- */

typedef struct pagedvk_server pagedvk_server;

typedef struct pagedvk_server_options {
  const char *host;        /* address to bind; default "127.0.0.1" (loopback only) */
  uint16_t port;           /* default 8080; 0 = any free port (see pagedvk_server_port) */
  const char *api_key;     /* when set, /v1/ routes need "Authorization: Bearer <api_key>" */
  const char *model_name;  /* the name requests must use in "model"; default "pagedvk" */
  /* Values for the sampling fields a request leaves out; NULL: pagedvk_sampling_params_default.
   * Its stop strings are not used (a request brings its own). */
  const pagedvk_sampling_params *defaults;
  size_t max_body_bytes;   /* larger request bodies get 413; default 8 MiB */
  FILE *log;               /* one line per request and at start and stop; NULL: silent */
  /* Limits against slow or greedy clients; 0 in any of them means its default. */
  unsigned max_connections;            /* open connections at once (more are closed at accept); default 1000 */
  unsigned max_connections_per_client; /* open connections from one client address; default 256 (a value
                                        * >= max_connections: no per-address cap) */
  unsigned max_pending_requests;       /* generation requests at once, from their headers until their response is
                                        * written (running, queued in the engine, or receiving their body); one
                                        * more gets 503 with Retry-After; default 256 */
  unsigned header_timeout_s;           /* a request's headers and body must have arrived this many seconds after
                                        * the connection opened or its previous response ended, else the
                                        * connection is closed (idle keep-alive connections too); default 15 */
  unsigned write_timeout_s;            /* a client that takes no byte of its response for this long is dropped
                                        * (its request aborted); time spent generating does not count; default 60 */
  int metrics_no_auth;                 /* non-zero, with an api_key: GET /metrics stays open (default: it needs the key) */
  const char *cors_origins;            /* NULL: no CORS. Else a comma-separated list of origins
                                        * ("https://a.example,http://localhost:3000") or "*": requests whose Origin
                                        * matches get Access-Control-Allow-Origin, and OPTIONS preflights an answer */
  double drain_timeout_s;              /* after the first pagedvk_server_stop: how long admitted requests may run
                                        * on while new ones get 503 (default 20; 0: end them at once). Unlike the
                                        * limits above, 0 here means 0 */
  /* Chat answers of models that think (a <think> block, gpt-oss's analysis channel):
   * PAGEDVK_REASONING_SPLIT (default) puts the reasoning in message.reasoning_content (streamed as
   * delta.reasoning_content) and the rest in content; PAGEDVK_REASONING_NONE leaves all the text
   * in content as generated. A request's "reasoning_format" ("split" / "none") overrides it. */
  int reasoning_format;
} pagedvk_server_options;

typedef enum pagedvk_reasoning_format { PAGEDVK_REASONING_SPLIT = 0, PAGEDVK_REASONING_NONE = 1 } pagedvk_reasoning_format;

void pagedvk_server_options_default(pagedvk_server_options *o);

/* Binds the socket (so the port is known before pagedvk_server_run). The engine must outlive
 * the server and must not be stepped by anyone else while the server runs. An api_key that is
 * set but empty is refused (PAGEDVK_ERR_INVALID), as is a malformed cors_origins list. */
int pagedvk_server_create(pagedvk_server **out, pagedvk_engine *e, const pagedvk_server_options *o, char *err,
                          size_t err_size);

/* A server without an engine yet, already listening while the model loads: GET /health answers
 * 503 {"status":"loading"}, GET /health/live 200, generation routes and /v1/models 503 with
 * Retry-After, /metrics the server's own metrics. pagedvk_server_attach_engine makes it ready. */
int pagedvk_server_create_loading(pagedvk_server **out, const pagedvk_server_options *o, char *err,
                                  size_t err_size);
/* Gives a loading server its engine (once); the same contract as pagedvk_server_create's. */
int pagedvk_server_attach_engine(pagedvk_server *s, pagedvk_engine *e, char *err, size_t err_size);

/* The bound port (useful with port 0). */
uint16_t pagedvk_server_port(const pagedvk_server *s);

/* Serves until pagedvk_server_stop, then drains: GET /health answers 503 {"status":"draining"},
 * new generation requests get 503 with Retry-After (error code "shutting_down"), every response
 * carries `Connection: close`, and the requests already admitted run to their end — until none
 * is left, drain_timeout_s has passed, or pagedvk_server_stop is called a second time. Then it
 * shuts down in order: stops accepting connections, ends every request still in flight (streams
 * get a final error chunk, waiting requests a 503), stops the engine loop, and returns once every
 * connection is closed. PAGEDVK_OK after a requested stop; the engine's error when its loop failed
 * (a device error) — the server then stops by itself, without draining. */
int pagedvk_server_run(pagedvk_server *s, char *err, size_t err_size);

/* Asks pagedvk_server_run to drain and return; a second call ends the drain at once.
 * Async-signal-safe: may be called from a signal handler or any thread, before or during
 * pagedvk_server_run. */
void pagedvk_server_stop(pagedvk_server *s);

void pagedvk_server_destroy(pagedvk_server *s);

#ifdef __cplusplus
}
#endif
#endif /* PAGEDVK_H */
