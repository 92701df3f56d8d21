/*
 * gram_json.c — the JSON reader for schemas and the text buffer (gram_json.h states the shape).
 * Recursive descent bounded by PV_GJ_MAX_DEPTH; every failure frees what was built.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "sample/grammar/gram_json.h"

/* ---- the text buffer ---------------------------------------------------------------------------- */

void pv_sb_add(pv_sb *b, const char *s, size_t n) {
  if (b->failed) return;
  if (pv_grow((void **)&b->p, &b->cap, b->n + n + 1, 1, 256)) {
    b->failed = true;
    return;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

void pv_sb_puts(pv_sb *b, const char *s) { pv_sb_add(b, s, strlen(s)); }

void pv_sb_printf(pv_sb *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof tmp) {
    b->failed = true;
    return;
  }
  pv_sb_add(b, tmp, (size_t)n);
}

void pv_gj_write_str(pv_sb *b, const char *s, size_t n) {
  pv_sb_add(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"') pv_sb_add(b, "\\\"", 2);
    else if (c == '\\') pv_sb_add(b, "\\\\", 2);
    else if (c == '\n') pv_sb_add(b, "\\n", 2);
    else if (c == '\t') pv_sb_add(b, "\\t", 2);
    else if (c == '\r') pv_sb_add(b, "\\r", 2);
    else if (c < 0x20) pv_sb_printf(b, "\\u%04x", c);
    else pv_sb_add(b, s + i, 1);
  }
  pv_sb_add(b, "\"", 1);
}

void pv_gj_write(pv_sb *b, const pv_gj *v) {
  switch (v->kind) {
  case PV_GJ_NULL: pv_sb_puts(b, "null"); break;
  case PV_GJ_BOOL: pv_sb_puts(b, v->b ? "true" : "false"); break;
  case PV_GJ_NUM: pv_sb_add(b, v->s, v->len); break;
  case PV_GJ_STR: pv_gj_write_str(b, v->s, v->len); break;
  case PV_GJ_ARR:
    pv_sb_add(b, "[", 1);
    for (uint32_t i = 0; i < v->n; i++) {
      if (i) pv_sb_add(b, ",", 1);
      pv_gj_write(b, &v->kids[i]);
    }
    pv_sb_add(b, "]", 1);
    break;
  case PV_GJ_OBJ:
    pv_sb_add(b, "{", 1);
    for (uint32_t i = 0; i < v->n; i++) {
      if (i) pv_sb_add(b, ",", 1);
      pv_gj_write(b, &v->kids[2 * i]);
      pv_sb_add(b, ":", 1);
      pv_gj_write(b, &v->kids[2 * i + 1]);
    }
    pv_sb_add(b, "}", 1);
    break;
  }
}

/* ---- the reader --------------------------------------------------------------------------------- */

typedef struct reader {
  const char *s;
  size_t n, i;
  const char *what;
  pv_error *err;
} reader;

static int fail(reader *r, const char *msg) {
  unsigned line = 1, col = 1;
  for (size_t k = 0; k < r->i && k < r->n; k++) {
    if (r->s[k] == '\n') line++, col = 1;
    else if (((unsigned char)r->s[k] & 0xC0) != 0x80) col++;
  }
  return pv_fail(r->err, PAGEDVK_ERR_INVALID, "%s:%u:%u: %s", r->what, line, col, msg);
}

static void skip_ws(reader *r) {
  while (r->i < r->n && (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' || r->s[r->i] == '\r')) r->i++;
}

void pv_gj_free(pv_gj *v) {
  if (!v) return;
  const uint32_t n = v->kind == PV_GJ_OBJ ? 2 * v->n : v->kind == PV_GJ_ARR ? v->n : 0;
  for (uint32_t k = 0; k < n; k++) pv_gj_free(&v->kids[k]);
  free(v->kids);
  free(v->s);
  memset(v, 0, sizeof *v);
}

static int hex4(reader *r, uint32_t *out) {
  if (r->i + 4 > r->n) return fail(r, "short \\u escape");
  uint32_t v = 0;
  for (int k = 0; k < 4; k++) {
    char c = r->s[r->i++];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return fail(r, "bad \\u escape");
    v = v * 16 + (uint32_t)d;
  }
  *out = v;
  return PAGEDVK_OK;
}

static void put_utf8(pv_sb *b, uint32_t cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) u[0] = (char)cp, n = 1;
  else if (cp < 0x800) u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
  else if (cp < 0x10000)
    u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
  else
    u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3F)), u[2] = (char)(0x80 | (cp >> 6 & 0x3F)),
    u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
  pv_sb_add(b, u, n);
}

static int read_string(reader *r, pv_gj *out) {
  pv_sb b = {0};
  r->i++; /* the opening quote */
  int rc = PAGEDVK_OK;
  for (;;) {
    if (r->i >= r->n) {
      rc = fail(r, "unterminated string");
      break;
    }
    unsigned char c = (unsigned char)r->s[r->i];
    if (c == '"') {
      r->i++;
      break;
    }
    if (c < 0x20) {
      rc = fail(r, "control character in a string");
      break;
    }
    if (c != '\\') {
      pv_sb_add(&b, r->s + r->i++, 1);
      continue;
    }
    r->i++;
    char e = r->i < r->n ? r->s[r->i++] : '\0';
    const char *simple = strchr("\"\\/bfnrt", e);
    if (e && simple) {
      static const char map[] = "\"\\/\b\f\n\r\t";
      pv_sb_add(&b, &map[simple - "\"\\/bfnrt"], 1);
      continue;
    }
    if (e != 'u') {
      rc = fail(r, "unknown escape in a string");
      break;
    }
    uint32_t cp, lo;
    if ((rc = hex4(r, &cp))) break;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (r->i + 2 > r->n || r->s[r->i] != '\\' || r->s[r->i + 1] != 'u') {
        rc = fail(r, "lone surrogate in a \\u escape");
        break;
      }
      r->i += 2;
      if ((rc = hex4(r, &lo))) break;
      if (lo < 0xDC00 || lo > 0xDFFF) {
        rc = fail(r, "lone surrogate in a \\u escape");
        break;
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      rc = fail(r, "lone surrogate in a \\u escape");
      break;
    }
    put_utf8(&b, cp);
  }
  if (!rc && b.failed) rc = pv_fail(r->err, PAGEDVK_ERR_NO_MEMORY, "%s: out of memory", r->what);
  if (rc) {
    free(b.p);
    return rc;
  }
  out->kind = PV_GJ_STR;
  out->len = b.n;
  out->s = b.p ? b.p : strdup("");
  return out->s ? PAGEDVK_OK : pv_fail(r->err, PAGEDVK_ERR_NO_MEMORY, "%s: out of memory", r->what);
}

static int read_number(reader *r, pv_gj *out) {
  size_t start = r->i;
  if (r->i < r->n && r->s[r->i] == '-') r->i++;
  size_t digits = r->i;
  while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') r->i++;
  if (r->i == digits) return fail(r, "bad number");
  if (r->s[digits] == '0' && r->i - digits > 1) return fail(r, "leading zero in a number");
  if (r->i < r->n && r->s[r->i] == '.') {
    size_t f = ++r->i;
    while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') r->i++;
    if (r->i == f) return fail(r, "bad number");
  }
  if (r->i < r->n && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
    r->i++;
    if (r->i < r->n && (r->s[r->i] == '+' || r->s[r->i] == '-')) r->i++;
    size_t f = r->i;
    while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') r->i++;
    if (r->i == f) return fail(r, "bad number");
  }
  out->kind = PV_GJ_NUM;
  out->len = r->i - start;
  out->s = strndup(r->s + start, out->len);
  return out->s ? PAGEDVK_OK : pv_fail(r->err, PAGEDVK_ERR_NO_MEMORY, "%s: out of memory", r->what);
}

static int read_value(reader *r, pv_gj *out, unsigned depth);

static int read_items(reader *r, pv_gj *out, unsigned depth, bool obj) {
  out->kind = obj ? PV_GJ_OBJ : PV_GJ_ARR;
  const char close = obj ? '}' : ']';
  uint32_t cap = 0;
  r->i++;
  skip_ws(r);
  if (r->i < r->n && r->s[r->i] == close) {
    r->i++;
    return PAGEDVK_OK;
  }
  for (;;) {
    const uint32_t per = obj ? 2 : 1;
    if (PV_GROW_U32(out->kids, cap, (size_t)(out->n + 1) * per))
      return pv_fail(r->err, PAGEDVK_ERR_NO_MEMORY, "%s: out of memory", r->what);
    pv_gj *slot = &out->kids[out->n * per];
    memset(slot, 0, per * sizeof *slot);
    int rc = PAGEDVK_OK;
    skip_ws(r);
    if (obj) {
      if (r->i >= r->n || r->s[r->i] != '"') return fail(r, "expected a member name");
      rc = read_string(r, slot);
      out->n++; /* counted now so that a failure frees the key */
      skip_ws(r);
      if (!rc && (r->i >= r->n || r->s[r->i] != ':')) rc = fail(r, "expected ':'");
      if (!rc) r->i++;
      if (!rc) rc = read_value(r, slot + 1, depth + 1);
    } else {
      out->n++;
      rc = read_value(r, slot, depth + 1);
    }
    if (rc) return rc;
    skip_ws(r);
    if (r->i < r->n && r->s[r->i] == ',') {
      r->i++;
      continue;
    }
    if (r->i < r->n && r->s[r->i] == close) {
      r->i++;
      return PAGEDVK_OK;
    }
    return fail(r, obj ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

static int read_value(reader *r, pv_gj *out, unsigned depth) {
  if (depth > PV_GJ_MAX_DEPTH) return fail(r, "nested too deeply");
  skip_ws(r);
  if (r->i >= r->n) return fail(r, "unexpected end of the text");
  char c = r->s[r->i];
  if (c == '{' || c == '[') return read_items(r, out, depth, c == '{');
  if (c == '"') return read_string(r, out);
  if (c == '-' || (c >= '0' && c <= '9')) return read_number(r, out);
  static const struct { const char *word; pv_gj_kind kind; bool b; } words[] = {
    {"null", PV_GJ_NULL, false}, {"true", PV_GJ_BOOL, true}, {"false", PV_GJ_BOOL, false}};
  for (size_t k = 0; k < PV_ARRAY_LEN(words); k++) {
    size_t l = strlen(words[k].word);
    if (r->i + l <= r->n && memcmp(r->s + r->i, words[k].word, l) == 0) {
      r->i += l;
      out->kind = words[k].kind;
      out->b = words[k].b;
      return PAGEDVK_OK;
    }
  }
  return fail(r, "unexpected character");
}

int pv_gj_parse(pv_gj *out, const char *text, size_t len, const char *what, pv_error *err) {
  memset(out, 0, sizeof *out);
  reader r = {text, len, 0, what, err};
  int rc = read_value(&r, out, 0);
  if (!rc) {
    skip_ws(&r);
    if (r.i < r.n) rc = fail(&r, "text after the JSON value");
  }
  if (rc) pv_gj_free(out);
  return rc;
}

const pv_gj *pv_gj_get(const pv_gj *obj, const char *key) {
  if (!obj || obj->kind != PV_GJ_OBJ) return NULL;
  const size_t kl = strlen(key);
  for (uint32_t i = 0; i < obj->n; i++)
    if (obj->kids[2 * i].len == kl && memcmp(obj->kids[2 * i].s, key, kl) == 0) return &obj->kids[2 * i + 1];
  return NULL;
}
