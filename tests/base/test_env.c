/* The environment table (runtime/base/env.h): read once, parsed into typed fields, read again only
 * on request; the README lists every variable of the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/base.h"
#include "base/env.h"

static void test_read_once_then_reload(void **state) {
  (void)state;
  setenv("PAGEDVK_ATTN", "lanes", 1);
  setenv("PAGEDVK_GPU_TIMEOUT_S", "-3", 1);
  setenv("PAGEDVK_NO_FP16", "0", 1);
  setenv("PAGEDVK_LOG", "debug", 1);
  pv_env_reload();
  const pv_env *e = pv_env_get();
  assert_string_equal(e->attn, "lanes");
  assert_true(e->gpu_timeout_s == 120.0); /* not positive: the default */
  assert_false(e->no_fp16);               /* "0" is off */
  assert_int_equal(e->log_level, PV_LOG_DEBUG);
  assert_string_equal(pv_env_raw("PAGEDVK_NO_FP16"), "0");
  assert_null(pv_env_raw("PAGEDVK_NOT_A_VARIABLE"));
  /* read once: a change is seen only after a reload */
  setenv("PAGEDVK_ATTN", "groups", 1);
  unsetenv("PAGEDVK_LOG");
  assert_string_equal(pv_env_get()->attn, "lanes");
  pv_env_reload();
  assert_string_equal(pv_env_get()->attn, "groups");
  assert_int_equal(pv_env_get()->log_level, PV_LOG_WARN);
  assert_null(pagedvk_env_get("PAGEDVK_LOG"));
  setenv("PAGEDVK_GPU_TIMEOUT_S", "2.5", 1);
  setenv("PAGEDVK_PROFILE", "Embedded", 1);
  setenv("PAGEDVK_FAULT_SUBMIT", "17", 1);
  setenv("PAGEDVK_MAX_BINDING", "3M", 1);
  pv_env_reload();
  assert_int_equal(pv_env_get()->max_binding, 3u << 20);
  setenv("PAGEDVK_MAX_BINDING", "4096", 1);
  pv_env_reload();
  assert_int_equal(pv_env_get()->max_binding, 4096);
  setenv("PAGEDVK_MAX_BINDING", "12X", 1); /* malformed: no clamp */
  pv_env_reload();
  assert_int_equal(pv_env_get()->max_binding, 0);
  unsetenv("PAGEDVK_MAX_BINDING");
  assert_true(pv_env_get()->gpu_timeout_s == 2.5);
  assert_true(pv_env_get()->profile_embedded);
  assert_int_equal(pv_env_get()->fault_submit, 17);
  unsetenv("PAGEDVK_ATTN");
  unsetenv("PAGEDVK_GPU_TIMEOUT_S");
  unsetenv("PAGEDVK_NO_FP16");
  unsetenv("PAGEDVK_PROFILE");
  unsetenv("PAGEDVK_FAULT_SUBMIT");
  pv_env_reload();
}

/* Every variable of the table is named in the README, and every PAGEDVK_ variable the README names
 * (outside status codes and build options) is in the table. */
static void test_readme_lists_the_table(void **state) {
  (void)state;
  FILE *f = fopen(PV_SOURCE_DIR "/README.md", "rb");
  assert_non_null(f);
  static char text[1 << 17];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  for (size_t i = 0; i < pv_env_var_count; i++) {
    if (!strstr(text, pv_env_vars[i].name)) fail_msg("README does not list %s", pv_env_vars[i].name);
  }
  for (const char *p = strstr(text, "PAGEDVK_"); p; p = strstr(p + 1, "PAGEDVK_")) {
    char name[64];
    size_t len = 0;
    while (len < sizeof name - 1 && ((p[len] >= 'A' && p[len] <= 'Z') || (p[len] >= '0' && p[len] <= '9') || p[len] == '_'))
      name[len] = p[len], len++;
    name[len] = 0;
    if (!strncmp(name, "PAGEDVK_ERR_", 12) || !strcmp(name, "PAGEDVK_OK") || !strcmp(name, "PAGEDVK_WERROR") ||
        !strcmp(name, "PAGEDVK_SANITIZE") || !strcmp(name, "PAGEDVK_FUZZ") || !strncmp(name, "PAGEDVK_BUILD_", 14) ||
        !strcmp(name, "PAGEDVK_SYSTEM_VOLK") || !strcmp(name, "PAGEDVK_SHARED_DIR"))
      continue;
    bool known = false;
    for (size_t i = 0; i < pv_env_var_count && !known; i++) known = !strcmp(pv_env_vars[i].name, name);
    if (!known) fail_msg("README names %s, which is not in the environment table", name);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_read_once_then_reload),
      cmocka_unit_test(test_readme_lists_the_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
