/*
 * gram_json.h — a small JSON reader for schemas (gram_json.c), and a growing text buffer.
 *
 * A document is a tree of gj values owned by its root (pv_gj_free). Strings are decoded to UTF-8
 * (surrogate pairs joined; a lone surrogate is an error), numbers keep their text, objects keep
 * their members in order as key/value pairs (kids[2i] the key, a string; kids[2i+1] the value).
 * Nesting is limited to PV_GJ_MAX_DEPTH; a syntax error says "LINE:COL".
 */
#ifndef PV_SAMPLE_GRAM_JSON_H
#define PV_SAMPLE_GRAM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

#define PV_GJ_MAX_DEPTH 128

typedef enum { PV_GJ_NULL, PV_GJ_BOOL, PV_GJ_NUM, PV_GJ_STR, PV_GJ_ARR, PV_GJ_OBJ } pv_gj_kind;

typedef struct pv_gj {
  pv_gj_kind kind;
  bool b;
  char *s;    /* string (decoded, NUL-terminated; may hold NULs) or number text */
  size_t len;
  struct pv_gj *kids;
  uint32_t n; /* array items, or object members (kids holds 2n) */
} pv_gj;

/* Parses text (what: a prefix for messages, "json schema"). */
int pv_gj_parse(pv_gj *out, const char *text, size_t len, const char *what, pv_error *err);
void pv_gj_free(pv_gj *v);
/* The member named key of an object, or NULL. */
const pv_gj *pv_gj_get(const pv_gj *obj, const char *key);

/* A growing NUL-terminated text; `failed` sticks after an allocation failure. */
typedef struct pv_sb {
  char *p;
  size_t n, cap;
  bool failed;
} pv_sb;

void pv_sb_add(pv_sb *b, const char *s, size_t n);
void pv_sb_puts(pv_sb *b, const char *s);
void pv_sb_printf(pv_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* v as compact JSON text. */
void pv_gj_write(pv_sb *b, const pv_gj *v);
/* s[0..n) as a JSON string literal (quotes included). */
void pv_gj_write_str(pv_sb *b, const char *s, size_t n);

#endif /* PV_SAMPLE_GRAM_JSON_H */
