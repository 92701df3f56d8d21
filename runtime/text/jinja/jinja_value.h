/*
 * jinja_value.h — the values a Jinja render works on, the per-render context that bounds it, and
 * the conversions that must match Python exactly: JSON text → values (key order kept, int vs
 * float by the literal's spelling), str() printing, repr() inside containers, json.dumps.
 *
 * Values (jv) are small structs passed by value. Strings are UTF-8 byte strings (s, n) that are
 * never changed once made; lists and dicts are frozen once built, except a namespace's dict,
 * which `{% set ns.a = ... %}` changes in place. Everything a render allocates lives in its
 * arena (jx) and dies with it; the arena's byte count is the render's memory, capped by the
 * limits. Strings, lists and dicts made by the parser live in the template's own arena and are
 * shared read-only by every render.
 *
 * Every function that can fail returns a pagedvk status and fills x->err (first error wins).
 */
#ifndef PV_JINJA_VALUE_H
#define PV_JINJA_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

typedef enum jv_type {
  JV_UNDEF, /* s/n: the name that was missing (for messages), may be empty */
  JV_NONE,
  JV_BOOL,
  JV_INT,
  JV_FLOAT,
  JV_STR,
  JV_LIST,  /* tuple != 0: printed as a Python tuple */
  JV_DICT,
  JV_NS,    /* namespace(): a dict whose members `set ns.a` changes */
  JV_MACRO, /* p: the macro (its node and closure, jinja_eval.c) */
  JV_FUNC,  /* s/n: a global function's name (range, namespace, dict, raise_exception, strftime_now) */
  JV_BOUND, /* a method of a value: bound->obj and s/n the method name */
  JV_LOOP   /* q: the loop state of a running for (jinja_eval.c) */
} jv_type;

struct jv_list;
struct jv_dict;
struct jv_bound;

typedef struct jv {
  uint8_t t;
  uint8_t tuple;
  size_t n; /* string bytes */
  union {
    bool b;
    int64_t i;
    double f;
    const char *s;
    struct jv_list *l;
    struct jv_dict *d;
    struct jv_bound *bound;
    const void *p;
    void *q; /* JV_LOOP: the loop state, which the render that owns it changes */
  };
} jv;

typedef struct jv_list {
  size_t n;
  jv *v;
} jv_list;

typedef struct jv_dict {
  size_t n, cap;
  jv *k, *v;
} jv_dict;

typedef struct jv_bound {
  jv obj;
  const char *name;
} jv_bound;

/* ---- the render context: arena, limits, error ---- */

typedef struct jx_chunk jx_chunk;
typedef struct jx {
  jx_chunk *chunks;
  size_t mem, max_mem;       /* bytes held by the arena and live buffers */
  uint64_t steps, max_steps; /* evaluation steps so far */
  uint32_t depth, max_depth; /* macro calls and expression nesting */
  size_t max_output;
  int year, month, day;      /* strftime_now's day */
  bool raised;               /* the error is raise_exception's message (no line prefix) */
  pv_error *err;
} jx;

void jx_init(jx *x, pv_error *err);
void jx_free(jx *x);
/* n bytes from the arena (8-byte aligned, not zeroed); NULL with x->err set past the memory limit. */
void *jx_alloc(jx *x, size_t n);
/* Counts `n` more steps of work; PAGEDVK_ERR_INVALID past the step limit (inline: it runs on
 * every node and loop pass). */
int jx_step_limit(jx *x);
static inline int jx_charge(jx *x, uint64_t n) {
  x->steps += n;
  return x->steps > x->max_steps ? jx_step_limit(x) : PAGEDVK_OK;
}
/* Buffer bytes allocated outside the arena (output buffers) count against the memory limit too. */
int jx_mem_take(jx *x, size_t n);
void jx_mem_give(jx *x, size_t n);

/* ---- a growable byte buffer (malloc'd; counted against the memory limit; capped at `cap`) ---- */

typedef struct jsb {
  jx *x;
  char *p;
  size_t n, alloc, cap;
} jsb;

void jsb_init(jsb *b, jx *x, size_t cap);
void jsb_free(jsb *b);
int jsb_put(jsb *b, const char *s, size_t n);
int jsb_puts(jsb *b, const char *s);
int jsb_putc(jsb *b, char c);
int jsb_printf(jsb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The buffer's bytes as an arena string (the buffer stays). */
int jsb_to_str(jsb *b, jv *out);

/* ---- making values ---- */

static inline jv jv_undef(const char *name, size_t n) { return (jv){.t = JV_UNDEF, .s = name, .n = n}; }
static inline jv jv_none(void) { return (jv){.t = JV_NONE}; }
static inline jv jv_bool(bool b) { return (jv){.t = JV_BOOL, .b = b}; }
static inline jv jv_int(int64_t i) { return (jv){.t = JV_INT, .i = i}; }
static inline jv jv_float(double f) { return (jv){.t = JV_FLOAT, .f = f}; }
/* A string over bytes that outlive the render (no copy). */
static inline jv jv_strref(const char *s, size_t n) { return (jv){.t = JV_STR, .s = s, .n = n}; }
/* A string copied into the arena. */
int jv_str(jx *x, const char *s, size_t n, jv *out);
int jv_list_new(jx *x, size_t n, jv *out); /* n slots, the caller fills them */
int jv_dict_new(jx *x, size_t cap, uint8_t type, jv *out);
/* Sets d[k] = v: replaces in place when the key is there, else appends (grows in the arena). */
int jv_dict_set(jx *x, jv_dict *d, jv k, jv v);
/* Index of key k in d, or -1 (charges the scan). */
long jv_dict_find(jx *x, const jv_dict *d, jv k);
long jv_dict_find_str(const jv_dict *d, const char *s, size_t n);

/* ---- Python semantics ---- */

bool jv_truthy(jv v);
bool jv_is_num(jv v); /* int, float or bool */
double jv_num(jv v);
/* Python ==, deep. */
bool jv_equal(jv a, jv b);
/* Python <: *lt = a < b; PAGEDVK_ERR_INVALID when the types do not order. */
int jv_less(jx *x, jv a, jv b, bool *lt);
/* Code points of a string. */
size_t jv_str_cplen(const char *s, size_t n);
/* Byte offset of code point i (0 <= i <= cplen). */
size_t jv_str_cpoff(const char *s, size_t n, size_t i);
/* The type's name as Python says it ("str", "list", "dict"...). */
const char *jv_type_name(jv v);

/* ---- printing ---- */

/* Python's str(v) appended (undefined prints nothing). */
int jv_print(jsb *b, jv v);
/* Python's repr(v). */
int jv_repr(jsb *b, jv v);
/* Python's repr of a float (shortest round trip). */
int jv_print_float(jsb *b, double f);

typedef struct jv_json_opts {
  int indent;          /* < 0: none (one line) */
  bool ensure_ascii;
  bool sort_keys;
  const char *item_sep; /* NULL: ", " (or "," with indent) */
  const char *key_sep;  /* NULL: ": " */
} jv_json_opts;
/* json.dumps(v) with those options. */
int jv_tojson(jsb *b, jv v, const jv_json_opts *o);

/* Parses JSON text (objects keep key order, a number with '.', 'e' or 'E' is a float). */
int jv_parse_json(jx *x, const char *s, size_t n, jv *out);

#endif /* PV_JINJA_VALUE_H */
