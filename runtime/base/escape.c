/*
 * escape.c — text from a file or a client made safe to print: control bytes (C0, DEL), the C1
 * controls U+0080..U+009F and bytes that are not UTF-8 become escapes, so a model's name or a
 * client's string cannot move a terminal's cursor, change its colours or forge a log line.
 * Everything else (printable ASCII, valid UTF-8 beyond the C1 range) is kept as it is.
 */
#include <stdio.h>
#include <string.h>

#include "base/base.h"

/* Length of the valid UTF-8 sequence at s[0..n) (no overlongs, no surrogates, at most U+10FFFF),
 * 0 when there is none; *cp gets its code point. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp) {
  const unsigned char c = s[0];
  size_t len;
  uint32_t v, min;
  if (c >= 0xc2 && c <= 0xdf) len = 2, v = c & 0x1f, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef) len = 3, v = c & 0x0f, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4) len = 4, v = c & 0x07, min = 0x10000;
  else return 0;
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    v = v << 6 | (s[i] & 0x3f);
  }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return len;
}

/* The escape of byte c (a control byte or one outside UTF-8) into e; its length. */
static size_t escape_byte(unsigned char c, char e[8]) {
  switch (c) {
    case '\n': memcpy(e, "\\n", 2); return 2;
    case '\r': memcpy(e, "\\r", 2); return 2;
    case '\t': memcpy(e, "\\t", 2); return 2;
    case '\\': memcpy(e, "\\\\", 2); return 2;
    default: snprintf(e, 8, "\\x%02x", c); return 4;
  }
}

/* The printable form of the character or byte at p[i]: its bytes (*piece, returned length) and the
 * input bytes it takes (*used). */
static size_t piece_at(const unsigned char *p, size_t n, size_t i, char e[8], const char **piece, size_t *used) {
  uint32_t cp = 0;
  *piece = e;
  *used = 1;
  if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
    e[0] = (char)p[i];
    return 1;
  }
  if (p[i] >= 0x80 && (*used = utf8_seq(p + i, n - i, &cp)) != 0) {
    if (cp < 0xa0) return (size_t)snprintf(e, 8, "\\u%04x", cp); /* C1 control */
    *piece = (const char *)p + i;
    return *used;
  }
  *used = 1;
  return escape_byte(p[i], e);
}

/* Whether the printable form of p[i..n) takes at most `room` bytes. */
static bool rest_fits(const unsigned char *p, size_t n, size_t i, size_t room) {
  size_t total = 0;
  while (i < n) {
    char e[8];
    const char *piece;
    size_t used;
    total += piece_at(p, n, i, e, &piece, &used);
    if (total > room) return false;
    i += used;
  }
  return true;
}

const char *pv_escape(const char *s, size_t n, char *buf, size_t cap) {
  if (!cap) return "";
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  if (!s) n = 0;
  static const char more[] = "...";
  size_t out = 0, i = 0;
  bool all_fits = false; /* once the rest fits, no room is kept for "..." */
  while (i < n) {
    char e[8];
    const char *piece;
    size_t used;
    const size_t elen = piece_at(p, n, i, e, &piece, &used), room = cap - 1 - out;
    if (!all_fits && elen + sizeof more - 1 > room) {
      all_fits = rest_fits(p, n, i, room);
      if (!all_fits) {
        if (room >= sizeof more - 1) memcpy(buf + out, more, sizeof more - 1), out += sizeof more - 1;
        break;
      }
    }
    memcpy(buf + out, piece, elen);
    out += elen;
    i += used;
  }
  buf[out] = 0;
  return buf;
}
