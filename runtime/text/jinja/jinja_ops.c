/*
 * jinja_ops.c — Python's operators on template values, Jinja's sandboxed attribute and item
 * lookup, slicing, iteration, and the str / dict / list methods templates call.
 *
 * Rules kept here (the README of shared/templates and Jinja 3.1): strings index, slice and
 * measure by code points; `a.b` tries a method first, then the key; `a[b]` the key first, then
 * the attribute; a missing one is undefined, and only looking into an undefined value fails; the
 * sandbox refuses methods that change a list or dict; integers do not silently overflow.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/jinja/jinja_ast.h"
#include "text/jinja/jinja_builtins.h"
#include "text/utf8.h"

static int fail_type(jx *x, const char *op, jv a, jv b) {
  return pv_fail(x->err, PAGEDVK_ERR_INVALID, "unsupported operand type(s) for %s: '%s' and '%s'", op,
                 jv_type_name(a), jv_type_name(b));
}

int jb_undefined_error(jx *x, jv u) {
  if (u.n) return pv_fail(x->err, PAGEDVK_ERR_INVALID, "'%.*s' is undefined", (int)u.n, u.s);
  return pv_fail(x->err, PAGEDVK_ERR_INVALID, "a value is undefined");
}

/* ---- Unicode whitespace (Python's str.isspace) ---- */

size_t jb_space_len(const char *s, size_t n) {
  unsigned char c = (unsigned char)s[0];
  if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
  if (c < 0x80 || n < 2) return 0;
  unsigned char c1 = (unsigned char)s[1];
  if (c == 0xC2 && (c1 == 0x85 || c1 == 0xA0)) return 2;
  if (n < 3) return 0;
  unsigned char c2 = (unsigned char)s[2];
  if (c == 0xE1 && c1 == 0x9A && c2 == 0x80) return 3;                 /* U+1680 */
  if (c == 0xE2 && c1 == 0x80 && (c2 <= 0x8A || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF)) return 3;
  if (c == 0xE2 && c1 == 0x81 && c2 == 0x9F) return 3;                 /* U+205F */
  if (c == 0xE3 && c1 == 0x80 && c2 == 0x80) return 3;                 /* U+3000 */
  return 0;
}

static size_t cp_len(const char *s, size_t n) {
  size_t k = 1;
  while (k < n && ((unsigned char)s[k] & 0xC0) == 0x80) k++;
  return k;
}

/* Is the code point at s one of the code points of set? */
static bool in_set(const char *s, size_t len, jv set) {
  for (size_t k = 0; k < set.n;) {
    size_t l = cp_len(set.s + k, set.n - k);
    if (l == len && memcmp(set.s + k, s, len) == 0) return true;
    k += l;
  }
  return false;
}

/* strip / lstrip / rstrip (which: 1 left, 2 right, 3 both); chars JV_STR or whitespace. */
int jb_strip(jx *x, jv s, jv chars, int which, jv *out) {
  size_t a = 0, b = s.n;
  bool ws = chars.t != JV_STR;
  if (which & 1)
    while (a < b) {
      size_t l = ws ? jb_space_len(s.s + a, b - a) : cp_len(s.s + a, b - a);
      if (!l || (!ws && !in_set(s.s + a, l, chars))) break;
      a += l;
    }
  if (which & 2)
    while (b > a) {
      size_t st = b - 1;
      while (st > a && ((unsigned char)s.s[st] & 0xC0) == 0x80) st--;
      size_t l = b - st;
      bool hit = ws ? jb_space_len(s.s + st, l) == l : in_set(s.s + st, l, chars);
      if (!hit) break;
      b = st;
    }
  (void)x;
  *out = jv_strref(s.s + a, b - a);
  return PAGEDVK_OK;
}

/* ---- case mapping: ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic (Python's mappings for
 * those blocks; other characters have no case here) ---- */

/* Upper case of c; 0 when c has none. ß (U+00DF) is special: its upper case is "SS". */
static uint32_t cp_upper(uint32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c < 0x80) return 0;
  if ((c >= 0xE0 && c <= 0xFE && c != 0xF7)) return c - 32;
  if (c == 0xFF) return 0x178;
  if (c == 0xB5) return 0x39C;
  if (c >= 0x100 && c <= 0x17F) {
    if (c == 0x131) return 'I';
    if (c == 0x17F) return 'S';
    bool odd_lower = (c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177);
    bool even_lower = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (odd_lower && (c & 1)) return c - 1;
    if (even_lower && !(c & 1)) return c - 1;
    return 0;
  }
  if (c >= 0x3B1 && c <= 0x3C9) return c == 0x3C2 ? 0x3A3 : c - 32;
  if (c == 0x3AC) return 0x386;
  if (c >= 0x3AD && c <= 0x3AF) return c - 37;
  if (c == 0x3CC) return 0x38C;
  if (c == 0x3CD || c == 0x3CE) return c - 63;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  return 0;
}

/* Lower case of c; 0 when c has none. */
static uint32_t cp_lower(uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return 0;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if (c == 0x178) return 0xFF;
  if (c >= 0x100 && c <= 0x17F) {
    bool even_upper = (c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177);
    bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (even_upper && !(c & 1)) return c + 1;
    if (odd_upper && (c & 1)) return c + 1;
    return 0;
  }
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 37;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 63;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return 0;
}

static bool cp_cased(uint32_t c) { return cp_upper(c) || cp_lower(c) || c == 0xDF || c == 0x138; }

/* The code point at s (n > 0 bytes left) and its length; invalid bytes stand for themselves. */
static uint32_t cp_at(const char *s, size_t n, size_t *len) {
  size_t adv = 1;
  *len = 1;
  if (pv_utf8_check((const uint8_t *)s, n, &adv) != PV_UTF8_OK) return 0xFFFFFFFF; /* a stray byte: no case */
  *len = adv;
  unsigned char c0 = (unsigned char)s[0];
  if (adv == 1) return c0;
  uint32_t c = c0 & (0x7F >> adv);
  for (size_t k = 1; k < adv; k++) c = c << 6 | ((unsigned char)s[k] & 0x3F);
  return c;
}

static int put_cp(jsb *b, uint32_t c) {
  char u[4];
  size_t n;
  if (c < 0x80) {
    u[0] = (char)c;
    n = 1;
  } else if (c < 0x800) {
    u[0] = (char)(0xC0 | c >> 6);
    u[1] = (char)(0x80 | (c & 0x3F));
    n = 2;
  } else {
    u[0] = (char)(0xE0 | c >> 12);
    u[1] = (char)(0x80 | ((c >> 6) & 0x3F));
    u[2] = (char)(0x80 | (c & 0x3F));
    n = 3;
  }
  return jsb_put(b, u, n);
}

/* One character in upper (up) or lower case, as bytes into b. */
static int put_cased(jsb *b, const char *s, size_t len, uint32_t c, bool up, bool title) {
  if (up && c == 0xDF) return jsb_put(b, title ? "Ss" : "SS", 2); /* upper and title case of ß */
  uint32_t m = up ? cp_upper(c) : cp_lower(c);
  return m ? put_cp(b, m) : jsb_put(b, s, len);
}

/* Case mapping. mode: 'u' upper, 'l' lower, 'c' capitalize (first upper, rest lower), 't' title
 * (Python's str.title: a cased character after a cased one is lowered, else raised), 's' swapcase,
 * 'j' Jinja's title filter (words start after whitespace, '-', '(', '{', '[' or '<'). */
int jb_case(jx *x, jv s, char mode, jv *out) {
  jsb b;
  jsb_init(&b, x, x->max_mem);
  int rc = PAGEDVK_OK;
  bool prev_cased = false, word_start = true;
  for (size_t i = 0; !rc && i < s.n;) {
    size_t len;
    uint32_t c = cp_at(s.s + i, s.n - i, &len);
    bool up;
    switch (mode) {
    case 'u': up = true; break;
    case 'l': up = false; break;
    case 'c': up = i == 0; break;
    case 't': up = !prev_cased; break;
    case 'j': up = word_start; break;
    default: up = cp_upper(c) != 0 || c == 0xDF; break; /* swapcase: lower letters go up */
    }
    rc = put_cased(&b, s.s + i, len, c, up, mode == 't' || mode == 'c');
    prev_cased = cp_cased(c);
    word_start = c == ' ' || (c >= 0x09 && c <= 0x0D) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    i += len;
  }
  if (!rc) rc = jsb_to_str(&b, out);
  jsb_free(&b);
  return rc;
}

/* ---- arithmetic ---- */

static int int_result(jx *x, bool overflow, int64_t v, jv *out) {
  if (overflow) return pv_fail(x->err, PAGEDVK_ERR_INVALID, "integer overflow");
  *out = jv_int(v);
  return PAGEDVK_OK;
}

static int64_t ival(jv v) { return v.t == JV_BOOL ? v.b : v.i; }

static int repeat(jx *x, jv s, int64_t times, jv *out) {
  if (times <= 0 && s.t == JV_STR) {
    *out = jv_strref("", 0);
    return PAGEDVK_OK;
  }
  if (times <= 0) {
    int rc = jv_list_new(x, 0, out);
    if (!rc) out->tuple = s.tuple;
    return rc;
  }
  size_t unit = s.t == JV_STR ? s.n : s.l->n * sizeof(jv);
  if (unit && (uint64_t)times > (x->max_mem / unit)) return jx_mem_take(x, x->max_mem); /* past the limit */
  if (jx_charge(x, (uint64_t)times)) return x->err->code;
  if (s.t == JV_STR) {
    char *p = jx_alloc(x, s.n * (size_t)times + 1);
    if (!p) return x->err->code;
    for (int64_t k = 0; k < times; k++) memcpy(p + (size_t)k * s.n, s.s, s.n);
    p[s.n * (size_t)times] = 0;
    *out = jv_strref(p, s.n * (size_t)times);
    return PAGEDVK_OK;
  }
  int rc = jv_list_new(x, s.l->n * (size_t)times, out);
  for (int64_t k = 0; !rc && k < times; k++)
    if (s.l->n) memcpy(out->l->v + (size_t)k * s.l->n, s.l->v, s.l->n * sizeof(jv));
  if (!rc) out->tuple = s.tuple;
  return rc;
}

static int concat2(jx *x, jv a, jv b, jv *out) {
  if (a.t == JV_STR) {
    char *p = jx_alloc(x, a.n + b.n + 1);
    if (!p) return x->err->code;
    memcpy(p, a.s, a.n);
    memcpy(p + a.n, b.s, b.n);
    p[a.n + b.n] = 0;
    *out = jv_strref(p, a.n + b.n);
    return PAGEDVK_OK;
  }
  int rc = jv_list_new(x, a.l->n + b.l->n, out);
  if (!rc && a.l->n) memcpy(out->l->v, a.l->v, a.l->n * sizeof(jv));
  if (!rc && b.l->n) memcpy(out->l->v + a.l->n, b.l->v, b.l->n * sizeof(jv));
  if (!rc) out->tuple = a.tuple;
  return rc;
}

static int str_format_pct(jx *x, jv fmt, jv args, jv *out);

static int arith(jx *x, int op, jv a, jv b, jv *out) {
  static const char *const names[] = {"", "+", "-", "*", "/", "//", "%", "**"};
  if (a.t == JV_UNDEF) return jb_undefined_error(x, a);
  if (b.t == JV_UNDEF) return jb_undefined_error(x, b);
  bool nums = jv_is_num(a) && jv_is_num(b), ints = nums && a.t != JV_FLOAT && b.t != JV_FLOAT;
  if (op == JOP_ADD && a.t == b.t && (a.t == JV_STR || (a.t == JV_LIST && a.tuple == b.tuple))) return concat2(x, a, b, out);
  if (op == JOP_MUL && (a.t == JV_STR || a.t == JV_LIST) && (b.t == JV_INT || b.t == JV_BOOL)) return repeat(x, a, ival(b), out);
  if (op == JOP_MUL && (b.t == JV_STR || b.t == JV_LIST) && (a.t == JV_INT || a.t == JV_BOOL)) return repeat(x, b, ival(a), out);
  if (op == JOP_MOD && a.t == JV_STR) return str_format_pct(x, a, b, out);
  if (!nums) return fail_type(x, names[op], a, b);
  int64_t p = ival(a), q = ival(b), r = 0;
  double f = jv_num(a), g = jv_num(b);
  switch (op) {
  case JOP_ADD:
    if (ints) {
      bool of = __builtin_add_overflow(p, q, &r);
      return int_result(x, of, r, out);
    }
    *out = jv_float(f + g);
    return PAGEDVK_OK;
  case JOP_SUB:
    if (ints) {
      bool of = __builtin_sub_overflow(p, q, &r);
      return int_result(x, of, r, out);
    }
    *out = jv_float(f - g);
    return PAGEDVK_OK;
  case JOP_MUL:
    if (ints) {
      bool of = __builtin_mul_overflow(p, q, &r);
      return int_result(x, of, r, out);
    }
    *out = jv_float(f * g);
    return PAGEDVK_OK;
  case JOP_DIV:
    if (g == 0) return pv_fail(x->err, PAGEDVK_ERR_INVALID, "division by zero");
    *out = jv_float(f / g);
    return PAGEDVK_OK;
  case JOP_FDIV:
  case JOP_MOD:
    if ((ints && q == 0) || (!ints && g == 0))
      return pv_fail(x->err, PAGEDVK_ERR_INVALID, "integer division or modulo by zero");
    if (ints) {
      if (p == INT64_MIN && q == -1) return int_result(x, op == JOP_FDIV, 0, out);
      int64_t d = p / q, m = p % q;
      if (m != 0 && ((m < 0) != (q < 0))) {
        d--;
        m += q;
      }
      *out = jv_int(op == JOP_FDIV ? d : m);
    } else {
      double m = fmod(f, g);
      if (m != 0 && ((m < 0) != (g < 0))) m += g;
      *out = jv_float(op == JOP_FDIV ? floor(f / g) : m);
    }
    return PAGEDVK_OK;
  default: /* POW */
    if (ints && q >= 0) {
      int64_t acc = 1;
      bool of = false;
      for (int64_t k = 0; k < q && !of; k++) {
        of = __builtin_mul_overflow(acc, p, &acc);
        if (p == 0 || p == 1 || (p == -1 && k > 1)) {
          acc = p == 0 ? 0 : p == 1 ? 1 : (q % 2 ? -1 : 1);
          break;
        }
      }
      return int_result(x, of, acc, out);
    }
    if (f == 0 && g < 0) return pv_fail(x->err, PAGEDVK_ERR_INVALID, "0.0 cannot be raised to a negative power");
    *out = jv_float(pow(f, g));
    return PAGEDVK_OK;
  }
}

static int contains(jx *x, jv hay, jv needle, bool *out) {
  switch (hay.t) {
  case JV_STR:
    if (needle.t != JV_STR)
      return pv_fail(x->err, PAGEDVK_ERR_INVALID, "'in <string>' requires string as left operand, not %s",
                     jv_type_name(needle));
    if (jx_charge(x, hay.n / 64)) return x->err->code;
    *out = needle.n == 0 || memmem(hay.s, hay.n, needle.s, needle.n) != NULL;
    return PAGEDVK_OK;
  case JV_LIST:
    if (jx_charge(x, hay.l->n / 8)) return x->err->code;
    *out = false;
    for (size_t i = 0; i < hay.l->n && !*out; i++) *out = jv_equal(hay.l->v[i], needle);
    return PAGEDVK_OK;
  case JV_DICT:
  case JV_NS: {
    if ((needle.t == JV_LIST && !needle.tuple) || needle.t == JV_DICT || needle.t == JV_NS)
      return pv_fail(x->err, PAGEDVK_ERR_INVALID, "unhashable type: '%s'", jv_type_name(needle));
    long i = jv_dict_find(x, hay.d, needle);
    if (i == -2) return x->err->code;
    *out = i >= 0;
    return PAGEDVK_OK;
  }
  case JV_UNDEF: *out = false; return PAGEDVK_OK;
  default:
    return pv_fail(x->err, PAGEDVK_ERR_INVALID, "argument of type '%s' is not iterable", jv_type_name(hay));
  }
}

int jb_binop(jx *x, int op, jv a, jv b, jv *out) {
  bool r = false, lt = false;
  int rc = PAGEDVK_OK;
  switch (op) {
  case JOP_CONCAT: {
    jsb s;
    jsb_init(&s, x, x->max_mem);
    rc = jv_print(&s, a);
    if (!rc) rc = jv_print(&s, b);
    if (!rc) rc = jsb_to_str(&s, out);
    jsb_free(&s);
    return rc;
  }
  case JOP_EQ: *out = jv_bool(jv_equal(a, b)); return PAGEDVK_OK;
  case JOP_NE: *out = jv_bool(!jv_equal(a, b)); return PAGEDVK_OK;
  case JOP_LT:
  case JOP_GT:
  case JOP_LE:
  case JOP_GE:
    if (a.t == JV_UNDEF || b.t == JV_UNDEF) return jb_undefined_error(x, a.t == JV_UNDEF ? a : b);
    break;
  default: break;
  }
  switch (op) {
  case JOP_LT: rc = jv_less(x, a, b, &r); break;
  case JOP_GT: rc = jv_less(x, b, a, &r); break;
  case JOP_LE:
    rc = jv_less(x, b, a, &lt);
    r = !lt;
    break;
  case JOP_GE:
    rc = jv_less(x, a, b, &lt);
    r = !lt;
    break;
  case JOP_IN: rc = contains(x, b, a, &r); break;
  case JOP_NOTIN:
    rc = contains(x, b, a, &r);
    r = !r;
    break;
  default: return arith(x, op, a, b, out);
  }
  if (!rc) *out = jv_bool(r);
  return rc;
}

int jb_neg(jx *x, jv a, bool negate, jv *out) {
  if (a.t == JV_UNDEF) return jb_undefined_error(x, a);
  if (a.t == JV_FLOAT) {
    *out = jv_float(negate ? -a.f : a.f);
    return PAGEDVK_OK;
  }
  if (a.t == JV_INT || a.t == JV_BOOL) {
    int64_t v = ival(a);
    if (negate && v == INT64_MIN) return pv_fail(x->err, PAGEDVK_ERR_INVALID, "integer overflow");
    *out = jv_int(negate ? -v : v);
    return PAGEDVK_OK;
  }
  return pv_fail(x->err, PAGEDVK_ERR_INVALID, "bad operand type for unary %c: '%s'", negate ? '-' : '+',
                 jv_type_name(a));
}

/* ---- '%' formatting of strings (printf style, as Python's str % args) ---- */

/* One conversion of `arg` by spec (flags, width, precision as written, conv). */
static int format_one(jx *x, jsb *b, const char *flags, size_t nflags, int width, int prec, char conv, jv arg) {
  char fmt[32], tmp[512];
  int rc = PAGEDVK_OK;
  if (conv == 's' || conv == 'r' || conv == 'a') {
    jsb t;
    jsb_init(&t, x, x->max_mem);
    rc = conv == 's' ? jv_print(&t, arg) : jv_repr(&t, arg);
    size_t n = t.n;
    if (!rc && prec >= 0) n = jv_str_cpoff(t.p ? t.p : "", t.n, (size_t)prec);
    size_t cps = jv_str_cplen(t.p ? t.p : "", n);
    bool left = memchr(flags, '-', nflags) != NULL;
    for (size_t k = cps; !rc && !left && (int)k < width; k++) rc = jsb_putc(b, ' ');
    if (!rc) rc = jsb_put(b, t.p ? t.p : "", n);
    for (size_t k = cps; !rc && left && (int)k < width; k++) rc = jsb_putc(b, ' ');
    jsb_free(&t);
    return rc;
  }
  if (!jv_is_num(arg))
    return pv_fail(x->err, PAGEDVK_ERR_INVALID, "%%%c format: a real number is required, not %s", conv, jv_type_name(arg));
  if (width > 256) width = 256;
  if (prec > 100) prec = 100;
  int k = snprintf(fmt, sizeof fmt, "%%%.*s", (int)(nflags < 8 ? nflags : 8), flags);
  if (width >= 0) k += snprintf(fmt + k, sizeof fmt - (size_t)k, "%d", width);
  if (prec >= 0) k += snprintf(fmt + k, sizeof fmt - (size_t)k, ".%d", prec);
  if (strchr("diouxXc", conv) && arg.t == JV_FLOAT) {
    if (!strchr("diu", conv))
      return pv_fail(x->err, PAGEDVK_ERR_INVALID, "%%%c format: an integer is required, not float", conv);
    if (!isfinite(arg.f)) return pv_fail(x->err, PAGEDVK_ERR_INVALID, "cannot convert float %s to integer",
                                         isnan(arg.f) ? "NaN" : "infinity");
    if (fabs(arg.f) >= 9.2e18) { /* Python prints the float's exact integer part */
      snprintf(tmp, sizeof tmp, "%.0f", trunc(arg.f));
      return jsb_puts(b, tmp);
    }
  }
  if (strchr("diouxXc", conv)) {
    long long v = arg.t == JV_FLOAT ? (long long)arg.f : (long long)ival(arg);
    snprintf(fmt + k, sizeof fmt - (size_t)k, "ll%c", conv == 'i' || conv == 'u' ? 'd' : conv);
    if (conv == 'c') snprintf(fmt + k, sizeof fmt - (size_t)k, "c");
    if (conv == 'c') snprintf(tmp, sizeof tmp, fmt, (int)v);
    else snprintf(tmp, sizeof tmp, fmt, v);
  } else {
    snprintf(fmt + k, sizeof fmt - (size_t)k, "%c", conv);
    snprintf(tmp, sizeof tmp, fmt, jv_num(arg));
  }
  return jsb_puts(b, tmp);
}

static int str_format_pct(jx *x, jv fmt, jv args, jv *out) {
  jsb b;
  jsb_init(&b, x, x->max_mem);
  size_t ai = 0;
  int rc = PAGEDVK_OK;
  bool tuple = args.t == JV_LIST && args.tuple;
  for (size_t i = 0; !rc && i < fmt.n; i++) {
    char c = fmt.s[i];
    if (c != '%') {
      rc = jsb_putc(&b, c);
      continue;
    }
    if (++i >= fmt.n) {
      rc = pv_fail(x->err, PAGEDVK_ERR_INVALID, "incomplete format");
      break;
    }
    jv arg = jv_undef("", 0);
    bool have = false;
    if (fmt.s[i] == '(') { /* %(name)s takes a mapping */
      size_t e = i + 1;
      while (e < fmt.n && fmt.s[e] != ')') e++;
      if (e >= fmt.n || args.t != JV_DICT) {
        rc = pv_fail(x->err, PAGEDVK_ERR_INVALID, "format requires a mapping");
        break;
      }
      long at = jv_dict_find_str(args.d, fmt.s + i + 1, e - i - 1);
      if (at < 0) {
        rc = pv_fail(x->err, PAGEDVK_ERR_INVALID, "format: no key '%.*s'", (int)(e - i - 1), fmt.s + i + 1);
        break;
      }
      arg = args.d->v[at];
      have = true;
      i = e + 1;
    }
    size_t f0 = i;
    while (i < fmt.n && strchr("-+ #0", fmt.s[i])) i++;
    size_t nflags = i - f0;
    int width = -1, prec = -1;
    for (; i < fmt.n && fmt.s[i] >= '0' && fmt.s[i] <= '9'; i++) /* capped: refused below */
      width = width > 1000000 ? width : (width < 0 ? 0 : width * 10) + (fmt.s[i] - '0');
    if (i < fmt.n && fmt.s[i] == '.') {
      prec = 0;
      for (i++; i < fmt.n && fmt.s[i] >= '0' && fmt.s[i] <= '9'; i++) prec = prec > 1000000 ? prec : prec * 10 + (fmt.s[i] - '0');
    }
    if (width > 100000 || prec > 100000) {
      rc = pv_fail(x->err, PAGEDVK_ERR_INVALID, "format: width or precision too big");
      break;
    }
    if (i >= fmt.n) {
      rc = pv_fail(x->err, PAGEDVK_ERR_INVALID, "incomplete format");
      break;
    }
    char conv = fmt.s[i];
    if (conv == '%') {
      rc = jsb_putc(&b, '%');
      continue;
    }
    if (!strchr("sradiouxXeEfFgGc", conv)) {
      rc = pv_fail(x->err, PAGEDVK_ERR_INVALID, "unsupported format character '%c'", conv);
      break;
    }
    if (!have) {
      if (tuple ? ai >= args.l->n : ai > 0) {
        rc = pv_fail(x->err, PAGEDVK_ERR_INVALID, "not enough arguments for format string");
        break;
      }
      arg = tuple ? args.l->v[ai] : args;
      ai++;
    }
    rc = format_one(x, &b, fmt.s + f0, nflags, width, prec, conv, arg);
  }
  /* Python: arguments left over (other than a mapping for %(name)s) are an error */
  bool mapping = args.t == JV_DICT || args.t == JV_NS || (args.t == JV_LIST && !tuple); /* PyMapping_Check */
  if (!rc && !mapping && (tuple ? ai < args.l->n : ai == 0))
    rc = pv_fail(x->err, PAGEDVK_ERR_INVALID, "not all arguments converted during string formatting");
  if (!rc) rc = jsb_to_str(&b, out);
  jsb_free(&b);
  return rc;
}

/* ---- lookups ---- */

static const char *const STR_METHODS[] = {"startswith", "endswith", "strip",   "lstrip",     "rstrip",  "split",
                                          "rsplit",     "replace",  "upper",   "lower",      "title",   "capitalize",
                                          "swapcase",   "format",   "find",    "rfind",      "count",   "join",
                                          "isdigit",    "isalpha",  "isalnum", "isspace",    "isupper", "islower",
                                          "splitlines", "index",    "rindex",  "removeprefix", "removesuffix", "center",
                                          "ljust",      "rjust",    "zfill",   NULL};
static const char *const DICT_METHODS[] = {"get",   "items", "keys",       "values",  "pop",     "update",
                                           "copy",  "clear", "setdefault", "popitem", "fromkeys", NULL};
static const char *const LIST_METHODS[] = {"append", "pop",     "extend", "insert", "remove", "reverse",
                                           "sort",   "index",   "count",  "copy",   "clear",  NULL};

static bool in_names(const char *const *names, const char *s, size_t n) {
  for (; *names; names++)
    if (strlen(*names) == n && memcmp(*names, s, n) == 0) return true;
  return false;
}

static int bound(jx *x, jv obj, const char *name, size_t n, jv *out) {
  jv_bound *b = jx_alloc(x, sizeof *b);
  jv nm;
  if (!b || jv_str(x, name, n, &nm)) return x->err->code;
  b->obj = obj;
  b->name = nm.s;
  *out = (jv){.t = JV_BOUND, .bound = b, .n = n};
  return PAGEDVK_OK;
}

int jb_getattr(jx *x, jv obj, const char *name, size_t n, jv *out) {
  switch (obj.t) {
  case JV_UNDEF: return jb_undefined_error(x, obj);
  case JV_DICT: {
    if (in_names(DICT_METHODS, name, n)) return bound(x, obj, name, n, out);
    long i = jv_dict_find_str(obj.d, name, n);
    *out = i >= 0 ? obj.d->v[i] : jv_undef(name, n);
    return PAGEDVK_OK;
  }
  case JV_NS: {
    long i = jv_dict_find_str(obj.d, name, n);
    *out = i >= 0 ? obj.d->v[i] : jv_undef(name, n);
    return PAGEDVK_OK;
  }
  case JV_STR:
    if (in_names(STR_METHODS, name, n)) return bound(x, obj, name, n, out);
    break;
  case JV_LIST:
    if (in_names(LIST_METHODS, name, n)) return bound(x, obj, name, n, out);
    break;
  default: break;
  }
  *out = jv_undef(name, n);
  return PAGEDVK_OK;
}

static bool index_of(jv key, size_t len, size_t *at) {
  if (key.t != JV_INT && key.t != JV_BOOL) return false;
  int64_t k = ival(key);
  if (k < 0) k += (int64_t)len;
  if (k < 0 || (uint64_t)k >= len) return false;
  *at = (size_t)k;
  return true;
}

int jb_getitem(jx *x, jv obj, jv key, jv *out) {
  size_t at;
  switch (obj.t) {
  case JV_UNDEF: return jb_undefined_error(x, obj);
  case JV_DICT:
  case JV_NS: {
    long i = jv_dict_find(x, obj.d, key);
    if (i == -2) return x->err->code;
    if (i >= 0) {
      *out = obj.d->v[i];
      return PAGEDVK_OK;
    }
    break;
  }
  case JV_LIST:
    if (index_of(key, obj.l->n, &at)) {
      *out = obj.l->v[at];
      return PAGEDVK_OK;
    }
    break;
  case JV_STR:
    if (key.t == JV_INT || key.t == JV_BOOL) {
      size_t len = jv_str_cplen(obj.s, obj.n);
      if (index_of(key, len, &at)) {
        size_t a = jv_str_cpoff(obj.s, obj.n, at), b = jv_str_cpoff(obj.s, obj.n, at + 1);
        *out = jv_strref(obj.s + a, b - a);
        return PAGEDVK_OK;
      }
    }
    break;
  default: break;
  }
  if (key.t == JV_STR && obj.t != JV_DICT) return jb_getattr(x, obj, key.s, key.n, out);
  if (key.t == JV_STR) {
    *out = jv_undef(key.s, key.n);
    return PAGEDVK_OK;
  }
  *out = jv_undef("", 0);
  return PAGEDVK_OK;
}

/* Python's slice.indices: *start, *stop, *step and the count of items. */
static int slice_indices(jx *x, jv a, jv b, jv c, int64_t len, int64_t *st, int64_t *step, int64_t *count) {
  int64_t s = 1;
  if (c.t != JV_UNDEF && c.t != JV_NONE) {
    if (c.t != JV_INT && c.t != JV_BOOL)
      return pv_fail(x->err, PAGEDVK_ERR_INVALID, "slice indices must be integers or None");
    s = ival(c);
  }
  if (s == 0) return pv_fail(x->err, PAGEDVK_ERR_INVALID, "slice step cannot be zero");
  int64_t lo = s < 0 ? -1 : 0, hi = s < 0 ? len - 1 : len;
  int64_t v[2] = {s < 0 ? hi : lo, s < 0 ? lo : hi};
  jv in[2] = {a, b};
  for (int k = 0; k < 2; k++) {
    if (in[k].t == JV_UNDEF || in[k].t == JV_NONE) continue;
    if (in[k].t != JV_INT && in[k].t != JV_BOOL)
      return pv_fail(x->err, PAGEDVK_ERR_INVALID, "slice indices must be integers or None");
    int64_t i = ival(in[k]);
    if (i < 0) {
      i += len;
      if (i < lo) i = lo;
    } else if (i > hi) {
      i = hi;
    }
    v[k] = i;
  }
  *st = v[0];
  *step = s;
  if (s > 0) *count = v[1] > v[0] ? (int64_t)(((__int128)v[1] - v[0] + s - 1) / s) : 0;
  else *count = v[0] > v[1] ? (int64_t)(((__int128)v[0] - v[1] - (__int128)s - 1) / -(__int128)s) : 0;
  return PAGEDVK_OK;
}

int jb_slice(jx *x, jv obj, jv a, jv b, jv c, jv *out) {
  if (obj.t == JV_UNDEF) return jb_undefined_error(x, obj);
  if (obj.t != JV_LIST && obj.t != JV_STR) {
    *out = jv_undef("", 0);
    return PAGEDVK_OK;
  }
  int64_t len = obj.t == JV_LIST ? (int64_t)obj.l->n : (int64_t)jv_str_cplen(obj.s, obj.n);
  int64_t st = 0, step = 1, count = 0;
  int rc = slice_indices(x, a, b, c, len, &st, &step, &count);
  if (!rc) rc = jx_charge(x, (uint64_t)count / 8);
  if (rc) return rc;
  if (obj.t == JV_LIST) {
    rc = jv_list_new(x, (size_t)count, out);
    for (int64_t k = 0; !rc && k < count; k++) out->l->v[k] = obj.l->v[st + k * step];
    if (!rc) out->tuple = obj.tuple;
    return rc;
  }
  if (step == 1) { /* a plain range of code points: no copy */
    size_t p = jv_str_cpoff(obj.s, obj.n, (size_t)st), q = jv_str_cpoff(obj.s, obj.n, (size_t)(st + count));
    *out = jv_strref(obj.s + p, q - p);
    return PAGEDVK_OK;
  }
  /* offsets of every code point, then pick */
  size_t *offs = jx_alloc(x, ((size_t)len + 1) * sizeof *offs);
  if (!offs) return x->err->code;
  size_t k = 0;
  for (size_t i = 0; i < obj.n; i++)
    if (((unsigned char)obj.s[i] & 0xC0) != 0x80) offs[k++] = i;
  offs[k] = obj.n;
  char *p = jx_alloc(x, obj.n + 1);
  if (!p) return x->err->code;
  size_t n = 0;
  for (int64_t i = 0; i < count; i++) {
    int64_t at = st + i * step;
    size_t l = offs[at + 1] - offs[at];
    memcpy(p + n, obj.s + offs[at], l);
    n += l;
  }
  p[n] = 0;
  *out = jv_strref(p, n);
  return PAGEDVK_OK;
}

int jb_iterate(jx *x, jv v, jv *list) {
  switch (v.t) {
  case JV_LIST: *list = v; list->tuple = 0; return PAGEDVK_OK;
  case JV_UNDEF: return jv_list_new(x, 0, list);
  case JV_DICT: {
    int rc = jv_list_new(x, v.d->n, list);
    for (size_t i = 0; !rc && i < v.d->n; i++) list->l->v[i] = v.d->k[i];
    return rc;
  }
  case JV_STR: {
    size_t n = jv_str_cplen(v.s, v.n);
    int rc = jv_list_new(x, n, list);
    for (size_t i = 0, k = 0; !rc && i < v.n; k++) {
      size_t l = cp_len(v.s + i, v.n - i);
      list->l->v[k] = jv_strref(v.s + i, l);
      i += l;
    }
    return rc;
  }
  default:
    return pv_fail(x->err, PAGEDVK_ERR_INVALID, "'%s' object is not iterable", jv_type_name(v));
  }
}

/* ---- methods ---- */

static jv arg(const jargs *a, size_t i, const char *kw) {
  if (i < a->n) return a->v[i];
  for (size_t k = 0; kw && k < a->nk; k++)
    if (!strcmp(a->kn[k], kw)) return a->kv[k];
  return jv_undef("", 0);
}

static bool given(jv v) { return v.t != JV_UNDEF; }

static int need_str(jx *x, jv v, const char *what) {
  if (v.t == JV_STR) return PAGEDVK_OK;
  return pv_fail(x->err, PAGEDVK_ERR_INVALID, "%s: expected a string, got %s", what, jv_type_name(v));
}

static int split_ws(jx *x, jv s, int64_t maxsplit, bool right, jv *out) {
  jv parts[2] = {0};
  (void)parts;
  /* collect word spans */
  size_t cap = 8, n = 0;
  jv *w = jx_alloc(x, cap * sizeof *w);
  if (!w) return x->err->code;
  if (!right) {
    size_t i = 0;
    while (i < s.n) {
      size_t l;
      while (i < s.n && (l = jb_space_len(s.s + i, s.n - i))) i += l;
      if (i >= s.n) break;
      size_t st = i;
      if (maxsplit >= 0 && (int64_t)n == maxsplit) { /* the rest, as it is */
        if (n == cap) {
          jv *nw = jx_alloc(x, cap * 2 * sizeof *nw);
          if (!nw) return x->err->code;
          memcpy(nw, w, n * sizeof *nw);
          w = nw;
          cap *= 2;
        }
        w[n++] = jv_strref(s.s + st, s.n - st);
        break;
      }
      while (i < s.n && !jb_space_len(s.s + i, s.n - i)) i += cp_len(s.s + i, s.n - i);
      if (n == cap) {
        jv *nw = jx_alloc(x, cap * 2 * sizeof *nw);
        if (!nw) return x->err->code;
        memcpy(nw, w, n * sizeof *nw);
        w = nw;
        cap *= 2;
      }
      w[n++] = jv_strref(s.s + st, i - st);
    }
  } else {
    /* rsplit without a separator: split from the right, then reverse */
    jv stripped; /* only the right end: a remainder keeps its leading whitespace */
    jb_strip(x, s, jv_none(), 2, &stripped);
    jv all;
    int rc = split_ws(x, stripped, -1, false, &all);
    if (rc) return rc;
    if (maxsplit < 0 || (size_t)maxsplit >= all.l->n) {
      *out = all;
      return PAGEDVK_OK;
    }
    /* keep the last maxsplit words; the rest is the prefix up to them */
    size_t keep = (size_t)maxsplit, first = all.l->n - keep;
    rc = jv_list_new(x, keep + 1, out);
    if (rc) return rc;
    const jv *fw = &all.l->v[first - 1];
    out->l->v[0] = jv_strref(stripped.s, (size_t)(fw->s + fw->n - stripped.s));
    for (size_t k = 0; k < keep; k++) out->l->v[k + 1] = all.l->v[first + k];
    return PAGEDVK_OK;
  }
  int rc = jv_list_new(x, 0, out);
  if (!rc) {
    out->l->v = w;
    out->l->n = n;
  }
  return rc;
}

static int split_sep(jx *x, jv s, jv sep, int64_t maxsplit, bool right, jv *out) {
  if (sep.n == 0) return pv_fail(x->err, PAGEDVK_ERR_INVALID, "empty separator");
  size_t count = 0;
  for (const char *p = s.s; (p = memmem(p, s.n - (size_t)(p - s.s), sep.s, sep.n)); p += sep.n) count++;
  if (maxsplit >= 0 && (size_t)maxsplit < count) count = (size_t)maxsplit;
  int rc = jv_list_new(x, count + 1, out);
  if (rc) return rc;
  if (!right) {
    const char *p = s.s;
    for (size_t k = 0; k < count; k++) {
      const char *q = memmem(p, s.n - (size_t)(p - s.s), sep.s, sep.n);
      out->l->v[k] = jv_strref(p, (size_t)(q - p));
      p = q + sep.n;
    }
    out->l->v[count] = jv_strref(p, s.n - (size_t)(p - s.s));
    return PAGEDVK_OK;
  }
  size_t end = s.n;
  for (size_t k = 0; k < count; k++) {
    size_t at = end - sep.n;
    while (memcmp(s.s + at, sep.s, sep.n) != 0) at--;
    out->l->v[count - k] = jv_strref(s.s + at + sep.n, end - at - sep.n);
    end = at;
  }
  out->l->v[0] = jv_strref(s.s, end);
  return PAGEDVK_OK;
}

int jb_replace(jx *x, jv s, jv old, jv new_, int64_t count, jv *out) {
  jsb b;
  jsb_init(&b, x, x->max_mem);
  int rc = PAGEDVK_OK;
  int64_t done = 0;
  if (old.n == 0) { /* between every character, and at both ends */
    for (size_t i = 0; !rc && i <= s.n;) {
      if (count < 0 || done < count) {
        rc = jsb_put(&b, new_.s, new_.n);
        done++;
      }
      if (i == s.n) break;
      size_t l = cp_len(s.s + i, s.n - i);
      if (!rc) rc = jsb_put(&b, s.s + i, l);
      i += l;
    }
  } else {
    const char *p = s.s, *end = s.s + s.n;
    while (!rc) {
      const char *q = (count < 0 || done < count) ? memmem(p, (size_t)(end - p), old.s, old.n) : NULL;
      if (!q) {
        rc = jsb_put(&b, p, (size_t)(end - p));
        break;
      }
      rc = jsb_put(&b, p, (size_t)(q - p));
      if (!rc) rc = jsb_put(&b, new_.s, new_.n);
      p = q + old.n;
      done++;
    }
  }
  if (!rc) rc = jsb_to_str(&b, out);
  jsb_free(&b);
  return rc;
}

static bool affix(jv s, jv p, bool end) {
  if (p.t != JV_STR || p.n > s.n) return false;
  return memcmp(end ? s.s + s.n - p.n : s.s, p.s, p.n) == 0;
}

static int starts_ends(jx *x, jv s, jv p, bool end, jv *out) {
  bool r = false;
  if (p.t == JV_LIST) {
    for (size_t i = 0; i < p.l->n && !r; i++) r = affix(s, p.l->v[i], end);
  } else if (p.t == JV_STR) {
    r = affix(s, p, end);
  } else {
    return pv_fail(x->err, PAGEDVK_ERR_INVALID, "%s arg must be str or a tuple of str, not %s",
                   end ? "endswith" : "startswith", jv_type_name(p));
  }
  *out = jv_bool(r);
  return PAGEDVK_OK;
}

/* str.format: {} {0} {name} {{ }}; format specs after ':' are ignored. */
static int str_format(jx *x, jv fmt, const jargs *a, jv *out) {
  jsb b;
  jsb_init(&b, x, x->max_mem);
  size_t auto_i = 0;
  int rc = PAGEDVK_OK;
  for (size_t i = 0; !rc && i < fmt.n; i++) {
    char c = fmt.s[i];
    if ((c == '{' || c == '}') && i + 1 < fmt.n && fmt.s[i + 1] == c) {
      rc = jsb_putc(&b, c);
      i++;
      continue;
    }
    if (c != '{') {
      rc = jsb_putc(&b, c);
      continue;
    }
    size_t close = i + 1;
    while (close < fmt.n && fmt.s[close] != '}') close++;
    if (close >= fmt.n) {
      rc = pv_fail(x->err, PAGEDVK_ERR_INVALID, "Single '{' encountered in format string");
      break;
    }
    size_t fe = i + 1;
    while (fe < close && fmt.s[fe] != ':' && fmt.s[fe] != '!') fe++;
    jv v = jv_undef("", 0);
    if (fe == i + 1) {
      v = arg(a, auto_i++, NULL);
    } else if (fmt.s[i + 1] >= '0' && fmt.s[i + 1] <= '9') {
      v = arg(a, (size_t)strtoul(fmt.s + i + 1, NULL, 10), NULL);
    } else {
      for (size_t k = 0; k < a->nk; k++)
        if (strlen(a->kn[k]) == fe - i - 1 && !memcmp(a->kn[k], fmt.s + i + 1, fe - i - 1)) v = a->kv[k];
    }
    if (v.t == JV_UNDEF) {
      rc = pv_fail(x->err, PAGEDVK_ERR_INVALID, "format: no argument for the field '%.*s'", (int)(close - i - 1),
                   fmt.s + i + 1);
      break;
    }
    rc = jv_print(&b, v);
    i = close;
  }
  if (!rc) rc = jsb_to_str(&b, out);
  jsb_free(&b);
  return rc;
}

static int str_find(jv s, jv sub, bool right, int64_t *at, int64_t *count) {
  *at = -1;
  *count = 0;
  if (sub.n == 0) {
    *at = right ? (int64_t)jv_str_cplen(s.s, s.n) : 0;
    *count = (int64_t)jv_str_cplen(s.s, s.n) + 1;
    return PAGEDVK_OK;
  }
  for (const char *p = s.s; (p = memmem(p, s.n - (size_t)(p - s.s), sub.s, sub.n)); p += sub.n) {
    int64_t cp = (int64_t)jv_str_cplen(s.s, (size_t)(p - s.s));
    if (*at < 0 || right) *at = cp;
    (*count)++;
  }
  return PAGEDVK_OK;
}

static int str_is(jv s, const char *name, jv *out) {
  bool r = s.n > 0, cased = false;
  for (size_t i = 0; i < s.n; i++) {
    unsigned char c = (unsigned char)s.s[i];
    bool dig = c >= '0' && c <= '9', up = c >= 'A' && c <= 'Z', low = c >= 'a' && c <= 'z';
    if (up || low) cased = true;
    if (!strcmp(name, "isdigit")) r = r && dig;
    else if (!strcmp(name, "isalpha")) r = r && (up || low);
    else if (!strcmp(name, "isalnum")) r = r && (up || low || dig);
    else if (!strcmp(name, "isspace")) r = r && jb_space_len(s.s + i, s.n - i);
    else if (!strcmp(name, "isupper")) r = r && !low;
    else if (!strcmp(name, "islower")) r = r && !up;
  }
  if (!strcmp(name, "isupper") || !strcmp(name, "islower")) r = r && cased;
  *out = jv_bool(r);
  return PAGEDVK_OK;
}

static int splitlines(jx *x, jv s, jv *out) {
  jv parts;
  int rc = jv_list_new(x, 0, &parts);
  size_t n = 0, cap = 0;
  jv *w = NULL;
  for (size_t i = 0, st = 0; !rc && i <= s.n; i++) {
    bool brk = i < s.n && (s.s[i] == '\n' || s.s[i] == '\r');
    if (!brk && i < s.n) continue;
    if (i == s.n && st == s.n) break;
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 8;
      jv *nw = jx_alloc(x, nc * sizeof *nw);
      if (!nw) return x->err->code;
      if (n) memcpy(nw, w, n * sizeof *nw);
      w = nw;
      cap = nc;
    }
    w[n++] = jv_strref(s.s + st, i - st);
    if (i < s.n && s.s[i] == '\r' && i + 1 < s.n && s.s[i + 1] == '\n') i++;
    st = i + 1;
  }
  if (rc) return rc;
  parts.l->v = w;
  parts.l->n = n;
  *out = parts;
  return PAGEDVK_OK;
}

static int int_arg(jx *x, jv v, int64_t def, int64_t *out) {
  if (!given(v) || v.t == JV_NONE) {
    *out = def;
    return PAGEDVK_OK;
  }
  if (v.t != JV_INT && v.t != JV_BOOL) return pv_fail(x->err, PAGEDVK_ERR_INVALID, "expected an integer argument");
  *out = ival(v);
  return PAGEDVK_OK;
}

static int str_method(jx *x, jv s, const char *m, const jargs *a, jv *out) {
  jv a0 = arg(a, 0, NULL);
  int64_t num;
  if (!strcmp(m, "startswith") || !strcmp(m, "endswith")) return starts_ends(x, s, a0, m[0] == 'e', out);
  if (!strcmp(m, "strip")) return jb_strip(x, s, a0, 3, out);
  if (!strcmp(m, "lstrip")) return jb_strip(x, s, a0, 1, out);
  if (!strcmp(m, "rstrip")) return jb_strip(x, s, a0, 2, out);
  if (!strcmp(m, "split") || !strcmp(m, "rsplit")) {
    jv sep = arg(a, 0, "sep");
    if (int_arg(x, arg(a, 1, "maxsplit"), -1, &num)) return x->err->code;
    if (jx_charge(x, s.n / 16)) return x->err->code;
    if (!given(sep) || sep.t == JV_NONE) return split_ws(x, s, num, m[0] == 'r', out);
    if (need_str(x, sep, m)) return x->err->code;
    return split_sep(x, s, sep, num, m[0] == 'r', out);
  }
  if (!strcmp(m, "replace")) {
    jv b1 = arg(a, 1, NULL);
    if (need_str(x, a0, m) || need_str(x, b1, m) || int_arg(x, arg(a, 2, "count"), -1, &num)) return x->err->code;
    return jb_replace(x, s, a0, b1, num, out);
  }
  if (!strcmp(m, "upper")) return jb_case(x, s, 'u', out);
  if (!strcmp(m, "lower")) return jb_case(x, s, 'l', out);
  if (!strcmp(m, "title")) return jb_case(x, s, 't', out);
  if (!strcmp(m, "swapcase")) return jb_case(x, s, 's', out);
  if (!strcmp(m, "capitalize")) return jb_case(x, s, 'c', out);
  if (!strcmp(m, "format")) return str_format(x, s, a, out);
  if (!strcmp(m, "find") || !strcmp(m, "rfind") || !strcmp(m, "count") || !strcmp(m, "index") ||
      !strcmp(m, "rindex")) {
    int64_t at, count;
    if (need_str(x, a0, m)) return x->err->code;
    str_find(s, a0, m[0] == 'r', &at, &count);
    if (m[0] == 'c') *out = jv_int(count);
    else if (at < 0 && (m[0] == 'i' || m[1] == 'i')) return pv_fail(x->err, PAGEDVK_ERR_INVALID, "substring not found");
    else *out = jv_int(at);
    return PAGEDVK_OK;
  }
  if (!strcmp(m, "removeprefix") || !strcmp(m, "removesuffix")) {
    bool suf = m[6] == 's';
    *out = s;
    if (need_str(x, a0, m)) return x->err->code;
    if (affix(s, a0, suf)) *out = jv_strref(suf ? s.s : s.s + a0.n, s.n - a0.n);
    return PAGEDVK_OK;
  }
  if (!strcmp(m, "join")) {
    jv items;
    jsb b;
    int rc = jb_iterate(x, a0, &items);
    if (rc) return rc;
    jsb_init(&b, x, x->max_mem);
    for (size_t i = 0; !rc && i < items.l->n; i++) {
      if (i) rc = jsb_put(&b, s.s, s.n);
      if (!rc) rc = jv_print(&b, items.l->v[i]);
    }
    if (!rc) rc = jsb_to_str(&b, out);
    jsb_free(&b);
    return rc;
  }
  if (!strcmp(m, "splitlines")) return splitlines(x, s, out);
  if (!strcmp(m, "center") || !strcmp(m, "ljust") || !strcmp(m, "rjust") || !strcmp(m, "zfill")) {
    int64_t width;
    jv fill = m[0] == 'z' ? jv_strref("0", 1) : arg(a, 1, "fillchar");
    if (int_arg(x, a0, 0, &width)) return x->err->code;
    if (fill.t != JV_STR) fill = jv_strref(" ", 1);
    size_t len = jv_str_cplen(s.s, s.n);
    if (width > 100000) return pv_fail(x->err, PAGEDVK_ERR_INVALID, "%s: width too big", m);
    size_t pad = width > (int64_t)len ? (size_t)width - len : 0;
    size_t left = m[0] == 'c' ? pad / 2 + (pad & (size_t)width & 1) : m[0] == 'r' || m[0] == 'z' ? pad : 0;
    jsb b;
    jsb_init(&b, x, x->max_mem);
    int rc = PAGEDVK_OK;
    size_t sign = m[0] == 'z' && s.n && (s.s[0] == '-' || s.s[0] == '+');
    if (sign) rc = jsb_put(&b, s.s, 1);
    for (size_t k = 0; !rc && k < left; k++) rc = jsb_put(&b, fill.s, fill.n);
    if (!rc) rc = jsb_put(&b, s.s + sign, s.n - sign);
    for (size_t k = left; !rc && k < pad; k++) rc = jsb_put(&b, fill.s, fill.n);
    if (!rc) rc = jsb_to_str(&b, out);
    jsb_free(&b);
    return rc;
  }
  if (!strncmp(m, "is", 2)) return str_is(s, m, out);
  return pv_fail(x->err, PAGEDVK_ERR_INVALID, "str has no method %s", m);
}

static int dict_method(jx *x, jv d, const char *m, const jargs *a, jv *out) {
  if (!strcmp(m, "get")) {
    jv k = arg(a, 0, NULL), def = arg(a, 1, "default");
    long i = jv_dict_find(x, d.d, k);
    if (i == -2) return x->err->code;
    *out = i >= 0 ? d.d->v[i] : given(def) ? def : jv_none();
    return PAGEDVK_OK;
  }
  bool items = !strcmp(m, "items"), keys = !strcmp(m, "keys"), values = !strcmp(m, "values");
  if (items || keys || values) {
    int rc = jv_list_new(x, d.d->n, out);
    for (size_t i = 0; !rc && i < d.d->n; i++) {
      if (keys) out->l->v[i] = d.d->k[i];
      else if (values) out->l->v[i] = d.d->v[i];
      else {
        jv pair;
        rc = jv_list_new(x, 2, &pair);
        if (rc) break;
        pair.tuple = 1;
        pair.l->v[0] = d.d->k[i];
        pair.l->v[1] = d.d->v[i];
        out->l->v[i] = pair;
      }
    }
    return rc;
  }
  if (!strcmp(m, "copy")) {
    int rc = jv_dict_new(x, d.d->n, JV_DICT, out);
    for (size_t i = 0; !rc && i < d.d->n; i++) rc = jv_dict_set(x, out->d, d.d->k[i], d.d->v[i]);
    return rc;
  }
  return pv_fail(x->err, PAGEDVK_ERR_INVALID, "access to attribute '%s' of 'dict' object is unsafe.", m);
}

static int list_method(jx *x, jv l, const char *m, const jargs *a, jv *out) {
  jv a0 = arg(a, 0, NULL);
  if (!strcmp(m, "index") || !strcmp(m, "count")) {
    int64_t count = 0, at = -1;
    for (size_t i = 0; i < l.l->n; i++)
      if (jv_equal(l.l->v[i], a0)) {
        if (at < 0) at = (int64_t)i;
        count++;
      }
    if (m[0] == 'i' && at < 0) return pv_fail(x->err, PAGEDVK_ERR_INVALID, "value is not in list");
    *out = jv_int(m[0] == 'c' ? count : at);
    return PAGEDVK_OK;
  }
  if (!strcmp(m, "copy")) return jb_slice(x, l, jv_undef("", 0), jv_undef("", 0), jv_undef("", 0), out);
  return pv_fail(x->err, PAGEDVK_ERR_INVALID, "access to attribute '%s' of 'list' object is unsafe.", m);
}

int jb_call_method(jx *x, jv obj, const char *name, const jargs *a, jv *out) {
  switch (obj.t) {
  case JV_STR: return str_method(x, obj, name, a, out);
  case JV_DICT: return dict_method(x, obj, name, a, out);
  case JV_LIST: return list_method(x, obj, name, a, out);
  default: return pv_fail(x->err, PAGEDVK_ERR_INVALID, "'%s' object has no method %s", jv_type_name(obj), name);
  }
}
