/*
 * jinja_builtins.h — what templates call by name, with Python's and Jinja 3.1's behaviour:
 * operators on values, attribute and item lookup (Jinja's sandboxed getattr/getitem rules),
 * slicing, filters, tests, the methods of str/dict/list and the globals (range, namespace, dict,
 * raise_exception, strftime_now). It works on values only: nothing here evaluates template code
 * (the evaluator, jinja_eval.c, is above it). jinja_ops.c holds operators, lookups, methods and
 * iteration; jinja_filters.c the filters, tests and globals (it uses jinja_ops.c, never the reverse).
 */
#ifndef PV_JINJA_BUILTINS_H
#define PV_JINJA_BUILTINS_H

#include "text/jinja/jinja_value.h"

/* A call's arguments: positional v[0..n), then keyword kn[i] = kv[i]. */
typedef struct jargs {
  const jv *v;
  size_t n;
  const char *const *kn;
  const jv *kv;
  size_t nk;
} jargs;

/* a <op> b for the jn_op codes of jinja_ast.h (arithmetic, ~, comparisons, in). */
int jb_binop(jx *x, int op, jv a, jv b, jv *out);
int jb_neg(jx *x, jv a, bool negate, jv *out);

/* obj.name: the Python attribute (a method: JV_BOUND) first, then the key; missing: undefined. */
int jb_getattr(jx *x, jv obj, const char *name, size_t n, jv *out);
/* obj[key]: the key first, then the attribute; missing: undefined. */
int jb_getitem(jx *x, jv obj, jv key, jv *out);
/* obj[start:stop:step]; an absent bound is JV_UNDEF. */
int jb_slice(jx *x, jv obj, jv start, jv stop, jv step, jv *out);
/* The items `for` walks: a list's items, a dict's keys, a string's characters; undefined: none. */
int jb_iterate(jx *x, jv v, jv *list);

int jb_filter(jx *x, const char *name, jv in, const jargs *a, jv *out);
int jb_test(jx *x, const char *name, jv in, const jargs *a, bool *out);
/* Calls a bound method (obj.name(...)). */
int jb_call_method(jx *x, jv obj, const char *name, const jargs *a, jv *out);
/* Calls a global function by name; jb_is_global says which names are. */
bool jb_is_global(const char *name);
int jb_call_global(jx *x, const char *name, const jargs *a, jv *out);
/* range()'s arguments checked as the sandbox does (at most 100000 items): its first item, step and
 * length, so a for loop can walk a range without building the list. */
int jb_range_args(jx *x, const jargs *a, int64_t *start, int64_t *step, int64_t *count);

/* Helpers jinja_ops.c shares with jinja_filters.c. */
int jb_undefined_error(jx *x, jv u);          /* "'name' is undefined" */
size_t jb_space_len(const char *s, size_t n); /* bytes of the Unicode whitespace character at s, or 0 */
int jb_strip(jx *x, jv s, jv chars, int which, jv *out); /* which: 1 left, 2 right, 3 both */
int jb_case(jx *x, jv s, char mode, jv *out); /* 'u' upper, 'l' lower, 'c' capitalize, 't' str.title,
                                              's' swapcase, 'j' Jinja's title filter */
int jb_replace(jx *x, jv s, jv old, jv new_, int64_t count, jv *out);

#endif /* PV_JINJA_BUILTINS_H */
