/* cli.h — the pagedvk command-line tool: one file per subcommand, each `int cmd_NAME(argc, argv)`
 * returning the process exit status. Uses only include/pagedvk.h. */
#ifndef PV_CLI_H
#define PV_CLI_H

#include "pagedvk.h"

int cmd_bench(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_run(int argc, char **argv);
/* bench_scenarios.c: argv[0] = scenario name (see the contract at the top of that file). */
int cmd_bench_scenario(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_template(int argc, char **argv);

/* Shared option helpers (cli_util.c). */
const char *cli_arg_value(int argc, char **argv, int *i); /* value of argv[*i] (--opt=v or --opt v) */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* prints, returns 1 */

#endif
