/*
 * util.c — small helpers for the server: the server's one growth helper (srv_grow), growable byte
 * buffers over it (an append that fails marks the buffer `oom` and leaves its content as it was),
 * UTF-8 sanitizing for token pieces, OpenAI error objects with their HTTP status, and the log
 * (srv_log), which escapes control bytes: log lines quote what clients sent.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

bool srv_grow(void **items, size_t *cap, size_t need, size_t elem, size_t min_cap) {
  if (need <= *cap) return true;
  size_t c = *cap ? *cap : min_cap;
  while (c < need) c = c > SIZE_MAX / 2 ? need : c * 2;
  if (elem && c > SIZE_MAX / elem) return false;
  void *p = realloc(*items, c * elem);
  if (!p) return false;
  *items = p;
  *cap = c;
  return true;
}

static bool buf_reserve(srv_buf *b, size_t extra) {
  if (b->oom) return false;
  if (extra > SIZE_MAX - b->len - 1 || !srv_grow((void **)&b->p, &b->cap, b->len + extra + 1, 1, 256)) {
    b->oom = true;
    return false;
  }
  return true;
}

bool srv_buf_append(srv_buf *b, const char *s, size_t n) {
  if (!buf_reserve(b, n)) return false;
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
  return true;
}

bool srv_buf_puts(srv_buf *b, const char *s) { return srv_buf_append(b, s, strlen(s)); }

bool srv_buf_printf(srv_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || !buf_reserve(b, (size_t)n)) return false;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return true;
}

void srv_buf_free(srv_buf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

size_t srv_utf8_seq(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  size_t len;
  unsigned min, cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) len = 2, min = 0x80, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) len = 3, min = 0x800, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) len = 4, min = 0x10000, cp = c & 0x07;
  else return 0;
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

bool srv_utf8_valid(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    size_t k = srv_utf8_seq(u + i, n - i);
    if (!k) return false;
    i += k;
  }
  return true;
}

bool srv_buf_append_utf8(srv_buf *b, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    size_t k = srv_utf8_seq(u + i, n - i);
    if (k == 0 || (k == 1 && u[i] == 0)) {
      if (!srv_buf_append(b, "\xEF\xBF\xBD", 3)) return false;
      i++;
      continue;
    }
    if (!srv_buf_append(b, s + i, k)) return false;
    i += k;
  }
  return true;
}

/* A message may quote a client's bytes (a model name) and be cut by its buffer: every byte that
 * starts no valid UTF-8 sequence (and a control byte) becomes '?', so the error is valid text. */
static void clean_text(char *m) {
  size_t n = strlen(m);
  for (size_t i = 0; i < n;) {
    size_t k = srv_utf8_seq((const unsigned char *)m + i, n - i);
    if (k == 0 || (k == 1 && (unsigned char)m[i] < 0x20)) {
      m[i++] = '?';
      continue;
    }
    i += k;
  }
}

void srv_error_set(srv_error *e, unsigned http, const char *type, const char *param, const char *code,
                   const char *fmt, ...) {
  e->http = http;
  e->type = type;
  e->code = code;
  snprintf(e->param, sizeof e->param, "%s", param ? param : "");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
  clean_text(e->message);
}

cJSON *srv_error_json(const srv_error *e) {
  cJSON *root = cJSON_CreateObject();
  cJSON *o = cJSON_AddObjectToObject(root, "error");
  if (!o) {
    cJSON_Delete(root);
    return NULL;
  }
  cJSON_AddStringToObject(o, "message", e->message);
  cJSON_AddStringToObject(o, "type", e->type ? e->type : "server_error");
  if (e->param[0]) cJSON_AddStringToObject(o, "param", e->param);
  else cJSON_AddNullToObject(o, "param");
  if (e->code) cJSON_AddStringToObject(o, "code", e->code);
  else cJSON_AddNullToObject(o, "code");
  return root;
}

void srv_error_from_status(srv_error *e, int status, const char *msg) {
  switch (status) {
    case PAGEDVK_ERR_TOO_LONG:
    case PAGEDVK_ERR_KV_FULL:
      srv_error_set(e, 400, "invalid_request_error", "messages", "context_length_exceeded", "%s", msg);
      break;
    case PAGEDVK_ERR_INVALID:
      srv_error_set(e, 400, "invalid_request_error", NULL, NULL, "%s", msg);
      break;
    case PAGEDVK_ERR_ABORTED:
      srv_error_set(e, 503, "server_error", NULL, "shutting_down", "the server is shutting down");
      break;
    case PAGEDVK_ERR_NO_MEMORY:
      srv_error_set(e, 503, "server_error", NULL, NULL, "%s", msg && *msg ? msg : "out of memory");
      break;
    default:
      srv_error_set(e, 500, "server_error", NULL, NULL, "%s (%s)", msg && *msg ? msg : "internal error",
                    pagedvk_status_str(status));
      break;
  }
}

/* Copies s into out (cap bytes, NUL-terminated, cut at a whole escape) with every byte a terminal
 * could act on written as \xNN: C0 controls (newlines included: one call, one line), DEL, the C1
 * controls U+0080..U+009F, and bytes that are not valid UTF-8. */
size_t srv_log_escape(char *out, size_t cap, const char *s) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *u = (const unsigned char *)s;
  size_t n = strlen(s), o = 0;
  if (!cap) return 0;
  for (size_t i = 0; i < n;) {
    size_t k = srv_utf8_seq(u + i, n - i);
    bool bad = k == 0 || (k == 1 && (u[i] < 0x20 || u[i] == 0x7f)) || (k == 2 && u[i] == 0xC2 && u[i + 1] < 0xA0);
    if (!bad) {
      if (o + k >= cap) break;
      memcpy(out + o, s + i, k);
      o += k;
      i += k;
      continue;
    }
    size_t m = k ? k : 1; /* a C1 control's two bytes, or the one bad byte */
    if (o + 4 * m >= cap) break;
    for (size_t j = 0; j < m; j++, i++) {
      out[o++] = '\\';
      out[o++] = 'x';
      out[o++] = hex[u[i] >> 4];
      out[o++] = hex[u[i] & 15];
    }
  }
  out[o] = 0;
  return o;
}

void srv_log(pagedvk_server *s, const char *fmt, ...) {
  if (!s->log) return;
  char line[1024], safe[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  srv_log_escape(safe, sizeof safe, line);
  fprintf(s->log, "pagedvk serve: %s\n", safe);
  fflush(s->log);
}
