/*
 * json_write.c — JSON text for responses with cJSON's unformatted spelling (see json.h), strings
 * as (pointer, length), made valid UTF-8 (U+FFFD for each byte that starts no valid sequence).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

bool jw_str_part(srv_buf *b, const char *s, size_t n) {
  if (!n) return !b->oom; /* s may be NULL then */
  const unsigned char *u = (const unsigned char *)s;
  size_t run = 0; /* bytes from `run` on are copied as they are, up to i */
  size_t i = 0;
  while (i < n) {
    unsigned char c = u[i];
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      i++;
      continue;
    }
    size_t k = c >= 0x80 ? srv_utf8_seq(u + i, n - i) : 0;
    if (k) {
      i += k;
      continue;
    }
    srv_buf_append(b, s + run, i - run);
    char esc[8];
    const char *e = esc;
    switch (c) {
      case '"': e = "\\\""; break;
      case '\\': e = "\\\\"; break;
      case '\b': e = "\\b"; break;
      case '\f': e = "\\f"; break;
      case '\n': e = "\\n"; break;
      case '\r': e = "\\r"; break;
      case '\t': e = "\\t"; break;
      default:
        if (c < 0x20) snprintf(esc, sizeof esc, "\\u%04x", c);
        else e = "\xEF\xBF\xBD"; /* a byte that starts no valid UTF-8 sequence */
        break;
    }
    srv_buf_append(b, e, strlen(e));
    i++;
    run = i;
  }
  return srv_buf_append(b, s + run, i - run);
}

bool jw_str(srv_buf *b, const char *s, size_t n) {
  srv_buf_append(b, "\"", 1);
  jw_str_part(b, s, n);
  return srv_buf_append(b, "\"", 1);
}

bool jw_cstr(srv_buf *b, const char *s) { return jw_str(b, s, strlen(s)); }

/* cJSON's rule: equal within the larger magnitude's epsilon. */
static bool close_enough(double a, double b) {
  double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
  return fabs(a - b) <= m * DBL_EPSILON;
}

bool jw_num(srv_buf *b, double v) {
  if (!isfinite(v)) return srv_buf_append(b, "null", 4);
  char tmp[32];
  snprintf(tmp, sizeof tmp, "%1.15g", v);
  if (!close_enough(strtod(tmp, NULL), v)) snprintf(tmp, sizeof tmp, "%1.17g", v);
  return srv_buf_append(b, tmp, strlen(tmp));
}

bool jw_value(srv_buf *b, const sj_doc *d, uint32_t i) {
  switch (sj_type_of(d, i)) {
    case SJ_NULL: return srv_buf_append(b, "null", 4);
    case SJ_FALSE: return srv_buf_append(b, "false", 5);
    case SJ_TRUE: return srv_buf_append(b, "true", 4);
    case SJ_NUMBER: return srv_buf_append(b, sj_bytes(d, i), sj_len(d, i));
    case SJ_STRING: return jw_str(b, sj_bytes(d, i), sj_len(d, i));
    case SJ_ARRAY:
    case SJ_OBJECT: {
      bool object = sj_type_of(d, i) == SJ_OBJECT;
      srv_buf_append(b, object ? "{" : "[", 1);
      for (uint32_t k = sj_first(d, i); k != SJ_NONE; k = sj_next(d, k)) {
        if (k != sj_first(d, i)) srv_buf_append(b, ",", 1);
        if (object) {
          jw_value(b, d, k);
          srv_buf_append(b, ":", 1);
          k = sj_next(d, k);
        }
        jw_value(b, d, k);
      }
      return srv_buf_append(b, object ? "}" : "]", 1);
    }
  }
  return false;
}
