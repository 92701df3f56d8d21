/*
 * jinja_filters.c — Jinja 3.1's filters and tests and the globals of transformers' environment
 * (range with the sandbox's 100000 cap, namespace, dict, raise_exception, strftime_now), on
 * values only. Sorting is stable and, as Jinja's, case-insensitive for strings unless asked;
 * `attribute=` paths are dotted and numeric parts index lists. tojson is transformers' filter:
 * json.dumps with ensure_ascii=False unless the template says otherwise.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text/jinja/jinja_builtins.h"

static jv arg(const jargs *a, size_t i, const char *kw) {
  if (i < a->n) return a->v[i];
  for (size_t k = 0; kw && k < a->nk; k++)
    if (!strcmp(a->kn[k], kw)) return a->kv[k];
  return jv_undef("", 0);
}

static bool given(jv v) { return v.t != JV_UNDEF; }
static bool flag(jv v) { return given(v) && jv_truthy(v); }

static int fail(jx *x, const char *fmt, const char *what) {
  return pv_fail(x->err, PAGEDVK_ERR_INVALID, fmt, what);
}

/* item[attr] for a dotted path ("a.b.0"). */
static int attr_path(jx *x, jv item, jv path, jv *out) {
  if (path.t == JV_INT) return jb_getitem(x, item, path, out);
  if (path.t != JV_STR) return fail(x, "attribute must be a string%s", "");
  *out = item;
  for (size_t i = 0; i <= path.n;) {
    size_t e = i;
    while (e < path.n && path.s[e] != '.') e++;
    jv key = jv_strref(path.s + i, e - i);
    bool digits = e > i;
    for (size_t k = i; k < e; k++) digits = digits && path.s[k] >= '0' && path.s[k] <= '9';
    if (digits) key = jv_int(strtoll(path.s + i, NULL, 10));
    int rc = jb_getitem(x, *out, key, out);
    if (rc) return rc;
    i = e + 1;
  }
  return PAGEDVK_OK;
}

static int to_list(jx *x, jv v, jv *out) {
  int rc = jb_iterate(x, v, out);
  if (!rc && v.t == JV_LIST) { /* a copy: callers reorder it */
    jv c;
    rc = jv_list_new(x, out->l->n, &c);
    if (!rc && c.l->n) memcpy(c.l->v, out->l->v, c.l->n * sizeof(jv));
    *out = c;
  }
  return rc;
}

/* ---- sorting (stable merge sort on keys) ---- */

typedef struct skey {
  jv key, item;
} skey;

static int key_less(jx *x, const skey *a, const skey *b, bool rev, bool *lt) {
  return rev ? jv_less(x, b->key, a->key, lt) : jv_less(x, a->key, b->key, lt);
}

static int merge_sort(jx *x, skey *v, skey *tmp, size_t n, bool rev) {
  if (n < 2) return PAGEDVK_OK;
  size_t h = n / 2;
  int rc = merge_sort(x, v, tmp, h, rev);
  if (!rc) rc = merge_sort(x, v + h, tmp, n - h, rev);
  if (!rc) rc = jx_charge(x, n);
  size_t i = 0, j = h, k = 0;
  while (!rc && i < h && j < n) {
    bool lt = false;
    rc = key_less(x, &v[j], &v[i], rev, &lt);
    tmp[k++] = lt ? v[j++] : v[i++];
  }
  if (rc) return rc;
  while (i < h) tmp[k++] = v[i++];
  while (j < n) tmp[k++] = v[j++];
  memcpy(v, tmp, n * sizeof *v);
  return PAGEDVK_OK;
}

static int sort_key(jx *x, jv item, jv attr, bool case_sensitive, jv *key) {
  int rc = given(attr) && attr.t != JV_NONE ? attr_path(x, item, attr, key) : (*key = item, 0);
  if (!rc && !case_sensitive && key->t == JV_STR) rc = jb_case(x, *key, 'l', key);
  return rc;
}

static int sorted(jx *x, jv list, jv attr, bool cs, bool rev, jv *out) {
  size_t n = list.l->n;
  skey *v = jx_alloc(x, (n + 1) * sizeof *v), *tmp = jx_alloc(x, (n + 1) * sizeof *tmp);
  if (!v || !tmp) return x->err->code;
  int rc = PAGEDVK_OK;
  for (size_t i = 0; !rc && i < n; i++) {
    v[i].item = list.l->v[i];
    rc = sort_key(x, v[i].item, attr, cs, &v[i].key);
  }
  if (!rc) rc = merge_sort(x, v, tmp, n, rev);
  if (!rc) rc = jv_list_new(x, n, out);
  for (size_t i = 0; !rc && i < n; i++) out->l->v[i] = v[i].item;
  return rc;
}

static int f_sort(jx *x, jv in, const jargs *a, jv *out) {
  jv l;
  int rc = to_list(x, in, &l);
  if (!rc) rc = sorted(x, l, arg(a, 2, "attribute"), flag(arg(a, 1, "case_sensitive")), flag(arg(a, 0, "reverse")), out);
  return rc;
}

static int f_dictsort(jx *x, jv in, const jargs *a, jv *out) {
  if (in.t != JV_DICT) return fail(x, "dictsort: expected a mapping, got %s", jv_type_name(in));
  jv by = arg(a, 1, "by");
  bool by_value = by.t == JV_STR && by.n == 5 && !memcmp(by.s, "value", 5);
  jv pairs;
  int rc = jv_list_new(x, in.d->n, &pairs);
  for (size_t i = 0; !rc && i < in.d->n; i++) {
    jv p;
    rc = jv_list_new(x, 2, &p);
    if (rc) break;
    p.tuple = 1;
    p.l->v[0] = in.d->k[i];
    p.l->v[1] = in.d->v[i];
    pairs.l->v[i] = p;
  }
  if (!rc) rc = sorted(x, pairs, jv_int(by_value ? 1 : 0), flag(arg(a, 0, "case_sensitive")), flag(arg(a, 2, "reverse")), out);
  return rc;
}

/* Python's hash(): scalars, and tuples of hashable values (bounded depth). */
static bool hashable_at(jv v, int depth) {
  if (v.t == JV_DICT || v.t == JV_NS || (v.t == JV_LIST && !v.tuple) || depth > 100) return false;
  for (size_t i = 0; v.t == JV_LIST && i < v.l->n; i++)
    if (!hashable_at(v.l->v[i], depth + 1)) return false;
  return true;
}

static bool hashable(jv v) { return hashable_at(v, 0); }

static int f_unique(jx *x, jv in, const jargs *a, jv *out) {
  jv l;
  int rc = to_list(x, in, &l);
  if (rc) return rc;
  jv attr = arg(a, 1, "attribute");
  bool cs = flag(arg(a, 0, "case_sensitive"));
  jv *keys = jx_alloc(x, (l.l->n + 1) * sizeof *keys);
  if (!keys) return x->err->code;
  size_t n = 0;
  for (size_t i = 0; !rc && i < l.l->n; i++) {
    jv k;
    rc = sort_key(x, l.l->v[i], attr, cs, &k);
    if (!rc && !hashable(k)) rc = fail(x, "unhashable type: '%s'", jv_type_name(k));
    if (!rc) rc = jx_charge(x, n / 8 + 1);
    bool seen = false;
    for (size_t j = 0; !rc && j < n && !seen; j++) seen = jv_equal(keys[j], k);
    if (!rc && !seen) {
      keys[n] = k;
      l.l->v[n++] = l.l->v[i];
    }
  }
  l.l->n = n;
  *out = l;
  return rc;
}

static int f_minmax(jx *x, jv in, const jargs *a, bool max, jv *out) {
  jv l;
  int rc = to_list(x, in, &l);
  if (rc) return rc;
  jv attr = arg(a, 1, "attribute"), best = jv_undef("", 0), bestk = best;
  bool cs = flag(arg(a, 0, "case_sensitive"));
  for (size_t i = 0; !rc && i < l.l->n; i++) {
    jv k;
    bool lt = false;
    rc = sort_key(x, l.l->v[i], attr, cs, &k);
    if (!rc && best.t != JV_UNDEF) rc = max ? jv_less(x, bestk, k, &lt) : jv_less(x, k, bestk, &lt);
    if (!rc && (best.t == JV_UNDEF || lt)) {
      best = l.l->v[i];
      bestk = k;
    }
  }
  *out = best;
  return rc;
}

/* ---- select / reject / map ---- */

static int f_select(jx *x, jv in, const jargs *a, bool attr, bool keep_if, jv *out) {
  jv l;
  if (!jv_truthy(in)) return jv_list_new(x, 0, out); /* Jinja walks a false value as empty */
  int rc = to_list(x, in, &l);
  if (rc) return rc;
  size_t first = attr ? 1 : 0;
  jv path = attr ? arg(a, 0, NULL) : jv_undef("", 0);
  jv test = arg(a, first, NULL);
  jargs targs = {.v = a->n > first + 1 ? a->v + first + 1 : NULL, .n = a->n > first + 1 ? a->n - first - 1 : 0};
  size_t n = 0;
  for (size_t i = 0; !rc && i < l.l->n; i++) {
    jv v = l.l->v[i];
    bool r = false;
    if (attr) rc = attr_path(x, v, path, &v);
    if (rc) break;
    if (!given(test)) r = jv_truthy(v);
    else if (test.t != JV_STR) rc = fail(x, "select: the test name must be a string%s", "");
    else rc = jb_test(x, test.s, v, &targs, &r);
    if (!rc && r == keep_if) l.l->v[n++] = l.l->v[i];
  }
  l.l->n = n;
  *out = l;
  return rc;
}

static int f_map(jx *x, jv in, const jargs *a, jv *out) {
  jv l;
  if (!jv_truthy(in)) return jv_list_new(x, 0, out); /* Jinja walks a false value as empty */
  int rc = to_list(x, in, &l);
  if (rc) return rc;
  jv path = jv_undef("", 0), def = jv_undef("", 0);
  for (size_t k = 0; k < a->nk; k++) {
    if (!strcmp(a->kn[k], "attribute")) path = a->kv[k];
    if (!strcmp(a->kn[k], "default")) def = a->kv[k];
  }
  jv fname = arg(a, 0, NULL);
  if (!given(path) && fname.t != JV_STR) return fail(x, "map: expected a filter name or attribute=%s", "");
  jargs fargs = {.v = a->n > 1 ? a->v + 1 : NULL, .n = a->n > 1 ? a->n - 1 : 0};
  for (size_t i = 0; !rc && i < l.l->n; i++) {
    if (given(path)) {
      rc = attr_path(x, l.l->v[i], path, &l.l->v[i]);
      if (!rc && l.l->v[i].t == JV_UNDEF && given(def)) l.l->v[i] = def;
    } else {
      rc = jb_filter(x, fname.s, l.l->v[i], &fargs, &l.l->v[i]);
    }
  }
  *out = l;
  return rc;
}

/* ---- strings ---- */

static int to_str(jx *x, jv v, jv *out) {
  if (v.t == JV_STR) {
    *out = v;
    return PAGEDVK_OK;
  }
  jsb b;
  jsb_init(&b, x, x->max_mem);
  int rc = jv_print(&b, v);
  if (!rc) rc = jsb_to_str(&b, out);
  jsb_free(&b);
  return rc;
}

static int f_join(jx *x, jv in, const jargs *a, jv *out) {
  jv l, sep = arg(a, 0, "d"), attr = arg(a, 1, "attribute");
  int rc = jb_iterate(x, in, &l);
  if (rc) return rc;
  jsb b;
  jsb_init(&b, x, x->max_mem);
  for (size_t i = 0; !rc && i < l.l->n; i++) {
    jv v = l.l->v[i];
    if (i && sep.t == JV_STR) rc = jsb_put(&b, sep.s, sep.n);
    else if (i && given(sep)) rc = jv_print(&b, sep);
    if (!rc && given(attr)) rc = attr_path(x, v, attr, &v);
    if (!rc) rc = jv_print(&b, v);
  }
  if (!rc) rc = jsb_to_str(&b, out);
  jsb_free(&b);
  return rc;
}

static int f_tojson(jx *x, jv in, const jargs *a, jv *out) {
  jv indent = arg(a, 1, "indent"), ea = arg(a, 0, "ensure_ascii"), seps = arg(a, 2, "separators"),
     sk = arg(a, 3, "sort_keys");
  jv_json_opts o = {.indent = -1, .ensure_ascii = flag(ea), .sort_keys = flag(sk)};
  if (indent.t == JV_INT) o.indent = (int)(indent.i < 0 ? 0 : indent.i > 64 ? 64 : indent.i);
  char item[64], key[64];
  if (seps.t == JV_LIST && seps.l->n == 2 && seps.l->v[0].t == JV_STR && seps.l->v[1].t == JV_STR) {
    snprintf(item, sizeof item, "%.*s", (int)seps.l->v[0].n, seps.l->v[0].s);
    snprintf(key, sizeof key, "%.*s", (int)seps.l->v[1].n, seps.l->v[1].s);
    o.item_sep = item;
    o.key_sep = key;
  }
  jsb b;
  jsb_init(&b, x, x->max_mem);
  int rc = jv_tojson(&b, in, &o);
  if (!rc) rc = jsb_to_str(&b, out);
  jsb_free(&b);
  return rc;
}

static int f_indent(jx *x, jv in, const jargs *a, jv *out) {
  jv w = arg(a, 0, "width"), first = arg(a, 1, "first"), blank = arg(a, 2, "blank");
  jv pad = jv_strref("    ", 4);
  int rc = PAGEDVK_OK;
  if (w.t == JV_STR) pad = w;
  else if (w.t == JV_INT) {
    char *p = jx_alloc(x, (size_t)(w.i < 0 ? 0 : w.i > 1024 ? 1024 : w.i) + 1);
    if (!p) return x->err->code;
    size_t n = (size_t)(w.i < 0 ? 0 : w.i > 1024 ? 1024 : w.i);
    memset(p, ' ', n);
    pad = jv_strref(p, n);
  }
  if (in.t != JV_STR) return fail(x, "indent: expected a string, got %s", jv_type_name(in));
  jv s = in;
  jsb b;
  jsb_init(&b, x, x->max_mem);
  bool line_start = true, first_line = true;
  for (size_t i = 0; !rc && i <= s.n; i++) {
    if (line_start && i < s.n) {
      bool empty = s.s[i] == '\n';
      if ((!first_line || flag(first)) && (!empty || flag(blank))) rc = jsb_put(&b, pad.s, pad.n);
      line_start = false;
    }
    if (i == s.n) break;
    if (!rc) rc = jsb_putc(&b, s.s[i]);
    if (s.s[i] == '\n') {
      line_start = true;
      first_line = false;
    }
  }
  if (!rc) rc = jsb_to_str(&b, out);
  jsb_free(&b);
  return rc;
}

static int f_escape(jx *x, jv in, jv *out) {
  jv s;
  int rc = to_str(x, in, &s);
  if (rc) return rc;
  jsb b;
  jsb_init(&b, x, x->max_mem);
  for (size_t i = 0; !rc && i < s.n; i++) {
    switch (s.s[i]) {
    case '&': rc = jsb_puts(&b, "&amp;"); break;
    case '<': rc = jsb_puts(&b, "&lt;"); break;
    case '>': rc = jsb_puts(&b, "&gt;"); break;
    case '"': rc = jsb_puts(&b, "&#34;"); break;
    case '\'': rc = jsb_puts(&b, "&#39;"); break;
    default: rc = jsb_putc(&b, s.s[i]);
    }
  }
  if (!rc) rc = jsb_to_str(&b, out);
  jsb_free(&b);
  return rc;
}

/* ---- numbers ---- */

static int f_int(jx *x, jv in, const jargs *a, jv *out) {
  if (in.t == JV_UNDEF) return jb_undefined_error(x, in); /* int(Undefined) raises in Jinja */
  jv def = arg(a, 0, "default");
  *out = given(def) ? def : jv_int(0);
  if (in.t == JV_INT || in.t == JV_BOOL) *out = jv_int(in.t == JV_BOOL ? in.b : in.i);
  else if (in.t == JV_FLOAT && isfinite(in.f) && fabs(in.f) < 9.2e18) *out = jv_int((int64_t)in.f);
  else if (in.t == JV_STR && in.n && in.n < 64) {
    char tmp[64], *end;
    memcpy(tmp, in.s, in.n);
    tmp[in.n] = 0;
    long long v = strtoll(tmp, &end, 10);
    while (*end == ' ') end++;
    if (!*end) *out = jv_int(v);
    else {
      double d = strtod(tmp, &end);
      if (!*end && isfinite(d) && fabs(d) < 9.2e18) *out = jv_int((int64_t)d);
    }
  }
  (void)x;
  return PAGEDVK_OK;
}

static int f_float(jx *x, jv in, const jargs *a, jv *out) {
  if (in.t == JV_UNDEF) return jb_undefined_error(x, in);
  jv def = arg(a, 0, "default");
  *out = given(def) ? def : jv_float(0);
  if (jv_is_num(in)) *out = jv_float(jv_num(in));
  else if (in.t == JV_STR && in.n && in.n < 64) {
    char tmp[64], *end;
    memcpy(tmp, in.s, in.n);
    tmp[in.n] = 0;
    double d = strtod(tmp, &end);
    if (!*end) *out = jv_float(d);
  }
  (void)x;
  return PAGEDVK_OK;
}

static int f_round(jx *x, jv in, const jargs *a, jv *out) {
  if (!jv_is_num(in)) return fail(x, "round: expected a number, got %s", jv_type_name(in));
  jv prec = arg(a, 0, "precision"), method = arg(a, 1, "method");
  bool common = !(method.t == JV_STR && (method.n == 4 || method.n == 5));
  if (common && in.t != JV_FLOAT) { /* Python: round(int, n) stays an int */
    *out = jv_int(in.t == JV_BOOL ? in.b : in.i);
    return PAGEDVK_OK;
  }
  double p = pow(10, prec.t == JV_INT ? (double)prec.i : 0), v = jv_num(in) * p;
  if (method.t == JV_STR && method.n == 4 && !memcmp(method.s, "ceil", 4)) v = ceil(v);
  else if (method.t == JV_STR && method.n == 5 && !memcmp(method.s, "floor", 5)) v = floor(v);
  else v = nearbyint(v); /* Python rounds half to even */
  *out = jv_float(v / p);
  return PAGEDVK_OK;
}

static int f_sum(jx *x, jv in, const jargs *a, jv *out) {
  jv l, attr = arg(a, 0, "attribute"), start = arg(a, 1, "start");
  int rc = jb_iterate(x, in, &l);
  *out = given(start) ? start : jv_int(0);
  for (size_t i = 0; !rc && i < l.l->n; i++) {
    jv v = l.l->v[i];
    if (given(attr)) rc = attr_path(x, v, attr, &v);
    if (!rc) rc = jb_binop(x, 1 /* JOP_ADD */, *out, v, out);
  }
  return rc;
}

static int f_batch(jx *x, jv in, const jargs *a, jv *out) {
  jv l, size = arg(a, 0, "linecount"), fill = arg(a, 1, "fill_with");
  int rc = jb_iterate(x, in, &l);
  if (rc) return rc;
  if (size.t != JV_INT || size.i <= 0) return fail(x, "batch: the size must be a positive integer%s", "");
  size_t per = (size_t)size.i, nb = (l.l->n + per - 1) / per;
  rc = jv_list_new(x, nb, out);
  for (size_t b = 0; !rc && b < nb; b++) {
    size_t have = l.l->n - b * per < per ? l.l->n - b * per : per;
    size_t len = given(fill) ? per : have;
    jv row;
    rc = jv_list_new(x, len, &row);
    for (size_t k = 0; !rc && k < len; k++) row.l->v[k] = k < have ? l.l->v[b * per + k] : fill;
    if (!rc) out->l->v[b] = row;
  }
  return rc;
}

/* ---- the filter table ---- */

static int f_length(jx *x, jv in, jv *out) {
  switch (in.t) {
  case JV_STR: *out = jv_int((int64_t)jv_str_cplen(in.s, in.n)); return PAGEDVK_OK;
  case JV_LIST: *out = jv_int((int64_t)in.l->n); return PAGEDVK_OK;
  case JV_DICT:
  case JV_NS: *out = jv_int((int64_t)in.d->n); return PAGEDVK_OK;
  case JV_UNDEF: *out = jv_int(0); return PAGEDVK_OK;
  default: return fail(x, "object of type '%s' has no len()", jv_type_name(in));
  }
}

static int f_items(jx *x, jv in, jv *out) {
  if (in.t == JV_UNDEF) return jv_list_new(x, 0, out);
  if (in.t != JV_DICT) return fail(x, "items: expected a mapping, got %s", jv_type_name(in));
  jargs none = {0};
  return jb_call_method(x, in, "items", &none, out);
}

static int f_first_last(jx *x, jv in, bool last, jv *out) {
  jv l;
  int rc = jb_iterate(x, in, &l);
  if (rc) return rc;
  *out = l.l->n ? l.l->v[last ? l.l->n - 1 : 0] : jv_undef("", 0);
  return PAGEDVK_OK;
}

static int f_reverse(jx *x, jv in, jv *out) {
  if (in.t == JV_STR) {
    jv m1 = jv_int(-1), u = jv_undef("", 0);
    return jb_slice(x, in, u, u, m1, out);
  }
  jv l;
  int rc = to_list(x, in, &l);
  for (size_t i = 0; !rc && i < l.l->n / 2; i++) {
    jv t = l.l->v[i];
    l.l->v[i] = l.l->v[l.l->n - 1 - i];
    l.l->v[l.l->n - 1 - i] = t;
  }
  *out = l;
  return rc;
}

static int need_str(jx *x, jv *in, const char *name) {
  if (in->t == JV_STR) return PAGEDVK_OK;
  if (in->t == JV_UNDEF) {
    *in = jv_strref("", 0);
    return PAGEDVK_OK;
  }
  (void)name;
  return to_str(x, *in, in);
}

int jb_filter(jx *x, const char *name, jv in, const jargs *a, jv *out) {
  if (jx_charge(x, 1)) return x->err->code;
  const char *n = name;
  if (!strcmp(n, "length") || !strcmp(n, "count")) return f_length(x, in, out);
  if (!strcmp(n, "default") || !strcmp(n, "d")) {
    jv def = arg(a, 0, "default_value");
    bool use = in.t == JV_UNDEF || (flag(arg(a, 1, "boolean")) && !jv_truthy(in));
    *out = use ? (given(def) ? def : jv_strref("", 0)) : in;
    return PAGEDVK_OK;
  }
  if (!strcmp(n, "safe")) {
    *out = in;
    return PAGEDVK_OK;
  }
  if (!strcmp(n, "list")) return to_list(x, in, out);
  if (!strcmp(n, "string")) return to_str(x, in, out);
  if (!strcmp(n, "tojson")) return f_tojson(x, in, a, out);
  if (!strcmp(n, "trim") || !strcmp(n, "upper") || !strcmp(n, "lower")) {
    if (need_str(x, &in, n)) return x->err->code;
    if (n[0] == 't') return jb_strip(x, in, arg(a, 0, "chars"), 3, out);
    return jb_case(x, in, n[0] == 'u' ? 'u' : 'l', out);
  }
  if (!strcmp(n, "items")) return f_items(x, in, out);
  if (!strcmp(n, "join")) return f_join(x, in, a, out);
  if (!strcmp(n, "map")) return f_map(x, in, a, out);
  if (!strcmp(n, "select")) return f_select(x, in, a, false, true, out);
  if (!strcmp(n, "reject")) return f_select(x, in, a, false, false, out);
  if (!strcmp(n, "selectattr")) return f_select(x, in, a, true, true, out);
  if (!strcmp(n, "rejectattr")) return f_select(x, in, a, true, false, out);
  if (!strcmp(n, "sort")) return f_sort(x, in, a, out);
  if (!strcmp(n, "dictsort")) return f_dictsort(x, in, a, out);
  if (!strcmp(n, "unique")) return f_unique(x, in, a, out);
  if (!strcmp(n, "min") || !strcmp(n, "max")) return f_minmax(x, in, a, n[1] == 'a', out);
  if (!strcmp(n, "first") || !strcmp(n, "last")) return f_first_last(x, in, n[0] == 'l', out);
  if (!strcmp(n, "reverse")) return f_reverse(x, in, out);
  if (!strcmp(n, "int")) return f_int(x, in, a, out);
  if (!strcmp(n, "float")) return f_float(x, in, a, out);
  if (!strcmp(n, "round")) return f_round(x, in, a, out);
  if (!strcmp(n, "sum")) return f_sum(x, in, a, out);
  if (!strcmp(n, "batch")) return f_batch(x, in, a, out);
  if (!strcmp(n, "abs")) {
    if (in.t == JV_FLOAT) *out = jv_float(fabs(in.f));
    else if (in.t == JV_INT || in.t == JV_BOOL) return jb_neg(x, in, (in.t == JV_INT ? in.i : in.b) < 0, out);
    else return fail(x, "bad operand type for abs(): '%s'", jv_type_name(in));
    return PAGEDVK_OK;
  }
  if (!strcmp(n, "pprint")) {
    jsb b;
    jsb_init(&b, x, x->max_mem);
    int rc = jv_repr(&b, in);
    if (!rc) rc = jsb_to_str(&b, out);
    jsb_free(&b);
    return rc;
  }
  if (!strcmp(n, "indent")) return f_indent(x, in, a, out);
  if (!strcmp(n, "escape") || !strcmp(n, "e") || !strcmp(n, "forceescape")) return f_escape(x, in, out);
  if (need_str(x, &in, n)) return x->err->code;
  if (!strcmp(n, "capitalize")) {
    jargs none = {0};
    return jb_call_method(x, in, "capitalize", &none, out);
  }
  if (!strcmp(n, "title")) return jb_case(x, in, 'j', out);
  if (!strcmp(n, "replace")) {
    jv old = arg(a, 0, "old"), new_ = arg(a, 1, "new"), cnt = arg(a, 2, "count");
    if (old.t != JV_STR || new_.t != JV_STR) return fail(x, "replace: expected strings%s", "");
    return jb_replace(x, in, old, new_, cnt.t == JV_INT ? cnt.i : -1, out);
  }
  if (!strcmp(n, "wordcount")) { /* runs of word characters (\w: letters, digits, _; other scripts count as letters) */
    int64_t words = 0;
    bool in_word = false;
    for (size_t i = 0; i < in.n;) {
      unsigned char c = (unsigned char)in.s[i];
      size_t sp = c >= 0x80 ? jb_space_len(in.s + i, in.n - i) : 0;
      bool w = (c >= 0x80 && !sp) || c == '_' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
      if (w && !in_word) words++;
      in_word = w;
      i += sp ? sp : 1;
    }
    *out = jv_int(words);
    return PAGEDVK_OK;
  }
  if (!strcmp(n, "format")) return jb_binop(x, 6 /* JOP_MOD */, in, a->n == 1 ? a->v[0] : (jv){.t = JV_LIST, .tuple = 1, .l = &(jv_list){a->n, (jv *)a->v}}, out);
  return fail(x, "No filter named '%s'.", name);
}

/* ---- tests ---- */

int jb_test(jx *x, const char *n, jv in, const jargs *a, bool *out) {
  if (jx_charge(x, 1)) return x->err->code;
  jv a0 = arg(a, 0, NULL);
  bool r;
  if (!strcmp(n, "defined")) r = in.t != JV_UNDEF;
  else if (!strcmp(n, "undefined")) r = in.t == JV_UNDEF;
  else if (!strcmp(n, "none")) r = in.t == JV_NONE;
  else if (!strcmp(n, "string")) r = in.t == JV_STR;
  else if (!strcmp(n, "number")) r = jv_is_num(in);
  else if (!strcmp(n, "integer")) r = in.t == JV_INT;
  else if (!strcmp(n, "float")) r = in.t == JV_FLOAT;
  else if (!strcmp(n, "boolean")) r = in.t == JV_BOOL;
  else if (!strcmp(n, "true")) r = in.t == JV_BOOL && in.b;
  else if (!strcmp(n, "false")) r = in.t == JV_BOOL && !in.b;
  else if (!strcmp(n, "mapping")) r = in.t == JV_DICT;
  else if (!strcmp(n, "sequence")) r = in.t == JV_STR || in.t == JV_LIST || in.t == JV_DICT || in.t == JV_UNDEF;
  else if (!strcmp(n, "iterable")) r = in.t == JV_STR || in.t == JV_LIST || in.t == JV_DICT || in.t == JV_UNDEF;
  else if (!strcmp(n, "callable")) r = in.t == JV_MACRO || in.t == JV_FUNC || in.t == JV_BOUND || in.t == JV_UNDEF;
  else if (!strcmp(n, "odd") || !strcmp(n, "even")) { /* value % 2 == 1 / == 0, floats too */
    if (!jv_is_num(in)) return fail(x, "test %s: expected a number", n);
    if (in.t == JV_FLOAT) {
      double m = fmod(in.f, 2.0);
      if (m < 0) m += 2.0;
      r = n[0] == 'o' ? m == 1.0 : m == 0.0;
    } else {
      int64_t v = in.t == JV_INT ? in.i : in.b;
      r = (v % 2 != 0) == (n[0] == 'o');
    }
  } else if (!strcmp(n, "divisibleby")) {
    if (!jv_is_num(in) || !jv_is_num(a0) || jv_num(a0) == 0) return fail(x, "divisibleby: bad operands%s", "");
    r = fmod(jv_num(in), jv_num(a0)) == 0;
  } else if (!strcmp(n, "lower") || !strcmp(n, "upper")) {
    jargs none = {0};
    jv res;
    if (in.t != JV_STR) return fail(x, "test %s: expected a string", n);
    int rc = jb_call_method(x, in, n[0] == 'l' ? "islower" : "isupper", &none, &res);
    if (rc) return rc;
    r = res.b;
  } else if (!strcmp(n, "sameas")) {
    r = in.t == a0.t && (jv_is_num(in) || in.t == JV_NONE || in.t == JV_UNDEF ? jv_equal(in, a0) : in.p == a0.p);
  } else {
    static const char *const cmp[][3] = {{"equalto", "eq", "=="}, {"ne", "!=", ""}, {"lt", "lessthan", "<"},
                                         {"le", "<=", ""},        {"gt", "greaterthan", ">"}, {"ge", ">=", ""},
                                         {"in", "", ""}};
    static const int ops[] = {9 /* EQ */, 10 /* NE */, 11 /* LT */, 12 /* LE */, 13 /* GT */, 14 /* GE */, 15 /* IN */};
    for (size_t k = 0; k < PV_ARRAY_LEN(ops); k++)
      for (size_t j = 0; j < 3; j++)
        if (cmp[k][j][0] && !strcmp(n, cmp[k][j])) {
          jv res;
          int rc = jb_binop(x, ops[k], in, a0, &res);
          if (!rc) *out = res.b;
          return rc;
        }
    return fail(x, "No test named '%s'.", n);
  }
  *out = r;
  return PAGEDVK_OK;
}

/* ---- globals ---- */

static const char *const GLOBALS[] = {"range", "namespace", "dict", "raise_exception", "strftime_now", NULL};

bool jb_is_global(const char *name) {
  for (const char *const *g = GLOBALS; *g; g++)
    if (!strcmp(*g, name)) return true;
  return false;
}

int jb_range_args(jx *x, const jargs *a, int64_t *start, int64_t *step, int64_t *count) {
  int64_t v[3] = {0, 0, 1};
  if (a->n < 1 || a->n > 3 || a->nk) return fail(x, "range expected 1 to 3 positional arguments%s", "");
  for (size_t i = 0; i < a->n; i++) {
    if (a->v[i].t != JV_INT && a->v[i].t != JV_BOOL)
      return fail(x, "'%s' object cannot be interpreted as an integer", jv_type_name(a->v[i]));
    v[a->n == 1 ? 1 : i] = a->v[i].t == JV_BOOL ? a->v[i].b : a->v[i].i;
  }
  if (v[2] == 0) return fail(x, "range() arg 3 must not be zero%s", "");
  int64_t c = 0;
  if (v[2] > 0 && v[1] > v[0]) c = (int64_t)(((__int128)v[1] - v[0] + v[2] - 1) / v[2]);
  if (v[2] < 0 && v[1] < v[0]) c = (int64_t)(((__int128)v[0] - v[1] - v[2] - 1) / -(__int128)v[2]);
  if (c > 100000) return fail(x, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).%s", "");
  *start = v[0];
  *step = v[2];
  *count = c;
  return PAGEDVK_OK;
}

static int g_range(jx *x, const jargs *a, jv *out) {
  int64_t start, step, count;
  int rc = jb_range_args(x, a, &start, &step, &count);
  if (!rc) rc = jx_charge(x, (uint64_t)count / 8);
  if (!rc) rc = jv_list_new(x, (size_t)count, out);
  for (int64_t i = 0; !rc && i < count; i++) out->l->v[i] = jv_int((int64_t)((uint64_t)start + (uint64_t)i * (uint64_t)step)); /* stays in range */
  return rc;
}

static int g_dict(jx *x, const jargs *a, uint8_t type, jv *out) {
  int rc = jv_dict_new(x, a->nk + 4, type, out);
  for (size_t i = 0; !rc && i < a->n; i++) { /* namespace({...}) / dict({...}) copy a mapping */
    if (a->v[i].t != JV_DICT && a->v[i].t != JV_NS) return fail(x, "expected a mapping argument%s", "");
    for (size_t k = 0; !rc && k < a->v[i].d->n; k++) rc = jv_dict_set(x, out->d, a->v[i].d->k[k], a->v[i].d->v[k]);
  }
  for (size_t i = 0; !rc && i < a->nk; i++) rc = jv_dict_set(x, out->d, jv_strref(a->kn[i], strlen(a->kn[i])), a->kv[i]);
  return rc;
}

/* Days since 1970-01-01 of a civil date. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int g_strftime(jx *x, const jargs *a, jv *out) {
  static const char *const MON[] = {"January", "February", "March",     "April",   "May",      "June",
                                    "July",    "August",   "September", "October", "November", "December"};
  static const char *const DAY[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
  jv fmt = arg(a, 0, NULL);
  if (fmt.t != JV_STR) return fail(x, "strftime_now: expected a format string%s", "");
  int y = x->year, m = x->month, d = x->day;
  if (y == 0) {
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    y = tm.tm_year + 1900;
    m = tm.tm_mon + 1;
    d = tm.tm_mday;
  }
  if (m < 1 || m > 12) m = 1;
  int64_t days = days_from_civil(y, m, d);
  int wd = (int)(((days % 7) + 7 + 3) % 7); /* 1970-01-01 was a Thursday (3, Monday = 0) */
  int yday = (int)(days - days_from_civil(y, 1, 1)) + 1;
  jsb b;
  jsb_init(&b, x, x->max_mem);
  int rc = PAGEDVK_OK;
  for (size_t i = 0; !rc && i < fmt.n; i++) {
    if (fmt.s[i] != '%' || i + 1 >= fmt.n) {
      rc = jsb_putc(&b, fmt.s[i]);
      continue;
    }
    char c = fmt.s[++i];
    bool nopad = false;
    if (c == '-' && i + 1 < fmt.n) {
      nopad = true;
      c = fmt.s[++i];
    }
    const char *nf = nopad ? "%d" : "%02d";
    switch (c) {
    case 'Y': rc = jsb_printf(&b, "%d", y); break;
    case 'y': rc = jsb_printf(&b, nf, y % 100); break;
    case 'm': rc = jsb_printf(&b, nf, m); break;
    case 'd': rc = jsb_printf(&b, nf, d); break;
    case 'e': rc = jsb_printf(&b, nopad ? "%d" : "%2d", d); break;
    case 'H':
    case 'M':
    case 'S': rc = jsb_printf(&b, nf, 0); break;
    case 'I': rc = jsb_printf(&b, nf, 12); break;
    case 'p': rc = jsb_puts(&b, "AM"); break;
    case 'j': rc = jsb_printf(&b, nopad ? "%d" : "%03d", yday); break;
    case 'b':
    case 'h': rc = jsb_put(&b, MON[m - 1], 3); break;
    case 'B': rc = jsb_puts(&b, MON[m - 1]); break;
    case 'a': rc = jsb_put(&b, DAY[wd], 3); break;
    case 'A': rc = jsb_puts(&b, DAY[wd]); break;
    case 'w': rc = jsb_printf(&b, "%d", (wd + 1) % 7); break;
    case 'u': rc = jsb_printf(&b, "%d", wd + 1); break;
    case 'F': rc = jsb_printf(&b, "%d-%02d-%02d", y, m, d); break;
    case 'D': rc = jsb_printf(&b, "%02d/%02d/%02d", m, d, y % 100); break;
    case '%': rc = jsb_putc(&b, '%'); break;
    default:
      rc = jsb_putc(&b, '%');
      if (!rc) rc = jsb_putc(&b, c);
    }
  }
  if (!rc) rc = jsb_to_str(&b, out);
  jsb_free(&b);
  return rc;
}

int jb_call_global(jx *x, const char *name, const jargs *a, jv *out) {
  if (!strcmp(name, "range")) return g_range(x, a, out);
  if (!strcmp(name, "namespace")) return g_dict(x, a, JV_NS, out);
  if (!strcmp(name, "dict")) return g_dict(x, a, JV_DICT, out);
  if (!strcmp(name, "strftime_now")) return g_strftime(x, a, out);
  if (!strcmp(name, "raise_exception")) {
    jv msg = arg(a, 0, NULL);
    jsb b;
    jsb_init(&b, x, 1 << 16);
    int rc = jv_print(&b, msg);
    x->raised = true;
    if (!rc) rc = pv_fail(x->err, PAGEDVK_ERR_INVALID, "%s", b.p ? b.p : "");
    jsb_free(&b);
    return rc;
  }
  return fail(x, "'%s' is undefined", name);
}
