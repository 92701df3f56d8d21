/* mkmodel_tmp.c — see mkmodel_tmp.h. */
#define _XOPEN_SOURCE 700
#include "mkmodel_tmp.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];

int pv_tmpdir_setup(const char *tag) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/pv_%s_XXXXXX", tag);
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

int pv_tmpdir_teardown(void) {
  if (!tmpdir[0]) return 0;
  return nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

const char *pv_tmpdir(void) { return tmpdir; }

int pv_test_mkmodel(const char *args, const char *out, char *path, size_t size) {
  char bin[512], cmd[4096];
  snprintf(bin, sizeof bin, "%s/mkmodel", PV_BINARY_DIR);
  if (access(bin, X_OK) != 0) return -1;
  snprintf(path, size, "%s/%s", tmpdir, out);
  snprintf(cmd, sizeof cmd, "'%s' %s -o '%s' >/dev/null 2>&1", bin, args, path);
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}
