/*
 * json_text.h — a growing NUL-terminated text buffer for the JSON the chat path hands the template
 * interpreter (api_chat.c, chat_template.c). A failed growth sets `oom` and makes every later put a
 * no-op, so a caller checks once at the end.
 */
#ifndef PV_ENGINE_JSON_TEXT_H
#define PV_ENGINE_JSON_TEXT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pv_jtext {
  char *p; /* malloc'd, NUL-terminated (NULL until the first put) */
  size_t n, cap;
  bool oom;
} pv_jtext;

void pv_jtext_put_n(pv_jtext *b, const char *s, size_t n);
void pv_jtext_put(pv_jtext *b, const char *s);
/* s as a JSON string literal: `"` and `\` escaped, control characters as \u00XX. */
void pv_jtext_string(pv_jtext *b, const char *s);

#endif
