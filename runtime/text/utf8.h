/*
 * utf8.h — UTF-8 helpers of the text room: classifying, measuring and decoding one sequence, and
 * validating a buffer. Nothing else in runtime/text is below this file.
 *
 * Well-formed means Unicode Table 3-7: no overlongs, no surrogates, nothing past U+10FFFF. The
 * checks look only at the bytes of one sequence, so cutting a byte stream anywhere between
 * sequences never changes what they say about the rest.
 */
#ifndef PV_UTF8_H
#define PV_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum pv_utf8_seq {
  PV_UTF8_OK,        /* a well-formed sequence */
  PV_UTF8_BAD,       /* a maximal invalid subpart */
  PV_UTF8_INCOMPLETE /* a valid start that needs more bytes than are there */
} pv_utf8_seq;

/* Classifies the sequence at p[0..n) (n > 0); *adv = its length (OK), the length of the maximal
 * invalid subpart (BAD), or n (INCOMPLETE). */
pv_utf8_seq pv_utf8_check(const uint8_t *p, size_t n, size_t *adv);
/* Length of the well-formed UTF-8 character at p (left > 0 bytes), 1 when the bytes there are not one. */
size_t pv_utf8_char_len(const char *p, size_t left);
/* True when buf[0..len) is valid UTF-8. */
bool pv_utf8_valid(const char *buf, size_t len);
/* Length of the UTF-8 sequence a lead byte starts by its high bits alone (1 for invalid bytes),
 * clamped to `left`. */
size_t pv_utf8_len(uint8_t lead, size_t left);
/* Decodes the character at p (len > 0) over pv_utf8_len(p[0], len) bytes: the code point, or -1
 * when a lone byte is not ASCII or a byte that should continue the sequence does not; *n gets the
 * bytes consumed (up to the first bad continuation byte). Overlongs are not rejected. */
long pv_utf8_decode(const uint8_t *p, size_t len, size_t *n);

#endif /* PV_UTF8_H */
