/* shared_paths.h — where tests find their models (made by mkmodel into the build), the outside
 * oracles in ../shared (llama.cpp's outputs, real vocabularies and templates), and the build. */
#ifndef PV_SHARED_PATHS_H
#define PV_SHARED_PATHS_H
#include <stdbool.h>
#include <stddef.h>

/* Writes the path of test model `name` ("syn-llama-q4k.gguf"), which the ctest fixture `models`
 * made with mkmodel (tests/make_models.cmake) in PV_TEST_MODELS_DIR, into buf. A missing model
 * fails the test (cmocka fail_msg): it is never a reason to skip. */
void pv_test_model_path(char *buf, size_t size, const char *name);

/* For comparisons with outside oracles only. Writes PV_SHARED_DIR "/" rel (env PAGEDVK_SHARED_DIR
 * overrides the folder) into buf; when the file is absent returns false and prints what is
 * skipped ("skip: no ../shared/REL (outside oracle)") on stdout, and the caller skips. */
bool pv_test_shared_path(char *buf, size_t size, const char *rel);
/* Reads a whole file into a malloc'd NUL-terminated buffer (NULL when missing). */
char *pv_test_read_file(const char *path, size_t *len);

#endif
