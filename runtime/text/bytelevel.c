/*
 * bytelevel.c — the GPT-2 byte ⇄ unicode mapping (bytelevel.h).
 */
#include "text/bytelevel.h"

#include <stdbool.h>

#include "text/utf8.h"

static bool byte_is_printable(unsigned b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; }

static unsigned byte_to_cp(unsigned b) {
  if (byte_is_printable(b)) return b;
  if (b <= 0x20) return 0x100 + b;            /* 33 control and space bytes */
  if (b <= 0xA0) return 0x100 + 33 + (b - 0x7F); /* 0x7F..0xA0: 34 bytes */
  return 0x100 + 33 + 34;                     /* 0xAD, the soft hyphen */
}

/* The byte a code point stands for, or -1 when it is outside the mapping. */
static int cp_to_byte(unsigned cp) {
  if (cp < 0x100) return byte_is_printable(cp) ? (int)cp : -1;
  if (cp < 0x100 + 33) return (int)(cp - 0x100);
  if (cp < 0x100 + 33 + 34) return (int)(cp - 0x100 - 33 + 0x7F);
  if (cp == 0x100 + 33 + 34) return 0xAD;
  return -1;
}

size_t pv_bytelevel_width(uint8_t b) { return byte_to_cp(b) < 0x80 ? 1 : 2; }

size_t pv_bytelevel_encode(const char *in, size_t len, char *out) {
  size_t at = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned cp = byte_to_cp((uint8_t)in[i]);
    if (cp < 0x80) {
      out[at++] = (char)cp;
    } else {
      out[at++] = (char)(0xC0 | (cp >> 6));
      out[at++] = (char)(0x80 | (cp & 0x3F));
    }
  }
  return at;
}

size_t pv_bytelevel_decode(const char *piece, size_t len, char *buf, size_t cap) {
  size_t at = 0;
  for (size_t i = 0; i < len;) {
    size_t n;
    long cp = pv_utf8_decode((const uint8_t *)piece + i, len - i, &n);
    int b = cp >= 0 ? cp_to_byte((unsigned)cp) : -1;
    if (b >= 0) {
      if (at < cap) buf[at] = (char)b;
      at++;
    } else { /* outside the mapping: keep the text as it is */
      for (size_t k = 0; k < n; k++, at++)
        if (at < cap) buf[at] = piece[i + k];
    }
    i += n;
  }
  return at;
}
