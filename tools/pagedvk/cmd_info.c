/* cmd_info.c — `pagedvk info [-m FILE]`: the Vulkan devices, the chosen one and its capabilities
 * and limits; or, with -m, a model's architecture, tokenizer, template and tensors. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int print_model(const char *path) {
  char err[512];
  pagedvk_model *model = NULL;
  if (pagedvk_model_open(&model, path, err, sizeof err) != PAGEDVK_OK) return cli_fail("%s", err);
  pagedvk_model_print_info(model, stdout);
  pagedvk_model_close(model);
  return 0;
}

int cmd_info(int argc, char **argv) {
  const char *model = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: pagedvk info [-m MODEL.gguf]\n\n"
             "Without -m: the Vulkan devices with their indices, the chosen one (--device N|NAME of the other\n"
             "commands, or PAGEDVK_DEVICE=index|name: an index, or a substring of the name) and its capability\n"
             "record and limits, with the effective clamps (PAGEDVK_PROFILE=embedded, PAGEDVK_NO_FP16,\n"
             "PAGEDVK_NO_STORAGE16, PAGEDVK_NO_SUBGROUP, PAGEDVK_NO_UNIFIED).\n"
             "With -m: the model's architecture, hyper-parameters, tokenizer, chat template, tensors with\n"
             "types and shapes, parameter count and bytes per type. The chat template line names its source:\n"
             "gguf (the file's tokenizer.chat_template), fallback:chatml (no template, ChatML tokens in the\n"
             "vocabulary) or none (chats need --chat-template-file FILE or --chat-template NAME).\n"
             "Built-in chat templates:");
      for (const char *const *n = pagedvk_chat_template_builtins(); *n; n++) printf(" %s", *n);
      printf("\n");
      return 0;
    }
    if (!strcmp(argv[i], "-m") || !strncmp(argv[i], "--model", 7)) {
      if (!(model = cli_arg_value(argc, argv, &i))) return cli_fail("-m needs a file");
      continue;
    }
    return cli_fail("info: unknown option '%s' (see --help)", argv[i]);
  }
  if (model) return print_model(model);
  char err[512];
  if (pagedvk_print_devices(stdout, err, sizeof err) != PAGEDVK_OK) return cli_fail("%s", err);
  return 0;
}
