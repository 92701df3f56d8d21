/*
 * stop.h — stop strings over streamed text.
 *
 * The engine feeds each newly decoded piece of a sample's text (complete UTF-8). The matcher
 * answers with the bytes that may be shown now, holding back the longest tail that is still
 * the beginning of some stop string, and says when a stop string has appeared: then the text
 * before it is released and the stop string and everything after it are dropped, for good.
 * pv_stop_flush, at the end of a sample that did not stop on a string, releases the held tail.
 *
 * Which match wins when several could: the one that ends first in the text, and among those
 * the one that starts first (the longest) — the same answer however the text is cut into
 * pieces, since a streamed matcher sees the first-ending match first. Empty stop strings are
 * ignored. The strings are copied at creation, with their lengths: any byte may be part of one.
 */
#ifndef PV_SAMPLE_STOP_H
#define PV_SAMPLE_STOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

typedef struct pv_stop pv_stop;

typedef struct pv_stop_out {
  const char *text; /* bytes to emit now; valid until the next call on the matcher */
  size_t len;
  bool stopped;     /* a stop string matched (now or earlier); emit `text` and end the sample */
  uint32_t which;   /* index of the matched stop string in the creation array (when stopped) */
} pv_stop_out;

/* lens: each string's length in bytes (NUL bytes are then ordinary bytes); NULL: NUL-terminated. */
int pv_stop_create(pv_stop **out, const char *const *stops, const size_t *lens, uint32_t n_stops, pv_error *err);
void pv_stop_destroy(pv_stop *s);

/* Feeds one piece. After a stop, every further feed emits nothing and reports stopped. */
int pv_stop_feed(pv_stop *s, const char *piece, size_t len, pv_stop_out *out, pv_error *err);

/* Releases the held tail (nothing after a stop). The matcher may be fed again afterwards. */
void pv_stop_flush(pv_stop *s, pv_stop_out *out);

/* Bytes currently held back. */
size_t pv_stop_held(const pv_stop *s);

#endif /* PV_SAMPLE_STOP_H */
