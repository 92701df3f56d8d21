/*
 * jinja_parse.c — tokens → the tree of jinja_ast.h, by recursive descent with Jinja's operator
 * precedence (lowest first): inline if, or, and, not, comparisons / in / not in, + -, ~,
 * * / // %, **, unary - +, then primaries with postfix `.name`, `[...]`, `(...)` and the filter /
 * test chain `| f(...)`, `is [not] t ...`.
 *
 * Statements: if/elif/else, for (targets, `if` filter, else), set (name, tuple, ns.attr, block
 * set with filters), macro, break, continue, filter blocks. Anything else is a syntax error with
 * its line. Invariant: the recursion is bounded by JINJA_MAX_NEST (depth counted on every
 * statement body and expression level).
 */
#include <stdio.h>
#include <string.h>

#include "text/jinja/jinja_ast.h"

typedef struct ps {
  jx *x;
  const jtok *t;
  size_t n, i;
  int depth;
  pv_error *err;
} ps;

static const jtok *cur(ps *p) { return &p->t[p->i]; }
static const jtok *peek(ps *p, size_t k) { return &p->t[p->i + k < p->n ? p->i + k : p->n - 1]; }

static int fail(ps *p, const char *fmt, const char *what) {
  char m[256];
  snprintf(m, sizeof m, fmt, what);
  if (p->err->code) return p->err->code;
  return pv_fail(p->err, PAGEDVK_ERR_FORMAT, "line %u: %s", cur(p)->line, m);
}

static bool is_op(const jtok *t, const char *op) { return t->t == JT_OP && strcmp(t->op, op) == 0; }
static bool is_name(const jtok *t, const char *name) { return t->t == JT_NAME && strcmp(t->s, name) == 0; }

static bool accept_op(ps *p, const char *op) {
  if (!is_op(cur(p), op)) return false;
  p->i++;
  return true;
}

static bool accept_name(ps *p, const char *name) {
  if (!is_name(cur(p), name)) return false;
  p->i++;
  return true;
}

static int expect_op(ps *p, const char *op) {
  if (accept_op(p, op)) return PAGEDVK_OK;
  return fail(p, "expected '%s'", op);
}

static const char *tok_text(const jtok *t) {
  switch (t->t) {
  case JT_NAME: return t->s;
  case JT_OP: return t->op;
  case JT_STRING: return "a string";
  case JT_INT:
  case JT_FLOAT: return "a number";
  case JT_BLOCK_END: return "%}";
  case JT_VAR_END: return "}}";
  case JT_EOF: return "the end of the template";
  default: return "text";
  }
}

static jnode *node(ps *p, jn_kind k) {
  jnode *n = jx_alloc(p->x, sizeof *n);
  if (!n) return NULL;
  memset(n, 0, sizeof *n);
  n->k = (uint8_t)k;
  n->line = cur(p)->line;
  return n;
}

/* A growable node list in the arena. */
typedef struct nlist {
  jnode **v;
  uint32_t n, cap;
} nlist;

static int nl_push(ps *p, nlist *l, jnode *e) {
  if (l->n == l->cap) {
    uint32_t nc = l->cap ? l->cap * 2 : 4;
    jnode **nv = jx_alloc(p->x, nc * sizeof *nv);
    if (!nv) return p->err->code;
    if (l->n) memcpy(nv, l->v, l->n * sizeof *nv);
    l->v = nv;
    l->cap = nc;
  }
  l->v[l->n++] = e;
  return PAGEDVK_OK;
}

typedef struct slist {
  const char **v;
  uint32_t n, cap;
} slist;

static int sl_push(ps *p, slist *l, const char *s) {
  if (l->n == l->cap) {
    uint32_t nc = l->cap ? l->cap * 2 : 4;
    const char **nv = jx_alloc(p->x, nc * sizeof *nv);
    if (!nv) return p->err->code;
    if (l->n) memcpy(nv, l->v, l->n * sizeof *nv);
    l->v = nv;
    l->cap = nc;
  }
  l->v[l->n++] = s;
  return PAGEDVK_OK;
}

static int enter(ps *p) {
  if (++p->depth > JINJA_MAX_NEST) return fail(p, "template nested too deeply (more than %s levels)", "256");
  return PAGEDVK_OK;
}

static int expr(ps *p, jnode **out);
static int or_expr(ps *p, jnode **out);
static int unary(ps *p, jnode **out, bool with_filter);

/* ---- call arguments: (a, b, k=v) ---- */

static int call_args(ps *p, jnode *n) {
  nlist args = {0}, kwv = {0};
  slist kwn = {0};
  int rc = expect_op(p, "(");
  while (!rc && !accept_op(p, ")")) {
    if (args.n + kwv.n && (rc = expect_op(p, ","))) break;
    if (accept_op(p, ")")) break;
    jnode *e = NULL;
    if (cur(p)->t == JT_NAME && is_op(peek(p, 1), "=")) {
      const char *name = cur(p)->s;
      p->i += 2;
      rc = expr(p, &e);
      if (!rc) rc = sl_push(p, &kwn, name);
      if (!rc) rc = nl_push(p, &kwv, e);
    } else {
      if (kwv.n) return fail(p, "positional argument after keyword argument%s", "");
      rc = expr(p, &e);
      if (!rc) rc = nl_push(p, &args, e);
    }
  }
  n->v = args.v;
  n->nv = args.n;
  n->w = kwv.v;
  n->nw = kwv.n;
  n->names = kwn.v;
  n->nn = kwn.n;
  return rc;
}

/* ---- primaries ---- */

static int literal(ps *p, jnode **out, jv v) {
  jnode *n = node(p, JN_LIT);
  if (!n) return p->err->code;
  n->lit = v;
  p->i++;
  *out = n;
  return PAGEDVK_OK;
}

static int seq_literal(ps *p, jnode **out, const char *close, jn_kind kind) {
  jnode *n = node(p, kind);
  nlist items = {0}, vals = {0};
  if (!n) return p->err->code;
  int rc = PAGEDVK_OK;
  while (!rc && !accept_op(p, close)) {
    if (items.n && (rc = expect_op(p, ","))) break;
    if (accept_op(p, close)) break;
    jnode *e = NULL;
    rc = expr(p, &e);
    if (!rc) rc = nl_push(p, &items, e);
    if (!rc && kind == JN_DICT) {
      rc = expect_op(p, ":");
      if (!rc) rc = expr(p, &e);
      if (!rc) rc = nl_push(p, &vals, e);
    }
  }
  n->v = items.v;
  n->nv = items.n;
  n->w = vals.v;
  n->nw = vals.n;
  *out = n;
  return rc;
}

/* ( expr ) or a tuple ( a, b ) or () */
static int paren(ps *p, jnode **out) {
  p->i++;
  if (accept_op(p, ")")) {
    jnode *n = node(p, JN_TUPLE);
    *out = n;
    return n ? PAGEDVK_OK : p->err->code;
  }
  jnode *first = NULL;
  int rc = expr(p, &first);
  if (rc) return rc;
  if (accept_op(p, ")")) {
    *out = first;
    return PAGEDVK_OK;
  }
  jnode *n = node(p, JN_TUPLE);
  nlist items = {0};
  if (!n) return p->err->code;
  rc = nl_push(p, &items, first);
  while (!rc && !accept_op(p, ")")) {
    if ((rc = expect_op(p, ","))) break;
    if (accept_op(p, ")")) break;
    jnode *e = NULL;
    rc = expr(p, &e);
    if (!rc) rc = nl_push(p, &items, e);
  }
  n->v = items.v;
  n->nv = items.n;
  *out = n;
  return rc;
}

static int primary(ps *p, jnode **out) {
  const jtok *t = cur(p);
  switch (t->t) {
  case JT_INT: return literal(p, out, jv_int(t->i));
  case JT_FLOAT: return literal(p, out, jv_float(t->f));
  case JT_STRING: {
    /* adjacent literals join: 'a' 'b' */
    if (peek(p, 1)->t != JT_STRING) return literal(p, out, jv_strref(t->s, t->n));
    jsb b;
    jsb_init(&b, p->x, SIZE_MAX);
    int rc = PAGEDVK_OK;
    while (!rc && cur(p)->t == JT_STRING) {
      rc = jsb_put(&b, cur(p)->s, cur(p)->n);
      p->i++;
    }
    jv v;
    if (!rc) rc = jsb_to_str(&b, &v);
    jsb_free(&b);
    if (rc) return rc;
    p->i--;
    return literal(p, out, v);
  }
  case JT_NAME: {
    const char *s = t->s;
    if (!strcmp(s, "true") || !strcmp(s, "True")) return literal(p, out, jv_bool(true));
    if (!strcmp(s, "false") || !strcmp(s, "False")) return literal(p, out, jv_bool(false));
    if (!strcmp(s, "none") || !strcmp(s, "None")) return literal(p, out, jv_none());
    jnode *n = node(p, JN_NAME);
    if (!n) return p->err->code;
    n->lit = jv_strref(t->s, t->n);
    p->i++;
    *out = n;
    return PAGEDVK_OK;
  }
  case JT_OP:
    if (is_op(t, "(")) return paren(p, out);
    if (is_op(t, "[")) {
      p->i++;
      return seq_literal(p, out, "]", JN_LIST);
    }
    if (is_op(t, "{")) {
      p->i++;
      return seq_literal(p, out, "}", JN_DICT);
    }
    return fail(p, "unexpected '%s'", t->op);
  default: return fail(p, "unexpected %s", tok_text(t));
  }
}

/* [a], [a:b:c] after the object */
static int subscript(ps *p, jnode *obj, jnode **out) {
  jnode *parts[3] = {NULL, NULL, NULL};
  int k = 0, rc = PAGEDVK_OK;
  bool slice = false;
  for (;;) {
    if (is_op(cur(p), ":")) {
      if (++k > 2) return fail(p, "bad slice%s", "");
      slice = true;
      p->i++;
      continue;
    }
    if (is_op(cur(p), "]")) break;
    if (parts[k]) return fail(p, "expected ']'%s", "");
    if ((rc = expr(p, &parts[k]))) return rc;
  }
  p->i++;
  jnode *n = node(p, slice ? JN_SLICE : JN_ITEM);
  if (!n) return p->err->code;
  n->a = obj;
  if (slice) {
    n->v = jx_alloc(p->x, 3 * sizeof *n->v);
    if (!n->v) return p->err->code;
    memcpy(n->v, parts, sizeof parts);
    n->nv = 3;
  } else {
    if (!parts[0]) return fail(p, "expected an index%s", "");
    n->b = parts[0];
  }
  *out = n;
  return PAGEDVK_OK;
}

static int postfix(ps *p, jnode **e) {
  for (;;) {
    int rc = PAGEDVK_OK;
    if (accept_op(p, ".")) {
      const jtok *t = cur(p);
      jnode *n;
      if (t->t == JT_NAME) {
        n = node(p, JN_ATTR);
        if (!n) return p->err->code;
        n->lit = jv_strref(t->s, t->n);
      } else if (t->t == JT_INT) {
        n = node(p, JN_ITEM);
        jnode *k = node(p, JN_LIT);
        if (!n || !k) return p->err->code;
        k->lit = jv_int(t->i);
        n->b = k;
      } else {
        return fail(p, "expected a name after '.', got %s", tok_text(t));
      }
      p->i++;
      n->a = *e;
      *e = n;
    } else if (is_op(cur(p), "[")) {
      p->i++;
      rc = subscript(p, *e, e);
    } else if (is_op(cur(p), "(")) {
      jnode *n = node(p, JN_CALL);
      if (!n) return p->err->code;
      n->a = *e;
      rc = call_args(p, n);
      *e = n;
    } else {
      return PAGEDVK_OK;
    }
    if (rc) return rc;
  }
}

/* | name(args) — applied to `in` (NULL for block filters) */
static int filter(ps *p, jnode *in, jnode **out) {
  const jtok *t = cur(p);
  if (t->t != JT_NAME) return fail(p, "expected a filter name, got %s", tok_text(t));
  jnode *n = node(p, JN_FILTER);
  if (!n) return p->err->code;
  n->lit = jv_strref(t->s, t->n);
  p->i++;
  while (accept_op(p, ".")) { /* dotted filter names are not supported: keep the last part */
    if (cur(p)->t != JT_NAME) return fail(p, "expected a filter name%s", "");
    n->lit = jv_strref(cur(p)->s, cur(p)->n);
    p->i++;
  }
  n->a = in;
  *out = n;
  if (is_op(cur(p), "(")) return call_args(p, n);
  return PAGEDVK_OK;
}

static int test(ps *p, jnode *in, jnode **out) {
  jnode *n = node(p, JN_TEST);
  if (!n) return p->err->code;
  n->op = accept_name(p, "not");
  const jtok *t = cur(p);
  if (t->t != JT_NAME) return fail(p, "expected a test name, got %s", tok_text(t));
  n->lit = jv_strref(t->s, t->n);
  p->i++;
  n->a = in;
  *out = n;
  t = cur(p);
  if (is_op(t, "(")) return call_args(p, n);
  /* As Jinja: a following name (other than else/or/and), literal, list or dict is the test's one
   * argument (so `x is defined if c else y` is a syntax error there too). */
  bool arg = t->t == JT_STRING || t->t == JT_INT || t->t == JT_FLOAT || is_op(t, "[") || is_op(t, "{") ||
             (t->t == JT_NAME && !is_name(t, "else") && !is_name(t, "or") && !is_name(t, "and"));
  if (!arg) return PAGEDVK_OK;
  if (is_name(t, "is")) return fail(p, "You cannot chain multiple tests with is%s", "");
  jnode *a = NULL;
  int rc = primary(p, &a);
  if (!rc) rc = postfix(p, &a);
  if (rc) return rc;
  n->v = jx_alloc(p->x, sizeof *n->v);
  if (!n->v) return p->err->code;
  n->v[0] = a;
  n->nv = 1;
  return PAGEDVK_OK;
}

static int filter_chain(ps *p, jnode **e) {
  for (;;) {
    int rc;
    if (accept_op(p, "|")) rc = filter(p, *e, e);
    else if (accept_name(p, "is")) rc = test(p, *e, e);
    else if (is_op(cur(p), "(")) {
      jnode *n = node(p, JN_CALL);
      if (!n) return p->err->code;
      n->a = *e;
      rc = call_args(p, n);
      *e = n;
    } else return PAGEDVK_OK;
    if (rc) return rc;
  }
}

static int unary(ps *p, jnode **out, bool with_filter) {
  int rc = enter(p);
  if (rc) return rc;
  jn_kind k = JN_LIT;
  if (accept_op(p, "-")) k = JN_NEG;
  else if (accept_op(p, "+")) k = JN_POS;
  if (k != JN_LIT) {
    jnode *n = node(p, k);
    if (!n) return p->err->code;
    rc = unary(p, &n->a, false);
    *out = n;
  } else {
    rc = primary(p, out);
    if (!rc) rc = postfix(p, out);
  }
  if (!rc && with_filter) rc = filter_chain(p, out);
  p->depth--;
  return rc;
}

static jnode *bin(ps *p, int op, jnode *a, jnode *b) {
  jnode *n = node(p, JN_BIN);
  if (!n) return NULL;
  n->op = (uint8_t)op;
  n->a = a;
  n->b = b;
  return n;
}

typedef int (*level_fn)(ps *p, jnode **out);

typedef struct opmap {
  const char *op;
  int code;
} opmap;

/* left-associative binary level: operand (op operand)* */
static int binary_level(ps *p, jnode **out, level_fn next, const opmap *ops, size_t nops) {
  int rc = enter(p);
  if (!rc) rc = next(p, out);
  while (!rc) {
    int code = 0;
    for (size_t k = 0; k < nops && !code; k++)
      if (is_op(cur(p), ops[k].op)) code = ops[k].code;
    if (!code) break;
    uint32_t line = cur(p)->line;
    p->i++;
    jnode *r = NULL;
    rc = next(p, &r);
    if (!rc) {
      *out = bin(p, code, *out, r);
      if (!*out) rc = p->err->code;
      else (*out)->line = line;
    }
  }
  p->depth--;
  return rc;
}

static int unary_f(ps *p, jnode **out) { return unary(p, out, true); }
static int pow_expr(ps *p, jnode **out) {
  static const opmap ops[] = {{"**", JOP_POW}};
  return binary_level(p, out, unary_f, ops, 1);
}
static int mul_expr(ps *p, jnode **out) {
  static const opmap ops[] = {{"*", JOP_MUL}, {"/", JOP_DIV}, {"//", JOP_FDIV}, {"%", JOP_MOD}};
  return binary_level(p, out, pow_expr, ops, 4);
}
static int concat_expr(ps *p, jnode **out) {
  static const opmap ops[] = {{"~", JOP_CONCAT}};
  return binary_level(p, out, mul_expr, ops, 1);
}
static int add_expr(ps *p, jnode **out) {
  static const opmap ops[] = {{"+", JOP_ADD}, {"-", JOP_SUB}};
  return binary_level(p, out, concat_expr, ops, 2);
}

static int compare(ps *p, jnode **out) {
  static const opmap ops[] = {{"==", JOP_EQ}, {"!=", JOP_NE}, {"<", JOP_LT},
                              {"<=", JOP_LE}, {">", JOP_GT},  {">=", JOP_GE}};
  int rc = add_expr(p, out);
  jnode *prev = *out, *chain = NULL;
  while (!rc) {
    int code = 0;
    for (size_t k = 0; k < PV_ARRAY_LEN(ops) && !code; k++)
      if (is_op(cur(p), ops[k].op)) code = ops[k].code;
    if (code) p->i++;
    else if (accept_name(p, "in")) code = JOP_IN;
    else if (is_name(cur(p), "not") && is_name(peek(p, 1), "in")) {
      p->i += 2;
      code = JOP_NOTIN;
    } else break;
    jnode *r = NULL;
    rc = add_expr(p, &r);
    if (rc) break;
    jnode *c = bin(p, code, prev, r);
    if (!c) return p->err->code;
    if (!chain) {
      chain = c;
    } else { /* a < b < c: (a < b) and (b < c) */
      jnode *and = node(p, JN_AND);
      if (!and) return p->err->code;
      and->a = chain;
      and->b = c;
      chain = and;
    }
    prev = r;
  }
  if (chain) *out = chain;
  return rc;
}

static int not_expr(ps *p, jnode **out) {
  if (is_name(cur(p), "not") && !is_name(peek(p, 1), "in")) {
    p->i++;
    int rc = enter(p);
    jnode *n = node(p, JN_NOT);
    if (!rc && !n) rc = p->err->code;
    if (!rc) rc = not_expr(p, &n->a);
    *out = n;
    p->depth--;
    return rc;
  }
  return compare(p, out);
}

static int logic_level(ps *p, jnode **out, level_fn next, const char *word, jn_kind kind) {
  int rc = next(p, out);
  while (!rc && accept_name(p, word)) {
    jnode *n = node(p, kind);
    if (!n) return p->err->code;
    n->a = *out;
    rc = next(p, &n->b);
    *out = n;
  }
  return rc;
}

static int and_expr(ps *p, jnode **out) { return logic_level(p, out, not_expr, "and", JN_AND); }
static int or_expr(ps *p, jnode **out) { return logic_level(p, out, and_expr, "or", JN_OR); }

/* the full expression: a if cond else b */
static int expr(ps *p, jnode **out) {
  int rc = enter(p);
  if (!rc) rc = or_expr(p, out);
  while (!rc && accept_name(p, "if")) {
    jnode *n = node(p, JN_COND);
    if (!n) return p->err->code;
    n->a = *out;
    rc = or_expr(p, &n->b);
    if (!rc && accept_name(p, "else")) rc = expr(p, &n->c);
    *out = n;
  }
  p->depth--;
  return rc;
}

/* expr or an implicit tuple `a, b` (in output, set values and for iterables) */
static int tuple_expr(ps *p, jnode **out, bool condexpr) {
  jnode *first = NULL;
  int rc = condexpr ? expr(p, &first) : or_expr(p, &first);
  if (rc || !is_op(cur(p), ",")) {
    *out = first;
    return rc;
  }
  jnode *n = node(p, JN_TUPLE);
  nlist items = {0};
  if (!n) return p->err->code;
  rc = nl_push(p, &items, first);
  while (!rc && accept_op(p, ",")) {
    const jtok *t = cur(p);
    if (t->t == JT_BLOCK_END || t->t == JT_VAR_END || is_name(t, "if") || is_op(t, ")")) break;
    jnode *e = NULL;
    rc = condexpr ? expr(p, &e) : or_expr(p, &e);
    if (!rc) rc = nl_push(p, &items, e);
  }
  n->v = items.v;
  n->nv = items.n;
  *out = n;
  return rc;
}

/* ---- statements ---- */

static int body(ps *p, nlist *out, const char *const *ends, const char **which);

static int expect_block_end(ps *p) {
  if (cur(p)->t == JT_BLOCK_END) {
    p->i++;
    return PAGEDVK_OK;
  }
  return fail(p, "expected '%%}', got %s", tok_text(cur(p)));
}

static int targets(ps *p, slist *names) {
  int rc = PAGEDVK_OK;
  bool paren = accept_op(p, "(");
  do {
    if (cur(p)->t != JT_NAME) return fail(p, "expected a variable name, got %s", tok_text(cur(p)));
    rc = sl_push(p, names, cur(p)->s);
    p->i++;
  } while (!rc && accept_op(p, ","));
  if (!rc && paren) rc = expect_op(p, ")");
  return rc;
}

static int stmt_if(ps *p, jnode **out) {
  jnode *n = node(p, JN_IF);
  if (!n) return p->err->code;
  *out = n;
  int rc = tuple_expr(p, &n->a, false); /* as Jinja: no inline if in the condition itself */
  if (!rc) rc = expect_block_end(p);
  static const char *const ends[] = {"elif", "else", "endif", NULL};
  const char *which = NULL;
  nlist b = {0};
  if (!rc) rc = body(p, &b, ends, &which);
  n->v = b.v;
  n->nv = b.n;
  if (rc) return rc;
  if (!strcmp(which, "elif")) {
    jnode *e = NULL;
    rc = stmt_if(p, &e);
    if (rc) return rc;
    n->w = jx_alloc(p->x, sizeof *n->w);
    if (!n->w) return p->err->code;
    n->w[0] = e;
    n->nw = 1;
    return PAGEDVK_OK; /* the nested if consumed the endif */
  }
  if (!strcmp(which, "else")) {
    static const char *const ends2[] = {"endif", NULL};
    nlist e = {0};
    rc = expect_block_end(p);
    if (!rc) rc = body(p, &e, ends2, &which);
    n->w = e.v;
    n->nw = e.n;
  }
  if (!rc) rc = expect_block_end(p);
  return rc;
}

static int stmt_for(ps *p, jnode **out) {
  jnode *n = node(p, JN_FOR);
  if (!n) return p->err->code;
  *out = n;
  slist names = {0};
  int rc = targets(p, &names);
  n->names = names.v;
  n->nn = names.n;
  if (!rc && !accept_name(p, "in")) rc = fail(p, "expected 'in' in a for, got %s", tok_text(cur(p)));
  if (!rc) rc = tuple_expr(p, &n->a, false);
  if (!rc && accept_name(p, "if")) rc = expr(p, &n->b);
  if (!rc && accept_name(p, "recursive")) rc = fail(p, "recursive loops are not supported%s", "");
  if (!rc) rc = expect_block_end(p);
  static const char *const ends[] = {"else", "endfor", NULL};
  const char *which = NULL;
  nlist b = {0}, e = {0};
  if (!rc) rc = body(p, &b, ends, &which);
  if (!rc && !strcmp(which, "else")) {
    static const char *const ends2[] = {"endfor", NULL};
    rc = expect_block_end(p);
    if (!rc) rc = body(p, &e, ends2, &which);
  }
  if (!rc) rc = expect_block_end(p);
  n->v = b.v;
  n->nv = b.n;
  n->w = e.v;
  n->nw = e.n;
  return rc;
}

static int filters_until_end(ps *p, jnode *n) {
  nlist f = {0};
  int rc = PAGEDVK_OK;
  while (!rc && accept_op(p, "|")) {
    jnode *e = NULL;
    rc = filter(p, NULL, &e);
    if (!rc) rc = nl_push(p, &f, e);
  }
  n->w = f.v;
  n->nw = f.n;
  return rc;
}

static int stmt_set(ps *p, jnode **out) {
  jnode *n = node(p, JN_SET);
  if (!n) return p->err->code;
  *out = n;
  /* ns.attr = ... */
  if (cur(p)->t == JT_NAME && is_op(peek(p, 1), ".") && peek(p, 2)->t == JT_NAME) {
    jnode *ns = node(p, JN_NAME);
    if (!ns) return p->err->code;
    ns->lit = jv_strref(cur(p)->s, cur(p)->n);
    n->c = ns;
    n->lit = jv_strref(peek(p, 2)->s, peek(p, 2)->n);
    p->i += 3;
    int rc = expect_op(p, "=");
    if (!rc) rc = tuple_expr(p, &n->a, true);
    if (!rc) rc = expect_block_end(p);
    return rc;
  }
  slist names = {0};
  int rc = targets(p, &names);
  n->names = names.v;
  n->nn = names.n;
  if (rc) return rc;
  if (accept_op(p, "=")) {
    rc = tuple_expr(p, &n->a, true);
    if (!rc) rc = expect_block_end(p);
    return rc;
  }
  if (names.n != 1) return fail(p, "a block set takes one name%s", "");
  n->k = JN_SETBLOCK;
  rc = filters_until_end(p, n);
  if (!rc) rc = expect_block_end(p);
  static const char *const ends[] = {"endset", NULL};
  const char *which;
  nlist b = {0};
  if (!rc) rc = body(p, &b, ends, &which);
  if (!rc) rc = expect_block_end(p);
  n->v = b.v;
  n->nv = b.n;
  return rc;
}

/* Which of varargs / kwargs a subtree reads (Jinja lets a macro take extra arguments only then). */
static int reads_extra(const jnode *n, int depth) {
  if (!n || depth > JINJA_MAX_NEST * 2) return 0;
  int r = 0;
  if (n->k == JN_NAME && !strcmp(n->lit.s, "varargs")) r |= JN_MACRO_VARARGS;
  if (n->k == JN_NAME && !strcmp(n->lit.s, "kwargs")) r |= JN_MACRO_KWARGS;
  if (n->k == JN_MACRO) return 0; /* a nested macro's own */
  r |= reads_extra(n->a, depth + 1) | reads_extra(n->b, depth + 1) | reads_extra(n->c, depth + 1);
  for (uint32_t i = 0; i < n->nv; i++) r |= reads_extra(n->v[i], depth + 1);
  for (uint32_t i = 0; i < n->nw; i++) r |= reads_extra(n->w[i], depth + 1);
  return r;
}

static int stmt_macro(ps *p, jnode **out) {
  jnode *n = node(p, JN_MACRO);
  if (!n) return p->err->code;
  *out = n;
  if (cur(p)->t != JT_NAME) return fail(p, "expected a macro name, got %s", tok_text(cur(p)));
  n->lit = jv_strref(cur(p)->s, cur(p)->n);
  p->i++;
  slist params = {0};
  nlist defs = {0};
  int rc = expect_op(p, "(");
  while (!rc && !accept_op(p, ")")) {
    if (params.n && (rc = expect_op(p, ","))) break;
    if (accept_op(p, ")")) break;
    if (cur(p)->t != JT_NAME) return fail(p, "expected a parameter name, got %s", tok_text(cur(p)));
    rc = sl_push(p, &params, cur(p)->s);
    p->i++;
    jnode *d = NULL;
    if (!rc && accept_op(p, "=")) rc = expr(p, &d);
    if (!rc) rc = nl_push(p, &defs, d);
  }
  n->names = params.v;
  n->nn = params.n;
  n->w = defs.v;
  n->nw = defs.n;
  if (!rc) rc = expect_block_end(p);
  static const char *const ends[] = {"endmacro", NULL};
  const char *which;
  nlist b = {0};
  if (!rc) rc = body(p, &b, ends, &which);
  if (!rc && cur(p)->t == JT_NAME) p->i++; /* {% endmacro name %} */
  if (!rc) rc = expect_block_end(p);
  n->v = b.v;
  n->nv = b.n;
  for (uint32_t i = 0; !rc && i < n->nv; i++) n->op |= (uint8_t)reads_extra(n->v[i], 0);
  return rc;
}

static int stmt_filter(ps *p, jnode **out) {
  jnode *n = node(p, JN_FILTERBLOCK);
  if (!n) return p->err->code;
  *out = n;
  p->i--; /* filters_until_end wants the '|' form: the first filter has none */
  nlist f = {0};
  int rc = PAGEDVK_OK;
  p->i++;
  do {
    jnode *e = NULL;
    rc = filter(p, NULL, &e);
    if (!rc) rc = nl_push(p, &f, e);
  } while (!rc && accept_op(p, "|"));
  n->w = f.v;
  n->nw = f.n;
  if (!rc) rc = expect_block_end(p);
  static const char *const ends[] = {"endfilter", NULL};
  const char *which;
  nlist b = {0};
  if (!rc) rc = body(p, &b, ends, &which);
  if (!rc) rc = expect_block_end(p);
  n->v = b.v;
  n->nv = b.n;
  return rc;
}

static int statement(ps *p, jnode **out) {
  const jtok *t = cur(p);
  if (t->t != JT_NAME) return fail(p, "expected a statement name, got %s", tok_text(t));
  p->i++;
  if (!strcmp(t->s, "if")) return stmt_if(p, out);
  if (!strcmp(t->s, "for")) return stmt_for(p, out);
  if (!strcmp(t->s, "set")) return stmt_set(p, out);
  if (!strcmp(t->s, "macro")) return stmt_macro(p, out);
  if (!strcmp(t->s, "filter")) return stmt_filter(p, out);
  if (!strcmp(t->s, "break") || !strcmp(t->s, "continue")) {
    jnode *n = node(p, t->s[0] == 'b' ? JN_BREAK : JN_CONTINUE);
    if (!n) return p->err->code;
    *out = n;
    return expect_block_end(p);
  }
  p->i--;
  return fail(p, "Encountered unknown tag '%s'", t->s);
}

/* Statements up to one of `ends` (a block tag naming it, left unconsumed after its name; *which
 * gets the name) or, when ends is NULL, to the end of the template. */
static int body(ps *p, nlist *out, const char *const *ends, const char **which) {
  int rc = enter(p);
  while (!rc) {
    const jtok *t = cur(p);
    jnode *n = NULL;
    if (t->t == JT_EOF) {
      if (ends) rc = fail(p, "unexpected end of template: expected '%s'", ends[ends[1] ? 1 : 0]);
      break;
    }
    if (t->t == JT_TEXT) {
      n = node(p, JN_TEXT);
      if (!n) return p->err->code;
      n->lit = jv_strref(t->s, t->n);
      p->i++;
    } else if (t->t == JT_VAR_BEGIN) {
      p->i++;
      n = node(p, JN_OUT);
      if (!n) return p->err->code;
      rc = tuple_expr(p, &n->a, true);
      if (!rc && cur(p)->t != JT_VAR_END) rc = fail(p, "expected '}}', got %s", tok_text(cur(p)));
      p->i++;
    } else if (t->t == JT_BLOCK_BEGIN) {
      const jtok *name = peek(p, 1);
      bool end = false;
      for (size_t k = 0; ends && ends[k] && !end; k++)
        if (is_name(name, ends[k])) {
          *which = ends[k];
          end = true;
        }
      if (end) {
        p->i += 2;
        break;
      }
      p->i++;
      rc = statement(p, &n);
    } else {
      rc = fail(p, "unexpected %s", tok_text(t));
    }
    if (!rc) rc = nl_push(p, out, n);
  }
  p->depth--;
  return rc;
}

int jinja_parse_tokens(jx *arena, const jtok *toks, size_t n, jnode **root, pv_error *err) {
  ps p = {.x = arena, .t = toks, .n = n, .err = err};
  jnode *r = node(&p, JN_BODY);
  if (!r) return err->code;
  nlist b = {0};
  int rc = body(&p, &b, NULL, NULL);
  r->v = b.v;
  r->nv = b.n;
  *root = r;
  return rc;
}
