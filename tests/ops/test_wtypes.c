/*
 * The weight-type table (runtime/gguf/wtypes.def) and what is generated from it agree:
 *   - every type with GPU kernels has a shader id for each weight kernel kind (matmul, SwiGLU matmul,
 *     embed; storage and texel), named <kernel>_<suffix>, with SPIR-V; every other GGUF number has none;
 *   - the generated wtypes.glsl gives each type its GGUF number and each GPU type its block layout;
 *   - the CPU column agrees with quant.c's dequantizers, names and suffixes parse back;
 *   - ops sizes weight rows as the table does: a weight that exactly fills its buffer (rounded up to
 *     whole words) is accepted, one word less is refused, for every GPU type and every kernel form;
 *   - every shader of the library's registry is a SPIR-V module whose base is a registered id;
 *   - the parse-only types (GGUF's other numbers) have GGUF's block sizes (listed here, not taken
 *     from the table), files holding them open with the right tensor sizes, and a model with one
 *     of them is refused naming the tensor and its type.
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ops_helpers.h"
#include "devkit/gguf_write.h"
#include "pagedvk.h"
#include "pv_shader_ids.h"

static const struct {
  pv_wkernel kind;
  const char *prefix;
} KINDS[] = {{PV_WK_MATMUL, "matmul_"},     {PV_WK_MATMUL_TEX, "matmul_tex_"}, {PV_WK_SWIGLU, "matmul_swiglu_"},
             {PV_WK_SWIGLU_TEX, "matmul_swiglu_tex_"}, {PV_WK_EMBED, "embed_"}, {PV_WK_EMBED_TEX, "embed_tex_"}};

static void test_kernels_per_type(void **state) {
  (void)state;
  uint32_t gpu_types = 0;
  for (uint32_t t = 0; t < PV_DTYPE_MAX; t++) {
    const pv_dtype_info *info = pv_dtype_get(t);
    const bool gpu = info && info->gpu;
    gpu_types += gpu;
    for (size_t k = 0; k < PV_ARRAY_LEN(KINDS); k++) {
      const uint32_t id = pv_wkernel_shader[KINDS[k].kind][t];
      if (!gpu) {
        assert_int_equal(id, PV_SHADER_NONE);
        continue;
      }
      assert_true(id > PV_SHADER_NONE && id < PV_SHADER_COUNT);
      char want[64];
      snprintf(want, sizeof want, "%s%s", KINDS[k].prefix, info->suffix);
      assert_string_equal(pv_shader_blobs[id].name, want);
      assert_non_null(pv_shader_blobs[id].code);
    }
    if (gpu) assert_string_equal(pv_ops_type_suffix(t), info->suffix);
    else assert_null(pv_ops_type_suffix(t));
  }
  assert_int_equal(gpu_types, PV_TEST_N_WEIGHT_TYPES);
}

/* The value of `#define NAME value` in text, or -1. */
static long glsl_define(const char *text, const char *name) {
  char key[64];
  snprintf(key, sizeof key, "#define %s ", name);
  const char *p = strstr(text, key);
  return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static void test_glsl_header(void **state) {
  (void)state;
  FILE *f = fopen(PV_BINARY_DIR "/shaders/wtypes.glsl", "rb");
  assert_non_null(f);
  static char text[1 << 16];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  uint32_t gpu_types = 0;
  for (uint32_t t = 0; t < PV_DTYPE_MAX; t++) {
    const pv_dtype_info *info = pv_dtype_get(t);
    if (!info) continue;
    char name[32];
    snprintf(name, sizeof name, "WT_%s", info->name);
    assert_int_equal(glsl_define(text, name), t);
    if (!info->gpu) continue;
    /* the block layout of WTYPE follows the line "#if|#elif WTYPE == WT_<NAME>" */
    char cond[48];
    snprintf(cond, sizeof cond, "WTYPE == WT_%s\n", info->name);
    const char *at = strstr(text, cond);
    assert_non_null(at);
    assert_int_equal(glsl_define(at, "WT_BLOCK_ELEMS"), info->block_elems);
    assert_int_equal(glsl_define(at, "WT_BLOCK_BYTES"), info->block_bytes);
    gpu_types++;
  }
  assert_int_equal(gpu_types, PV_TEST_N_WEIGHT_TYPES);
}

static void test_table_columns(void **state) {
  (void)state;
  for (uint32_t t = 0; t < PV_DTYPE_MAX; t++) {
    const pv_dtype_info *info = pv_dtype_get(t);
    if (!info) {
      assert_false(pv_quant_supported((pv_dtype)t));
      continue;
    }
    assert_int_equal(pv_quant_supported((pv_dtype)t), info->supported);
    if (info->gpu) assert_true(info->supported); /* the oracle and the loader read what the kernels read */
    pv_dtype back;
    assert_true(pv_dtype_from_name(info->suffix, &back));
    assert_int_equal(back, t);
    assert_true(pv_dtype_from_name(info->name, &back));
    assert_int_equal(back, t);
    uint64_t bytes = 0;
    assert_true(pv_dtype_row_bytes((pv_dtype)t, 3ull * info->block_elems, &bytes));
    assert_int_equal(bytes, 3ull * info->block_bytes);
  }
  assert_string_equal(pv_dtype_name(PV_Q4_K), "Q4_K");
  assert_string_equal(pv_dtype_get(PV_BF16)->suffix, "bf16");
}

static void test_registry(void **state) {
  (void)state;
  assert_int_equal(pv_shaders.count, PV_SHADER_COUNT);
  assert_ptr_equal(pv_shaders.blobs, pv_shader_blobs);
  assert_null(pv_shader_blobs[PV_SHADER_NONE].code);
  for (uint32_t id = 1; id < PV_SHADER_COUNT; id++) {
    const pv_shader_blob *b = &pv_shader_blobs[id];
    assert_non_null(b->name);
    assert_non_null(b->code);
    assert_true(*b->size >= 20 && *b->size % 4 == 0);
    assert_int_equal(b->code[0], 0x07230203u); /* SPIR-V magic */
    assert_true(b->base > 0 && b->base < PV_SHADER_COUNT);
    assert_int_equal(pv_shader_blobs[b->base].base, b->base);
  }
}

/* ops' row size of each GPU type: a weight of N rows that ends exactly at its buffer's last word is
 * accepted, a buffer one word shorter refused (cmd NULL: the call only checks and builds pipelines). */
static void test_ops_row_bytes(void **state) {
  pv_test_vk *t = *state;
  pv_ops ops;
  test_ops_init(t, &ops);
  pv_error err = {0};
  pv_vk_buffer x, y;
  test_buffer(t, &x, 4096 * 4, NULL, 0, 0);
  test_buffer(t, &y, 4096 * 4, NULL, 0, 0);
  for (size_t i = 0; i < PV_TEST_N_WEIGHT_TYPES; i++) {
    const pv_dtype type = PV_TEST_WEIGHT_TYPES[i];
    const pv_dtype_info *info = pv_dtype_get(type);
    const uint32_t k = info->block_elems == 1 ? 40 : 2 * info->block_elems, n = 3, offset = 8;
    const uint64_t end = offset + test_row_bytes(type, k) * n, whole = (end + 3) & ~(uint64_t)3;
    for (int shorter = 0; shorter <= 1; shorter++) {
      pv_vk_buffer wbuf;
      test_buffer(t, &wbuf, whole - 4u * (uint64_t)shorter, NULL, 0, 0);
      pv_op_weight w = {.buf = &wbuf, .offset = offset, .type = type, .k = k, .n = n};
      pv_op_weight up = w;
      const int want = shorter ? PAGEDVK_ERR_INVALID : PAGEDVK_OK;
      pv_op_matmul_args a = {.w = &w, .x = pv_view(&x), .y = pv_view(&y), .m = 2, .x_stride = k, .y_stride = n};
      assert_int_equal(pv_op_matmul(&ops, NULL, &a, &err), want);
      a.w_up = &up;
      assert_int_equal(pv_op_matmul(&ops, NULL, &a, &err), want);
      assert_int_equal(pv_op_embed(&ops, NULL, &w, pv_view(&x), pv_view(&y), 2, k, &err), want);
      pv_vk_buffer_destroy(t->ctx, &wbuf);
    }
  }
  pv_vk_buffer_destroy(t->ctx, &x);
  pv_vk_buffer_destroy(t->ctx, &y);
  pv_ops_destroy(&ops);
}

/* GGUF's types without dequantizers here: number, name, elements and bytes per block (ggml's
 * block structs: e.g. IQ2_XXS {f16 d; u16 qs[32]} = 66 bytes per 256). */
static const struct {
  uint32_t id;
  const char *name;
  uint32_t elems, bytes;
} PARSE_ONLY[] = {
    {9, "Q8_1", 32, 36},         {15, "Q8_K", 256, 292},      {16, "IQ2_XXS", 256, 66},   {17, "IQ2_XS", 256, 74},
    {18, "IQ3_XXS", 256, 98},    {19, "IQ1_S", 256, 50},      {21, "IQ3_S", 256, 110},    {22, "IQ2_S", 256, 82},
    {29, "IQ1_M", 256, 56},      {31, "Q4_0_4_4", 32, 18},    {32, "Q4_0_4_8", 32, 18},   {33, "Q4_0_8_8", 32, 18},
    {34, "TQ1_0", 256, 54},      {35, "TQ2_0", 256, 66},      {36, "IQ4_NL_4_4", 32, 18}, {37, "IQ4_NL_4_8", 32, 18},
    {38, "IQ4_NL_8_8", 32, 18},  {39, "MXFP4", 32, 17},
};

static void test_parse_only_types(void **state) {
  (void)state;
  pv_error err = {0};
  pv_gguf_writer *w = NULL;
  PV_ASSERT_OK(pv_gguf_writer_create(&w, &err), err);
  static uint8_t zeros[3 * 2 * 292];
  for (size_t i = 0; i < PV_ARRAY_LEN(PARSE_ONLY); i++) {
    const pv_dtype_info *info = pv_dtype_get(PARSE_ONLY[i].id);
    assert_non_null(info);
    assert_string_equal(info->name, PARSE_ONLY[i].name);
    assert_int_equal(info->block_elems, PARSE_ONLY[i].elems);
    assert_int_equal(info->block_bytes, PARSE_ONLY[i].bytes);
    assert_false(info->supported || info->gpu);
    const uint64_t ne[2] = {2ull * PARSE_ONLY[i].elems, 3};
    PV_ASSERT_OK(pv_gguf_writer_add_tensor(w, PARSE_ONLY[i].name, (pv_dtype)PARSE_ONLY[i].id, 2, ne, zeros,
                                           6ull * PARSE_ONLY[i].bytes, &err), err);
  }
  uint8_t *mem = NULL;
  uint64_t size = 0;
  PV_ASSERT_OK(pv_gguf_writer_to_memory(w, &mem, &size, &err), err);
  pv_gguf_writer_destroy(w);
  pv_gguf_file *f = NULL;
  PV_ASSERT_OK(pv_gguf_open_memory(&f, mem, size, &err), err);
  assert_int_equal(f->n_tensors, PV_ARRAY_LEN(PARSE_ONLY));
  for (size_t i = 0; i < PV_ARRAY_LEN(PARSE_ONLY); i++) {
    const pv_gguf_tensor *t = pv_gguf_find_tensor(f, PARSE_ONLY[i].name);
    assert_non_null(t);
    assert_int_equal(t->type, PARSE_ONLY[i].id);
    assert_int_equal(t->nbytes, 6ull * PARSE_ONLY[i].bytes);
  }
  pv_gguf_close(f);
  free(mem);
}

/* A model made by mkmodel, rewritten with blk.0.ffn_up.weight as Q4_0_4_4 (same bytes as Q4_0):
 * opening and describing it works, the description counts the type, and loading it for running
 * fails naming the tensor and the type. Skips without the mkmodel and pagedvk programs. */
static void test_parse_only_model(void **state) {
  (void)state;
  char dir[] = "/tmp/pv_wtypes_XXXXXX", src_path[300], out_path[300], cmd[1024];
  if (access(PV_BINARY_DIR "/mkmodel", X_OK) != 0 || access(PV_BINARY_DIR "/pagedvk", X_OK) != 0) skip();
  assert_non_null(mkdtemp(dir));
  snprintf(src_path, sizeof src_path, "%s/q4_0.gguf", dir);
  snprintf(out_path, sizeof out_path, "%s/q4_0_4_4.gguf", dir);
  snprintf(cmd, sizeof cmd,
           "'%s/mkmodel' --n-layer 1 --n-embd 64 --n-ff 128 --type Q8_0 --tensor-type 'blk.0.ffn_up.weight=Q4_0' "
           "-o '%s' >/dev/null 2>&1", PV_BINARY_DIR, src_path);
  int rc = system(cmd);
  assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
  pv_error err = {0};
  pv_gguf_file *src = NULL;
  pv_gguf_writer *w = NULL;
  PV_ASSERT_OK(pv_gguf_open(&src, src_path, &err), err);
  PV_ASSERT_OK(pv_gguf_writer_create(&w, &err), err);
  PV_ASSERT_OK(pv_gguf_writer_copy_kv_prefix(w, src, "", &err), err);
  for (uint64_t i = 0; i < src->n_tensors; i++) {
    const pv_gguf_tensor *t = &src->tensors[i];
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
    const pv_dtype type = strcmp(name, "blk.0.ffn_up.weight") ? t->type : PV_Q4_0_4_4;
    PV_ASSERT_OK(pv_gguf_writer_add_tensor(w, name, type, t->n_dims, t->ne, t->data, t->nbytes, &err), err);
  }
  PV_ASSERT_OK(pv_gguf_writer_write(w, out_path, &err), err);
  pv_gguf_writer_destroy(w);
  pv_gguf_close(src);

  pagedvk_model *m = NULL;
  char msg[512] = "";
  if (pagedvk_model_open(&m, out_path, msg, sizeof msg)) fail_msg("%s", msg);
  pagedvk_model_description d;
  rc = pagedvk_model_describe(m, &d, msg, sizeof msg);
  bool counted = false;
  for (uint32_t i = 0; i < d.n_weight_types; i++)
    if (!strcmp(d.weight_types[i].type, "Q4_0_4_4"))
      counted = d.weight_types[i].n_tensors == 1 && d.weight_types[i].bytes == 128 / 32 * 18 * 64;
  if (!counted) fail_msg("the description does not count one Q4_0_4_4 tensor of 18432 bytes (rc %d: %s)", rc, msg);
  pagedvk_model_close(m);

  snprintf(cmd, sizeof cmd, "'%s/pagedvk' run --reference -m '%s' -p hi -n 1 2>&1", PV_BINARY_DIR, out_path);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char out[4096] = "";
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = 0;
  rc = pclose(p);
  assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) != 0);
  if (!strstr(out, "blk.0.ffn_up.weight") || !strstr(out, "Q4_0_4_4"))
    fail_msg("run does not name the tensor and its type:\n%s", out);
  remove(src_path);
  remove(out_path);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest table[] = {
      cmocka_unit_test(test_kernels_per_type),
      cmocka_unit_test(test_glsl_header),
      cmocka_unit_test(test_table_columns),
      cmocka_unit_test(test_registry),
      cmocka_unit_test(test_parse_only_types),
      cmocka_unit_test(test_parse_only_model),
  };
  int failed = cmocka_run_group_tests_name("wtypes", table, NULL, NULL);
  const struct CMUnitTest device[] = {
      cmocka_unit_test_teardown(test_ops_row_bytes, pv_test_vk_check),
  };
  return failed + cmocka_run_group_tests_name("wtypes_ops", device, pv_test_vk_setup, pv_test_vk_teardown);
}
