/*
 * jinja_ast.h — the parsed template: the tokens the lexer makes of the text and the tree the
 * parser builds of them (jinja_lex.c, jinja_parse.c), read by the evaluator (jinja_eval.c).
 *
 * Invariants: the tree and every string in it live in the template's arena and are never
 * changed after pv_jinja_parse returns (renders share them across threads); names are
 * NUL-terminated; a node's child arrays hold exactly their counts; the tree is at most
 * JINJA_MAX_NEST deep, so walking it recursively is bounded.
 */
#ifndef PV_JINJA_AST_H
#define PV_JINJA_AST_H

#include "text/jinja/jinja_value.h"

#define JINJA_MAX_NEST 256
#define JINJA_MAX_SOURCE ((size_t)16 << 20)

/* ---- tokens ---- */

typedef enum jt_type {
  JT_TEXT,        /* text between tags, after whitespace control */
  JT_VAR_BEGIN,   /* {{ */
  JT_VAR_END,     /* }} */
  JT_BLOCK_BEGIN, /* {% */
  JT_BLOCK_END,   /* %} */
  JT_NAME,
  JT_STRING, /* the literal's value, escapes decoded */
  JT_INT,
  JT_FLOAT,
  JT_OP, /* op: the operator's text, 1 or 2 characters */
  JT_EOF
} jt_type;

typedef struct jtok {
  uint8_t t;
  char op[3];
  uint32_t line;
  const char *s; /* name, string or text (NUL-terminated, in the arena) */
  size_t n;
  int64_t i;
  double f;
} jtok;

/* Cuts normalized source (newlines as \n, the last newline dropped) into tokens, applying
 * trim_blocks, lstrip_blocks, `-`/`+` whitespace control, comments and raw blocks. */
int jinja_lex(jx *arena, const char *src, size_t len, jtok **toks, size_t *n, pv_error *err);

/* ---- the tree ---- */

typedef enum jn_kind {
  /* statements */
  JN_BODY,     /* v: statements */
  JN_TEXT,     /* lit: the text */
  JN_OUT,      /* a: the expression printed */
  JN_IF,       /* a: condition, v: body, w: else body (an elif is an if alone in it) */
  JN_FOR,      /* names: targets, a: iterable, b: filter (may be NULL), v: body, w: else body */
  JN_SET,      /* names: targets; a: value; c: namespace expression when setting c.<lit> */
  JN_SETBLOCK, /* names[0]: target, v: body, w: filters applied (JN_FILTER with a == NULL) */
  JN_MACRO,    /* lit: name, names: parameters, w: their defaults (NULL entries: none), v: body;
                  op: JN_MACRO_VARARGS / JN_MACRO_KWARGS when the body reads varargs / kwargs */
  JN_BREAK,
  JN_CONTINUE,
  JN_FILTERBLOCK, /* v: body, w: filters applied */
  /* expressions */
  JN_LIT,    /* lit */
  JN_NAME,   /* lit: the name */
  JN_ATTR,   /* a.lit */
  JN_ITEM,   /* a[b] */
  JN_SLICE,  /* a[v[0]:v[1]:v[2]] (NULL entries absent) */
  JN_CALL,   /* a(v..., names[i]=w[i]...) */
  JN_FILTER, /* a | lit(v..., names=w...) */
  JN_TEST,   /* a is [not: op] lit(v...) */
  JN_BIN,    /* a op b */
  JN_NEG,    /* -a */
  JN_POS,    /* +a */
  JN_NOT,    /* not a */
  JN_AND,    /* a and b */
  JN_OR,     /* a or b */
  JN_COND,   /* a if b else c (c may be NULL: undefined) */
  JN_LIST,   /* [v...] */
  JN_TUPLE,  /* (v...) */
  JN_DICT    /* {v[i]: w[i]...} */
} jn_kind;

#define JN_MACRO_VARARGS 1
#define JN_MACRO_KWARGS 2

typedef enum jn_op {
  JOP_ADD = 1,
  JOP_SUB,
  JOP_MUL,
  JOP_DIV,
  JOP_FDIV,
  JOP_MOD,
  JOP_POW,
  JOP_CONCAT,
  JOP_EQ,
  JOP_NE,
  JOP_LT,
  JOP_LE,
  JOP_GT,
  JOP_GE,
  JOP_IN,
  JOP_NOTIN
} jn_op;

typedef struct jnode jnode;
struct jnode {
  uint8_t k, op;
  uint32_t line;
  jnode *a, *b, *c;
  jnode **v, **w;
  uint32_t nv, nw;
  const char **names;
  uint32_t nn;
  jv lit;
};

/* Builds the tree of a token list; syntax errors: PAGEDVK_ERR_FORMAT, "line N: ...". */
int jinja_parse_tokens(jx *arena, const jtok *toks, size_t n, jnode **root, pv_error *err);

#endif /* PV_JINJA_AST_H */
