/* tools/mkmodel's real-model shapes (tools/mkmodel/shapes.c): the q4_k_m type mix (Q6_K output or
 * tied embedding, Q6_K attn_v/ffn_down in llama.cpp's "more bits" layers, the 32-block fallbacks
 * for rows that are not a multiple of 256, --tensor-type still winning), the presets'
 * hyper-parameters with later options overriding them, and the chat template a preset or
 * --chat-template writes. Runs the built mkmodel binary (skips when it is absent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "gguf/gguf.h"
#include "mkmodel_tmp.h"
#include "pagedvk.h"
#include "shared_paths.h"

static int setup(void **state) {
  (void)state;
  return pv_tmpdir_setup("mkshapes");
}

static int teardown(void **state) {
  (void)state;
  return pv_tmpdir_teardown();
}

static pv_gguf_file *made(const char *args, const char *out) {
  char path[512];
  int rc = pv_test_mkmodel(args, out, path, sizeof path);
  if (rc < 0) skip();
  if (rc) fail_msg("mkmodel %s: exit %d", args, rc);
  pv_gguf_file *f = NULL;
  pv_error err = {0};
  if (pv_gguf_open(&f, path, &err)) fail_msg("%s: %s", path, err.msg);
  return f;
}

static void want_type(const pv_gguf_file *f, const char *name, pv_dtype type) {
  const pv_gguf_tensor *t = pv_gguf_find_tensor(f, name);
  if (!t) fail_msg("no tensor %s", name);
  if (t->type != type)
    fail_msg("%s is %s, want %s", name, pv_dtype_name(t->type), pv_dtype_name(type));
}

static void want_layer_type(const pv_gguf_file *f, uint32_t l, const char *suffix, pv_dtype type) {
  char name[64];
  snprintf(name, sizeof name, "blk.%u.%s", l, suffix);
  want_type(f, name, type);
}

static uint64_t u64_of(const pv_gguf_file *f, const char *key) {
  uint64_t v = 0;
  if (!pv_gguf_get_u64(f, key, &v)) fail_msg("missing %s", key);
  return v;
}

static double f64_of(const pv_gguf_file *f, const char *key) {
  double v = 0;
  if (!pv_gguf_get_f64(f, key, &v)) fail_msg("missing %s", key);
  return v;
}

/* 8 layers: the "more bits" layers are 0 (first eighth), 7 (last eighth), 3 and 6 (every third
 * from the first eighth on). Untied: token_embd Q4_K, output Q6_K. --type is replaced by the mix
 * for matrices; a --tensor-type after it still wins. */
static void test_q4_k_m_layers(void **state) {
  (void)state;
  pv_gguf_file *f = made("--n-embd 256 --n-head 4 --n-ff 512 --n-layer 8 --type F16 --mix q4_k_m "
                         "--tensor-type 'blk.2.attn_q.weight=Q8_0'",
                         "mix8.gguf");
  want_type(f, "token_embd.weight", PV_Q4_K);
  want_type(f, "output.weight", PV_Q6_K);
  want_type(f, "output_norm.weight", PV_F32);
  for (uint32_t l = 0; l < 8; l++) {
    const pv_dtype more = (l == 0 || l == 3 || l == 6 || l == 7) ? PV_Q6_K : PV_Q4_K;
    want_layer_type(f, l, "attn_v.weight", more);
    want_layer_type(f, l, "ffn_down.weight", more);
    want_layer_type(f, l, "attn_q.weight", l == 2 ? PV_Q8_0 : PV_Q4_K);
    want_layer_type(f, l, "attn_k.weight", PV_Q4_K);
    want_layer_type(f, l, "attn_output.weight", PV_Q4_K);
    want_layer_type(f, l, "ffn_gate.weight", PV_Q4_K);
    want_layer_type(f, l, "ffn_up.weight", PV_Q4_K);
    want_layer_type(f, l, "attn_norm.weight", PV_F32);
  }
  assert_int_equal(u64_of(f, "general.file_type"), 15); /* llama.cpp's MOSTLY_Q4_K_M */
  pv_gguf_close(f);
}

/* Tied embeddings take the output's Q6_K; rows of 96 (not a multiple of 256) fall back to 32-block
 * types: Q6_K -> Q8_0, Q4_K -> Q5_0; ffn_down's 256-wide rows keep K-quants; biases stay F32. */
static void test_q4_k_m_tied_narrow_rows(void **state) {
  (void)state;
  pv_gguf_file *f = made("--arch qwen2 --n-embd 96 --n-head 2 --n-ff 256 --n-layer 2 --tied --mix q4_k_m", "mixq.gguf");
  want_type(f, "token_embd.weight", PV_Q8_0);
  assert_null(pv_gguf_find_tensor(f, "output.weight"));
  want_layer_type(f, 0, "attn_v.weight", PV_Q5_0);
  want_layer_type(f, 1, "attn_v.weight", PV_Q8_0);
  want_layer_type(f, 0, "ffn_down.weight", PV_Q4_K);
  want_layer_type(f, 1, "ffn_down.weight", PV_Q6_K);
  want_layer_type(f, 1, "attn_q.weight", PV_Q5_0);
  want_layer_type(f, 1, "ffn_up.weight", PV_Q5_0);
  want_layer_type(f, 1, "attn_q.bias", PV_F32);
  pv_gguf_close(f);
}

/* The Qwen2.5-0.5B preset with the built-in vocabulary (small, fast): its hyper-parameters, a
 * tied Q8_0 embedding, q/k/v biases, two layers; no chat template of its own. */
static void test_preset_qwen25(void **state) {
  (void)state;
  pv_gguf_file *f = made("--preset qwen2.5-0.5b", "qwen25.gguf");
  pv_gguf_str s;
  assert_true(pv_gguf_get_str(f, "general.architecture", &s) && pv_gguf_str_eq(s, "qwen2"));
  assert_int_equal(u64_of(f, "qwen2.embedding_length"), 896);
  assert_int_equal(u64_of(f, "qwen2.attention.head_count"), 14);
  assert_int_equal(u64_of(f, "qwen2.attention.head_count_kv"), 2);
  assert_int_equal(u64_of(f, "qwen2.feed_forward_length"), 4864);
  assert_int_equal(u64_of(f, "qwen2.context_length"), 32768);
  assert_int_equal(u64_of(f, "qwen2.block_count"), 2);
  assert_int_equal(u64_of(f, "qwen2.rope.dimension_count"), 64);
  assert_true(f64_of(f, "qwen2.rope.freq_base") == 1e6);
  assert_true(f64_of(f, "qwen2.attention.layer_norm_rms_epsilon") == (double)1e-6f);
  want_type(f, "token_embd.weight", PV_Q8_0);
  want_layer_type(f, 1, "attn_q.weight", PV_F16);
  want_layer_type(f, 1, "attn_k.bias", PV_F32);
  assert_null(pv_gguf_find_tensor(f, "output.weight"));
  assert_null(pv_gguf_find_tensor(f, "blk.2.attn_q.weight"));
  assert_false(pv_gguf_get_str(f, "tokenizer.chat_template", &s));
  pv_gguf_close(f);
}

/* The Llama-3.2-1B preset with later options shrinking it: those win, the rest stays (rope base,
 * context, tied embeddings, name), and its chat template is the file's, a Llama-3 one that writes
 * bos_token. */
static void test_preset_llama32_overridden(void **state) {
  (void)state;
  char path[512];
  int rc = pv_test_mkmodel("--preset llama3.2-1b --n-embd 256 --n-head 4 --n-head-kv 1 --n-ff 256 --n-layer 1", "l32.gguf",
                   path, sizeof path);
  if (rc < 0) skip();
  assert_int_equal(rc, 0);
  pv_gguf_file *f = NULL;
  pv_error err = {0};
  if (pv_gguf_open(&f, path, &err)) fail_msg("%s", err.msg);
  assert_int_equal(u64_of(f, "llama.embedding_length"), 256);
  assert_int_equal(u64_of(f, "llama.attention.head_count_kv"), 1);
  assert_int_equal(u64_of(f, "llama.block_count"), 1);
  assert_int_equal(u64_of(f, "llama.context_length"), 131072);
  assert_true(f64_of(f, "llama.rope.freq_base") == 500000.0);
  assert_null(pv_gguf_find_tensor(f, "output.weight"));
  pv_gguf_str s;
  assert_true(pv_gguf_get_str(f, "general.name", &s) && pv_gguf_str_eq(s, "Llama-3.2-1B shape (synthetic)"));
  pv_gguf_close(f);
  pagedvk_model *m = NULL;
  char msg[512];
  if (pagedvk_model_open(&m, path, msg, sizeof msg)) fail_msg("%s", msg);
  int fallback = -1;
  assert_string_equal(pagedvk_model_chat_template(m, &fallback), "gguf");
  assert_int_equal(fallback, 0);
  const pagedvk_chat_message hi[] = {{"user", " Hi "}};
  char text[256];
  size_t len = 0;
  int has_bos = 0;
  if (pagedvk_chat_format(m, hi, 1, 1, text, sizeof text, &len, &has_bos, msg, sizeof msg)) fail_msg("%s", msg);
  assert_string_equal(text, "<s><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  assert_int_equal(has_bos, 1);
  pagedvk_model_close(m);
}

/* A vocabulary's own template wins over the preset's; --chat-template over one is an error, and
 * is written where the vocabulary has none. */
static void test_chat_template_sources(void **state) {
  (void)state;
  char qwen[1024], llama[1024], args[3200], path[512];
  if (!pv_test_shared_path(qwen, sizeof qwen, "vocab/ggml-vocab-qwen2.gguf") ||
      !pv_test_shared_path(llama, sizeof llama, "vocab/ggml-vocab-llama-bpe.gguf"))
    skip();
  const char *small = "--n-embd 32 --n-head 2 --n-head-kv 1 --n-ff 64 --n-layer 1";
  snprintf(args, sizeof args, "--preset llama3.2-1b %s --vocab-from '%s'", small, qwen);
  pv_gguf_file *f = made(args, "own.gguf");
  pv_gguf_str s;
  assert_true(pv_gguf_get_str(f, "tokenizer.chat_template", &s));
  assert_non_null(memmem(s.ptr, s.len, "<|im_start|>", 12));
  assert_null(memmem(s.ptr, s.len, "<|start_header_id|>", 19));
  pv_gguf_close(f);

  snprintf(args, sizeof args, "%s --vocab-from '%s' --chat-template '<|im_start|>x'", small, qwen);
  int rc = pv_test_mkmodel(args, "dup.gguf", path, sizeof path);
  if (rc < 0) skip();
  assert_int_not_equal(rc, 0);

  snprintf(args, sizeof args, "%s --vocab-from '%s' --chat-template 'T<|im_start|>'", small, llama);
  f = made(args, "given.gguf");
  assert_true(pv_gguf_get_str(f, "tokenizer.chat_template", &s) && pv_gguf_str_eq(s, "T<|im_start|>"));
  pv_gguf_close(f);

  /* --chat-template-file: the file's bytes, trailing newline and quotes included */
  char tfile[512];
  snprintf(tfile, sizeof tfile, "%s/t.jinja", pv_tmpdir());
  FILE *t = fopen(tfile, "wb");
  assert_non_null(t);
  fputs("{{ 'a' }}\n\"q\"\n", t);
  fclose(t);
  snprintf(args, sizeof args, "%s --vocab-from '%s' --chat-template-file '%s'", small, llama, tfile);
  f = made(args, "file.gguf");
  assert_true(pv_gguf_get_str(f, "tokenizer.chat_template", &s) && pv_gguf_str_eq(s, "{{ 'a' }}\n\"q\"\n"));
  pv_gguf_close(f);
  snprintf(args, sizeof args, "%s --chat-template-file '%s/missing.jinja'", small, pv_tmpdir());
  assert_int_not_equal(pv_test_mkmodel(args, "missing.gguf", path, sizeof path), 0);
}

static void test_rejected(void **state) {
  (void)state;
  char path[512];
  if (pv_test_mkmodel("--n-layer 1", "ok.gguf", path, sizeof path) < 0) skip();
  assert_int_not_equal(pv_test_mkmodel("--mix q5_k_s", "x.gguf", path, sizeof path), 0);
  assert_int_not_equal(pv_test_mkmodel("--preset gpt-5", "x.gguf", path, sizeof path), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_q4_k_m_layers),          cmocka_unit_test(test_q4_k_m_tied_narrow_rows),
      cmocka_unit_test(test_preset_qwen25),          cmocka_unit_test(test_preset_llama32_overridden),
      cmocka_unit_test(test_chat_template_sources),  cmocka_unit_test(test_rejected),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
