/* cmd_template.c — `pagedvk template --template-file T --case CASE.json`: renders chat template T
 * for a case of ../shared/templates (messages, tools, add_generation_prompt, bos_token, eos_token,
 * date, kwargs) and writes the text to stdout byte for byte, adding nothing; a template error goes
 * to stderr with a non-zero exit. The case's `expected` and `error` are never read.
 * `--model M.gguf` renders the model's own chat template instead (pagedvk_chat_render: the one
 * `serve` and `chat` use, the case's bos_token / eos_token or else the vocabulary's); with
 * --template-file too, T replaces the model's template.
 *
 * The case object is cut into its members' JSON texts by a small span scanner, so the values
 * reach the template exactly as written (numbers keep their int/float spelling, objects their
 * key order); only the three token/date strings are decoded here. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void template_usage(FILE *out) {
  fprintf(out,
          "usage: pagedvk template (--template-file T | --model M.gguf) --case CASE.json\n\n"
          "Renders the Jinja chat template T for the chat in CASE.json as transformers'\n"
          "apply_chat_template does and prints the text exactly (no newline added).\n\n"
          "  --template-file T   the template text (e.g. a model's tokenizer.chat_template)\n"
          "  --model M.gguf      the model's own chat template (as serve and chat render it; the case's\n"
          "                      bos_token / eos_token, or else the vocabulary's); with --template-file,\n"
          "                      T replaces it\n"
          "  --case CASE.json    {\"messages\": [...], \"tools\": [...], \"add_generation_prompt\": true,\n"
          "                      \"bos_token\": \"...\", \"eos_token\": \"...\", \"date\": \"YYYY-MM-DD\",\n"
          "                      \"kwargs\": {...}} (every member optional)\n"
          "  -h, --help          this help\n");
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  while (buf) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (n < cap) break;
    char *nb = realloc(buf, cap * 2 + 1);
    if (!nb) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = nb;
    cap *= 2;
  }
  int bad = ferror(f);
  fclose(f);
  if (!buf || bad) {
    free(buf);
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

/* ---- a JSON member-span scanner ---- */

typedef struct span {
  const char *p;
  size_t n;
} span;

static size_t skip_ws(const char *s, size_t n, size_t i) {
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
  return i;
}

/* End of the string starting at s[i] == '"' (index past the closing quote), or 0. */
static size_t skip_string(const char *s, size_t n, size_t i) {
  for (i++; i < n; i++) {
    if (s[i] == '\\') i++;
    else if (s[i] == '"') return i + 1;
  }
  return 0;
}

/* End of the value starting at s[i], or 0 when it is not well nested. */
static size_t skip_value(const char *s, size_t n, size_t i) {
  if (i >= n) return 0;
  if (s[i] == '"') return skip_string(s, n, i);
  if (s[i] != '{' && s[i] != '[') {
    while (i < n && !strchr(",}] \t\r\n", s[i])) i++;
    return i;
  }
  int depth = 0;
  for (; i < n; i++) {
    char c = s[i];
    if (c == '"') {
      i = skip_string(s, n, i);
      if (!i) return 0;
      i--;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return i + 1;
    }
  }
  return 0;
}

/* The value span of member `key` of the top-level object in s; {NULL, 0} when absent. Returns
 * -1 when s is not an object. */
static int member(const char *s, size_t n, const char *key, span *out) {
  out->p = NULL;
  out->n = 0;
  size_t i = skip_ws(s, n, 0);
  if (i >= n || s[i] != '{') return -1;
  i = skip_ws(s, n, i + 1);
  size_t klen = strlen(key);
  while (i < n && s[i] == '"') {
    size_t kend = skip_string(s, n, i);
    if (!kend) return -1;
    bool match = kend - i - 2 == klen && !memcmp(s + i + 1, key, klen);
    i = skip_ws(s, n, kend);
    if (i >= n || s[i] != ':') return -1;
    i = skip_ws(s, n, i + 1);
    size_t vend = skip_value(s, n, i);
    if (!vend) return -1;
    if (match) {
      out->p = s + i;
      out->n = vend - i;
    }
    i = skip_ws(s, n, vend);
    if (i < n && s[i] == ',') i = skip_ws(s, n, i + 1);
  }
  return i < n && s[i] == '}' ? 0 : -1;
}

static void put_utf8(char *o, size_t *k, unsigned cp) {
  if (cp < 0x80) {
    o[(*k)++] = (char)cp;
  } else if (cp < 0x800) {
    o[(*k)++] = (char)(0xC0 | cp >> 6);
    o[(*k)++] = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    o[(*k)++] = (char)(0xE0 | cp >> 12);
    o[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[(*k)++] = (char)(0x80 | (cp & 0x3F));
  } else {
    o[(*k)++] = (char)(0xF0 | cp >> 18);
    o[(*k)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[(*k)++] = (char)(0x80 | (cp & 0x3F));
  }
}

/* A JSON string span decoded into a malloc'd C string; NULL when the span is not a string. */
static char *decode_string(span v) {
  if (!v.p || v.n < 2 || v.p[0] != '"') return NULL;
  char *o = malloc(v.n);
  if (!o) return NULL;
  size_t k = 0;
  for (size_t i = 1; i + 1 < v.n; i++) {
    char c = v.p[i];
    if (c != '\\') {
      o[k++] = c;
      continue;
    }
    c = v.p[++i];
    const char *map = "\"\"\\\\//b\bf\fn\nr\rt\t";
    const char *m = strchr(map, c);
    if (c != 'u' && m && (m - map) % 2 == 0) {
      o[k++] = m[1];
    } else if (c == 'u' && i + 4 < v.n) {
      unsigned cp = (unsigned)strtoul((char[5]){v.p[i + 1], v.p[i + 2], v.p[i + 3], v.p[i + 4], 0}, NULL, 16);
      i += 4;
      if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < v.n && v.p[i + 1] == '\\' && v.p[i + 2] == 'u') {
        unsigned lo = (unsigned)strtoul((char[5]){v.p[i + 3], v.p[i + 4], v.p[i + 5], v.p[i + 6], 0}, NULL, 16);
        if (lo >= 0xDC00 && lo < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        }
      }
      put_utf8(o, &k, cp);
    } else {
      free(o);
      return NULL;
    }
  }
  o[k] = 0;
  return o;
}

static char *span_dup(span v) {
  if (!v.p || (v.n == 4 && !memcmp(v.p, "null", 4))) return NULL;
  char *o = malloc(v.n + 1);
  if (!o) return NULL;
  memcpy(o, v.p, v.n);
  o[v.n] = 0;
  return o;
}

typedef struct case_input {
  pagedvk_chat_input in;
  char *messages, *tools, *kwargs, *bos, *eos, *date;
} case_input;

static void case_free(case_input *c) {
  free(c->messages);
  free(c->tools);
  free(c->kwargs);
  free(c->bos);
  free(c->eos);
  free(c->date);
}

static int load_case(const char *text, size_t n, case_input *c) {
  span v[7];
  static const char *const keys[] = {"messages", "tools", "kwargs", "add_generation_prompt",
                                     "bos_token", "eos_token", "date"};
  for (int k = 0; k < 7; k++)
    if (member(text, n, keys[k], &v[k])) return cli_fail("template: the case is not a JSON object");
  c->messages = span_dup(v[0]);
  c->tools = span_dup(v[1]);
  c->kwargs = span_dup(v[2]);
  c->bos = decode_string(v[4]);
  c->eos = decode_string(v[5]);
  c->date = decode_string(v[6]);
  if ((v[4].p && !c->bos) || (v[5].p && !c->eos) || (v[6].p && !c->date))
    return cli_fail("template: bos_token, eos_token and date must be JSON strings");
  c->in = (pagedvk_chat_input){
      .messages_json = c->messages,
      .tools_json = c->tools,
      .kwargs_json = c->kwargs,
      .add_generation_prompt = v[3].n == 4 && !memcmp(v[3].p, "true", 4),
      .bos_token = c->bos,
      .eos_token = c->eos,
      .date = c->date,
  };
  return 0;
}

/* Renders with the model's template (T's text replacing it when given). */
static int render_model(const char *model_path, const char *tmpl_path, const char *tmpl, size_t tlen,
                        const pagedvk_chat_input *in, char **text, size_t *len) {
  char err[512];
  pagedvk_model *m = NULL;
  if (pagedvk_model_open(&m, model_path, err, sizeof err)) return cli_fail("%s", err);
  int status = 0;
  if (tmpl && pagedvk_model_set_chat_template(m, tmpl, tlen, tmpl_path, err, sizeof err)) status = cli_fail("%s", err);
  if (!status && pagedvk_chat_render(m, in, text, len, NULL, err, sizeof err)) status = cli_fail("%s", err);
  pagedvk_model_close(m);
  return status;
}

int cmd_template(int argc, char **argv) {
  const char *tmpl_path = NULL, *case_path = NULL, *model_path = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      template_usage(stdout);
      return 0;
    } else if (!strcmp(a, "--template-file") || !strncmp(a, "--template-file=", 16)) {
      if (!(tmpl_path = cli_arg_value(argc, argv, &i))) return cli_fail("template: %s needs a file", a);
    } else if (!strcmp(a, "--case") || !strncmp(a, "--case=", 7)) {
      if (!(case_path = cli_arg_value(argc, argv, &i))) return cli_fail("template: %s needs a file", a);
    } else if (!strcmp(a, "--model") || !strncmp(a, "--model=", 8) || !strcmp(a, "-m")) {
      if (!(model_path = cli_arg_value(argc, argv, &i))) return cli_fail("template: %s needs a file", a);
    } else {
      template_usage(stderr);
      return cli_fail("template: unknown option '%s'", a);
    }
  }
  if ((!tmpl_path && !model_path) || !case_path) {
    template_usage(stderr);
    return cli_fail("template: --template-file T (or --model M.gguf) and --case CASE.json are required");
  }
  size_t tlen = 0, clen = 0;
  char *tmpl = tmpl_path ? read_file(tmpl_path, &tlen) : NULL;
  if (tmpl_path && !tmpl) return cli_fail("template: cannot read %s", tmpl_path);
  char *ctext = read_file(case_path, &clen);
  if (!ctext) {
    free(tmpl);
    return cli_fail("template: cannot read %s", case_path);
  }
  case_input c = {0};
  int status = load_case(ctext, clen, &c);
  char *text = NULL, err[512];
  size_t len = 0;
  if (!status && model_path) status = render_model(model_path, tmpl_path, tmpl, tlen, &c.in, &text, &len);
  else if (!status && pagedvk_template_render(tmpl, tlen, &c.in, &text, &len, err, sizeof err))
    status = cli_fail("%s", err);
  if (!status && fwrite(text, 1, len, stdout) != len) status = cli_fail("template: cannot write the output");
  free(text);
  case_free(&c);
  free(ctext);
  free(tmpl);
  return status;
}
