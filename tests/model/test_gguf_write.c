/* Writer → reader round trip: every metadata value type (nested arrays and string arrays
 * included), every tensor type with bit-identical data, alignment, tokenizer copying, and the
 * writer's own argument checks. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "devkit/gguf_write.h"
#include "devkit/quantize.h"
#include "gguf/quant.h"
#include "shared_paths.h"

#define OK(call)                                  \
  do {                                            \
    pv_error err_ = {0};                          \
    pv_error *err = &err_;                        \
    if ((call) != PAGEDVK_OK) fail_msg("%s", err_.msg); \
  } while (0)

static pv_gguf_file *reopen(pv_gguf_writer *w, uint8_t **buf) {
  uint64_t size = 0;
  pv_gguf_file *f = NULL;
  OK(pv_gguf_writer_to_memory(w, buf, &size, err));
  OK(pv_gguf_open_memory(&f, *buf, size, err));
  return f;
}

static void test_metadata_roundtrip(void **state) {
  (void)state;
  pv_gguf_writer *w;
  OK(pv_gguf_writer_create(&w, err));
  OK(pv_gguf_writer_set_alignment(w, 64, err));
  OK(pv_gguf_writer_add_u8(w, "a.u8", 200, err));
  OK(pv_gguf_writer_add_i8(w, "a.i8", -100, err));
  OK(pv_gguf_writer_add_u16(w, "a.u16", 60000, err));
  OK(pv_gguf_writer_add_i16(w, "a.i16", -30000, err));
  OK(pv_gguf_writer_add_u32(w, "a.u32", 4000000000u, err));
  OK(pv_gguf_writer_add_i32(w, "a.i32", -2000000000, err));
  OK(pv_gguf_writer_add_u64(w, "a.u64", 18000000000000000000ull, err));
  OK(pv_gguf_writer_add_i64(w, "a.i64", -9000000000000000000ll, err));
  OK(pv_gguf_writer_add_f32(w, "a.f32", 0.1f, err));
  OK(pv_gguf_writer_add_f64(w, "a.f64", 0.1, err));
  OK(pv_gguf_writer_add_bool(w, "a.bool", true, err));
  OK(pv_gguf_writer_add_str(w, "a.str", "héllo", err));
  int32_t ints[3] = {-1, 0, 7};
  OK(pv_gguf_writer_add_arr(w, "a.arr_i32", PV_GGUF_VT_INT32, ints, 3, err));
  float fl[2] = {1.5f, -2.25f};
  OK(pv_gguf_writer_add_arr(w, "a.arr_f32", PV_GGUF_VT_FLOAT32, fl, 2, err));
  const char *strs[3] = {"x", "", "yz"};
  OK(pv_gguf_writer_add_arr_str(w, "a.arr_str", strs, 3, err));
  OK(pv_gguf_writer_add_arr(w, "a.arr_empty", PV_GGUF_VT_UINT8, NULL, 0, err));

  /* nested: [[1,2],[3]] of uint16 built as a parsed value */
  uint8_t raw[6] = {1, 0, 2, 0, 3, 0};
  pv_gguf_value inner[2] = {{.type = PV_GGUF_VT_ARRAY, .v.arr = {PV_GGUF_VT_UINT16, 2, raw, NULL, NULL}},
                         {.type = PV_GGUF_VT_ARRAY, .v.arr = {PV_GGUF_VT_UINT16, 1, raw + 4, NULL, NULL}}};
  pv_gguf_value outer = {.type = PV_GGUF_VT_ARRAY, .v.arr = {PV_GGUF_VT_ARRAY, 2, NULL, NULL, inner}};
  OK(pv_gguf_writer_add_value(w, "a.nested", &outer, err));

  pv_error e = {0};
  assert_int_equal(pv_gguf_writer_add_u8(w, "a.u8", 1, &e), PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(e.msg, "a.u8"));
  assert_int_equal(pv_gguf_writer_set_alignment(w, 48, &e), PAGEDVK_ERR_INVALID);

  uint8_t *buf;
  pv_gguf_file *f = reopen(w, &buf);
  assert_int_equal(f->version, 3);
  assert_int_equal(f->n_kv, 18); /* 17 + general.alignment */
  assert_int_equal(f->alignment, 64);
  uint64_t u;
  int64_t i;
  double d;
  bool b;
  pv_gguf_str s;
  assert_true(pv_gguf_get_u64(f, "a.u8", &u) && u == 200);
  assert_true(pv_gguf_get_i64(f, "a.i8", &i) && i == -100);
  assert_true(pv_gguf_get_u64(f, "a.u16", &u) && u == 60000);
  assert_true(pv_gguf_get_i64(f, "a.i16", &i) && i == -30000);
  assert_true(pv_gguf_get_u64(f, "a.u32", &u) && u == 4000000000u);
  assert_true(pv_gguf_get_i64(f, "a.i32", &i) && i == -2000000000);
  assert_true(pv_gguf_get_u64(f, "a.u64", &u) && u == 18000000000000000000ull);
  assert_false(pv_gguf_get_i64(f, "a.u64", &i)); /* does not fit */
  assert_true(pv_gguf_get_i64(f, "a.i64", &i) && i == -9000000000000000000ll);
  assert_false(pv_gguf_get_u64(f, "a.i64", &u)); /* negative */
  assert_true(pv_gguf_get_f64(f, "a.f32", &d) && d == (double)0.1f);
  assert_true(pv_gguf_get_f64(f, "a.f64", &d) && d == 0.1);
  assert_true(pv_gguf_get_bool(f, "a.bool", &b) && b);
  assert_true(pv_gguf_get_str(f, "a.str", &s) && pv_gguf_str_eq(s, "héllo"));
  const pv_gguf_array *a = pv_gguf_get_arr(f, "a.arr_i32");
  assert_true(a && a->n == 3 && pv_gguf_arr_i64(a, 0, &i) && i == -1 && pv_gguf_arr_i64(a, 2, &i) && i == 7);
  a = pv_gguf_get_arr(f, "a.arr_f32");
  assert_true(a && pv_gguf_arr_f64(a, 1, &d) && d == -2.25);
  a = pv_gguf_get_arr(f, "a.arr_str");
  assert_true(a && a->n == 3 && pv_gguf_str_eq(a->strs[0], "x") && pv_gguf_str_eq(a->strs[1], "") &&
              pv_gguf_str_eq(a->strs[2], "yz"));
  a = pv_gguf_get_arr(f, "a.arr_empty");
  assert_true(a && a->n == 0);
  a = pv_gguf_get_arr(f, "a.nested");
  assert_true(a && a->elem_type == PV_GGUF_VT_ARRAY && a->n == 2);
  assert_true(a->items[0].v.arr.n == 2 && pv_gguf_arr_u64(&a->items[0].v.arr, 1, &u) && u == 2);
  assert_true(a->items[1].v.arr.n == 1 && pv_gguf_arr_u64(&a->items[1].v.arr, 0, &u) && u == 3);

  /* copying every key into a second writer reproduces the same metadata bytes */
  pv_gguf_writer *w2;
  OK(pv_gguf_writer_create(&w2, err));
  OK(pv_gguf_writer_copy_kv_prefix(w2, f, "", err));
  uint8_t *buf2;
  pv_gguf_file *f2 = reopen(w2, &buf2);
  assert_int_equal(f2->size, f->size);
  assert_memory_equal(buf2, buf, f->size);
  pv_gguf_close(f2);
  free(buf2);
  pv_gguf_writer_destroy(w2);
  pv_gguf_close(f);
  free(buf);
  pv_gguf_writer_destroy(w);
}

static const pv_dtype TYPES[] = {PV_F32, PV_F16, PV_BF16, PV_Q8_0, PV_Q4_0, PV_Q4_1,
                                 PV_Q5_0, PV_Q5_1, PV_Q4_K, PV_Q5_K, PV_Q6_K};

static void test_tensor_roundtrip(void **state) {
  (void)state;
  pv_gguf_writer *w;
  OK(pv_gguf_writer_create(&w, err));
  OK(pv_gguf_writer_add_str(w, "general.architecture", "llama", err));
  enum { NE0 = 512, NE1 = 3 };
  float x[NE0 * NE1];
  for (int k = 0; k < NE0 * NE1; k++) x[k] = sinf((float)k * 0.37f) * 0.1f;
  uint8_t *data[sizeof TYPES / sizeof TYPES[0]];
  uint64_t sizes[sizeof TYPES / sizeof TYPES[0]];
  for (size_t t = 0; t < sizeof TYPES / sizeof TYPES[0]; t++) {
    uint64_t row;
    assert_true(pv_dtype_row_bytes(TYPES[t], NE0, &row));
    sizes[t] = row * NE1;
    data[t] = malloc(sizes[t]);
    OK(pv_quantize_rows(TYPES[t], x, data[t], NE0, NE1, err));
    char name[64];
    snprintf(name, sizeof name, "t.%s", pv_dtype_name(TYPES[t]));
    uint64_t ne[2] = {NE0, NE1};
    OK(pv_gguf_writer_add_tensor(w, name, TYPES[t], 2, ne, data[t], sizes[t], err));
  }
  uint64_t ne1[1] = {7};
  float small[7] = {1, 2, 3, 4, 5, 6, 7};
  OK(pv_gguf_writer_add_tensor(w, "t.odd", PV_F32, 1, ne1, small, sizeof small, err));
  pv_error e = {0};
  uint64_t bad[2] = {100, 2};
  assert_int_equal(pv_gguf_writer_add_tensor(w, "t.bad", PV_Q4_K, 2, bad, x, 100, &e), PAGEDVK_ERR_INVALID);
  assert_int_equal(pv_gguf_writer_add_tensor(w, "t.odd", PV_F32, 1, ne1, small, sizeof small, &e), PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(e.msg, "duplicate"));

  uint8_t *buf;
  pv_gguf_file *f = reopen(w, &buf);
  assert_int_equal(f->n_tensors, sizeof TYPES / sizeof TYPES[0] + 1);
  for (size_t t = 0; t < sizeof TYPES / sizeof TYPES[0]; t++) {
    char name[64];
    snprintf(name, sizeof name, "t.%s", pv_dtype_name(TYPES[t]));
    const pv_gguf_tensor *g = pv_gguf_find_tensor(f, name);
    assert_non_null(g);
    assert_int_equal(g->type, TYPES[t]);
    assert_int_equal(g->n_dims, 2);
    assert_int_equal(g->ne[0], NE0);
    assert_int_equal(g->ne[1], NE1);
    assert_int_equal(g->nbytes, sizes[t]);
    assert_memory_equal(g->data, data[t], sizes[t]);
    assert_int_equal(g->offset % 32, 0);
    float row[NE0];
    OK(pv_dequantize_tensor_row(g, 2, row, err));
    double num = 0, den = 0;
    for (int k = 0; k < NE0; k++) {
      num += (double)(row[k] - x[2 * NE0 + k]) * (row[k] - x[2 * NE0 + k]);
      den += (double)x[2 * NE0 + k] * x[2 * NE0 + k];
    }
    assert_true(sqrt(num / den) <= pv_quant_error_bound(TYPES[t]) * 1.5 + 1e-9);
    free(data[t]);
  }
  const pv_gguf_tensor *odd = pv_gguf_find_tensor(f, "t.odd");
  assert_true(odd && odd->n_dims == 1 && odd->ne[0] == 7 && odd->ne[1] == 1);
  float all[7];
  OK(pv_dequantize_tensor(odd, all, err));
  assert_memory_equal(all, small, sizeof small);
  pv_gguf_close(f);
  free(buf);
  pv_gguf_writer_destroy(w);
}

static void test_copy_tokenizer(void **state) {
  (void)state;
  char path[1024];
  pv_test_model_path(path, sizeof path, "syn-llama-q4k.gguf"); /* its tokenizer.* keys, among others */
  pv_gguf_file *src;
  OK(pv_gguf_open(&src, path, err));
  pv_gguf_writer *w;
  OK(pv_gguf_writer_create(&w, err));
  OK(pv_gguf_writer_add_str(w, "general.architecture", "llama", err));
  OK(pv_gguf_writer_copy_tokenizer(w, src, err));
  uint8_t *buf;
  pv_gguf_file *f = reopen(w, &buf);
  uint64_t n_tok = 0;
  for (uint64_t i = 0; i < src->n_kv; i++) n_tok += src->kv[i].key.len >= 10 && !memcmp(src->kv[i].key.ptr, "tokenizer.", 10);
  assert_int_equal(f->n_kv, n_tok + 1);
  const pv_gguf_array *a = pv_gguf_get_arr(src, "tokenizer.ggml.tokens"), *b = pv_gguf_get_arr(f, "tokenizer.ggml.tokens");
  assert_true(a && b && a->n == b->n);
  for (uint64_t i = 0; i < a->n; i++)
    assert_true(a->strs[i].len == b->strs[i].len && !memcmp(a->strs[i].ptr, b->strs[i].ptr, a->strs[i].len));
  a = pv_gguf_get_arr(src, "tokenizer.ggml.scores");
  b = pv_gguf_get_arr(f, "tokenizer.ggml.scores");
  assert_true(a && b && a->n == b->n);
  assert_memory_equal(a->data, b->data, a->n * 4);
  bool flag = false;
  assert_true(pv_gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &flag) && flag);
  assert_null(pv_gguf_find(f, "llama.block_count"));
  pv_gguf_close(f);
  free(buf);
  pv_gguf_writer_destroy(w);
  pv_gguf_close(src);
}

static void test_write_file(void **state) {
  (void)state;
  char path[] = "/tmp/pv_gguf_write_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  pv_gguf_writer *w;
  OK(pv_gguf_writer_create(&w, err));
  OK(pv_gguf_writer_add_str(w, "general.name", "x", err));
  uint64_t ne[1] = {4};
  float v[4] = {1, 2, 3, 4};
  OK(pv_gguf_writer_add_tensor(w, "v", PV_F32, 1, ne, v, sizeof v, err));
  OK(pv_gguf_writer_write(w, path, err));
  pv_gguf_file *f;
  OK(pv_gguf_open(&f, path, err));
  assert_int_equal(f->n_tensors, 1);
  assert_memory_equal(pv_gguf_find_tensor(f, "v")->data, v, sizeof v);
  pv_gguf_close(f);
  pv_gguf_writer_destroy(w);
  unlink(path);
}

/* The writer reproduces real files byte for byte (llama.cpp's converter wrote the first). */
static void test_rewrite_shared(void **state) {
  (void)state;
  static const char *files[] = {"models/llama-2-tiny-random.gguf", "models/syn-llama-q4k.gguf",
                                "models/syn-qwen2-f16.gguf", "vocab/ggml-vocab-llama-bpe.gguf"};
  int done = 0;
  for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
    char path[1024];
    if (!pv_test_shared_path(path, sizeof path, files[k])) continue;
    pv_gguf_file *f;
    OK(pv_gguf_open(&f, path, err));
    pv_gguf_writer *w;
    OK(pv_gguf_writer_create(&w, err));
    OK(pv_gguf_writer_copy_kv_prefix(w, f, "", err));
    for (uint64_t i = 0; i < f->n_tensors; i++) {
      const pv_gguf_tensor *t = &f->tensors[i];
      char name[80];
      snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
      OK(pv_gguf_writer_add_tensor(w, name, t->type, t->n_dims, t->ne, t->data, t->nbytes, err));
    }
    uint8_t *buf;
    uint64_t size;
    OK(pv_gguf_writer_to_memory(w, &buf, &size, err));
    /* files without tensors end right after the metadata; the writer pads to the alignment */
    uint64_t cmp = f->size;
    assert_true(size >= cmp && size - cmp < f->alignment);
    if (memcmp(buf, f->base, cmp)) fail_msg("%s: rewritten bytes differ", files[k]);
    free(buf);
    pv_gguf_writer_destroy(w);
    pv_gguf_close(f);
    done++;
  }
  if (!done) skip();
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_metadata_roundtrip),
    cmocka_unit_test(test_tensor_roundtrip),
    cmocka_unit_test(test_copy_tokenizer),
    cmocka_unit_test(test_write_file),
    cmocka_unit_test(test_rewrite_shared),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
