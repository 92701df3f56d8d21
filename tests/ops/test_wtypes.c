/*
 * The weight-type table (runtime/gguf/wtypes.def) and what is generated from it agree:
 *   - every type with GPU kernels has a shader id for each weight kernel kind (matmul, SwiGLU matmul,
 *     embed; storage and texel), named <kernel>_<suffix>, with SPIR-V; every other GGUF number has none;
 *   - the generated wtypes.glsl gives each type its GGUF number and each GPU type its block layout;
 *   - the CPU column agrees with quant.c's dequantizers, names and suffixes parse back;
 *   - ops sizes weight rows as the table does: a weight that exactly fills its buffer (rounded up to
 *     whole words) is accepted, one word less is refused, for every GPU type and every kernel form;
 *   - every shader of the library's registry is a SPIR-V module whose base is a registered id.
 */
#include <stdio.h>

#include "ops_helpers.h"
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

int main(void) {
  const struct CMUnitTest table[] = {
      cmocka_unit_test(test_kernels_per_type),
      cmocka_unit_test(test_glsl_header),
      cmocka_unit_test(test_table_columns),
      cmocka_unit_test(test_registry),
  };
  int failed = cmocka_run_group_tests_name("wtypes", table, NULL, NULL);
  const struct CMUnitTest device[] = {
      cmocka_unit_test_teardown(test_ops_row_bytes, pv_test_vk_check),
  };
  return failed + cmocka_run_group_tests_name("wtypes_ops", device, pv_test_vk_setup, pv_test_vk_teardown);
}
