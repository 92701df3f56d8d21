/*
 * pretok.c — pre-tokenizer regexes for byte-level BPE (pretok.h).
 *
 * A PCRE2 regex (UTF + UCP, so \p{L}, \p{N} and \s are Unicode-aware, and MATCH_INVALID_UTF, so
 * any bytes may be searched) cuts the text into words. The contractions are spelled with explicit
 * [sS]-style classes rather than (?i:…), because PCRE2's caseless UTF matching would also accept
 * 'ſ' (U+017F) and 'K' (U+212A). An empty match still advances by one character.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/pretok.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "text/utf8.h"

struct pv_pretok {
  pcre2_code *re;
};

#define CONTRACTIONS "'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]"

/* GPT-2 (OpenAI's encoder): contractions, optional space + letters / digits / other symbols,
 * then whitespace not followed by non-space (so a last space stays with the next word). */
static const char RE_GPT2[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* Llama 3 (tiktoken cl100k-style): one non-letter may lead letters, digits in runs of at most 3,
 * symbols take trailing newlines, newline runs take their leading whitespace. */
static const char RE_LLAMA3[] = CONTRACTIONS
    "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* Qwen2: as Llama 3 but every digit is a word of its own. */
static const char RE_QWEN2[] = CONTRACTIONS
    "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const char *pre_pattern(pv_tok_pre pre) {
  switch (pre) {
    case PV_PRE_LLAMA3: return RE_LLAMA3;
    case PV_PRE_QWEN2: return RE_QWEN2;
    default: return RE_GPT2;
  }
}

pv_tok_pre pv_pretok_from_name(const char *name) {
  if (!name || !strcmp(name, "default") || !strcmp(name, "gpt2") || !strcmp(name, "gpt-2")) return PV_PRE_GPT2;
  if (!strcmp(name, "llama-bpe") || !strcmp(name, "llama3") || !strcmp(name, "llama-v3")) return PV_PRE_LLAMA3;
  if (!strcmp(name, "qwen2")) return PV_PRE_QWEN2;
  pv_log(PV_LOG_WARN, "tokenizer: pre-tokenizer '%s' is not known; splitting text as GPT-2 does, "
         "which may give ids that differ from the model's own tokenizer", name);
  return PV_PRE_GPT2;
}

int pv_pretok_compile(pv_tok_pre pre, pv_pretok **out, pv_error *err) {
  int code;
  PCRE2_SIZE at;
  *out = NULL;
  pv_pretok *p = malloc(sizeof *p);
  if (!p) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenizer: no memory");
  p->re = pcre2_compile((PCRE2_SPTR)pre_pattern(pre), PCRE2_ZERO_TERMINATED,
                        PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &code, &at, NULL);
  if (!p->re) {
    char msg[256];
    pcre2_get_error_message(code, (PCRE2_UCHAR *)msg, sizeof msg);
    free(p);
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "tokenizer: pre-tokenizer regex at %zu: %s", (size_t)at, msg);
  }
  pcre2_jit_compile(p->re, PCRE2_JIT_COMPLETE); /* optional: the interpreter is used when JIT is absent */
  *out = p;
  return PAGEDVK_OK;
}

void pv_pretok_free(pv_pretok *p) {
  if (!p) return;
  pcre2_code_free(p->re);
  free(p);
}

static int split(const pv_pretok *p, pcre2_match_data *md, const char *text, size_t len, pv_pretok_word fn,
                 void *user, pv_error *err) {
  size_t at = 0;
  while (at < len) {
    int rc = pcre2_match(p->re, (PCRE2_SPTR)text, len, at, 0, md, NULL);
    size_t s = len, e = len;
    if (rc >= 0) {
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
      s = ov[0];
      e = ov[1] > s ? ov[1] : s + pv_utf8_char_len(text + s, len - s);
    } else if (rc != PCRE2_ERROR_NOMATCH) {
      char msg[256];
      pcre2_get_error_message(rc, (PCRE2_UCHAR *)msg, sizeof msg);
      return pv_fail(err, PAGEDVK_ERR_FORMAT, "tokenize: pre-tokenizer failed at byte %zu: %s", at, msg);
    }
    int wrc = s > at ? fn(user, text + at, s - at, err) : PAGEDVK_OK; /* unmatched bytes */
    if (!wrc && e > s) wrc = fn(user, text + s, e - s, err);
    if (wrc) return wrc;
    at = e;
  }
  return PAGEDVK_OK;
}

int pv_pretok_split(const pv_pretok *p, const char *text, size_t len, pv_pretok_word fn, void *user,
                    pv_error *err) {
  pcre2_match_data *md = pcre2_match_data_create_from_pattern(p->re, NULL);
  if (!md) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenize: no memory");
  int rc = split(p, md, text, len, fn, user, err);
  pcre2_match_data_free(md);
  return rc;
}
