/*
 * gram_schema.c — a JSON schema → GBNF text (docs/GRAMMAR.md lists what is supported).
 *
 * Each schema node becomes one rule `sN`; the output is compact JSON with bounded whitespace
 * (`ws`: nothing, a space, or a newline and up to 8 spaces or tabs) after `{`, `[`, `,`, `:` and
 * before `}`, `]`, so that a model cannot pad forever. Numbers are bounded too (16 integer digits,
 * 16 fraction digits, 3 exponent digits); strings exclude control characters and lone-surrogate
 * \u escapes, so that every output is text any strict JSON parser reads.
 *
 *   object      properties in the schema's order; required ones always, optional ones may be
 *               left out (rules rest(i, first) carry whether a comma is due); additional
 *               properties only when additionalProperties is true or a schema, with names that
 *               are none of the declared ones (a trie of the names, complemented) and no escapes;
 *               with neither properties nor additionalProperties: any object. A required name
 *               missing from properties is a property of any value.
 *   array       items (or any value), minItems / maxItems;
 *   string      minLength / maxLength (in code points: one character or escape each); formats
 *               date, time, date-time, uuid (others: any string);
 *   number, integer, boolean, null; type lists; enum and const (their compact JSON text);
 *   anyOf / oneOf (oneOf as anyOf: the alternatives are not checked for overlap);
 *   $ref to "#" or a JSON pointer into the document ($defs, definitions, ...), recursion allowed.
 * Refused with the JSON pointer of the keyword: unsupported constraints (pattern, minimum, ...,
 * allOf, not, if), a false schema, remote or dangling $ref, counts past MAX_COUNT.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "sample/grammar/gram_internal.h"
#include "sample/grammar/gram_json.h"

#define MAX_COUNT 10000u

typedef struct ref_memo {
  char *ptr;
  uint32_t rule;
} ref_memo;

typedef struct gen {
  const pv_gj *root;
  pv_sb out;
  uint32_t n_rules;
  ref_memo *refs;
  uint32_t n_refs, cap_refs;
  pv_error *err;
} gen;

static const char *const LIBRARY =
  "ws ::= ( \" \" | \"\\n\" [ \\t]{0,8} )?\n"
  "value ::= object | array | string | number | \"true\" | \"false\" | \"null\"\n"
  "object ::= \"{\" ws ( member ws ( \",\" ws member ws )* )? \"}\"\n"
  "member ::= string ws \":\" ws value\n"
  "array ::= \"[\" ws ( value ws ( \",\" ws value ws )* )? \"]\"\n"
  "string ::= \"\\\"\" char* \"\\\"\"\n"
  "char ::= [^\"\\\\\\x00-\\x1F] | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" hex-nosur )\n"
  "hex ::= [0-9a-fA-F]\n"
  "hex-nosur ::= [0-9a-cA-CeEfF] hex hex hex | [dD] [0-7] hex hex\n"
  "plainchar ::= [^\"\\\\\\x00-\\x1F]\n"
  "integer ::= \"-\"? ( \"0\" | [1-9] [0-9]{0,15} )\n"
  "number ::= integer ( \".\" [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,3} )?\n"
  "boolean ::= \"true\" | \"false\"\n"
  "null ::= \"null\"\n"
  "date ::= [0-9]{4} \"-\" ( \"0\" [1-9] | \"1\" [0-2] ) \"-\" ( \"0\" [1-9] | [12] [0-9] | \"3\" [01] )\n"
  "time ::= ( [01] [0-9] | \"2\" [0-3] ) \":\" [0-5] [0-9] \":\" [0-5] [0-9] ( \".\" [0-9]{1,6} )? "
  "( \"Z\" | [+-] ( [01] [0-9] | \"2\" [0-3] ) \":\" [0-5] [0-9] )\n"
  "uuid ::= hex{8} \"-\" hex{4} \"-\" hex{4} \"-\" hex{4} \"-\" hex{12}\n";

/* ---- pointers and errors ------------------------------------------------------------------------ */

/* path + "/" + key, with ~ and / escaped as JSON pointers do (into buf). */
static void path_join(char *buf, size_t size, const char *path, const char *key) {
  size_t n = (size_t)snprintf(buf, size, "%s/", path);
  for (const char *k = key; *k && n + 3 < size; k++) {
    if (*k == '~') buf[n++] = '~', buf[n++] = '0';
    else if (*k == '/') buf[n++] = '~', buf[n++] = '1';
    else buf[n++] = *k;
  }
  buf[n < size ? n : size - 1] = '\0';
}

static void path_index(char *buf, size_t size, const char *path, const char *key, uint32_t i) {
  snprintf(buf, size, "%s/%s/%u", path, key, i);
}

__attribute__((format(printf, 3, 4))) static int bad(gen *g, const char *path, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return pv_fail(g->err, PAGEDVK_ERR_INVALID, "json schema at %s: %s", *path ? path : "/ (the root)", msg);
}

static int oom(gen *g) { return pv_fail(g->err, PAGEDVK_ERR_NO_MEMORY, "json schema: out of memory"); }

/* ---- text helpers ------------------------------------------------------------------------------- */

/* bytes as a GBNF string literal */
static void literal(pv_sb *b, const char *s, size_t n) {
  pv_sb_add(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      pv_sb_add(b, "\\", 1);
      pv_sb_add(b, s + i, 1);
    } else if (c < 0x20 || c == 0x7F) {
      pv_sb_printf(b, "\\x%02X", c);
    } else {
      pv_sb_add(b, s + i, 1);
    }
  }
  pv_sb_add(b, "\"", 1);
}

/* a JSON value's compact text as a GBNF literal */
static int json_literal(gen *g, pv_sb *b, const pv_gj *v) {
  pv_sb t = {0};
  pv_gj_write(&t, v);
  if (t.failed) {
    free(t.p);
    return oom(g);
  }
  literal(b, t.p, t.n);
  free(t.p);
  return PAGEDVK_OK;
}

static bool get_count(const pv_gj *v, uint32_t *out) {
  if (v->kind != PV_GJ_NUM) return false;
  char *end;
  double d = strtod(v->s, &end);
  if (d < 0 || d > MAX_COUNT || d != (double)(uint32_t)d) return false;
  *out = (uint32_t)d;
  return true;
}

static int count_kw(gen *g, const pv_gj *s, const char *path, const char *kw, uint32_t *out, bool *given) {
  const pv_gj *v = pv_gj_get(s, kw);
  *given = v != NULL;
  if (!v) return PAGEDVK_OK;
  char p[512];
  path_join(p, sizeof p, path, kw);
  if (!get_count(v, out)) return bad(g, p, "%s must be an integer from 0 to %u", kw, MAX_COUNT);
  return PAGEDVK_OK;
}

/* ---- rules -------------------------------------------------------------------------------------- */

static int gen_schema(gen *g, const pv_gj *s, const char *path, uint32_t *rule);

static uint32_t new_rule(gen *g) { return g->n_rules++; }

static int gen_ref(gen *g, const pv_gj *s, const char *path, uint32_t *rule) {
  const pv_gj *ref = pv_gj_get(s, "$ref");
  char p[512];
  path_join(p, sizeof p, path, "$ref");
  if (ref->kind != PV_GJ_STR || ref->s[0] != '#' || memchr(ref->s, '\0', ref->len))
    return bad(g, p, "only local references (\"#\" or \"#/...\") are supported");
  for (uint32_t k = 0; k < g->n_refs; k++)
    if (strcmp(g->refs[k].ptr, ref->s) == 0) {
      *rule = g->refs[k].rule;
      return PAGEDVK_OK;
    }
  /* resolve the pointer */
  const pv_gj *t = g->root;
  const char *q = ref->s + 1;
  char tok[256];
  while (*q) {
    if (*q != '/') return bad(g, p, "'%s' is not a JSON pointer", ref->s);
    q++;
    size_t n = 0;
    while (*q && *q != '/' && n + 1 < sizeof tok) {
      if (q[0] == '~' && q[1] == '0') tok[n++] = '~', q += 2;
      else if (q[0] == '~' && q[1] == '1') tok[n++] = '/', q += 2;
      else tok[n++] = *q++;
    }
    tok[n] = '\0';
    const pv_gj *next = NULL;
    if (t->kind == PV_GJ_OBJ) {
      next = pv_gj_get(t, tok);
    } else if (t->kind == PV_GJ_ARR) {
      char *end;
      unsigned long i = strtoul(tok, &end, 10);
      if (*tok && !*end && i < t->n) next = &t->kids[i];
    }
    if (!next) return bad(g, p, "'%s' points at nothing", ref->s);
    t = next;
  }
  uint32_t id = new_rule(g);
  if (PV_GROW_U32(g->refs, g->cap_refs, (size_t)g->n_refs + 1)) return oom(g);
  g->refs[g->n_refs].ptr = strdup(ref->s);
  if (!g->refs[g->n_refs].ptr) return oom(g);
  g->refs[g->n_refs++].rule = id;
  uint32_t body;
  char tp[512];
  snprintf(tp, sizeof tp, "%s", ref->s + 1);
  int rc = gen_schema(g, t, tp, &body);
  if (!rc) pv_sb_printf(&g->out, "s%u ::= s%u\n", id, body);
  *rule = id;
  return rc;
}

static int gen_alternatives(gen *g, const pv_gj *list, const char *path, const char *kw, uint32_t *rule) {
  char p[512];
  path_join(p, sizeof p, path, kw);
  if (list->kind != PV_GJ_ARR || !list->n) return bad(g, p, "%s must be a non-empty array", kw);
  uint32_t *alts = malloc(list->n * sizeof *alts);
  if (!alts) return oom(g);
  int rc = PAGEDVK_OK;
  for (uint32_t i = 0; i < list->n && !rc; i++) {
    char ip[512];
    path_index(ip, sizeof ip, path, kw, i);
    rc = gen_schema(g, &list->kids[i], ip, &alts[i]);
  }
  if (!rc) {
    *rule = new_rule(g);
    pv_sb_printf(&g->out, "s%u ::=", *rule);
    for (uint32_t i = 0; i < list->n; i++) pv_sb_printf(&g->out, "%s s%u", i ? " |" : "", alts[i]);
    pv_sb_puts(&g->out, "\n");
  }
  free(alts);
  return rc;
}

static int gen_enum(gen *g, const pv_gj *s, const char *path, uint32_t *rule) {
  const pv_gj *c = pv_gj_get(s, "const"), *e = pv_gj_get(s, "enum");
  char p[512];
  path_join(p, sizeof p, path, "enum");
  if (!c && (e->kind != PV_GJ_ARR || !e->n)) return bad(g, p, "enum must be a non-empty array");
  pv_sb body = {0};
  int rc = PAGEDVK_OK;
  if (c) {
    rc = json_literal(g, &body, c);
  } else {
    for (uint32_t i = 0; i < e->n && !rc; i++) {
      if (i) pv_sb_puts(&body, " | ");
      rc = json_literal(g, &body, &e->kids[i]);
    }
  }
  if (!rc && body.failed) rc = oom(g);
  if (!rc) {
    *rule = new_rule(g);
    pv_sb_printf(&g->out, "s%u ::= ", *rule);
    pv_sb_add(&g->out, body.p, body.n);
    pv_sb_puts(&g->out, "\n");
  }
  free(body.p);
  return rc;
}

static int gen_string(gen *g, const pv_gj *s, const char *path, uint32_t *rule) {
  const pv_gj *f = pv_gj_get(s, "format");
  const char *fmt = f && f->kind == PV_GJ_STR ? f->s : "";
  static const char *const known[][2] = {{"date", "date"}, {"time", "time"}, {"date-time", "date \"T\" time"},
                                         {"uuid", "uuid"}};
  *rule = new_rule(g);
  for (size_t k = 0; k < PV_ARRAY_LEN(known); k++)
    if (strcmp(fmt, known[k][0]) == 0) {
      pv_sb_printf(&g->out, "s%u ::= \"\\\"\" %s \"\\\"\"\n", *rule, known[k][1]);
      return PAGEDVK_OK;
    }
  uint32_t lo = 0, hi = 0;
  bool has_lo, has_hi;
  int rc = count_kw(g, s, path, "minLength", &lo, &has_lo);
  if (!rc) rc = count_kw(g, s, path, "maxLength", &hi, &has_hi);
  if (rc) return rc;
  if (has_hi && hi < lo) return bad(g, path, "maxLength %u is below minLength %u", hi, lo);
  if (has_hi) pv_sb_printf(&g->out, "s%u ::= \"\\\"\" char{%u,%u} \"\\\"\"\n", *rule, lo, hi);
  else if (lo) pv_sb_printf(&g->out, "s%u ::= \"\\\"\" char{%u,} \"\\\"\"\n", *rule, lo);
  else pv_sb_printf(&g->out, "s%u ::= string\n", *rule);
  return PAGEDVK_OK;
}

static int gen_array(gen *g, const pv_gj *s, const char *path, uint32_t *rule) {
  const pv_gj *items = pv_gj_get(s, "items");
  uint32_t item = 0, lo = 0, hi = 0;
  bool has_lo, has_hi;
  int rc = count_kw(g, s, path, "minItems", &lo, &has_lo);
  if (!rc) rc = count_kw(g, s, path, "maxItems", &hi, &has_hi);
  if (!rc && has_hi && hi < lo) rc = bad(g, path, "maxItems %u is below minItems %u", hi, lo);
  char ip[512];
  path_join(ip, sizeof ip, path, "items");
  if (!rc && items) rc = gen_schema(g, items, ip, &item);
  if (rc) return rc;
  char it[32];
  if (items) snprintf(it, sizeof it, "s%u", item);
  else snprintf(it, sizeof it, "value");
  *rule = new_rule(g);
  pv_sb *o = &g->out;
  if (has_hi && hi == 0) {
    pv_sb_printf(o, "s%u ::= \"[\" ws \"]\"\n", *rule);
  } else {
    /* first item, then the others: {lo-1, hi-1} of them */
    const uint32_t more_lo = lo ? lo - 1 : 0;
    pv_sb_printf(o, "s%u ::= \"[\" ws %s%s ws ( \",\" ws %s ws )", *rule, lo ? "" : "( ", it, it);
    if (has_hi) pv_sb_printf(o, "{%u,%u}", more_lo, hi - 1);
    else pv_sb_printf(o, "{%u,}", more_lo);
    pv_sb_printf(o, "%s \"]\"\n", lo ? "" : " )?");
  }
  return PAGEDVK_OK;
}

/* Additional property names: none of the declared ones. One rule per node of the names' trie;
 * `names` are the declared names (UTF-8, sorted not required). The rule for the node reached by
 * prefix (bytes [0, depth) of names[from..to) that share it) matches the rest of a name and
 * its closing quote. */
static uint32_t utf8_cp(const char *s, size_t n, size_t *len) {
  const unsigned char c = (unsigned char)s[0];
  uint32_t l = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
  if (l > n) l = (uint32_t)n;
  uint32_t v = l == 1 ? c : l == 2 ? (c & 0x1Fu) : l == 3 ? (c & 0x0Fu) : (c & 0x07u);
  for (uint32_t k = 1; k < l; k++) v = v << 6 | ((unsigned char)s[k] & 0x3Fu);
  *len = l;
  return v;
}

static int gen_key_trie(gen *g, const pv_gj **names, uint32_t n, size_t depth, uint32_t *rule) {
  /* children: distinct next code points among names longer than depth */
  uint32_t id = new_rule(g);
  pv_sb body = {0};
  bool ends_here = false;
  uint32_t *cps = malloc((n + 1) * sizeof *cps);
  if (!cps) return oom(g);
  uint32_t n_cps = 0;
  int rc = PAGEDVK_OK;
  for (uint32_t i = 0; i < n && !rc; i++) {
    if (names[i]->len == depth) {
      ends_here = true;
      continue;
    }
    size_t l;
    uint32_t cp = utf8_cp(names[i]->s + depth, names[i]->len - depth, &l);
    bool seen = cp == '"' || cp == '\\' || cp < 0x20; /* never in a plain name: no branch */
    for (uint32_t k = 0; k < n_cps; k++) seen = seen || cps[k] == cp;
    if (seen) continue;
    cps[n_cps++] = cp;
    /* the names that continue with cp */
    const pv_gj **sub = malloc(n * sizeof *sub);
    if (!sub) {
      rc = oom(g);
      break;
    }
    uint32_t m = 0;
    for (uint32_t j = 0; j < n; j++) {
      size_t l2;
      if (names[j]->len > depth && utf8_cp(names[j]->s + depth, names[j]->len - depth, &l2) == cp) sub[m++] = names[j];
    }
    uint32_t child;
    rc = gen_key_trie(g, sub, m, depth + l, &child);
    free(sub);
    if (!rc) pv_sb_printf(&body, " | [\\U%08X] s%u", cp, child);
  }
  if (!rc) {
    pv_sb_printf(&g->out, "s%u ::= [^\"\\\\\\x00-\\x1F", id);
    for (uint32_t k = 0; k < n_cps; k++) pv_sb_printf(&g->out, "\\U%08X", cps[k]);
    pv_sb_printf(&g->out, "] plainchar* \"\\\"\"%s", ends_here ? "" : " | \"\\\"\"");
    if (body.n) pv_sb_add(&g->out, body.p, body.n);
    pv_sb_puts(&g->out, "\n");
    if (body.failed) rc = oom(g);
  }
  free(body.p);
  free(cps);
  *rule = id;
  return rc;
}

typedef struct prop {
  const pv_gj *name;
  uint32_t rule;
  bool required;
} prop;

static int gen_object(gen *g, const pv_gj *s, const char *path, uint32_t *rule) {
  const pv_gj *props = pv_gj_get(s, "properties"), *req = pv_gj_get(s, "required"),
              *add = pv_gj_get(s, "additionalProperties");
  char p[512];
  if (props && props->kind != PV_GJ_OBJ) {
    path_join(p, sizeof p, path, "properties");
    return bad(g, p, "properties must be an object");
  }
  if (req && req->kind != PV_GJ_ARR) {
    path_join(p, sizeof p, path, "required");
    return bad(g, p, "required must be an array of names");
  }
  if (!props && !add && !req) { /* any object */
    *rule = new_rule(g);
    pv_sb_printf(&g->out, "s%u ::= object\n", *rule);
    return PAGEDVK_OK;
  }
  const uint32_t n_props = props ? props->n : 0, n_req = req ? req->n : 0;
  prop *ps = calloc((size_t)n_props + n_req + 1, sizeof *ps);
  if (!ps) return oom(g);
  uint32_t n = 0;
  int rc = PAGEDVK_OK;
  for (uint32_t i = 0; i < n_props && !rc; i++) {
    path_join(p, sizeof p, path, "properties");
    char pp[512];
    path_join(pp, sizeof pp, p, props->kids[2 * i].s);
    ps[n].name = &props->kids[2 * i];
    rc = gen_schema(g, &props->kids[2 * i + 1], pp, &ps[n].rule);
    n++;
  }
  for (uint32_t i = 0; i < n_req && !rc; i++) {
    const pv_gj *name = &req->kids[i];
    if (name->kind != PV_GJ_STR) {
      path_index(p, sizeof p, path, "required", i);
      rc = bad(g, p, "a required name must be a string");
      break;
    }
    bool found = false;
    for (uint32_t k = 0; k < n; k++)
      if (ps[k].name->len == name->len && memcmp(ps[k].name->s, name->s, name->len) == 0) {
        ps[k].required = true;
        found = true;
      }
    if (!found) {
      ps[n].name = name;
      ps[n].required = true;
      ps[n].rule = new_rule(g);
      pv_sb_printf(&g->out, "s%u ::= value\n", ps[n].rule);
      n++;
    }
  }
  /* additional properties */
  uint32_t extra = 0, key = 0;
  bool has_extra = add && !(add->kind == PV_GJ_BOOL && !add->b);
  if (!rc && has_extra) {
    path_join(p, sizeof p, path, "additionalProperties");
    if (add->kind == PV_GJ_BOOL) {
      extra = new_rule(g);
      pv_sb_printf(&g->out, "s%u ::= value\n", extra);
    } else {
      rc = gen_schema(g, add, p, &extra);
    }
    const pv_gj **names = malloc((n + 1) * sizeof *names);
    if (!rc && !names) rc = oom(g);
    for (uint32_t k = 0; k < n && !rc; k++) names[k] = ps[k].name;
    if (!rc) rc = gen_key_trie(g, names, n, 0, &key);
    free(names);
  }
  if (rc) {
    free(ps);
    return rc;
  }
  /* rest(i, first) = r{base+2i} (first) / r{base+2i+1} (after a member) */
  const uint32_t base = g->n_rules;
  g->n_rules += 2 * (n + 1);
  pv_sb *o = &g->out;
  for (uint32_t i = 0; i <= n; i++) {
    for (int first = 1; first >= 0; first--) {
      const uint32_t me = base + 2 * i + (first ? 0 : 1);
      const char *comma = first ? "" : "\",\" ws ";
      pv_sb_printf(o, "s%u ::= ", me);
      if (i == n) {
        if (has_extra)
          pv_sb_printf(o, "( %s\"\\\"\" s%u ws \":\" ws s%u ws ( \",\" ws \"\\\"\" s%u ws \":\" ws s%u ws )* )?", comma,
                       key, extra, key, extra);
        pv_sb_puts(o, "\n");
        continue;
      }
      pv_sb_puts(o, comma);
      pv_sb_puts(o, "\"");
      /* the key as a GBNF literal of its JSON text, without the outer GBNF quotes */
      pv_sb lit = {0};
      pv_sb js = {0};
      pv_gj_write_str(&js, ps[i].name->s, ps[i].name->len);
      literal(&lit, js.p ? js.p : "", js.n);
      if (lit.n >= 2) pv_sb_add(o, lit.p + 1, lit.n - 2);
      if (lit.failed || js.failed) rc = oom(g);
      free(lit.p);
      free(js.p);
      pv_sb_printf(o, "\" ws \":\" ws s%u ws s%u", ps[i].rule, base + 2 * (i + 1) + 1);
      if (!ps[i].required) pv_sb_printf(o, " | s%u", base + 2 * (i + 1) + (first ? 0 : 1));
      pv_sb_puts(o, "\n");
    }
  }
  *rule = new_rule(g);
  pv_sb_printf(o, "s%u ::= \"{\" ws s%u \"}\"\n", *rule, base);
  free(ps);
  return rc;
}

static const char *const UNSUPPORTED[] = {
  "pattern", "patternProperties", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
  "allOf", "not", "if", "then", "else", "contains", "minContains", "maxContains", "prefixItems", "minProperties",
  "maxProperties", "dependentRequired", "dependentSchemas", "propertyNames", "unevaluatedProperties",
  "unevaluatedItems", "$dynamicRef", "$recursiveRef"};

static int gen_type(gen *g, const pv_gj *s, const char *path, const char *type, uint32_t *rule) {
  if (strcmp(type, "object") == 0) return gen_object(g, s, path, rule);
  if (strcmp(type, "array") == 0) return gen_array(g, s, path, rule);
  if (strcmp(type, "string") == 0) return gen_string(g, s, path, rule);
  static const char *const simple[] = {"number", "integer", "boolean", "null"};
  for (size_t k = 0; k < PV_ARRAY_LEN(simple); k++)
    if (strcmp(type, simple[k]) == 0) {
      *rule = new_rule(g);
      pv_sb_printf(&g->out, "s%u ::= %s\n", *rule, type);
      return PAGEDVK_OK;
    }
  char p[512];
  path_join(p, sizeof p, path, "type");
  return bad(g, p, "unknown type '%s'", type);
}

static int gen_schema(gen *g, const pv_gj *s, const char *path, uint32_t *rule) {
  if (g->out.failed) return oom(g);
  if (s->kind == PV_GJ_BOOL) {
    if (!s->b) return bad(g, path, "the schema false matches nothing");
    *rule = new_rule(g);
    pv_sb_printf(&g->out, "s%u ::= value\n", *rule);
    return PAGEDVK_OK;
  }
  if (s->kind != PV_GJ_OBJ) return bad(g, path, "a schema must be an object or a boolean");
  for (size_t k = 0; k < PV_ARRAY_LEN(UNSUPPORTED); k++)
    if (pv_gj_get(s, UNSUPPORTED[k])) {
      char p[512];
      path_join(p, sizeof p, path, UNSUPPORTED[k]);
      return bad(g, p, "'%s' is not supported", UNSUPPORTED[k]);
    }
  const pv_gj *u = pv_gj_get(s, "uniqueItems");
  if (u && !(u->kind == PV_GJ_BOOL && !u->b)) {
    char p[512];
    path_join(p, sizeof p, path, "uniqueItems");
    return bad(g, p, "'uniqueItems' is not supported");
  }
  if (pv_gj_get(s, "$ref")) return gen_ref(g, s, path, rule);
  if (pv_gj_get(s, "const") || pv_gj_get(s, "enum")) return gen_enum(g, s, path, rule);
  const pv_gj *any = pv_gj_get(s, "anyOf"), *one = pv_gj_get(s, "oneOf"), *type = pv_gj_get(s, "type");
  if (any && one) return bad(g, path, "anyOf together with oneOf is not supported");
  if (any || one) {
    if (type || pv_gj_get(s, "properties") || pv_gj_get(s, "items"))
      return bad(g, path, "%s together with type, properties or items is not supported", any ? "anyOf" : "oneOf");
    return gen_alternatives(g, any ? any : one, path, any ? "anyOf" : "oneOf", rule);
  }
  if (type && type->kind == PV_GJ_STR) return gen_type(g, s, path, type->s, rule);
  if (type && type->kind == PV_GJ_ARR) {
    if (!type->n) return bad(g, path, "type must not be an empty list");
    uint32_t *alts = malloc(type->n * sizeof *alts);
    if (!alts) return oom(g);
    int rc = PAGEDVK_OK;
    for (uint32_t i = 0; i < type->n && !rc; i++) {
      char p[512];
      path_index(p, sizeof p, path, "type", i);
      if (type->kids[i].kind != PV_GJ_STR) rc = bad(g, p, "a type must be a string");
      else rc = gen_type(g, s, path, type->kids[i].s, &alts[i]);
    }
    if (!rc) {
      *rule = new_rule(g);
      pv_sb_printf(&g->out, "s%u ::=", *rule);
      for (uint32_t i = 0; i < type->n; i++) pv_sb_printf(&g->out, "%s s%u", i ? " |" : "", alts[i]);
      pv_sb_puts(&g->out, "\n");
    }
    free(alts);
    return rc;
  }
  if (type) {
    char p[512];
    path_join(p, sizeof p, path, "type");
    return bad(g, p, "type must be a string or a list of strings");
  }
  if (pv_gj_get(s, "properties") || pv_gj_get(s, "required") || pv_gj_get(s, "additionalProperties"))
    return gen_object(g, s, path, rule);
  if (pv_gj_get(s, "items") || pv_gj_get(s, "minItems") || pv_gj_get(s, "maxItems"))
    return gen_array(g, s, path, rule);
  if (pv_gj_get(s, "minLength") || pv_gj_get(s, "maxLength") || pv_gj_get(s, "format"))
    return gen_string(g, s, path, rule);
  *rule = new_rule(g);
  pv_sb_printf(&g->out, "s%u ::= value\n", *rule);
  return PAGEDVK_OK;
}

int pv_gram_schema_to_gbnf(const char *schema, size_t len, char **gbnf, pv_error *err) {
  *gbnf = NULL;
  if (len > PV_GRAM_MAX_TEXT) return pv_fail(err, PAGEDVK_ERR_INVALID, "json schema: longer than %u bytes", PV_GRAM_MAX_TEXT);
  pv_gj root;
  int rc = pv_gj_parse(&root, schema, len, "json schema", err);
  if (rc) return rc;
  gen g = {.root = &root, .err = err};
  uint32_t top = 0;
  rc = gen_schema(&g, &root, "", &top);
  if (!rc) {
    pv_sb_printf(&g.out, "root ::= s%u\n", top);
    pv_sb_puts(&g.out, LIBRARY);
    if (g.out.failed) rc = oom(&g);
  }
  for (uint32_t k = 0; k < g.n_refs; k++) free(g.refs[k].ptr);
  free(g.refs);
  pv_gj_free(&root);
  if (rc) {
    free(g.out.p);
    return rc;
  }
  *gbnf = g.out.p;
  return PAGEDVK_OK;
}

int pv_gram_json_object_gbnf(char **gbnf, pv_error *err) {
  pv_sb b = {0};
  pv_sb_puts(&b, "root ::= object\n");
  pv_sb_puts(&b, LIBRARY);
  if (b.failed) {
    free(b.p);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "json schema: out of memory");
  }
  *gbnf = b.p;
  return PAGEDVK_OK;
}

/* Every rule name of GBNF text `in` (as this file writes it: names, literals, classes, counts)
 * with `prefix` before it. */
static void prefix_names(pv_sb *out, const char *in, size_t n, const char *prefix) {
  size_t i = 0;
  while (i < n) {
    const char c = in[i];
    if (c == '"' || c == '[') {
      const char close = c == '"' ? '"' : ']';
      size_t j = i + 1;
      while (j < n && in[j] != close) j += in[j] == '\\' ? 2 : 1;
      j = j < n ? j + 1 : n;
      pv_sb_add(out, in + i, j - i);
      i = j;
    } else if (c == '{') {
      size_t j = i;
      while (j < n && in[j] != '}') j++;
      j = j < n ? j + 1 : n;
      pv_sb_add(out, in + i, j - i);
      i = j;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
      size_t j = i;
      while (j < n && ((in[j] >= 'a' && in[j] <= 'z') || (in[j] >= 'A' && in[j] <= 'Z') ||
                       (in[j] >= '0' && in[j] <= '9') || in[j] == '_' || in[j] == '-'))
        j++;
      pv_sb_puts(out, prefix);
      pv_sb_add(out, in + i, j - i);
      i = j;
    } else {
      pv_sb_add(out, in + i, 1);
      i++;
    }
  }
}

int pv_gram_schema_gbnf(const char *schema, size_t len, const char *prefix, char **gbnf, size_t *gbnf_len,
                        pv_error *err) {
  *gbnf = NULL;
  if (gbnf_len) *gbnf_len = 0;
  for (const char *c = prefix ? prefix : ""; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-'))
      return pv_fail(err, PAGEDVK_ERR_INVALID, "json schema: a rule prefix holds letters, digits and '-' only");
  char *text = NULL;
  int rc = pv_gram_schema_to_gbnf(schema, len, &text, err);
  if (rc) return rc;
  pv_sb out = {0};
  prefix_names(&out, text, strlen(text), prefix ? prefix : "");
  free(text);
  if (out.failed || !out.p) {
    free(out.p);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "json schema: out of memory");
  }
  *gbnf = out.p;
  if (gbnf_len) *gbnf_len = out.n;
  return PAGEDVK_OK;
}
