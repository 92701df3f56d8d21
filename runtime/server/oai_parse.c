/*
 * oai_parse.c — an OpenAI request body (completions or chat completions) into an oai_request:
 * sampling params, stop strings, and the prompt as token ids.
 *
 * Rules:
 * - The body is read by the server's bounded reader (json.h): malformed JSON or a body that is
 *   not an object → 400 "invalid_json"; a body past the reader's limits (values, depth, number
 *   length) → 400 "json_limit_exceeded", before anything larger than the body is built.
 * - Strings are bytes with a length: "\u0000" in a prompt, a message or a stop string is a NUL
 *   byte of it, never its end. Stop strings must be valid UTF-8 (a lone surrogate is not).
 * - Integers are read exactly from their text ("seed" is any 64-bit value, signed or unsigned).
 * - "model" is required and must be the served name (404 "model_not_found" otherwise).
 * - Every known field, when present and not null, must have its JSON type and range, else 400
 *   with "param" naming it. Unknown fields are ignored (clients send many).
 * - Fields left out take the server's defaults (pagedvk_server_options.defaults); "max_tokens"
 *   left out is the default capped by what the context leaves; given, prompt + max_tokens must fit
 *   the context (400 "context_length_exceeded").
 * - Completions: "prompt" is a string, a token-id array, or an array holding one string (one
 *   prompt per request). It is tokenized with BOS, control-token text kept as plain text — the
 *   same ids `pagedvk run` uses. Chat: "messages" (with "tools" and "chat_template_kwargs") are
 *   rendered by the model's Jinja chat template (pagedvk_chat_render) and the text tokenized with
 *   control tokens parsed, BOS added only when the template did not write it. Messages reach the
 *   template as sent (content string, text parts or null; name, tool_calls, tool_call_id,
 *   reasoning_content ...) except: role "developer" becomes "system", and a tool call's
 *   "arguments" string that holds a JSON object becomes that object. A template error is a 400
 *   with code "chat_template_error" and the template's message.
 * - Constrained output: "response_format" (OpenAI's text / json_object / json_schema), or
 *   llama-server's "grammar" (GBNF) and "json_schema" — one of them; the engine compiles it when
 *   the request is added, and an invalid one is a 400 naming that field with the engine's position
 *   ("grammar:LINE:COL: ..." / "json schema at /pointer: ...", gen.c).
 * - Chat: "reasoning_format" ("split", the server's default, or "none") says whether a thinking
 *   model's reasoning is split out of the content (oai_reasoning.h reads the rendered prompt).
 * Extensions accepted (vLLM's names): top_k, min_p, repetition_penalty, ignore_eos, priority,
 * stop_token_ids, chat_template_kwargs, add_generation_prompt; llama-server's grammar, json_schema,
 * reasoning_format.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oai_tools.h"
#include "server_internal.h"

#define INVALID "invalid_request_error"

static int bad_type(srv_error *err, const char *name, const char *want) {
  srv_error_set(err, 400, INVALID, name, "invalid_type", "'%s' must be %s", name, want);
  return -1;
}

static int out_of_range(srv_error *err, const char *name, const char *range) {
  srv_error_set(err, 400, INVALID, name, "invalid_value", "'%s' must be %s", name, range);
  return -1;
}

static int no_memory(srv_error *err) {
  srv_error_set(err, 503, "server_error", NULL, NULL, "out of memory");
  return -1;
}

/* The member, or SJ_NONE when absent or null. */
static uint32_t field(const sj_doc *d, uint32_t obj, const char *name) {
  uint32_t f = sj_get(d, obj, name);
  return f != SJ_NONE && sj_type_of(d, f) != SJ_NULL ? f : SJ_NONE;
}

static int get_float(const sj_doc *d, uint32_t obj, const char *name, double lo, double hi, float *out,
                     srv_error *err) {
  uint32_t f = field(d, obj, name);
  if (f == SJ_NONE) return 0;
  if (sj_type_of(d, f) != SJ_NUMBER) return bad_type(err, name, "a number");
  double v = sj_double(d, f);
  if (!(v >= lo && v <= hi)) {
    char range[96];
    snprintf(range, sizeof range, "between %g and %g", lo, hi);
    return out_of_range(err, name, range);
  }
  *out = (float)v;
  return 0;
}

/* An integer member read exactly from its text: 0 with *neg and *mag, -1 with *err (not an
 * integer; or beyond 64 bits: out of `range`). */
static int get_integer(const sj_doc *d, uint32_t f, const char *name, const char *range, bool *neg, uint64_t *mag,
                       srv_error *err) {
  if (sj_type_of(d, f) != SJ_NUMBER) return bad_type(err, name, "an integer");
  if (sj_integer(d, f, neg, mag)) return 0;
  double v = sj_double(d, f);
  if (v != floor(v)) return bad_type(err, name, "an integer");
  return out_of_range(err, name, range);
}

/* An integer field in [lo, hi]; *present tells whether it was given. */
static int get_int(const sj_doc *d, uint32_t obj, const char *name, long long lo, long long hi, long long *out,
                   bool *present, srv_error *err) {
  uint32_t f = field(d, obj, name);
  if (present) *present = f != SJ_NONE;
  if (f == SJ_NONE) return 0;
  char range[96];
  snprintf(range, sizeof range, "between %lld and %lld", lo, hi);
  bool neg;
  uint64_t mag;
  if (get_integer(d, f, name, range, &neg, &mag, err)) return -1;
  /* lo < 0 < hi here or lo >= 0: compare magnitudes without overflow */
  bool ok = neg ? lo < 0 && mag <= (uint64_t)(-(lo + 1)) + 1 : hi >= 0 && mag <= (uint64_t)hi && (lo <= 0 || mag >= (uint64_t)lo);
  if (!ok) return out_of_range(err, name, range);
  *out = neg ? -(long long)(mag - 1) - 1 : (long long)mag;
  return 0;
}

static int get_bool(const sj_doc *d, uint32_t obj, const char *name, bool *out, srv_error *err) {
  uint32_t f = field(d, obj, name);
  if (f == SJ_NONE) return 0;
  sj_type t = sj_type_of(d, f);
  if (t != SJ_TRUE && t != SJ_FALSE) return bad_type(err, name, "a boolean");
  *out = t == SJ_TRUE;
  return 0;
}

static int add_stop(oai_request *r, const char *s, size_t len, srv_error *err) {
  if (r->sp.n_stop == SRV_MAX_STOPS)
    return srv_error_set(err, 400, INVALID, "stop", NULL, "at most %d stop strings", SRV_MAX_STOPS), -1;
  if (!len) return srv_error_set(err, 400, INVALID, "stop", NULL, "stop strings must not be empty"), -1;
  if (len > PAGEDVK_MAX_STOP_BYTES)
    return srv_error_set(err, 400, INVALID, "stop", "invalid_value", "stop strings of at most %d bytes",
                         PAGEDVK_MAX_STOP_BYTES),
           -1;
  if (!srv_utf8_valid(s, len))
    return srv_error_set(err, 400, INVALID, "stop", "invalid_value", "stop strings must be valid UTF-8"), -1;
  char *copy = malloc(len + 1);
  if (!copy) return no_memory(err);
  memcpy(copy, s, len);
  copy[len] = 0;
  r->stops[r->sp.n_stop] = copy;
  r->stop_lens[r->sp.n_stop] = len;
  r->sp.n_stop++;
  return 0;
}

static int parse_stop(const sj_doc *d, uint32_t root, oai_request *r, srv_error *err) {
  r->sp.stop = (const char *const *)r->stops;
  r->sp.stop_len = r->stop_lens;
  r->sp.n_stop = 0;
  uint32_t f = field(d, root, "stop");
  if (f == SJ_NONE) return 0;
  if (sj_type_of(d, f) == SJ_STRING) return add_stop(r, sj_bytes(d, f), sj_len(d, f), err);
  if (sj_type_of(d, f) != SJ_ARRAY) return bad_type(err, "stop", "a string or an array of strings");
  for (uint32_t it = sj_first(d, f); it != SJ_NONE; it = sj_next(d, it)) {
    if (sj_type_of(d, it) != SJ_STRING) return bad_type(err, "stop", "a string or an array of strings");
    if (add_stop(r, sj_bytes(d, it), sj_len(d, it), err)) return -1;
  }
  return 0;
}

static int parse_stop_ids(const sj_doc *d, uint32_t root, oai_request *r, size_t n_vocab, srv_error *err) {
  r->sp.stop_ids = NULL;
  r->sp.n_stop_ids = 0;
  uint32_t f = field(d, root, "stop_token_ids");
  if (f == SJ_NONE) return 0;
  if (sj_type_of(d, f) != SJ_ARRAY) return bad_type(err, "stop_token_ids", "an array of token ids");
  uint32_t n = sj_len(d, f);
  if (n == 0) return 0;
  if (n > SRV_MAX_STOP_IDS)
    return srv_error_set(err, 400, INVALID, "stop_token_ids", "invalid_value", "at most %d stop token ids",
                         SRV_MAX_STOP_IDS),
           -1;
  if (!(r->stop_ids = malloc((size_t)n * sizeof *r->stop_ids))) return no_memory(err);
  for (uint32_t it = sj_first(d, f); it != SJ_NONE; it = sj_next(d, it)) {
    bool neg;
    uint64_t mag;
    if (sj_type_of(d, it) != SJ_NUMBER || !sj_integer(d, it, &neg, &mag))
      return bad_type(err, "stop_token_ids", "an array of token ids");
    if (neg || mag >= n_vocab) return out_of_range(err, "stop_token_ids", "token ids of this model's vocabulary");
    r->stop_ids[r->sp.n_stop_ids++] = (int32_t)mag;
  }
  r->sp.stop_ids = r->stop_ids;
  return 0;
}

/* "seed": any 64-bit integer, signed (OpenAI's) or unsigned, read exactly from its text; a
 * negative seed is its two's complement. */
static int parse_seed(const sj_doc *d, uint32_t root, oai_request *r, srv_error *err) {
  uint32_t f = field(d, root, "seed");
  if (f == SJ_NONE) return 0;
  static const char range[] = "an integer between -9223372036854775808 and 18446744073709551615";
  bool neg;
  uint64_t mag;
  if (get_integer(d, f, "seed", range, &neg, &mag, err)) return -1;
  if (neg && mag > (uint64_t)1 << 63) return out_of_range(err, "seed", range);
  r->sp.seed = neg ? (uint64_t)0 - mag : mag;
  r->sp.has_seed = 1;
  return 0;
}

/* temperature, top_p, top_k, min_p, penalties, seed, n, ignore_eos, priority. */
static int parse_sampling(const sj_doc *d, uint32_t root, oai_request *r, srv_error *err) {
  pagedvk_sampling_params *sp = &r->sp;
  long long v;
  bool given;
  if (get_float(d, root, "temperature", 0, 2, &sp->temperature, err)) return -1;
  if (get_float(d, root, "top_p", 0, 1, &sp->top_p, err)) return -1;
  if (sp->top_p <= 0) return out_of_range(err, "top_p", "greater than 0 and at most 1");
  if (get_float(d, root, "min_p", 0, 1, &sp->min_p, err)) return -1;
  if (get_float(d, root, "presence_penalty", -2, 2, &sp->presence_penalty, err)) return -1;
  if (get_float(d, root, "frequency_penalty", -2, 2, &sp->frequency_penalty, err)) return -1;
  if (get_float(d, root, "repetition_penalty", 0.01, 100, &sp->repetition_penalty, err)) return -1;
  if (get_int(d, root, "top_k", -1, 1000000000, &v, &given, err)) return -1;
  if (given) sp->top_k = v < 0 ? 0 : (int32_t)v;
  if (get_int(d, root, "n", 1, SRV_MAX_CHOICES, &v, &given, err)) return -1;
  sp->n = given ? (uint32_t)v : 1;
  sp->beam_width = 0;
  if (parse_seed(d, root, r, err)) return -1;
  if (get_int(d, root, "priority", -1000000000, 1000000000, &v, &given, err)) return -1;
  if (given) sp->priority = (int32_t)v;
  bool ignore_eos = sp->ignore_eos != 0;
  if (get_bool(d, root, "ignore_eos", &ignore_eos, err)) return -1;
  sp->ignore_eos = ignore_eos;
  return 0;
}

/* completions: "logprobs": N (0..20); chat: "logprobs": bool and "top_logprobs": N. */
static int parse_logprobs(const sj_doc *d, uint32_t root, oai_request *r, srv_error *err) {
  long long v;
  bool given;
  if (r->kind == OAI_COMPLETION) {
    if (get_int(d, root, "logprobs", 0, SRV_MAX_TOP, &v, &given, err)) return -1;
    r->logprobs = given;
    r->top_logprobs = given ? (uint32_t)v : 0;
  } else {
    if (get_bool(d, root, "logprobs", &r->logprobs, err)) return -1;
    if (get_int(d, root, "top_logprobs", 0, SRV_MAX_TOP, &v, &given, err)) return -1;
    if (given && v > 0 && !r->logprobs)
      return srv_error_set(err, 400, INVALID, "top_logprobs", NULL, "'top_logprobs' needs 'logprobs': true"), -1;
    r->top_logprobs = given ? (uint32_t)v : 0;
  }
  /* the engine reports logprobs only with at least one alternative */
  r->sp.logprobs = r->logprobs ? (r->top_logprobs ? r->top_logprobs : 1) : 0;
  return 0;
}

/* The logprob entries a request may report (each generated token's and its alternatives) are
 * bounded, so their records and the time to write them are: n × max_tokens × (1 + top_logprobs)
 * ≤ SRV_MAX_LOGPROB_ENTRIES. */
static int check_logprob_entries(const oai_request *r, bool max_given, srv_error *err) {
  if (!r->logprobs) return 0;
  unsigned long long n = r->sp.n ? r->sp.n : 1, per = 1ull + r->top_logprobs;
  unsigned long long total = n * r->sp.max_tokens * per;
  if (total <= SRV_MAX_LOGPROB_ENTRIES) return 0;
  const char *param = r->kind == OAI_CHAT && r->top_logprobs ? "top_logprobs" : "logprobs";
  srv_error_set(err, 400, INVALID, param, "invalid_value",
                "logprobs would report n × max_tokens × (1 + top_logprobs) = %llu × %u × %llu = %llu entries; at "
                "most %u per request: lower n, max_tokens or top_logprobs%s",
                n, r->sp.max_tokens, per, total, (unsigned)SRV_MAX_LOGPROB_ENTRIES,
                max_given ? "" : " (max_tokens was left out: it defaults to what the context leaves)");
  return -1;
}

static int tokenize(pagedvk_server *s, const char *text, size_t len, int add_bos, int parse_special, oai_request *r,
                    const char *param, srv_error *err) {
  char msg[256];
  size_t cap = len + 16, n = 0;
  if (!(r->prompt = malloc(cap * sizeof *r->prompt))) return no_memory(err);
  if (pagedvk_tokenize_len(s->model, text, len, add_bos, parse_special, r->prompt, cap, &n, msg, sizeof msg))
    return srv_error_set(err, 400, INVALID, param, NULL, "cannot tokenize: %s", msg), -1;
  r->n_prompt = n;
  return 0;
}

static int prompt_ids(pagedvk_server *s, const sj_doc *d, uint32_t arr, oai_request *r, srv_error *err) {
  uint32_t n = sj_len(d, arr);
  size_t vocab = pagedvk_vocab_size(s->model);
  if (!(r->prompt = malloc((size_t)(n ? n : 1) * sizeof *r->prompt))) return no_memory(err);
  for (uint32_t it = sj_first(d, arr); it != SJ_NONE; it = sj_next(d, it)) {
    bool neg;
    uint64_t mag;
    if (sj_type_of(d, it) != SJ_NUMBER || !sj_integer(d, it, &neg, &mag)) {
      if (sj_type_of(d, it) == SJ_NUMBER && sj_double(d, it) == floor(sj_double(d, it)))
        return out_of_range(err, "prompt", "token ids of this model's vocabulary");
      return bad_type(err, "prompt", "a string, an array of token ids, or an array of one string");
    }
    if (neg || mag >= vocab) return out_of_range(err, "prompt", "token ids of this model's vocabulary");
    r->prompt[r->n_prompt++] = (int32_t)mag;
  }
  return 0;
}

static int parse_prompt(pagedvk_server *s, const sj_doc *d, uint32_t root, oai_request *r, srv_error *err) {
  uint32_t p = field(d, root, "prompt");
  if (p == SJ_NONE)
    return srv_error_set(err, 400, INVALID, "prompt", "missing_required_parameter", "'prompt' is required"), -1;
  if (sj_type_of(d, p) == SJ_ARRAY && sj_len(d, p) == 1 && sj_type_of(d, sj_first(d, p)) == SJ_STRING)
    p = sj_first(d, p);
  if (sj_type_of(d, p) == SJ_STRING) return tokenize(s, sj_bytes(d, p), sj_len(d, p), 1, 0, r, "prompt", err);
  if (sj_type_of(d, p) != SJ_ARRAY)
    return bad_type(err, "prompt", "a string, an array of token ids, or an array of one string");
  if (sj_len(d, p) && sj_type_of(d, sj_first(d, p)) != SJ_NUMBER)
    return srv_error_set(err, 400, INVALID, "prompt", NULL, "one prompt per request: a string or an array of token ids"),
           -1;
  return prompt_ids(s, d, p, r, err);
}

/* "content": a string, null (or absent), or a list of {"type": "text", "text": …} parts, passed to
 * the template as given (pagedvk reads no images or audio, so other parts are refused). */
static int check_content(const sj_doc *d, uint32_t m, srv_error *err) {
  uint32_t c = field(d, m, "content");
  if (c == SJ_NONE || sj_type_of(d, c) == SJ_STRING) return 0;
  if (sj_type_of(d, c) != SJ_ARRAY)
    return bad_type(err, "messages", "a list of messages whose content is a string or text parts");
  for (uint32_t part = sj_first(d, c); part != SJ_NONE; part = sj_next(d, part)) {
    uint32_t type = sj_get(d, part, "type"), t = sj_get(d, part, "text");
    if (type == SJ_NONE || !sj_str_is(d, type, "text") || t == SJ_NONE || sj_type_of(d, t) != SJ_STRING)
      return srv_error_set(err, 400, INVALID, "messages", NULL, "only text content parts are supported"), -1;
  }
  return 0;
}

/* "role": system, user, assistant or tool; "developer" (OpenAI's newer name for system) becomes
 * "system" when written for the template. */
static int check_role(const sj_doc *d, uint32_t m, srv_error *err) {
  uint32_t role = sj_get(d, m, "role");
  if (role == SJ_NONE || sj_type_of(d, role) != SJ_STRING)
    return srv_error_set(err, 400, INVALID, "messages", "invalid_type", "every message needs a string 'role'"), -1;
  static const char *const known[] = {"developer", "system", "user", "assistant", "tool"};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (sj_str_is(d, role, known[i])) return 0;
  uint32_t n = sj_len(d, role);
  srv_error_set(err, 400, INVALID, "messages", NULL, "unsupported message role '%.*s'", (int)(n < 64 ? n : 64),
                sj_bytes(d, role));
  return -1;
}

static int check_tool_calls(const sj_doc *d, uint32_t m, srv_error *err) {
  uint32_t calls = field(d, m, "tool_calls");
  if (calls != SJ_NONE && sj_type_of(d, calls) != SJ_ARRAY)
    return bad_type(err, "messages", "messages whose tool_calls are an array");
  return 0;
}

/* A tool call's function object, with an "arguments" string that reads as a JSON object written
 * as that object: on the wire each function's "arguments" is a JSON string; templates print it
 * with `| tojson` or walk its members, as the object it spells (llama-server does the same); any
 * other string is passed as it is. The string is read with the same limits as a body. */
static void write_function(srv_buf *b, const sj_doc *d, uint32_t fn) {
  srv_buf_append(b, "{", 1);
  for (uint32_t k = sj_first(d, fn); k != SJ_NONE; k = sj_next(d, sj_next(d, k))) {
    uint32_t v = sj_next(d, k);
    if (k != sj_first(d, fn)) srv_buf_append(b, ",", 1);
    jw_value(b, d, k);
    srv_buf_append(b, ":", 1);
    sj_doc args;
    if (sj_str_is(d, k, "arguments") && sj_type_of(d, v) == SJ_STRING &&
        sj_parse(&args, sj_bytes(d, v), sj_len(d, v), NULL, 0) == SJ_OK) {
      bool object = sj_type_of(&args, 0) == SJ_OBJECT;
      if (object) jw_value(b, &args, 0);
      sj_free(&args);
      if (object) continue;
    }
    jw_value(b, d, v);
  }
  srv_buf_append(b, "}", 1);
}

/* An assistant turn's tool_calls (an array): each call's "function" through write_function. */
static void write_tool_calls(srv_buf *b, const sj_doc *d, uint32_t calls) {
  srv_buf_append(b, "[", 1);
  for (uint32_t c = sj_first(d, calls); c != SJ_NONE; c = sj_next(d, c)) {
    if (c != sj_first(d, calls)) srv_buf_append(b, ",", 1);
    if (sj_type_of(d, c) != SJ_OBJECT) {
      jw_value(b, d, c);
      continue;
    }
    uint32_t fn = sj_get(d, c, "function");
    srv_buf_append(b, "{", 1);
    for (uint32_t k = sj_first(d, c); k != SJ_NONE; k = sj_next(d, sj_next(d, k))) {
      uint32_t v = sj_next(d, k);
      if (k != sj_first(d, c)) srv_buf_append(b, ",", 1);
      jw_value(b, d, k);
      srv_buf_append(b, ":", 1);
      if (v == fn && sj_type_of(d, v) == SJ_OBJECT) write_function(b, d, v);
      else jw_value(b, d, v);
    }
    srv_buf_append(b, "}", 1);
  }
  srv_buf_append(b, "]", 1);
}

/* One message as the template gets it: role "developer" written as "system", tool_calls
 * through write_tool_calls, everything else as sent. */
static void write_message(srv_buf *b, const sj_doc *d, uint32_t m) {
  uint32_t calls = sj_get(d, m, "tool_calls");
  srv_buf_append(b, "{", 1);
  for (uint32_t k = sj_first(d, m); k != SJ_NONE; k = sj_next(d, sj_next(d, k))) {
    uint32_t v = sj_next(d, k);
    if (k != sj_first(d, m)) srv_buf_append(b, ",", 1);
    jw_value(b, d, k);
    srv_buf_append(b, ":", 1);
    if (sj_str_is(d, k, "role") && sj_str_is(d, v, "developer")) srv_buf_puts(b, "\"system\"");
    else if (v == calls && sj_type_of(d, v) == SJ_ARRAY) write_tool_calls(b, d, v);
    else jw_value(b, d, v);
  }
  srv_buf_append(b, "}", 1);
}

/* The request's messages as the template gets them (checked and converted, see above), in *out. */
static int messages_json(const sj_doc *d, uint32_t msgs, srv_buf *out, srv_error *err) {
  for (uint32_t it = sj_first(d, msgs); it != SJ_NONE; it = sj_next(d, it)) {
    if (sj_type_of(d, it) != SJ_OBJECT) return bad_type(err, "messages", "an array of message objects");
    if (check_role(d, it, err) || check_content(d, it, err) || check_tool_calls(d, it, err)) return -1;
  }
  srv_buf_append(out, "[", 1);
  for (uint32_t it = sj_first(d, msgs); it != SJ_NONE; it = sj_next(d, it)) {
    if (it != sj_first(d, msgs)) srv_buf_append(out, ",", 1);
    write_message(out, d, it);
  }
  srv_buf_append(out, "]", 1);
  return out->oom ? no_memory(err) : 0;
}

/* An optional member of the given JSON type as text for the template (out->p NULL when absent). */
static int json_field(const sj_doc *d, uint32_t root, const char *name, bool object, srv_buf *out, srv_error *err) {
  uint32_t f = field(d, root, name);
  if (f == SJ_NONE) return 0;
  if (sj_type_of(d, f) != (object ? SJ_OBJECT : SJ_ARRAY)) return bad_type(err, name, object ? "an object" : "an array");
  jw_value(out, d, f);
  return out->oom ? no_memory(err) : 0;
}

/* Renders the chat with the model's template and tokenizes the text (its length, NUL bytes
 * included), control tokens parsed and BOS added only when the text does not start with it. A
 * template error (raise_exception, a missing template) is the client's 400, with the template's
 * message. */
static int render_chat(pagedvk_server *s, const pagedvk_chat_input *in, oai_request *r, srv_error *err) {
  char msg[512], *text = NULL;
  size_t len = 0;
  int has_bos = 0;
  int rc = pagedvk_chat_render(s->model, in, &text, &len, &has_bos, msg, sizeof msg);
  if (rc == PAGEDVK_ERR_NO_MEMORY) return no_memory(err);
  if (rc) return srv_error_set(err, 400, INVALID, "messages", "chat_template_error", "%s", msg), -1;
  if (r->tool_prefill && *r->tool_prefill) { /* a forced call's opening marker (oai_tools.h) */
    size_t add = strlen(r->tool_prefill);
    char *more = realloc(text, len + add + 1);
    if (!more) {
      free(text);
      return no_memory(err);
    }
    text = more;
    memcpy(text + len, r->tool_prefill, add + 1);
    len += add;
  }
  rc = tokenize(s, text, len, !has_bos, 1, r, "messages", err);
  if (!rc && r->think_style != OAI_THINK_OFF) oai_reasoning_detect(text, len, &r->think_style, &r->think_start);
  free(text);
  return rc;
}

/* "reasoning_format": "split" (also llama-server's "auto", "deepseek") or "none" (also "raw");
 * default the server's. Split: r->think_style is set from the rendered prompt (render_chat). */
static int parse_reasoning_format(pagedvk_server *s, const sj_doc *d, uint32_t root, oai_request *r, srv_error *err) {
  bool split = s->reasoning_format != PAGEDVK_REASONING_NONE;
  uint32_t f = field(d, root, "reasoning_format");
  if (f != SJ_NONE) {
    if (sj_type_of(d, f) != SJ_STRING) return bad_type(err, "reasoning_format", "\"split\" or \"none\"");
    if (sj_str_is(d, f, "split") || sj_str_is(d, f, "auto") || sj_str_is(d, f, "deepseek")) split = true;
    else if (sj_str_is(d, f, "none") || sj_str_is(d, f, "raw")) split = false;
    else return out_of_range(err, "reasoning_format", "\"split\" or \"none\"");
  }
  r->think_style = split ? OAI_THINK_TAGS : OAI_THINK_OFF; /* the prompt decides the style */
  r->think_raw = !split;
  return 0;
}

/* "messages" (non-empty), "tools" and "chat_template_kwargs" (as vLLM and llama-server take
 * them: each member a template variable, e.g. {"enable_thinking": false}), and
 * "add_generation_prompt" (vLLM's; default true). */
static int parse_messages(pagedvk_server *s, const sj_doc *d, uint32_t root, oai_request *r, srv_error *err) {
  uint32_t m = field(d, root, "messages");
  if (m == SJ_NONE)
    return srv_error_set(err, 400, INVALID, "messages", "missing_required_parameter", "'messages' is required"), -1;
  if (sj_type_of(d, m) != SJ_ARRAY || sj_len(d, m) == 0) return bad_type(err, "messages", "a non-empty array");
  bool gen = true;
  srv_buf tools = {0}, kwargs = {0}, msgs = {0};
  int rc = get_bool(d, root, "add_generation_prompt", &gen, err);
  if (!rc) rc = parse_reasoning_format(s, d, root, r, err);
  if (!rc) rc = json_field(d, root, "tools", false, &tools, err);
  if (!rc) rc = oai_parse_tools(s, d, root, r, err);
  if (!rc) rc = json_field(d, root, "chat_template_kwargs", true, &kwargs, err);
  if (!rc) rc = messages_json(d, m, &msgs, err);
  if (!rc) {
    pagedvk_chat_input in = {.messages_json = msgs.p, .tools_json = tools.p, .kwargs_json = kwargs.p,
                             .add_generation_prompt = gen};
    rc = render_chat(s, &in, r, err);
  }
  srv_buf_free(&msgs);
  srv_buf_free(&tools);
  srv_buf_free(&kwargs);
  return rc;
}

/* ---- constrained output ---------------------------------------------------------------------- */

/* The grammar of the request: `kind` with the text of node `f` (a JSON value written compactly, or
 * a string's bytes for GBNF), brought by field `param`. */
static int set_grammar(oai_request *r, int kind, const sj_doc *d, uint32_t f, const char *param, srv_error *err) {
  srv_buf text = {0};
  if (f != SJ_NONE && sj_type_of(d, f) == SJ_STRING) srv_buf_append(&text, sj_bytes(d, f), sj_len(d, f));
  else if (f != SJ_NONE) jw_value(&text, d, f);
  srv_buf_append(&text, "", 1); /* a NUL after the text, which grammar_len excludes */
  if (text.oom) {
    srv_buf_free(&text);
    return no_memory(err);
  }
  free(r->grammar_text);
  r->grammar_text = text.p;
  r->sp.grammar_kind = kind;
  r->sp.grammar = text.p;
  r->sp.grammar_len = text.len - 1;
  r->grammar_param = param;
  return 0;
}

/* "response_format": {"type": "text"} (no constraint), {"type": "json_object"} (any JSON object;
 * with a "schema" member, as llama-server takes it, that schema), or {"type": "json_schema",
 * "json_schema": {"name", "description", "schema", "strict"}} (the schema; without one, any JSON
 * object). "strict" false is accepted and constrains all the same: the output always follows the
 * schema (docs/GRAMMAR.md). */
static int parse_response_format(const sj_doc *d, uint32_t root, oai_request *r, srv_error *err) {
  static const char P[] = "response_format";
  uint32_t rf = field(d, root, P);
  if (rf == SJ_NONE) return 0;
  if (sj_type_of(d, rf) != SJ_OBJECT) return bad_type(err, P, "an object");
  uint32_t type = sj_get(d, rf, "type");
  if (type == SJ_NONE || sj_type_of(d, type) != SJ_STRING)
    return srv_error_set(err, 400, INVALID, P, "invalid_type",
                         "'response_format' needs a 'type': \"text\", \"json_object\" or \"json_schema\""),
           -1;
  if (sj_str_is(d, type, "text")) return 0;
  if (sj_str_is(d, type, "json_object")) {
    uint32_t schema = field(d, rf, "schema");
    if (schema == SJ_NONE) return set_grammar(r, PAGEDVK_GRAMMAR_JSON_OBJECT, d, SJ_NONE, P, err);
    if (sj_type_of(d, schema) != SJ_OBJECT && sj_type_of(d, schema) != SJ_TRUE && sj_type_of(d, schema) != SJ_FALSE)
      return bad_type(err, P, "an object whose 'schema' is a JSON schema (an object)");
    return set_grammar(r, PAGEDVK_GRAMMAR_JSON_SCHEMA, d, schema, P, err);
  }
  if (!sj_str_is(d, type, "json_schema")) {
    uint32_t n = sj_len(d, type);
    return srv_error_set(err, 400, INVALID, P, "invalid_value",
                         "unknown response_format type '%.*s': \"text\", \"json_object\" or \"json_schema\"",
                         (int)(n < 64 ? n : 64), sj_bytes(d, type)),
           -1;
  }
  uint32_t js = field(d, rf, "json_schema");
  if (js == SJ_NONE)
    return srv_error_set(err, 400, INVALID, P, "missing_required_parameter",
                         "response_format of type \"json_schema\" needs a 'json_schema' object"),
           -1;
  if (sj_type_of(d, js) != SJ_OBJECT) return bad_type(err, P, "an object whose 'json_schema' is an object");
  uint32_t name = field(d, js, "name"), strict = field(d, js, "strict"), schema = field(d, js, "schema");
  if (name != SJ_NONE && sj_type_of(d, name) != SJ_STRING) return bad_type(err, P, "an object whose json_schema.name is a string");
  if (strict != SJ_NONE && sj_type_of(d, strict) != SJ_TRUE && sj_type_of(d, strict) != SJ_FALSE)
    return bad_type(err, P, "an object whose json_schema.strict is a boolean");
  if (schema == SJ_NONE) return set_grammar(r, PAGEDVK_GRAMMAR_JSON_OBJECT, d, SJ_NONE, P, err);
  if (sj_type_of(d, schema) != SJ_OBJECT && sj_type_of(d, schema) != SJ_TRUE && sj_type_of(d, schema) != SJ_FALSE)
    return bad_type(err, P, "an object whose json_schema.schema is a JSON schema (an object)");
  return set_grammar(r, PAGEDVK_GRAMMAR_JSON_SCHEMA, d, schema, P, err);
}

/* The constraint of the request: "response_format", or llama-server's "grammar" (GBNF text) or
 * "json_schema" (a schema object); at most one of them. */
static int parse_constraint(const sj_doc *d, uint32_t root, oai_request *r, srv_error *err) {
  r->sp.grammar_kind = PAGEDVK_GRAMMAR_NONE;
  r->sp.grammar = NULL;
  r->sp.grammar_len = 0;
  if (parse_response_format(d, root, r, err)) return -1;
  uint32_t gbnf = field(d, root, "grammar"), schema = field(d, root, "json_schema");
  const char *other = gbnf != SJ_NONE ? "grammar" : schema != SJ_NONE ? "json_schema" : NULL;
  if (!other) return 0;
  if (r->grammar_param || (gbnf != SJ_NONE && schema != SJ_NONE))
    return srv_error_set(err, 400, INVALID, other, "invalid_value",
                         "give at most one of 'response_format' (json_object or json_schema), 'grammar' and "
                         "'json_schema'"),
           -1;
  if (gbnf != SJ_NONE) {
    if (sj_type_of(d, gbnf) != SJ_STRING) return bad_type(err, "grammar", "a string (GBNF grammar text)");
    return set_grammar(r, PAGEDVK_GRAMMAR_GBNF, d, gbnf, "grammar", err);
  }
  if (sj_type_of(d, schema) != SJ_OBJECT && sj_type_of(d, schema) != SJ_TRUE && sj_type_of(d, schema) != SJ_FALSE)
    return bad_type(err, "json_schema", "a JSON schema (an object)");
  return set_grammar(r, PAGEDVK_GRAMMAR_JSON_SCHEMA, d, schema, "json_schema", err);
}

static int check_model(pagedvk_server *s, const sj_doc *d, uint32_t root, srv_error *err) {
  uint32_t m = field(d, root, "model");
  if (m == SJ_NONE)
    return srv_error_set(err, 400, INVALID, "model", "missing_required_parameter", "'model' is required"), -1;
  if (sj_type_of(d, m) != SJ_STRING) return bad_type(err, "model", "a string");
  if (!sj_str_is(d, m, s->model_name)) {
    uint32_t n = sj_len(d, m);
    return srv_error_set(err, 404, INVALID, "model", "model_not_found",
                         "the model '%.*s' does not exist; this server serves '%s'", (int)(n < 200 ? n : 200),
                         sj_bytes(d, m), s->model_name),
           -1;
  }
  return 0;
}

/* max_tokens (or max_completion_tokens) against what the context leaves after the prompt;
 * *given says whether the request named it. */
static int parse_max_tokens(pagedvk_server *s, const sj_doc *d, uint32_t root, oai_request *r, bool *given,
                            srv_error *err) {
  const char *param = r->kind == OAI_CHAT ? "messages" : "prompt";
  uint32_t ctx = s->max_model_len;
  if (r->n_prompt == 0) return srv_error_set(err, 400, INVALID, param, NULL, "the prompt is empty"), -1;
  if (r->n_prompt >= ctx)
    return srv_error_set(err, 400, INVALID, param, "context_length_exceeded",
                         "this model's maximum context length is %u tokens; the prompt has %zu", ctx, r->n_prompt),
           -1;
  long long v = 0;
  *given = false;
  const char *name = field(d, root, "max_completion_tokens") != SJ_NONE ? "max_completion_tokens" : "max_tokens";
  if (get_int(d, root, name, 1, 1000000000, &v, given, err)) return -1;
  uint32_t room = ctx - (uint32_t)r->n_prompt;
  if (!*given) {
    r->sp.max_tokens = r->sp.max_tokens && r->sp.max_tokens < room ? r->sp.max_tokens : room;
    return 0;
  }
  if ((unsigned long long)v > room)
    return srv_error_set(err, 400, INVALID, name, "context_length_exceeded",
                         "this model's maximum context length is %u tokens; %zu in the prompt + %lld to generate "
                         "is %llu",
                         ctx, r->n_prompt, v, (unsigned long long)r->n_prompt + (unsigned long long)v),
           -1;
  r->sp.max_tokens = (uint32_t)v;
  return 0;
}

static int parse_stream(const sj_doc *d, uint32_t root, oai_request *r, srv_error *err) {
  if (get_bool(d, root, "stream", &r->stream, err)) return -1;
  uint32_t so = field(d, root, "stream_options");
  if (so == SJ_NONE) return 0;
  if (sj_type_of(d, so) != SJ_OBJECT) return bad_type(err, "stream_options", "an object");
  return get_bool(d, so, "include_usage", &r->include_usage, err);
}

static int parse_object(pagedvk_server *s, const sj_doc *d, oai_request *r, srv_error *err) {
  uint32_t root = 0;
  int rc = check_model(s, d, root, err);
  if (!rc) rc = parse_stream(d, root, r, err);
  if (!rc) rc = parse_sampling(d, root, r, err);
  if (!rc) rc = parse_logprobs(d, root, r, err);
  if (!rc) rc = parse_stop(d, root, r, err);
  if (!rc) rc = parse_stop_ids(d, root, r, pagedvk_vocab_size(s->model), err);
  if (!rc) rc = parse_constraint(d, root, r, err);
  uint32_t echo = field(d, root, "echo");
  if (!rc && echo != SJ_NONE && sj_type_of(d, echo) == SJ_TRUE) {
    srv_error_set(err, 400, INVALID, "echo", NULL, "'echo' is not supported");
    rc = -1;
  }
  if (!rc) rc = r->kind == OAI_CHAT ? parse_messages(s, d, root, r, err) : parse_prompt(s, d, root, r, err);
  /* a JSON answer, or a forced tool call (its grammar and the call's opening marker after the
   * prompt), has no thinking block: all of it is content, even where the prompt opened the block
   * (DeepSeek-R1's generation prompt ends in "<think>\n") */
  if (r->sp.grammar_kind == PAGEDVK_GRAMMAR_JSON_SCHEMA || r->sp.grammar_kind == PAGEDVK_GRAMMAR_JSON_OBJECT ||
      r->tool_prefill)
    r->think_style = OAI_THINK_OFF;
  bool max_given = false;
  if (!rc) rc = parse_max_tokens(s, d, root, r, &max_given, err);
  if (!rc) rc = check_logprob_entries(r, max_given, err);
  return rc;
}

int oai_parse(pagedvk_server *s, oai_kind kind, const char *body, size_t len, oai_request *r, srv_error *err) {
  memset(r, 0, sizeof *r);
  r->kind = kind;
  r->sp = s->defaults;
  r->sp.stop = NULL;
  r->sp.stop_len = NULL;
  r->sp.n_stop = 0;
  if (!len) {
    srv_error_set(err, 400, INVALID, NULL, "invalid_json", "the request needs a JSON body");
    return -1;
  }
  sj_doc d;
  char msg[128];
  sj_status st = sj_parse(&d, body, len, msg, sizeof msg);
  if (st == SJ_NOMEM) return no_memory(err);
  if (st == SJ_SYNTAX) {
    srv_error_set(err, 400, INVALID, NULL, "invalid_json", "the body is not a JSON object: %s", msg);
    return -1;
  }
  if (st != SJ_OK) {
    srv_error_set(err, 400, INVALID, NULL, "json_limit_exceeded", "the body is refused: %s (a limit of this server)",
                  msg);
    return -1;
  }
  int rc;
  if (sj_type_of(&d, 0) != SJ_OBJECT) {
    srv_error_set(err, 400, INVALID, NULL, "invalid_json", "the body is not a JSON object");
    rc = -1;
  } else {
    rc = parse_object(s, &d, r, err);
  }
  sj_free(&d);
  return rc;
}

void oai_request_free(oai_request *r) {
  for (uint32_t i = 0; i < SRV_MAX_STOPS; i++) free(r->stops[i]);
  free(r->stop_ids);
  free(r->prompt);
  free(r->grammar_text);
  free(r->tool_prefill);
  memset(r, 0, sizeof *r);
}
