/*
 * jinja_lex.c — template text → tokens, with transformers' environment: trim_blocks (the first
 * newline after a block or comment tag goes), lstrip_blocks (spaces and tabs between a line start
 * and a block or comment tag go, unless the tag opens with `+`), `-` on either side of a tag
 * strips all whitespace on that side, comments vanish, `{% raw %}...{% endraw %}` is text.
 *
 * Invariants: every token's strings live in the arena, NUL-terminated; the list ends with JT_EOF;
 * inside a tag, `}}` / `%}` end it only outside brackets (a dict literal may hold `}}`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/jinja/jinja_ast.h"

typedef struct lx {
  jx *x;
  const char *s;
  size_t n, i;
  uint32_t line;
  jtok *toks;
  size_t nt, cap;
  pv_error *err;
} lx;

static int lx_fail(lx *l, const char *fmt, const char *what) {
  char m[200];
  snprintf(m, sizeof m, fmt, what);
  return pv_fail(l->err, PAGEDVK_ERR_FORMAT, "line %u: %s", l->line, m);
}

static int push(lx *l, jtok t) {
  if (l->nt == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 256;
    jtok *nt = jx_alloc(l->x, nc * sizeof *nt);
    if (!nt) return l->err->code;
    if (l->nt) memcpy(nt, l->toks, l->nt * sizeof *nt);
    l->toks = nt;
    l->cap = nc;
  }
  l->toks[l->nt++] = t;
  return PAGEDVK_OK;
}

static int push_simple(lx *l, jt_type t) { return push(l, (jtok){.t = (uint8_t)t, .line = l->line}); }

static int push_text(lx *l, const char *s, size_t n, uint32_t line) {
  if (n == 0) return PAGEDVK_OK;
  jv v;
  if (jv_str(l->x, s, n, &v)) return l->err->code;
  return push(l, (jtok){.t = JT_TEXT, .line = line, .s = v.s, .n = n});
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static void count_lines(lx *l, size_t from, size_t to) {
  for (size_t k = from; k < to; k++) l->line += l->s[k] == '\n';
}

/* ---- inside a tag ---- */

static void put_utf8(char *o, size_t *k, uint32_t cp) {
  if (cp < 0x80) {
    o[(*k)++] = (char)cp;
  } else if (cp < 0x800) {
    o[(*k)++] = (char)(0xC0 | cp >> 6);
    o[(*k)++] = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    o[(*k)++] = (char)(0xE0 | cp >> 12);
    o[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[(*k)++] = (char)(0x80 | (cp & 0x3F));
  } else {
    o[(*k)++] = (char)(0xF0 | cp >> 18);
    o[(*k)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[(*k)++] = (char)(0x80 | (cp & 0x3F));
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* One escape after a backslash at s[*i] (Python's unicode-escape); unknown ones stay as written. */
static void unescape_one(const char *s, size_t end, size_t *i, char *o, size_t *k) {
  char c = s[*i];
  static const char simple[] = "n\nt\tr\r\\\\''\"\"a\ab\bf\fv\v";
  for (const char *m = simple; *m; m += 2)
    if (*m == c) {
      o[(*k)++] = m[1];
      (*i)++;
      return;
    }
  if (c == '\n') { /* line continuation */
    (*i)++;
    return;
  }
  int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
  if (digits && *i + (size_t)digits < end) {
    uint32_t cp = 0;
    bool ok = true;
    for (int d = 1; d <= digits; d++) {
      int h = hexval(s[*i + (size_t)d]);
      if (h < 0) ok = false;
      cp = cp << 4 | (uint32_t)(h < 0 ? 0 : h);
    }
    if (ok && cp <= 0x10FFFF) {
      put_utf8(o, k, cp);
      *i += (size_t)digits + 1;
      return;
    }
  }
  if (c >= '0' && c <= '7') {
    uint32_t cp = 0;
    int d = 0;
    while (d < 3 && *i < end && s[*i] >= '0' && s[*i] <= '7') {
      cp = cp * 8 + (uint32_t)(s[*i] - '0');
      (*i)++;
      d++;
    }
    put_utf8(o, k, cp);
    return;
  }
  o[(*k)++] = '\\';
}

static int lex_string(lx *l) {
  char q = l->s[l->i];
  size_t start = ++l->i;
  uint32_t line = l->line;
  while (l->i < l->n && l->s[l->i] != q) {
    if (l->s[l->i] == '\\' && l->i + 1 < l->n) l->i++;
    l->i++;
  }
  if (l->i >= l->n) return lx_fail(l, "unterminated string%s", "");
  size_t end = l->i++;
  char *o = jx_alloc(l->x, (end - start) + 1);
  if (!o) return l->err->code;
  size_t k = 0;
  for (size_t i = start; i < end;) {
    if (l->s[i] == '\\' && i + 1 < end) {
      i++;
      unescape_one(l->s, end, &i, o, &k);
    } else {
      o[k++] = l->s[i++];
    }
  }
  o[k] = 0;
  count_lines(l, start, end);
  return push(l, (jtok){.t = JT_STRING, .line = line, .s = o, .n = k});
}

/* 0x.. / 0o.. / 0b.. integer literals (underscores allowed), at s[i] == '0'. */
static bool lex_radix(lx *l, jtok *t) {
  if (l->i + 2 >= l->n) return false;
  char r = (char)(l->s[l->i + 1] | 32);
  int base = r == 'x' ? 16 : r == 'o' ? 8 : r == 'b' ? 2 : 0;
  if (!base) return false;
  size_t k = l->i + 2;
  uint64_t v = 0;
  bool any = false, over = false;
  for (; k < l->n; k++) {
    char c = l->s[k];
    int d = c >= '0' && c <= '9' ? c - '0' : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10 : c == '_' ? -2 : -1;
    if (d == -2) continue;
    if (d < 0 || d >= base) break;
    over = over || v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base;
    v = v * (uint64_t)base + (uint64_t)d;
    any = true;
  }
  if (!any) return false;
  *t = (jtok){.t = over || v > INT64_MAX ? JT_FLOAT : JT_INT, .line = l->line, .i = (int64_t)v, .f = (double)v};
  l->i = k;
  return true;
}

static int lex_number(lx *l, bool int_only) {
  jtok radix;
  if (l->s[l->i] == '0' && lex_radix(l, &radix)) return push(l, radix);
  size_t start = l->i;
  bool fl = false;
  while (l->i < l->n && ((l->s[l->i] >= '0' && l->s[l->i] <= '9') || l->s[l->i] == '_')) l->i++;
  if (!int_only && l->i + 1 < l->n && l->s[l->i] == '.' && l->s[l->i + 1] >= '0' && l->s[l->i + 1] <= '9') {
    fl = true;
    l->i++;
    while (l->i < l->n && ((l->s[l->i] >= '0' && l->s[l->i] <= '9') || l->s[l->i] == '_')) l->i++;
  }
  if (!int_only && l->i < l->n && (l->s[l->i] == 'e' || l->s[l->i] == 'E')) {
    size_t save = l->i++;
    if (l->i < l->n && (l->s[l->i] == '+' || l->s[l->i] == '-')) l->i++;
    if (l->i < l->n && l->s[l->i] >= '0' && l->s[l->i] <= '9') {
      fl = true;
      while (l->i < l->n && l->s[l->i] >= '0' && l->s[l->i] <= '9') l->i++;
    } else {
      l->i = save;
    }
  }
  char tmp[64];
  size_t k = 0;
  for (size_t i = start; i < l->i && k < sizeof tmp - 1; i++)
    if (l->s[i] != '_') tmp[k++] = l->s[i];
  tmp[k] = 0;
  jtok t = {.t = fl ? JT_FLOAT : JT_INT, .line = l->line};
  if (fl) {
    t.f = strtod(tmp, NULL);
  } else {
    char *end;
    unsigned long long v = strtoull(tmp, &end, 10);
    if (v > INT64_MAX || l->i - start > 19) {
      t.t = JT_FLOAT;
      t.f = strtod(tmp, NULL);
    }
    t.i = (int64_t)v;
  }
  return push(l, t);
}

static const char *const OPS2[] = {"//", "**", "==", "!=", "<=", ">="};
static const char OPS1[] = "+-*/%~<>=()[]{},.:|";

/* Tokens of one tag up to its end (`}}` or `%}` outside brackets); *strip_after: the end had `-`,
 * *keep: it had `+`. */
static int lex_tag(lx *l, bool var, bool *strip_after, bool *keep) {
  int depth = 0;
  *strip_after = *keep = false;
  char e0 = var ? '}' : '%';
  for (;;) {
    while (l->i < l->n && is_ws(l->s[l->i])) l->line += l->s[l->i++] == '\n';
    if (l->i >= l->n) return lx_fail(l, "unexpected end of template: the tag is not closed%s", "");
    const char *s = l->s + l->i;
    size_t left = l->n - l->i;
    if (depth == 0) {
      if (left >= 2 && s[0] == e0 && s[1] == '}') {
        l->i += 2;
        return push_simple(l, var ? JT_VAR_END : JT_BLOCK_END);
      }
      /* `-` before either end strips; `+` only keeps a block end (before `}}` it is a plus) */
      if (left >= 3 && (s[0] == '-' || (s[0] == '+' && !var)) && s[1] == e0 && s[2] == '}') {
        *strip_after = s[0] == '-';
        *keep = s[0] == '+';
        l->i += 3;
        return push_simple(l, var ? JT_VAR_END : JT_BLOCK_END);
      }
    }
    char c = s[0];
    int rc;
    if (c == '\'' || c == '"') {
      rc = lex_string(l);
    } else if (c >= '0' && c <= '9') {
      bool after_dot = l->nt && l->toks[l->nt - 1].t == JT_OP && strcmp(l->toks[l->nt - 1].op, ".") == 0;
      rc = lex_number(l, after_dot);
    } else if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      size_t start = l->i;
      while (l->i < l->n && (l->s[l->i] == '_' || (l->s[l->i] >= 'a' && l->s[l->i] <= 'z') ||
                             (l->s[l->i] >= 'A' && l->s[l->i] <= 'Z') || (l->s[l->i] >= '0' && l->s[l->i] <= '9')))
        l->i++;
      jv v;
      rc = jv_str(l->x, l->s + start, l->i - start, &v);
      if (!rc) rc = push(l, (jtok){.t = JT_NAME, .line = l->line, .s = v.s, .n = v.n});
    } else {
      jtok t = {.t = JT_OP, .line = l->line};
      for (size_t k = 0; k < PV_ARRAY_LEN(OPS2) && !t.op[0]; k++)
        if (left >= 2 && s[0] == OPS2[k][0] && s[1] == OPS2[k][1]) memcpy(t.op, OPS2[k], 2);
      if (!t.op[0] && strchr(OPS1, c) && c) t.op[0] = c;
      if (!t.op[0]) {
        char what[8] = {c, 0};
        return lx_fail(l, "unexpected character '%s' in a tag", what);
      }
      l->i += strlen(t.op);
      if (c == '(' || c == '[' || c == '{') depth++;
      if ((c == ')' || c == ']' || c == '}') && depth > 0) depth--;
      rc = push(l, t);
    }
    if (rc) return rc;
  }
}

/* ---- the text between tags ---- */

/* Finds the next tag start at or after `from`: its offset and kind ('{', '%', '#'), or n. */
static size_t next_tag(const lx *l, size_t from, char *kind) {
  for (size_t k = from; k + 1 < l->n; k++) {
    if (l->s[k] != '{') continue;
    char c = l->s[k + 1];
    if (c == '{' || c == '%' || c == '#') {
      *kind = c;
      return k;
    }
  }
  return l->n;
}

/* After a tag's end: `-` strips all whitespace, trim_blocks one newline (block and comment tags). */
static void after_tag(lx *l, bool strip, bool keep, bool trim) {
  if (strip) {
    while (l->i < l->n && is_ws(l->s[l->i])) l->line += l->s[l->i++] == '\n';
  } else if (!keep && trim && l->i < l->n && l->s[l->i] == '\n') {
    l->i++;
    l->line++;
  }
}

/* Is this block tag `{% raw %}` (after its start and sign)? Sets *end past the tag. */
static bool is_raw(const lx *l, size_t at, size_t *end, bool *strip, bool *keep) {
  size_t k = at;
  while (k < l->n && is_ws(l->s[k])) k++;
  if (l->n - k < 3 || memcmp(l->s + k, "raw", 3) != 0) return false;
  k += 3;
  while (k < l->n && is_ws(l->s[k])) k++;
  *strip = *keep = false;
  if (k < l->n && (l->s[k] == '-' || l->s[k] == '+')) {
    *strip = l->s[k] == '-';
    *keep = l->s[k] == '+';
    k++;
  }
  if (l->n - k < 2 || l->s[k] != '%' || l->s[k + 1] != '}') return false;
  *end = k + 2;
  return true;
}

/* The body of a raw block as text, up to `{% endraw %}`. */
static int lex_raw(lx *l) {
  for (size_t k = l->i; k + 1 < l->n; k++) {
    if (l->s[k] != '{' || l->s[k + 1] != '%') continue;
    size_t m = k + 2;
    bool lstrip = m < l->n && l->s[m] == '-';
    if (m < l->n && (l->s[m] == '-' || l->s[m] == '+')) m++;
    while (m < l->n && is_ws(l->s[m])) m++;
    if (l->n - m < 6 || memcmp(l->s + m, "endraw", 6) != 0) continue;
    m += 6;
    while (m < l->n && is_ws(l->s[m])) m++;
    bool strip = false, keep = false;
    if (m < l->n && (l->s[m] == '-' || l->s[m] == '+')) {
      strip = l->s[m] == '-';
      keep = l->s[m] == '+';
      m++;
    }
    if (l->n - m < 2 || l->s[m] != '%' || l->s[m + 1] != '}') continue;
    size_t tend = k;
    if (lstrip)
      while (tend > l->i && is_ws(l->s[tend - 1])) tend--;
    uint32_t line = l->line;
    int rc = push_text(l, l->s + l->i, tend - l->i, line);
    count_lines(l, l->i, m + 2);
    l->i = m + 2;
    after_tag(l, strip, keep, true);
    return rc;
  }
  return lx_fail(l, "missing endraw%s", "");
}

/* The text before a tag at `tag` of `kind` with sign `sign`, whitespace control applied. */
static int emit_text(lx *l, size_t tag, char kind, char sign, bool line_starting) {
  size_t start = l->i, end = tag;
  if (sign == '-') {
    while (end > start && is_ws(l->s[end - 1])) end--;
  } else if (sign != '+' && kind != '{') {
    size_t lpos = end;
    while (lpos > start && l->s[lpos - 1] != '\n') lpos--;
    if (lpos > start || line_starting) {
      bool blank = true;
      for (size_t k = lpos; k < end; k++)
        if (!is_ws(l->s[k])) blank = false;
      if (blank) end = lpos;
    }
  }
  uint32_t line = l->line;
  count_lines(l, start, tag);
  return push_text(l, l->s + start, end - start, line);
}

static int lex_comment(lx *l) {
  for (size_t k = l->i; k + 1 < l->n; k++)
    if (l->s[k] == '#' && l->s[k + 1] == '}') {
      bool strip = k > l->i && l->s[k - 1] == '-', keep = k > l->i && l->s[k - 1] == '+';
      count_lines(l, l->i, k + 2);
      l->i = k + 2;
      after_tag(l, strip, keep, true);
      return PAGEDVK_OK;
    }
  return lx_fail(l, "unterminated comment%s", "");
}

static int lex_all(lx *l) {
  bool line_starting = true;
  while (l->i < l->n) {
    char kind = 0;
    size_t tag = next_tag(l, l->i, &kind);
    if (tag == l->n) {
      uint32_t line = l->line;
      count_lines(l, l->i, l->n);
      int rc = push_text(l, l->s + l->i, l->n - l->i, line);
      l->i = l->n;
      return rc;
    }
    char sign = tag + 2 < l->n && (l->s[tag + 2] == '-' || l->s[tag + 2] == '+') ? l->s[tag + 2] : 0;
    int rc = emit_text(l, tag, kind, sign, line_starting);
    if (rc) return rc;
    l->i = tag + 2 + (sign ? 1 : 0);
    bool strip = false, keep = false;
    size_t raw_end;
    if (kind == '#') {
      rc = lex_comment(l);
    } else if (kind == '%' && is_raw(l, l->i, &raw_end, &strip, &keep)) {
      count_lines(l, l->i, raw_end);
      l->i = raw_end;
      after_tag(l, strip, keep, true);
      rc = lex_raw(l);
    } else {
      rc = push_simple(l, kind == '{' ? JT_VAR_BEGIN : JT_BLOCK_BEGIN);
      if (!rc) rc = lex_tag(l, kind == '{', &strip, &keep);
      if (!rc) after_tag(l, strip, keep, kind == '%');
    }
    if (rc) return rc;
    line_starting = l->i > 0 && l->s[l->i - 1] == '\n';
  }
  return PAGEDVK_OK;
}

int jinja_lex(jx *arena, const char *src, size_t len, jtok **toks, size_t *n, pv_error *err) {
  lx l = {.x = arena, .s = src, .n = len, .line = 1, .err = err};
  int rc = lex_all(&l);
  if (!rc) rc = push_simple(&l, JT_EOF);
  if (rc) return rc;
  *toks = l.toks;
  *n = l.nt;
  return PAGEDVK_OK;
}
