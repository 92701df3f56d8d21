#include "shared_paths.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

void pv_test_model_path(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/%s", PV_TEST_MODELS_DIR, name);
  if (access(buf, R_OK) != 0)
    fail_msg("test model %s is missing: the ctest fixture `models` makes it (ctest -R models; tests/make_models.cmake)",
             buf);
}

bool pv_test_shared_path(char *buf, size_t size, const char *rel) {
  const char *dir = getenv("PAGEDVK_SHARED_DIR");
  if (!dir) dir = PV_SHARED_DIR;
  snprintf(buf, size, "%s/%s", dir, rel);
  if (access(buf, R_OK) == 0) return true;
  printf("skip: no %s (an outside oracle from ../shared; this comparison is left out)\n", buf);
  fflush(stdout);
  return false;
}

char *pv_test_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
  fclose(f);
  if (buf) { buf[n] = 0; if (len) *len = (size_t)n; }
  return buf;
}
