/*
 * bench_scenarios.c — `pagedvk bench <scenario>`: the command that picks an end-to-end scenario,
 * parses its options and loads the model's description. The scenarios (one file each:
 * bench_mixed.c, bench_concurrency.c, bench_sharing.c, bench_block_size.c, bench_prefix.c, bench_window.c,
 * bench_roofline.c, bench_demo.c, bench_grammar.c) drive the engine through include/pagedvk.h only, on the shared
 * harness of bench_harness.c (run loop, timing, medians, JSON), bench_workload.c and bench_model.c.
 *
 * Contract (for whoever wires the `bench` command):
 *   int cmd_bench_scenario(int argc, char **argv);
 *   argv[0] is the scenario name — mixed, concurrency, sharing, block-size, prefix, window, roofline,
 *   demo or grammar — and argv[1..argc) its options (the shared engine options of cli_opts.h plus the bench
 *   options below). It prints a readable table to stdout, or with --json one JSON object
 *   (scenario, model, parameters, per-configuration medians, ratios). Returns the exit status
 *   (0 ok, 1 failure, 2 usage). `pagedvk bench <scenario> --help` lists the options.
 *
 * Measurement rules: at the top of bench_harness.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static bool parse_num(const char *s, double *out) {
  char *end;
  *out = strtod(s, &end);
  return *s && !*end;
}

typedef struct scenario {
  const char *name;
  int (*run)(bench_args *a, const model_facts *f);
  const char *help;
} scenario;

static const scenario SCENARIOS[] = {
    {"mixed", bench_mixed, "long-tailed workload, paged vs contiguous KV at the same --kv-mem"},
    {"concurrency", bench_concurrency, "output tokens/s at --max-num-seqs 1, 2, 4, ... --max-concurrency"},
    {"sharing", bench_sharing, "parallel sampling n=2,4,8 and beam 4: KV blocks shared vs separate requests"},
    {"block-size", bench_block_size, "block size 8/16/32/64 on the mixed workload: attention time and slot waste"},
    {"kv-type", bench_kv_type, "f16 vs q8_0 KV pool on the mixed workload at the same --kv-mem: sequences, tok/s"},
    {"prefix", bench_prefix, "requests sharing a long system prompt: prefix cache on vs off"},
    {"window", bench_window, "long chats on a sliding-window model: KV blocks out of the window freed vs kept"},
    {"roofline", bench_roofline, "decode time per token at batch 1 vs weight bytes / copy bandwidth"},
    {"demo", bench_demo, "the make demo showcase: a burst of 64 mixed requests with a progress bar"},
    {"grammar", bench_grammar, "cost per output token with a JSON grammar vs without, at batch 16 (--requests)"},
};

static void help(FILE *out) {
  fprintf(out, "usage: pagedvk bench <scenario> -m MODEL [options]\n\nscenarios:\n");
  for (size_t i = 0; i < sizeof SCENARIOS / sizeof SCENARIOS[0]; i++)
    fprintf(out, "  %-12s %s\n", SCENARIOS[i].name, SCENARIOS[i].help);
  fprintf(out,
          "\nbench options:\n"
          "  --json                   one JSON object instead of the table\n"
          "  --runs R                 repeat each configuration R times, report medians (default 1)\n"
          "  --requests N             requests (mixed, block-size, prefix, demo: default 64)\n"
          "  --seed S                 workload seed (default 42)\n"
          "  --prompt-median L, --output-median L, --sigma S\n"
          "                           log-normal lengths of the mixed workload (default 96, 64, 0.8)\n"
          "  --min-len L, --max-len L clip lengths to [L, L] (default 8, 1024)\n"
          "  --contig-seqs K          default --kv-mem: room for K contiguous sequences (default 4)\n"
          "  --max-concurrency C      concurrency: largest max-num-seqs (default 128)\n"
          "  --prefix-len L           prefix: system prompt tokens (default 1000)\n"
          "  --prompt-len L, --gen-len L  fixed prompt / output lengths (sharing, concurrency, roofline, prefix, window, grammar)\n\n");
  cli_opts_help(out);
}

int cmd_bench_scenario(int argc, char **argv) {
  if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
    help(stdout);
    return argc < 1 ? 2 : 0;
  }
  const scenario *sc = NULL;
  for (size_t i = 0; i < sizeof SCENARIOS / sizeof SCENARIOS[0]; i++)
    if (!strcmp(argv[0], SCENARIOS[i].name)) sc = &SCENARIOS[i];
  if (!sc) {
    cli_fail("bench: unknown scenario '%s'", argv[0]);
    help(stderr);
    return 2;
  }
  bench_args a;
  memset(&a, 0, sizeof a);
  cli_opts_default(&a.o);
  a.scenario = sc->name;
  a.runs = 1;
  a.seed = 42;
  a.prompt_median = 96;
  a.output_median = 64;
  a.sigma = 0.8;
  a.min_len = 8;
  a.max_len = 1024;
  a.contig_seqs = 4;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *v;
    double d;
#define NUM_OPT(flag, dst, lo)                                                              \
  if (!strcmp(arg, flag) || (!strncmp(arg, flag "=", strlen(flag) + 1))) {                  \
    if (!(v = cli_arg_value(argc, argv, &i)) || !parse_num(v, &d) || d < (lo))              \
      return cli_fail("bad value for %s", flag), 2;                                         \
    dst = d;                                                                                \
    continue;                                                                               \
  }
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      help(stdout);
      return 0;
    }
    if (!strcmp(arg, "--json")) {
      a.json = true;
      continue;
    }
    NUM_OPT("--runs", a.runs, 1)
    NUM_OPT("--requests", a.requests, 1)
    NUM_OPT("--seed", a.seed, 0)
    NUM_OPT("--prompt-median", a.prompt_median, 1)
    NUM_OPT("--output-median", a.output_median, 1)
    NUM_OPT("--sigma", a.sigma, 0)
    NUM_OPT("--min-len", a.min_len, 1)
    NUM_OPT("--max-len", a.max_len, 1)
    NUM_OPT("--contig-seqs", a.contig_seqs, 1)
    NUM_OPT("--max-concurrency", a.max_conc, 1)
    NUM_OPT("--prefix-len", a.prefix_len, 1)
    NUM_OPT("--prompt-len", a.prompt_len, 1)
    NUM_OPT("--gen-len", a.gen_len, 1)
#undef NUM_OPT
    if (!strncmp(arg, "--kv-mem", 8)) a.kv_mem_given = true;
    int rc = cli_opts_parse(&a.o, argc, argv, &i);
    if (rc < 0) return 2;
    if (rc == 0) return cli_fail("bench %s: unknown option '%s' (see --help)", sc->name, arg), 2;
  }
  if (!a.o.engine.model_path) return cli_fail("bench %s needs -m MODEL.gguf", sc->name), 2;
  if (a.min_len > a.max_len) return cli_fail("--min-len is above --max-len"), 2;
  model_facts f;
  if (bench_model_load(a.o.engine.model_path, &f)) return 1;
  a.o.engine.max_model_len = bench_model_len(&f, &a.o.engine);
  return sc->run(&a, &f) ? 1 : 0;
}
