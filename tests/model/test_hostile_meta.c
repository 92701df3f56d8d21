/*
 * Hostile GGUF metadata (files from the built mkmodel, one value then patched in place; skips
 * without mkmodel):
 *   - non-finite or nonsensical floating-point hyper-parameters (RMS epsilon, RoPE bases and
 *     scales, granite's scales, gemma2's soft-caps) are refused by the loader with
 *     PAGEDVK_ERR_FORMAT and a message naming the key; the untouched file loads;
 *   - sizes near 2^32 in the metadata (embedding, feed-forward, heads, head size, rope dimensions,
 *     layers) are refused with a clear error; vocab_size and context_length near 2^32 still load
 *     (the vocabulary comes from the tensors; the engine clamps the context: engine_hostile);
 *   - general.name holding ESC and a newline, and an architecture name holding control bytes, come
 *     out of `pagedvk info` (pagedvk_model_print_info) and of the loader's error escaped: no control
 *     byte reaches the terminal, and the name cannot start a line of its own.
 */
#include <math.h>
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
#include "model/arch.h"
#include "mkmodel_tmp.h"
#include "pagedvk.h"

static int setup(void **state) {
  (void)state;
  return pv_tmpdir_setup("hostile_meta");
}

static int teardown(void **state) {
  (void)state;
  return pv_tmpdir_teardown();
}

/* A one-layer model (n_embd 64, 2 heads, n_ff 128) with `args` written to OUT in the folder. */
static void mkmodel(const char *args, const char *out, char *path, size_t size) {
  char all[1024];
  snprintf(all, sizeof all, "--n-embd 64 --n-head 2 --n-ff 128 --n-layer 1 %s", args);
  int rc = pv_test_mkmodel(all, out, path, size);
  if (rc < 0) skip();
  if (rc) fail_msg("mkmodel %s: exit %d", all, rc);
}

static unsigned char *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc(*n);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, *n, f), *n);
  fclose(f);
  return b;
}

/* The value of metadata `key` in the file's bytes: after the key (u64 length, bytes) its u32 type. */
static unsigned char *find_value(unsigned char *b, size_t n, const char *key, uint32_t type) {
  const size_t kl = strlen(key);
  for (size_t i = 8; i + kl + 4 <= n; i++) {
    uint64_t len;
    memcpy(&len, b + i - 8, 8);
    if (len != kl || memcmp(b + i, key, kl) != 0) continue;
    uint32_t t;
    memcpy(&t, b + i + kl, 4);
    assert_int_equal(t, type);
    return b + i + kl + 4;
  }
  fail_msg("key %s not in the file", key);
  return NULL;
}

static void write_all(const char *path, const unsigned char *b, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(b, 1, n, f), n);
  fclose(f);
}

enum { VT_U32 = 4, VT_F32 = 6, VT_STRING = 8 };

/* src with metadata `key` (an f32) set to v, written to dst. */
static void patch_f32(const char *src, const char *key, float v, const char *dst) {
  size_t n;
  unsigned char *b = read_all(src, &n);
  memcpy(find_value(b, n, key, VT_F32), &v, 4);
  write_all(dst, b, n);
  free(b);
}

/* src with the string value of `key` replaced by `with` of the same length. */
static void patch_str(const char *src, const char *key, const char *with, size_t len, const char *dst) {
  size_t n;
  unsigned char *b = read_all(src, &n);
  unsigned char *v = find_value(b, n, key, VT_STRING);
  uint64_t have;
  memcpy(&have, v, 8);
  assert_int_equal(have, len);
  memcpy(v + 8, with, len);
  write_all(dst, b, n);
  free(b);
}

static int load(const char *path, pv_error *err) {
  pv_gguf_file *f = NULL;
  pv_hparams hp;
  int rc = pv_gguf_open(&f, path, err);
  if (rc) fail_msg("%s", err->msg);
  rc = pv_hparams_load(&hp, f, err);
  pv_gguf_close(f);
  return rc;
}

static void expect_refused(const char *src, const char *key, float v) {
  char dst[512];
  snprintf(dst, sizeof dst, "%s/patched.gguf", pv_tmpdir());
  patch_f32(src, key, v, dst);
  pv_error err = {0};
  int rc = load(dst, &err);
  if (rc != PAGEDVK_ERR_FORMAT) fail_msg("%s = %g: loaded (rc %d)", key, (double)v, rc);
  if (!strstr(err.msg, key)) fail_msg("%s = %g: the message does not name the key: %s", key, (double)v, err.msg);
}

static void test_bad_float_hparams_refused(void **state) {
  (void)state;
  char llama[512], l3[512], granite[512], gemma2[512], phi3[512];
  mkmodel("", "llama.gguf", llama, sizeof llama);
  mkmodel("--rope-llama3", "l3.gguf", l3, sizeof l3);
  mkmodel("--arch granite", "granite.gguf", granite, sizeof granite);
  mkmodel("--arch gemma2 --attn-softcap 50 --final-softcap 30", "gemma2.gguf", gemma2, sizeof gemma2);
  mkmodel("--arch phi3 --attn-factor 1.2", "phi3.gguf", phi3, sizeof phi3);
  pv_error err = {0};
  const char *files[] = {llama, l3, granite, gemma2, phi3};
  for (int i = 0; i < 5; i++)
    if (load(files[i], &err)) fail_msg("%s: %s", files[i], err.msg);
  static const float bad[] = {NAN, INFINITY, -INFINITY, -1.0f};
  for (int i = 0; i < 4; i++) {
    expect_refused(llama, "llama.attention.layer_norm_rms_epsilon", bad[i]);
    expect_refused(llama, "llama.rope.freq_base", bad[i]);
    expect_refused(l3, "llama.rope.scaling.factor", bad[i]);
    expect_refused(l3, "llama.rope.scaling.high_freq_factor", bad[i]);
    expect_refused(gemma2, "gemma2.attn_logit_softcapping", bad[i]);
    expect_refused(gemma2, "gemma2.final_logit_softcapping", bad[i]);
    expect_refused(phi3, "phi3.rope.scaling.attn_factor", bad[i]);
  }
  expect_refused(llama, "llama.attention.layer_norm_rms_epsilon", 2.0f); /* an epsilon of 1 or more */
  for (int i = 0; i < 3; i++) { /* granite's scales may be negative, never non-finite */
    expect_refused(granite, "granite.embedding_scale", bad[i]);
    expect_refused(granite, "granite.residual_scale", bad[i]);
    expect_refused(granite, "granite.attention.scale", bad[i]);
    expect_refused(granite, "granite.logit_scale", bad[i]);
  }
}

/* src with metadata `key` (a u32) set to v, written to dst. */
static void patch_u32(const char *src, const char *key, uint32_t v, const char *dst) {
  size_t n;
  unsigned char *b = read_all(src, &n);
  memcpy(find_value(b, n, key, VT_U32), &v, 4);
  write_all(dst, b, n);
  free(b);
}

/* Hyper-parameters and tensor binding of a file: the first error. */
static int load_and_bind(const char *path, pv_hparams *hp, pv_error *err) {
  pv_gguf_file *f = NULL;
  int rc = pv_gguf_open(&f, path, err);
  if (rc) fail_msg("%s", err->msg);
  rc = pv_hparams_load(hp, f, err);
  pv_model_tensors mt;
  if (!rc) {
    rc = pv_model_tensors_bind(&mt, f, hp, err);
    if (!rc) pv_model_tensors_free(&mt);
  }
  pv_gguf_close(f);
  return rc;
}

/* Sizes from the metadata that disagree with the tensors, or overflow 32-bit products, are refused
 * with a clear error; the vocabulary's size comes from the tensors, whatever vocab_size says. */
static void test_huge_sizes_refused(void **state) {
  (void)state;
  char base[512], dst[512];
  mkmodel("--head-dim 32", "sizes.gguf", base, sizeof base);
  snprintf(dst, sizeof dst, "%s/sizes_patched.gguf", pv_tmpdir());
  static const struct {
    const char *key;
    uint32_t value;
    int rc;
  } cases[] = {
      {"llama.embedding_length", 0xffffffffu, PAGEDVK_ERR_FORMAT},
      {"llama.embedding_length", 0x80000000u, PAGEDVK_ERR_FORMAT},
      {"llama.feed_forward_length", 0xffffffffu, PAGEDVK_ERR_FORMAT},
      {"llama.attention.head_count", 0x80000000u, PAGEDVK_ERR_FORMAT},
      {"llama.attention.head_count_kv", 0xfffffffeu, PAGEDVK_ERR_FORMAT},
      {"llama.attention.key_length", 0xfffffffeu, PAGEDVK_ERR_UNSUPPORTED}, /* != value_length */
      {"llama.attention.value_length", 0xfffffffeu, PAGEDVK_ERR_UNSUPPORTED},
      {"llama.rope.dimension_count", 0xfffffffeu, PAGEDVK_ERR_FORMAT},
      {"llama.block_count", 0xffffffffu, PAGEDVK_ERR_UNSUPPORTED},
      {"llama.vocab_size", 0xffffffffu, PAGEDVK_OK},
      {"llama.context_length", 0xffffffffu, PAGEDVK_OK},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    patch_u32(base, cases[i].key, cases[i].value, dst);
    pv_hparams hp;
    pv_error err = {0};
    const int rc = load_and_bind(dst, &hp, &err);
    if (rc != cases[i].rc) fail_msg("%s = %u: rc %d, want %d (%s)", cases[i].key, cases[i].value, rc, cases[i].rc, err.msg);
    if (rc) assert_true(strlen(err.msg) > 0);
    else assert_true(hp.n_vocab > 0 && hp.n_vocab < 100000 && hp.n_embd == 64);
  }
}

static char *info_text(const char *path) {
  char err[512];
  pagedvk_model *m = NULL;
  if (pagedvk_model_open(&m, path, err, sizeof err)) fail_msg("%s: %s", path, err);
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  assert_non_null(mem);
  pagedvk_model_print_info(m, mem);
  fclose(mem);
  pagedvk_model_close(m);
  return text;
}

/* Nothing below 0x20 but the newlines that end lines, no DEL. */
static void expect_no_controls(const char *text) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    if ((*p < 0x20 && *p != '\n') || *p == 0x7f) fail_msg("control byte 0x%02x in:\n%s", *p, text);
}

static void test_control_bytes_escaped(void **state) {
  (void)state;
  char base[512], dst[512];
  mkmodel("", "base.gguf", base, sizeof base);
  /* general.name is "synthetic-llama" (15 bytes) */
  static const char name[] = "ev\x1b[2J\x9b" "1m\nl-nam";
  assert_int_equal(sizeof name - 1, 15);
  snprintf(dst, sizeof dst, "%s/name.gguf", pv_tmpdir());
  patch_str(base, "general.name", name, 15, dst);
  char *text = info_text(dst);
  expect_no_controls(text);
  assert_non_null(strstr(text, "name:           ev\\x1b[2J\\x9b1m\\nl-nam\n"));
  free(text);
  /* an architecture of control bytes: the loader's refusal quotes it escaped */
  snprintf(dst, sizeof dst, "%s/arch.gguf", pv_tmpdir());
  patch_str(base, "general.architecture", "l\x1b]\na", 5, dst);
  pv_error err = {0};
  assert_int_equal(load(dst, &err), PAGEDVK_ERR_UNSUPPORTED);
  expect_no_controls(err.msg);
  assert_null(strchr(err.msg, '\n'));
  assert_non_null(strstr(err.msg, "architecture 'l\\x1b]\\na' is not supported"));
  text = info_text(dst);
  expect_no_controls(text);
  assert_non_null(strstr(text, "(not loadable: model: architecture 'l\\x1b]\\na'"));
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_float_hparams_refused),
      cmocka_unit_test(test_control_bytes_escaped),
      cmocka_unit_test(test_huge_sizes_refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
