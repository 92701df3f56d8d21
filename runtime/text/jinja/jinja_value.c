/*
 * jinja_value.c — the render arena and limits, value constructors, Python's equality, ordering
 * and truthiness, str()/repr() printing, json.dumps, and the JSON parser (see jinja_value.h).
 *
 * Invariants: x->mem never passes x->max_mem (an allocation that would is refused with an error
 * naming the limit); strings are never written after they are made; a dict's k/v arrays hold
 * `cap` slots, `n` of them used, and keys are unique.
 */
#include "text/jinja/jinja_value.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jx_chunk {
  jx_chunk *next;
  size_t used, cap;
  _Alignas(16) unsigned char data[];
};

#define JX_CHUNK_MIN (64 * 1024)

void jx_init(jx *x, pv_error *err) {
  memset(x, 0, sizeof *x);
  x->err = err;
  x->max_mem = (size_t)512 << 20;
  x->max_steps = 50000000;
  x->max_depth = 200;
  x->max_output = (size_t)64 << 20;
}

void jx_free(jx *x) {
  jx_chunk *c = x->chunks;
  while (c) {
    jx_chunk *next = c->next;
    free(c);
    c = next;
  }
  x->chunks = NULL;
}

static int mem_limit(jx *x) {
  return pv_fail(x->err, PAGEDVK_ERR_INVALID, "template: memory limit of %zu bytes reached", x->max_mem);
}

int jx_mem_take(jx *x, size_t n) {
  if (n > x->max_mem - x->mem) return mem_limit(x);
  x->mem += n;
  return PAGEDVK_OK;
}

void jx_mem_give(jx *x, size_t n) { x->mem -= n < x->mem ? n : x->mem; }

void *jx_alloc(jx *x, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (n == 0) n = 16;
  jx_chunk *c = x->chunks;
  if (c && c->cap - c->used >= n) {
    void *p = c->data + c->used;
    c->used += n;
    return p;
  }
  size_t cap = n > JX_CHUNK_MIN ? n : JX_CHUNK_MIN;
  if (cap > x->max_mem || jx_mem_take(x, cap + sizeof *c)) {
    mem_limit(x);
    return NULL;
  }
  jx_chunk *nc = malloc(sizeof *nc + cap);
  if (!nc) {
    pv_fail(x->err, PAGEDVK_ERR_NO_MEMORY, "template: out of memory");
    return NULL;
  }
  nc->cap = cap;
  nc->used = n;
  /* A big allocation goes behind the current chunk so its free space stays usable. */
  if (c && n > JX_CHUNK_MIN) {
    nc->next = c->next;
    c->next = nc;
  } else {
    nc->next = c;
    x->chunks = nc;
  }
  return nc->data;
}

int jx_step_limit(jx *x) {
  return pv_fail(x->err, PAGEDVK_ERR_INVALID, "template: step limit of %llu reached (endless loop?)",
                 (unsigned long long)x->max_steps);
}

/* ---- buffers ---- */

void jsb_init(jsb *b, jx *x, size_t cap) {
  memset(b, 0, sizeof *b);
  b->x = x;
  b->cap = cap;
}

void jsb_free(jsb *b) {
  if (b->p) jx_mem_give(b->x, b->alloc);
  free(b->p);
  b->p = NULL;
  b->n = b->alloc = 0;
}

int jsb_put(jsb *b, const char *s, size_t n) {
  if (n > b->cap - b->n)
    return pv_fail(b->x->err, PAGEDVK_ERR_INVALID, "template: output limit of %zu bytes reached", b->cap);
  if (b->n + n + 1 > b->alloc) {
    size_t na = b->alloc ? b->alloc : 256;
    while (na < b->n + n + 1) na *= 2;
    if (jx_mem_take(b->x, na - b->alloc)) return b->x->err->code;
    char *p = realloc(b->p, na);
    if (!p) {
      jx_mem_give(b->x, na - b->alloc);
      return pv_fail(b->x->err, PAGEDVK_ERR_NO_MEMORY, "template: out of memory");
    }
    b->p = p;
    b->alloc = na;
  }
  if (n) memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
  return PAGEDVK_OK;
}

int jsb_puts(jsb *b, const char *s) { return jsb_put(b, s, strlen(s)); }
int jsb_putc(jsb *b, char c) { return jsb_put(b, &c, 1); }

int jsb_printf(jsb *b, const char *fmt, ...) {
  char tmp[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof tmp) n = sizeof tmp - 1;
  return jsb_put(b, tmp, (size_t)n);
}

int jsb_to_str(jsb *b, jv *out) { return jv_str(b->x, b->p ? b->p : "", b->n, out); }

/* ---- constructors ---- */

int jv_str(jx *x, const char *s, size_t n, jv *out) {
  char *p = jx_alloc(x, n + 1);
  if (!p) return x->err->code;
  if (n) memcpy(p, s, n);
  p[n] = 0;
  *out = jv_strref(p, n);
  return PAGEDVK_OK;
}

int jv_list_new(jx *x, size_t n, jv *out) {
  if (n > SIZE_MAX / sizeof(jv) / 2) return mem_limit(x);
  jv_list *l = jx_alloc(x, sizeof *l + n * sizeof(jv));
  if (!l) return x->err->code;
  l->n = n;
  l->v = (jv *)(l + 1);
  for (size_t i = 0; i < n; i++) l->v[i] = jv_none();
  *out = (jv){.t = JV_LIST, .l = l};
  return PAGEDVK_OK;
}

int jv_dict_new(jx *x, size_t cap, uint8_t type, jv *out) {
  jv_dict *d = jx_alloc(x, sizeof *d);
  if (!d) return x->err->code;
  memset(d, 0, sizeof *d);
  if (cap) {
    if (cap > SIZE_MAX / sizeof(jv) / 4) return mem_limit(x);
    d->k = jx_alloc(x, cap * sizeof(jv));
    d->v = jx_alloc(x, cap * sizeof(jv));
    if (!d->k || !d->v) return x->err->code;
    d->cap = cap;
  }
  *out = (jv){.t = type, .d = d};
  return PAGEDVK_OK;
}

long jv_dict_find_str(const jv_dict *d, const char *s, size_t n) {
  for (size_t i = 0; i < d->n; i++)
    if (d->k[i].t == JV_STR && d->k[i].n == n && memcmp(d->k[i].s, s, n) == 0) return (long)i;
  return -1;
}

long jv_dict_find(jx *x, const jv_dict *d, jv k) {
  if (x && jx_charge(x, d->n / 8)) return -2;
  if (k.t == JV_STR) return jv_dict_find_str(d, k.s, k.n);
  for (size_t i = 0; i < d->n; i++)
    if (jv_equal(d->k[i], k)) return (long)i;
  return -1;
}

int jv_dict_set(jx *x, jv_dict *d, jv k, jv v) {
  long i = jv_dict_find(x, d, k);
  if (i == -2) return x->err->code;
  if (i >= 0) {
    d->v[i] = v;
    return PAGEDVK_OK;
  }
  if (d->n == d->cap) {
    size_t nc = d->cap ? d->cap * 2 : 8;
    jv *nk = jx_alloc(x, nc * sizeof(jv)), *nv = jx_alloc(x, nc * sizeof(jv));
    if (!nk || !nv) return x->err->code;
    if (d->n) {
      memcpy(nk, d->k, d->n * sizeof(jv));
      memcpy(nv, d->v, d->n * sizeof(jv));
    }
    d->k = nk;
    d->v = nv;
    d->cap = nc;
  }
  d->k[d->n] = k;
  d->v[d->n] = v;
  d->n++;
  return PAGEDVK_OK;
}

/* ---- Python semantics ---- */

bool jv_truthy(jv v) {
  switch (v.t) {
  case JV_UNDEF:
  case JV_NONE: return false;
  case JV_BOOL: return v.b;
  case JV_INT: return v.i != 0;
  case JV_FLOAT: return v.f != 0.0;
  case JV_STR: return v.n != 0;
  case JV_LIST: return v.l->n != 0;
  case JV_DICT: return v.d->n != 0;
  default: return true;
  }
}

bool jv_is_num(jv v) { return v.t == JV_INT || v.t == JV_FLOAT || v.t == JV_BOOL; }

double jv_num(jv v) { return v.t == JV_FLOAT ? v.f : v.t == JV_INT ? (double)v.i : v.t == JV_BOOL ? v.b : 0; }

static bool num_equal(jv a, jv b) {
  if (a.t != JV_FLOAT && b.t != JV_FLOAT) {
    int64_t x = a.t == JV_BOOL ? a.b : a.i, y = b.t == JV_BOOL ? b.b : b.i;
    return x == y;
  }
  return jv_num(a) == jv_num(b);
}

/* Values nest at most this deep for the recursive walks here (equality, ordering, printing): a
 * template can build deeper lists in a loop, and walking them must not overflow the C stack. */
#define JV_MAX_NEST 1000

static bool equal_at(jv a, jv b, int depth);

bool jv_equal(jv a, jv b) { return equal_at(a, b, 0); }

static bool equal_at(jv a, jv b, int depth) {
  if (depth > JV_MAX_NEST) return false; /* too deep to compare: unequal (Python would raise) */
  if (jv_is_num(a) && jv_is_num(b)) return num_equal(a, b);
  if (a.t != b.t) return false;
  switch (a.t) {
  case JV_UNDEF:
  case JV_NONE: return true;
  case JV_STR: return a.n == b.n && memcmp(a.s, b.s, a.n) == 0;
  case JV_LIST:
    if (a.tuple != b.tuple || a.l->n != b.l->n) return false;
    for (size_t i = 0; i < a.l->n; i++)
      if (!equal_at(a.l->v[i], b.l->v[i], depth + 1)) return false;
    return true;
  case JV_DICT:
    if (a.d->n != b.d->n) return false;
    for (size_t i = 0; i < a.d->n; i++) {
      long j = jv_dict_find(NULL, b.d, a.d->k[i]);
      if (j < 0 || !equal_at(a.d->v[i], b.d->v[j], depth + 1)) return false;
    }
    return true;
  case JV_NS: return a.d == b.d;
  case JV_FUNC: return a.s == b.s;
  case JV_BOUND: return a.bound == b.bound;
  default: return a.p == b.p;
  }
}

const char *jv_type_name(jv v) {
  static const char *const names[] = {"Undefined", "NoneType", "bool",     "int",    "float",  "str",  "list",
                                      "dict",      "Namespace", "Macro", "function", "method", "LoopContext"};
  if (v.t == JV_LIST && v.tuple) return "tuple";
  return v.t < PV_ARRAY_LEN(names) ? names[v.t] : "object";
}

static int less_at(jx *x, jv a, jv b, bool *lt, int depth);

int jv_less(jx *x, jv a, jv b, bool *lt) { return less_at(x, a, b, lt, 0); }

static int less_at(jx *x, jv a, jv b, bool *lt, int depth) {
  if (depth > JV_MAX_NEST) return pv_fail(x->err, PAGEDVK_ERR_INVALID, "values nested too deeply to compare");
  if (a.t == JV_UNDEF && b.t == JV_UNDEF) { /* sorting undefined keys keeps their order, as Jinja's sort */
    *lt = false;
    return PAGEDVK_OK;
  }
  if (jv_is_num(a) && jv_is_num(b)) {
    if (a.t != JV_FLOAT && b.t != JV_FLOAT)
      *lt = (a.t == JV_BOOL ? a.b : a.i) < (b.t == JV_BOOL ? b.b : b.i);
    else
      *lt = jv_num(a) < jv_num(b);
    return PAGEDVK_OK;
  }
  if (a.t == JV_STR && b.t == JV_STR) {
    size_t m = a.n < b.n ? a.n : b.n;
    int c = m ? memcmp(a.s, b.s, m) : 0;
    *lt = c < 0 || (c == 0 && a.n < b.n);
    return PAGEDVK_OK;
  }
  if (a.t == JV_LIST && b.t == JV_LIST && a.tuple == b.tuple) { /* a tuple and a list do not order */
    size_t m = a.l->n < b.l->n ? a.l->n : b.l->n;
    for (size_t i = 0; i < m; i++) {
      if (jv_equal(a.l->v[i], b.l->v[i])) continue;
      return less_at(x, a.l->v[i], b.l->v[i], lt, depth + 1);
    }
    *lt = a.l->n < b.l->n;
    return PAGEDVK_OK;
  }
  return pv_fail(x->err, PAGEDVK_ERR_INVALID, "'<' not supported between instances of '%s' and '%s'",
                 jv_type_name(a), jv_type_name(b));
}

size_t jv_str_cplen(const char *s, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
  return c;
}

size_t jv_str_cpoff(const char *s, size_t n, size_t i) {
  if (i == 0) return 0;
  size_t c = 0;
  for (size_t k = 0; k < n; k++)
    if (((unsigned char)s[k] & 0xC0) != 0x80) {
      if (c == i) return k;
      c++;
    }
  return n;
}

/* ---- printing ---- */

int jv_print_float(jsb *b, double f) {
  if (isnan(f)) return jsb_puts(b, "nan");
  if (isinf(f)) return jsb_puts(b, f < 0 ? "-inf" : "inf");
  char buf[48];
  int p;
  for (p = 1; p <= 17; p++) {
    snprintf(buf, sizeof buf, "%.*e", p - 1, f);
    if (strtod(buf, NULL) == f) break;
  }
  /* buf: [-]d[.ddd]e(+|-)XX */
  char digits[24];
  size_t nd = 0;
  const char *q = buf;
  bool neg = *q == '-';
  if (neg) q++;
  for (; *q && *q != 'e'; q++)
    if (*q != '.') digits[nd++] = *q;
  int e = atoi(q + 1);
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  digits[nd] = 0;
  int decpt = e + 1, rc = PAGEDVK_OK;
  if (neg) rc = jsb_putc(b, '-');
  if (decpt > 16 || decpt <= -4) {
    if (!rc) rc = jsb_putc(b, digits[0]);
    if (!rc && nd > 1) rc = jsb_putc(b, '.');
    if (!rc && nd > 1) rc = jsb_put(b, digits + 1, nd - 1);
    if (!rc) rc = jsb_printf(b, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
  } else if (decpt <= 0) {
    if (!rc) rc = jsb_puts(b, "0.");
    for (int i = 0; !rc && i < -decpt; i++) rc = jsb_putc(b, '0');
    if (!rc) rc = jsb_put(b, digits, nd);
  } else if ((size_t)decpt >= nd) {
    if (!rc) rc = jsb_put(b, digits, nd);
    for (size_t i = nd; !rc && i < (size_t)decpt; i++) rc = jsb_putc(b, '0');
    if (!rc) rc = jsb_puts(b, ".0");
  } else {
    if (!rc) rc = jsb_put(b, digits, (size_t)decpt);
    if (!rc) rc = jsb_putc(b, '.');
    if (!rc) rc = jsb_put(b, digits + decpt, nd - (size_t)decpt);
  }
  return rc;
}

static int repr_str(jsb *b, const char *s, size_t n) {
  bool has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
  char q = has_sq && !has_dq ? '"' : '\'';
  int rc = jsb_putc(b, q);
  for (size_t i = 0; !rc && i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\\') rc = jsb_puts(b, "\\\\");
    else if (c == (unsigned char)q) rc = jsb_printf(b, "\\%c", q);
    else if (c == '\n') rc = jsb_puts(b, "\\n");
    else if (c == '\r') rc = jsb_puts(b, "\\r");
    else if (c == '\t') rc = jsb_puts(b, "\\t");
    else if (c < 0x20 || c == 0x7f) rc = jsb_printf(b, "\\x%02x", c);
    else rc = jsb_putc(b, (char)c);
  }
  if (!rc) rc = jsb_putc(b, q);
  return rc;
}

static int print_any(jsb *b, jv v, bool repr, int depth);

static int print_list(jsb *b, jv v, int depth) {
  int rc = jsb_putc(b, v.tuple ? '(' : '[');
  for (size_t i = 0; !rc && i < v.l->n; i++) {
    if (i) rc = jsb_puts(b, ", ");
    if (!rc) rc = print_any(b, v.l->v[i], true, depth + 1);
  }
  if (!rc && v.tuple && v.l->n == 1) rc = jsb_putc(b, ',');
  if (!rc) rc = jsb_putc(b, v.tuple ? ')' : ']');
  return rc;
}

static int print_dict(jsb *b, const jv_dict *d, int depth) {
  int rc = jsb_putc(b, '{');
  for (size_t i = 0; !rc && i < d->n; i++) {
    if (i) rc = jsb_puts(b, ", ");
    if (!rc) rc = print_any(b, d->k[i], true, depth + 1);
    if (!rc) rc = jsb_puts(b, ": ");
    if (!rc) rc = print_any(b, d->v[i], true, depth + 1);
  }
  if (!rc) rc = jsb_putc(b, '}');
  return rc;
}

static int print_any(jsb *b, jv v, bool repr, int depth) {
  if (jx_charge(b->x, 1)) return b->x->err->code;
  if (depth > JV_MAX_NEST) return pv_fail(b->x->err, PAGEDVK_ERR_INVALID, "values nested too deeply to print");
  switch (v.t) {
  case JV_UNDEF: return repr ? jsb_puts(b, "Undefined") : PAGEDVK_OK; /* empty, but inside a list */
  case JV_NONE: return jsb_puts(b, "None");
  case JV_BOOL: return jsb_puts(b, v.b ? "True" : "False");
  case JV_INT: return jsb_printf(b, "%lld", (long long)v.i);
  case JV_FLOAT: return jv_print_float(b, v.f);
  case JV_STR: return repr ? repr_str(b, v.s, v.n) : jsb_put(b, v.s, v.n);
  case JV_LIST: return print_list(b, v, depth);
  case JV_DICT: return print_dict(b, v.d, depth);
  case JV_NS: {
    int rc = jsb_puts(b, "<Namespace ");
    if (!rc) rc = print_dict(b, v.d, depth);
    if (!rc) rc = jsb_putc(b, '>');
    return rc;
  }
  case JV_FUNC: return jsb_printf(b, "<function %.*s>", (int)v.n, v.s);
  case JV_BOUND: return jsb_printf(b, "<built-in method %s>", v.bound->name);
  case JV_MACRO: return jsb_puts(b, "<Macro>");
  default: return jsb_puts(b, "<LoopContext>");
  }
}

int jv_print(jsb *b, jv v) { return print_any(b, v, false, 0); }
int jv_repr(jsb *b, jv v) { return print_any(b, v, true, 0); }

/* ---- json.dumps ---- */

static int json_str(jsb *b, const char *s, size_t n, bool ascii) {
  int rc = jsb_putc(b, '"');
  size_t run = 0; /* bytes copied as they are, in one put */
  for (size_t i = 0; !rc && i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char tmp[16];
    if (c == '"') esc = "\\\"";
    else if (c == '\\') esc = "\\\\";
    else if (c == '\n') esc = "\\n";
    else if (c == '\r') esc = "\\r";
    else if (c == '\t') esc = "\\t";
    else if (c == '\b') esc = "\\b";
    else if (c == '\f') esc = "\\f";
    else if (c < 0x20) {
      snprintf(tmp, sizeof tmp, "\\u%04x", c);
      esc = tmp;
    } else if (c >= 0x80 && ascii) {
      /* decode one UTF-8 character (invalid bytes become U+FFFD) */
      size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      uint32_t cp = len == 1 ? 0xFFFD : c & (0x3F >> (len - 1));
      for (size_t k = 1; k < len; k++) {
        if (i + k >= n || ((unsigned char)s[i + k] & 0xC0) != 0x80) {
          cp = 0xFFFD;
          len = k;
          break;
        }
        cp = cp << 6 | ((unsigned char)s[i + k] & 0x3F);
      }
      if (cp >= 0x10000) {
        cp -= 0x10000;
        snprintf(tmp, sizeof tmp, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
      } else {
        snprintf(tmp, sizeof tmp, "\\u%04x", cp);
      }
      if (run) rc = jsb_put(b, s + i - run, run);
      run = 0;
      if (!rc) rc = jsb_puts(b, tmp);
      i += len - 1;
      continue;
    }
    if (esc) {
      if (run) rc = jsb_put(b, s + i - run, run);
      run = 0;
      if (!rc) rc = jsb_puts(b, esc);
    } else {
      run++;
    }
  }
  if (!rc && run) rc = jsb_put(b, s + n - run, run);
  if (!rc) rc = jsb_putc(b, '"');
  return rc;
}

static int json_newline(jsb *b, const jv_json_opts *o, int level) {
  int rc = jsb_putc(b, '\n');
  for (int i = 0; !rc && i < level * o->indent; i++) rc = jsb_putc(b, ' ');
  return rc;
}

static int json_any(jsb *b, jv v, const jv_json_opts *o, int level);

static int json_key(jsb *b, jv k, const jv_json_opts *o) {
  switch (k.t) {
  case JV_STR: return json_str(b, k.s, k.n, o->ensure_ascii);
  case JV_NONE: return jsb_puts(b, "\"null\"");
  case JV_BOOL: return jsb_puts(b, k.b ? "\"true\"" : "\"false\"");
  case JV_INT: return jsb_printf(b, "\"%lld\"", (long long)k.i);
  case JV_FLOAT: {
    int rc = jsb_putc(b, '"');
    if (!rc) rc = jv_print_float(b, k.f);
    if (!rc) rc = jsb_putc(b, '"');
    return rc;
  }
  default:
    return pv_fail(b->x->err, PAGEDVK_ERR_INVALID, "keys must be str, int, float, bool or None, not %s",
                   jv_type_name(k));
  }
}

static int json_dict(jsb *b, const jv_dict *d, const jv_json_opts *o, int level) {
  if (d->n == 0) return jsb_puts(b, "{}");
  const char *item_sep = o->item_sep ? o->item_sep : o->indent >= 0 ? "," : ", ";
  const char *key_sep = o->key_sep ? o->key_sep : ": ";
  size_t *order = NULL;
  if (o->sort_keys) {
    order = jx_alloc(b->x, d->n * sizeof *order);
    if (!order) return b->x->err->code;
    for (size_t i = 0; i < d->n; i++) { /* insertion sort: dicts are small, the steps are charged */
      size_t j = i;
      bool lt = false;
      while (j > 0) {
        if (jx_charge(b->x, 1) || jv_less(b->x, d->k[i], d->k[order[j - 1]], &lt)) return b->x->err->code;
        if (!lt) break;
        order[j] = order[j - 1];
        j--;
      }
      order[j] = i;
    }
  }
  int rc = jsb_putc(b, '{');
  for (size_t i = 0; !rc && i < d->n; i++) {
    size_t k = order ? order[i] : i;
    if (i) rc = jsb_puts(b, item_sep);
    if (!rc && o->indent >= 0) rc = json_newline(b, o, level + 1);
    if (!rc) rc = json_key(b, d->k[k], o);
    if (!rc) rc = jsb_puts(b, key_sep);
    if (!rc) rc = json_any(b, d->v[k], o, level + 1);
  }
  if (!rc && o->indent >= 0) rc = json_newline(b, o, level);
  if (!rc) rc = jsb_putc(b, '}');
  return rc;
}

static int json_list(jsb *b, const jv_list *l, const jv_json_opts *o, int level) {
  if (l->n == 0) return jsb_puts(b, "[]");
  const char *item_sep = o->item_sep ? o->item_sep : o->indent >= 0 ? "," : ", ";
  int rc = jsb_putc(b, '[');
  for (size_t i = 0; !rc && i < l->n; i++) {
    if (i) rc = jsb_puts(b, item_sep);
    if (!rc && o->indent >= 0) rc = json_newline(b, o, level + 1);
    if (!rc) rc = json_any(b, l->v[i], o, level + 1);
  }
  if (!rc && o->indent >= 0) rc = json_newline(b, o, level);
  if (!rc) rc = jsb_putc(b, ']');
  return rc;
}

static int json_any(jsb *b, jv v, const jv_json_opts *o, int level) {
  if (jx_charge(b->x, 1)) return b->x->err->code;
  if (level > 1000) return pv_fail(b->x->err, PAGEDVK_ERR_INVALID, "tojson: nesting too deep");
  switch (v.t) {
  case JV_NONE: return jsb_puts(b, "null");
  case JV_BOOL: return jsb_puts(b, v.b ? "true" : "false");
  case JV_INT: return jsb_printf(b, "%lld", (long long)v.i);
  case JV_FLOAT:
    if (isnan(v.f)) return jsb_puts(b, "NaN");
    if (isinf(v.f)) return jsb_puts(b, v.f < 0 ? "-Infinity" : "Infinity");
    return jv_print_float(b, v.f);
  case JV_STR: return json_str(b, v.s, v.n, o->ensure_ascii);
  case JV_LIST: return json_list(b, v.l, o, level);
  case JV_DICT: return json_dict(b, v.d, o, level);
  default:
    return pv_fail(b->x->err, PAGEDVK_ERR_INVALID, "Object of type %s is not JSON serializable", jv_type_name(v));
  }
}

int jv_tojson(jsb *b, jv v, const jv_json_opts *o) { return json_any(b, v, o, 0); }

/* ---- the JSON parser ---- */

typedef struct jp {
  jx *x;
  const char *s;
  size_t n, i;
} jp;

static int jp_fail(jp *p, const char *what) {
  return pv_fail(p->x->err, PAGEDVK_ERR_INVALID, "JSON: %s at byte %zu", what, p->i);
}

static void jp_ws(jp *p) {
  while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
    p->i++;
}

static int hex4(jp *p, uint32_t *out) {
  if (p->n - p->i < 4) return jp_fail(p, "short \\u escape");
  uint32_t v = 0;
  for (int k = 0; k < 4; k++) {
    char c = p->s[p->i++];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
    else return jp_fail(p, "bad \\u escape");
  }
  *out = v;
  return PAGEDVK_OK;
}

static int put_cp(jsb *b, uint32_t cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) {
    u[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xC0 | cp >> 6);
    u[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | cp >> 12);
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    u[0] = (char)(0xF0 | cp >> 18);
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  return jsb_put(b, u, n);
}

static int jp_escape(jp *p, jsb *b) {
  char c = p->s[p->i++];
  const char *map = "\"\"\\\\//b\bf\fn\nr\rt\t";
  for (const char *m = map; *m; m += 2)
    if (*m == c) return jsb_putc(b, m[1]);
  if (c != 'u') return jp_fail(p, "bad escape");
  uint32_t cp, lo;
  if (hex4(p, &cp)) return p->x->err->code;
  if (cp >= 0xD800 && cp < 0xDC00 && p->n - p->i >= 6 && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u') {
    size_t save = p->i;
    p->i += 2;
    if (hex4(p, &lo)) return p->x->err->code;
    if (lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    else p->i = save;
  }
  if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD;
  return put_cp(b, cp);
}

static int jp_string(jp *p, jv *out) {
  p->i++; /* the opening quote */
  size_t start = p->i;
  while (p->i < p->n && p->s[p->i] != '"' && p->s[p->i] != '\\') p->i++;
  if (p->i < p->n && p->s[p->i] == '"') { /* no escapes: one copy */
    p->i++;
    return jv_str(p->x, p->s + start, p->i - 1 - start, out);
  }
  jsb b;
  jsb_init(&b, p->x, SIZE_MAX);
  int rc = jsb_put(&b, p->s + start, p->i - start);
  while (!rc) {
    if (p->i >= p->n) {
      rc = jp_fail(p, "unterminated string");
      break;
    }
    char c = p->s[p->i];
    if (c == '"') {
      p->i++;
      break;
    }
    if (c == '\\') {
      p->i++;
      if (p->i >= p->n) rc = jp_fail(p, "unterminated string");
      else rc = jp_escape(p, &b);
    } else {
      rc = jsb_putc(&b, c);
      p->i++;
    }
  }
  if (!rc) rc = jsb_to_str(&b, out);
  jsb_free(&b);
  return rc;
}

static int jp_number(jp *p, jv *out) {
  size_t start = p->i;
  bool is_float = false;
  if (p->s[p->i] == '-') p->i++;
  size_t digits = p->i;
  while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
  if (p->i == digits) return jp_fail(p, "bad number");
  if (p->i < p->n && p->s[p->i] == '.') {
    is_float = true;
    p->i++;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
  }
  if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
    is_float = true;
    p->i++;
    if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-')) p->i++;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
  }
  char tmp[64];
  size_t len = p->i - start;
  if (len >= sizeof tmp) len = sizeof tmp - 1; /* extreme lengths lose digits, never overflow */
  memcpy(tmp, p->s + start, len);
  tmp[len] = 0;
  if (!is_float) {
    char *end;
    long long v = strtoll(tmp, &end, 10);
    if (p->i - start < 19 || (v != LLONG_MAX && v != LLONG_MIN)) {
      *out = jv_int(v);
      return PAGEDVK_OK;
    }
  }
  *out = jv_float(strtod(tmp, NULL));
  return PAGEDVK_OK;
}

static int jp_value(jp *p, jv *out, int depth);

static int jp_array(jp *p, jv *out, int depth) {
  p->i++;
  jv *items = NULL;
  size_t n = 0, cap = 0;
  int rc = PAGEDVK_OK;
  jp_ws(p);
  if (p->i < p->n && p->s[p->i] == ']') {
    p->i++;
  } else {
    for (;;) {
      if (n == cap) {
        size_t nc = cap ? cap * 2 : 8;
        jv *ni = jx_alloc(p->x, nc * sizeof *ni);
        if (!ni) {
          rc = p->x->err->code;
          break;
        }
        if (n) memcpy(ni, items, n * sizeof *ni);
        items = ni;
        cap = nc;
      }
      rc = jp_value(p, &items[n], depth + 1);
      if (rc) break;
      n++;
      jp_ws(p);
      if (p->i < p->n && p->s[p->i] == ',') {
        p->i++;
        continue;
      }
      if (p->i < p->n && p->s[p->i] == ']') {
        p->i++;
        break;
      }
      rc = jp_fail(p, "expected , or ]");
      break;
    }
  }
  if (rc) return rc;
  rc = jv_list_new(p->x, 0, out);
  if (!rc) {
    out->l->v = items;
    out->l->n = n;
  }
  return rc;
}

static int jp_object(jp *p, jv *out, int depth) {
  p->i++;
  int rc = jv_dict_new(p->x, 0, JV_DICT, out);
  jp_ws(p);
  if (!rc && p->i < p->n && p->s[p->i] == '}') {
    p->i++;
    return PAGEDVK_OK;
  }
  while (!rc) {
    jv k, v;
    jp_ws(p);
    if (p->i >= p->n || p->s[p->i] != '"') return jp_fail(p, "expected a key");
    rc = jp_string(p, &k);
    jp_ws(p);
    if (!rc && (p->i >= p->n || p->s[p->i] != ':')) rc = jp_fail(p, "expected :");
    if (rc) break;
    p->i++;
    rc = jp_value(p, &v, depth + 1);
    if (!rc) rc = jv_dict_set(p->x, out->d, k, v);
    if (rc) break;
    jp_ws(p);
    if (p->i < p->n && p->s[p->i] == ',') {
      p->i++;
      continue;
    }
    if (p->i < p->n && p->s[p->i] == '}') {
      p->i++;
      break;
    }
    rc = jp_fail(p, "expected , or }");
  }
  return rc;
}

static int jp_word(jp *p, const char *w, jv v, jv *out) {
  size_t n = strlen(w);
  if (p->n - p->i < n || memcmp(p->s + p->i, w, n) != 0) return jp_fail(p, "unexpected character");
  p->i += n;
  *out = v;
  return PAGEDVK_OK;
}

static int jp_value(jp *p, jv *out, int depth) {
  if (depth > 512) return jp_fail(p, "nesting too deep");
  if (jx_charge(p->x, 1)) return p->x->err->code;
  jp_ws(p);
  if (p->i >= p->n) return jp_fail(p, "unexpected end");
  char c = p->s[p->i];
  switch (c) {
  case '{': return jp_object(p, out, depth);
  case '[': return jp_array(p, out, depth);
  case '"': return jp_string(p, out);
  case 't': return jp_word(p, "true", jv_bool(true), out);
  case 'f': return jp_word(p, "false", jv_bool(false), out);
  case 'n': return jp_word(p, "null", jv_none(), out);
  default:
    if (c == '-' || (c >= '0' && c <= '9')) return jp_number(p, out);
    return jp_fail(p, "unexpected character");
  }
}

int jv_parse_json(jx *x, const char *s, size_t n, jv *out) {
  jp p = {.x = x, .s = s, .n = n};
  int rc = jp_value(&p, out, 0);
  if (rc) return rc;
  jp_ws(&p);
  if (p.i != p.n) return jp_fail(&p, "trailing characters");
  return PAGEDVK_OK;
}
