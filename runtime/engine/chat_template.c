/*
 * chat_template.c — choosing a model's chat template (its own, an override, a built-in, the
 * ChatML fallback or none; chat_template.h) and rendering a chat with it through the Jinja
 * interpreter (text/jinja/jinja.h).
 *
 * A render passes the template two JSON objects of variables: first the caller's kwargs, then
 * messages, tools, documents (none), add_generation_prompt, bos_token and eos_token, so that a
 * kwarg cannot replace the chat itself. The caller's JSON texts are spliced into that object only
 * after checking that each is exactly one array (messages, tools) or object (kwargs): a text such
 * as `[], "bos_token": "x"` is refused, not merged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "text/chat_builtin.h"
#include "engine/json_text.h"
#include "engine/chat_template.h"
#include "text/jinja/jinja.h"

static const char NO_TEMPLATE[] = "the model has no chat template; pass --chat-template-file or --chat-template NAME";

static char *dup_str(const char *s) { return s ? strdup(s) : NULL; }

/* ---- choosing the template ------------------------------------------------------------------ */

/* `piece` is a control or user-defined token of the vocabulary. */
static bool has_special(const pv_tokenizer *tok, const char *piece) {
  int32_t id = pv_token_lookup(tok, piece, strlen(piece));
  if (id < 0) return false;
  pv_token_type ty = pv_token_get_type(tok, id);
  return ty == PV_TOKEN_CONTROL || ty == PV_TOKEN_USER_DEFINED;
}

static int no_memory(pv_error *err) { return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "chat template: no memory"); }

/* Takes a parsed tree and its source label (copied) as the template in use. */
static int adopt(pv_chat_template *t, struct pv_jinja *tree, const char *text, size_t len, const char *source,
                 pv_error *err) {
  char *src = dup_str(source), *copy = malloc(len + 1);
  if (!src || !copy) {
    free(src);
    free(copy);
    pv_jinja_free(tree);
    return no_memory(err);
  }
  memcpy(copy, text, len);
  copy[len] = 0;
  pv_jinja_free(t->tmpl);
  free(t->source);
  free(t->problem);
  free(t->text);
  t->tmpl = tree;
  t->source = src;
  t->problem = NULL;
  t->text = copy;
  t->text_len = len;
  return PAGEDVK_OK;
}

int pv_chat_template_set(pv_chat_template *t, const char *text, size_t len, const char *source, pv_error *err) {
  if (!text) return pv_fail(err, PAGEDVK_ERR_INVALID, "chat template: no text");
  struct pv_jinja *tree = NULL;
  pv_error pe = {0};
  int rc = pv_jinja_parse(&tree, text, len, &pe);
  if (rc) return pv_fail(err, rc, "chat template %s: %s", source ? source : "", pe.msg);
  return adopt(t, tree, text, len, source ? source : "override", err);
}

int pv_chat_template_set_builtin(pv_chat_template *t, const char *name, pv_error *err) {
  const char *text = pv_chat_builtin(name);
  if (!text) {
    char names[256] = "";
    for (const char *const *n = pv_chat_builtin_names(); *n; n++)
      snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", n == pv_chat_builtin_names() ? "" : ", ", *n);
    return pv_fail(err, PAGEDVK_ERR_INVALID, "no built-in chat template '%s' (there are: %s)", name ? name : "", names);
  }
  char source[96];
  snprintf(source, sizeof source, "builtin:%s", name);
  return pv_chat_template_set(t, text, strlen(text), source, err);
}

/* No usable template: record why, `what` followed by `detail` (source may stay "gguf" for one that
 * did not parse). */
static int set_problem(pv_chat_template *t, const char *source, const char *what, const char *detail, pv_error *err) {
  size_t n = strlen(what) + strlen(detail) + 1;
  if (!(t->problem = malloc(n))) return no_memory(err);
  memcpy(t->problem, what, strlen(what));
  memcpy(t->problem + strlen(what), detail, strlen(detail) + 1);
  if (source && !(t->source = strdup(source))) return no_memory(err);
  return PAGEDVK_OK;
}

int pv_chat_template_load(pv_chat_template *t, const pv_tokenizer *tok, const char *text, size_t len, pv_error *err) {
  memset(t, 0, sizeof *t);
  const char *bos = tok ? pv_token_piece(tok, tok->bos) : NULL, *eos = tok ? pv_token_piece(tok, tok->eos) : NULL;
  t->bos = strdup(bos ? bos : "");
  t->eos = strdup(eos ? eos : "");
  if (!t->bos || !t->eos) return no_memory(err);
  if (text && len) {
    struct pv_jinja *tree = NULL;
    pv_error pe = {0};
    if (pv_jinja_parse(&tree, text, len, &pe) == PAGEDVK_OK) return adopt(t, tree, text, len, "gguf", err);
    return set_problem(t, "gguf", "the model's chat template (tokenizer.chat_template) cannot be used: ", pe.msg, err);
  }
  if (tok && has_special(tok, "<|im_start|>") && has_special(tok, "<|im_end|>")) {
    const char *chatml = pv_chat_builtin("chatml");
    return pv_chat_template_set(t, chatml, strlen(chatml), "fallback:chatml", err);
  }
  return set_problem(t, NULL, NO_TEMPLATE, "", err);
}

void pv_chat_template_free(pv_chat_template *t) {
  pv_jinja_free(t->tmpl);
  free(t->source);
  free(t->problem);
  free(t->bos);
  free(t->eos);
  free(t->text);
  memset(t, 0, sizeof *t);
}

/* ---- rendering ------------------------------------------------------------------------------ */

static const char *skip_space(const char *s) {
  while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
  return s;
}

/* `s` is one JSON value opened by `open` ('[' or '{') and nothing after it: brackets balance
 * outside strings and the first one closes only at the end. The interpreter checks the rest. */
static bool one_json_value(const char *s, char open) {
  s = skip_space(s);
  if (*s != open) return false;
  int depth = 0;
  for (; *s; s++) {
    if (*s == '"') {
      for (s++; *s && *s != '"'; s++)
        if (*s == '\\' && s[1]) s++;
      if (!*s) return false;
    } else if (*s == '[' || *s == '{') {
      depth++;
    } else if (*s == ']' || *s == '}') {
      if (--depth == 0) return *skip_space(s + 1) == 0;
    }
  }
  return false;
}

static int check_inputs(const pagedvk_chat_input *in, pv_error *err) {
  if (!in || !in->messages_json) return pv_fail(err, PAGEDVK_ERR_INVALID, "chat: no messages");
  if (!one_json_value(in->messages_json, '['))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "chat: messages must be one JSON array");
  if (in->tools_json && !one_json_value(in->tools_json, '['))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "chat: tools must be one JSON array");
  if (in->kwargs_json && !one_json_value(in->kwargs_json, '{'))
    return pv_fail(err, PAGEDVK_ERR_INVALID, "chat: template kwargs must be one JSON object");
  return PAGEDVK_OK;
}

/* "YYYY-MM-DD" into the render options (NULL: today). */
static int parse_date(const char *date, pv_jinja_render_opts *o, pv_error *err) {
  if (!date) return PAGEDVK_OK;
  int y, m, d, used = 0;
  if (sscanf(date, "%4d-%2d-%2d%n", &y, &m, &d, &used) != 3 || date[used] || y < 1 || m < 1 || m > 12 || d < 1 ||
      d > 31)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "chat: date '%s' is not YYYY-MM-DD", date);
  o->year = y, o->month = m, o->day = d;
  return PAGEDVK_OK;
}

/* The object of the chat's own variables. */
static void put_chat_vars(pv_jtext *b, const pagedvk_chat_input *in, const char *bos, const char *eos) {
  pv_jtext_put(b, "{\"messages\": ");
  pv_jtext_put(b, in->messages_json);
  pv_jtext_put(b, ", \"tools\": ");
  pv_jtext_put(b, in->tools_json ? in->tools_json : "null");
  pv_jtext_put(b, ", \"documents\": null, \"add_generation_prompt\": ");
  pv_jtext_put(b, in->add_generation_prompt ? "true" : "false");
  pv_jtext_put(b, ", \"bos_token\": ");
  pv_jtext_string(b, bos);
  pv_jtext_put(b, ", \"eos_token\": ");
  pv_jtext_string(b, eos);
  pv_jtext_put(b, "}");
}

int pv_chat_render(const pv_chat_template *t, const pagedvk_chat_input *in, char **out, size_t *len, bool *has_bos,
                   pv_error *err) {
  *out = NULL;
  *len = 0;
  if (has_bos) *has_bos = false;
  if (!t->tmpl) return pv_fail(err, PAGEDVK_ERR_INVALID, "%s", t->problem ? t->problem : NO_TEMPLATE);
  pv_jinja_render_opts o = {0};
  int rc = check_inputs(in, err);
  if (!rc) rc = parse_date(in->date, &o, err);
  if (rc) return rc;
  pv_jtext vars = {0};
  put_chat_vars(&vars, in, in->bos_token ? in->bos_token : t->bos, in->eos_token ? in->eos_token : t->eos);
  if (vars.oom) {
    free(vars.p);
    return no_memory(err);
  }
  const char *objs[2] = {in->kwargs_json, vars.p};
  size_t lens[2] = {in->kwargs_json ? strlen(in->kwargs_json) : 0, vars.n};
  o.vars_json = objs;
  o.vars_len = lens;
  o.n_vars = 2;
  rc = pv_jinja_render(t->tmpl, &o, out, len, err);
  free(vars.p);
  if (rc) return rc;
  size_t bl = strlen(t->bos);
  if (has_bos) *has_bos = bl > 0 && *len >= bl && !memcmp(*out, t->bos, bl);
  return PAGEDVK_OK;
}
