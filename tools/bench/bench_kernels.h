/*
 * bench_kernels.h — the kernel bench as a program entry point, for `pagedvk bench kernels`
 * (tools/pagedvk/cmd_bench.c) and the standalone `bench-kernels` (bench_kernels_main.c). Declares
 * nothing of the library's internals: a caller that includes it needs only this header.
 */
#ifndef PV_BENCH_KERNELS_H
#define PV_BENCH_KERNELS_H

#include <stdio.h>

/* Runs the kernel bench: argv[0] names the command in the usage line ("pagedvk bench kernels"),
 * argv[1..argc) are its options (see --help). Writes the table or JSON to stdout, errors to
 * stderr. Returns the exit status: 0 done (or --help), 1 bad option or failure. */
int pv_bench_kernels_main(int argc, char **argv);

/* What the bench measures and its options, as printed after the usage line by --help. */
void pv_bench_kernels_help(FILE *out);

#endif /* PV_BENCH_KERNELS_H */
