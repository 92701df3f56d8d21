/* cli_util.c — small option-parsing helpers shared by the subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char *cli_arg_value(int argc, char **argv, int *i) {
  const char *eq = strchr(argv[*i], '=');
  if (eq && argv[*i][0] == '-' && argv[*i][1] == '-') return eq + 1;
  if (*i + 1 >= argc) return NULL;
  return argv[++*i];
}

int cli_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("pagedvk: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}
