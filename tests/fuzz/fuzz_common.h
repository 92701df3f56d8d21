/*
 * fuzz_common.h — what the libFuzzer targets share: where the shared test data lies
 * (env PAGEDVK_SHARED_DIR, else the ../shared beside the checkout compiled in as PV_SHARED_DIR).
 */
#ifndef PV_FUZZ_COMMON_H
#define PV_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#ifndef PV_SHARED_DIR
#define PV_SHARED_DIR "../shared"
#endif

static inline void fuzz_shared_path(char *out, size_t cap, const char *rel) {
  const char *dir = getenv("PAGEDVK_SHARED_DIR");
  snprintf(out, cap, "%s/%s", dir && *dir ? dir : PV_SHARED_DIR, rel);
}

#endif
