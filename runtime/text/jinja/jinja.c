/*
 * jinja.c — the entry points of jinja.h: parse (newlines normalized to \n as Jinja does, one
 * trailing newline dropped, lex, build the tree into the template's own arena) and render (a
 * fresh arena per render with the limits applied, the variables parsed from JSON, the tree
 * walked, the text handed over as a malloc'd string).
 *
 * Invariant: after pv_jinja_parse the template is read-only, so renders of one template may run
 * at once on several threads.
 */
#include "text/jinja/jinja.h"

#include <stdlib.h>
#include <string.h>

#include "text/jinja/jinja_ast.h"
#include "text/jinja/jinja_eval.h"

struct pv_jinja {
  jx arena;
  jnode *root;
};

/* \r\n and \r → \n; the one trailing newline dropped. */
static char *normalize(const char *src, size_t len, size_t *out_len) {
  char *s = malloc(len + 1);
  if (!s) return NULL;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    if (src[i] == '\r') {
      s[n++] = '\n';
      if (i + 1 < len && src[i + 1] == '\n') i++;
    } else {
      s[n++] = src[i];
    }
  }
  if (n && s[n - 1] == '\n') n--;
  s[n] = 0;
  *out_len = n;
  return s;
}

int pv_jinja_parse(pv_jinja **out, const char *src, size_t len, pv_error *err) {
  *out = NULL;
  if (!src && len) return pv_fail(err, PAGEDVK_ERR_INVALID, "template: no text");
  if (len > JINJA_MAX_SOURCE)
    return pv_fail(err, PAGEDVK_ERR_FORMAT, "template: %zu bytes, more than the %zu allowed", len, JINJA_MAX_SOURCE);
  pv_jinja *t = calloc(1, sizeof *t);
  size_t n = 0;
  char *s = t ? normalize(src ? src : "", len, &n) : NULL;
  if (!s) {
    free(t);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "template: out of memory");
  }
  jx_init(&t->arena, err);
  t->arena.max_mem = (size_t)256 << 20;
  jtok *toks = NULL;
  size_t nt = 0;
  int rc = jinja_lex(&t->arena, s, n, &toks, &nt, err);
  if (!rc) rc = jinja_parse_tokens(&t->arena, toks, nt, &t->root, err);
  free(s);
  t->arena.err = NULL;
  if (rc) {
    pv_jinja_free(t);
    return rc;
  }
  *out = t;
  return PAGEDVK_OK;
}

void pv_jinja_free(pv_jinja *t) {
  if (!t) return;
  jx_free(&t->arena);
  free(t);
}

static void apply_limits(jx *x, const pv_jinja_limits *l) {
  if (!l) return;
  if (l->max_steps) x->max_steps = l->max_steps;
  if (l->max_depth) x->max_depth = l->max_depth;
  if (l->max_output) x->max_output = l->max_output;
  if (l->max_memory) x->max_mem = l->max_memory;
}

static int load_vars(jx *x, const pv_jinja_render_opts *o, jv *vars) {
  int rc = jv_dict_new(x, 16, JV_DICT, vars);
  for (size_t i = 0; !rc && o && i < o->n_vars; i++) {
    if (!o->vars_json[i]) continue;
    jv obj;
    rc = jv_parse_json(x, o->vars_json[i], o->vars_len ? o->vars_len[i] : strlen(o->vars_json[i]), &obj);
    if (!rc && obj.t != JV_DICT)
      rc = pv_fail(x->err, PAGEDVK_ERR_INVALID, "template variables: JSON text %zu is not an object", i);
    for (size_t k = 0; !rc && k < obj.d->n; k++) rc = jv_dict_set(x, vars->d, obj.d->k[k], obj.d->v[k]);
  }
  return rc;
}

int pv_jinja_render(const pv_jinja *t, const pv_jinja_render_opts *o, char **out, size_t *len, pv_error *err) {
  *out = NULL;
  *len = 0;
  jx x;
  jx_init(&x, err);
  if (o) {
    apply_limits(&x, o->limits);
    x.year = o->year;
    x.month = o->month;
    x.day = o->day;
  }
  jv vars;
  jsb buf;
  jsb_init(&buf, &x, x.max_output);
  int rc = load_vars(&x, o, &vars);
  if (!rc) rc = jinja_eval(&x, t->root, vars, &buf);
  if (!rc) {
    *out = buf.p ? buf.p : calloc(1, 1);
    *len = buf.n;
    buf.p = NULL;
    if (!*out) rc = pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "template: out of memory");
  }
  jsb_free(&buf);
  jx_free(&x);
  return rc;
}
