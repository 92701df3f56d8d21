/*
 * pretok.c — the pre-tokenizer rules of byte-level BPE vocabularies (pretok.h).
 *
 * Each rule set is one to six PCRE2 regexes (UTF + UCP, so \p{L}, \p{N} and \s are
 * Unicode-aware, and MATCH_INVALID_UTF, so any bytes may be searched; DOLLAR_ENDONLY, so `$` is
 * the end of the piece only). The first regex cuts the text; each later one cuts every piece of
 * the one before it, matching against that piece alone. Contractions are spelled with explicit
 * [sS]-style classes rather than (?i:…), because PCRE2's caseless UTF matching would also accept
 * 'ſ' (U+017F) and 'K' (U+212A). An empty match still advances by one character.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/pretok.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "text/utf8.h"

#define PRETOK_MAX_RE 6

struct pv_pretok {
  pcre2_code *re[PRETOK_MAX_RE];
  size_t n;
  uint32_t ovector_pairs; /* enough for the regex with most groups */
};

#define CONTRACTIONS "'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]"
/* Whitespace: a last space stays with the next word; newline runs keep their leading spaces. */
#define SPACE_TAIL "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* GPT-2 (OpenAI's encoder): contractions, optional space + letters / digits / other symbols,
 * then whitespace not followed by non-space (so a last space stays with the next word). */
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

/* Llama 3 (tiktoken cl100k-style): one non-letter may lead letters, digits in runs of at most 3,
 * symbols take trailing newlines, newline runs take their leading whitespace. */
#define RE_LLAMA3 \
  CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*" SPACE_TAIL

/* Qwen2: as Llama 3 but every digit is a word of its own. */
#define RE_QWEN2 CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*" SPACE_TAIL

/* Qwen3.5: as Qwen2, with combining marks counted as letters (so a mark never starts a symbol run). */
#define RE_QWEN35 \
  CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*" SPACE_TAIL

/* Tekken: a letter run is cut where lower case (ASCII a-z) is followed by upper case: a word is
 * any letters but a-z then any letters but A-Z (or the other way round); '/' joins symbol runs. */
#define TEKKEN_NOT_LOWER "(?:(?=\\p{L})[^a-z])"
#define TEKKEN_NOT_UPPER "(?:(?=\\p{L})[^A-Z])"
#define RE_TEKKEN                                                                                  \
  "[^\\r\\n\\p{L}\\p{N}]?" TEKKEN_NOT_LOWER "*" TEKKEN_NOT_UPPER "+"                              \
  "|[^\\r\\n\\p{L}\\p{N}]?" TEKKEN_NOT_LOWER "+" TEKKEN_NOT_UPPER "*"                             \
  "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*" SPACE_TAIL

/* GPT-4o (tiktoken o200k-style): words are upper-case-ish letters then lower-case-ish ones (marks,
 * modifier and caseless letters count as both), each with an optional trailing contraction. */
#define O200K_UPPER "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]"
#define O200K_LOWER "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]"
#define O200K_CONTR "(?:" CONTRACTIONS ")?"
#define RE_GPT4O                                                                                   \
  "[^\\r\\n\\p{L}\\p{N}]?" O200K_UPPER "*" O200K_LOWER "+" O200K_CONTR                            \
  "|[^\\r\\n\\p{L}\\p{N}]?" O200K_UPPER "+" O200K_LOWER "*" O200K_CONTR                           \
  "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*" SPACE_TAIL

/* CJK ideographs (to U+9FA5) with everything from U+0800 below them, and Hangul. */
#define DEEPSEEK_CJK "[\\x{0800}-\\x{9FA5}\\x{AC00}-\\x{D7FF}]+"

typedef struct pre_rules {
  const char *name;
  const char *re[PRETOK_MAX_RE]; /* NULL-terminated when shorter */
} pre_rules;

/* Indexed by pv_tok_pre. */
static const pre_rules RULES[PV_PRE_COUNT] = {
    [PV_PRE_GPT2] = {"gpt2", {RE_GPT2}},
    [PV_PRE_LLAMA3] = {"llama3", {RE_LLAMA3}},
    [PV_PRE_QWEN2] = {"qwen2", {RE_QWEN2}},
    [PV_PRE_SMAUG] = {"smaug-bpe", {RE_LLAMA3}},
    [PV_PRE_QWEN35] = {"qwen35", {RE_QWEN35}},
    [PV_PRE_DIGITS_GPT2] = {"starcoder", {"\\p{N}", RE_GPT2}},
    [PV_PRE_TEKKEN] = {"tekken", {RE_TEKKEN}},
    [PV_PRE_GPT4O] = {"gpt-4o", {RE_GPT4O}},
    /* punctuation and a few ASCII symbols in runs; GPT-2's without the final \s+; digit triples */
    [PV_PRE_FALCON] = {"falcon",
                       {"[\\p{P}$+<=>^~|`]+",
                        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
                        "[0-9][0-9][0-9]"}},
    /* each newline alone; an optional space + cased letters; an optional space + ASCII, fullwidth
     * or CJK punctuation and quotes; trailing whitespace; CJK; digit runs */
    [PV_PRE_DEEPSEEK_LLM] = {"deepseek-llm",
                             {"[\\r\\n]", "\\s?\\p{L&}+",
                              "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}"
                              "\\x{3000}-\\x{3002}]+",
                              "\\s+$", DEEPSEEK_CJK, "\\p{N}+"}},
    [PV_PRE_DEEPSEEK_CODER] = {"deepseek-coder",
                               {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", DEEPSEEK_CJK, "\\p{N}"}},
    /* digit triples; CJK ideographs and kana; then tiktoken-style words where one ASCII symbol may
     * lead an ASCII word and letters take their marks */
    [PV_PRE_DEEPSEEK_V3] = {"deepseek-v3",
                            {"\\p{N}{1,3}", "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{30FF}]+",
                             "[!-/:-@\\[-`{-~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
                             "| ?[\\p{P}\\p{S}]+[\\r\\n]*" SPACE_TAIL}},
};

typedef struct pre_alias {
  const char *name;
  pv_tok_pre pre;
} pre_alias;

/* The `tokenizer.ggml.pre` values of released models and the rules each one uses. */
static const pre_alias ALIASES[] = {
    {"default", PV_PRE_GPT2},         {"gpt2", PV_PRE_GPT2},
    {"gpt-2", PV_PRE_GPT2},           {"mpt", PV_PRE_GPT2},
    {"olmo", PV_PRE_GPT2},            {"jais", PV_PRE_GPT2},
    {"phi-2", PV_PRE_GPT2},           {"llama-bpe", PV_PRE_LLAMA3},
    {"llama3", PV_PRE_LLAMA3},        {"llama-v3", PV_PRE_LLAMA3},
    {"falcon3", PV_PRE_LLAMA3},       {"falcon-h1", PV_PRE_LLAMA3},
    {"pixtral", PV_PRE_LLAMA3},       {"lfm2", PV_PRE_LLAMA3},
    {"qwen2", PV_PRE_QWEN2},          {"deepseek-r1-qwen", PV_PRE_QWEN2},
    {"stablelm2", PV_PRE_QWEN2},      {"megrez", PV_PRE_QWEN2},
    {"smaug-bpe", PV_PRE_SMAUG},      {"dbrx", PV_PRE_SMAUG},
    {"qwen35", PV_PRE_QWEN35},        {"starcoder", PV_PRE_DIGITS_GPT2},
    {"refact", PV_PRE_DIGITS_GPT2},   {"smollm", PV_PRE_DIGITS_GPT2},
    {"command-r", PV_PRE_DIGITS_GPT2}, {"codeshell", PV_PRE_DIGITS_GPT2},
    {"exaone", PV_PRE_DIGITS_GPT2},   {"tekken", PV_PRE_TEKKEN},
    {"gpt-4o", PV_PRE_GPT4O},         {"llama4", PV_PRE_GPT4O},
    {"falcon", PV_PRE_FALCON},        {"deepseek-llm", PV_PRE_DEEPSEEK_LLM},
    {"deepseek-coder", PV_PRE_DEEPSEEK_CODER}, {"deepseek-v3", PV_PRE_DEEPSEEK_V3},
};

pv_tok_pre pv_pretok_from_name(const char *name, bool *known) {
  *known = true;
  if (!name) return PV_PRE_GPT2;
  for (size_t i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++)
    if (!strcmp(name, ALIASES[i].name)) return ALIASES[i].pre;
  *known = false;
  return PV_PRE_GPT2;
}

const char *pv_pretok_name(pv_tok_pre pre) {
  return pre >= 0 && pre < PV_PRE_COUNT ? RULES[pre].name : "?";
}

static int compile_one(const char *pattern, pcre2_code **out, pv_error *err) {
  int code;
  PCRE2_SIZE at;
  *out = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                       PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY, &code, &at, NULL);
  if (!*out) {
    char msg[256];
    pcre2_get_error_message(code, (PCRE2_UCHAR *)msg, sizeof msg);
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "tokenizer: pre-tokenizer regex at %zu: %s", (size_t)at, msg);
  }
  pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE); /* optional: the interpreter is used when JIT is absent */
  return PAGEDVK_OK;
}

int pv_pretok_compile(pv_tok_pre pre, pv_pretok **out, pv_error *err) {
  *out = NULL;
  if (pre < 0 || pre >= PV_PRE_COUNT)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "tokenizer: pre-tokenizer %d out of range", (int)pre);
  pv_pretok *p = calloc(1, sizeof *p);
  if (!p) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenizer: no memory");
  p->ovector_pairs = 1;
  int rc = PAGEDVK_OK;
  for (size_t i = 0; !rc && i < PRETOK_MAX_RE && RULES[pre].re[i]; i++) {
    rc = compile_one(RULES[pre].re[i], &p->re[i], err);
    if (rc) break;
    p->n = i + 1;
    uint32_t groups = 0;
    pcre2_pattern_info(p->re[i], PCRE2_INFO_CAPTURECOUNT, &groups);
    if (groups + 1 > p->ovector_pairs) p->ovector_pairs = groups + 1;
  }
  if (rc) {
    pv_pretok_free(p);
    return rc;
  }
  *out = p;
  return PAGEDVK_OK;
}

void pv_pretok_free(pv_pretok *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++) pcre2_code_free(p->re[i]);
  free(p);
}

typedef struct split_ctx {
  const pv_pretok *p;
  pcre2_match_data *md; /* shared by all levels: a level reads its ovector before going deeper */
  pv_pretok_word fn;
  void *user;
} split_ctx;

/* Cuts text[0..len) with regex `level` and hands each piece to the next level (or, after the
 * last regex, to the callback). */
static int split(const split_ctx *c, size_t level, const char *text, size_t len, pv_error *err) {
  if (level == c->p->n) return c->fn(c->user, text, len, err);
  size_t at = 0;
  while (at < len) {
    int rc = pcre2_match(c->p->re[level], (PCRE2_SPTR)text, len, at, 0, c->md, NULL);
    size_t s = len, e = len;
    if (rc >= 0) {
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
      s = ov[0];
      e = ov[1] > s ? ov[1] : s + pv_utf8_char_len(text + s, len - s);
    } else if (rc != PCRE2_ERROR_NOMATCH) {
      char msg[256];
      pcre2_get_error_message(rc, (PCRE2_UCHAR *)msg, sizeof msg);
      return pv_fail(err, PAGEDVK_ERR_FORMAT, "tokenize: pre-tokenizer failed at byte %zu: %s", at, msg);
    }
    int wrc = s > at ? split(c, level + 1, text + at, s - at, err) : PAGEDVK_OK; /* unmatched bytes */
    if (!wrc && e > s) wrc = split(c, level + 1, text + s, e - s, err);
    if (wrc) return wrc;
    at = e;
  }
  return PAGEDVK_OK;
}

int pv_pretok_split(const pv_pretok *p, const char *text, size_t len, pv_pretok_word fn, void *user,
                    pv_error *err) {
  pcre2_match_data *md = pcre2_match_data_create(p->ovector_pairs, NULL);
  if (!md) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "tokenize: no memory");
  split_ctx c = {p, md, fn, user};
  int rc = split(&c, 0, text, len, err);
  pcre2_match_data_free(md);
  return rc;
}
