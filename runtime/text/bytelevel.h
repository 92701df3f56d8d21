/*
 * bytelevel.h — the GPT-2 byte ⇄ unicode mapping that byte-level BPE vocabularies write their
 * pieces in: each byte is one character (printable Latin-1 maps to itself, the other 68 bytes to
 * U+0100..U+0143, in byte order), so every byte string has a text form made of pieces.
 *
 * Depends on utf8.h only. Invariant: the mapping is a bijection between the 256 bytes and its 256
 * code points; a mapped byte takes 1 (ASCII) or 2 UTF-8 bytes.
 */
#ifndef PV_BYTELEVEL_H
#define PV_BYTELEVEL_H

#include <stddef.h>
#include <stdint.h>

/* UTF-8 length (1 or 2) of the character byte b maps to. */
size_t pv_bytelevel_width(uint8_t b);
/* Writes the mapped form of in[0..len) to out (room for 2 * len bytes); returns its length. */
size_t pv_bytelevel_encode(const char *in, size_t len, char *out);
/* Maps a byte-level piece back to bytes; characters outside the mapping are kept as they are.
 * Returns the full length, writes at most cap bytes. */
size_t pv_bytelevel_decode(const char *piece, size_t len, char *buf, size_t cap);

#endif /* PV_BYTELEVEL_H */
