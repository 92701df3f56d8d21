/*
 * jinja_eval.c — the tree walker: statements write into the current output buffer, expressions
 * give values. Owns scoping (frames), for loops and the `loop` object, macros and their calls,
 * block set, filter blocks, break/continue, and the bounds: one step per node and per loop pass,
 * macro call depth (limits.max_depth) and C recursion (EV_MAX_NEST) checked on every level.
 *
 * Invariants: the tree is only read; a frame's arrays are malloc'd and freed when its block ends
 * (values stay in the arena); `ev.ctl` is non-zero only between a break/continue and the loop
 * that takes it.
 */
#include "text/jinja/jinja_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "text/jinja/jinja_builtins.h"

#define EV_MAX_NEST 3000
#define EV_MAX_ARGS 64

typedef struct frame {
  struct frame *parent;
  const char **k;
  jv *v;
  size_t n, cap;
} frame;

typedef struct loopst {
  int64_t index0, length; /* length: -1 while a filtered loop has items left to test */
  jv items;               /* the items walked, or JV_UNDEF for a range walked without a list */
  int64_t start, step;    /* that range */
  uint32_t depth;
  /* A loop with an `if` filter tests its items as it goes, as Jinja's generator does (the body
   * may change what the test reads); loop.last/nextitem test ahead, loop.length all the rest. */
  const jnode *filtered; /* the for node, or NULL */
  jv src;                /* the unfiltered items; items holds those that passed so far */
  size_t next_src;       /* the next of them to test */
  frame *outer;          /* the scope the test runs in, valid while open */
  bool open;
} loopst;

static jv loop_item(const loopst *l, int64_t i) {
  return l->items.t == JV_LIST ? l->items.l->v[i] : jv_int((int64_t)((uint64_t)l->start + (uint64_t)i * (uint64_t)l->step));
}

typedef struct ev {
  jx *x;
  jsb *out;
  frame *globals, *cur;
  int ctl; /* 1 break, 2 continue */
  uint32_t nest, loop_depth;
} ev;

static int eval(ev *e, const jnode *n, jv *out);
static int exec_body(ev *e, jnode *const *v, uint32_t n);
static int loop_ensure(ev *e, loopst *l, int64_t k, bool *have);

/* ---- frames ---- */

static void frame_free(frame *f) {
  free(f->k);
  free(f->v);
  f->k = NULL;
  f->v = NULL;
  f->n = f->cap = 0;
}

static int frame_set(ev *e, frame *f, const char *name, jv v) {
  for (size_t i = 0; i < f->n; i++)
    if (!strcmp(f->k[i], name)) {
      f->v[i] = v;
      return PAGEDVK_OK;
    }
  if (f->n == f->cap) {
    size_t cap = f->cap;
    if (PV_GROW(f->k, cap, f->n + 1) || PV_GROW(f->v, f->cap, f->n + 1))
      return pv_fail(e->x->err, PAGEDVK_ERR_NO_MEMORY, "template: out of memory");
  }
  f->k[f->n] = name;
  f->v[f->n++] = v;
  return PAGEDVK_OK;
}

/* Appends without looking for the name (a fresh loop pass; lookups search from the end, so a
 * name bound twice reads its last value, as Python's unpacking). */
static int frame_push(ev *e, frame *f, const char *name, jv v) {
  if (f->n == f->cap) {
    size_t cap = f->cap;
    if (PV_GROW(f->k, cap, f->n + 1) || PV_GROW(f->v, f->cap, f->n + 1))
      return pv_fail(e->x->err, PAGEDVK_ERR_NO_MEMORY, "template: out of memory");
  }
  f->k[f->n] = name;
  f->v[f->n++] = v;
  return PAGEDVK_OK;
}

static bool frame_get(const frame *f, const char *name, jv *out) {
  for (; f; f = f->parent)
    for (size_t i = f->n; i-- > 0;)
      if (!strcmp(f->k[i], name)) {
        *out = f->v[i];
        return true;
      }
  return false;
}

/* ---- errors ---- */

/* Adds "line N: " to an error that has no place yet (not to raise_exception's message). */
static int locate(ev *e, uint32_t line, int rc) {
  pv_error *err = e->x->err;
  if (!rc || e->x->raised || !strncmp(err->msg, "line ", 5)) return rc;
  char tmp[sizeof err->msg];
  snprintf(tmp, sizeof tmp, "line %u: %.480s", line, err->msg);
  memcpy(err->msg, tmp, sizeof tmp);
  return rc;
}

static int enter(ev *e) {
  if (++e->nest > EV_MAX_NEST)
    return pv_fail(e->x->err, PAGEDVK_ERR_INVALID, "template: nesting deeper than %d levels", EV_MAX_NEST);
  return jx_charge(e->x, 1);
}

/* ---- the loop object ---- */

static int loop_attr(ev *e, loopst *l, const char *name, jv *out) {
  int64_t i = l->index0;
  bool ahead = !strcmp(name, "last") || !strcmp(name, "nextitem");
  bool all = !strcmp(name, "length") || !strcmp(name, "revindex") || !strcmp(name, "revindex0");
  bool have_next = true;
  int rc = PAGEDVK_OK;
  if (l->filtered && (ahead || all)) rc = loop_ensure(e, l, all ? INT64_MAX : i + 1, &have_next);
  if (rc) return rc;
  int64_t n = l->filtered ? (int64_t)l->items.l->n : l->length;
  if (!l->filtered) have_next = i + 1 < n;
  if (!strcmp(name, "index")) *out = jv_int(i + 1);
  else if (!strcmp(name, "index0")) *out = jv_int(i);
  else if (!strcmp(name, "revindex")) *out = jv_int(n - i);
  else if (!strcmp(name, "revindex0")) *out = jv_int(n - i - 1);
  else if (!strcmp(name, "first")) *out = jv_bool(i == 0);
  else if (!strcmp(name, "last")) *out = jv_bool(!have_next);
  else if (!strcmp(name, "length")) *out = jv_int(n);
  else if (!strcmp(name, "depth")) *out = jv_int(1); /* only recursive loops nest depths */
  else if (!strcmp(name, "depth0")) *out = jv_int(0);
  else if (!strcmp(name, "previtem")) *out = i > 0 ? loop_item(l, i - 1) : jv_undef("previtem", 8);
  else if (!strcmp(name, "nextitem")) *out = have_next ? loop_item(l, i + 1) : jv_undef("nextitem", 8);
  else *out = jv_undef("", 0);
  return PAGEDVK_OK;
}

/* ---- calls ---- */

typedef struct callargs {
  jv v[EV_MAX_ARGS], kv[EV_MAX_ARGS];
  const char *kn[EV_MAX_ARGS];
  jargs a;
} callargs;

static int eval_args(ev *e, const jnode *n, callargs *c) {
  if (n->nv > EV_MAX_ARGS || n->nw > EV_MAX_ARGS)
    return pv_fail(e->x->err, PAGEDVK_ERR_INVALID, "more than %d arguments", EV_MAX_ARGS);
  int rc = PAGEDVK_OK;
  for (uint32_t i = 0; !rc && i < n->nv; i++) rc = eval(e, n->v[i], &c->v[i]);
  for (uint32_t i = 0; !rc && i < n->nw; i++) {
    c->kn[i] = n->names[i];
    rc = eval(e, n->w[i], &c->kv[i]);
  }
  c->a = (jargs){.v = c->v, .n = n->nv, .kn = c->kn, .kv = c->kv, .nk = n->nw};
  return rc;
}

static int capture(ev *e, jnode *const *body, uint32_t nb, frame *f, jv *out) {
  jsb buf, *saved = e->out;
  frame *saved_cur = e->cur;
  jsb_init(&buf, e->x, e->x->max_output);
  e->out = &buf;
  e->cur = f;
  int rc = exec_body(e, body, nb);
  e->out = saved;
  e->cur = saved_cur;
  if (!rc) rc = jsb_to_str(&buf, out);
  jsb_free(&buf);
  return rc;
}

/* A macro value: its node and, for one defined inside a loop or macro, a copy of the variables it
 * could see there (Jinja's macros close over their scope); NULL closure: the globals. */
typedef struct jmacro {
  const jnode *node;
  frame *closure;
} jmacro;

static int define_macro(ev *e, const jnode *n) {
  jmacro *m = jx_alloc(e->x, sizeof *m);
  if (!m) return e->x->err->code;
  m->node = n;
  m->closure = NULL;
  if (e->cur != e->globals) {
    size_t total = 0;
    for (const frame *f = e->cur; f && f != e->globals; f = f->parent) total += f->n;
    frame *c = jx_alloc(e->x, sizeof *c);
    const char **k = jx_alloc(e->x, (total + 1) * sizeof *k);
    jv *v = jx_alloc(e->x, (total + 1) * sizeof *v);
    if (!c || !k || !v) return e->x->err->code;
    *c = (frame){.parent = e->globals, .k = k, .v = v};
    /* outermost first, so inner names (found later, searched from the end) win */
    for (const frame *f = e->cur; f && f != e->globals; f = f->parent) {
      if (!f->n) continue;
      memmove(k + f->n, k, c->n * sizeof *k);
      memmove(v + f->n, v, c->n * sizeof *v);
      memcpy(k, f->k, f->n * sizeof *k);
      memcpy(v, f->v, f->n * sizeof *v);
      c->n += f->n;
    }
    k[c->n] = n->lit.s; /* itself, for recursion */
    v[c->n++] = (jv){.t = JV_MACRO, .p = m};
    c->cap = c->n;
    m->closure = c;
  }
  return frame_set(e, e->cur, n->lit.s, (jv){.t = JV_MACRO, .p = m});
}

/* varargs / kwargs of a call, when the macro reads them; extra arguments otherwise are an error. */
static int bind_extras(ev *e, const jnode *m, const jargs *a, frame *f) {
  jx *x = e->x;
  int rc = PAGEDVK_OK;
  if (a->n > m->nn && !(m->op & JN_MACRO_VARARGS))
    return pv_fail(x->err, PAGEDVK_ERR_INVALID, "macro '%s' takes not more than %u argument(s)", m->lit.s, m->nn);
  for (size_t k = 0; k < a->nk && !(m->op & JN_MACRO_KWARGS); k++) {
    bool known = false;
    for (uint32_t i = 0; i < m->nn && !known; i++) known = !strcmp(m->names[i], a->kn[k]);
    if (!known)
      return pv_fail(x->err, PAGEDVK_ERR_INVALID, "macro '%s' takes no keyword argument '%s'", m->lit.s, a->kn[k]);
  }
  if (m->op & JN_MACRO_VARARGS) {
    jv va;
    size_t extra = a->n > m->nn ? a->n - m->nn : 0;
    rc = jv_list_new(x, extra, &va);
    for (size_t i = 0; !rc && i < extra; i++) va.l->v[i] = a->v[m->nn + i];
    va.tuple = 1;
    if (!rc) rc = frame_set(e, f, "varargs", va);
  }
  if (!rc && (m->op & JN_MACRO_KWARGS)) {
    jv kw;
    rc = jv_dict_new(x, a->nk, JV_DICT, &kw);
    for (size_t k = 0; !rc && k < a->nk; k++) {
      bool param = false;
      for (uint32_t i = 0; i < m->nn && !param; i++) param = !strcmp(m->names[i], a->kn[k]);
      if (!param) rc = jv_dict_set(x, kw.d, jv_strref(a->kn[k], strlen(a->kn[k])), a->kv[k]);
    }
    if (!rc) rc = frame_set(e, f, "kwargs", kw);
  }
  return rc;
}

static int call_macro(ev *e, const jmacro *mac, const jargs *a, jv *out) {
  jx *x = e->x;
  const jnode *m = mac->node;
  if (x->depth >= x->max_depth)
    return pv_fail(x->err, PAGEDVK_ERR_INVALID, "template: macro calls nested deeper than %u (endless recursion?)",
                   x->max_depth);
  frame f = {.parent = mac->closure ? mac->closure : e->globals};
  frame *saved = e->cur;
  int rc = bind_extras(e, m, a, &f);
  e->cur = &f;
  for (uint32_t i = 0; !rc && i < m->nn; i++) {
    jv v = jv_undef(m->names[i], strlen(m->names[i]));
    bool set = false;
    if (i < a->n) {
      v = a->v[i];
      set = true;
    }
    for (size_t k = 0; !set && k < a->nk; k++)
      if (!strcmp(a->kn[k], m->names[i])) {
        v = a->kv[k];
        set = true;
      }
    if (!set && m->w[i]) rc = eval(e, m->w[i], &v);
    if (!rc) rc = frame_set(e, &f, m->names[i], v);
  }
  e->cur = saved;
  int saved_ctl = e->ctl;
  uint32_t saved_loops = e->loop_depth;
  e->loop_depth = 0;
  x->depth++;
  if (!rc) rc = capture(e, m->v, m->nv, &f, out);
  x->depth--;
  e->ctl = saved_ctl;
  e->loop_depth = saved_loops;
  frame_free(&f);
  return rc;
}

static int call_value(ev *e, jv callee, const jargs *a, jv *out) {
  switch (callee.t) {
  case JV_MACRO: return call_macro(e, callee.p, a, out);
  case JV_FUNC: return jb_call_global(e->x, callee.s, a, out);
  case JV_BOUND: return jb_call_method(e->x, callee.bound->obj, callee.bound->name, a, out);
  case JV_UNDEF: return jb_undefined_error(e->x, callee);
  default: return pv_fail(e->x->err, PAGEDVK_ERR_INVALID, "'%s' object is not callable", jv_type_name(callee));
  }
}

static int loop_cycle(ev *e, loopst *l, const jargs *a, jv *out) {
  if (a->n == 0) return pv_fail(e->x->err, PAGEDVK_ERR_INVALID, "no items for cycling given");
  *out = a->v[l->index0 % (int64_t)a->n];
  return PAGEDVK_OK;
}

static int eval_call(ev *e, const jnode *n, jv *out) {
  callargs *c = malloc(sizeof *c);
  if (!c) return pv_fail(e->x->err, PAGEDVK_ERR_NO_MEMORY, "template: out of memory");
  jv callee;
  int rc;
  if (n->a->k == JN_ATTR) {
    jv obj;
    rc = eval(e, n->a->a, &obj);
    if (!rc && obj.t == JV_LOOP && !strcmp(n->a->lit.s, "cycle")) {
      rc = eval_args(e, n, c);
      if (!rc) rc = loop_cycle(e, obj.q, &c->a, out);
      free(c);
      return rc;
    }
    if (!rc && obj.t == JV_LOOP) rc = loop_attr(e, obj.q, n->a->lit.s, &callee);
    else if (!rc) rc = jb_getattr(e->x, obj, n->a->lit.s, n->a->lit.n, &callee);
  } else {
    rc = eval(e, n->a, &callee);
  }
  if (!rc) rc = eval_args(e, n, c);
  if (!rc) rc = call_value(e, callee, &c->a, out);
  free(c);
  return rc;
}

static int eval_filter(ev *e, const jnode *n, jv in, jv *out) {
  callargs *c = malloc(sizeof *c);
  if (!c) return pv_fail(e->x->err, PAGEDVK_ERR_NO_MEMORY, "template: out of memory");
  int rc = eval_args(e, n, c);
  if (!rc && n->k == JN_FILTER) rc = jb_filter(e->x, n->lit.s, in, &c->a, out);
  if (!rc && n->k == JN_TEST) {
    bool r = false;
    rc = jb_test(e->x, n->lit.s, in, &c->a, &r);
    *out = jv_bool(n->op ? !r : r);
  }
  free(c);
  return rc;
}

/* ---- expressions ---- */

static int eval_name(ev *e, const jnode *n, jv *out) {
  if (frame_get(e->cur, n->lit.s, out)) return PAGEDVK_OK;
  if (jb_is_global(n->lit.s)) *out = (jv){.t = JV_FUNC, .s = n->lit.s, .n = n->lit.n};
  else *out = jv_undef(n->lit.s, n->lit.n);
  return PAGEDVK_OK;
}

static int eval_seq(ev *e, const jnode *n, jv *out) {
  int rc = jv_list_new(e->x, n->nv, out);
  for (uint32_t i = 0; !rc && i < n->nv; i++) rc = eval(e, n->v[i], &out->l->v[i]);
  if (!rc) out->tuple = n->k == JN_TUPLE;
  return rc;
}

static int eval_dict(ev *e, const jnode *n, jv *out) {
  int rc = jv_dict_new(e->x, n->nv, JV_DICT, out);
  for (uint32_t i = 0; !rc && i < n->nv; i++) {
    jv k, v;
    rc = eval(e, n->v[i], &k);
    if (!rc) rc = eval(e, n->w[i], &v);
    if (!rc) rc = jv_dict_set(e->x, out->d, k, v);
  }
  return rc;
}

static int eval_slice(ev *e, const jnode *n, jv *out) {
  jv obj, p[3] = {jv_undef("", 0), jv_undef("", 0), jv_undef("", 0)};
  int rc = eval(e, n->a, &obj);
  for (int i = 0; !rc && i < 3; i++)
    if (n->v[i]) rc = eval(e, n->v[i], &p[i]);
  if (!rc) rc = jb_slice(e->x, obj, p[0], p[1], p[2], out);
  return rc;
}

static int eval_inner(ev *e, const jnode *n, jv *out) {
  jv a, b;
  int rc;
  switch (n->k) {
  case JN_LIT: *out = n->lit; return PAGEDVK_OK;
  case JN_NAME: return eval_name(e, n, out);
  case JN_ATTR:
    rc = eval(e, n->a, &a);
    if (!rc && a.t == JV_LOOP) return loop_attr(e, a.q, n->lit.s, out);
    if (!rc) rc = jb_getattr(e->x, a, n->lit.s, n->lit.n, out);
    return rc;
  case JN_ITEM:
    rc = eval(e, n->a, &a);
    if (!rc) rc = eval(e, n->b, &b);
    if (!rc && a.t == JV_LOOP && b.t == JV_STR) return loop_attr(e, a.q, b.s, out);
    if (!rc) rc = jb_getitem(e->x, a, b, out);
    return rc;
  case JN_SLICE: return eval_slice(e, n, out);
  case JN_CALL: return eval_call(e, n, out);
  case JN_FILTER:
  case JN_TEST:
    rc = eval(e, n->a, &a);
    if (!rc) rc = eval_filter(e, n, a, out);
    return rc;
  case JN_BIN:
    rc = eval(e, n->a, &a);
    if (!rc) rc = eval(e, n->b, &b);
    if (!rc) rc = jb_binop(e->x, n->op, a, b, out);
    return rc;
  case JN_NEG:
  case JN_POS:
    rc = eval(e, n->a, &a);
    if (!rc) rc = jb_neg(e->x, a, n->k == JN_NEG, out);
    return rc;
  case JN_NOT:
    rc = eval(e, n->a, &a);
    *out = jv_bool(!jv_truthy(a));
    return rc;
  case JN_AND:
  case JN_OR:
    rc = eval(e, n->a, &a);
    if (rc) return rc;
    if (jv_truthy(a) == (n->k == JN_OR)) {
      *out = a;
      return PAGEDVK_OK;
    }
    return eval(e, n->b, out);
  case JN_COND:
    rc = eval(e, n->b, &a);
    if (rc) return rc;
    if (jv_truthy(a)) return eval(e, n->a, out);
    if (n->c) return eval(e, n->c, out);
    *out = jv_undef("", 0);
    return PAGEDVK_OK;
  case JN_LIST:
  case JN_TUPLE: return eval_seq(e, n, out);
  case JN_DICT: return eval_dict(e, n, out);
  default: return pv_fail(e->x->err, PAGEDVK_ERR_INVALID, "not an expression");
  }
}

static int eval(ev *e, const jnode *n, jv *out) {
  int rc = enter(e);
  if (!rc) rc = eval_inner(e, n, out);
  e->nest--;
  return locate(e, n->line, rc);
}

/* ---- statements ---- */

/* Binds a for's or set's targets to item (unpacking a sequence for several); fresh: f was just
 * emptied for a loop pass. */
static int bind_targets(ev *e, frame *f, const jnode *n, jv item, bool fresh) {
  int (*bind)(ev *, frame *, const char *, jv) = fresh ? frame_push : frame_set;
  if (n->nn == 1) return bind(e, f, n->names[0], item);
  jv parts = item;
  int rc = PAGEDVK_OK;
  if (item.t == JV_STR || item.t == JV_DICT) rc = jb_iterate(e->x, item, &parts);
  if (rc) return rc;
  if (parts.t != JV_LIST)
    return pv_fail(e->x->err, PAGEDVK_ERR_INVALID, "cannot unpack non-iterable %s object", jv_type_name(item));
  if (parts.l->n != n->nn)
    return pv_fail(e->x->err, PAGEDVK_ERR_INVALID, "%s values to unpack (expected %u, got %zu)",
                   parts.l->n > n->nn ? "too many" : "not enough", n->nn, parts.l->n);
  for (uint32_t i = 0; !rc && i < n->nn; i++) rc = bind(e, f, n->names[i], parts.l->v[i]);
  return rc;
}

/* Tests source items until item k of the filtered loop exists (*have) or none are left. */
static int loop_ensure(ev *e, loopst *l, int64_t k, bool *have) {
  int rc = PAGEDVK_OK;
  frame f = {.parent = l->outer};
  frame *saved = e->cur;
  while (!rc && (int64_t)l->items.l->n <= k && l->open && l->next_src < l->src.l->n) {
    jv item = l->src.l->v[l->next_src++], c;
    f.n = 0;
    e->cur = &f;
    rc = bind_targets(e, &f, l->filtered, item, true);
    if (!rc) rc = eval(e, l->filtered->b, &c);
    e->cur = saved;
    if (!rc && jv_truthy(c)) l->items.l->v[l->items.l->n++] = item;
  }
  frame_free(&f);
  *have = (int64_t)l->items.l->n > k;
  return rc;
}

/* `for x in range(...)` without a filter walks the range without building its list (a nested
 * range would otherwise allocate on every pass of the outer loop). */
static bool is_range_call(ev *e, const jnode *it) {
  jv v;
  if (it->k != JN_CALL || it->a->k != JN_NAME || strcmp(it->a->lit.s, "range") || it->nw) return false;
  return !frame_get(e->cur, "range", &v);
}

static int for_items(ev *e, const jnode *n, loopst *ls) {
  int rc;
  if (!n->b && is_range_call(e, n->a)) {
    callargs *c = malloc(sizeof *c);
    if (!c) return pv_fail(e->x->err, PAGEDVK_ERR_NO_MEMORY, "template: out of memory");
    rc = eval_args(e, n->a, c);
    if (!rc) rc = jb_range_args(e->x, &c->a, &ls->start, &ls->step, &ls->length);
    free(c);
    ls->items = jv_undef("", 0);
    return locate(e, n->a->line, rc);
  }
  jv it;
  rc = eval(e, n->a, &it);
  if (!rc) rc = jb_iterate(e->x, it, &ls->items);
  if (!rc && n->b) { /* tested as the loop goes: items fills up from src */
    ls->filtered = n;
    ls->src = ls->items;
    ls->outer = e->cur;
    ls->open = true;
    rc = jv_list_new(e->x, ls->src.l->n, &ls->items);
    if (!rc) ls->items.l->n = 0;
  }
  if (!rc) ls->length = n->b ? -1 : (int64_t)ls->items.l->n;
  return rc;
}

static int exec_for(ev *e, const jnode *n) {
  loopst *ls = jx_alloc(e->x, sizeof *ls);
  if (!ls) return e->x->err->code;
  *ls = (loopst){.depth = e->loop_depth + 1};
  int rc = for_items(e, n, ls);
  bool any = ls->length != 0;
  if (!rc && ls->filtered) rc = loop_ensure(e, ls, 0, &any);
  if (rc || !any) {
    ls->open = false;
    if (!rc) rc = exec_body(e, n->w, n->nw); /* the for's else */
    return rc;
  }
  frame f = {.parent = e->cur};
  frame *saved = e->cur;
  e->cur = &f;
  e->loop_depth++;
  for (int64_t i = 0; !rc; i++) {
    bool more = i < ls->length;
    if (ls->filtered) rc = loop_ensure(e, ls, i, &more);
    if (rc || !more) break;
    f.n = 0;
    ls->index0 = i;
    rc = jx_charge(e->x, 1);
    if (!rc) rc = frame_push(e, &f, "loop", (jv){.t = JV_LOOP, .q = ls});
    if (!rc) rc = bind_targets(e, &f, n, loop_item(ls, i), true);
    if (!rc) rc = exec_body(e, n->v, n->nv);
    if (e->ctl == 1) {
      e->ctl = 0;
      break;
    }
    e->ctl = 0;
  }
  e->loop_depth--;
  e->cur = saved;
  ls->open = false; /* its scope ends here: a loop object kept past the loop tests nothing more */
  frame_free(&f);
  return rc;
}

static int exec_set(ev *e, const jnode *n) {
  jv v;
  int rc = eval(e, n->a, &v);
  if (rc) return rc;
  if (n->c) {
    jv ns;
    rc = eval(e, n->c, &ns);
    if (!rc && ns.t != JV_NS)
      rc = pv_fail(e->x->err, PAGEDVK_ERR_INVALID, "cannot assign attribute on non-namespace object");
    if (!rc) rc = jv_dict_set(e->x, ns.d, n->lit, v);
    return rc;
  }
  return bind_targets(e, e->cur, n, v, false);
}

static int apply_filters(ev *e, const jnode *n, jv *v) {
  int rc = PAGEDVK_OK;
  for (uint32_t i = 0; !rc && i < n->nw; i++) rc = eval_filter(e, n->w[i], *v, v);
  return rc;
}

static int exec_stmt(ev *e, const jnode *n) {
  jv v;
  int rc;
  switch (n->k) {
  case JN_TEXT: return jsb_put(e->out, n->lit.s, n->lit.n);
  case JN_OUT:
    rc = eval(e, n->a, &v);
    if (!rc) rc = jv_print(e->out, v);
    return rc;
  case JN_IF:
    rc = eval(e, n->a, &v);
    if (rc) return rc;
    return jv_truthy(v) ? exec_body(e, n->v, n->nv) : exec_body(e, n->w, n->nw);
  case JN_FOR: return exec_for(e, n);
  case JN_SET: return exec_set(e, n);
  case JN_SETBLOCK:
    rc = capture(e, n->v, n->nv, e->cur, &v);
    if (!rc) rc = apply_filters(e, n, &v);
    if (!rc) rc = frame_set(e, e->cur, n->names[0], v);
    return rc;
  case JN_FILTERBLOCK:
    rc = capture(e, n->v, n->nv, e->cur, &v);
    if (!rc) rc = apply_filters(e, n, &v);
    if (!rc) rc = jv_print(e->out, v);
    return rc;
  case JN_MACRO: return define_macro(e, n);
  case JN_BREAK:
  case JN_CONTINUE:
    if (!e->loop_depth) return pv_fail(e->x->err, PAGEDVK_ERR_INVALID, "'%s' outside a loop", n->k == JN_BREAK ? "break" : "continue");
    e->ctl = n->k == JN_BREAK ? 1 : 2;
    return PAGEDVK_OK;
  default: return pv_fail(e->x->err, PAGEDVK_ERR_INVALID, "not a statement");
  }
}

static int exec_body(ev *e, jnode *const *v, uint32_t n) {
  int rc = PAGEDVK_OK;
  for (uint32_t i = 0; !rc && i < n && !e->ctl; i++) {
    rc = enter(e);
    if (!rc) rc = exec_stmt(e, v[i]);
    e->nest--;
    rc = locate(e, v[i]->line, rc);
  }
  return rc;
}

int jinja_eval(jx *x, const jnode *root, jv vars, jsb *out) {
  frame g = {0};
  ev e = {.x = x, .out = out, .globals = &g, .cur = &g};
  int rc = PAGEDVK_OK;
  for (size_t i = 0; !rc && i < vars.d->n; i++) rc = frame_set(&e, &g, vars.d->k[i].s, vars.d->v[i]);
  if (!rc) rc = exec_body(&e, root->v, root->nv);
  frame_free(&g);
  return rc;
}
