/*
 * vk_fixture.h — a Vulkan context for tests, with the validation layer on, that fails the test when
 * the layer reported anything.
 *
 * Use as cmocka group setup/teardown (state is a pv_test_vk *):
 *     cmocka_run_group_tests(tests, pv_test_vk_setup, pv_test_vk_teardown);
 * add pv_test_vk_check as a per-test teardown to name the test that caused a validation message, and
 * run a whole list once per clamp set (every shader fallback) with pv_test_vk_run_clamp_sets.
 */
#ifndef PV_TEST_VK_FIXTURE_H
#define PV_TEST_VK_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "vk/vk_buffer.h"
#include "vk/vk_cmd.h"
#include "vk/vk_device.h"

typedef struct pv_test_vk {
  pv_vk_context *ctx;
  pv_vk_cmd cmd;
  atomic_uint messages;   /* validation messages, counted through the context's whole life */
  unsigned seen_messages; /* validation count at the end of the previous test */
  const char *clamp_name;
} pv_test_vk;

/* Creates a context (validation on, `clamps` may be NULL) and a command buffer. NULL on failure,
 * with the reason printed. */
pv_test_vk *pv_test_vk_create(const pv_vk_clamps *clamps);
/* Destroys; returns -1 when the validation layer reported any message over the context's life. */
int pv_test_vk_destroy(pv_test_vk *t);

/* Group setup with the clamps set by pv_test_vk_run_clamp_sets (none otherwise), and teardown. */
int pv_test_vk_setup(void **state);
int pv_test_vk_teardown(void **state);
/* Per-test teardown: -1 when this test caused validation messages. */
int pv_test_vk_check(void **state);

typedef struct pv_test_clamp_set {
  const char *name;
  pv_vk_clamps clamps;
} pv_test_clamp_set;

/* default, no subgroup, no fp16 + no 16/8-bit storage, no unified memory, embedded profile. */
extern const pv_test_clamp_set pv_test_clamp_sets[];
extern const size_t pv_test_clamp_set_count;

/* Runs `tests` as one group per clamp set (group setup/teardown above); returns the failures. */
int pv_test_vk_run_clamp_sets(const char *name, const struct CMUnitTest *tests, size_t count);

/* Deterministic uniform floats in [lo, hi). */
void pv_test_random_floats(float *x, size_t n, uint64_t seed, float lo, float hi);

/* assert_int_equal with the pv_error message printed on failure. */
#define PV_ASSERT_OK(expr, err)                                           \
  do {                                                                    \
    int pv_rc_ = (expr);                                                  \
    if (pv_rc_ != PAGEDVK_OK) print_error("%s: %s\n", #expr, (err).msg); \
    assert_int_equal(pv_rc_, PAGEDVK_OK);                                 \
  } while (0)

#endif /* PV_TEST_VK_FIXTURE_H */
