/*
 * cmd_serve.c — `pagedvk serve`: the OpenAI-compatible HTTP server over one engine.
 * SIGINT / SIGTERM stop it in order (pagedvk_server_stop is async-signal-safe) and it exits 0.
 * The served model name is the file's base name without ".gguf" unless --served-model-name.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_opts.h"

#ifdef PAGEDVK_HAVE_SERVER

static pagedvk_server *g_server;

static void on_signal(int sig) {
  (void)sig;
  pagedvk_server_stop(g_server);
}

static void install_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

/* "models/foo.Q4.gguf" → "foo.Q4" */
static char *model_name_of(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  if (n > 5 && !strcmp(base + n - 5, ".gguf")) n -= 5;
  return strndup(base, n);
}

static void help(void) {
  printf("usage: pagedvk serve -m MODEL [--host H] [--port P] [--api-key KEY] [options]\n\n"
         "OpenAI-compatible HTTP server: POST /v1/completions, POST /v1/chat/completions (\"stream\": true\n"
         "for server-sent events), GET /v1/models, GET /health, GET /metrics (Prometheus).\n\n"
         "  --host H                 address to bind (default 127.0.0.1)\n"
         "  --port P                 port (default 8080; 0 = any free port, printed at start)\n"
         "  --api-key KEY            require \"Authorization: Bearer KEY\" on /v1/ routes\n"
         "  --served-model-name N    the name requests give as \"model\" (default: file name without .gguf)\n\n"
         "The sampling options below are the defaults for fields a request leaves out.\n\n");
  cli_chat_opts_help(stdout);
  cli_opts_help(stdout);
}

static bool parse_port(const char *v, uint16_t *port) {
  char *end;
  unsigned long p = strtoul(v, &end, 10);
  if (!*v || *end || p > 65535) return false;
  *port = (uint16_t)p;
  return true;
}

int cmd_serve(int argc, char **argv) {
  cli_opts o;
  cli_opts_default(&o);
  pagedvk_server_options so;
  pagedvk_server_options_default(&so);
  const char *name = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return help(), 0;
    if (!strncmp(a, "--host", 6) && (a[6] == 0 || a[6] == '=')) {
      if (!(so.host = cli_arg_value(argc, argv, &i))) return cli_fail("--host needs a value"), 2;
    } else if (!strncmp(a, "--port", 6) && (a[6] == 0 || a[6] == '=')) {
      if (!(v = cli_arg_value(argc, argv, &i)) || !parse_port(v, &so.port)) return cli_fail("bad --port"), 2;
    } else if (!strncmp(a, "--api-key", 9) && (a[9] == 0 || a[9] == '=')) {
      if (!(so.api_key = cli_arg_value(argc, argv, &i))) return cli_fail("--api-key needs a value"), 2;
    } else if (!strncmp(a, "--served-model-name", 19) && (a[19] == 0 || a[19] == '=')) {
      if (!(name = cli_arg_value(argc, argv, &i))) return cli_fail("--served-model-name needs a value"), 2;
    } else {
      int rc = cli_chat_opts_parse(&o, argc, argv, &i);
      if (rc == 0) rc = cli_opts_parse(&o, argc, argv, &i);
      if (rc < 0) return 2;
      if (rc == 0) return cli_fail("serve: unknown option '%s' (see --help)", a), 2;
    }
  }
  if (!o.engine.model_path) return cli_fail("serve needs -m MODEL.gguf"), 2;
  char *derived = name ? NULL : model_name_of(o.engine.model_path);
  so.model_name = name ? name : derived;
  o.sampling.n_stop = 0;
  so.defaults = &o.sampling;
  so.log = stderr;

  pagedvk_engine *e = NULL;
  if (cli_engine_create(&e, &o)) return free(derived), 1;
  char err[512];
  int rc = pagedvk_server_create(&g_server, e, &so, err, sizeof err);
  if (rc) {
    cli_fail("%s", err);
  } else {
    install_signals();
    rc = pagedvk_server_run(g_server, err, sizeof err);
    if (rc) cli_fail("%s", err);
    sigset_t block; /* no handler may see the server once it is gone */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, NULL);
    pagedvk_server *s = g_server;
    g_server = NULL;
    pagedvk_server_destroy(s);
  }
  pagedvk_engine_destroy(e);
  free(derived);
  return rc ? 1 : 0;
}

#else

int cmd_serve(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return cli_fail("this pagedvk was built without the server (PAGEDVK_BUILD_SERVER=OFF)");
}

#endif
