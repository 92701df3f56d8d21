/*
 * test_vocab.c — the tokenizers against the shared test vectors: every input of every SentencePiece
 * and byte-level BPE vocabulary file in ../shared/vocab (ggml-vocab-*.gguf.inp / .out: no BOS,
 * special tokens not parsed; one pre-tokenizer rule set or more per file) and the prompt ids of the
 * llama-2-tiny-random oracle (with and without BOS, through the public API). Also: decode(encode
 * (input)) gives the input back, the model description names the pre-tokenizer (and the fallback
 * for an unknown one), and encoding stays fast on a long text. Skips when ../shared is absent.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devkit/gguf_write.h"
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
  assert_true(strlen(name) <= 200); /* the %.200s below then copies it whole */
  snprintf(rel, sizeof rel, "vocab/%.200s.inp", name);
  assert_true(pv_test_shared_path(path, sizeof path, rel));
  char *inp = pv_test_read_file(path, NULL);
  snprintf(rel, sizeof rel, "vocab/%.200s.out", name);
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

/* Runs the vectors of vocab/NAME; false when its tokenizer model is neither SPM nor BPE. */
static bool vectors_of(const char *name) {
  char rel[256], path[1024];
  assert_true(strlen(name) <= 200); /* the %.200s below then copies it whole */
  snprintf(rel, sizeof rel, "vocab/%.200s", name);
  assert_true(pv_test_shared_path(path, sizeof path, rel));
  vocab_fixture v;
  pv_error err = {0};
  int rc = pv_gguf_open(&v.f, path, &err);
  if (rc) fail_msg("%s: %s", rel, err.msg);
  rc = pv_tokenizer_load(&v.tok, v.f, &err);
  if (rc == PAGEDVK_ERR_UNSUPPORTED && strstr(err.msg, "model '")) { /* not SPM or BPE: not ours */
    printf("%s: skipped (%s)\n", name, err.msg);
    pv_gguf_close(v.f);
    return false;
  }
  if (rc) fail_msg("%s: %s", rel, err.msg);
  int n = run_vectors(&v.tok, name);
  printf("%s (%s): %d vectors pass\n", name, v.tok.kind == PV_TOK_SPM ? "spm" : pv_pretok_name(v.tok.pre), n);
  assert_true(n >= 40);
  assert_null(v.tok.pre_unknown); /* every pre-tokenizer of the shared files is known */
  close_vocab(&v);
  return true;
}

/* Every ggml-vocab-*.gguf with its .inp/.out, whatever its pre-tokenizer; the files of the
 * families named in the runtime's table must be among them. */
static void test_every_shared_vocab(void **state) {
  char dir[1024];
  if (!pv_test_shared_path(dir, sizeof dir, "vocab")) skip();
  DIR *d = opendir(dir);
  assert_non_null(d);
  char names[64][256];
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    size_t len = strlen(e->d_name);
    if (strncmp(e->d_name, "ggml-vocab-", 11) || len < 5 || strcmp(e->d_name + len - 5, ".gguf")) continue;
    assert_true(n < PV_ARRAY_LEN(names) && len < sizeof names[0]);
    memcpy(names[n++], e->d_name, len + 1);
  }
  closedir(d);
  qsort(names, n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
  int ran = 0;
  for (size_t i = 0; i < n; i++) ran += vectors_of(names[i]);
  printf("%d vocabulary files pass all their vectors\n", ran);
  static const char *const needed[] = {"llama-bpe", "qwen2", "deepseek-r1-qwen", "smaug-bpe", "tekken", "gpt-4o",
                                       "smollm", "refact", "starcoder", "falcon", "deepseek-llm", "deepseek-coder",
                                       "deepseek-v3", "command-r", "mpt", "gpt-2", "qwen35", "phi-3"};
  for (size_t k = 0; k < PV_ARRAY_LEN(needed); k++) {
    char want[256];
    snprintf(want, sizeof want, "ggml-vocab-%s.gguf", needed[k]);
    bool found = false;
    for (size_t i = 0; i < n && !found; i++) found = !strcmp(names[i], want);
    if (!found) printf("note: %s is not in the shared folder\n", want);
  }
  assert_true(ran >= 3);
}

/* The public description names the rules used; SentencePiece has none. */
static void test_describe_names_pre_tokenizer(void **state) {
  static const struct { const char *file, *pre; } cases[] = {
      {"vocab/ggml-vocab-llama-bpe.gguf", "llama3"}, {"vocab/ggml-vocab-qwen2.gguf", "qwen2"},
      {"vocab/ggml-vocab-tekken.gguf", "tekken"},    {"vocab/ggml-vocab-deepseek-r1-qwen.gguf", "qwen2"},
      {"vocab/ggml-vocab-smollm.gguf", "starcoder"}, {"vocab/ggml-vocab-llama-spm.gguf", NULL},
  };
  int ran = 0;
  for (size_t i = 0; i < PV_ARRAY_LEN(cases); i++) {
    char path[1024], err[256];
    if (!pv_test_shared_path(path, sizeof path, cases[i].file)) continue;
    pagedvk_model *m;
    assert_int_equal(pagedvk_model_open(&m, path, err, sizeof err), 0);
    pagedvk_model_description d;
    pagedvk_model_describe(m, &d, err, sizeof err); /* vocabulary-only files have no architecture */
    if (cases[i].pre) assert_string_equal(d.pre_tokenizer, cases[i].pre);
    else assert_null(d.pre_tokenizer);
    assert_null(d.pre_tokenizer_unknown);
    pagedvk_model_close(m);
    ran++;
  }
  if (!ran) skip();
}

/* A file whose tokenizer.ggml.pre is unknown: GPT-2's rules, and the description says so. */
static void test_unknown_pre_tokenizer_falls_back(void **state) {
  char src_path[1024], path[1100], err[256];
  if (!pv_test_shared_path(src_path, sizeof src_path, "vocab/ggml-vocab-gpt-2.gguf")) skip();
  pv_error e = {0};
  pv_gguf_file *src = NULL;
  pv_gguf_writer *w = NULL;
  if (pv_gguf_open(&src, src_path, &e) || pv_gguf_writer_create(&w, &e)) fail_msg("%s", e.msg);
  int rc = pv_gguf_writer_add_str(w, "general.architecture", "gpt2", &e);
  if (!rc) rc = pv_gguf_writer_copy_kv_prefix(w, src, "tokenizer.ggml.model", &e);
  if (!rc) rc = pv_gguf_writer_copy_kv_prefix(w, src, "tokenizer.ggml.tokens", &e);
  if (!rc) rc = pv_gguf_writer_copy_kv_prefix(w, src, "tokenizer.ggml.merges", &e);
  if (!rc) rc = pv_gguf_writer_add_str(w, "tokenizer.ggml.pre", "no-such-splitter", &e);
  snprintf(path, sizeof path, "/tmp/pv-test-unknown-pre-%ld.gguf", (long)getpid());
  if (!rc) rc = pv_gguf_writer_write(w, path, &e);
  if (rc) fail_msg("%s", e.msg);
  pv_gguf_writer_destroy(w);
  pv_gguf_close(src);

  pagedvk_model *m;
  assert_int_equal(pagedvk_model_open(&m, path, err, sizeof err), 0);
  pagedvk_model_description d;
  pagedvk_model_describe(m, &d, err, sizeof err);
  assert_string_equal(d.pre_tokenizer, "gpt2");
  assert_non_null(d.pre_tokenizer_unknown);
  assert_string_equal(d.pre_tokenizer_unknown, "no-such-splitter");
  char buf[4096] = "";
  FILE *mem = fmemopen(buf, sizeof buf - 1, "w");
  assert_non_null(mem);
  pagedvk_model_print_info(m, mem);
  fclose(mem);
  if (!strstr(buf, "pre-tokenizer:  gpt2 (fallback: tokenizer.ggml.pre 'no-such-splitter' is not known)\n"))
    fail_msg("info does not show the fallback:\n%s", buf);
  int32_t ids[16];
  size_t n = 0;
  assert_int_equal(pagedvk_tokenize(m, "Hello world", 0, 0, ids, PV_ARRAY_LEN(ids), &n, err, sizeof err), 0);
  assert_int_equal(n, 2); /* GPT-2: "Hello", " world" */
  assert_int_equal(ids[0], 15496);
  assert_int_equal(ids[1], 995);
  pagedvk_model_close(m);
  remove(path);
}

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
      cmocka_unit_test(test_every_shared_vocab),
      cmocka_unit_test(test_describe_names_pre_tokenizer), cmocka_unit_test(test_unknown_pre_tokenizer_falls_back),
      cmocka_unit_test(test_oracle_prompt_ids),
      cmocka_unit_test(test_public_tokenize_buffer), cmocka_unit_test(test_long_text_is_fast),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
