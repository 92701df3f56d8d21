/*
 * json_text.c — the text buffer of json_text.h.
 */
#include <stdio.h>
#include <string.h>

#include "base/grow.h"
#include "engine/json_text.h"

void pv_jtext_put_n(pv_jtext *b, const char *s, size_t n) {
  if (b->oom) return;
  if (pv_grow((void **)&b->p, &b->cap, b->n + n + 1, 1, 256)) {
    b->oom = true;
    return;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

void pv_jtext_put(pv_jtext *b, const char *s) { pv_jtext_put_n(b, s, strlen(s)); }

void pv_jtext_string(pv_jtext *b, const char *s) {
  pv_jtext_put_n(b, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    char esc[8];
    if (*c == '"' || *c == '\\') {
      esc[0] = '\\', esc[1] = (char)*c;
      pv_jtext_put_n(b, esc, 2);
    } else if (*c < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", *c);
      pv_jtext_put_n(b, esc, 6);
    } else {
      pv_jtext_put_n(b, (const char *)c, 1);
    }
  }
  pv_jtext_put_n(b, "\"", 1);
}
