/*
 * jinja.h — the contract between the Jinja interpreter (runtime/text/jinja/) and its callers
 * (the chat path in runtime/engine, the `pagedvk template` command through the public API).
 * Written by the lead; the jinja helper may ADD to it but must not change these signatures
 * without telling the lead (other code is written against them in parallel).
 *
 * A template is parsed once (pv_jinja_parse) and rendered many times (pv_jinja_render, safe to
 * call from several threads on the same pv_jinja at once: rendering never mutates the tree).
 * Variables come in as JSON text so that callers need no value API: JSON objects keep their key
 * order, a number with a fraction or exponent is a float, any other an integer.
 */
#ifndef PV_JINJA_H
#define PV_JINJA_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

typedef struct pv_jinja pv_jinja; /* a parsed template */

/* Bounds on one render, so a hostile template (from a GGUF file or a request) cannot hang or
 * exhaust the process. 0 in a field = its default. Exceeding any gives PAGEDVK_ERR_INVALID with
 * a message naming the limit. */
typedef struct pv_jinja_limits {
  uint64_t max_steps;    /* evaluation steps (nodes evaluated + loop iterations); default 50,000,000 */
  uint32_t max_depth;    /* nesting of macro calls / expression recursion; default 200 */
  size_t max_output;     /* bytes of rendered text; default 64 MiB */
  size_t max_memory;     /* bytes of values alive or allocated during the render; default 512 MiB */
} pv_jinja_limits;

/* Parses template text (len bytes, not necessarily NUL-terminated) with transformers'
 * environment: trim_blocks, lstrip_blocks, loopcontrols, one trailing newline dropped.
 * Syntax errors: PAGEDVK_ERR_FORMAT with "line N: ..." in the message. Parsing is bounded too
 * (nesting depth, size). */
int pv_jinja_parse(pv_jinja **out, const char *src, size_t len, pv_error *err);
void pv_jinja_free(pv_jinja *t);

typedef struct pv_jinja_render_opts {
  /* JSON objects whose members become top-level variables, applied in order (a later member
   * overrides an earlier one of the same name). Each may be NULL (skipped). Invalid JSON or a
   * non-object: PAGEDVK_ERR_INVALID. */
  const char *const *vars_json;
  const size_t *vars_len;      /* lengths of vars_json[i] */
  size_t n_vars;
  /* strftime_now's day, at 00:00:00; year 0 = today in local time. */
  int year, month, day;
  const pv_jinja_limits *limits; /* NULL: defaults */
} pv_jinja_render_opts;

/* Renders. *out is malloc'd, NUL-terminated (the text itself may not contain NUL... it may, *len
 * is authoritative); *len excludes the NUL. raise_exception(msg) gives PAGEDVK_ERR_INVALID with
 * msg in the error text (verbatim, may be prefixed with "template: "); other runtime errors
 * PAGEDVK_ERR_INVALID with "line N: ...". */
int pv_jinja_render(const pv_jinja *t, const pv_jinja_render_opts *o, char **out, size_t *len, pv_error *err);

#endif /* PV_JINJA_H */
