/*
 * fuzz_common.h — what the libFuzzer targets share: where their test model lies (made at build
 * time by mkmodel, tests/make_models.cmake, into PV_FUZZ_MODELS_DIR) and where the outside
 * oracles of ../shared lie (env PAGEDVK_SHARED_DIR, else the ../shared beside the checkout
 * compiled in as PV_SHARED_DIR; optional).
 */
#ifndef PV_FUZZ_COMMON_H
#define PV_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#ifndef PV_SHARED_DIR
#define PV_SHARED_DIR "../shared"
#endif
#ifndef PV_FUZZ_MODELS_DIR
#error "PV_FUZZ_MODELS_DIR: the folder of the test models (tests/fuzz/CMakeLists.txt)"
#endif

static inline void fuzz_shared_path(char *out, size_t cap, const char *rel) {
  const char *dir = getenv("PAGEDVK_SHARED_DIR");
  snprintf(out, cap, "%s/%s", dir && *dir ? dir : PV_SHARED_DIR, rel);
}

static inline void fuzz_model_path(char *out, size_t cap, const char *name) {
  snprintf(out, cap, "%s/%s", PV_FUZZ_MODELS_DIR, name);
}

#endif
