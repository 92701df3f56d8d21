/*
 * utf8.c — UTF-8 classification, validation and decoding (utf8.h).
 */
#include "text/utf8.h"

pv_utf8_seq pv_utf8_check(const uint8_t *p, size_t n, size_t *adv) {
  uint8_t b = p[0], lo = 0x80, hi = 0xBF;
  size_t need;
  *adv = 1;
  if (b < 0x80) return PV_UTF8_OK;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    lo = b == 0xE0 ? 0xA0 : 0x80;
    hi = b == 0xED ? 0x9F : 0xBF;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    lo = b == 0xF0 ? 0x90 : 0x80;
    hi = b == 0xF4 ? 0x8F : 0xBF;
  } else {
    return PV_UTF8_BAD;
  }
  for (size_t i = 1; i <= need; i++) {
    *adv = i;
    if (i >= n) return PV_UTF8_INCOMPLETE;
    uint8_t c = p[i];
    if (c < (i == 1 ? lo : 0x80) || c > (i == 1 ? hi : 0xBF)) return PV_UTF8_BAD;
  }
  *adv = need + 1;
  return PV_UTF8_OK;
}

bool pv_utf8_valid(const char *buf, size_t len) {
  for (size_t i = 0; i < len;) {
    size_t adv;
    if (pv_utf8_check((const uint8_t *)buf + i, len - i, &adv) != PV_UTF8_OK) return false;
    i += adv;
  }
  return true;
}

size_t pv_utf8_char_len(const char *p, size_t left) {
  size_t adv;
  return pv_utf8_check((const uint8_t *)p, left, &adv) == PV_UTF8_OK ? adv : 1;
}

size_t pv_utf8_len(uint8_t lead, size_t left) {
  size_t n = 1;
  if (lead >= 0xF0 && lead <= 0xF7) n = 4;
  else if (lead >= 0xE0) n = lead <= 0xEF ? 3 : 1;
  else if (lead >= 0xC0) n = 2;
  return n < left ? n : left;
}

long pv_utf8_decode(const uint8_t *p, size_t len, size_t *n) {
  size_t cl = pv_utf8_len(p[0], len);
  *n = cl;
  if (cl == 1) return p[0] < 0x80 ? p[0] : -1;
  long cp = p[0] & (0xFF >> (cl + 1));
  for (size_t i = 1; i < cl; i++) {
    if ((p[i] & 0xC0) != 0x80) {
      *n = i;
      return -1;
    }
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  return cp;
}
