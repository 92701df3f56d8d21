/* Malformed GGUF files: specific cases (huge counts and lengths, bad alignment, tensor past EOF,
 * unknown types, nesting too deep, duplicates, unsupported versions) each give the right status
 * and a message naming the field; and a corpus of every truncation and thousands of seeded
 * bit-flipped variants of a small valid file must open or fail cleanly (run under ASan in the
 * sanitizer build: no crash, no overread, no leak). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devkit/gguf_write.h"
#include "devkit/quantize.h"
#include "gguf/quant.h"

/* ---- a byte builder for hand-made files ---------------------------------------------------- */

typedef struct buf {
  uint8_t p[8192];
  size_t n;
} buf;

static void b_le(buf *b, uint64_t v, int n) {
  for (int i = 0; i < n; i++) b->p[b->n++] = (uint8_t)(v >> (8 * i));
}
static void b_str(buf *b, const char *s) {
  b_le(b, strlen(s), 8);
  memcpy(b->p + b->n, s, strlen(s));
  b->n += strlen(s);
}
static void b_header(buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
  b->n = 0;
  memcpy(b->p, "GGUF", 4);
  b->n = 4;
  b_le(b, version, 4);
  b_le(b, n_tensors, 8);
  b_le(b, n_kv, 8);
}
static void b_tensor(buf *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t off) {
  b_str(b, name);
  b_le(b, n_dims, 4);
  for (uint32_t d = 0; d < n_dims; d++) b_le(b, ne[d], 8);
  b_le(b, type, 4);
  b_le(b, off, 8);
}
static void b_pad(buf *b, size_t align, size_t extra) {
  while (b->n % align) b->p[b->n++] = 0;
  memset(b->p + b->n, 0x11, extra);
  b->n += extra;
}

/* Opens b (copied into an exactly sized heap block so ASan sees any overread); returns status. */
static int open_buf(const uint8_t *p, size_t n, pv_error *err) {
  uint8_t *copy = malloc(n ? n : 1);
  memcpy(copy, p, n);
  pv_gguf_file *f = NULL;
  int rc = pv_gguf_open_memory(&f, copy, n, err);
  if (rc == PAGEDVK_OK) {
    assert_non_null(f);
    pv_gguf_close(f);
  } else {
    assert_null(f);
  }
  free(copy);
  return rc;
}

static void expect(const buf *b, int status, const char *needle1, const char *needle2) {
  pv_error err = {0};
  int rc = open_buf(b->p, b->n, &err);
  if (rc != status) fail_msg("status %d, want %d: %s", rc, status, err.msg);
  if (needle1 && !strstr(err.msg, needle1)) fail_msg("message lacks '%s': %s", needle1, err.msg);
  if (needle2 && !strstr(err.msg, needle2)) fail_msg("message lacks '%s': %s", needle2, err.msg);
}

static void test_huge_counts(void **state) {
  (void)state;
  buf b;
  b_header(&b, 3, 0, 1ull << 60);
  expect(&b, PAGEDVK_ERR_FORMAT, "metadata count", "offset");
  b_header(&b, 3, 1ull << 60, 0);
  expect(&b, PAGEDVK_ERR_FORMAT, "tensor count", NULL);
  b_header(&b, 3, 0, 1);
  b_le(&b, 1ull << 60, 8); /* key length */
  b_pad(&b, 1, 16);
  expect(&b, PAGEDVK_ERR_FORMAT, "key length", "offset 24");
  b_header(&b, 3, 0, 1);
  b_str(&b, "tokenizer.ggml.tokens");
  b_le(&b, PV_GGUF_VT_ARRAY, 4);
  b_le(&b, PV_GGUF_VT_STRING, 4);
  b_le(&b, 1ull << 60, 8);
  expect(&b, PAGEDVK_ERR_FORMAT, "string array count", "tokenizer.ggml.tokens");
  b_header(&b, 3, 0, 1);
  b_str(&b, "k");
  b_le(&b, PV_GGUF_VT_ARRAY, 4);
  b_le(&b, PV_GGUF_VT_UINT32, 4);
  b_le(&b, 1ull << 62, 8); /* 2^62 * 4 overflows */
  expect(&b, PAGEDVK_ERR_FORMAT, "scalar array count", "'k'");
  b_header(&b, 3, 0, 1);
  b_str(&b, "k");
  b_le(&b, PV_GGUF_VT_STRING, 4);
  b_le(&b, 5000, 8);
  expect(&b, PAGEDVK_ERR_FORMAT, "string value length", "5000");
}

static void test_bad_alignment(void **state) {
  (void)state;
  uint64_t values[] = {3, 0, 48};
  for (int i = 0; i < 3; i++) {
    buf b;
    b_header(&b, 3, 0, 1);
    b_str(&b, "general.alignment");
    b_le(&b, PV_GGUF_VT_UINT32, 4);
    b_le(&b, values[i], 4);
    expect(&b, PAGEDVK_ERR_FORMAT, "general.alignment", "power of two");
  }
  buf b;
  b_header(&b, 3, 0, 1);
  b_str(&b, "general.alignment");
  b_le(&b, PV_GGUF_VT_STRING, 4);
  b_str(&b, "32");
  expect(&b, PAGEDVK_ERR_FORMAT, "general.alignment", "string");
}

static void test_tensor_errors(void **state) {
  (void)state;
  buf b;
  uint64_t ne[2] = {32, 4};
  /* data past EOF: 4 rows of Q8_0 need 136 bytes, 100 present */
  b_header(&b, 3, 1, 0);
  b_tensor(&b, "blk.0.attn_q.weight", 2, ne, PV_Q8_0, 0);
  b_pad(&b, 32, 100);
  expect(&b, PAGEDVK_ERR_FORMAT, "tensor 0 'blk.0.attn_q.weight'", "runs past end of file");
  /* exactly enough */
  b_header(&b, 3, 1, 0);
  b_tensor(&b, "blk.0.attn_q.weight", 2, ne, PV_Q8_0, 0);
  b_pad(&b, 32, 136);
  expect(&b, PAGEDVK_OK, NULL, NULL);
  /* offset past EOF, huge: start overflows */
  b_header(&b, 3, 1, 0);
  b_tensor(&b, "w", 2, ne, PV_Q8_0, 0xffffffffffffffe0ull);
  b_pad(&b, 32, 136);
  expect(&b, PAGEDVK_ERR_FORMAT, "'w'", "past end of file");
  /* unknown type */
  b_header(&b, 3, 1, 0);
  b_tensor(&b, "w", 2, ne, 99, 0);
  b_pad(&b, 32, 136);
  expect(&b, PAGEDVK_ERR_FORMAT, "tensor 0 'w': type", "99");
  /* misaligned offset */
  b_header(&b, 3, 1, 0);
  b_tensor(&b, "w", 2, ne, PV_Q8_0, 8);
  b_pad(&b, 32, 200);
  expect(&b, PAGEDVK_ERR_FORMAT, "offset 8", "alignment");
  /* too many dims */
  uint64_t ne5[5] = {1, 1, 1, 1, 1};
  b_header(&b, 3, 1, 0);
  b_tensor(&b, "w", 5, ne5, PV_F32, 0);
  b_pad(&b, 32, 4);
  expect(&b, PAGEDVK_ERR_FORMAT, "n_dims", "5");
  /* row not a whole number of blocks */
  uint64_t ne_odd[2] = {33, 1};
  b_header(&b, 3, 1, 0);
  b_tensor(&b, "w", 2, ne_odd, PV_Q4_0, 0);
  b_pad(&b, 32, 64);
  expect(&b, PAGEDVK_ERR_FORMAT, "ne[0] = 33", "block size");
  /* shape product overflows */
  uint64_t ne_big[3] = {1ull << 40, 1ull << 40, 1ull << 40};
  b_header(&b, 3, 1, 0);
  b_tensor(&b, "w", 3, ne_big, PV_F32, 0);
  b_pad(&b, 32, 64);
  expect(&b, PAGEDVK_ERR_FORMAT, "'w'", "overflows");
  /* negative dimension as int64 */
  uint64_t ne_neg[1] = {~0ull};
  b_header(&b, 3, 1, 0);
  b_tensor(&b, "w", 1, ne_neg, PV_F32, 0);
  b_pad(&b, 32, 64);
  expect(&b, PAGEDVK_ERR_FORMAT, "dimension", "negative");
  /* duplicate names */
  uint64_t ne1[1] = {8};
  b_header(&b, 3, 2, 0);
  b_tensor(&b, "w", 1, ne1, PV_F32, 0);
  b_tensor(&b, "w", 1, ne1, PV_F32, 32);
  b_pad(&b, 32, 64);
  expect(&b, PAGEDVK_ERR_FORMAT, "tensor 1 'w'", "duplicate");
}

static void test_nesting(void **state) {
  (void)state;
  for (int depth = PV_GGUF_MAX_ARRAY_DEPTH; depth <= PV_GGUF_MAX_ARRAY_DEPTH + 1; depth++) {
    buf b;
    b_header(&b, 3, 0, 1);
    b_str(&b, "nested");
    b_le(&b, PV_GGUF_VT_ARRAY, 4);
    for (int i = 1; i < depth; i++) { b_le(&b, PV_GGUF_VT_ARRAY, 4); b_le(&b, 1, 8); }
    b_le(&b, PV_GGUF_VT_UINT8, 4);
    b_le(&b, 1, 8);
    b_le(&b, 42, 1);
    if (depth <= PV_GGUF_MAX_ARRAY_DEPTH) expect(&b, PAGEDVK_OK, NULL, NULL);
    else expect(&b, PAGEDVK_ERR_FORMAT, "'nested'", "deeper than");
  }
}

static void test_header_errors(void **state) {
  (void)state;
  buf b;
  b_header(&b, 1, 0, 0);
  expect(&b, PAGEDVK_ERR_UNSUPPORTED, "version 1", NULL);
  b_header(&b, 4, 0, 0);
  expect(&b, PAGEDVK_ERR_UNSUPPORTED, "version 4", NULL);
  b_header(&b, 0x03000000u, 0, 0);
  expect(&b, PAGEDVK_ERR_UNSUPPORTED, "big-endian", NULL);
  b_header(&b, 2, 0, 0);
  expect(&b, PAGEDVK_OK, NULL, NULL);
  b_header(&b, 3, 0, 0);
  b.p[0] = 'X';
  expect(&b, PAGEDVK_ERR_FORMAT, "magic", NULL);
  b_header(&b, 3, 0, 0);
  b.n = 12;
  expect(&b, PAGEDVK_ERR_FORMAT, "tensor count", "offset 8");
  b_header(&b, 3, 0, 2);
  b_str(&b, "a");
  b_le(&b, PV_GGUF_VT_UINT8, 4);
  b_le(&b, 1, 1);
  b_str(&b, "a");
  b_le(&b, PV_GGUF_VT_UINT8, 4);
  b_le(&b, 2, 1);
  expect(&b, PAGEDVK_ERR_FORMAT, "kv 1 'a'", "duplicate key");
  b_header(&b, 3, 0, 1);
  b_str(&b, "a");
  b_le(&b, 13, 4);
  expect(&b, PAGEDVK_ERR_FORMAT, "value type", "13");
  b_header(&b, 3, 0, 1);
  b_str(&b, "a");
  b_le(&b, PV_GGUF_VT_ARRAY, 4);
  b_le(&b, 77, 4);
  b_le(&b, 0, 8);
  expect(&b, PAGEDVK_ERR_FORMAT, "array element type", "77");
}

/* ---- corpus ------------------------------------------------------------------------------- */

static uint8_t *valid_file(uint64_t *size) {
  pv_error err = {0};
  pv_gguf_writer *w;
  assert_int_equal(pv_gguf_writer_create(&w, &err), 0);
  assert_int_equal(pv_gguf_writer_set_alignment(w, 32, &err), 0);
  pv_gguf_writer_add_str(w, "general.architecture", "llama", &err);
  pv_gguf_writer_add_u32(w, "llama.block_count", 1, &err);
  pv_gguf_writer_add_f32(w, "llama.rope.freq_base", 10000.0f, &err);
  pv_gguf_writer_add_bool(w, "b", true, &err);
  const char *toks[4] = {"<s>", "</s>", "a", "bc"};
  pv_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", toks, 4, &err);
  float scores[4] = {0, 0, -1, -2};
  pv_gguf_writer_add_arr(w, "tokenizer.ggml.scores", PV_GGUF_VT_FLOAT32, scores, 4, &err);
  uint8_t raw[2] = {1, 2};
  pv_gguf_value inner = {.type = PV_GGUF_VT_ARRAY, .v.arr = {PV_GGUF_VT_UINT8, 2, raw, NULL, NULL}};
  pv_gguf_value outer = {.type = PV_GGUF_VT_ARRAY, .v.arr = {PV_GGUF_VT_ARRAY, 1, NULL, NULL, &inner}};
  pv_gguf_writer_add_value(w, "nested", &outer, &err);
  float x[256];
  for (int i = 0; i < 256; i++) x[i] = (float)(i % 17) - 8.0f;
  uint8_t q[256];
  uint64_t ne4[1] = {4}, ne32[2] = {32, 1}, ne256[1] = {256};
  assert_int_equal(pv_gguf_writer_add_tensor(w, "norm", PV_F32, 1, ne4, x, 16, &err), 0);
  pv_quantize_row(PV_Q8_0, x, q, 32, &err);
  assert_int_equal(pv_gguf_writer_add_tensor(w, "q8", PV_Q8_0, 2, ne32, q, 34, &err), 0);
  pv_quantize_row(PV_Q4_K, x, q, 256, &err);
  assert_int_equal(pv_gguf_writer_add_tensor(w, "q4k", PV_Q4_K, 1, ne256, q, 144, &err), 0);
  uint8_t *out;
  assert_int_equal(pv_gguf_writer_to_memory(w, &out, size, &err), 0);
  pv_gguf_writer_destroy(w);
  return out;
}

/* Opens a variant; when it parses, touches everything the reader promises is valid. */
static int check_variant(const uint8_t *p, size_t n) {
  uint8_t *copy = malloc(n ? n : 1);
  memcpy(copy, p, n);
  pv_gguf_file *f = NULL;
  pv_error err = {0};
  int rc = pv_gguf_open_memory(&f, copy, n, &err);
  if (rc == PAGEDVK_OK) {
    for (uint64_t i = 0; i < f->n_tensors; i++) {
      const pv_gguf_tensor *t = &f->tensors[i];
      assert_true(t->data >= copy && t->data + t->nbytes <= copy + n);
      float row[256];
      if (t->ne[0] <= 256 && t->ne[1] * t->ne[2] * t->ne[3] > 0) pv_dequantize_tensor_row(t, 0, row, &err);
    }
    uint64_t u;
    pv_gguf_get_u64(f, "llama.block_count", &u);
    pv_gguf_find_tensor(f, "q4k");
    pv_gguf_close(f);
  } else {
    assert_true(rc == PAGEDVK_ERR_FORMAT || rc == PAGEDVK_ERR_UNSUPPORTED);
    assert_true(strncmp(err.msg, "gguf: ", 6) == 0);
  }
  free(copy);
  return rc;
}

static void test_truncations(void **state) {
  (void)state;
  uint64_t size;
  uint8_t *file = valid_file(&size);
  assert_int_equal(check_variant(file, size), PAGEDVK_OK);
  for (uint64_t n = 0; n < size; n++) assert_int_not_equal(check_variant(file, n), PAGEDVK_OK);
  free(file);
}

static void test_bit_flips(void **state) {
  (void)state;
  uint64_t size, rng = 12345;
  uint8_t *file = valid_file(&size);
  uint8_t *v = malloc(size);
  int ok = 0, failed = 0;
  for (int iter = 0; iter < 20000; iter++) {
    memcpy(v, file, size);
    int flips = 1 + iter % 4;
    for (int k = 0; k < flips; k++) {
      rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
      uint64_t at = (rng >> 8) % size;
      if (iter % 5 == 4) v[at] = (uint8_t)(rng >> 3); /* whole-byte overwrite: big counts */
      else v[at] ^= (uint8_t)(1u << (rng % 8));
    }
    if (check_variant(v, size) == PAGEDVK_OK) ok++;
    else failed++;
  }
  print_message("bit flips: %d parsed, %d rejected\n", ok, failed);
  assert_true(ok > 0 && failed > 0);
  free(v);
  free(file);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_huge_counts),   cmocka_unit_test(test_bad_alignment),
    cmocka_unit_test(test_tensor_errors), cmocka_unit_test(test_nesting),
    cmocka_unit_test(test_header_errors), cmocka_unit_test(test_truncations),
    cmocka_unit_test(test_bit_flips),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
