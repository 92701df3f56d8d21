/*
 * fuzz_grammar.c — libFuzzer target: the grammar engine (runtime/sample/grammar): the GBNF parser,
 * the JSON-schema reader and converter, the recognizer and the token masks.
 *
 * Input: the first byte picks the kind (bit 0: GBNF or JSON schema); the text runs to the first
 * NUL after it; the bytes after that NUL are fed to the recognizer. The checks: compiling gives
 * OK or PAGEDVK_ERR_INVALID with a message (never anything else, never a hang: the bounds of
 * grammar.h); on a small built-in vocabulary the mask of the start state and of the state after
 * the fed bytes agrees token by token with pv_gram_allows, and the end-of-generation token is
 * allowed exactly when the state is complete; a byte the recognizer rejects leaves the state as it
 * was (it accepts the next byte the same way as a fresh copy).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample/grammar/grammar.h"
#include "text/tokenizer.h"

static pv_tokenizer g_tok;
static pv_gram_vocab *g_vocab;

static void init_vocab(void) {
  static const char *const P[] = {"<unk>", "<s>", "</s>", "{", "}", "\"", "a", "ab", "\"a", "1", "12", "\xe2\x96\x81",
                                  "<0xC3>", "<0xA9>", "\xc3\xa9", "{\"", "\"}", "b", ":", ",", "[", "]", "x", "-",
                                  "\\", "\\u", "00", "true", "null", "\xe2\x96\x81\"", "e", "."};
  enum { N = sizeof P / sizeof P[0] };
  pv_gguf_str pieces[N];
  int32_t types[N];
  for (uint32_t i = 0; i < N; i++) {
    pieces[i] = (pv_gguf_str){(char *)P[i], strlen(P[i])};
    types[i] = i == 0 ? PV_TOKEN_UNKNOWN : i < 3 ? PV_TOKEN_CONTROL : i == 12 || i == 13 ? PV_TOKEN_BYTE : PV_TOKEN_NORMAL;
  }
  pv_vocab_desc d = {.model = "llama", .n_vocab = N, .pieces = pieces, .types = types, .bos = 1, .eos = 2,
                     .eot = -1, .unk = 0, .pad = -1, .add_bos = -1, .add_eos = -1, .add_space_prefix = -1};
  pv_error err = {0};
  if (pv_tokenizer_build(&g_tok, &d, &err) || pv_gram_vocab_create(&g_vocab, &g_tok, &err)) {
    fprintf(stderr, "fuzz_grammar: vocabulary: %s\n", err.msg);
    abort();
  }
}

static void fail(const char *what, const pv_error *err) {
  fprintf(stderr, "fuzz_grammar: %s: %s\n", what, err ? err->msg : "");
  abort();
}

/* The mask of s against pv_gram_allows, token by token (a bound hit is no finding). */
static void check_mask(pv_grammar *g, const pv_gram_state *s) {
  const uint64_t *mask;
  uint32_t n;
  pv_error err = {0};
  int rc = pv_gram_mask(g, g_vocab, s, &mask, &n, &err);
  if (rc == PAGEDVK_ERR_INVALID || rc == PAGEDVK_ERR_NO_MEMORY) return;
  if (rc) fail("mask status", &err);
  uint64_t words[1];
  memcpy(words, mask, sizeof words); /* the mask may move with the next call */
  uint32_t count = 0;
  for (uint32_t t = 0; t < g_tok.n_vocab; t++) {
    bool ok = false;
    rc = pv_gram_allows(g, g_vocab, s, (int32_t)t, &ok, &err);
    if (rc == PAGEDVK_ERR_INVALID || rc == PAGEDVK_ERR_NO_MEMORY) return;
    if (rc) fail("allows status", &err);
    if (ok != (bool)(words[t / 64] >> (t % 64) & 1)) fail("the mask and pv_gram_allows disagree", NULL);
    if (t == 2 && ok != pv_gram_state_complete(s)) fail("end of generation allowed where not complete", NULL);
    count += ok;
  }
  if (count != n) fail("the mask's count", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_vocab) init_vocab();
  if (size < 1) return 0;
  const int kind = data[0] & 1 ? PAGEDVK_GRAMMAR_JSON_SCHEMA : PAGEDVK_GRAMMAR_GBNF;
  const char *text = (const char *)data + 1;
  const uint8_t *nul = memchr(data + 1, 0, size - 1);
  const size_t tlen = nul ? (size_t)(nul - data - 1) : size - 1;
  const char *feed = nul ? (const char *)nul + 1 : NULL;
  const size_t n_feed = nul ? size - tlen - 2 : 0;
  pv_grammar *g = NULL;
  pv_error err = {0};
  int rc = pv_grammar_compile(&g, kind, text, tlen, &err);
  if (rc) {
    if ((rc != PAGEDVK_ERR_INVALID && rc != PAGEDVK_ERR_NO_MEMORY) || !err.msg[0] || g) fail("compile status", &err);
    return 0;
  }
  pv_gram_state s = {0}, t = {0};
  rc = pv_gram_state_init(g, &s, &err);
  if (rc && rc != PAGEDVK_ERR_INVALID && rc != PAGEDVK_ERR_NO_MEMORY) fail("init status", &err);
  if (!rc) {
    check_mask(g, &s);
    for (size_t i = 0; i < n_feed && !rc; i++) {
      if (pv_gram_state_copy(&t, &s, &err)) break;
      rc = pv_gram_accept_bytes(g, &s, feed + i, 1, &err);
      if (rc == PAGEDVK_ERR_INVALID) { /* rejected (or a bound): the state is as it was */
        if (s.n != t.n || (s.n && memcmp(s.stacks, t.stacks, s.n * sizeof *s.stacks)) || s.utf_need != t.utf_need)
          fail("a rejected byte changed the state", NULL);
        rc = PAGEDVK_OK;
        continue;
      }
      if (rc && rc != PAGEDVK_ERR_NO_MEMORY) fail("accept status", &err);
    }
    if (!rc) check_mask(g, &s);
  }
  pv_gram_state_free(&s);
  pv_gram_state_free(&t);
  pv_grammar_destroy(g);
  return 0;
}
