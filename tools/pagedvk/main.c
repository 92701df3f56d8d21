/* main.c — `pagedvk <command> [options]`: dispatches to the subcommand files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *help;
} command;

static const command COMMANDS[] = {
    {"bench", cmd_bench, "benchmarks: kernels, mixed, concurrency, sharing, block-size, prefix, roofline, demo"},
    {"chat", cmd_chat, "interactive chat on stdin with the model's chat template, replies streamed"},
    {"info", cmd_info, "Vulkan devices, the chosen one, its capabilities and limits"},
    {"run", cmd_run, "generate text from a prompt or a file of prompts (Vulkan engine or --reference)"},
    {"serve", cmd_serve, "OpenAI-compatible HTTP server (completions, chat, SSE streaming, metrics)"},
    {"template", cmd_template, "render a Jinja chat template for a chat (JSON case) as transformers does"},
    {"tokenize", cmd_tokenize, "print the token ids of a text as a JSON array"},
};

static void usage(FILE *out) {
  fprintf(out, "pagedvk %s — PagedAttention LLM inference on Vulkan compute\n\n", PAGEDVK_VERSION_STRING);
  fprintf(out, "usage: pagedvk <command> [options]   (pagedvk <command> --help for its options)\n\ncommands:\n");
  for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
    fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].help);
}

/* lavapipe (Mesa's CPU Vulkan driver) runs compute on LP_NUM_THREADS worker threads, one per CPU
 * by default, while the submitting thread keeps most of a core busy preparing each dispatch: the
 * workers then share what is left. Twice as many workers as CPUs gets them most of the machine
 * back (2-core machine: batch-1 decode of the 134M Q4_K model 22 -> 43 tokens/s, the mixed bench
 * 1.5-1.8x faster; 3, 6 and 8 threads were slower than 4; docs/KERNELS.md). Set before any Vulkan
 * call, while this process has one thread; a value the user set is kept; other drivers ignore it. */
static void default_lavapipe_threads(void) {
  if (pagedvk_env_get("LP_NUM_THREADS")) return;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1) return;
  char v[24];
  snprintf(v, sizeof v, "%d", cpus * 2 > 16 ? 16 : (int)(cpus * 2));
  setenv("LP_NUM_THREADS", v, 0);
  pagedvk_env_reload();
}

int main(int argc, char **argv) {
  default_lavapipe_threads();
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return argc < 2 ? 1 : 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("pagedvk %s\n", PAGEDVK_VERSION_STRING);
    return 0;
  }
  for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
    if (COMMANDS[i].run && !strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].run(argc - 1, argv + 1);
  fprintf(stderr, "pagedvk: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
