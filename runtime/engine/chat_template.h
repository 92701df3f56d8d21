/*
 * chat_template.h — a model's chat template: the Jinja text it renders chats with (parsed once by
 * the interpreter in runtime/text/jinja/), where that text came from, and the BOS / EOS token
 * texts that templates write as bos_token / eos_token. Engine room: it joins the vocabulary
 * (text/vocab.h), the built-in templates (text/chat_builtin.h) and the interpreter.
 *
 * Sources, in order of precedence (the `source` string records which one is in use):
 *   "file:PATH" / "override"  set by the caller (pagedvk_model_set_chat_template, --chat-template-file)
 *   "builtin:NAME"            one of pagedvk's own templates (chat_builtin.h, --chat-template NAME)
 *   "gguf"                    the file's tokenizer.chat_template
 *   "fallback:chatml"         the file has no template, but its vocabulary has <|im_start|> and
 *                             <|im_end|> as control (or user-defined) tokens
 *   none (source NULL)        no template: chat requests fail with `problem`, completions work
 * A template from the file that does not parse keeps source "gguf" with no parsed tree; `problem`
 * then holds the parse error, which every chat request gets.
 *
 * Invariants: exactly one of `tmpl` and `problem` is non-NULL after pv_chat_template_load; bos and
 * eos are never NULL ("" when the vocabulary has no such token). Rendering does not change the
 * struct, so several threads may render at once; setting a template may not race with rendering.
 */
#ifndef PV_CHAT_TEMPLATE_H
#define PV_CHAT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/base.h"
#include "text/vocab.h"

struct pv_jinja;

typedef struct pv_chat_template {
  struct pv_jinja *tmpl; /* the parsed template; NULL when there is no usable one */
  char *source;          /* see above; NULL: none */
  char *problem;         /* why chat requests fail when tmpl is NULL */
  char *bos, *eos;       /* the vocabulary's BOS / EOS token texts */
  char *text;            /* the Jinja text of tmpl (NUL-terminated copy); NULL when tmpl is */
  size_t text_len;
} pv_chat_template;

/* The template of a model: `text` (len bytes; NULL = the file has none) is the file's
 * tokenizer.chat_template, `tok` its vocabulary. An unusable template is not an error here (see
 * above); only running out of memory is. */
int pv_chat_template_load(pv_chat_template *t, const pv_tokenizer *tok, const char *text, size_t len, pv_error *err);
void pv_chat_template_free(pv_chat_template *t);

/* Replaces the template with `text` (len bytes) recorded as `source`, or with built-in `name`
 * when text is NULL (source "builtin:NAME"). On any error (syntax error in the text, unknown
 * name) the template in use is kept. */
int pv_chat_template_set(pv_chat_template *t, const char *text, size_t len, const char *source, pv_error *err);
int pv_chat_template_set_builtin(pv_chat_template *t, const char *name, pv_error *err);

/* Renders the chat `in` (include/pagedvk.h's pagedvk_chat_input: JSON messages, tools, kwargs)
 * with the template. in->bos_token / eos_token NULL: the vocabulary's texts. *out is malloc'd and
 * NUL-terminated, *len excludes the NUL; *has_bos (may be NULL) is set when the text starts with
 * the vocabulary's BOS text. Errors: no template (the recorded problem), the template's own
 * errors (raise_exception text) and malformed input, all PAGEDVK_ERR_INVALID. */
int pv_chat_render(const pv_chat_template *t, const pagedvk_chat_input *in, char **out, size_t *len, bool *has_bos,
                   pv_error *err);

#endif /* PV_CHAT_TEMPLATE_H */
