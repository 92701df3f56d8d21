/*
 * server_internal.h — what the files of runtime/server share: the server object, one request's
 * generation state (srv_gen), the parsed OpenAI request, error records, byte buffers, metrics.
 *
 * Threads (see server.c): the engine thread runs pagedvk_engine_serve and calls srv_gen's token
 * callback; libmicrohttpd runs one thread per connection, which parses, submits, waits for events
 * and writes the response. The two meet only in a srv_gen's mutex-protected event queue.
 * Only include/pagedvk.h is used from the library.
 */
#ifndef PV_SERVER_INTERNAL_H
#define PV_SERVER_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "pagedvk.h"
#include "json.h"
#include "oai_reasoning.h"

/* Checked maxima of a request, each refused with a 400 that names the field when exceeded
 * (oai_parse.c): "stop" strings, "n" choices (the engine sends indexes 0..n-1 only, so the
 * index checks in oai_format.c never drop an event) and top logprobs (the engine sends at most
 * what was asked, so gen.c's clamp never cuts). */
#define SRV_MAX_STOPS 16
#define SRV_MAX_CHOICES 64
#define SRV_MAX_TOP 20
/* stop_token_ids: each is compared with every generated token. */
#define SRV_MAX_STOP_IDS 256
/* Logprob entries one request may report: n × max_tokens × (1 + top_logprobs) (the issue's
 * n=64, max_tokens=1000, top_logprobs=20 is 1 344 000 and refused). */
#define SRV_MAX_LOGPROB_ENTRIES 1048576u

/* ---- growth and byte buffer (util.c) ------------------------------------------------------- */

/* Makes room for `need` elements of `elem` bytes in *items (capacity doubling from `min_cap`, with
 * overflow checks): false when out of memory, then *items and *cap are unchanged. The server's
 * one growth loop: it uses only the public header, so it does not share runtime/base's. */
bool srv_grow(void **items, size_t *cap, size_t need, size_t elem, size_t min_cap);

typedef struct srv_buf {
  char *p;
  size_t len, cap;
  bool oom; /* an append failed; the content is incomplete */
} srv_buf;

bool srv_buf_append(srv_buf *b, const char *s, size_t n);
bool srv_buf_puts(srv_buf *b, const char *s);
bool srv_buf_printf(srv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void srv_buf_free(srv_buf *b);
/* Appends s[0..n) with every invalid UTF-8 byte replaced by U+FFFD. */
bool srv_buf_append_utf8(srv_buf *b, const char *s, size_t n);

/* ---- errors (util.c) ----------------------------------------------------------------------- */

/* An OpenAI error object and its HTTP status. */
typedef struct srv_error {
  unsigned http;
  const char *type;  /* "invalid_request_error", "authentication_error", "server_error", … */
  const char *code;  /* NULL → JSON null */
  char param[64];    /* "" → JSON null */
  char message[512];
} srv_error;

void srv_error_set(srv_error *e, unsigned http, const char *type, const char *param, const char *code,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* {"error": {"message", "type", "param", "code"}} */
cJSON *srv_error_json(const srv_error *e);
/* Maps a pagedvk_status from add_request to an HTTP error. */
void srv_error_from_status(srv_error *e, int status, const char *msg);

/* ---- metrics (metrics.c) ------------------------------------------------------------------- */

#define SRV_HIST_BUCKETS 16

typedef struct srv_hist {
  const double *bounds; /* upper bounds, ascending; +Inf is implicit */
  uint32_t n_bounds;
  uint64_t counts[SRV_HIST_BUCKETS + 1];
  uint64_t count;
  double sum;
} srv_hist;

typedef struct srv_metrics {
  pthread_mutex_t lock;
  srv_hist ttft, tpot, e2e;
  srv_hist queue;            /* from arrival until the engine first scheduled the request */
  uint64_t http_by_class[6]; /* responses by status class: [2] = 2xx … [5] = 5xx */
  uint64_t requests_ok, requests_aborted, requests_failed;
  uint64_t client_disconnects;
  uint64_t conn_timeouts;    /* connections closed for not sending their request in time */
  uint64_t busy_rejects;     /* generation requests refused with 503: max_pending_requests reached */
  uint64_t drain_rejects;    /* generation requests refused with 503 while loading or draining */
} srv_metrics;

void srv_metrics_init(srv_metrics *m);
void srv_metrics_destroy(srv_metrics *m);
/* A finished request: time to first token, mean time per output token after the first (< 0:
 * none), end to end. */
void srv_metrics_observe(srv_metrics *m, double ttft, double tpot, double e2e, pagedvk_finish_reason why);
/* A request's wait before the engine first scheduled it (seconds). */
void srv_metrics_queue_time(srv_metrics *m, double seconds);
void srv_metrics_drain_reject(srv_metrics *m);
void srv_metrics_http(srv_metrics *m, unsigned status);
void srv_metrics_disconnect(srv_metrics *m);
void srv_metrics_conn_timeout(srv_metrics *m);
void srv_metrics_busy_reject(srv_metrics *m);
/* The Prometheus text exposition of the engine stats (e NULL while the model loads: left out)
 * and the server's own metrics; model_name labels the vllm: names. */
bool srv_metrics_render(srv_metrics *m, pagedvk_engine *e, const char *model_name, srv_buf *out);

/* ---- parsed OpenAI request (oai_parse.c) --------------------------------------------------- */

typedef enum oai_kind { OAI_COMPLETION = 0, OAI_CHAT = 1 } oai_kind;

typedef struct oai_request {
  oai_kind kind;
  bool stream;
  bool include_usage;          /* stream_options.include_usage */
  pagedvk_sampling_params sp;  /* stop / stop_len / stop_ids point into this struct */
  char *stops[SRV_MAX_STOPS];
  size_t stop_lens[SRV_MAX_STOPS];
  int32_t *stop_ids;
  int32_t *prompt;
  size_t n_prompt;
  bool logprobs;               /* report the chosen token's logprob */
  uint32_t top_logprobs;       /* and this many alternatives */
  /* Constrained output ("response_format", "grammar", "json_schema"): sp.grammar points into
   * grammar_text; grammar_param is the field that brought it, named by a 400 for an invalid one. */
  char *grammar_text;
  const char *grammar_param;
  /* Chat: how the answer is split into reasoning_content and content (oai_reasoning.h). */
  int think_style;             /* oai_think_style */
  int think_start;             /* oai_think_start: what the rendered prompt already did */
  bool think_raw;              /* reasoning_format "none": no reasoning split (the tool parser's neither) */
  /* Tool calls (oai_tool_request.c, oai_tools.h). */
  bool tools_parse;            /* the model's text is parsed for calls (tools given, tool_choice not "none") */
  int tool_family;             /* oai_tool_family of the model's template */
  char *tool_prefill;          /* forced choice: the marker the prompt ends with (the parser starts with it) */
} oai_request;

struct pagedvk_server;
/* Parses and checks a request body, tokenizes the prompt (chat: through the model's template).
 * 0, or -1 with *err filled (400 / 404). */
int oai_parse(struct pagedvk_server *s, oai_kind kind, const char *body, size_t len, oai_request *out,
              srv_error *err);
void oai_request_free(oai_request *r);

/* ---- one request's generation (gen.c) ------------------------------------------------------ */

/* A token event copied out of the engine's callback. */
typedef struct srv_event {
  uint32_t index;
  int32_t token;
  char *text;
  size_t len;
  float logprob;
  uint32_t n_top;
  int32_t top_ids[SRV_MAX_TOP];
  float top_logprobs[SRV_MAX_TOP];
  pagedvk_finish_reason finish;
  int status;
  uint32_t prompt_tokens, completion_tokens;
  bool grammar_incomplete;     /* final LENGTH event: the text is not a whole sentence of the grammar */
} srv_event;

/* What the connection thread has learnt about one choice. */
typedef struct srv_choice {
  srv_buf text;          /* non-streaming: the whole text (chat: the content part) */
  srv_buf reasoning;     /* non-streaming chat: the reasoning part (split.any: it has one) */
  oai_reasoning split;   /* chat: reasoning / content splitter (zeroed: all content) */
  srv_buf lp;            /* non-streaming: logprob records (oai_format.c), n_lp of them */
  uint32_t n_lp;
  size_t text_offset;    /* completions logprobs: bytes of text so far */
  bool role_sent;        /* chat stream: the first delta carried the role */
  struct oai_tool_parser *tools; /* tools_parse: this choice's parser (oai_tools.h) */
  size_t sent_calls;     /* stream: the parser's calls sent so far */
  pagedvk_finish_reason finish;
  int status;
  uint32_t completion_tokens;
  bool grammar_incomplete;
} srv_choice;

/* Where the non-streaming body's writer is (oai_body_next). */
typedef struct srv_body {
  int phase;
  uint32_t choice;
  uint32_t part; /* completions' logprobs: which of the four arrays */
  size_t pos;    /* in the choice's text or records */
} srv_body;

typedef struct srv_gen {
  struct pagedvk_server *srv;
  /* Shared with the engine thread, under lock. */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int refs;               /* the connection's and, while it has not ended, the engine's */
  srv_event *q;
  size_t nq, capq;
  bool lost_events;       /* an event could not be queued (out of memory) */
  uint32_t finals_in;     /* final events received from the engine */
  /* Engine-thread only: timings for the metrics. */
  double t_arrival, t_first, t_last;
  uint32_t tokens0;
  bool queue_seen;        /* the queue time was observed */
  /* Server registry (server lock): requests the engine still holds. */
  struct srv_gen *reg_prev, *reg_next;
  bool in_registry;
  uint64_t id;
  /* Connection-thread only. */
  oai_request req;
  uint32_t n_choices;
  int fd;                 /* the client socket, to notice a hang-up while waiting */
  char rid[48];
  long long created;
  srv_choice choices[SRV_MAX_CHOICES];
  uint32_t finals_out;    /* final events consumed */
  uint32_t prompt_tokens;
  bool failed;            /* a choice ended with an error or abort */
  int fail_status;
  srv_body body;          /* non-streaming: the body's writer */
  srv_buf out;            /* bytes formatted but not yet handed to MHD */
  size_t out_pos;
  bool out_done;          /* stream: [DONE] is in `out` */
} srv_gen;

/* A new state holding the connection's reference; NULL when out of memory. */
srv_gen *srv_gen_new(struct pagedvk_server *s, int fd);
/* Submits g->req to the engine (the engine then holds a reference). 0 or -1 with *err. */
int srv_gen_submit(srv_gen *g, srv_error *err);
/* Waits for events and moves them to *evs (caller frees each text and the array).
 * 1: events or everything has ended; 0: timed out; -1: the client hung up. */
int srv_gen_wait(srv_gen *g, srv_event **evs, size_t *n, double timeout_s);
/* The engine's token callback (engine thread): queues a copy of the event; an event that cannot
 * be queued (out of memory) fails the request, which then ends when the engine has ended it. */
void srv_gen_on_token(const pagedvk_token_event *ev, void *user);
/* True once every choice's final event has been consumed (or can no longer come). */
bool srv_gen_done(const srv_gen *g);
/* Aborts the request in the engine if it still runs (the client is gone). */
void srv_gen_abort(srv_gen *g);
/* Drops the connection's reference. */
void srv_gen_release(srv_gen *g);
void srv_events_free(srv_event *evs, size_t n);

/* ---- responses (oai_format.c) -------------------------------------------------------------- */

/* Folds consumed events into the choices (non-streaming). */
void oai_collect(srv_gen *g, const srv_event *evs, size_t n);
/* Appends the next piece of the non-streaming response (at most one slice of a choice's text or
 * one token's logprob entry): false once the body is complete. */
bool oai_body_next(srv_gen *g, srv_buf *b);
/* Appends the SSE chunks for the events, and the final chunks once everything has ended. */
void oai_stream_events(srv_gen *g, const srv_event *evs, size_t n);

/* ---- connections (server.c's watch thread, http.c) ------------------------------------------ */

/* One open connection (MHD's socket context, from MHD_CONNECTION_NOTIFY_STARTED to _CLOSED, which
 * MHD calls before it closes the socket). Under s->conn_lock. */
typedef struct srv_conn {
  struct srv_conn *prev, *next;
  int fd;
  double deadline; /* pagedvk_now_seconds() by which the request (headers and body) must have
                    * arrived; 0: none (a response is being produced or written) */
} srv_conn;

/* ---- the server (server.c) ----------------------------------------------------------------- */

struct pagedvk_server {
  pagedvk_engine *engine;
  pagedvk_model *model;
  uint32_t max_model_len;
  char *host, *api_key, *model_name;
  pagedvk_sampling_params defaults;
  size_t max_body;
  FILE *log;
  struct MHD_Daemon *mhd;
  uint16_t port;
  int wake[2];                  /* self-pipe: stop requests and the engine thread's exit */
  volatile sig_atomic_t stop_requested; /* pagedvk_server_stop calls: 1 drains, 2 stops at once */
  pthread_t engine_thread;
  bool engine_started;
  int engine_rc;
  char engine_err[256];
  pthread_mutex_t lock;         /* ready, draining, stopping, the registry, the id counter */
  bool ready;                   /* an engine is attached (pagedvk_server_attach_engine) */
  bool draining;                /* stop asked: new generation requests get 503, running ones finish */
  double drain_timeout_s;
  bool stopping;
  bool shut_down;
  srv_gen *registry;
  unsigned requests_busy;       /* requests whose response is not fully written yet */
  pthread_cond_t idle;          /* signalled when requests_busy drops */
  uint64_t next_rid;
  srv_metrics metrics;
  /* Limits (copied from the options, defaults applied). */
  unsigned max_conns, max_conns_per_client, max_pending, header_timeout_s, write_timeout_s;
  bool metrics_open;            /* /metrics needs no key even when one is set */
  int reasoning_format;         /* pagedvk_reasoning_format: the default of a chat request */
  char **cors;                  /* allowed origins (NULL: CORS off) */
  size_t n_cors;
  bool cors_any;                /* "*" */
  unsigned pending;             /* generation requests admitted, not yet completed (under lock) */
  /* Connections and the watch thread: request deadlines, and memory given back once idle. */
  pthread_mutex_t conn_lock;
  srv_conn *conns;
  pthread_cond_t watch_cond;    /* under conn_lock */
  bool watch_stop;              /* under conn_lock */
  pthread_t watch_thread;
  bool watch_started;
  bool trim_due;                /* under lock: requests ran since the last malloc_trim */
  double idle_since;            /* under lock: when requests_busy last dropped to 0 */
};

/* Registry (registry.c): the requests the engine still holds, the stopping flag, the busy count.
 * The _locked forms need s->lock held. */
void srv_registry_add_locked(pagedvk_server *s, srv_gen *g);
void srv_registry_remove_locked(pagedvk_server *s, srv_gen *g);
void srv_registry_remove(pagedvk_server *s, srv_gen *g);
bool srv_is_stopping(pagedvk_server *s);
/* What /health and the admission of new requests see: loading (no engine yet), draining or
 * stopping, or ready. */
typedef enum srv_phase { SRV_LOADING, SRV_READY, SRV_DRAINING } srv_phase;
srv_phase srv_phase_of(pagedvk_server *s);
/* The same, and whether an engine is attached (s->engine and s->model may be read once it is:
 * a stop during loading drains a server that has none). */
srv_phase srv_phase_ready(pagedvk_server *s, bool *ready);
void srv_requests_busy_add(pagedvk_server *s, int delta);
/* Admits one more generation request unless max_pending_requests are in progress. */
bool srv_pending_take(pagedvk_server *s);
void srv_pending_give(pagedvk_server *s);
/* The connection this thread serves (http.c binds it before a generation request). srv_http_touch,
 * called by the thread while it waits for its request's events (gen.c), restarts the connection's
 * idle clock: time spent queued or generating does not count against the write timeout, only
 * time the client takes no bytes. */
void srv_touch_bind(struct MHD_Connection *c, unsigned write_timeout_s);
void srv_touch_unbind(struct MHD_Connection *c);
void srv_http_touch(void);

/* The MHD access handler and completion callback (http.c). */
enum MHD_Result srv_http_handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                const char *version, const char *upload, size_t *upload_size, void **con_cls);
void srv_http_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why);
/* MHD's connection notifications: a srv_conn per connection, on s->conns, with its deadline. */
void srv_http_conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code);
/* respond.c: adds the headers every response carries (CORS when the Origin is allowed, Retry-After
 * on 503), queues it, drops the caller's reference and counts the status. */
enum MHD_Result srv_queue(pagedvk_server *s, struct MHD_Connection *c, unsigned status, struct MHD_Response *r);
/* The request's Origin when CORS allows it, else NULL. */
const char *srv_cors_origin(pagedvk_server *s, struct MHD_Connection *c);


/* The OpenAI endpoints (oai_handler.c). */
enum MHD_Result oai_handle(pagedvk_server *s, struct MHD_Connection *c, oai_kind kind, const char *body,
                           size_t len);
/* Sends a JSON body with the status (takes ownership of j). */
enum MHD_Result srv_send_json(pagedvk_server *s, struct MHD_Connection *c, unsigned status, cJSON *j);
enum MHD_Result srv_send_error(pagedvk_server *s, struct MHD_Connection *c, const srv_error *e);

/* One line to the log, "pagedvk serve: " first; control bytes in it (client-supplied model names,
 * URLs, methods…) are escaped by srv_log_escape, so no client can forge lines or drive a terminal. */
void srv_log(pagedvk_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t srv_log_escape(char *out, size_t cap, const char *s);

#endif
