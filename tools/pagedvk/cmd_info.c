/* cmd_info.c — `pagedvk info`: the Vulkan devices, the chosen one and its capabilities and limits.
 * (Model metadata, `info -m FILE`, comes with pagedvk_model_open.) */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_info(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: pagedvk info\n\n"
             "The Vulkan devices, the chosen one (PAGEDVK_DEVICE=index|name) and its capability\n"
             "record and limits, with the effective clamps (PAGEDVK_PROFILE=embedded, PAGEDVK_NO_FP16,\n"
             "PAGEDVK_NO_STORAGE16, PAGEDVK_NO_SUBGROUP, PAGEDVK_NO_UNIFIED).\n");
      return 0;
    }
    return cli_fail("info: unknown option '%s' (see --help)", argv[i]);
  }
  char err[512];
  if (pagedvk_print_devices(stdout, err, sizeof err) != PAGEDVK_OK) return cli_fail("%s", err);
  return 0;
}
