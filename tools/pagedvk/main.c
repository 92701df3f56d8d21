/* main.c — `pagedvk <command> [options]`: dispatches to the subcommand files. */
#include <stdio.h>
#include <string.h>

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
    {"tokenize", cmd_tokenize, "print the token ids of a text as a JSON array"},
};

static void usage(FILE *out) {
  fprintf(out, "pagedvk %s — PagedAttention LLM inference on Vulkan compute\n\n", PAGEDVK_VERSION_STRING);
  fprintf(out, "usage: pagedvk <command> [options]   (pagedvk <command> --help for its options)\n\ncommands:\n");
  for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
    fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].help);
}

int main(int argc, char **argv) {
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
