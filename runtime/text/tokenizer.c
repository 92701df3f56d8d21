/*
 * tokenizer.c — text → ids (tokenizer.h): the split of text on special-token strings, the
 * dispatch of the raw stretches between them to the vocabulary's encoder (spm.c or bpe.c), and
 * BOS/EOS.
 */
#include "text/tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "text/bpe.h"
#include "text/spm.h"

/* ---- encoding --------------------------------------------------------------------------------
 * The text is first cut into fragments: raw stretches and special tokens. Special tokens are
 * taken longest first: each one splits every raw fragment at each of its occurrences, left to
 * right. Control and unknown tokens take part only when parse_special is asked; user-defined
 * tokens always do. */

typedef struct fragment {
  int32_t id; /* -1: raw text [off, off + len) */
  size_t off, len;
} fragment;

typedef struct fragments {
  fragment *v;
  size_t n, cap;
} fragments;

static int frag_push(fragments *f, int32_t id, size_t off, size_t len) {
  if (PV_GROW(f->v, f->cap, f->n + 1)) return PAGEDVK_ERR_NO_MEMORY;
  f->v[f->n++] = (fragment){id, off, len};
  return PAGEDVK_OK;
}

/* Splits the raw fragments of `in` on occurrences of special token `id`, into `out`. */
static int split_on(const pv_tokenizer *tok, const char *text, int32_t id, const fragments *in, fragments *out) {
  const char *piece = tok->text + tok->offset[id];
  size_t plen = tok->length[id];
  out->n = 0;
  for (size_t i = 0; i < in->n; i++) {
    fragment fr = in->v[i];
    if (fr.id >= 0 || fr.len < plen) {
      if (frag_push(out, fr.id, fr.off, fr.len)) return PAGEDVK_ERR_NO_MEMORY;
      continue;
    }
    size_t at = fr.off, end = fr.off + fr.len;
    const char *hit;
    while (at < end && (hit = memmem(text + at, end - at, piece, plen)) != NULL) {
      size_t pos = (size_t)(hit - text);
      if (pos > at && frag_push(out, -1, at, pos - at)) return PAGEDVK_ERR_NO_MEMORY;
      if (frag_push(out, id, pos, plen)) return PAGEDVK_ERR_NO_MEMORY;
      at = pos + plen;
    }
    if (at < end && frag_push(out, -1, at, end - at)) return PAGEDVK_ERR_NO_MEMORY;
  }
  return PAGEDVK_OK;
}

static bool takes_part(const pv_tokenizer *tok, int32_t id, bool parse_special) {
  return parse_special || tok->type[id] == PV_TOKEN_USER_DEFINED;
}

static int partition(const pv_tokenizer *tok, const char *text, size_t len, bool parse_special, fragments *out,
                     pv_error *err) {
  fragments tmp = {0};
  int rc = frag_push(out, -1, 0, len);
  for (uint32_t s = 0; !rc && s < tok->n_special; s++) {
    int32_t id = tok->special[s];
    if (!takes_part(tok, id, parse_special) || !memmem(text, len, tok->text + tok->offset[id], tok->length[id]))
      continue;
    rc = split_on(tok, text, id, out, &tmp);
    fragments swap = *out;
    *out = tmp;
    tmp = swap;
  }
  free(tmp.v);
  return rc ? pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenize: no memory") : PAGEDVK_OK;
}

static int encode_fragments(const pv_tokenizer *tok, const char *text, const fragments *fr, pv_tokens *out,
                            pv_error *err) {
  bool prev_special = true; /* SPM: a space prefix goes before text that starts or follows a special */
  for (size_t i = 0; i < fr->n; i++) {
    int rc;
    if (fr->v[i].id >= 0) {
      rc = pv_tokens_push(out, fr->v[i].id);
      if (rc) return pv_fail(err, rc, "tokenize: no memory");
      prev_special = true;
      continue;
    }
    if (tok->kind == PV_TOK_SPM)
      rc = pv_spm_encode(tok, text + fr->v[i].off, fr->v[i].len, tok->add_space_prefix && prev_special, out, err);
    else
      rc = pv_bpe_encode(tok, text + fr->v[i].off, fr->v[i].len, out, err);
    if (rc) return rc;
    prev_special = false;
  }
  return PAGEDVK_OK;
}

int pv_tokenize(const pv_tokenizer *tok, const char *text, size_t len, bool add_special, bool parse_special,
                pv_tokens *out, pv_error *err) {
  if (!text && len) return pv_fail(err, PAGEDVK_ERR_INVALID, "tokenize: NULL text");
  if (add_special && tok->add_bos && tok->bos >= 0 && pv_tokens_push(out, tok->bos))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenize: no memory");
  if (len) {
    fragments fr = {0};
    int rc = partition(tok, text, len, parse_special, &fr, err);
    if (!rc) rc = encode_fragments(tok, text, &fr, out, err);
    free(fr.v);
    if (rc) return rc;
  }
  if (add_special && tok->add_eos && tok->eos >= 0 && pv_tokens_push(out, tok->eos))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenize: no memory");
  return PAGEDVK_OK;
}
