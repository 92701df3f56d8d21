/*
 * detok.c — token ids back to text (detok.h): the bytes of one token, the streaming
 * detokenizer (pv_detok) and the one-shot pv_detokenize.
 *
 * Every piece is turned into its bytes (pv_token_bytes). Those bytes are passed on only as
 * well-formed UTF-8 (utf8.h): a sequence still incomplete at the end of what has been fed is held
 * back (at most 3 bytes); bytes that cannot start or continue a sequence become one U+FFFD per
 * maximal invalid subpart. Because each decision looks only at the bytes of one sequence, cutting
 * the byte stream at token boundaries cannot change the result: streaming then flushing equals
 * the one-shot decode.
 *
 * With PV_DETOK_STRIP_SPACE on a SentencePiece vocabulary that adds a space prefix, the first
 * token after an optional leading BOS loses one leading space — the space encoding added.
 */
#include "text/detok.h"

#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "text/bytelevel.h"
#include "text/utf8.h"

/* ---- one token's bytes ---------------------------------------------------------------------- */

static size_t put(char *buf, size_t cap, size_t at, const char *s, size_t n) {
  if (at < cap) memcpy(buf + at, s, n < cap - at ? n : cap - at);
  return at + n;
}

/* SPM: the piece with every ▁ (U+2581) turned into a space. */
static size_t spm_unescape(const char *p, size_t len, char *buf, size_t cap) {
  size_t at = 0;
  for (size_t i = 0; i < len;) {
    if (i + 3 <= len && !memcmp(p + i, "\xE2\x96\x81", 3)) {
      at = put(buf, cap, at, " ", 1);
      i += 3;
    } else {
      at = put(buf, cap, at, p + i, 1);
      i++;
    }
  }
  return at;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

size_t pv_token_bytes(const pv_tokenizer *tok, int32_t id, bool special, char *buf, size_t cap) {
  const char *p = pv_token_piece(tok, id);
  if (!p) return 0;
  size_t len = tok->length[id];
  switch (tok->type[id]) {
    case PV_TOKEN_CONTROL: return special ? put(buf, cap, 0, p, len) : 0;
    case PV_TOKEN_USER_DEFINED: return put(buf, cap, 0, p, len);
    case PV_TOKEN_UNKNOWN: return special ? put(buf, cap, 0, p, len) : put(buf, cap, 0, "\xE2\x96\x85", 3);
    case PV_TOKEN_BYTE:
      if (tok->kind == PV_TOK_SPM && len == 6 && hex_digit(p[3]) >= 0 && hex_digit(p[4]) >= 0) {
        char b = (char)(hex_digit(p[3]) * 16 + hex_digit(p[4]));
        return put(buf, cap, 0, &b, 1);
      }
      break;
    default: break;
  }
  if (tok->kind == PV_TOK_SPM) return spm_unescape(p, len, buf, cap);
  return pv_bytelevel_decode(p, len, buf, cap);
}

/* ---- streaming ------------------------------------------------------------------------------ */

typedef struct strbuf {
  char *p;
  size_t n, cap;
} strbuf;

static int sb_put(strbuf *s, const void *data, size_t n) {
  /* at least 64 bytes at first: a step's text then fits the buffers its request keeps (no
   * allocation per step after the first tokens; tests/portability/step_allocs.c) */
  if (pv_grow((void **)&s->p, &s->cap, s->n + n + 1, 1, 64)) return PAGEDVK_ERR_NO_MEMORY;
  memcpy(s->p + s->n, data, n);
  s->n += n;
  s->p[s->n] = 0;
  return PAGEDVK_OK;
}

/* Appends the well-formed part of p[0..n) to out. With `final`, an incomplete tail becomes U+FFFD;
 * otherwise its length is returned (the caller holds it back). */
static int sanitize(const uint8_t *p, size_t n, bool final, strbuf *out, size_t *held) {
  size_t i = 0;
  *held = 0;
  while (i < n) {
    size_t adv;
    pv_utf8_seq k = pv_utf8_check(p + i, n - i, &adv);
    if (k == PV_UTF8_INCOMPLETE && !final) {
      *held = n - i;
      break;
    }
    int rc = k == PV_UTF8_OK ? sb_put(out, p + i, adv) : sb_put(out, "\xEF\xBF\xBD", 3);
    if (rc) return rc;
    i += adv;
  }
  return sb_put(out, "", 0); /* NUL-terminates, even when nothing was added */
}

/* The bytes of one token as the decoder sees it; *strip tracks the leading-space rule. */
static int token_text(const pv_tokenizer *tok, unsigned flags, bool *strip, int32_t id, strbuf *out) {
  char small[256];
  size_t n = pv_token_bytes(tok, id, (flags & PV_DETOK_SPECIAL) != 0, small, sizeof small);
  char *p = small;
  if (n > sizeof small) {
    p = malloc(n);
    if (!p) return PAGEDVK_ERR_NO_MEMORY;
    pv_token_bytes(tok, id, (flags & PV_DETOK_SPECIAL) != 0, p, n);
  }
  size_t skip = 0;
  if (*strip && !(id == tok->bos && tok->bos >= 0)) {
    *strip = false;
    skip = (n > 0 && p[0] == ' ') ? 1 : 0;
  }
  int rc = sb_put(out, p + skip, n - skip);
  if (p != small) free(p);
  return rc;
}

static bool strip_applies(const pv_tokenizer *tok, unsigned flags) {
  return (flags & PV_DETOK_STRIP_SPACE) && tok->kind == PV_TOK_SPM && tok->add_space_prefix;
}

void pv_detok_init(pv_detok *d, const pv_tokenizer *tok, unsigned flags) {
  memset(d, 0, sizeof *d);
  d->tok = tok;
  d->flags = flags;
  d->strip_pending = strip_applies(tok, flags);
}

int pv_detok_feed(pv_detok *d, int32_t id, const char **text, size_t *len, pv_error *err) {
  strbuf raw = {d->raw, 0, d->cap_raw}, out = {d->out, 0, d->cap_out};
  int rc = sb_put(&raw, d->pend, d->n_pend);
  if (!rc) rc = token_text(d->tok, d->flags, &d->strip_pending, id, &raw);
  size_t held = 0;
  if (!rc) rc = sanitize((const uint8_t *)raw.p, raw.n, false, &out, &held);
  if (!rc) {
    memcpy(d->pend, raw.p + raw.n - held, held);
    d->n_pend = held;
  }
  d->raw = raw.p;
  d->cap_raw = raw.cap;
  d->out = out.p;
  d->cap_out = out.cap;
  d->n_out = rc ? 0 : out.n;
  if (rc) return pv_fail(err, rc, "detokenize: no memory");
  *text = d->out;
  *len = d->n_out;
  return PAGEDVK_OK;
}

int pv_detok_flush(pv_detok *d, const char **text, size_t *len, pv_error *err) {
  strbuf out = {d->out, 0, d->cap_out};
  size_t held;
  int rc = sanitize(d->pend, d->n_pend, true, &out, &held);
  d->out = out.p;
  d->cap_out = out.cap;
  d->n_out = rc ? 0 : out.n;
  d->n_pend = 0;
  if (rc) return pv_fail(err, rc, "detokenize: no memory");
  *text = d->out;
  *len = d->n_out;
  return PAGEDVK_OK;
}

void pv_detok_free(pv_detok *d) {
  free(d->out);
  free(d->raw);
  memset(d, 0, sizeof *d);
}

int pv_detokenize(const pv_tokenizer *tok, const int32_t *ids, size_t n, unsigned flags, char **text,
                  size_t *len, pv_error *err) {
  strbuf raw = {0}, out = {0};
  bool strip = strip_applies(tok, flags);
  int rc = sb_put(&raw, "", 0);
  for (size_t i = 0; !rc && i < n; i++) rc = token_text(tok, flags, &strip, ids[i], &raw);
  size_t held;
  if (!rc) rc = sanitize((const uint8_t *)raw.p, raw.n, true, &out, &held);
  if (!rc) rc = sb_put(&out, "", 0);
  free(raw.p);
  if (rc) {
    free(out.p);
    return pv_fail(err, rc, "detokenize: no memory");
  }
  *text = out.p;
  *len = out.n;
  return PAGEDVK_OK;
}
