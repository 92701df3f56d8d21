/* cli_opts.h — the options that run, chat, serve and bench share: model, engine and sampling.
 * Names follow llama.cpp and vLLM habits where they exist. */
#ifndef PV_CLI_OPTS_H
#define PV_CLI_OPTS_H

#include <stdbool.h>

#include "pagedvk.h"

#define CLI_MAX_STOPS 16

typedef struct cli_opts {
  pagedvk_engine_options engine;
  pagedvk_sampling_params sampling;
  const char *stops[CLI_MAX_STOPS];
  bool quiet;       /* no progress bar */
  /* --chat-template-file FILE / --chat-template NAME (serve, chat, run): the template chats are
   * rendered with instead of the model's own; applied by cli_engine_create. */
  const char *chat_template_file, *chat_template_name;
} cli_opts;

void cli_opts_default(cli_opts *o);

/* Consumes argv[*i] (and its value) when it is a shared option: 1 consumed, 0 not ours,
 * -1 bad value (message printed). */
int cli_opts_parse(cli_opts *o, int argc, char **argv, int *i);

/* The shared options' help text. */
void cli_opts_help(FILE *out);

/* Consumes --chat-template-file FILE and --chat-template NAME (the commands that render chats
 * call it before cli_opts_parse); same return values. */
int cli_chat_opts_parse(cli_opts *o, int argc, char **argv, int *i);
/* Their help text, with the built-in template names. */
void cli_chat_opts_help(FILE *out);

/* Sets the model's chat template from --chat-template-file / --chat-template when given: 0, or 1
 * with the message printed. */
int cli_chat_template_apply(pagedvk_model *m, const cli_opts *o);

/* Creates the engine with a progress bar on stderr while the model loads, then applies
 * cli_chat_template_apply (an unreadable template file fails before the model loads). 0, else the
 * exit status: 2 when --device names no usable device (a usage error), 1 for any other failure. */
int cli_engine_create(pagedvk_engine **e, cli_opts *o);

/* Writes s as a JSON string literal (quotes included). */
void cli_json_string(FILE *out, const char *s, size_t len);

/* Parses "512", "64M", "2G" (bytes). */
bool cli_parse_size(const char *s, unsigned long long *out);

#endif
