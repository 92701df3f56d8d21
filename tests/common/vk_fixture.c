/* vk_fixture.c — validation-checked Vulkan contexts for tests (vk_fixture.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_fixture.h"

const pv_test_clamp_set pv_test_clamp_sets[] = {
    {"default", {0}},
    {"no-subgroup", {.no_subgroup = true}},
    {"no-fp16-no-storage16", {.no_fp16 = true, .no_storage16 = true}},
    {"no-unified", {.no_unified = true}},
    {"embedded", {.profile = PV_PROFILE_EMBEDDED}},
};
const size_t pv_test_clamp_set_count = sizeof pv_test_clamp_sets / sizeof pv_test_clamp_sets[0];

static const pv_test_clamp_set *current_set; /* for pv_test_vk_setup */

pv_test_vk *pv_test_vk_create(const pv_vk_clamps *clamps) {
  pv_error err = {0};
  pv_test_vk *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  atomic_init(&t->messages, 0);
  pv_vk_options opts = {.validation = true, .validation_counter = &t->messages};
  if (clamps) opts.clamps = *clamps;
  if (pv_vk_context_create(&t->ctx, &opts, &err) || pv_vk_cmd_create(t->ctx, &t->cmd, &err)) {
    fprintf(stderr, "vk fixture: %s\n", err.msg);
    pv_vk_context_destroy(t->ctx);
    free(t);
    return NULL;
  }
  return t;
}

int pv_test_vk_destroy(pv_test_vk *t) {
  if (!t) return 0;
  pv_vk_cmd_destroy(&t->cmd);
  pv_vk_context_destroy(t->ctx); /* objects left alive are reported here, and counted */
  unsigned messages = atomic_load(&t->messages);
  free(t);
  if (messages) {
    fprintf(stderr, "vk fixture: %u validation message(s)\n", messages);
    return -1;
  }
  return 0;
}

int pv_test_vk_setup(void **state) {
  pv_test_vk *t = pv_test_vk_create(current_set ? &current_set->clamps : NULL);
  if (!t) return -1;
  t->clamp_name = current_set ? current_set->name : "default";
  *state = t;
  return 0;
}

int pv_test_vk_teardown(void **state) { return pv_test_vk_destroy(*state); }

int pv_test_vk_check(void **state) {
  pv_test_vk *t = *state;
  unsigned now = pv_vk_validation_count(t->ctx);
  bool clean = now == t->seen_messages;
  t->seen_messages = now;
  if (!clean) fprintf(stderr, "vk fixture: this test caused validation messages\n");
  return clean ? 0 : -1;
}

int pv_test_vk_run_clamp_sets(const char *name, const struct CMUnitTest *tests, size_t count) {
  int failures = 0;
  char group[256];
  /* PV_TEST_CLAMP_SETS=a,b: only those sets (the sanitizer build runs the sets whose host code
   * differs: tests/CMakeLists.txt); the others are named as left out */
  const char *only = getenv("PV_TEST_CLAMP_SETS");
  for (size_t i = 0; i < pv_test_clamp_set_count; i++) {
    if (only && *only) {
      const char *set = pv_test_clamp_sets[i].name, *p = only;
      size_t n = strlen(set);
      bool listed = false;
      while (*p && !listed) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        listed = len == n && !strncmp(p, set, n);
        p += len + (end ? 1 : 0);
      }
      if (!listed) {
        printf("skip: clamp set %s of %s (PV_TEST_CLAMP_SETS=%s)\n", set, name, only);
        continue;
      }
    }
    current_set = &pv_test_clamp_sets[i];
    snprintf(group, sizeof group, "%s [%s]", name, current_set->name);
    failures += _cmocka_run_group_tests(group, tests, count, pv_test_vk_setup, pv_test_vk_teardown);
  }
  current_set = NULL;
  return failures;
}

void pv_test_random_floats(float *x, size_t n, uint64_t seed, float lo, float hi) {
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t i = 0; i < n; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    x[i] = lo + (hi - lo) * (float)(s >> 40) * (1.0f / 16777216.0f);
  }
}
