/*
 * jinja_eval.h — runs a parsed tree (jinja_ast.h) with a set of top-level variables, writing the
 * output into a buffer. Scoping is Jinja's: `set` at the top level (also inside if) is global to
 * the rest of the template; inside a for body it lives for one pass; inside a macro for one call.
 * A macro sees its arguments, then the template's globals (render variables and top-level sets).
 */
#ifndef PV_JINJA_EVAL_H
#define PV_JINJA_EVAL_H

#include "text/jinja/jinja_ast.h"

/* Renders root with the members of vars (a JV_DICT, string keys) as globals into out. Errors say
 * "line N: ..." (raise_exception's message stays as the template wrote it; x->raised is set). */
int jinja_eval(jx *x, const jnode *root, jv vars, jsb *out);

#endif /* PV_JINJA_EVAL_H */
