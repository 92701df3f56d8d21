/*
 * gram_parse.c — GBNF-style grammar text → pv_gram_rules (gram_internal.h says the layout).
 *
 * The language (the GBNF dialect llama-server accepts, as far as it goes):
 *   rule      ::= NAME "::=" alternatives          (NAME: letters, digits, '-', '_')
 *   alternatives ::= sequence ("|" sequence)*
 *   sequence  ::= (atom repeat?)*                 (empty: the empty string)
 *   atom      ::= "literal" | [class] | [^class] | . | NAME | "(" alternatives ")"
 *   repeat    ::= "?" | "*" | "+" | "{" m "}" | "{" m "," "}" | "{" m "," n "}"
 *   comments  run from '#' to the end of the line; whitespace and newlines separate freely (a
 *   rule ends where the next `NAME ::=` begins).
 * Literals and classes hold UTF-8 text or escapes: \n \r \t \\ \" \' \[ \] \- \^ \/ \xHH \uHHHH
 * \UHHHHHHHH. A class holds characters and ranges a-z; `.` is any code point. The start rule is
 * `root`.
 *
 * Repetition is compiled into rules: x? → R ::= x | ε;  x* → R ::= x R | ε;  x+ → x x*;
 * x{m,n} → m copies of x, then a chain of n - m nested optionals (R_k ::= x R_k-1 | ε), or x*
 * when n is open. A repeated atom of several elements (a literal) first becomes a rule of its own.
 *
 * Checks after parsing, each an error with the line and column of the rule: every referenced rule
 * is defined, no rule is defined twice, `root` exists, no rule is left-recursive (it could expand
 * forever without reading a byte), and `root` can complete (some finite string matches it).
 * Bounds: PV_GRAM_MAX_ELEMS elements, repetition counts up to 100000, groups nested 256 deep.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "sample/grammar/gram_internal.h"

#define MAX_REPEAT 100000u
#define MAX_NEST 256u

typedef struct prule {
  char *name;
  pv_gelem *body; /* alternatives, each ended by an END element */
  uint32_t n_body, cap_body;
  size_t def_at;  /* where it was defined (or created, for groups); SIZE_MAX: not yet */
  size_t ref_at;  /* first reference */
  bool defined;
} prule;

typedef struct parser {
  const char *s;
  size_t n, i;
  prule *rules;
  uint32_t n_rules, cap_rules;
  pv_gram_rules *out;
  uint32_t depth;
  size_t total_el;
  pv_error *err;
} parser;

static void line_col(const char *s, size_t at, unsigned *line, unsigned *col) {
  *line = 1;
  *col = 1;
  for (size_t k = 0; k < at; k++) {
    if (s[k] == '\n') {
      (*line)++;
      *col = 1;
    } else if (((unsigned char)s[k] & 0xC0) != 0x80) {
      (*col)++;
    }
  }
}

__attribute__((format(printf, 3, 4))) static int fail_at(parser *p, size_t at, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  unsigned line, col;
  line_col(p->s, at > p->n ? p->n : at, &line, &col);
  return pv_fail(p->err, PAGEDVK_ERR_INVALID, "grammar:%u:%u: %s", line, col, msg);
}

static int oom(parser *p) { return pv_fail(p->err, PAGEDVK_ERR_NO_MEMORY, "grammar: out of memory"); }

static bool at_end(const parser *p) { return p->i >= p->n; }
static char peek(const parser *p) { return at_end(p) ? '\0' : p->s[p->i]; }

static void skip_space(parser *p) {
  while (!at_end(p)) {
    char c = p->s[p->i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      p->i++;
    } else if (c == '#') {
      while (!at_end(p) && p->s[p->i] != '\n') p->i++;
    } else {
      break;
    }
  }
}

static bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static size_t name_len(const parser *p, size_t at) {
  size_t k = at;
  while (k < p->n && name_char(p->s[k])) k++;
  return k - at;
}

/* True when a rule definition `NAME ::=` starts at the current position. */
static bool at_definition(const parser *p) {
  size_t k = p->i + name_len(p, p->i);
  if (k == p->i) return false;
  while (k < p->n && (p->s[k] == ' ' || p->s[k] == '\t' || p->s[k] == '\r' || p->s[k] == '\n')) k++;
  return k + 3 <= p->n && memcmp(p->s + k, "::=", 3) == 0;
}

/* ---- rules -------------------------------------------------------------------------------------- */

static int new_rule(parser *p, const char *name, size_t name_n, size_t at, uint32_t *id) {
  if (PV_GROW_U32(p->rules, p->cap_rules, (size_t)p->n_rules + 1)) return oom(p);
  prule *r = &p->rules[p->n_rules];
  memset(r, 0, sizeof *r);
  r->name = strndup(name, name_n);
  if (!r->name) return oom(p);
  r->def_at = at;
  r->ref_at = at;
  *id = p->n_rules++;
  return PAGEDVK_OK;
}

static int rule_by_name(parser *p, size_t at, size_t len, uint32_t *id) {
  for (uint32_t k = 0; k < p->n_rules; k++)
    if (strlen(p->rules[k].name) == len && memcmp(p->rules[k].name, p->s + at, len) == 0) {
      *id = k;
      return PAGEDVK_OK;
    }
  int rc = new_rule(p, p->s + at, len, SIZE_MAX, id);
  if (!rc) p->rules[*id].ref_at = at;
  return rc;
}

/* A group or repetition rule, named after the rule it appears in (for messages). */
static int anon_rule(parser *p, uint32_t parent, size_t at, uint32_t *id) {
  char name[128];
  snprintf(name, sizeof name, "%.100s/%u", p->rules[parent].name, p->n_rules);
  int rc = new_rule(p, name, strlen(name), at, id);
  if (!rc) p->rules[*id].defined = true;
  return rc;
}

static int push_el(parser *p, uint32_t rule, pv_gelem e) {
  if (++p->total_el > PV_GRAM_MAX_ELEMS)
    return fail_at(p, p->i, "the grammar is too large (more than %u elements)", PV_GRAM_MAX_ELEMS);
  prule *r = &p->rules[rule];
  if (PV_GROW_U32(r->body, r->cap_body, (size_t)r->n_body + 1)) return oom(p);
  r->body[r->n_body++] = e;
  return PAGEDVK_OK;
}

static int push_range(parser *p, uint32_t lo, uint32_t hi) {
  pv_gram_rules *o = p->out;
  if (PV_GROW_U32(o->ranges, o->cap_ranges, (size_t)o->n_ranges + 2)) return oom(p);
  o->ranges[o->n_ranges++] = lo;
  o->ranges[o->n_ranges++] = hi;
  return PAGEDVK_OK;
}

/* ---- characters --------------------------------------------------------------------------------- */

static int hex_digits(parser *p, unsigned count, uint32_t *cp) {
  uint32_t v = 0;
  for (unsigned k = 0; k < count; k++) {
    char c = peek(p);
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return fail_at(p, p->i, "expected %u hex digits", count);
    v = v * 16 + (uint32_t)d;
    p->i++;
  }
  if (v > 0x10FFFF) return fail_at(p, p->i, "code point U+%X is past U+10FFFF", v);
  *cp = v;
  return PAGEDVK_OK;
}

/* One character of a literal or class (an escape or one UTF-8 sequence). */
static int read_char(parser *p, uint32_t *cp) {
  if (at_end(p)) return fail_at(p, p->i, "unexpected end of the grammar");
  unsigned char c = (unsigned char)p->s[p->i];
  if (c == '\\') {
    p->i++;
    char e = peek(p);
    p->i++;
    switch (e) {
    case 'n': *cp = '\n'; return PAGEDVK_OK;
    case 'r': *cp = '\r'; return PAGEDVK_OK;
    case 't': *cp = '\t'; return PAGEDVK_OK;
    case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/':
      *cp = (uint32_t)e;
      return PAGEDVK_OK;
    case 'x': return hex_digits(p, 2, cp);
    case 'u': return hex_digits(p, 4, cp);
    case 'U': return hex_digits(p, 8, cp);
    default: return fail_at(p, p->i - 1, "unknown escape '\\%c'", e ? e : '0');
    }
  }
  unsigned len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (!len || p->i + len > p->n) return fail_at(p, p->i, "invalid UTF-8");
  uint32_t v = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
  for (unsigned k = 1; k < len; k++) {
    unsigned char d = (unsigned char)p->s[p->i + k];
    if ((d & 0xC0) != 0x80) return fail_at(p, p->i, "invalid UTF-8");
    v = (v << 6) | (d & 0x3Fu);
  }
  static const uint32_t min_of[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < min_of[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return fail_at(p, p->i, "invalid UTF-8");
  p->i += len;
  *cp = v;
  return PAGEDVK_OK;
}

static int cmp_range(const void *a, const void *b) {
  const uint32_t *x = a, *y = b;
  return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0;
}

/* Sorts and merges the ranges [first, n_ranges) of the output in place; returns their count. */
static uint32_t merge_ranges(pv_gram_rules *o, uint32_t first) {
  uint32_t n = (o->n_ranges - first) / 2;
  if (!n) return 0; /* and ranges may still be NULL */
  uint32_t *r = o->ranges + first;
  qsort(r, n, 2 * sizeof(uint32_t), cmp_range);
  uint32_t m = 0;
  for (uint32_t k = 0; k < n; k++) {
    if (m && r[2 * k] <= r[2 * (m - 1) + 1] + 1) {
      if (r[2 * k + 1] > r[2 * (m - 1) + 1]) r[2 * (m - 1) + 1] = r[2 * k + 1];
    } else {
      r[2 * m] = r[2 * k];
      r[2 * m + 1] = r[2 * k + 1];
      m++;
    }
  }
  o->n_ranges = first + 2 * m;
  return m;
}

static int parse_class(parser *p, uint32_t rule) {
  size_t start = p->i++;
  bool neg = false;
  if (peek(p) == '^') {
    neg = true;
    p->i++;
  }
  const uint32_t first = p->out->n_ranges;
  while (peek(p) != ']') {
    if (at_end(p)) return fail_at(p, start, "unterminated character class");
    uint32_t lo, hi;
    int rc = read_char(p, &lo);
    if (rc) return rc;
    hi = lo;
    if (peek(p) == '-' && p->i + 1 < p->n && p->s[p->i + 1] != ']') {
      p->i++;
      size_t at = p->i;
      if ((rc = read_char(p, &hi))) return rc;
      if (hi < lo) return fail_at(p, at, "range end U+%04X is below its start U+%04X", hi, lo);
    }
    if ((rc = push_range(p, lo, hi))) return rc;
  }
  p->i++;
  uint32_t n = merge_ranges(p->out, first);
  if (!n && !neg) return fail_at(p, start, "empty character class");
  return push_el(p, rule, (pv_gelem){PV_GE_CHARS, neg, first / 2, n});
}

static int parse_literal(parser *p, uint32_t rule) {
  size_t start = p->i++;
  while (peek(p) != '"') {
    if (at_end(p) || peek(p) == '\n') return fail_at(p, start, "unterminated string literal");
    uint32_t cp;
    int rc = read_char(p, &cp);
    if (!rc) rc = push_range(p, cp, cp);
    if (!rc) rc = push_el(p, rule, (pv_gelem){PV_GE_CHARS, 0, p->out->n_ranges / 2 - 1, 1});
    if (rc) return rc;
  }
  p->i++;
  return PAGEDVK_OK;
}

/* ---- sequences and repetition ------------------------------------------------------------------- */

static int parse_alternatives(parser *p, uint32_t rule);

static uint32_t read_count(parser *p, bool *ok) {
  uint64_t v = 0;
  size_t start = p->i;
  while (peek(p) >= '0' && peek(p) <= '9') {
    v = v * 10 + (uint64_t)(peek(p) - '0');
    if (v > MAX_REPEAT) v = MAX_REPEAT + 1;
    p->i++;
  }
  *ok = p->i > start;
  return (uint32_t)v;
}

static int parse_braces(parser *p, uint32_t *m, uint32_t *n, bool *open) {
  size_t start = p->i++;
  bool ok;
  skip_space(p);
  *m = read_count(p, &ok);
  if (!ok) return fail_at(p, p->i, "expected a count in {m,n}");
  skip_space(p);
  *open = false;
  *n = *m;
  if (peek(p) == ',') {
    p->i++;
    skip_space(p);
    *n = read_count(p, &ok);
    if (!ok) *open = true;
    skip_space(p);
  }
  if (peek(p) != '}') return fail_at(p, p->i, "expected '}'");
  p->i++;
  if (*m > MAX_REPEAT || (!*open && *n > MAX_REPEAT))
    return fail_at(p, start, "repetition count past %u", MAX_REPEAT);
  if (!*open && *n < *m) return fail_at(p, start, "repetition {%u,%u}: the maximum is below the minimum", *m, *n);
  return PAGEDVK_OK;
}

/* R ::= x R | ε (star) or R ::= x | ε (optional, next == UINT32_MAX) or R ::= x next | ε. */
static int loop_rule(parser *p, uint32_t parent, pv_gelem x, bool star, uint32_t next, uint32_t *id) {
  int rc = anon_rule(p, parent, p->i, id);
  if (!rc) rc = push_el(p, *id, x);
  if (!rc && star) rc = push_el(p, *id, (pv_gelem){PV_GE_RULE, 0, *id, 0});
  if (!rc && !star && next != UINT32_MAX) rc = push_el(p, *id, (pv_gelem){PV_GE_RULE, 0, next, 0});
  if (!rc) rc = push_el(p, *id, (pv_gelem){PV_GE_END, 0, 0, 0});
  if (!rc) rc = push_el(p, *id, (pv_gelem){PV_GE_END, 0, 0, 0}); /* the empty alternative */
  return rc;
}

/* Applies a repetition to the atom that starts at body index `at` of `rule`. */
static int parse_repeat(parser *p, uint32_t rule, uint32_t at) {
  char op = peek(p);
  uint32_t m = 0, n = 0;
  bool open = false;
  int rc = PAGEDVK_OK;
  if (op == '{') rc = parse_braces(p, &m, &n, &open);
  else p->i++;
  if (rc) return rc;
  prule *r = &p->rules[rule];
  if (r->n_body - at > 1) { /* several elements: a rule of their own */
    uint32_t id;
    if ((rc = anon_rule(p, rule, p->i, &id))) return rc;
    r = &p->rules[rule];
    for (uint32_t k = at; k < r->n_body && !rc; k++) rc = push_el(p, id, r->body[k]);
    if (!rc) rc = push_el(p, id, (pv_gelem){PV_GE_END, 0, 0, 0});
    if (rc) return rc;
    r = &p->rules[rule];
    p->total_el -= r->n_body - at;
    r->n_body = at;
    if ((rc = push_el(p, rule, (pv_gelem){PV_GE_RULE, 0, id, 0}))) return rc;
  }
  pv_gelem x = p->rules[rule].body[at];
  uint32_t id;
  if (op == '?' || op == '*') {
    if ((rc = loop_rule(p, rule, x, op == '*', UINT32_MAX, &id))) return rc;
    p->rules[rule].body[at] = (pv_gelem){PV_GE_RULE, 0, id, 0};
    return PAGEDVK_OK;
  }
  if (op == '+') {
    m = 1;
    open = true;
  }
  /* x{m,n}: m copies (x is there once already), then the optional tail */
  if (m == 0) p->rules[rule].n_body = at, p->total_el--;
  for (uint32_t k = 1; k < m && !rc; k++) rc = push_el(p, rule, x);
  if (rc) return rc;
  if (open) {
    if ((rc = loop_rule(p, rule, x, true, UINT32_MAX, &id))) return rc;
    return push_el(p, rule, (pv_gelem){PV_GE_RULE, 0, id, 0});
  }
  uint32_t next = UINT32_MAX;
  for (uint32_t k = m; k < n; k++) {
    if ((rc = loop_rule(p, rule, x, false, next, &id))) return rc;
    next = id;
  }
  return next == UINT32_MAX ? PAGEDVK_OK : push_el(p, rule, (pv_gelem){PV_GE_RULE, 0, next, 0});
}

static int parse_atom(parser *p, uint32_t rule) {
  char c = peek(p);
  if (c == '"') return parse_literal(p, rule);
  if (c == '[') return parse_class(p, rule);
  if (c == '.') {
    p->i++;
    int rc = push_range(p, 0, 0x10FFFF);
    if (!rc) rc = push_el(p, rule, (pv_gelem){PV_GE_CHARS, 0, p->out->n_ranges / 2 - 1, 1});
    return rc;
  }
  if (c == '(') {
    size_t start = p->i++;
    if (++p->depth > MAX_NEST) return fail_at(p, start, "groups nested more than %u deep", MAX_NEST);
    uint32_t id;
    int rc = anon_rule(p, rule, start, &id);
    if (!rc) rc = parse_alternatives(p, id);
    if (rc) return rc;
    skip_space(p);
    if (peek(p) != ')') {
      unsigned line, col;
      line_col(p->s, start, &line, &col);
      return fail_at(p, p->i, "expected ')' to close the group opened at %u:%u", line, col);
    }
    p->i++;
    p->depth--;
    return push_el(p, rule, (pv_gelem){PV_GE_RULE, 0, id, 0});
  }
  size_t len = name_len(p, p->i);
  if (len) {
    uint32_t id;
    int rc = rule_by_name(p, p->i, len, &id);
    p->i += len;
    if (!rc) rc = push_el(p, rule, (pv_gelem){PV_GE_RULE, 0, id, 0});
    return rc;
  }
  if (at_end(p)) return fail_at(p, p->i, "unexpected end of the grammar");
  return fail_at(p, p->i, "unexpected character '%c'", c);
}

static int parse_sequence(parser *p, uint32_t rule) {
  for (;;) {
    skip_space(p);
    char c = peek(p);
    if (at_end(p) || c == '|' || c == ')') break;
    if (at_definition(p)) {
      if (p->depth) return fail_at(p, p->i, "a rule definition inside a group (missing ')'?)");
      break;
    }
    const uint32_t at = p->rules[rule].n_body;
    int rc = parse_atom(p, rule);
    if (rc) return rc;
    c = peek(p);
    if (c == '?' || c == '*' || c == '+' || c == '{') {
      if (p->rules[rule].n_body == at) return fail_at(p, p->i, "nothing to repeat");
      if ((rc = parse_repeat(p, rule, at))) return rc;
    }
  }
  return push_el(p, rule, (pv_gelem){PV_GE_END, 0, 0, 0});
}

static int parse_alternatives(parser *p, uint32_t rule) {
  int rc = parse_sequence(p, rule);
  while (!rc) {
    skip_space(p);
    if (peek(p) != '|') break;
    p->i++;
    rc = parse_sequence(p, rule);
  }
  return rc;
}

static int parse_rules(parser *p) {
  for (;;) {
    skip_space(p);
    if (at_end(p)) return PAGEDVK_OK;
    size_t at = p->i, len = name_len(p, p->i);
    if (!len) return fail_at(p, at, "expected a rule name");
    if (!at_definition(p)) return fail_at(p, at + len, "expected '::=' after the rule name");
    uint32_t id;
    int rc = rule_by_name(p, at, len, &id);
    if (rc) return rc;
    if (p->rules[id].defined) return fail_at(p, at, "rule '%s' is defined twice", p->rules[id].name);
    p->rules[id].defined = true;
    p->rules[id].def_at = at;
    p->i += len;
    skip_space(p);
    p->i += 3;
    if ((rc = parse_alternatives(p, id))) return rc;
    skip_space(p);
    if (peek(p) == ')') return fail_at(p, p->i, "unmatched ')'");
  }
}

/* ---- checks and flattening ---------------------------------------------------------------------- */

/* nullable[r]: r matches the empty string; productive[r]: r matches some finite string. */
static int fixpoints(parser *p, bool *nullable, bool *productive) {
  for (bool changed = true; changed;) {
    changed = false;
    for (uint32_t r = 0; r < p->n_rules; r++) {
      const prule *R = &p->rules[r];
      bool all_null = true, all_prod = true;
      for (uint32_t k = 0; k < R->n_body; k++) {
        const pv_gelem *e = &R->body[k];
        if (e->kind == PV_GE_END) {
          if (all_null && !nullable[r]) nullable[r] = changed = true;
          if (all_prod && !productive[r]) productive[r] = changed = true;
          all_null = all_prod = true;
        } else if (e->kind == PV_GE_CHARS) {
          all_null = false;
        } else {
          all_null = all_null && nullable[e->a];
          all_prod = all_prod && productive[e->a];
        }
      }
    }
  }
  return PAGEDVK_OK;
}

/* Depth-first search over "r can begin with s" edges; state 1 = on the path, 2 = done. */
static int left_dfs(parser *p, const bool *nullable, uint8_t *state, uint32_t *path, uint32_t r) {
  uint32_t sp = 0;
  path[sp++] = r;
  state[r] = 1;
  /* iterative: path holds rules; a per-rule cursor into its body lives in the high bits */
  uint32_t *cur = path + p->n_rules;
  cur[0] = 0;
  while (sp) {
    uint32_t x = path[sp - 1];
    const prule *R = &p->rules[x];
    bool descended = false;
    while (cur[sp - 1] < R->n_body) {
      uint32_t k = cur[sp - 1]++;
      /* is body[k] at the left edge of its alternative (everything before it nullable)? */
      bool left = true;
      for (uint32_t j = k; j > 0; j--) {
        const pv_gelem *b = &R->body[j - 1];
        if (b->kind == PV_GE_END) break;
        if (b->kind == PV_GE_CHARS || !nullable[b->a]) {
          left = false;
          break;
        }
      }
      const pv_gelem *e = &R->body[k];
      if (!left || e->kind != PV_GE_RULE) continue;
      if (state[e->a] == 1) {
        const prule *L = &p->rules[e->a];
        return fail_at(p, L->def_at == SIZE_MAX ? 0 : L->def_at,
                       "rule '%s' is left-recursive (it can begin with itself without reading a character)", L->name);
      }
      if (state[e->a] == 0) {
        state[e->a] = 1;
        path[sp] = e->a;
        cur[sp] = 0;
        sp++;
        descended = true;
        break;
      }
    }
    if (!descended) {
      state[x] = 2;
      sp--;
    }
  }
  return PAGEDVK_OK;
}

static int check(parser *p, uint32_t root) {
  for (uint32_t r = 0; r < p->n_rules; r++)
    if (!p->rules[r].defined) return fail_at(p, p->rules[r].ref_at, "undefined rule '%s'", p->rules[r].name);
  bool *nullable = calloc(p->n_rules, 1), *productive = calloc(p->n_rules, 1);
  uint8_t *state = calloc(p->n_rules, 1);
  uint32_t *path = calloc(2 * (size_t)p->n_rules, sizeof *path);
  int rc = nullable && productive && state && path ? PAGEDVK_OK : oom(p);
  if (!rc) rc = fixpoints(p, nullable, productive);
  for (uint32_t r = 0; r < p->n_rules && !rc; r++)
    if (!state[r]) rc = left_dfs(p, nullable, state, path, r);
  if (!rc && !productive[root])
    rc = fail_at(p, p->rules[root].def_at, "rule 'root' can never complete (every alternative recurses forever)");
  free(nullable);
  free(productive);
  free(state);
  free(path);
  return rc;
}

static int flatten(parser *p) {
  pv_gram_rules *o = p->out;
  o->n_rules = p->n_rules;
  o->rule_alt = calloc((size_t)p->n_rules + 1, sizeof *o->rule_alt);
  o->el = malloc((p->total_el + 1) * sizeof *o->el);
  if (!o->rule_alt || !o->el) return oom(p);
  o->cap_el = (uint32_t)p->total_el + 1;
  for (uint32_t r = 0; r < p->n_rules; r++) {
    const prule *R = &p->rules[r];
    o->rule_alt[r] = o->n_alts;
    bool start = true;
    for (uint32_t k = 0; k < R->n_body; k++) {
      if (start) {
        if (PV_GROW_U32(o->alt_pos, o->cap_alts, (size_t)o->n_alts + 1)) return oom(p);
        o->alt_pos[o->n_alts++] = o->n_el;
      }
      o->el[o->n_el++] = R->body[k];
      start = R->body[k].kind == PV_GE_END;
    }
  }
  o->rule_alt[p->n_rules] = o->n_alts;
  o->el[o->n_el++] = (pv_gelem){PV_GE_END, 0, 0, 0}; /* a sentinel: position n_el - 1 */
  return PAGEDVK_OK;
}

void pv_gram_rules_free(pv_gram_rules *r) {
  if (!r) return;
  free(r->el);
  free(r->ranges);
  free(r->alt_pos);
  free(r->rule_alt);
  memset(r, 0, sizeof *r);
}

int pv_gram_parse(pv_gram_rules *out, const char *text, size_t len, pv_error *err) {
  memset(out, 0, sizeof *out);
  parser p = {.s = text, .n = len, .out = out, .err = err};
  int rc = len > PV_GRAM_MAX_TEXT ? pv_fail(err, PAGEDVK_ERR_INVALID, "grammar: longer than %u bytes", PV_GRAM_MAX_TEXT)
                                  : PAGEDVK_OK;
  if (!rc && memchr(text, '\0', len)) rc = pv_fail(err, PAGEDVK_ERR_INVALID, "grammar: contains a NUL byte");
  if (!rc) rc = parse_rules(&p);
  uint32_t root = UINT32_MAX;
  for (uint32_t r = 0; !rc && r < p.n_rules; r++)
    if (strcmp(p.rules[r].name, "root") == 0) root = r;
  if (!rc && (root == UINT32_MAX || !p.rules[root].defined))
    rc = pv_fail(err, PAGEDVK_ERR_INVALID, "grammar:1:1: no rule named 'root' (the start rule)");
  if (!rc) rc = check(&p, root);
  if (!rc) rc = flatten(&p);
  out->root = root;
  for (uint32_t r = 0; r < p.n_rules; r++) {
    free(p.rules[r].name);
    free(p.rules[r].body);
  }
  free(p.rules);
  if (rc) pv_gram_rules_free(out);
  return rc;
}
