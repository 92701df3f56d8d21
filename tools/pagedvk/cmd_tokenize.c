/* cmd_tokenize.c — `pagedvk tokenize -m FILE -p TEXT [--no-bos] [--parse-special]`: prints the
 * prompt's token ids as a JSON array on one line. BOS comes first when the model's vocabulary
 * asks for it (tokenizer.ggml.add_bos_token or its tokenizer's default); --no-bos never adds it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void tokenize_usage(FILE *out) {
  fprintf(out,
          "usage: pagedvk tokenize -m FILE -p TEXT [--no-bos] [--parse-special]\n\n"
          "Prints the token ids of TEXT as a JSON array, e.g. [1, 15043, 3186].\n\n"
          "  -m, --model FILE     GGUF model or vocabulary-only GGUF\n"
          "  -p, --prompt TEXT    text to tokenize\n"
          "      --no-bos         do not add the BOS token (added by default when the model wants it)\n"
          "      --parse-special  turn text such as <|im_start|> or <s> into its special token\n"
          "  -h, --help           this help\n");
}

typedef struct tokenize_opts {
  const char *model, *prompt;
  int add_bos, parse_special;
} tokenize_opts;

/* Returns -1 when the options are fine, else the exit status. */
static int parse_opts(int argc, char **argv, tokenize_opts *o) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      tokenize_usage(stdout);
      return 0;
    } else if (!strcmp(a, "-m") || !strcmp(a, "--model") || !strncmp(a, "--model=", 8)) {
      if (!(o->model = cli_arg_value(argc, argv, &i))) return cli_fail("tokenize: %s needs a file", a);
    } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt") || !strncmp(a, "--prompt=", 9)) {
      if (!(o->prompt = cli_arg_value(argc, argv, &i))) return cli_fail("tokenize: %s needs a text", a);
    } else if (!strcmp(a, "--no-bos")) {
      o->add_bos = 0;
    } else if (!strcmp(a, "--parse-special")) {
      o->parse_special = 1;
    } else {
      tokenize_usage(stderr);
      return cli_fail("tokenize: unknown option '%s'", a);
    }
  }
  if (!o->model || !o->prompt) {
    tokenize_usage(stderr);
    return cli_fail("tokenize: -m FILE and -p TEXT are required");
  }
  return -1;
}

static int print_ids(const pagedvk_model *model, const tokenize_opts *o) {
  char err[512];
  size_t n = 0;
  int rc = pagedvk_tokenize(model, o->prompt, o->add_bos, o->parse_special, NULL, 0, &n, err, sizeof err);
  if (rc && rc != PAGEDVK_ERR_TOO_LONG) return cli_fail("tokenize: %s", err);
  int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
  if (!ids) return cli_fail("tokenize: out of memory");
  rc = pagedvk_tokenize(model, o->prompt, o->add_bos, o->parse_special, ids, n, &n, err, sizeof err);
  if (rc) {
    free(ids);
    return cli_fail("tokenize: %s", err);
  }
  putchar('[');
  for (size_t i = 0; i < n; i++) printf(i ? ", %d" : "%d", ids[i]);
  puts("]");
  free(ids);
  return 0;
}

int cmd_tokenize(int argc, char **argv) {
  tokenize_opts o = {NULL, NULL, 1, 0};
  int status = parse_opts(argc, argv, &o);
  if (status >= 0) return status;
  pagedvk_model *model;
  char err[512];
  if (pagedvk_model_open(&model, o.model, err, sizeof err)) return cli_fail("%s", err);
  status = print_ids(model, &o);
  pagedvk_model_close(model);
  return status;
}
