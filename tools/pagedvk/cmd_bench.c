/* cmd_bench.c — `pagedvk bench kernels [--json] [--quick] [--runs N]`: each model kernel timed on
 * the device (pagedvk_bench_kernels), next to the device's copy bandwidth; every other
 * `pagedvk bench SCENARIO` is an end-to-end scenario of bench_scenarios.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(void) {
  printf("usage: pagedvk bench kernels [--json] [--quick] [--runs N]\n"
         "       pagedvk bench SCENARIO --help   (mixed, concurrency, sharing, block-size, prefix, roofline, demo)\n\n"
         "Times each model kernel on the chosen device (PAGEDVK_DEVICE=index|name) with timestamp\n"
         "queries: matmul for every weight type at 2048x2048 (decode M=1, prefill M=64), paged\n"
         "attention decode at contexts 512 and 2048 for block sizes 8/16/32/64, rope_kv and rmsnorm.\n"
         "Prints the median time of N runs (default 5; --quick: 3 runs of a few shapes), the GB/s the\n"
         "kernel reads and its GFLOP/s, next to the copy bandwidth (vkCmdCopyBuffer).\n"
         "  --json     one JSON object instead of the table\n"
         "  --quick    f16, q8_0, q4_k decode matmul and one attention shape only\n"
         "  --runs N   timed runs per kernel (1..64)\n"
         "  --filter NAME   only the kernels whose name contains NAME (matmul, attention, ...)\n"
         "  --wg N, --mm-rows N, --mm-ntok N   tuning: invocations per workgroup (power of two),\n"
         "             matmul output rows and tokens per workgroup (defaults: the library's)\n"
         "  --mm-shape K,N,M   one matmul shape (inner size, rows, tokens) instead of 2048x2048 M=1/64\n"
         "  --type NAME   one weight type only (f32, f16, q4_k, ...)\n");
}

int cmd_bench(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage();
    return argc < 2 ? 1 : 0;
  }
  if (strcmp(argv[1], "kernels")) return cmd_bench_scenario(argc - 1, argv + 1);
  char options[256] = "";
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    size_t used = strlen(options);
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage();
      return 0;
    } else if (!strcmp(a, "--json") || !strcmp(a, "--quick")) {
      snprintf(options + used, sizeof options - used, " %s", a);
    } else if (!strncmp(a, "--runs", 6) || !strncmp(a, "--filter", 8) || !strncmp(a, "--wg", 4) || !strncmp(a, "--mm-rows", 9) ||
               !strncmp(a, "--mm-ntok", 9) || !strncmp(a, "--mm-shape", 10) || !strncmp(a, "--type", 6)) {
      size_t name_len = strcspn(a, "=");
      const char *v = cli_arg_value(argc, argv, &i);
      if (!v) return cli_fail("bench: %.*s needs a value", (int)name_len, a);
      snprintf(options + used, sizeof options - used, " %.*s=%s", (int)name_len, a, v);
    } else {
      return cli_fail("bench: unknown option '%s' (see --help)", a);
    }
  }
  char err[512];
  if (pagedvk_bench_kernels(stdout, options, err, sizeof err) != PAGEDVK_OK) return cli_fail("%s", err);
  return 0;
}
