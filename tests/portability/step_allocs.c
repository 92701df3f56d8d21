/*
 * Heap allocations of the engine's step path after warm-up: none. Built with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc (tests/CMakeLists.txt), so every call from code
 * linked statically into this executable — the pagedvk library included — goes through the
 * counters below; drivers and libc calling themselves are not counted. Not built under the
 * sanitizers (they own malloc).
 *
 * Four greedy requests decode 100 steps after a warm-up of 20; the test fails on any allocation
 * in those 100 steps and prints each call site with its count (an address inside this executable:
 * `addr2line -f -i -e test_portability_step_allocs ADDR` names the function and line).
 */
#include <dlfcn.h>

#include "port_helpers.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

/* Distinct call sites with their counts; only the step thread allocates while counting is on. */
#define MAX_SITES 32
static volatile int counting;
static unsigned long counted;
static void *sites[MAX_SITES];
static unsigned long site_count[MAX_SITES];
static unsigned n_sites;

static void note(void *site) {
  if (!counting) return;
  __atomic_fetch_add(&counted, 1, __ATOMIC_RELAXED);
  for (unsigned i = 0; i < n_sites; i++)
    if (sites[i] == site) {
      site_count[i]++;
      return;
    }
  if (n_sites < MAX_SITES) {
    sites[n_sites] = site;
    site_count[n_sites++] = 1;
  }
}

void *__wrap_malloc(size_t n) {
  note(__builtin_return_address(0));
  return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size) {
  note(__builtin_return_address(0));
  return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n) {
  note(__builtin_return_address(0));
  return __real_realloc(p, n);
}

static void report_sites(void) {
  for (unsigned i = 0; i < n_sites; i++) {
    Dl_info info;
    memset(&info, 0, sizeof info);
    if (dladdr(sites[i], &info) && info.dli_fbase)
      fprintf(stderr, "  %lu from 0x%lx in %s\n", site_count[i],
              (unsigned long)((char *)sites[i] - (char *)info.dli_fbase) - 1, info.dli_fname);
    else
      fprintf(stderr, "  %lu from %p\n", site_count[i], sites[i]);
  }
}

static void on_token(const pagedvk_token_event *ev, void *user) {
  (void)ev;
  (*(unsigned *)user)++;
}

static void test_no_allocations_per_step(void **state) {
  (void)state;
  pagedvk_engine *e = pj_engine("syn-llama-q4k.gguf", 16u << 20, 16);
  if (!e) skip();
  char err[512];
  unsigned tokens[4] = {0};
  /* the wrapper sees its own counter work: it must say 1 for one malloc */
  counting = 1;
  void *volatile probe = malloc(16); /* volatile: the call may not be optimized away */
  counting = 0;
  assert_int_equal(counted, 1);
  free(probe);
  counted = 0;
  n_sites = 0;

  for (int r = 0; r < 4; r++) {
    int32_t prompt[20];
    prompt[0] = 1;
    for (int i = 1; i < 20; i++) prompt[i] = 100 + 37 * r + 11 * i;
    pagedvk_sampling_params sp;
    pagedvk_sampling_params_default(&sp);
    sp.temperature = 0.0f;
    sp.max_tokens = 200;
    sp.ignore_eos = 1;
    assert_int_equal(pagedvk_engine_add_request(e, prompt, 20, &sp, on_token, &tokens[r], NULL, err, sizeof err), 0);
  }
  for (int s = 0; s < 20; s++) assert_true(pagedvk_engine_step(e, err, sizeof err) > 0);
  counting = 1;
  for (int s = 0; s < 100; s++) assert_true(pagedvk_engine_step(e, err, sizeof err) > 0);
  counting = 0;
  for (int r = 0; r < 4; r++) assert_int_equal(tokens[r], 120); /* every step decoded every request */
  unsigned long n = counted;
  if (n) {
    fprintf(stderr, "%lu heap allocations in 100 steps after warm-up:\n", n);
    report_sites();
  }
  pj_run(e);
  pj_finish(e);
  assert_int_equal(n, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_allocations_per_step),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
