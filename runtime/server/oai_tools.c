/*
 * oai_tools.c — tool-call syntax per template family: detection from the template's source, the
 * incremental parser (model text → content, reasoning, calls) and the forced-call grammar
 * (oai_tools.h; docs/TOOLS.md).
 *
 * The parser walks the text from the last decided byte (`pos`) each time bytes arrive:
 *   - text up to the next marker is content (or reasoning), except whitespace right before a
 *     marker (dropped when the marker opens a call) and whitespace right after a call (dropped);
 *   - a marker opens a region, which a family's region reader turns into calls (or a channel
 *     switch, or nothing for markers that are only dropped): DONE with where it ends, WAIT when
 *     more bytes could change the answer, BAD when it is malformed (the marker is then content
 *     and reading goes on after it, so a later good call is still found);
 *   - a possible start of a marker at the end of the text waits for the next bytes.
 * Every decision depends only on the bytes up to where it is taken, never on how they were cut
 * into pieces, so streaming gives out a prefix of the non-streamed result at every step.
 * A call's arguments are parsed with the server's JSON reader and written back compact
 * (jw_value), so "arguments" is always one valid JSON object text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oai_tools.h"

#define MAX_NAME 256    /* bytes of a function name */
#define MAX_HEADER 512  /* bytes of a header before its body (gpt-oss, DeepSeek, XML names) */
#define JSON_DEPTH 64

/* ---- families and their markers ------------------------------------------------------------ */

typedef enum mk_kind { MK_CALL, MK_DROP, MK_HEADER, MK_THINK_ON, MK_THINK_OFF } mk_kind;

typedef struct marker {
  const char *text;
  mk_kind kind;
} marker;

static const marker HERMES_MK[] = {{"<tool_call>", MK_CALL}, {NULL, 0}};
static const marker LLAMA3_MK[] = {{"<|python_tag|>", MK_CALL}, {NULL, 0}};
static const marker GENERIC_MK[] = {{NULL, 0}};
static const marker MISTRAL_MK[] = {{"[TOOL_CALLS]", MK_CALL}, {NULL, 0}};
static const marker GPT_OSS_MK[] = {{"<|channel|>", MK_HEADER}, {"<|start|>", MK_HEADER}, {"<|end|>", MK_DROP},
                                    {"<|return|>", MK_DROP},    {"<|call|>", MK_DROP},   {"<|message|>", MK_DROP},
                                    {"<|constrain|>", MK_DROP}, {NULL, 0}};
#define DS_CALLS_BEGIN "<\xEF\xBD\x9Ctool\xE2\x96\x81" "calls\xE2\x96\x81" "begin\xEF\xBD\x9C>"
#define DS_CALLS_END "<\xEF\xBD\x9Ctool\xE2\x96\x81" "calls\xE2\x96\x81" "end\xEF\xBD\x9C>"
#define DS_CALL_BEGIN "<\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81" "begin\xEF\xBD\x9C>"
#define DS_CALL_END "<\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81" "end\xEF\xBD\x9C>"
#define DS_SEP "<\xEF\xBD\x9Ctool\xE2\x96\x81" "sep\xEF\xBD\x9C>"
static const marker DEEPSEEK_MK[] = {
  {DS_CALLS_BEGIN, MK_CALL}, {DS_CALL_BEGIN, MK_CALL}, {DS_CALLS_END, MK_DROP}, {NULL, 0}};
static const marker GRANITE_MK[] = {{"<|tool_call|>", MK_CALL}, {NULL, 0}};
static const marker COMMAND_R_MK[] = {{"<|START_ACTION|>", MK_CALL},    {"<|END_ACTION|>", MK_DROP},
                                      {"<|START_THINKING|>", MK_THINK_ON}, {"<|END_THINKING|>", MK_THINK_OFF},
                                      {"<|START_RESPONSE|>", MK_DROP},  {"<|END_RESPONSE|>", MK_DROP},
                                      {NULL, 0}};

static const marker *const MARKERS[OAI_TF_COUNT] = {
  [OAI_TF_GENERIC] = GENERIC_MK, [OAI_TF_HERMES] = HERMES_MK,     [OAI_TF_LLAMA3] = LLAMA3_MK,
  [OAI_TF_MISTRAL] = MISTRAL_MK, [OAI_TF_MISTRAL_ARGS] = MISTRAL_MK, [OAI_TF_GPT_OSS] = GPT_OSS_MK,   [OAI_TF_DEEPSEEK] = DEEPSEEK_MK,
  [OAI_TF_GRANITE] = GRANITE_MK, [OAI_TF_COMMAND_R] = COMMAND_R_MK};

static const char *const NAMES[OAI_TF_COUNT] = {"generic", "hermes",   "llama3",  "mistral",  "mistral-args",
                                                "gpt-oss", "deepseek", "granite", "command-r"};

const char *oai_tools_family_name(oai_tool_family f) { return f < OAI_TF_COUNT ? NAMES[f] : "?"; }

static bool contains(const char *s, size_t n, const char *what) {
  size_t k = strlen(what);
  for (size_t i = 0; k <= n && i <= n - k; i++)
    if (s[i] == what[0] && !memcmp(s + i, what, k)) return true;
  return false;
}

oai_tool_family oai_tools_detect(const char *t, size_t n) {
  if (!t) return OAI_TF_GENERIC;
  if (contains(t, n, "<|channel|>") && contains(t, n, "<|call|>")) return OAI_TF_GPT_OSS;
  if (contains(t, n, "<|START_ACTION|>")) return OAI_TF_COMMAND_R;
  if (contains(t, n, DS_CALL_BEGIN)) return OAI_TF_DEEPSEEK;
  if (contains(t, n, "[TOOL_CALLS]")) return contains(t, n, "[ARGS]") ? OAI_TF_MISTRAL_ARGS : OAI_TF_MISTRAL;
  if (contains(t, n, "<|tool_call|>")) return OAI_TF_GRANITE;
  if (contains(t, n, "<tool_call>")) return OAI_TF_HERMES;
  if (contains(t, n, "<|start_header_id|>") && (contains(t, n, "<|python_tag|>") || contains(t, n, "ipython")))
    return OAI_TF_LLAMA3;
  return OAI_TF_GENERIC;
}

bool oai_tools_is_marker(oai_tool_family f, const char *text, size_t len) {
  if (f >= OAI_TF_COUNT) return false;
  for (const marker *m = MARKERS[f]; m->text; m++)
    if (strlen(m->text) == len && !memcmp(m->text, text, len)) return true;
  if (f == OAI_TF_MISTRAL || f == OAI_TF_MISTRAL_ARGS) return len == 6 && !memcmp(text, "[ARGS]", 6);
  if (f == OAI_TF_DEEPSEEK)
    return (len == strlen(DS_SEP) && !memcmp(text, DS_SEP, len)) ||
           (len == strlen(DS_CALL_END) && !memcmp(text, DS_CALL_END, len));
  return false;
}

/* Families whose call is a bare JSON object at the start of the answer. */
static bool json_family(oai_tool_family f) { return f == OAI_TF_LLAMA3 || f == OAI_TF_GENERIC; }

/* ---- small readers over the text ----------------------------------------------------------- */

enum { R_BAD = -1, R_WAIT = 0, R_DONE = 1 };

static bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

static size_t skip_ws(const char *s, size_t i, size_t n) {
  while (i < n && is_ws(s[i])) i++;
  return i;
}

/* s[i..n) against `lit`: R_DONE (*end after it), R_WAIT (the text ends inside a prefix of it),
 * R_BAD (it differs). */
static int lit(const char *s, size_t i, size_t n, const char *l, size_t *end) {
  size_t k = strlen(l), m = n - i < k ? n - i : k;
  if (memcmp(s + i, l, m)) return R_BAD;
  if (m < k) return R_WAIT;
  *end = i + k;
  return R_DONE;
}

/* The end of one JSON object or array at s[i] (which must be '{' or '['): R_DONE with *end after
 * its closing bracket, R_WAIT when the text ends inside it, R_BAD at the first byte no JSON value
 * can have there (a mismatched bracket, a stray character, too deep). Numbers and literals are
 * checked only for their characters; the server's JSON reader checks the whole afterwards. */
static int json_end(const char *s, size_t i, size_t n, size_t *end) {
  if (i >= n) return R_WAIT;
  if (s[i] != '{' && s[i] != '[') return R_BAD;
  char stack[JSON_DEPTH];
  int depth = 0;
  bool in_str = false, esc = false;
  for (size_t k = i; k < n; k++) {
    const char c = s[k];
    if (in_str) {
      if (esc) esc = false;
      else if (c == '\\') esc = true;
      else if (c == '"') in_str = false;
      else if ((unsigned char)c < 0x20) return R_BAD;
      continue;
    }
    switch (c) {
      case '"': in_str = true; break;
      case '{':
      case '[':
        if (depth == JSON_DEPTH) return R_BAD;
        stack[depth++] = c;
        break;
      case '}':
      case ']':
        if (!depth || stack[depth - 1] != (c == '}' ? '{' : '[')) return R_BAD;
        if (--depth == 0) {
          *end = k + 1;
          return R_DONE;
        }
        break;
      default:
        if (is_ws(c) || strchr(",:-+.0123456789eEtruefalsn", c)) break;
        return R_BAD;
    }
  }
  return R_WAIT;
}

/* ---- output ---------------------------------------------------------------------------------- */

static void emit(oai_tool_parser *p, size_t a, size_t b) {
  if (b <= a) return;
  const char *s = p->in.p + a;
  if (p->reasoning && !p->think_as_content) {
    srv_buf_append(&p->think, s, b - a);
  } else {
    srv_buf_append(&p->content, s, b - a);
    for (size_t k = 0; k < b - a && p->anchored; k++)
      if (!is_ws(s[k])) p->anchored = false;
  }
}

static bool name_ok(const char *s, size_t n) {
  if (!n || n > MAX_NAME || !srv_utf8_valid(s, n)) return false;
  for (size_t k = 0; k < n; k++)
    if ((unsigned char)s[k] < 0x20 || s[k] == '"' || s[k] == '\\') return false;
  return true;
}

/* Appends a call (name, arguments already as JSON text). */
static bool push_call(oai_tool_parser *p, const char *name, size_t name_len, srv_buf *args) {
  if (!srv_grow((void **)&p->calls, &p->cap_calls, p->n_calls + 1, sizeof *p->calls, 4) || args->oom) {
    p->oom = true;
    srv_buf_free(args);
    return false;
  }
  oai_call *c = &p->calls[p->n_calls];
  c->name = malloc(name_len + 1);
  if (!c->name) {
    p->oom = true;
    srv_buf_free(args);
    return false;
  }
  memcpy(c->name, name, name_len);
  c->name[name_len] = 0;
  if (!args->p && !srv_buf_append(args, "", 0)) {
    free(c->name);
    p->oom = true;
    return false;
  }
  c->args = args->p;
  c->args_len = args->len;
  p->n_calls++;
  return true;
}

/* Drops the calls from index `keep` on (a region that turned out malformed or incomplete). */
static void drop_calls(oai_tool_parser *p, size_t keep) {
  while (p->n_calls > keep) {
    p->n_calls--;
    free(p->calls[p->n_calls].name);
    free(p->calls[p->n_calls].args);
  }
}

/* An arguments value as compact JSON object text: an object, or a string holding one. */
static bool args_json(const sj_doc *d, uint32_t v, srv_buf *out) {
  if (v == SJ_NONE) return srv_buf_puts(out, "{}");
  if (sj_type_of(d, v) == SJ_OBJECT) return jw_value(out, d, v), true;
  if (sj_type_of(d, v) != SJ_STRING) return false;
  sj_doc inner;
  if (sj_parse(&inner, sj_bytes(d, v), sj_len(d, v), NULL, 0) != SJ_OK) return false;
  bool ok = sj_type_of(&inner, 0) == SJ_OBJECT;
  if (ok) jw_value(out, &inner, 0);
  sj_free(&inner);
  return ok;
}

/* A call object (node `o` of d): its name under `name_key`, its arguments under the first of
 * `arg_keys` present (none: {}). */
static bool call_from_node(oai_tool_parser *p, const sj_doc *d, uint32_t o, const char *name_key,
                           const char *const *arg_keys) {
  if (sj_type_of(d, o) != SJ_OBJECT) return false;
  uint32_t nm = sj_get(d, o, name_key), av = SJ_NONE;
  if (nm == SJ_NONE || sj_type_of(d, nm) != SJ_STRING || !name_ok(sj_bytes(d, nm), sj_len(d, nm))) return false;
  for (const char *const *k = arg_keys; *k && av == SJ_NONE; k++) av = sj_get(d, o, *k);
  srv_buf args = {0};
  if (!args_json(d, av, &args)) {
    srv_buf_free(&args);
    return false;
  }
  return push_call(p, sj_bytes(d, nm), sj_len(d, nm), &args);
}

static const char *const ARGS_KEYS[] = {"arguments", "parameters", NULL};
static const char *const PARAMS_KEYS[] = {"parameters", "arguments", NULL};

/* The JSON object or array s[a..b) as one call (an object) or a list of calls (an array). */
static bool calls_from_json(oai_tool_parser *p, size_t a, size_t b, const char *name_key, const char *const *keys) {
  sj_doc d;
  if (sj_parse(&d, p->in.p + a, b - a, NULL, 0) != SJ_OK) return false;
  bool ok = true;
  if (sj_type_of(&d, 0) == SJ_OBJECT) {
    ok = call_from_node(p, &d, 0, name_key, keys);
  } else {
    ok = sj_len(&d, 0) > 0;
    for (uint32_t it = sj_first(&d, 0); it != SJ_NONE && ok; it = sj_next(&d, it))
      ok = call_from_node(p, &d, it, name_key, keys);
  }
  sj_free(&d);
  return ok;
}

/* A call with its name given apart and its arguments the JSON object s[a..b). */
static bool call_named(oai_tool_parser *p, const char *name, size_t name_len, size_t a, size_t b) {
  if (!name_ok(name, name_len)) return false;
  sj_doc d;
  if (sj_parse(&d, p->in.p + a, b - a, NULL, 0) != SJ_OK) return false;
  srv_buf args = {0};
  bool ok = sj_type_of(&d, 0) == SJ_OBJECT;
  if (ok) jw_value(&args, &d, 0);
  sj_free(&d);
  if (!ok) return false;
  return push_call(p, name, name_len, &args);
}

/* ---- regions, per family ---------------------------------------------------------------------- */

/* A JSON value (object or array) at s[i..n) after whitespace as calls; *end after it. */
static int json_calls_at(oai_tool_parser *p, size_t i, const char *name_key, const char *const *keys, size_t *end) {
  const char *s = p->in.p;
  size_t n = p->in.len, j = skip_ws(s, i, n), e;
  int r = json_end(s, j, n, &e);
  if (r != R_DONE) return r;
  if (!calls_from_json(p, j, e, name_key, keys)) return R_BAD;
  *end = e;
  return R_DONE;
}

/* An optional closing marker after whitespace: R_DONE with *end after it, or after the call when
 * something else follows (lenient: a missing closer), R_WAIT while it may still come. At the end
 * of the text a missing or cut closer is accepted. */
static int optional_close(const char *s, size_t i, size_t n, const char *close, bool final, size_t *end) {
  size_t j = skip_ws(s, i, n), e;
  int r = lit(s, j, n, close, &e);
  if (r == R_DONE) {
    *end = e;
    return R_DONE;
  }
  if (r == R_WAIT && !final) return R_WAIT;
  *end = r == R_WAIT ? n : i;
  return R_DONE;
}

/* <function=NAME> <parameter=K>V</parameter>... </function> (Qwen3-Coder, Nemotron). Values that
 * read as JSON are taken as that JSON, others as strings (one newline around each trimmed). */
static int xml_call(oai_tool_parser *p, size_t i, bool final, size_t *end) {
  const char *s = p->in.p;
  size_t n = p->in.len, k;
  int r = lit(s, i, n, "<function=", &k);
  if (r != R_DONE) return r;
  const char *gt = memchr(s + k, '>', n - k < MAX_NAME + 1 ? n - k : MAX_NAME + 1);
  if (!gt) return n - k <= MAX_NAME && !final ? R_WAIT : R_BAD;
  const size_t name_a = k, name_b = (size_t)(gt - s);
  srv_buf args = {0};
  srv_buf_puts(&args, "{");
  size_t at = name_b + 1, n_params = 0;
  for (;;) {
    at = skip_ws(s, at, n);
    size_t e;
    r = lit(s, at, n, "</function>", &e);
    if (r == R_DONE) {
      at = e;
      break;
    }
    if (r == R_WAIT) goto wait;
    r = lit(s, at, n, "<parameter=", &e);
    if (r != R_DONE) goto out;
    const char *kgt = memchr(s + e, '>', n - e < MAX_NAME + 1 ? n - e : MAX_NAME + 1);
    if (!kgt) {
      r = n - e <= MAX_NAME ? R_WAIT : R_BAD;
      goto out;
    }
    size_t key_a = e, key_b = (size_t)(kgt - s), va = key_b + 1, vb = va;
    while (vb + 12 <= n && memcmp(s + vb, "</parameter>", 12)) vb++;
    if (vb + 12 > n) goto wait;
    at = vb + 12;
    if (va < vb && s[va] == '\n') va++;
    if (vb > va && s[vb - 1] == '\n') vb--;
    if (!name_ok(s + key_a, key_b - key_a)) {
      r = R_BAD;
      goto out;
    }
    if (n_params++) srv_buf_puts(&args, ",");
    jw_str(&args, s + key_a, key_b - key_a);
    srv_buf_puts(&args, ":");
    sj_doc d;
    if (sj_parse(&d, s + va, vb - va, NULL, 0) == SJ_OK) {
      jw_value(&args, &d, 0);
      sj_free(&d);
    } else {
      jw_str(&args, s + va, vb - va);
    }
  }
  srv_buf_puts(&args, "}");
  if (!name_ok(s + name_a, name_b - name_a)) {
    r = R_BAD;
    goto out;
  }
  *end = at;
  return push_call(p, s + name_a, name_b - name_a, &args) ? R_DONE : R_BAD;
wait:
  r = final ? R_BAD : R_WAIT;
out:
  srv_buf_free(&args);
  return r;
}

static int hermes_region(oai_tool_parser *p, size_t i, bool final, size_t *end) {
  const char *s = p->in.p;
  size_t n = p->in.len, j = skip_ws(s, i, n), e;
  if (j == n) return final ? R_BAD : R_WAIT;
  int r = s[j] == '<' ? xml_call(p, j, final, &e) : json_calls_at(p, j, "name", ARGS_KEYS, &e);
  if (r != R_DONE) return r;
  return optional_close(s, e, n, "</tool_call>", final, end);
}

/* [TOOL_CALLS][{...}, ...] or [TOOL_CALLS]NAME[ARGS]{...} ([CALL_ID]ID may come before [ARGS]). */
static int mistral_region(oai_tool_parser *p, size_t i, bool final, size_t *end) {
  const char *s = p->in.p;
  size_t n = p->in.len, j = skip_ws(s, i, n), e;
  (void)final;
  if (j == n) return R_WAIT;
  if (s[j] == '[') return json_calls_at(p, j, "name", ARGS_KEYS, end);
  size_t k = j;
  while (k < n && k - j <= MAX_NAME && s[k] != '[' && !is_ws(s[k])) k++;
  if (k == n) return k - j <= MAX_NAME ? R_WAIT : R_BAD;
  if (s[k] != '[') return R_BAD;
  size_t name_a = j, name_b = k;
  int r = lit(s, k, n, "[CALL_ID]", &e);
  if (r == R_WAIT) return R_WAIT;
  if (r == R_DONE) {
    k = e;
    while (k < n && k - e <= MAX_NAME && s[k] != '[') k++;
    if (k == n) return k - e <= MAX_NAME ? R_WAIT : R_BAD;
  }
  r = lit(s, k, n, "[ARGS]", &e);
  if (r != R_DONE) return r;
  size_t a = skip_ws(s, e, n), b;
  r = json_end(s, a, n, &b);
  if (r != R_DONE) return r;
  if (!call_named(p, s + name_a, name_b - name_a, a, b)) return R_BAD;
  *end = b;
  return R_DONE;
}

/* gpt-oss: a message header up to <|message|> (recipient to=functions.NAME, channel); a call's
 * body is its arguments object (then <|call|>, which is usually the end-of-generation token). */
static int gpt_oss_region(oai_tool_parser *p, size_t i, bool final, size_t *end) {
  const char *s = p->in.p;
  size_t n = p->in.len, m = i + 1;
  static const char MSG[] = "<|message|>";
  while (m + sizeof MSG - 1 <= n && memcmp(s + m, MSG, sizeof MSG - 1)) {
    if (m + 7 <= n && !memcmp(s + m, "<|end|>", 7)) return R_BAD; /* a header without a body */
    if (m - i > MAX_HEADER) return R_BAD;
    m++;
  }
  if (m + sizeof MSG - 1 > n) return final || n - i > MAX_HEADER ? R_BAD : R_WAIT;
  const size_t body = m + sizeof MSG - 1;
  /* recipient */
  const char *to = NULL;
  for (size_t k = i; k + 3 <= m; k++)
    if (!memcmp(s + k, "to=", 3)) {
      to = s + k + 3;
      break;
    }
  if (to) {
    const char *ne = to;
    while (ne < s + m && !is_ws(*ne) && *ne != '<') ne++;
    const char *nm = to;
    if ((size_t)(ne - nm) > 10 && !memcmp(nm, "functions.", 10)) nm += 10;
    size_t a = skip_ws(s, body, n), b;
    int r = json_end(s, a, n, &b);
    if (r == R_WAIT && !final) return R_WAIT;
    if (r != R_DONE || !call_named(p, nm, (size_t)(ne - nm), a, b)) {
      /* not a call after all: the header goes, its body is content */
      p->reasoning = false;
      *end = body;
      return R_DONE;
    }
    size_t e;
    r = lit(s, skip_ws(s, b, n), n, "<|call|>", &e);
    if (r == R_WAIT && !final) return R_WAIT;
    *end = r == R_DONE ? e : b;
    p->reasoning = false;
    return R_DONE;
  }
  static const char CH[] = "<|channel|>";
  bool analysis = false;
  for (size_t k = i; k + sizeof CH - 1 <= m; k++)
    if (!memcmp(s + k, CH, sizeof CH - 1)) {
      size_t c = k + sizeof CH - 1;
      analysis = m - c >= 8 && !memcmp(s + c, "analysis", 8);
      break;
    }
  p->reasoning = analysis;
  *end = body;
  return R_DONE;
}

/* DeepSeek: one <｜tool▁call▁begin｜>TYPE<｜tool▁sep｜>NAME\n```json\n{...}\n```<｜tool▁call▁end｜>
 * (R1) or <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{...}<｜tool▁call▁end｜> (V3.1) at s[i]. */
static int deepseek_call(oai_tool_parser *p, size_t i, bool final, size_t *end) {
  const char *s = p->in.p;
  size_t n = p->in.len, k, e;
  int r = lit(s, i, n, DS_CALL_BEGIN, &k);
  if (r != R_DONE) return r;
  const size_t sep_len = strlen(DS_SEP);
  size_t q = k;
  while (q + sep_len <= n && memcmp(s + q, DS_SEP, sep_len)) {
    if (q - k > MAX_NAME) return R_BAD;
    q++;
  }
  if (q + sep_len > n) return final || n - k > MAX_NAME ? R_BAD : R_WAIT;
  size_t a = q + sep_len, name_a, name_b, json_a;
  size_t j = skip_ws(s, a, n);
  if (j == n) return final ? R_BAD : R_WAIT;
  if (s[j] == '{') { /* V3.1: the name came before the separator */
    name_a = k, name_b = q, json_a = j;
  } else {
    name_a = a;
    name_b = a;
    while (name_b < n && s[name_b] != '\n' && name_b - a <= MAX_NAME) name_b++;
    if (name_b == n) return final || name_b - a > MAX_NAME ? R_BAD : R_WAIT;
    if (s[name_b] != '\n') return R_BAD;
    json_a = skip_ws(s, name_b, n);
    r = lit(s, json_a, n, "```", &e);
    if (r == R_WAIT) return final ? R_BAD : R_WAIT;
    if (r == R_DONE) {
      if (e < n && s[e] != '\n' && !is_ws(s[e])) {
        while (e < n && s[e] != '\n' && e - json_a < 16) e++; /* ```json */
      }
      json_a = skip_ws(s, e, n);
    }
  }
  size_t b;
  r = json_end(s, json_a, n, &b);
  if (r != R_DONE) return r == R_WAIT && final ? R_BAD : r;
  if (!call_named(p, s + name_a, name_b - name_a, json_a, b)) return R_BAD;
  size_t c = skip_ws(s, b, n);
  r = lit(s, c, n, "```", &e);
  if (r == R_WAIT && !final) return R_WAIT;
  if (r == R_DONE) b = e;
  return optional_close(s, b, n, DS_CALL_END, final, end);
}

static int deepseek_region(oai_tool_parser *p, size_t i, bool final, size_t *end) {
  const char *s = p->in.p;
  size_t n = p->in.len, at = i, e;
  bool outer = lit(s, i, n, DS_CALLS_BEGIN, &e) == R_DONE;
  if (outer) at = skip_ws(s, e, n);
  for (size_t count = 0;; count++) {
    int r = deepseek_call(p, at, final, &e);
    if (r == R_BAD && count) break; /* what follows the calls is not one: the region ends */
    if (r != R_DONE) return r;
    at = e;
    if (!outer) break;
    size_t j = skip_ws(s, at, n);
    if (j == n) {
      if (!final) return R_WAIT;
      break;
    }
    r = lit(s, j, n, DS_CALLS_END, &e);
    if (r == R_DONE) {
      at = e;
      break;
    }
    int next = lit(s, j, n, DS_CALL_BEGIN, &e);
    if (next == R_WAIT || (next == R_BAD && r == R_WAIT)) {
      if (!final) return R_WAIT;
      break;
    }
    if (next == R_BAD) break;
    at = j; /* another call */
  }
  *end = at;
  return R_DONE;
}

static int region(oai_tool_parser *p, const marker *mk, size_t at, bool final, size_t *end) {
  const size_t after = at + strlen(mk->text);
  switch (mk->kind) {
    case MK_DROP: *end = after; return R_DONE;
    case MK_THINK_ON: p->reasoning = true; *end = after; return R_DONE;
    case MK_THINK_OFF: p->reasoning = false; *end = after; return R_DONE;
    case MK_HEADER: return gpt_oss_region(p, at, final, end);
    default: break;
  }
  switch (p->fam) {
    case OAI_TF_HERMES: return hermes_region(p, after, final, end);
    case OAI_TF_MISTRAL:
    case OAI_TF_MISTRAL_ARGS: return mistral_region(p, after, final, end);
    case OAI_TF_DEEPSEEK: return deepseek_region(p, at, final, end);
    case OAI_TF_GRANITE: return json_calls_at(p, after, "name", ARGS_KEYS, end);
    case OAI_TF_COMMAND_R: {
      size_t e;
      int r = json_calls_at(p, after, "tool_name", PARAMS_KEYS, &e);
      return r == R_DONE ? optional_close(p->in.p, e, p->in.len, "<|END_ACTION|>", final, end) : r;
    }
    default: return json_calls_at(p, after, "name", PARAMS_KEYS, end); /* llama3's <|python_tag|> */
  }
}

/* The earliest marker (whole, or a prefix of one cut by the end of the text) at or after i. */
static const marker *find_marker(const oai_tool_parser *p, size_t i, size_t *at, bool *partial) {
  const char *s = p->in.p;
  size_t n = p->in.len;
  for (; i < n; i++) {
    const marker *cut = NULL;
    for (const marker *m = MARKERS[p->fam]; m->text; m++) {
      if (s[i] != m->text[0]) continue;
      size_t e;
      int r = lit(s, i, n, m->text, &e);
      if (r == R_DONE) {
        *at = i, *partial = false;
        return m;
      }
      if (r == R_WAIT && !cut) cut = m;
    }
    if (cut) {
      *at = i, *partial = true;
      return cut;
    }
  }
  return NULL;
}

/* { ws "name" — a bare call object starting (2), possibly starting (1: the text ends first), not (0). */
static int json_call_start(const char *s, size_t i, size_t n) {
  if (i >= n) return 1;
  if (s[i] != '{') return 0;
  size_t j = skip_ws(s, i + 1, n), e;
  if (j == n) return 1;
  int r = lit(s, j, n, "\"name\"", &e);
  return r == R_DONE ? 2 : r == R_WAIT ? 1 : 0;
}

/* The start of the whitespace that ends s[a..b). */
static size_t ws_tail(const char *s, size_t a, size_t b) {
  while (b > a && is_ws(s[b - 1])) b--;
  return b;
}

static void advance(oai_tool_parser *p, bool final) {
  for (;;) {
    const char *s = p->in.p;
    const size_t n = p->in.len;
    size_t i = p->pos, end;
    if (p->after_call) {
      while (i < n && (is_ws(s[i]) || (p->fam == OAI_TF_LLAMA3 && s[i] == ';'))) i++;
      p->pos = i;
      if (i == n) return;
      p->after_call = false;
    }
    if (i == n) return;
    if (p->anchored && json_family(p->fam)) {
      size_t j = skip_ws(s, i, n);
      int st = json_call_start(s, j, n);
      if (st == 1 && !final) return;
      if (st == 2) {
        size_t keep = p->n_calls;
        int r = json_calls_at(p, j, "name", PARAMS_KEYS, &end);
        if (r == R_WAIT && !final) return;
        if (r == R_DONE) {
          p->pos = end;
          p->after_call = true;
          continue;
        }
        drop_calls(p, keep);
      }
      p->anchored = false;
    }
    size_t at;
    bool partial;
    const marker *mk = find_marker(p, i, &at, &partial);
    if (!mk) {
      size_t cut = final ? n : ws_tail(s, i, n);
      emit(p, i, cut);
      p->pos = cut;
      return;
    }
    size_t w = ws_tail(s, i, at);
    emit(p, i, w);
    p->pos = w;
    if (partial) {
      if (!final) return;
      emit(p, w, n);
      p->pos = n;
      return;
    }
    size_t keep = p->n_calls;
    bool reasoning = p->reasoning;
    int r = region(p, mk, at, final, &end);
    if (r == R_DONE) {
      p->pos = end;
      p->after_call = true;
      if (json_family(p->fam)) p->anchored = true;
      continue;
    }
    drop_calls(p, keep);
    p->reasoning = reasoning;
    if (r == R_WAIT && !final) return;
    size_t mk_end = at + strlen(mk->text);
    emit(p, w, mk_end);
    p->pos = mk_end;
  }
}

void oai_tools_init(oai_tool_parser *p, oai_tool_family f, const char *prefill) {
  memset(p, 0, sizeof *p);
  p->fam = f < OAI_TF_COUNT ? f : OAI_TF_GENERIC;
  p->anchored = true;
  if (prefill && *prefill) {
    oai_tools_feed(p, prefill, strlen(prefill));
    /* the prefill is the prompt's: whatever of it was decided as text is not the model's */
    srv_buf_free(&p->content);
    srv_buf_free(&p->think);
  }
}

bool oai_tools_feed(oai_tool_parser *p, const char *s, size_t n) {
  if (p->oom) return false;
  if (n && !srv_buf_append(&p->in, s, n)) {
    p->oom = true;
    return false;
  }
  advance(p, false);
  p->oom = p->oom || p->content.oom || p->think.oom;
  return !p->oom;
}

bool oai_tools_finish(oai_tool_parser *p) {
  if (p->oom) return false;
  advance(p, true);
  p->oom = p->oom || p->content.oom || p->think.oom;
  return !p->oom;
}

void oai_tools_free(oai_tool_parser *p) {
  drop_calls(p, 0);
  free(p->calls);
  srv_buf_free(&p->in);
  srv_buf_free(&p->content);
  srv_buf_free(&p->think);
  memset(p, 0, sizeof *p);
}

/* ---- the forced-call grammar ------------------------------------------------------------------ */

/* bytes as a GBNF string literal */
static void gbnf_lit(srv_buf *b, const char *s, size_t n) {
  srv_buf_puts(b, "\"");
  for (size_t i = 0; i < n; i++) {
    const unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') srv_buf_printf(b, "\\%c", c);
    else if (c < 0x20 || c == 0x7F) srv_buf_printf(b, "\\x%02X", c);
    else srv_buf_append(b, s + i, 1);
  }
  srv_buf_puts(b, "\"");
}

static void gbnf_lits(srv_buf *b, const char *s) { gbnf_lit(b, s, strlen(s)); }

/* The JSON text "NAME" (quotes included) as a GBNF literal. */
static void gbnf_json_name(srv_buf *b, const oai_tool_fn *f) {
  srv_buf q = {0};
  jw_str(&q, f->name, f->name_len);
  gbnf_lit(b, q.p ? q.p : "\"\"", q.p ? q.len : 2);
  srv_buf_free(&q);
}

int oai_tools_grammar(oai_tool_family fam, const oai_tool_fn *fns, size_t n, const uint32_t *tool_index, bool parallel,
                      srv_buf *g, srv_buf *prefill, srv_error *err) {
  static const char ANY[] = "{\"type\": \"object\"}";
  /* each function's arguments: rule tK-root */
  for (size_t k = 0; k < n; k++) {
    char prefix[32], msg[400], *text = NULL;
    size_t len = 0;
    snprintf(prefix, sizeof prefix, "t%zu-", k);
    const char *schema = fns[k].params ? fns[k].params : ANY;
    size_t schema_len = fns[k].params ? fns[k].params_len : sizeof ANY - 1;
    int rc = pagedvk_json_schema_to_gbnf(schema, schema_len, prefix, &text, &len, msg, sizeof msg);
    if (rc == PAGEDVK_ERR_NO_MEMORY) return srv_error_set(err, 503, "server_error", NULL, NULL, "out of memory"), -1;
    if (rc) {
      char param[64];
      snprintf(param, sizeof param, "tools[%u].function.parameters", tool_index ? tool_index[k] : (unsigned)k);
      srv_error_set(err, 400, "invalid_request_error", param, "invalid_value", "%s: %s (tools are forced by a grammar "
                    "of the parameters schema: docs/GRAMMAR.md lists what it supports)", param, msg);
      return -1;
    }
    srv_buf_append(g, text, len);
    free(text);
  }
  /* call ::= one of the functions' calls in the family's syntax */
  const bool one_only = fam == OAI_TF_LLAMA3 || fam == OAI_TF_GENERIC || fam == OAI_TF_GPT_OSS;
  srv_buf_puts(g, "call ::=");
  for (size_t k = 0; k < n; k++) {
    const oai_tool_fn *f = &fns[k];
    srv_buf_puts(g, k ? "\n  | " : " ");
    switch (fam) {
      case OAI_TF_MISTRAL_ARGS:
        gbnf_lit(g, f->name, f->name_len);
        srv_buf_printf(g, " \"[ARGS]\" t%zu-root", k);
        break;
      case OAI_TF_GPT_OSS:
        if (n > 1) gbnf_lit(g, f->name, f->name_len), srv_buf_puts(g, " \" <|constrain|>json<|message|>\" ");
        srv_buf_printf(g, "t%zu-root", k);
        break;
      case OAI_TF_DEEPSEEK:
        gbnf_lit(g, f->name, f->name_len);
        srv_buf_printf(g, " \"\\n```json\\n\" t%zu-root \"\\n```\"", k);
        break;
      case OAI_TF_COMMAND_R:
        srv_buf_puts(g, "\"{\\\"tool_call_id\\\": \\\"\" [0-9]{1,3} \"\\\", \\\"tool_name\\\": \" ");
        gbnf_json_name(g, f);
        srv_buf_printf(g, " \", \\\"parameters\\\": \" t%zu-root \"}\"", k);
        break;
      default:
        srv_buf_puts(g, "\"{\\\"name\\\": \" ");
        gbnf_json_name(g, f);
        srv_buf_printf(g, " \", \\\"%s\\\": \" t%zu-root \"}\"", fam == OAI_TF_LLAMA3 ? "parameters" : "arguments", k);
        break;
    }
  }
  srv_buf_puts(g, "\n");
  /* root ::= the calls, and the prefill: the opening marker the prompt ends with */
  const char *open = "", *first = "call", *sep = NULL, *close = "";
  char ds_open[160];
  switch (fam) {
    case OAI_TF_HERMES: open = "<tool_call>\n", close = "\n</tool_call>", sep = "\n</tool_call>\n<tool_call>\n"; break;
    case OAI_TF_MISTRAL: open = "[TOOL_CALLS]", first = "\"[\" call", sep = ", ", close = "]"; break;
    case OAI_TF_MISTRAL_ARGS: open = "[TOOL_CALLS]", sep = "[TOOL_CALLS]"; break;
    case OAI_TF_GRANITE: open = "<|tool_call|>", first = "\"[\" call", sep = ", ", close = "]"; break;
    case OAI_TF_COMMAND_R: open = "<|START_ACTION|>", first = "\"[\\n    \" call", sep = ",\n    ", close = "\n]"; break;
    case OAI_TF_DEEPSEEK:
      snprintf(ds_open, sizeof ds_open, "%s%sfunction%s", DS_CALLS_BEGIN, DS_CALL_BEGIN, DS_SEP);
      open = ds_open;
      sep = DS_CALL_END DS_CALL_BEGIN "function" DS_SEP;
      break;
    case OAI_TF_GPT_OSS: open = "<|channel|>commentary to=functions."; break;
    default: break;
  }
  srv_buf_printf(g, "root ::= %s", first);
  if (sep && parallel && !one_only) {
    srv_buf_puts(g, " ( ");
    gbnf_lits(g, sep);
    srv_buf_puts(g, " call )*");
  }
  if (*close) srv_buf_puts(g, " "), gbnf_lits(g, close);
  srv_buf_puts(g, "\n");
  srv_buf_puts(prefill, open);
  if (fam == OAI_TF_GPT_OSS && n == 1) {
    srv_buf_append(prefill, fns[0].name, fns[0].name_len);
    srv_buf_puts(prefill, " <|constrain|>json<|message|>");
  }
  if (g->oom || prefill->oom) return srv_error_set(err, 503, "server_error", NULL, NULL, "out of memory"), -1;
  return 0;
}
