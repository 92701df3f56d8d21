/*
 * oai_tool_request.c — a chat request's "tools", "tool_choice" and "parallel_tool_calls": checked
 * (400 naming the field), and turned into what generation needs: whether the model's text is
 * parsed for calls, in which family's syntax (oai_tools_detect on the model's template), and for
 * a forced choice ("required" or a named function) the grammar of the calls and the marker the
 * prompt ends with (oai_tools_grammar). docs/TOOLS.md.
 *
 * Rules (OpenAI's):
 * - tools: an array of {"type": "function", "function": {"name", "description"?, "parameters"?,
 *   "strict"?}}; names of 1 to 64 letters, digits, '_', '-' or '.', each once; parameters, when
 *   given, a JSON schema object whose "type" (when given) is "object".
 * - tool_choice: "none", "auto" (the default with tools), "required", or {"type": "function",
 *   "function": {"name": NAME}} naming one of the tools; "required" and a named function need
 *   tools. "none": the model must not call (no parsing, no grammar); the template still gets the
 *   tools (it decides whether to show them).
 * - parallel_tool_calls (default true): false forces exactly one call; true one or more (where the
 *   family writes several calls in one turn).
 * - "auto" on a template with no known call syntax parses nothing (the text is content).
 * - A forced choice builds a grammar, so it cannot be combined with another grammar
 *   (response_format, "grammar").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oai_tools.h"

#define INVALID "invalid_request_error"
#define MAX_TOOLS 128

static int bad(srv_error *err, const char *param, const char *fmt, const char *detail) {
  srv_error_set(err, 400, INVALID, param, "invalid_value", fmt, detail);
  return -1;
}

static uint32_t member(const sj_doc *d, uint32_t obj, const char *name) {
  uint32_t f = sj_get(d, obj, name);
  return f != SJ_NONE && sj_type_of(d, f) != SJ_NULL ? f : SJ_NONE;
}

static bool name_chars_ok(const char *s, size_t n) {
  if (!n || n > 64) return false;
  for (size_t i = 0; i < n; i++) {
    const char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '.'))
      return false;
  }
  return true;
}

typedef struct tool {
  uint32_t name, params; /* nodes */
} tool;

/* tools → their function name and parameters nodes. */
static int read_tools(const sj_doc *d, uint32_t arr, tool *out, uint32_t *n_out, srv_error *err) {
  uint32_t n = 0;
  char param[64];
  for (uint32_t it = sj_first(d, arr); it != SJ_NONE; it = sj_next(d, it), n++) {
    snprintf(param, sizeof param, "tools[%u]", n);
    if (n == MAX_TOOLS) return bad(err, "tools", "at most %s tools", "128");
    if (sj_type_of(d, it) != SJ_OBJECT) return bad(err, param, "'%s' must be a function tool object", param);
    uint32_t type = member(d, it, "type"), fn = member(d, it, "function");
    if (type == SJ_NONE || !sj_str_is(d, type, "function"))
      return bad(err, param, "'%s.type' must be \"function\" (the only tool type served)", param);
    snprintf(param, sizeof param, "tools[%u].function", n);
    if (fn == SJ_NONE || sj_type_of(d, fn) != SJ_OBJECT) return bad(err, param, "'%s' must be an object", param);
    uint32_t name = member(d, fn, "name"), params = member(d, fn, "parameters");
    snprintf(param, sizeof param, "tools[%u].function.name", n);
    if (name == SJ_NONE || sj_type_of(d, name) != SJ_STRING || !name_chars_ok(sj_bytes(d, name), sj_len(d, name)))
      return bad(err, param, "'%s' must be 1 to 64 letters, digits, '_', '-' or '.'", param);
    for (uint32_t k = 0; k < n; k++)
      if (sj_len(d, out[k].name) == sj_len(d, name) && !memcmp(sj_bytes(d, out[k].name), sj_bytes(d, name), sj_len(d, name)))
        return bad(err, param, "'%s' repeats the name of an earlier tool", param);
    if (params != SJ_NONE) {
      snprintf(param, sizeof param, "tools[%u].function.parameters", n);
      if (sj_type_of(d, params) != SJ_OBJECT) return bad(err, param, "'%s' must be a JSON schema object", param);
      uint32_t t = member(d, params, "type");
      if (t != SJ_NONE && !sj_str_is(d, t, "object"))
        return bad(err, param, "'%s' must be an object schema (\"type\": \"object\")", param);
    }
    out[n] = (tool){.name = name, .params = params};
  }
  *n_out = n;
  return 0;
}

/* tool_choice → -1 "none", -2 "auto", -3 "required", or the index of the named tool. */
static int read_choice(const sj_doc *d, uint32_t root, const tool *tools, uint32_t n, long *choice, srv_error *err) {
  uint32_t c = member(d, root, "tool_choice");
  *choice = n ? -2 : -1;
  if (c == SJ_NONE) return 0;
  if (sj_type_of(d, c) == SJ_STRING) {
    if (sj_str_is(d, c, "none")) *choice = -1;
    else if (sj_str_is(d, c, "auto")) *choice = n ? -2 : -1;
    else if (sj_str_is(d, c, "required")) *choice = -3;
    else return bad(err, "tool_choice", "'%s' must be \"none\", \"auto\", \"required\" or a function", "tool_choice");
    if (*choice == -3 && !n) return bad(err, "tool_choice", "'%s' \"required\" needs tools", "tool_choice");
    return 0;
  }
  uint32_t type = sj_type_of(d, c) == SJ_OBJECT ? member(d, c, "type") : SJ_NONE;
  uint32_t fn = sj_type_of(d, c) == SJ_OBJECT ? member(d, c, "function") : SJ_NONE;
  uint32_t name = fn != SJ_NONE && sj_type_of(d, fn) == SJ_OBJECT ? member(d, fn, "name") : SJ_NONE;
  if (type == SJ_NONE || !sj_str_is(d, type, "function") || name == SJ_NONE || sj_type_of(d, name) != SJ_STRING)
    return bad(err, "tool_choice",
               "'%s' must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}",
               "tool_choice");
  for (uint32_t k = 0; k < n; k++)
    if (sj_len(d, tools[k].name) == sj_len(d, name) && !memcmp(sj_bytes(d, tools[k].name), sj_bytes(d, name), sj_len(d, name))) {
      *choice = (long)k;
      return 0;
    }
  uint32_t len = sj_len(d, name);
  srv_error_set(err, 400, INVALID, "tool_choice", "invalid_value", "tool_choice names the function '%.*s', which is not "
                "one of the request's tools", (int)(len < 64 ? len : 64), sj_bytes(d, name));
  return -1;
}

int oai_parse_tools(pagedvk_server *s, const sj_doc *d, uint32_t root, oai_request *r, srv_error *err) {
  uint32_t arr = member(d, root, "tools");
  if (arr != SJ_NONE && sj_type_of(d, arr) != SJ_ARRAY) return bad(err, "tools", "'%s' must be an array", "tools");
  tool *tools = calloc(MAX_TOOLS, sizeof *tools);
  if (!tools) return srv_error_set(err, 503, "server_error", NULL, NULL, "out of memory"), -1;
  uint32_t n = 0;
  long choice = -1;
  bool parallel = true;
  int rc = arr != SJ_NONE ? read_tools(d, arr, tools, &n, err) : 0;
  if (!rc) rc = read_choice(d, root, tools, n, &choice, err);
  uint32_t pf = member(d, root, "parallel_tool_calls");
  if (!rc && pf != SJ_NONE) {
    if (sj_type_of(d, pf) != SJ_TRUE && sj_type_of(d, pf) != SJ_FALSE) {
      srv_error_set(err, 400, INVALID, "parallel_tool_calls", "invalid_type", "'parallel_tool_calls' must be a boolean");
      rc = -1;
    }
    parallel = sj_type_of(d, pf) == SJ_TRUE;
  }
  size_t tlen = 0;
  const char *tmpl = pagedvk_model_chat_template_text(s->model, &tlen);
  const oai_tool_family fam = oai_tools_detect(tmpl, tlen);
  const bool forced = choice == -3 || choice >= 0;
  if (!rc && forced && r->sp.grammar_kind != PAGEDVK_GRAMMAR_NONE) {
    srv_error_set(err, 400, INVALID, "tool_choice", "invalid_value", "a forced tool_choice (\"required\" or a function) "
                  "constrains the output with a grammar, and this request already has one (response_format or grammar)");
    rc = -1;
  }
  if (!rc && forced) {
    oai_tool_fn fns[MAX_TOOLS];
    uint32_t index[MAX_TOOLS];
    srv_buf params[MAX_TOOLS];
    memset(params, 0, sizeof params);
    size_t nf = 0;
    for (uint32_t k = 0; k < n; k++) {
      if (choice >= 0 && (long)k != choice) continue;
      if (tools[k].params != SJ_NONE) jw_value(&params[nf], d, tools[k].params);
      fns[nf] = (oai_tool_fn){.name = sj_bytes(d, tools[k].name), .name_len = sj_len(d, tools[k].name),
                              .params = params[nf].p, .params_len = params[nf].len};
      index[nf++] = k;
    }
    srv_buf g = {0}, pre = {0};
    rc = oai_tools_grammar(fam, fns, nf, index, parallel, &g, &pre, err);
    for (size_t k = 0; k < nf; k++) srv_buf_free(&params[k]);
    if (!rc) {
      r->grammar_text = g.p;
      r->grammar_param = "tools";
      r->tool_prefill = pre.p ? pre.p : strdup("");
      r->sp.grammar_kind = PAGEDVK_GRAMMAR_GBNF;
      r->sp.grammar = g.p;
      r->sp.grammar_len = g.len;
      if (!r->tool_prefill) {
        srv_error_set(err, 503, "server_error", NULL, NULL, "out of memory");
        rc = -1;
      }
    } else {
      srv_buf_free(&g);
      srv_buf_free(&pre);
    }
  }
  free(tools);
  if (rc) return -1;
  r->tool_family = (int)fam;
  r->tools_parse = forced || (choice == -2 && fam != OAI_TF_GENERIC);
  return 0;
}
