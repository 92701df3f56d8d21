/*
 * test_detok.c — the streaming detokenizer: multi-byte characters (emoji, CJK, accented Latin)
 * whose bytes are split across tokens come out whole, no chunk is ever invalid UTF-8, streaming
 * then flushing equals the one-shot decode, decode(encode(text)) == text on all three shared
 * vocabularies, invalid byte sequences become U+FFFD, and the SentencePiece leading-space rule.
 * The UTF-8 rules are also checked without files, and the round trips also run on the
 * SentencePiece vocabulary of the test model (mkmodel's built-in one, tests/make_models.cmake);
 * the real vocabularies' tests skip, saying so, when ../shared is absent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/detok.h"
#include "text/tokenizer.h"
#include "text/utf8.h"
#include "shared_paths.h"

static const char *const TEXTS[] = {
    "Hello, world!",
    "🦙 llamas 🦙🦙 and 👨‍👩‍👧 families",
    "日本語のテキストと中文文本，한국어 텍스트",
    "Ünïcödé àccents — “quotes” and ½ fractions",
    "  leading spaces, trailing spaces   ",
    "tabs\tand\nnew\n\nlines\r\n",
    "math: ∀x∈ℝ, x² ≥ 0; emoji at end 🎉",
    "Ελληνικά, русский, עברית, العربية, हिन्दी, ไทย",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 outside the BMP: 𐍈 𓀀",
};

/* TEST_MODEL: the test model's vocabulary instead of a file of ../shared */
#define TEST_MODEL "syn-llama-q4k.gguf"

static bool load(pv_tokenizer *tok, pv_gguf_file **f, const char *rel) {
  char path[1024];
  if (!strcmp(rel, TEST_MODEL)) pv_test_model_path(path, sizeof path, rel);
  else if (!pv_test_shared_path(path, sizeof path, rel)) return false;
  pv_error err = {0};
  if (pv_gguf_open(f, path, &err) || pv_tokenizer_load(tok, *f, &err)) fail_msg("%s: %s", rel, err.msg);
  return true;
}

/* Streams ids through a pv_detok; every chunk must be valid UTF-8. Returns the malloc'd text. */
static char *stream(const pv_tokenizer *tok, const int32_t *ids, size_t n, unsigned flags, size_t *len,
                    size_t *held_back) {
  pv_detok d;
  pv_detok_init(&d, tok, flags);
  pv_error err = {0};
  char *all = calloc(1, 1);
  size_t total = 0;
  *held_back = 0;
  for (size_t i = 0; i <= n; i++) {
    const char *chunk;
    size_t clen;
    if (i < n) assert_int_equal(pv_detok_feed(&d, ids[i], &chunk, &clen, &err), 0);
    else assert_int_equal(pv_detok_flush(&d, &chunk, &clen, &err), 0);
    assert_true(pv_utf8_valid(chunk, clen));
    assert_int_equal(strlen(chunk), clen);
    if (i < n && d.n_pend) (*held_back)++;
    all = realloc(all, total + clen + 1);
    memcpy(all + total, chunk, clen);
    total += clen;
    all[total] = 0;
  }
  pv_detok_free(&d);
  *len = total;
  return all;
}

static void round_trips(const char *rel, bool add_bos) {
  pv_tokenizer tok;
  pv_gguf_file *f;
  if (!load(&tok, &f, rel)) skip();
  size_t split_chars = 0;
  for (size_t k = 0; k < PV_ARRAY_LEN(TEXTS); k++) {
    const char *text = TEXTS[k];
    pv_tokens t = {0};
    pv_error err = {0};
    assert_int_equal(pv_tokenize(&tok, text, strlen(text), add_bos, false, &t, &err), 0);
    char *once;
    size_t once_len, stream_len, held;
    assert_int_equal(pv_detokenize(&tok, t.ids, t.n, PV_DETOK_STRIP_SPACE, &once, &once_len, &err), 0);
    char *streamed = stream(&tok, t.ids, t.n, PV_DETOK_STRIP_SPACE, &stream_len, &held);
    split_chars += held;
    assert_string_equal(once, text);
    assert_int_equal(stream_len, once_len);
    assert_string_equal(streamed, once);
    free(once);
    free(streamed);
    pv_tokens_free(&t);
  }
  printf("%s: %zu texts round-trip; %zu tokens ended inside a character\n", rel, PV_ARRAY_LEN(TEXTS), split_chars);
  assert_true(split_chars > 0); /* the texts really exercise held-back bytes */
  pv_tokenizer_free(&tok);
  pv_gguf_close(f);
}

static void test_round_trip_spm(void **state) { round_trips("vocab/ggml-vocab-llama-spm.gguf", true); }
static void test_round_trip_test_model(void **state) { round_trips(TEST_MODEL, true); }
static void test_round_trip_llama_bpe(void **state) { round_trips("vocab/ggml-vocab-llama-bpe.gguf", true); }
static void test_round_trip_qwen2(void **state) { round_trips("vocab/ggml-vocab-qwen2.gguf", false); }

/* Byte tokens of SentencePiece: 🦙 (F0 9F A6 99) arrives one byte per token. */
static void test_spm_bytes_held_back(void **state) {
  pv_tokenizer tok;
  pv_gguf_file *f;
  if (!load(&tok, &f, "vocab/ggml-vocab-llama-spm.gguf")) skip();
  int32_t b[4];
  const uint8_t llama[4] = {0xF0, 0x9F, 0xA6, 0x99};
  for (int i = 0; i < 4; i++) {
    char name[8];
    snprintf(name, sizeof name, "<0x%02X>", llama[i]);
    b[i] = pv_token_lookup(&tok, name, 6);
    assert_true(b[i] >= 0);
  }
  pv_detok d;
  pv_error err = {0};
  const char *text;
  size_t len;
  pv_detok_init(&d, &tok, 0);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(pv_detok_feed(&d, b[i], &text, &len, &err), 0);
    assert_int_equal(len, 0);
  }
  assert_int_equal(pv_detok_feed(&d, b[3], &text, &len, &err), 0);
  assert_string_equal(text, "\xF0\x9F\xA6\x99");
  /* An unfinished character then a new one: the broken prefix becomes one U+FFFD. */
  assert_int_equal(pv_detok_feed(&d, b[0], &text, &len, &err), 0);
  assert_int_equal(pv_detok_feed(&d, b[1], &text, &len, &err), 0);
  assert_int_equal(len, 0);
  assert_int_equal(pv_detok_feed(&d, 15043, &text, &len, &err), 0); /* ▁Hello */
  assert_string_equal(text, "\xEF\xBF\xBD Hello");
  /* An unfinished character at the end: flush gives U+FFFD. */
  assert_int_equal(pv_detok_feed(&d, b[0], &text, &len, &err), 0);
  assert_int_equal(len, 0);
  assert_int_equal(pv_detok_flush(&d, &text, &len, &err), 0);
  assert_string_equal(text, "\xEF\xBF\xBD");
  pv_detok_free(&d);
  pv_tokenizer_free(&tok);
  pv_gguf_close(f);
}

/* SentencePiece: the space the encoder put in front is dropped after BOS, only with the flag. */
static void test_spm_leading_space(void **state) {
  pv_tokenizer tok;
  pv_gguf_file *f;
  if (!load(&tok, &f, "vocab/ggml-vocab-llama-spm.gguf")) skip();
  const int32_t ids[] = {1, 15043, 3186}; /* <s> ▁Hello ▁world */
  char *text;
  size_t len;
  pv_error err = {0};
  assert_int_equal(pv_detokenize(&tok, ids, 3, PV_DETOK_STRIP_SPACE, &text, &len, &err), 0);
  assert_string_equal(text, "Hello world");
  free(text);
  assert_int_equal(pv_detokenize(&tok, ids + 1, 2, PV_DETOK_STRIP_SPACE, &text, &len, &err), 0);
  assert_string_equal(text, "Hello world");
  free(text);
  assert_int_equal(pv_detokenize(&tok, ids, 3, 0, &text, &len, &err), 0);
  assert_string_equal(text, " Hello world");
  free(text);
  assert_int_equal(pv_detokenize(&tok, ids, 3, PV_DETOK_SPECIAL, &text, &len, &err), 0);
  assert_string_equal(text, "<s> Hello world");
  free(text);
  pv_tokenizer_free(&tok);
  pv_gguf_close(f);
}

/* Byte-level BPE: a CJK character split over two tokens. */
static void test_bpe_split_character(void **state) {
  pv_tokenizer tok;
  pv_gguf_file *f;
  if (!load(&tok, &f, "vocab/ggml-vocab-qwen2.gguf")) skip();
  /* Find a text whose tokens cut a character: some rare CJK characters are two tokens. */
  static const char *const candidates[] = {"鼱", "龘", "㐀", "𠀀", "齉"};
  bool found = false;
  for (size_t k = 0; k < PV_ARRAY_LEN(candidates) && !found; k++) {
    pv_tokens t = {0};
    pv_error err = {0};
    assert_int_equal(pv_tokenize(&tok, candidates[k], strlen(candidates[k]), false, false, &t, &err), 0);
    if (t.n >= 2) {
      found = true;
      size_t len, held;
      char *s = stream(&tok, t.ids, t.n, 0, &len, &held);
      assert_true(held > 0);
      assert_string_equal(s, candidates[k]);
      free(s);
    }
    pv_tokens_free(&t);
  }
  assert_true(found);
  pv_tokenizer_free(&tok);
  pv_gguf_close(f);
}

static void test_utf8_validation(void **state) {
  assert_true(pv_utf8_valid("", 0));
  assert_true(pv_utf8_valid("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 10));
  assert_false(pv_utf8_valid("\xC0\x80", 2));         /* overlong NUL */
  assert_false(pv_utf8_valid("\xE0\x80\x80", 3));     /* overlong */
  assert_false(pv_utf8_valid("\xED\xA0\x80", 3));     /* surrogate */
  assert_false(pv_utf8_valid("\xF4\x90\x80\x80", 4)); /* past U+10FFFF */
  assert_false(pv_utf8_valid("\x80", 1));             /* stray continuation */
  assert_false(pv_utf8_valid("\xE2\x82", 2));         /* truncated */
}

/* Any bytes encode, and the tokens' bytes give exactly the input back — invalid UTF-8 and very long
 * runs of one class (one pre-tokenizer word, one SentencePiece stretch) included. */
static void bytes_round_trip(const char *rel) {
  pv_tokenizer tok;
  pv_gguf_file *f;
  if (!load(&tok, &f, rel)) skip();
  size_t big = 100000;
  char *text = malloc(big + 64);
  const char *inputs[] = {"\xFF" "abc" "\xC3", "\x80\x80 \xF0\x9F x \xED\xA0\x80", NULL, NULL};
  size_t lens[] = {5, 11, big, big};
  memset(text, ' ', big);
  inputs[2] = text;
  char *letters = malloc(big);
  memset(letters, 'a', big);
  inputs[3] = letters;
  for (size_t k = 0; k < PV_ARRAY_LEN(inputs); k++) {
    pv_tokens t = {0};
    pv_error err = {0};
    assert_int_equal(pv_tokenize(&tok, inputs[k], lens[k], false, false, &t, &err), 0);
    assert_true(t.n > 0);
    char *back = malloc(lens[k] + 16);
    size_t at = 0;
    for (size_t i = 0; i < t.n; i++) {
      size_t n = pv_token_bytes(&tok, t.ids[i], false, back + at, lens[k] + 16 - at);
      at += n;
      assert_true(at <= lens[k] + 16);
    }
    size_t skip_space = tok.kind == PV_TOK_SPM ? 1 : 0; /* the space prefix */
    assert_int_equal(at, lens[k] + skip_space);
    assert_memory_equal(back + skip_space, inputs[k], lens[k]);
    free(back);
    pv_tokens_free(&t);
  }
  free(text);
  free(letters);
  pv_tokenizer_free(&tok);
  pv_gguf_close(f);
}

static void test_bytes_round_trip_spm(void **state) { bytes_round_trip("vocab/ggml-vocab-llama-spm.gguf"); }
static void test_bytes_round_trip_test_model(void **state) { bytes_round_trip(TEST_MODEL); }
static void test_bytes_round_trip_llama_bpe(void **state) { bytes_round_trip("vocab/ggml-vocab-llama-bpe.gguf"); }
static void test_bytes_round_trip_qwen2(void **state) { bytes_round_trip("vocab/ggml-vocab-qwen2.gguf"); }

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_utf8_validation),     cmocka_unit_test(test_round_trip_spm),
      cmocka_unit_test(test_round_trip_llama_bpe), cmocka_unit_test(test_round_trip_qwen2),
      cmocka_unit_test(test_spm_bytes_held_back), cmocka_unit_test(test_spm_leading_space),
      cmocka_unit_test(test_bpe_split_character), cmocka_unit_test(test_bytes_round_trip_spm),
      cmocka_unit_test(test_bytes_round_trip_llama_bpe), cmocka_unit_test(test_bytes_round_trip_qwen2),
      cmocka_unit_test(test_round_trip_test_model), cmocka_unit_test(test_bytes_round_trip_test_model),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
