/*
 * mkmodel_tmp.h — a test program's temporary folder, and the built mkmodel (build/mkmodel) writing
 * models into it: for tests that check what mkmodel writes or hand the loader hostile files.
 */
#ifndef PV_TEST_MKMODEL_TMP_H
#define PV_TEST_MKMODEL_TMP_H

#include <stddef.h>

/* cmocka group setup / teardown: makes /tmp/pv_TAG_XXXXXX; removes it with everything in it.
 * 0 or -1. */
int pv_tmpdir_setup(const char *tag);
int pv_tmpdir_teardown(void);
/* The folder pv_tmpdir_setup made. */
const char *pv_tmpdir(void);

/* Runs `mkmodel ARGS -o TMPDIR/OUT` (ARGS is shell text; stdout and stderr dropped); `path` gets
 * the file's path. mkmodel's exit status; -1 when it is not built; 128 when it did not exit. */
int pv_test_mkmodel(const char *args, const char *out, char *path, size_t size);

#endif
