/* api_template.c — the public door to the Jinja interpreter (runtime/text/jinja): renders template
 * text with apply_chat_template's variables. The variables go to the interpreter as two JSON
 * objects: the standard ones (messages, tools, documents, add_generation_prompt, bos_token,
 * eos_token, built here with the caller's JSON texts spliced in as they are) and then the
 * caller's kwargs object, whose members override. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "text/jinja/jinja.h"

/* Appends s as a JSON string literal; returns the new length or 0 when it does not fit. */
static size_t put_json_str(char *buf, size_t at, size_t cap, const char *s) {
  if (at + 1 >= cap) return 0;
  buf[at++] = '"';
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char tmp[8];
    const char *piece = tmp;
    size_t n;
    if (c == '"' || c == '\\') {
      tmp[0] = '\\';
      tmp[1] = (char)c;
      n = 2;
    } else if (c < 0x20) {
      n = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", c);
    } else {
      tmp[0] = (char)c;
      n = 1;
    }
    if (at + n + 1 >= cap) return 0;
    memcpy(buf + at, piece, n);
    at += n;
  }
  buf[at++] = '"';
  return at;
}

/* {"messages": ..., "tools": ..., "documents": null, "add_generation_prompt": ..., "bos_token": ...,
 * "eos_token": ...} in a malloc'd buffer. */
static char *standard_vars(const pagedvk_chat_input *in, size_t *len) {
  const char *msgs = in->messages_json ? in->messages_json : "[]";
  const char *tools = in->tools_json ? in->tools_json : "null";
  const char *bos = in->bos_token ? in->bos_token : "", *eos = in->eos_token ? in->eos_token : "";
  size_t cap = strlen(msgs) + strlen(tools) + 6 * (strlen(bos) + strlen(eos)) + 256;
  char *buf = malloc(cap);
  if (!buf) return NULL;
  size_t at = (size_t)snprintf(buf, cap, "{\"messages\": ");
  memcpy(buf + at, msgs, strlen(msgs));
  at += strlen(msgs);
  at += (size_t)snprintf(buf + at, cap - at, ", \"tools\": ");
  memcpy(buf + at, tools, strlen(tools));
  at += strlen(tools);
  at += (size_t)snprintf(buf + at, cap - at, ", \"documents\": null, \"add_generation_prompt\": %s, \"bos_token\": ",
                         in->add_generation_prompt ? "true" : "false");
  at = put_json_str(buf, at, cap, bos);
  if (at) at += (size_t)snprintf(buf + at, cap - at, ", \"eos_token\": ");
  if (at) at = put_json_str(buf, at, cap, eos);
  if (!at || at + 2 > cap) {
    free(buf);
    return NULL;
  }
  buf[at++] = '}';
  buf[at] = 0;
  *len = at;
  return buf;
}

static int parse_date(const char *date, int *y, int *m, int *d, pv_error *err) {
  *y = *m = *d = 0;
  if (!date) return PAGEDVK_OK;
  char tail;
  if (sscanf(date, "%4d-%2d-%2d%c", y, m, d, &tail) != 3 || *m < 1 || *m > 12 || *d < 1 || *d > 31 || *y < 1)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "template: date '%.40s' is not YYYY-MM-DD", date);
  return PAGEDVK_OK;
}

int pagedvk_template_render(const char *tmpl, size_t tmpl_len, const pagedvk_chat_input *in, char **text,
                            size_t *len, char *errbuf, size_t err_size) {
  pv_error err = {0};
  pv_jinja *t = NULL;
  char *vars = NULL;
  size_t vars_len = 0;
  *text = NULL;
  *len = 0;
  int rc = !in || !tmpl ? pv_fail(&err, PAGEDVK_ERR_INVALID, "template: no template or no input") : PAGEDVK_OK;
  pv_jinja_render_opts o = {0};
  if (!rc) rc = parse_date(in->date, &o.year, &o.month, &o.day, &err);
  if (!rc && !(vars = standard_vars(in, &vars_len))) rc = pv_fail(&err, PAGEDVK_ERR_NO_MEMORY, "template: out of memory");
  if (!rc) rc = pv_jinja_parse(&t, tmpl, tmpl_len, &err);
  if (!rc) {
    const char *texts[2] = {vars, in->kwargs_json};
    size_t lens[2] = {vars_len, in->kwargs_json ? strlen(in->kwargs_json) : 0};
    o.vars_json = texts;
    o.vars_len = lens;
    o.n_vars = 2;
    rc = pv_jinja_render(t, &o, text, len, &err);
  }
  pv_jinja_free(t);
  free(vars);
  if (rc) pv_error_copy(&err, errbuf, err_size);
  return rc;
}
