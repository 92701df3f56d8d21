/*
 * test_vocab.c — the tokenizers against the shared test vectors: every input of the three
 * vocabulary files (ggml-vocab-*.gguf.inp / .out: no BOS, special tokens not parsed) and the
 * prompt ids of the llama-2-tiny-random oracle (with and without BOS, through the public API).
 * Also: decode(encode(input)) gives the input back, and encoding stays fast on a long text.
 * Skips when ../shared is absent.
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
#include "shared_paths.h"

typedef struct vocab_fixture {
  pv_gguf_file *f;
  pv_tokenizer tok;
} vocab_fixture;

static bool open_vocab(vocab_fixture *v, const char *rel) {
  char path[1024];
  if (!pv_test_shared_path(path, sizeof path, rel)) return false;
  pv_error err = {0};
  int rc = pv_gguf_open(&v->f, path, &err);
  if (!rc) rc = pv_tokenizer_load(&v->tok, v->f, &err);
  if (rc) fail_msg("%s: %s", rel, err.msg);
  return true;
}

static void close_vocab(vocab_fixture *v) {
  pv_tokenizer_free(&v->tok);
  pv_gguf_close(v->f);
}

/* Parses one line of space-separated ids. */
static size_t parse_ids(const char *line, const char *end, int32_t *ids, size_t cap) {
  size_t n = 0;
  while (line < end) {
    char *next;
    long v = strtol(line, &next, 10);
    if (next == line) break;
    assert_true(n < cap);
    ids[n++] = (int32_t)v;
    line = next;
  }
  return n;
}

static void expect_ids(const char *what, const int32_t *want, size_t n_want, const pv_tokens *got) {
  bool same = n_want == got->n && (n_want == 0 || !memcmp(want, got->ids, n_want * sizeof *want));
  if (!same) {
    fprintf(stderr, "%s\n  want:", what);
    for (size_t i = 0; i < n_want; i++) fprintf(stderr, " %d", want[i]);
    fprintf(stderr, "\n  got: ");
    for (size_t i = 0; i < got->n; i++) fprintf(stderr, " %d", got->ids[i]);
    fprintf(stderr, "\n");
  }
  assert_true(same);
}

/* Checks one input: its ids, and that decoding them gives the input back. */
static void check_one(const pv_tokenizer *tok, const char *text, size_t len, const int32_t *want, size_t n_want) {
  pv_tokens got = {0};
  pv_error err = {0};
  assert_int_equal(pv_tokenize(tok, text, len, false, false, &got, &err), 0);
  char what[160];
  snprintf(what, sizeof what, "input '%.*s'", (int)(len > 100 ? 100 : len), text);
  expect_ids(what, want, n_want, &got);
  char *back;
  size_t back_len;
  assert_int_equal(pv_detokenize(tok, got.ids, got.n, PV_DETOK_STRIP_SPACE, &back, &back_len, &err), 0);
  assert_int_equal(back_len, len);
  assert_memory_equal(back, text, len);
  free(back);
  pv_tokens_free(&got);
}

/* Runs every vector of NAME.gguf.inp / .out; returns how many. */
static int run_vectors(const pv_tokenizer *tok, const char *name) {
  char rel[256], path[1024];
  snprintf(rel, sizeof rel, "vocab/%s.inp", name);
  assert_true(pv_test_shared_path(path, sizeof path, rel));
  char *inp = pv_test_read_file(path, NULL);
  snprintf(rel, sizeof rel, "vocab/%s.out", name);
  assert_true(pv_test_shared_path(path, sizeof path, rel));
  char *out = pv_test_read_file(path, NULL);
  assert_non_null(inp);
  assert_non_null(out);
  static const char SEP[] = "\n__ggml_vocab_test__\n";
  static int32_t want[8192];
  int count = 0;
  const char *at = inp, *line = out;
  for (const char *end; (end = strstr(at, SEP)) != NULL; at = end + sizeof SEP - 1, count++) {
    const char *eol = strchr(line, '\n');
    assert_non_null(eol);
    size_t n_want = parse_ids(line, eol, want, PV_ARRAY_LEN(want));
    check_one(tok, at, (size_t)(end - at), want, n_want);
    line = eol + 1;
  }
  assert_int_equal(*line, 0); /* as many outputs as inputs */
  free(inp);
  free(out);
  return count;
}

static void vectors_of(const char *name) {
  char rel[256];
  snprintf(rel, sizeof rel, "vocab/%s", name);
  vocab_fixture v;
  if (!open_vocab(&v, rel)) skip();
  int n = run_vectors(&v.tok, name);
  printf("%s: %d vectors pass\n", name, n);
  assert_true(n >= 40);
  close_vocab(&v);
}

static void test_llama_spm_vectors(void **state) { vectors_of("ggml-vocab-llama-spm.gguf"); }
static void test_llama_bpe_vectors(void **state) { vectors_of("ggml-vocab-llama-bpe.gguf"); }
static void test_qwen2_vectors(void **state) { vectors_of("ggml-vocab-qwen2.gguf"); }

/* ---- the oracle's prompt ids, through the public API ---------------------------------------- */

/* Reads the JSON string at *p (just past its opening quote) into buf. */
static void json_string(const char **p, char *buf, size_t cap) {
  size_t n = 0;
  const char *s = *p;
  for (; *s && *s != '"'; s++) {
    char c = *s;
    if (c == '\\') {
      c = *++s;
      if (c == 'n') c = '\n';
      else if (c == 't') c = '\t';
      else assert_true(c == '"' || c == '\\' || c == '/');
    }
    assert_true(n + 1 < cap);
    buf[n++] = c;
  }
  buf[n] = 0;
  *p = s + 1;
}

/* Reads the JSON integer array after "key" following *p. */
static size_t json_ids(const char *p, const char *key, int32_t *ids, size_t cap) {
  const char *k = strstr(p, key);
  assert_non_null(k);
  const char *open = strchr(k, '['), *close = strchr(k, ']');
  size_t n = 0;
  for (const char *s = open + 1; s < close;) {
    char *next;
    long v = strtol(s, &next, 10);
    if (next == s) {
      s++;
      continue;
    }
    assert_true(n < cap);
    ids[n++] = (int32_t)v;
    s = next;
  }
  return n;
}

static void check_prompt(const pagedvk_model *m, const char *prompt, int add_bos, const int32_t *want, size_t n_want) {
  int32_t ids[256];
  size_t n = 0;
  char err[256];
  assert_int_equal(pagedvk_tokenize(m, prompt, add_bos, 0, ids, PV_ARRAY_LEN(ids), &n, err, sizeof err), 0);
  assert_int_equal(n, n_want);
  assert_memory_equal(ids, want, n * sizeof *ids);
}

static void test_oracle_prompt_ids(void **state) {
  char path[1024], mpath[1024];
  if (!pv_test_shared_path(path, sizeof path, "oracle/llama-2-tiny-random.json") ||
      !pv_test_shared_path(mpath, sizeof mpath, "models/llama-2-tiny-random.gguf"))
    skip();
  char *json = pv_test_read_file(path, NULL);
  assert_non_null(json);
  pagedvk_model *m;
  char err[256];
  assert_int_equal(pagedvk_model_open(&m, mpath, err, sizeof err), 0);
  int cases = 0;
  for (const char *p = json; (p = strstr(p, "\"prompt\":")) != NULL; cases++) {
    char prompt[1024];
    p = strchr(p + 9, '"') + 1;
    json_string(&p, prompt, sizeof prompt);
    int32_t with_bos[256], no_bos[256];
    size_t nw = json_ids(p, "\"prompt_ids_with_bos\"", with_bos, 256);
    size_t nn = json_ids(p, "\"prompt_ids_no_bos\"", no_bos, 256);
    check_prompt(m, prompt, 1, with_bos, nw);
    check_prompt(m, prompt, 0, no_bos, nn);
  }
  printf("llama-2-tiny-random: %d oracle prompts pass (with and without BOS)\n", cases);
  assert_true(cases >= 1);
  pagedvk_model_close(m);
  free(json);
}

/* The public buffer contract: too small a buffer reports the count needed. */
static void test_public_tokenize_buffer(void **state) {
  char path[1024], err[256];
  if (!pv_test_shared_path(path, sizeof path, "vocab/ggml-vocab-llama-spm.gguf")) skip();
  pagedvk_model *m;
  assert_int_equal(pagedvk_model_open(&m, path, err, sizeof err), 0);
  int32_t ids[8];
  size_t n = 0;
  assert_int_equal(pagedvk_tokenize(m, "Hello world", 1, 0, ids, 2, &n, err, sizeof err), PAGEDVK_ERR_TOO_LONG);
  assert_int_equal(n, 3);
  assert_int_equal(ids[0], 1);
  assert_int_equal(pagedvk_tokenize(m, "Hello world", 1, 0, ids, 8, &n, err, sizeof err), 0);
  assert_int_equal(n, 3);
  assert_int_equal(ids[1], 15043);
  assert_int_equal(ids[2], 3186);
  assert_int_equal(pagedvk_vocab_size(m), 32000);
  char piece[16];
  size_t len;
  assert_int_equal(pagedvk_token_to_piece(m, 15043, 0, piece, sizeof piece, &len, err, sizeof err), 0);
  assert_string_equal(piece, " Hello");
  assert_int_equal(pagedvk_token_to_piece(m, 32000, 0, piece, sizeof piece, &len, err, sizeof err),
                   PAGEDVK_ERR_INVALID);
  pagedvk_model_close(m);
}

/* Encoding a long text is roughly linear: 200 KB of mixed text in well under a second. */
static void test_long_text_is_fast(void **state) {
  vocab_fixture v[2];
  if (!open_vocab(&v[0], "vocab/ggml-vocab-llama-spm.gguf") || !open_vocab(&v[1], "vocab/ggml-vocab-llama-bpe.gguf"))
    skip();
  static const char chunk[] = "The quick brown fox — 快速的狐狸 — jumps over 12345 lazy dogs! 🦊\n";
  size_t len = 0, cap = 200 * 1024;
  char *text = malloc(cap + sizeof chunk);
  while (len < cap) {
    memcpy(text + len, chunk, sizeof chunk - 1);
    len += sizeof chunk - 1;
  }
  for (int i = 0; i < 2; i++) {
    pv_tokens t = {0};
    pv_error err = {0};
    double t0 = pv_now();
    assert_int_equal(pv_tokenize(&v[i].tok, text, len, true, false, &t, &err), 0);
    double ms = (pv_now() - t0) * 1e3;
    printf("%s: %zu bytes -> %zu tokens in %.1f ms\n", i ? "llama-bpe" : "llama-spm", len, t.n, ms);
    assert_true(t.n > len / 8);
    assert_true(ms < 3000.0);
    pv_tokens_free(&t);
    close_vocab(&v[i]);
  }
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_llama_spm_vectors),     cmocka_unit_test(test_llama_bpe_vectors),
      cmocka_unit_test(test_qwen2_vectors),         cmocka_unit_test(test_oracle_prompt_ids),
      cmocka_unit_test(test_public_tokenize_buffer), cmocka_unit_test(test_long_text_is_fast),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
