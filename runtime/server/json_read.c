/*
 * json_read.c — the bounded JSON reader for request bodies (see json.h for the limits and the
 * memory they bound). Recursive descent, at most SJ_MAX_DEPTH deep; every value takes one node,
 * every object key one more; nodes grow by doubling and never past SJ_MAX_VALUES.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

typedef struct sj_reader {
  sj_doc *d;
  const char *s;
  size_t n, i;
  sj_status st;
  const char *what;
} sj_reader;

static uint32_t fail(sj_reader *r, sj_status st, const char *what) {
  if (r->st == SJ_OK) {
    r->st = st;
    r->what = what;
  }
  return SJ_NONE;
}

static void skip_ws(sj_reader *r) {
  while (r->i < r->n && (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' || r->s[r->i] == '\r')) r->i++;
}

static uint32_t new_node(sj_reader *r, sj_type t) {
  sj_doc *d = r->d;
  if (d->n_nodes >= SJ_MAX_VALUES) return fail(r, SJ_TOO_MANY, "more than " SJ_MAX_VALUES_TEXT " values");
  if (!srv_grow((void **)&d->nodes, &d->cap_nodes, d->n_nodes + 1, sizeof *d->nodes, 64))
    return fail(r, SJ_NOMEM, "out of memory");
  uint32_t k = (uint32_t)d->n_nodes++;
  d->nodes[k] = (sj_node){.type = (uint8_t)t, .off = SJ_NONE, .next = SJ_NONE};
  return k;
}

static int hex4(sj_reader *r, uint32_t *out) {
  if (r->n - r->i < 4) return -1;
  uint32_t v = 0;
  for (int k = 0; k < 4; k++) {
    char c = r->s[r->i + (size_t)k];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
    else return -1;
  }
  r->i += 4;
  *out = v;
  return 0;
}

/* Code point (lone surrogates included, as their 3-byte form) into the decode area. */
static void put_cp(sj_doc *d, uint32_t cp) {
  char *o = d->strs + d->n_strs;
  if (cp < 0x80) {
    o[0] = (char)cp;
    d->n_strs += 1;
  } else if (cp < 0x800) {
    o[0] = (char)(0xC0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 0x3F));
    d->n_strs += 2;
  } else if (cp < 0x10000) {
    o[0] = (char)(0xE0 | cp >> 12);
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    d->n_strs += 3;
  } else {
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    d->n_strs += 4;
  }
}

/* One escape after the backslash, decoded into the area (never longer than its source text). */
static int escape(sj_reader *r) {
  sj_doc *d = r->d;
  if (r->i >= r->n) return -1;
  char c = r->s[r->i++];
  const char *map = "\"\"\\\\//b\bf\fn\nr\rt\t";
  for (const char *m = map; *m; m += 2)
    if (*m == c) {
      d->strs[d->n_strs++] = m[1];
      return 0;
    }
  if (c != 'u') return -1;
  uint32_t cp, lo;
  if (hex4(r, &cp)) return -1;
  if (cp >= 0xD800 && cp < 0xDC00 && r->n - r->i >= 6 && r->s[r->i] == '\\' && r->s[r->i + 1] == 'u') {
    size_t save = r->i;
    r->i += 2;
    if (hex4(r, &lo)) return -1;
    if (lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    else r->i = save; /* a lone high surrogate; the next escape is read on its own */
  }
  put_cp(d, cp);
  return 0;
}

static uint32_t string(sj_reader *r) {
  uint32_t k = new_node(r, SJ_STRING);
  if (k == SJ_NONE) return k;
  sj_doc *d = r->d;
  size_t start = ++r->i; /* past the quote */
  while (r->i < r->n && r->s[r->i] != '"' && r->s[r->i] != '\\') r->i++;
  if (r->i >= r->n) return fail(r, SJ_SYNTAX, "unterminated string");
  if (r->s[r->i] == '"') { /* no escapes: the bytes stay in the source */
    d->nodes[k].off = (uint32_t)start;
    d->nodes[k].len = (uint32_t)(r->i - start);
    r->i++;
    return k;
  }
  if (!d->strs && !(d->strs = malloc(r->n ? r->n : 1))) return fail(r, SJ_NOMEM, "out of memory");
  size_t at = d->n_strs;
  memcpy(d->strs + at, r->s + start, r->i - start);
  d->n_strs += r->i - start;
  for (;;) {
    if (r->i >= r->n) return fail(r, SJ_SYNTAX, "unterminated string");
    char c = r->s[r->i];
    if (c == '"') break;
    if (c == '\\') {
      r->i++;
      if (escape(r)) return fail(r, SJ_SYNTAX, "bad escape in a string");
    } else {
      d->strs[d->n_strs++] = c;
      r->i++;
    }
  }
  r->i++;
  d->nodes[k].decoded = 1;
  d->nodes[k].off = (uint32_t)at;
  d->nodes[k].len = (uint32_t)(d->n_strs - at);
  return k;
}

static bool digit(sj_reader *r) { return r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9'; }

static uint32_t number(sj_reader *r) {
  uint32_t k = new_node(r, SJ_NUMBER);
  if (k == SJ_NONE) return k;
  size_t start = r->i;
  if (r->s[r->i] == '-') r->i++;
  if (!digit(r)) return fail(r, SJ_SYNTAX, "bad number");
  if (r->s[r->i] == '0') r->i++;
  else
    while (digit(r)) r->i++;
  if (r->i < r->n && r->s[r->i] == '.') {
    r->i++;
    if (!digit(r)) return fail(r, SJ_SYNTAX, "bad number");
    while (digit(r)) r->i++;
  }
  if (r->i < r->n && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
    r->i++;
    if (r->i < r->n && (r->s[r->i] == '+' || r->s[r->i] == '-')) r->i++;
    if (!digit(r)) return fail(r, SJ_SYNTAX, "bad number");
    while (digit(r)) r->i++;
  }
  if (r->i - start > SJ_MAX_NUMBER) return fail(r, SJ_NUMBER_TOO_LONG, "a number longer than " SJ_MAX_NUMBER_TEXT " characters");
  r->d->nodes[k].off = (uint32_t)start;
  r->d->nodes[k].len = (uint32_t)(r->i - start);
  return k;
}

static uint32_t word(sj_reader *r, const char *w, sj_type t) {
  size_t n = strlen(w);
  if (r->n - r->i < n || memcmp(r->s + r->i, w, n)) return fail(r, SJ_SYNTAX, "unexpected character");
  r->i += n;
  return new_node(r, t);
}

static uint32_t value(sj_reader *r, int depth);

/* Links child after *last (or as the first child of parent). */
static void link_child(sj_reader *r, uint32_t parent, uint32_t *last, uint32_t child) {
  if (*last == SJ_NONE) r->d->nodes[parent].off = child;
  else r->d->nodes[*last].next = child;
  *last = child;
}

static uint32_t container(sj_reader *r, int depth, bool object) {
  if (depth >= SJ_MAX_DEPTH) return fail(r, SJ_TOO_DEEP, "arrays and objects nested more than " SJ_MAX_DEPTH_TEXT " deep");
  uint32_t k = new_node(r, object ? SJ_OBJECT : SJ_ARRAY);
  if (k == SJ_NONE) return k;
  char close = object ? '}' : ']';
  r->i++;
  skip_ws(r);
  if (r->i < r->n && r->s[r->i] == close) {
    r->i++;
    return k;
  }
  uint32_t last = SJ_NONE;
  for (;;) {
    skip_ws(r);
    if (object) {
      if (r->i >= r->n || r->s[r->i] != '"') return fail(r, SJ_SYNTAX, "expected a key");
      uint32_t key = string(r);
      if (key == SJ_NONE) return key;
      link_child(r, k, &last, key);
      skip_ws(r);
      if (r->i >= r->n || r->s[r->i] != ':') return fail(r, SJ_SYNTAX, "expected ':'");
      r->i++;
    }
    uint32_t v = value(r, depth + 1);
    if (v == SJ_NONE) return v;
    link_child(r, k, &last, v);
    r->d->nodes[k].len++;
    skip_ws(r);
    if (r->i < r->n && r->s[r->i] == ',') {
      r->i++;
      continue;
    }
    if (r->i < r->n && r->s[r->i] == close) {
      r->i++;
      return k;
    }
    return fail(r, SJ_SYNTAX, object ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

static uint32_t value(sj_reader *r, int depth) {
  skip_ws(r);
  if (r->i >= r->n) return fail(r, SJ_SYNTAX, "unexpected end");
  char c = r->s[r->i];
  switch (c) {
    case '{': return container(r, depth, true);
    case '[': return container(r, depth, false);
    case '"': return string(r);
    case 't': return word(r, "true", SJ_TRUE);
    case 'f': return word(r, "false", SJ_FALSE);
    case 'n': return word(r, "null", SJ_NULL);
    default:
      if (c == '-' || (c >= '0' && c <= '9')) return number(r);
      return fail(r, SJ_SYNTAX, "unexpected character");
  }
}

sj_status sj_parse(sj_doc *d, const char *text, size_t len, char *msg, size_t msg_size) {
  memset(d, 0, sizeof *d);
  d->src = text;
  d->src_len = len;
  sj_reader r = {.d = d, .s = text, .n = len};
  if (len >= UINT32_MAX) {
    fail(&r, SJ_TOO_BIG, "the body is 4 GiB or more");
  } else if (value(&r, 0) != SJ_NONE) {
    skip_ws(&r);
    if (r.i != r.n) fail(&r, SJ_SYNTAX, "trailing characters");
  }
  if (r.st == SJ_OK) return SJ_OK;
  if (msg && msg_size) snprintf(msg, msg_size, "%s at byte %zu", r.what, r.i);
  sj_free(d);
  return r.st;
}

void sj_free(sj_doc *d) {
  free(d->nodes);
  free(d->strs);
  memset(d, 0, sizeof *d);
}

bool sj_str_is(const sj_doc *d, uint32_t i, const char *s) {
  size_t n = strlen(s);
  return sj_type_of(d, i) == SJ_STRING && sj_len(d, i) == n && !memcmp(sj_bytes(d, i), s, n);
}

uint32_t sj_get(const sj_doc *d, uint32_t obj, const char *name) {
  if (obj == SJ_NONE || sj_type_of(d, obj) != SJ_OBJECT) return SJ_NONE;
  for (uint32_t k = sj_first(d, obj); k != SJ_NONE; k = sj_next(d, sj_next(d, k)))
    if (sj_str_is(d, k, name)) return sj_next(d, k);
  return SJ_NONE;
}

double sj_double(const sj_doc *d, uint32_t i) {
  char tmp[SJ_MAX_NUMBER + 1];
  size_t n = sj_len(d, i);
  memcpy(tmp, sj_bytes(d, i), n);
  tmp[n] = 0;
  return strtod(tmp, NULL);
}

bool sj_integer(const sj_doc *d, uint32_t i, bool *neg, uint64_t *mag) {
  const char *s = sj_bytes(d, i);
  size_t n = sj_len(d, i), k = 0;
  *neg = n && s[0] == '-';
  if (*neg) k++;
  uint64_t v = 0;
  for (; k < n && s[k] >= '0' && s[k] <= '9'; k++) {
    unsigned dgt = (unsigned)(s[k] - '0');
    if (v > (UINT64_MAX - dgt) / 10) return false;
    v = v * 10 + dgt;
  }
  if (k < n) { /* a fraction or an exponent: a whole number below 2^53 */
    double x = sj_double(d, i);
    if (!(fabs(x) < 9007199254740992.0) || x != floor(x)) return false;
    *neg = x < 0;
    v = (uint64_t)fabs(x);
  }
  *mag = v;
  if (v == 0) *neg = false;
  return true;
}
