/*
 * oai_parse.c — an OpenAI request body (completions or chat completions) into an oai_request:
 * sampling params, stop strings, and the prompt as token ids.
 *
 * Rules:
 * - Malformed JSON or a body that is not an object → 400 "invalid_json".
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
 * Extensions accepted (vLLM's names): top_k, min_p, repetition_penalty, ignore_eos, priority,
 * stop_token_ids, chat_template_kwargs, add_generation_prompt.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The field, or NULL when absent or null. */
static const cJSON *field(const cJSON *root, const char *name) {
  const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, name);
  return f && !cJSON_IsNull(f) ? f : NULL;
}

static int get_float(const cJSON *root, const char *name, double lo, double hi, float *out, srv_error *err) {
  const cJSON *f = field(root, name);
  if (!f) return 0;
  if (!cJSON_IsNumber(f)) return bad_type(err, name, "a number");
  double v = f->valuedouble;
  if (!(v >= lo && v <= hi)) {
    char range[96];
    snprintf(range, sizeof range, "between %g and %g", lo, hi);
    return out_of_range(err, name, range);
  }
  *out = (float)v;
  return 0;
}

/* An integer field in [lo, hi]; *present tells whether it was given. */
static int get_int(const cJSON *root, const char *name, double lo, double hi, long long *out, bool *present,
                   srv_error *err) {
  const cJSON *f = field(root, name);
  if (present) *present = f != NULL;
  if (!f) return 0;
  if (!cJSON_IsNumber(f) || f->valuedouble != floor(f->valuedouble)) return bad_type(err, name, "an integer");
  double v = f->valuedouble;
  if (!(v >= lo && v <= hi)) {
    char range[96];
    snprintf(range, sizeof range, "between %.0f and %.0f", lo, hi);
    return out_of_range(err, name, range);
  }
  *out = (long long)v;
  return 0;
}

static int get_bool(const cJSON *root, const char *name, bool *out, srv_error *err) {
  const cJSON *f = field(root, name);
  if (!f) return 0;
  if (!cJSON_IsBool(f)) return bad_type(err, name, "a boolean");
  *out = cJSON_IsTrue(f);
  return 0;
}

static int add_stop(oai_request *r, const char *s, srv_error *err) {
  if (r->sp.n_stop == SRV_MAX_STOPS)
    return srv_error_set(err, 400, INVALID, "stop", NULL, "at most %d stop strings", SRV_MAX_STOPS), -1;
  if (!*s) return srv_error_set(err, 400, INVALID, "stop", NULL, "stop strings must not be empty"), -1;
  if (!(r->stops[r->sp.n_stop] = strdup(s)))
    return srv_error_set(err, 503, "server_error", NULL, NULL, "out of memory"), -1;
  r->sp.n_stop++;
  return 0;
}

static int parse_stop(const cJSON *root, oai_request *r, srv_error *err) {
  r->sp.stop = (const char *const *)r->stops;
  r->sp.n_stop = 0;
  const cJSON *f = field(root, "stop");
  if (!f) return 0;
  if (cJSON_IsString(f)) return add_stop(r, f->valuestring, err);
  if (!cJSON_IsArray(f)) return bad_type(err, "stop", "a string or an array of strings");
  const cJSON *it;
  cJSON_ArrayForEach(it, f) {
    if (!cJSON_IsString(it)) return bad_type(err, "stop", "a string or an array of strings");
    if (add_stop(r, it->valuestring, err)) return -1;
  }
  return 0;
}

static int parse_stop_ids(const cJSON *root, oai_request *r, size_t n_vocab, srv_error *err) {
  r->sp.stop_ids = NULL;
  r->sp.n_stop_ids = 0;
  const cJSON *f = field(root, "stop_token_ids");
  if (!f) return 0;
  if (!cJSON_IsArray(f)) return bad_type(err, "stop_token_ids", "an array of token ids");
  int n = cJSON_GetArraySize(f);
  if (n == 0) return 0;
  if (!(r->stop_ids = malloc((size_t)n * sizeof *r->stop_ids)))
    return srv_error_set(err, 503, "server_error", NULL, NULL, "out of memory"), -1;
  const cJSON *it;
  cJSON_ArrayForEach(it, f) {
    if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= (double)n_vocab ||
        it->valuedouble != floor(it->valuedouble))
      return out_of_range(err, "stop_token_ids", "token ids of this model's vocabulary");
    r->stop_ids[r->sp.n_stop_ids++] = (int32_t)it->valuedouble;
  }
  r->sp.stop_ids = r->stop_ids;
  return 0;
}

/* temperature, top_p, top_k, min_p, penalties, seed, n, ignore_eos, priority. */
static int parse_sampling(const cJSON *root, oai_request *r, srv_error *err) {
  pagedvk_sampling_params *sp = &r->sp;
  long long v;
  bool given;
  if (get_float(root, "temperature", 0, 2, &sp->temperature, err)) return -1;
  if (get_float(root, "top_p", 0, 1, &sp->top_p, err)) return -1;
  if (sp->top_p <= 0) return out_of_range(err, "top_p", "greater than 0 and at most 1");
  if (get_float(root, "min_p", 0, 1, &sp->min_p, err)) return -1;
  if (get_float(root, "presence_penalty", -2, 2, &sp->presence_penalty, err)) return -1;
  if (get_float(root, "frequency_penalty", -2, 2, &sp->frequency_penalty, err)) return -1;
  if (get_float(root, "repetition_penalty", 0.01, 100, &sp->repetition_penalty, err)) return -1;
  if (get_int(root, "top_k", -1, 1e9, &v, &given, err)) return -1;
  if (given) sp->top_k = v < 0 ? 0 : (int32_t)v;
  if (get_int(root, "n", 1, SRV_MAX_CHOICES, &v, &given, err)) return -1;
  sp->n = given ? (uint32_t)v : 1;
  sp->beam_width = 0;
  if (get_int(root, "seed", -9.2e18, 1.8e19, &v, &given, err)) return -1;
  if (given) {
    const cJSON *f = field(root, "seed");
    sp->seed = f->valuedouble < 0 ? (uint64_t)(long long)f->valuedouble : (uint64_t)f->valuedouble;
    sp->has_seed = 1;
  }
  if (get_int(root, "priority", -1e9, 1e9, &v, &given, err)) return -1;
  if (given) sp->priority = (int32_t)v;
  bool ignore_eos = sp->ignore_eos != 0;
  if (get_bool(root, "ignore_eos", &ignore_eos, err)) return -1;
  sp->ignore_eos = ignore_eos;
  return 0;
}

/* completions: "logprobs": N (0..20); chat: "logprobs": bool and "top_logprobs": N. */
static int parse_logprobs(const cJSON *root, oai_request *r, srv_error *err) {
  long long v;
  bool given;
  if (r->kind == OAI_COMPLETION) {
    if (get_int(root, "logprobs", 0, SRV_MAX_TOP, &v, &given, err)) return -1;
    r->logprobs = given;
    r->top_logprobs = given ? (uint32_t)v : 0;
  } else {
    if (get_bool(root, "logprobs", &r->logprobs, err)) return -1;
    if (get_int(root, "top_logprobs", 0, SRV_MAX_TOP, &v, &given, err)) return -1;
    if (given && v > 0 && !r->logprobs)
      return srv_error_set(err, 400, INVALID, "top_logprobs", NULL, "'top_logprobs' needs 'logprobs': true"), -1;
    r->top_logprobs = given ? (uint32_t)v : 0;
  }
  /* the engine reports logprobs only with at least one alternative */
  r->sp.logprobs = r->logprobs ? (r->top_logprobs ? r->top_logprobs : 1) : 0;
  return 0;
}

static int tokenize(pagedvk_server *s, const char *text, int add_bos, int parse_special, oai_request *r,
                    const char *param, srv_error *err) {
  char msg[256];
  size_t cap = strlen(text) + 16, n = 0;
  if (!(r->prompt = malloc(cap * sizeof *r->prompt)))
    return srv_error_set(err, 503, "server_error", NULL, NULL, "out of memory"), -1;
  if (pagedvk_tokenize(s->model, text, add_bos, parse_special, r->prompt, cap, &n, msg, sizeof msg))
    return srv_error_set(err, 400, INVALID, param, NULL, "cannot tokenize: %s", msg), -1;
  r->n_prompt = n;
  return 0;
}

static int prompt_ids(pagedvk_server *s, const cJSON *arr, oai_request *r, srv_error *err) {
  int n = cJSON_GetArraySize(arr);
  size_t vocab = pagedvk_vocab_size(s->model);
  if (!(r->prompt = malloc((size_t)(n ? n : 1) * sizeof *r->prompt)))
    return srv_error_set(err, 503, "server_error", NULL, NULL, "out of memory"), -1;
  const cJSON *it;
  cJSON_ArrayForEach(it, arr) {
    if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble))
      return bad_type(err, "prompt", "a string, an array of token ids, or an array of one string");
    if (it->valuedouble < 0 || it->valuedouble >= (double)vocab)
      return out_of_range(err, "prompt", "token ids of this model's vocabulary");
    r->prompt[r->n_prompt++] = (int32_t)it->valuedouble;
  }
  return 0;
}

static int parse_prompt(pagedvk_server *s, const cJSON *root, oai_request *r, srv_error *err) {
  const cJSON *p = field(root, "prompt");
  if (!p) return srv_error_set(err, 400, INVALID, "prompt", "missing_required_parameter", "'prompt' is required"), -1;
  if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 1 && cJSON_IsString(p->child)) p = p->child;
  if (cJSON_IsString(p)) return tokenize(s, p->valuestring, 1, 0, r, "prompt", err);
  if (!cJSON_IsArray(p)) return bad_type(err, "prompt", "a string, an array of token ids, or an array of one string");
  if (p->child && !cJSON_IsNumber(p->child))
    return srv_error_set(err, 400, INVALID, "prompt", NULL, "one prompt per request: a string or an array of token ids"),
           -1;
  return prompt_ids(s, p, r, err);
}

/* "content": a string, null (or absent), or a list of {"type": "text", "text": …} parts, passed to
 * the template as given (pagedvk reads no images or audio, so other parts are refused). */
static int check_content(const cJSON *m, srv_error *err) {
  const cJSON *c = field(m, "content");
  if (!c || cJSON_IsString(c)) return 0;
  if (!cJSON_IsArray(c)) return bad_type(err, "messages", "a list of messages whose content is a string or text parts");
  const cJSON *part;
  cJSON_ArrayForEach(part, c) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "text") || !cJSON_IsString(t))
      return srv_error_set(err, 400, INVALID, "messages", NULL, "only text content parts are supported"), -1;
  }
  return 0;
}

/* "role": system, user, assistant or tool; "developer" (OpenAI's newer name for system) becomes
 * "system", which is what templates know. */
static int check_role(cJSON *m, srv_error *err) {
  cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
  if (!cJSON_IsString(role))
    return srv_error_set(err, 400, INVALID, "messages", "invalid_type", "every message needs a string 'role'"), -1;
  const char *r = role->valuestring;
  if (!strcmp(r, "developer")) {
    cJSON *sys = cJSON_CreateString("system");
    if (sys && cJSON_ReplaceItemInObjectCaseSensitive(m, "role", sys)) return 0;
    cJSON_Delete(sys);
    return srv_error_set(err, 503, "server_error", NULL, NULL, "out of memory"), -1;
  }
  if (!strcmp(r, "system") || !strcmp(r, "user") || !strcmp(r, "assistant") || !strcmp(r, "tool")) return 0;
  srv_error_set(err, 400, INVALID, "messages", NULL, "unsupported message role '%s'", r);
  return -1;
}

/* An assistant turn's tool_calls: on the wire each function's "arguments" is a JSON string;
 * templates print it with `| tojson` or walk its members, as the object it spells. So a string
 * that parses as a JSON object is replaced by that object (llama-server does the same); any other
 * string is passed as it is. */
static int convert_tool_calls(cJSON *m, srv_error *err) {
  cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
  if (!calls || cJSON_IsNull(calls)) return 0;
  if (!cJSON_IsArray(calls)) return bad_type(err, "messages", "messages whose tool_calls are an array");
  cJSON *call;
  cJSON_ArrayForEach(call, calls) {
    cJSON *fn = cJSON_GetObjectItemCaseSensitive(call, "function");
    cJSON *args = fn ? cJSON_GetObjectItemCaseSensitive(fn, "arguments") : NULL;
    if (!cJSON_IsString(args)) continue;
    cJSON *obj = cJSON_Parse(args->valuestring);
    if (!cJSON_IsObject(obj)) {
      cJSON_Delete(obj);
      continue;
    }
    if (!cJSON_ReplaceItemInObjectCaseSensitive(fn, "arguments", obj)) {
      cJSON_Delete(obj);
      return srv_error_set(err, 503, "server_error", NULL, NULL, "out of memory"), -1;
    }
  }
  return 0;
}

/* The request's messages as the template gets them (checked and converted, see above). */
static char *messages_json(const cJSON *m, srv_error *err) {
  cJSON *copy = cJSON_Duplicate(m, 1);
  if (!copy) return srv_error_set(err, 503, "server_error", NULL, NULL, "out of memory"), NULL;
  int rc = 0;
  cJSON *it;
  cJSON_ArrayForEach(it, copy) {
    if (!cJSON_IsObject(it)) rc = bad_type(err, "messages", "an array of message objects");
    if (!rc) rc = check_role(it, err);
    if (!rc) rc = check_content(it, err);
    if (!rc) rc = convert_tool_calls(it, err);
    if (rc) break;
  }
  char *text = rc ? NULL : cJSON_PrintUnformatted(copy);
  cJSON_Delete(copy);
  if (!rc && !text) srv_error_set(err, 503, "server_error", NULL, NULL, "out of memory");
  return text;
}

/* An optional field of the given JSON type as text for the template (NULL when absent). */
static int json_field(const cJSON *root, const char *name, bool object, char **out, srv_error *err) {
  *out = NULL;
  const cJSON *f = field(root, name);
  if (!f) return 0;
  if (object ? !cJSON_IsObject(f) : !cJSON_IsArray(f)) return bad_type(err, name, object ? "an object" : "an array");
  if (!(*out = cJSON_PrintUnformatted(f))) return srv_error_set(err, 503, "server_error", NULL, NULL, "out of memory"), -1;
  return 0;
}

/* Renders the chat with the model's template and tokenizes the text, control tokens parsed and
 * BOS added only when the text does not start with it. A template error (raise_exception, a
 * missing template) is the client's 400, with the template's message. */
static int render_chat(pagedvk_server *s, const pagedvk_chat_input *in, oai_request *r, srv_error *err) {
  char msg[512], *text = NULL;
  size_t len = 0;
  int has_bos = 0;
  int rc = pagedvk_chat_render(s->model, in, &text, &len, &has_bos, msg, sizeof msg);
  if (rc == PAGEDVK_ERR_NO_MEMORY) return srv_error_set(err, 503, "server_error", NULL, NULL, "out of memory"), -1;
  if (rc) return srv_error_set(err, 400, INVALID, "messages", "chat_template_error", "%s", msg), -1;
  rc = tokenize(s, text, !has_bos, 1, r, "messages", err);
  free(text);
  return rc;
}

/* "messages" (non-empty), "tools" and "chat_template_kwargs" (as vLLM and llama-server take
 * them: each member a template variable, e.g. {"enable_thinking": false}), and
 * "add_generation_prompt" (vLLM's; default true). */
static int parse_messages(pagedvk_server *s, const cJSON *root, oai_request *r, srv_error *err) {
  const cJSON *m = field(root, "messages");
  if (!m)
    return srv_error_set(err, 400, INVALID, "messages", "missing_required_parameter", "'messages' is required"), -1;
  if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) == 0) return bad_type(err, "messages", "a non-empty array");
  bool gen = true;
  char *tools = NULL, *kwargs = NULL, *msgs = NULL;
  int rc = get_bool(root, "add_generation_prompt", &gen, err);
  if (!rc) rc = json_field(root, "tools", false, &tools, err);
  if (!rc) rc = json_field(root, "chat_template_kwargs", true, &kwargs, err);
  if (!rc && !(msgs = messages_json(m, err))) rc = -1;
  if (!rc) {
    pagedvk_chat_input in = {.messages_json = msgs, .tools_json = tools, .kwargs_json = kwargs,
                             .add_generation_prompt = gen};
    rc = render_chat(s, &in, r, err);
  }
  cJSON_free(msgs);
  cJSON_free(tools);
  cJSON_free(kwargs);
  return rc;
}

static int check_model(pagedvk_server *s, const cJSON *root, srv_error *err) {
  const cJSON *m = field(root, "model");
  if (!m) return srv_error_set(err, 400, INVALID, "model", "missing_required_parameter", "'model' is required"), -1;
  if (!cJSON_IsString(m)) return bad_type(err, "model", "a string");
  if (strcmp(m->valuestring, s->model_name))
    return srv_error_set(err, 404, INVALID, "model", "model_not_found",
                         "the model '%s' does not exist; this server serves '%s'", m->valuestring, s->model_name),
           -1;
  return 0;
}

/* max_tokens (or max_completion_tokens) against what the context leaves after the prompt. */
static int parse_max_tokens(pagedvk_server *s, const cJSON *root, oai_request *r, srv_error *err) {
  const char *param = r->kind == OAI_CHAT ? "messages" : "prompt";
  uint32_t ctx = s->max_model_len;
  if (r->n_prompt == 0) return srv_error_set(err, 400, INVALID, param, NULL, "the prompt is empty"), -1;
  if (r->n_prompt >= ctx)
    return srv_error_set(err, 400, INVALID, param, "context_length_exceeded",
                         "this model's maximum context length is %u tokens; the prompt has %zu", ctx, r->n_prompt),
           -1;
  long long v = 0;
  bool given = false;
  const char *name = field(root, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (get_int(root, name, 1, 1e9, &v, &given, err)) return -1;
  uint32_t room = ctx - (uint32_t)r->n_prompt;
  if (!given) {
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

static int parse_stream(const cJSON *root, oai_request *r, srv_error *err) {
  if (get_bool(root, "stream", &r->stream, err)) return -1;
  const cJSON *so = field(root, "stream_options");
  if (!so) return 0;
  if (!cJSON_IsObject(so)) return bad_type(err, "stream_options", "an object");
  return get_bool(so, "include_usage", &r->include_usage, err);
}

static int parse_object(pagedvk_server *s, const cJSON *root, oai_request *r, srv_error *err) {
  int rc = check_model(s, root, err);
  if (!rc) rc = parse_stream(root, r, err);
  if (!rc) rc = parse_sampling(root, r, err);
  if (!rc) rc = parse_logprobs(root, r, err);
  if (!rc) rc = parse_stop(root, r, err);
  if (!rc) rc = parse_stop_ids(root, r, pagedvk_vocab_size(s->model), err);
  const cJSON *echo = field(root, "echo");
  if (!rc && echo && cJSON_IsTrue(echo)) {
    srv_error_set(err, 400, INVALID, "echo", NULL, "'echo' is not supported");
    rc = -1;
  }
  if (!rc) rc = r->kind == OAI_CHAT ? parse_messages(s, root, r, err) : parse_prompt(s, root, r, err);
  if (!rc) rc = parse_max_tokens(s, root, r, err);
  return rc;
}

int oai_parse(pagedvk_server *s, oai_kind kind, const char *body, size_t len, oai_request *r, srv_error *err) {
  memset(r, 0, sizeof *r);
  r->kind = kind;
  r->sp = s->defaults;
  cJSON *root = cJSON_ParseWithLength(body, len);
  if (!root || !cJSON_IsObject(root)) {
    cJSON_Delete(root);
    srv_error_set(err, 400, INVALID, NULL, "invalid_json",
                  len ? "the body is not a JSON object" : "the request needs a JSON body");
    return -1;
  }
  int rc = parse_object(s, root, r, err);
  cJSON_Delete(root);
  return rc;
}

void oai_request_free(oai_request *r) {
  for (uint32_t i = 0; i < SRV_MAX_STOPS; i++) free(r->stops[i]);
  free(r->stop_ids);
  free(r->prompt);
  memset(r, 0, sizeof *r);
}
