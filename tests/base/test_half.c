/* Half and bfloat16 conversions: exact on every f16 value, round-to-nearest-even on f32 input. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "base/base.h"

static void test_f16_roundtrip_all(void **state) {
  (void)state;
  for (uint32_t h = 0; h < 65536; h++) {
    float f = pv_f16_to_f32((uint16_t)h);
    if (isnan(f)) { assert_true(((h >> 10) & 0x1f) == 31 && (h & 0x3ff)); continue; }
    assert_int_equal(pv_f32_to_f16(f), h);
  }
}

static void test_f16_known_values(void **state) {
  (void)state;
  assert_int_equal(pv_f32_to_f16(1.0f), 0x3c00);
  assert_int_equal(pv_f32_to_f16(-2.0f), 0xc000);
  assert_int_equal(pv_f32_to_f16(65504.0f), 0x7bff);
  assert_int_equal(pv_f32_to_f16(65520.0f), 0x7c00);            /* rounds to inf */
  assert_int_equal(pv_f32_to_f16(5.9604645e-08f), 0x0001);      /* smallest subnormal */
  assert_int_equal(pv_f32_to_f16(2.9802322e-08f), 0x0000);      /* half of it: ties to even (0) */
  assert_int_equal(pv_f32_to_f16(1.0f + 1.0f / 2048.0f), 0x3c00); /* tie -> even */
  assert_int_equal(pv_f32_to_f16(1.0f + 3.0f / 2048.0f), 0x3c02); /* tie -> even (up) */
  assert_true(pv_f16_to_f32(0x3555) > 0.333f && pv_f16_to_f32(0x3555) < 0.334f);
}

static void test_bf16(void **state) {
  (void)state;
  assert_int_equal(pv_f32_to_bf16(1.0f), 0x3f80);
  assert_true(pv_bf16_to_f32(0x3f80) == 1.0f);
  assert_int_equal(pv_f32_to_bf16(1.00390625f), 0x3f80); /* tie -> even */
  assert_int_equal(pv_f32_to_bf16(1.01171875f), 0x3f82); /* tie -> even (up) */
  for (uint32_t h = 0; h < 65536; h++) {
    float f = pv_bf16_to_f32((uint16_t)h);
    if (!isnan(f)) assert_int_equal(pv_f32_to_bf16(f), h);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_f16_roundtrip_all),
      cmocka_unit_test(test_f16_known_values),
      cmocka_unit_test(test_bf16),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
