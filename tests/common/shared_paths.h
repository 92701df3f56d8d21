/* test_paths.h — where tests find ../shared (models, oracles, vocabularies) and the build. */
#ifndef PV_SHARED_PATHS_H
#define PV_SHARED_PATHS_H
#include <stdbool.h>
#include <stddef.h>

/* Writes PV_SHARED_DIR "/" rel into buf; returns false (the caller then skips) when absent. */
bool pv_test_shared_path(char *buf, size_t size, const char *rel);
/* Reads a whole file into a malloc'd NUL-terminated buffer (NULL when missing). */
char *pv_test_read_file(const char *path, size_t *len);

#endif
