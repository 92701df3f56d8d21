/*
 * stop.c — the stop-string matcher.
 *
 * State: buf[0..len) is text not yet decided; buf[0..emitted) was handed out by the last call
 * and is dropped at the start of the next one (so the pointer stays valid until then).
 * Invariant between calls: the undecided text buf[emitted..len) is a proper prefix of some
 * stop string and contains no whole stop string. Every search therefore covers at most the
 * longest stop string plus the new piece.
 */
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "sample/stop.h"

struct pv_stop {
  char **stops;
  size_t *stop_lens;
  uint32_t *stop_index; /* position of each kept (non-empty) string in the caller's array */
  uint32_t n;
  char *buf;
  size_t len, cap, emitted;
  bool stopped;
  uint32_t which;
};

static int add_string(pv_stop *s, const char *str, size_t len, uint32_t index, pv_error *err) {
  if (len == 0) return PAGEDVK_OK;
  s->stops[s->n] = malloc(len);
  if (!s->stops[s->n]) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "stop strings: out of memory");
  memcpy(s->stops[s->n], str, len);
  s->stop_lens[s->n] = len;
  s->stop_index[s->n] = index;
  s->n++;
  return PAGEDVK_OK;
}

int pv_stop_create(pv_stop **out, const char *const *stops, const size_t *lens, uint32_t n_stops, pv_error *err) {
  *out = NULL;
  if (n_stops && !stops) return pv_fail(err, PAGEDVK_ERR_INVALID, "stop strings: NULL array");
  pv_stop *s = calloc(1, sizeof *s);
  if (!s) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "stop strings: out of memory");
  s->stops = calloc(n_stops ? n_stops : 1, sizeof *s->stops);
  s->stop_lens = calloc(n_stops ? n_stops : 1, sizeof *s->stop_lens);
  s->stop_index = calloc(n_stops ? n_stops : 1, sizeof *s->stop_index);
  int rc = (s->stops && s->stop_lens && s->stop_index)
               ? PAGEDVK_OK
               : pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "stop strings: out of memory");
  for (uint32_t i = 0; !rc && i < n_stops; i++) {
    if (!stops[i]) rc = pv_fail(err, PAGEDVK_ERR_INVALID, "stop string %u is NULL", i);
    else rc = add_string(s, stops[i], lens ? lens[i] : strlen(stops[i]), i, err);
  }
  if (rc != PAGEDVK_OK) {
    pv_stop_destroy(s);
    return rc;
  }
  *out = s;
  return PAGEDVK_OK;
}

void pv_stop_destroy(pv_stop *s) {
  if (!s) return;
  for (uint32_t i = 0; i < s->n; i++) free(s->stops[i]);
  free(s->stops);
  free(s->stop_lens);
  free(s->stop_index);
  free(s->buf);
  free(s);
}

size_t pv_stop_held(const pv_stop *s) { return s->len - s->emitted; }

/* Drops what the last call handed out. */
static void drop_emitted(pv_stop *s) {
  if (s->emitted == 0) return;
  memmove(s->buf, s->buf + s->emitted, s->len - s->emitted);
  s->len -= s->emitted;
  s->emitted = 0;
}

/* Drops what the last call emitted, then appends the piece. */
static int append(pv_stop *s, const char *piece, size_t len, pv_error *err) {
  drop_emitted(s);
  if (PV_GROW(s->buf, s->cap, s->len + len) != PAGEDVK_OK)
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "stop strings: out of memory");
  if (len) memcpy(s->buf + s->len, piece, len);
  s->len += len;
  return PAGEDVK_OK;
}

/* The match ending first (then starting first) in buf; false when none. */
static bool find_match(const pv_stop *s, size_t *start, uint32_t *which) {
  bool found = false;
  size_t best_end = 0;
  for (uint32_t k = 0; k < s->n; k++) {
    size_t sl = s->stop_lens[k];
    for (size_t i = 0; i + sl <= s->len; i++) {
      if (memcmp(s->buf + i, s->stops[k], sl) != 0) continue;
      if (!found || i + sl < best_end || (i + sl == best_end && i < *start)) {
        found = true;
        best_end = i + sl;
        *start = i;
        *which = k;
      }
      break; /* later starts of the same string end later */
    }
  }
  return found;
}

/* True when buf[from..len) is the beginning of some stop string (shorter than it). */
static bool is_partial(const pv_stop *s, size_t from) {
  size_t tail = s->len - from;
  for (uint32_t k = 0; k < s->n; k++)
    if (tail < s->stop_lens[k] && memcmp(s->buf + from, s->stops[k], tail) == 0) return true;
  return false;
}

/* How many leading bytes of buf cannot be the start of a stop string. */
static size_t safe_prefix(const pv_stop *s) {
  for (size_t from = 0; from < s->len; from++)
    if (is_partial(s, from)) return from;
  return s->len;
}

static void emit(pv_stop *s, size_t n, pv_stop_out *out) {
  out->text = s->buf ? s->buf : "";
  out->len = n;
  out->stopped = s->stopped;
  out->which = s->stopped ? s->stop_index[s->which] : 0;
  s->emitted = n;
}

int pv_stop_feed(pv_stop *s, const char *piece, size_t len, pv_stop_out *out, pv_error *err) {
  if (s->stopped) {
    s->len = s->emitted = 0;
    emit(s, 0, out);
    return PAGEDVK_OK;
  }
  int rc = append(s, piece, len, err);
  if (rc != PAGEDVK_OK) return rc;
  size_t start = 0;
  uint32_t which = 0;
  if (find_match(s, &start, &which)) {
    s->stopped = true;
    s->which = which;
    s->len = start;
    emit(s, start, out);
    return PAGEDVK_OK;
  }
  emit(s, safe_prefix(s), out);
  return PAGEDVK_OK;
}

void pv_stop_flush(pv_stop *s, pv_stop_out *out) {
  if (s->stopped) {
    s->len = s->emitted = 0;
    emit(s, 0, out);
    return;
  }
  drop_emitted(s);
  emit(s, s->len, out);
}
