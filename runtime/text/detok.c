/*
 * detok.c — token ids back to text: the streaming detokenizer (pv_detok), the one-shot
 * pv_detokenize, and UTF-8 validation.
 *
 * Every piece is turned into its bytes (pv_token_bytes). Those bytes are passed on only as
 * well-formed UTF-8 (Unicode Table 3-7: no overlongs, no surrogates, nothing past U+10FFFF):
 * a sequence still incomplete at the end of what has been fed is held back (at most 3 bytes);
 * bytes that cannot start or continue a sequence become one U+FFFD per maximal invalid subpart.
 * Because each decision looks only at the bytes of one sequence, cutting the byte stream at token
 * boundaries cannot change the result: streaming then flushing equals the one-shot decode.
 *
 * With PV_DETOK_STRIP_SPACE on a SentencePiece vocabulary that adds a space prefix, the first
 * token after an optional leading BOS loses one leading space — the space encoding added.
 */
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer.h"

enum { SEQ_OK, SEQ_BAD, SEQ_INCOMPLETE };

/* Classifies the sequence at p[0..n): *adv = its length (OK), the length of the maximal invalid
 * subpart (BAD), or n (INCOMPLETE: a valid start that needs more bytes). */
static int seq_check(const uint8_t *p, size_t n, size_t *adv) {
  uint8_t b = p[0], lo = 0x80, hi = 0xBF;
  size_t need;
  *adv = 1;
  if (b < 0x80) return SEQ_OK;
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
    return SEQ_BAD;
  }
  for (size_t i = 1; i <= need; i++) {
    *adv = i;
    if (i >= n) return SEQ_INCOMPLETE;
    uint8_t c = p[i];
    if (c < (i == 1 ? lo : 0x80) || c > (i == 1 ? hi : 0xBF)) return SEQ_BAD;
  }
  *adv = need + 1;
  return SEQ_OK;
}

bool pv_utf8_valid(const char *buf, size_t len) {
  for (size_t i = 0; i < len;) {
    size_t adv;
    if (seq_check((const uint8_t *)buf + i, len - i, &adv) != SEQ_OK) return false;
    i += adv;
  }
  return true;
}

size_t pv_utf8_char_len(const char *p, size_t left) {
  size_t adv;
  return seq_check((const uint8_t *)p, left, &adv) == SEQ_OK ? adv : 1;
}

typedef struct strbuf {
  char *p;
  size_t n, cap;
} strbuf;

static int sb_put(strbuf *s, const void *data, size_t n) {
  if (s->n + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 64;
    while (cap < s->n + n + 1) cap *= 2;
    char *p = realloc(s->p, cap);
    if (!p) return PAGEDVK_ERR_NO_MEMORY;
    s->p = p;
    s->cap = cap;
  }
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
    int k = seq_check(p + i, n - i, &adv);
    if (k == SEQ_INCOMPLETE && !final) {
      *held = n - i;
      break;
    }
    int rc = k == SEQ_OK ? sb_put(out, p + i, adv) : sb_put(out, "\xEF\xBF\xBD", 3);
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
