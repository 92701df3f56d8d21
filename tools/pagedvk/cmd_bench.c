/* cmd_bench.c — `pagedvk bench kernels [--json] [--quick] [--runs N]`: each model kernel timed on
 * the device by the kernel bench (tools/bench, called with this command's own argv), next to the
 * device's copy bandwidth; every other `pagedvk bench SCENARIO` is an end-to-end scenario of
 * bench_scenarios.c. */
#include <stdio.h>
#include <string.h>

#include "bench_kernels.h"
#include "cli.h"

static void usage(void) {
  printf("usage: pagedvk bench kernels [--json] [--quick] [--runs N]\n"
         "       pagedvk bench SCENARIO --help   (mixed, concurrency, sharing, block-size, prefix, window, roofline, demo)\n\n");
  pv_bench_kernels_help(stdout);
}

int cmd_bench(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage();
    return argc < 2 ? 1 : 0;
  }
  if (strcmp(argv[1], "kernels")) return cmd_bench_scenario(argc - 1, argv + 1);
  static char prog[] = "pagedvk bench kernels";
  argv[1] = prog; /* the bench's argv[0]: its name in the usage line */
  return pv_bench_kernels_main(argc - 1, argv + 1);
}
