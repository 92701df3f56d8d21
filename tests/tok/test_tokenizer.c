/*
 * test_tokenizer.c — tokenizer rules on small hand-made vocabularies (no files needed): score
 * order and tie-breaking of SentencePiece merges, byte fallback and the unknown token, rank order
 * of BPE merges, special tokens with and without parse_special (longest first), BOS/EOS flags;
 * then special-token handling and end-of-generation ids on the shared vocabularies.
 */
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

#define MAX_PIECES 400

/* A hand-made vocabulary: pieces added one by one, with score and type. */
typedef struct mini_vocab {
  pv_gguf_str pieces[MAX_PIECES];
  char *owned[MAX_PIECES];
  float scores[MAX_PIECES];
  int32_t types[MAX_PIECES];
  uint32_t n;
  pv_gguf_str merges[16];
  uint64_t n_merges;
} mini_vocab;

static int32_t add_piece(mini_vocab *v, const char *s, float score, int32_t type) {
  assert_true(v->n < MAX_PIECES);
  v->owned[v->n] = strdup(s);
  v->pieces[v->n] = (pv_gguf_str){v->owned[v->n], strlen(s)};
  v->scores[v->n] = score;
  v->types[v->n] = type;
  return (int32_t)v->n++;
}

static void free_vocab(mini_vocab *v) {
  for (uint32_t i = 0; i < v->n; i++) free(v->owned[i]);
}

static void build(pv_tokenizer *tok, mini_vocab *v, const char *model) {
  pv_vocab_desc d = {0};
  d.model = model;
  d.n_vocab = v->n;
  d.pieces = v->pieces;
  d.scores = v->scores;
  d.types = v->types;
  d.merges = v->merges;
  d.n_merges = v->n_merges;
  d.bos = 1;
  d.eos = 2;
  d.unk = 0;
  d.eot = d.pad = -1;
  d.add_bos = d.add_eos = d.add_space_prefix = -1;
  pv_error err = {0};
  if (pv_tokenizer_build(tok, &d, &err)) fail_msg("build: %s", err.msg);
}

/* <unk> <s> </s>, then optionally the 256 byte pieces. */
static void spm_base(mini_vocab *v, bool bytes) {
  memset(v, 0, sizeof *v);
  add_piece(v, "<unk>", 0, PV_TOKEN_UNKNOWN);
  add_piece(v, "<s>", 0, PV_TOKEN_CONTROL);
  add_piece(v, "</s>", 0, PV_TOKEN_CONTROL);
  for (int b = 0; bytes && b < 256; b++) {
    char name[8];
    snprintf(name, sizeof name, "<0x%02X>", b);
    add_piece(v, name, 0, PV_TOKEN_BYTE);
  }
}

static void encode(const pv_tokenizer *tok, const char *text, bool add_special, bool parse_special, pv_tokens *out) {
  pv_error err = {0};
  out->n = 0;
  if (pv_tokenize(tok, text, strlen(text), add_special, parse_special, out, &err)) fail_msg("tokenize: %s", err.msg);
}

#define EXPECT_IDS(t, ...)                                                        \
  do {                                                                           \
    const int32_t want_[] = {__VA_ARGS__};                                       \
    assert_int_equal((t)->n, PV_ARRAY_LEN(want_));                               \
    assert_memory_equal((t)->ids, want_, sizeof want_);                          \
  } while (0)

/* Higher score merges first; equal scores merge leftmost first. */
static void test_spm_scores_and_ties(void **state) {
  mini_vocab v;
  spm_base(&v, false);
  int32_t sp = add_piece(&v, "\xE2\x96\x81", -1, 1), a = add_piece(&v, "a", -1, 1), b = add_piece(&v, "b", -1, 1);
  int32_t c = add_piece(&v, "c", -1, 1), ab = add_piece(&v, "ab", -5, 1), bc = add_piece(&v, "bc", -5, 1);
  pv_tokenizer tok;
  build(&tok, &v, "llama");
  pv_tokens t = {0};
  encode(&tok, "abc", false, false, &t); /* ▁abc: ab and bc tie → ab (leftmost) */
  EXPECT_IDS(&t, sp, ab, c);
  pv_tokenizer_free(&tok);

  v.scores[bc] = -2; /* now bc scores higher than ab */
  build(&tok, &v, "llama");
  encode(&tok, "abc", false, false, &t);
  EXPECT_IDS(&t, sp, a, bc);
  encode(&tok, "abc", true, false, &t); /* BOS by default for SentencePiece */
  EXPECT_IDS(&t, 1, sp, a, bc);
  encode(&tok, "a b", false, false, &t); /* spaces become ▁ */
  EXPECT_IDS(&t, sp, a, sp, b);
  pv_tokens_free(&t);
  pv_tokenizer_free(&tok);
  free_vocab(&v);
}

/* A character that is no piece becomes its UTF-8 bytes as <0xNN>, or <unk> without byte pieces. */
static void test_spm_byte_fallback(void **state) {
  mini_vocab v;
  spm_base(&v, true);
  int32_t sp = add_piece(&v, "\xE2\x96\x81", -1, 1), x = add_piece(&v, "x", -1, 1);
  pv_tokenizer tok;
  build(&tok, &v, "llama");
  pv_tokens t = {0};
  encode(&tok, "x\xC3\xA9x", false, false, &t); /* xéx: é = C3 A9 */
  EXPECT_IDS(&t, sp, x, 3 + 0xC3, 3 + 0xA9, x);
  char *text;
  size_t len;
  pv_error err = {0};
  assert_int_equal(pv_detokenize(&tok, t.ids, t.n, PV_DETOK_STRIP_SPACE, &text, &len, &err), 0);
  assert_string_equal(text, "x\xC3\xA9x");
  free(text);
  pv_tokenizer_free(&tok);
  free_vocab(&v);

  spm_base(&v, false);
  sp = add_piece(&v, "\xE2\x96\x81", -1, 1);
  x = add_piece(&v, "x", -1, 1);
  build(&tok, &v, "llama");
  encode(&tok, "x\xC3\xA9x", false, false, &t);
  EXPECT_IDS(&t, sp, x, 0, x);
  pv_tokens_free(&t);
  pv_tokenizer_free(&tok);
  free_vocab(&v);
}

/* Control tokens come only from parse_special, longest first; user-defined ones always. */
static void test_special_tokens(void **state) {
  mini_vocab v;
  spm_base(&v, true);
  int32_t sp = add_piece(&v, "\xE2\x96\x81", -1, 1), x = add_piece(&v, "x", -1, 1);
  int32_t short_ctl = add_piece(&v, "<a>", 0, PV_TOKEN_CONTROL), long_ctl = add_piece(&v, "<a>x", 0, PV_TOKEN_CONTROL);
  int32_t user = add_piece(&v, "[U]", 0, PV_TOKEN_USER_DEFINED);
  pv_tokenizer tok;
  build(&tok, &v, "llama");
  pv_tokens t = {0};
  encode(&tok, "<a>x<a>", false, true, &t); /* the longer <a>x wins over <a> at the same place */
  EXPECT_IDS(&t, long_ctl, short_ctl);
  encode(&tok, "x<s>x", true, true, &t); /* text after a special token gets the ▁ prefix again */
  EXPECT_IDS(&t, 1, sp, x, 1, sp, x);
  encode(&tok, "<s>", false, false, &t); /* not parsed: plain characters, here via byte fallback */
  EXPECT_IDS(&t, sp, 3 + '<', 3 + 's', 3 + '>');
  encode(&tok, "x[U]x", false, false, &t); /* user-defined: split out even without parse_special */
  EXPECT_IDS(&t, sp, x, user, sp, x);
  pv_tokens_free(&t);
  pv_tokenizer_free(&tok);
  free_vocab(&v);
}

/* BPE: lower merge rank first, leftmost among equals; no BOS unless the vocabulary asks. */
static void test_bpe_merge_order(void **state) {
  mini_vocab v;
  memset(&v, 0, sizeof v);
  add_piece(&v, "<unk>", 0, PV_TOKEN_UNKNOWN);
  add_piece(&v, "<|bos|>", 0, PV_TOKEN_CONTROL);
  add_piece(&v, "<|eos|>", 0, PV_TOKEN_CONTROL);
  int32_t a = add_piece(&v, "a", 0, 1), b = add_piece(&v, "b", 0, 1), c = add_piece(&v, "c", 0, 1);
  int32_t ab = add_piece(&v, "ab", 0, 1), bc = add_piece(&v, "bc", 0, 1), g = add_piece(&v, "\xC4\xA0", 0, 1);
  int32_t gab = add_piece(&v, "\xC4\xA0" "ab", 0, 1);
  v.merges[v.n_merges++] = (pv_gguf_str){"b c", 3};
  v.merges[v.n_merges++] = (pv_gguf_str){"a b", 3};
  v.merges[v.n_merges++] = (pv_gguf_str){"\xC4\xA0 ab", 5};
  pv_tokenizer tok;
  build(&tok, &v, "gpt2");
  pv_tokens t = {0};
  encode(&tok, "abc", true, false, &t); /* b c ranks first */
  EXPECT_IDS(&t, a, bc);
  encode(&tok, "ab ab", false, false, &t); /* GPT-2 split: "ab", " ab"; space is Ġ (U+0120) */
  EXPECT_IDS(&t, ab, gab);
  pv_tokenizer_free(&tok);

  v.merges[0] = (pv_gguf_str){"a b", 3}; /* now a b ranks first */
  v.merges[1] = (pv_gguf_str){"b c", 3};
  build(&tok, &v, "gpt2");
  encode(&tok, "abc", false, false, &t);
  EXPECT_IDS(&t, ab, c);
  encode(&tok, " ", false, false, &t);
  EXPECT_IDS(&t, g);
  (void)b;
  pv_tokens_free(&t);
  pv_tokenizer_free(&tok);
  free_vocab(&v);
}

/* ---- shared vocabularies --------------------------------------------------------------------- */

static bool load(pv_tokenizer *tok, pv_gguf_file **f, const char *rel) {
  char path[1024];
  if (!pv_test_shared_path(path, sizeof path, rel)) return false;
  pv_error err = {0};
  if (pv_gguf_open(f, path, &err) || pv_tokenizer_load(tok, *f, &err)) fail_msg("%s: %s", rel, err.msg);
  return true;
}

static bool contains(const pv_tokens *t, int32_t id) {
  for (size_t i = 0; i < t->n; i++)
    if (t->ids[i] == id) return true;
  return false;
}

static void test_llama3_special(void **state) {
  pv_tokenizer tok;
  pv_gguf_file *f;
  if (!load(&tok, &f, "vocab/ggml-vocab-llama-bpe.gguf")) skip();
  pv_tokens t = {0};
  const char *text = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
  encode(&tok, text, true, true, &t);
  EXPECT_IDS(&t, 128000, 128006, 882, 128007, 271, 13347, 128009);
  encode(&tok, text, false, false, &t);
  assert_false(contains(&t, 128006) || contains(&t, 128007) || contains(&t, 128009) || contains(&t, 128000));
  assert_true(t.n > 7);
  assert_true(pv_tokenizer_is_eog(&tok, 128009)); /* <|eot_id|> */
  assert_true(pv_tokenizer_is_eog(&tok, 128001)); /* <|end_of_text|> */
  assert_false(pv_tokenizer_is_eog(&tok, 128000));
  assert_false(pv_tokenizer_is_eog(&tok, 13347));
  assert_int_equal(tok.eot, 128009);
  assert_true(tok.add_bos);
  assert_int_equal(pv_token_get_type(&tok, 128006), PV_TOKEN_CONTROL);
  assert_string_equal(pv_token_piece(&tok, 128006), "<|start_header_id|>");
  pv_tokens_free(&t);
  pv_tokenizer_free(&tok);
  pv_gguf_close(f);
}

static void test_qwen2_special(void **state) {
  pv_tokenizer tok;
  pv_gguf_file *f;
  if (!load(&tok, &f, "vocab/ggml-vocab-qwen2.gguf")) skip();
  pv_tokens t = {0};
  encode(&tok, "<|im_start|>user\nHi<|im_end|>", true, true, &t); /* qwen2 adds no BOS */
  EXPECT_IDS(&t, 151644, 872, 198, 13048, 151645);
  encode(&tok, "<|im_start|>", false, false, &t);
  assert_false(contains(&t, 151644));
  encode(&tok, "a[PAD151646]b", false, false, &t); /* user-defined: always one token */
  EXPECT_IDS(&t, 64, 151646, 65);
  assert_true(pv_tokenizer_is_eog(&tok, 151645)); /* <|im_end|> */
  assert_true(pv_tokenizer_is_eog(&tok, 151643)); /* <|endoftext|> */
  assert_false(pv_tokenizer_is_eog(&tok, 151644));
  assert_false(tok.add_bos);
  pv_tokens_free(&t);
  pv_tokenizer_free(&tok);
  pv_gguf_close(f);
}

static void test_spm_special(void **state) {
  pv_tokenizer tok;
  pv_gguf_file *f;
  if (!load(&tok, &f, "vocab/ggml-vocab-llama-spm.gguf")) skip();
  pv_tokens t = {0};
  encode(&tok, "<s>Hello</s>", false, true, &t);
  EXPECT_IDS(&t, 1, 15043, 2);
  encode(&tok, "<s>Hello</s>", false, false, &t);
  assert_false(contains(&t, 1) || contains(&t, 2));
  encode(&tok, "\xF0\x9F\xA6\x99", false, false, &t); /* 🦙 has no piece: ▁ then four byte tokens */
  EXPECT_IDS(&t, 29871, 3 + 0xF0, 3 + 0x9F, 3 + 0xA6, 3 + 0x99);
  assert_true(pv_tokenizer_is_eog(&tok, 2));
  assert_false(pv_tokenizer_is_eog(&tok, 1));
  pv_tokens_free(&t);
  pv_tokenizer_free(&tok);
  pv_gguf_close(f);
}

/* Gemma's chat turns: <end_of_turn> (a control token, as Gemma's vocabulary marks it) ends
 * generation and is the end-of-turn token, <start_of_turn> does not; the same text as a normal
 * token ends nothing. A vocabulary written here (Gemma's own has 262k tokens). */
static void gemma_vocab(pv_tokenizer *tok, pv_gguf_file **f, const char *path, int32_t turn_type) {
  const char *tokens[] = {"<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>", "\xe2\x96\x81", "a"};
  const int32_t types[] = {3, 3, 3, 2, turn_type, turn_type, 1, 1};
  const float scores[] = {0, 0, 0, 0, 0, 0, -1, -2};
  pv_error e = {0};
  pv_gguf_writer *w = NULL;
  int rc = pv_gguf_writer_create(&w, &e);
  if (!rc) rc = pv_gguf_writer_add_str(w, "general.architecture", "gemma3", &e);
  if (!rc) rc = pv_gguf_writer_add_str(w, "tokenizer.ggml.model", "llama", &e);
  if (!rc) rc = pv_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", tokens, 8, &e);
  if (!rc) rc = pv_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", PV_GGUF_VT_INT32, types, 8, &e);
  if (!rc) rc = pv_gguf_writer_add_arr(w, "tokenizer.ggml.scores", PV_GGUF_VT_FLOAT32, scores, 8, &e);
  if (!rc) rc = pv_gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", 2, &e);
  if (!rc) rc = pv_gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", 1, &e);
  if (!rc) rc = pv_gguf_writer_add_u32(w, "tokenizer.ggml.unknown_token_id", 3, &e);
  if (!rc) rc = pv_gguf_writer_write(w, path, &e);
  pv_gguf_writer_destroy(w);
  if (!rc) rc = pv_gguf_open(f, path, &e);
  if (!rc) rc = pv_tokenizer_load(tok, *f, &e);
  if (rc) fail_msg("gemma vocabulary: %s", e.msg);
}

static void test_gemma_end_of_turn(void **state) {
  (void)state;
  char path[] = "/tmp/pv_gemma_vocab_XXXXXX";
  const int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  pv_tokenizer tok;
  pv_gguf_file *f = NULL;
  gemma_vocab(&tok, &f, path, 3);
  assert_true(pv_tokenizer_is_eog(&tok, 5));  /* <end_of_turn> */
  assert_true(pv_tokenizer_is_eog(&tok, 1));  /* <eos> */
  assert_false(pv_tokenizer_is_eog(&tok, 4)); /* <start_of_turn> */
  assert_false(pv_tokenizer_is_eog(&tok, 2));
  assert_int_equal(tok.eot, 5);
  pv_tokenizer_free(&tok);
  pv_gguf_close(f);
  gemma_vocab(&tok, &f, path, 1); /* the same pieces as normal tokens */
  assert_false(pv_tokenizer_is_eog(&tok, 5));
  assert_true(pv_tokenizer_is_eog(&tok, 1));
  pv_tokenizer_free(&tok);
  pv_gguf_close(f);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spm_scores_and_ties), cmocka_unit_test(test_spm_byte_fallback),
      cmocka_unit_test(test_special_tokens),      cmocka_unit_test(test_bpe_merge_order),
      cmocka_unit_test(test_llama3_special),      cmocka_unit_test(test_qwen2_special),
      cmocka_unit_test(test_spm_special),        cmocka_unit_test(test_gemma_end_of_turn),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
