/* bench_kernels_main.c — `build/bench-kernels`: the kernel bench of bench_kernels.c as its own
 * program (the same as `pagedvk bench kernels`). */
#include "bench_kernels.h"

int main(int argc, char **argv) { return pv_bench_kernels_main(argc, argv); }
