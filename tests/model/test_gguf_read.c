/* Reader on the shared test models and vocabularies: version, key metadata, tensor names, types,
 * shapes and placement. Skips when ../shared is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "gguf/gguf.h"
#include "shared_paths.h"

static pv_gguf_file *open_shared(const char *rel) {
  char path[1024];
  if (!pv_test_shared_path(path, sizeof path, rel)) return NULL;
  pv_gguf_file *f = NULL;
  pv_error err = {0};
  int rc = pv_gguf_open(&f, path, &err);
  if (rc) fail_msg("%s: %s", rel, err.msg);
  return f;
}

static void expect_u64(const pv_gguf_file *f, const char *key, uint64_t want) {
  uint64_t v = 0;
  if (!pv_gguf_get_u64(f, key, &v)) fail_msg("missing %s", key);
  assert_int_equal(v, want);
}

static void expect_str(const pv_gguf_file *f, const char *key, const char *want) {
  pv_gguf_str s;
  if (!pv_gguf_get_str(f, key, &s)) fail_msg("missing %s", key);
  assert_true(pv_gguf_str_eq(s, want));
}

static void expect_tensor(const pv_gguf_file *f, const char *name, pv_dtype type, uint64_t ne0, uint64_t ne1) {
  const pv_gguf_tensor *t = pv_gguf_find_tensor(f, name);
  if (!t) fail_msg("missing tensor %s", name);
  assert_int_equal(t->type, type);
  assert_int_equal(t->ne[0], ne0);
  assert_int_equal(t->ne[1], ne1);
  assert_int_equal(t->n_dims, ne1 == 1 ? 1 : 2);
  uint64_t row;
  assert_true(pv_dtype_row_bytes(type, ne0, &row));
  assert_int_equal(t->nbytes, row * ne1);
  assert_true(t->data >= f->base + f->data_offset && t->data + t->nbytes <= f->base + f->size);
  assert_int_equal((uint64_t)(t->data - f->base) % f->alignment, 0);
}

static void test_llama_tiny(void **state) {
  (void)state;
  pv_gguf_file *f = open_shared("models/llama-2-tiny-random.gguf");
  if (!f) skip();
  assert_int_equal(f->version, 3);
  assert_int_equal(f->n_tensors, 12);
  assert_int_equal(f->alignment, 32);
  expect_str(f, "general.architecture", "llama");
  expect_u64(f, "llama.embedding_length", 8);
  expect_u64(f, "llama.block_count", 1);
  expect_u64(f, "llama.feed_forward_length", 32);
  expect_u64(f, "llama.attention.head_count", 2);
  expect_u64(f, "llama.context_length", 4096);
  expect_u64(f, "tokenizer.ggml.bos_token_id", 1);
  double eps = 0;
  assert_true(pv_gguf_get_f64(f, "llama.attention.layer_norm_rms_epsilon", &eps));
  assert_true(eps > 0.99e-5 && eps < 1.01e-5);
  const pv_gguf_array *tokens = pv_gguf_get_arr(f, "tokenizer.ggml.tokens");
  assert_non_null(tokens);
  assert_int_equal(tokens->elem_type, PV_GGUF_VT_STRING);
  assert_int_equal(tokens->n, 32000);
  assert_true(pv_gguf_str_eq(tokens->strs[1], "<s>"));
  assert_true(pv_gguf_str_eq(tokens->strs[3], "<0x00>"));
  const pv_gguf_array *types = pv_gguf_get_arr(f, "tokenizer.ggml.token_type");
  int64_t tt = 0;
  assert_true(pv_gguf_arr_i64(types, 3, &tt));
  assert_int_equal(tt, 6); /* byte token */
  assert_false(pv_gguf_arr_i64(types, 32000, &tt));
  expect_tensor(f, "token_embd.weight", PV_F16, 8, 32000);
  expect_tensor(f, "blk.0.attn_q.weight", PV_F16, 8, 8);
  expect_tensor(f, "blk.0.ffn_down.weight", PV_F16, 32, 8);
  expect_tensor(f, "blk.0.attn_norm.weight", PV_F32, 8, 1);
  expect_tensor(f, "output.weight", PV_F16, 8, 32000);
  assert_null(pv_gguf_find_tensor(f, "blk.1.attn_q.weight"));
  assert_null(pv_gguf_find(f, "no.such.key"));
  pv_gguf_str s;
  assert_false(pv_gguf_get_str(f, "llama.block_count", &s)); /* wrong type */
  pv_gguf_close(f);
}

static void test_syn_llama_q4k(void **state) {
  (void)state;
  pv_gguf_file *f = open_shared("models/syn-llama-q4k.gguf");
  if (!f) skip();
  assert_int_equal(f->n_tensors, 21);
  expect_u64(f, "llama.attention.head_count_kv", 2);
  expect_tensor(f, "token_embd.weight", PV_Q4_K, 256, 32000);
  expect_tensor(f, "blk.1.attn_k.weight", PV_Q4_K, 256, 128);
  expect_tensor(f, "blk.1.ffn_down.weight", PV_Q4_K, 512, 256);
  expect_tensor(f, "output.weight", PV_Q6_K, 256, 32000);
  expect_tensor(f, "output_norm.weight", PV_F32, 256, 1);
  pv_gguf_close(f);
}

static void test_syn_qwen2(void **state) {
  (void)state;
  pv_gguf_file *f = open_shared("models/syn-qwen2-f16.gguf");
  if (!f) skip();
  assert_int_equal(f->n_tensors, 26);
  expect_str(f, "general.architecture", "qwen2");
  expect_u64(f, "qwen2.embedding_length", 128);
  expect_tensor(f, "blk.0.attn_q.bias", PV_F32, 128, 1);
  expect_tensor(f, "blk.1.attn_k.weight", PV_F16, 128, 64);
  assert_null(pv_gguf_find_tensor(f, "output.weight"));
  pv_gguf_close(f);
}

static void test_vocab_files(void **state) {
  (void)state;
  static const struct { const char *file, *model; uint64_t n_tokens, n_merges; } cases[] = {
    {"vocab/ggml-vocab-llama-spm.gguf", "llama", 32000, 0},
    {"vocab/ggml-vocab-llama-bpe.gguf", "gpt2", 128256, 280147},
    {"vocab/ggml-vocab-qwen2.gguf", "gpt2", 151936, 151387},
  };
  int opened = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pv_gguf_file *f = open_shared(cases[i].file);
    if (!f) continue;
    opened++;
    assert_int_equal(f->version, 3);
    assert_int_equal(f->n_tensors, 0);
    expect_str(f, "tokenizer.ggml.model", cases[i].model);
    const pv_gguf_array *tokens = pv_gguf_get_arr(f, "tokenizer.ggml.tokens");
    assert_non_null(tokens);
    assert_int_equal(tokens->n, cases[i].n_tokens);
    const pv_gguf_array *merges = pv_gguf_get_arr(f, "tokenizer.ggml.merges");
    if (cases[i].n_merges) {
      assert_non_null(merges);
      assert_int_equal(merges->n, cases[i].n_merges);
      assert_true(pv_gguf_str_eq(merges->strs[0], "\xc4\xa0 \xc4\xa0")); /* "Ġ Ġ" */
    } else {
      assert_null(merges);
    }
    pv_gguf_close(f);
  }
  if (!opened) skip();
}

static void test_spm_flags(void **state) {
  (void)state;
  pv_gguf_file *f = open_shared("vocab/ggml-vocab-llama-spm.gguf");
  if (!f) skip();
  bool b = false;
  assert_true(pv_gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &b));
  assert_true(b);
  assert_true(pv_gguf_get_bool(f, "tokenizer.ggml.add_eos_token", &b));
  assert_false(b);
  const pv_gguf_array *scores = pv_gguf_get_arr(f, "tokenizer.ggml.scores");
  double sc = 1;
  assert_true(pv_gguf_arr_f64(scores, 0, &sc));
  assert_true(sc == 0.0);
  assert_true(pv_gguf_arr_f64(scores, 1000, &sc));
  assert_true(sc < 0.0);
  pv_gguf_close(f);
}

static void test_missing_file(void **state) {
  (void)state;
  pv_gguf_file *f = NULL;
  pv_error err = {0};
  assert_int_equal(pv_gguf_open(&f, "/nonexistent/x.gguf", &err), PAGEDVK_ERR_IO);
  assert_null(f);
  assert_non_null(strstr(err.msg, "/nonexistent/x.gguf"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_llama_tiny),  cmocka_unit_test(test_syn_llama_q4k),
    cmocka_unit_test(test_syn_qwen2),   cmocka_unit_test(test_vocab_files),
    cmocka_unit_test(test_spm_flags),   cmocka_unit_test(test_missing_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
