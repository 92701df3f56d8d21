/*
 * cmd_serve.c — `pagedvk serve`: the OpenAI-compatible HTTP server over one engine.
 * It listens before the model loads (GET /health: 503 "loading" until the engine is ready; GET
 * /health/live: 200). The first SIGINT / SIGTERM drains (new requests 503, running ones finish
 * within --drain-timeout), a second one stops at once (pagedvk_server_stop is async-signal-safe);
 * either way it exits 0.
 * The served model name is the file's base name without ".gguf" unless --served-model-name.
 * The API key comes from --api-key, else --api-key-file, else PAGEDVK_API_KEY; an empty one is
 * an error (an unset shell variable in `--api-key "$KEY"` must not turn authentication off).
 */
#include <errno.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_opts.h"

#ifdef PAGEDVK_HAVE_SERVER

static pagedvk_server *g_server;

/* One line while the model loads (its port: with --port 0 a supervisor can probe before "listening
 * on", which comes once the engine is ready). */
static void srv_note_loading(pagedvk_server *s) {
  fprintf(stderr, "pagedvk serve: loading the model; /health answers 503 until it is ready (port %u)\n",
          pagedvk_server_port(s));
}

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
         "for server-sent events), GET /v1/models, GET /health, GET /metrics (Prometheus); HEAD where GET.\n\n"
         "  --host H                 address to bind (default 127.0.0.1; beyond loopback without a key: a warning)\n"
         "  --port P                 port (default 8080; 0 = any free port, printed at start)\n"
         "  --api-key KEY            require \"Authorization: Bearer KEY\" on /v1/ routes and /metrics (not empty)\n"
         "  --api-key-file FILE      the key from FILE's first line (else $PAGEDVK_API_KEY, when set)\n"
         "  --metrics-no-auth        with a key: leave GET /metrics open\n"
         "  --served-model-name N    the name requests give as \"model\" (default: file name without .gguf)\n"
         "  --cors-origin ORIGIN     answer CORS preflights and allow browser calls from ORIGIN\n"
         "                           (scheme://host[:port], or * for any); repeatable or comma-separated; default off\n"
         "  --max-connections N      open connections at once (default 1000)\n"
         "  --max-connections-per-client N  from one client address (default 256; behind a proxy every client\n"
         "                           is the proxy: raise it)\n"
         "  --max-pending-requests N generation requests in progress at once (default 256); more get 503\n"
         "                           with Retry-After\n"
         "  --header-timeout S       a request's headers and body must arrive within S seconds of the\n"
         "                           connection opening or the previous response ending (default 15)\n"
         "  --write-timeout S        drop a client that takes no byte of its response for S seconds\n"
         "                           (default 60; generating does not count)\n"
         "  --max-body-bytes N       larger request bodies get 413 (default 8388608)\n"
         "  --drain-timeout S        on SIGTERM/SIGINT: /health and new requests get 503, running requests\n"
         "                           have S seconds to finish before they end with an error (default 20;\n"
         "                           0: end them at once); a second signal ends the drain\n"
         "  --reasoning-format F     chat answers of thinking models (<think> blocks, gpt-oss channels):\n"
         "                           split (default: the thinking in message.reasoning_content) or none\n"
         "                           (all text in content); a request's \"reasoning_format\" overrides it\n\n"
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

static bool parse_count(const char *v, unsigned *out) {
  char *end;
  errno = 0;
  unsigned long n = v ? strtoul(v, &end, 10) : 0;
  if (!v || !*v || *end || *v == '-' || errno || n == 0 || n > UINT_MAX) return false;
  *out = (unsigned)n;
  return true;
}

/* --opt or --opt=value */
static bool is_opt(const char *a, const char *name) {
  size_t n = strlen(name);
  return !strncmp(a, name, n) && (a[n] == 0 || a[n] == '=');
}

/* The first line of FILE, without its line end: a heap string, or NULL with the error printed. */
static char *read_key_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return cli_fail("--api-key-file %s: %s", path, strerror(errno)), NULL;
  char buf[4096];
  bool got = fgets(buf, sizeof buf, f) != NULL;
  fclose(f);
  size_t n = got ? strcspn(buf, "\r\n") : 0;
  if (n == sizeof buf - 1) return cli_fail("--api-key-file %s: the key is longer than %zu bytes", path, n), NULL;
  buf[n] = 0;
  if (!n) return cli_fail("--api-key-file %s: the first line is empty", path), NULL;
  return strdup(buf);
}

/* Appends ORIGIN (or a comma list) to *list. */
static bool add_cors(char **list, const char *v) {
  size_t old = *list ? strlen(*list) : 0, n = strlen(v);
  char *p = realloc(*list, old + n + 2);
  if (!p) return false;
  if (old) p[old++] = ',';
  memcpy(p + old, v, n + 1);
  *list = p;
  return true;
}

int cmd_serve(int argc, char **argv) {
#ifdef __GLIBC__
  /* Before any thread: one malloc arena. With a thread per connection glibc would give threads
   * arenas of their own, and part of what a burst of big requests freed there stays mapped (the
   * server's malloc_trim once idle does not shrink other arenas' heaps; with 2 arenas 40-60 MiB
   * stayed in one run of three). With one, VmRSS comes back to its value before the burst:
   * tests/reliability/test_memory_return.sh. Small allocations still go through per-thread caches. */
  mallopt(M_ARENA_MAX, 1);
#endif
  cli_opts o;
  cli_opts_default(&o);
  pagedvk_server_options so;
  pagedvk_server_options_default(&so);
  const char *name = NULL, *key_file = NULL;
  char *cors = NULL;
  int bad = 0;
  for (int i = 1; i < argc && !bad; i++) {
    const char *a = argv[i], *v;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return free(cors), help(), 0;
    if (!strncmp(a, "--host", 6) && (a[6] == 0 || a[6] == '=')) {
      if (!(so.host = cli_arg_value(argc, argv, &i))) return cli_fail("--host needs a value"), 2;
    } else if (!strncmp(a, "--port", 6) && (a[6] == 0 || a[6] == '=')) {
      if (!(v = cli_arg_value(argc, argv, &i)) || !parse_port(v, &so.port)) return cli_fail("bad --port"), 2;
    } else if (is_opt(a, "--api-key")) {
      if (!(so.api_key = cli_arg_value(argc, argv, &i))) bad = cli_fail("--api-key needs a value");
      else if (!*so.api_key) bad = cli_fail("--api-key is empty (an unset variable?): refusing to serve without one");
    } else if (is_opt(a, "--api-key-file")) {
      if (!(key_file = cli_arg_value(argc, argv, &i))) bad = cli_fail("--api-key-file needs a value");
    } else if (!strcmp(a, "--metrics-no-auth")) {
      so.metrics_no_auth = 1;
    } else if (is_opt(a, "--served-model-name")) {
      if (!(name = cli_arg_value(argc, argv, &i))) bad = cli_fail("--served-model-name needs a value");
    } else if (is_opt(a, "--cors-origin")) {
      if (!(v = cli_arg_value(argc, argv, &i)) || !*v) bad = cli_fail("--cors-origin needs a value");
      else if (!add_cors(&cors, v)) bad = cli_fail("out of memory");
    } else if (is_opt(a, "--max-connections")) {
      if (!parse_count(cli_arg_value(argc, argv, &i), &so.max_connections)) bad = cli_fail("bad --max-connections");
    } else if (is_opt(a, "--max-connections-per-client")) {
      if (!parse_count(cli_arg_value(argc, argv, &i), &so.max_connections_per_client))
        bad = cli_fail("bad --max-connections-per-client");
    } else if (is_opt(a, "--max-pending-requests")) {
      if (!parse_count(cli_arg_value(argc, argv, &i), &so.max_pending_requests))
        bad = cli_fail("bad --max-pending-requests");
    } else if (is_opt(a, "--header-timeout")) {
      if (!parse_count(cli_arg_value(argc, argv, &i), &so.header_timeout_s)) bad = cli_fail("bad --header-timeout");
    } else if (is_opt(a, "--write-timeout")) {
      if (!parse_count(cli_arg_value(argc, argv, &i), &so.write_timeout_s)) bad = cli_fail("bad --write-timeout");
    } else if (is_opt(a, "--drain-timeout")) {
      char *end;
      v = cli_arg_value(argc, argv, &i);
      errno = 0;
      double d = v && *v ? strtod(v, &end) : -1;
      if (!v || !*v || *end || errno || !(d >= 0 && d <= 86400)) bad = cli_fail("bad --drain-timeout (0 to 86400 seconds)");
      else so.drain_timeout_s = d;
    } else if (is_opt(a, "--reasoning-format")) {
      if (!(v = cli_arg_value(argc, argv, &i))) bad = cli_fail("--reasoning-format needs a value: split or none");
      else if (!strcmp(v, "split")) so.reasoning_format = PAGEDVK_REASONING_SPLIT;
      else if (!strcmp(v, "none")) so.reasoning_format = PAGEDVK_REASONING_NONE;
      else bad = cli_fail("bad --reasoning-format '%s': split or none", v);
    } else if (is_opt(a, "--max-body-bytes")) {
      unsigned n;
      if (!parse_count(cli_arg_value(argc, argv, &i), &n)) bad = cli_fail("bad --max-body-bytes");
      else so.max_body_bytes = n;
    } else {
      int rc = cli_chat_opts_parse(&o, argc, argv, &i);
      if (rc == 0) rc = cli_opts_parse(&o, argc, argv, &i);
      if (rc < 0) bad = 1;
      else if (rc == 0) bad = cli_fail("serve: unknown option '%s' (see --help)", a);
    }
  }
  if (!bad && !o.engine.model_path) bad = cli_fail("serve needs -m MODEL.gguf");
  char *file_key = NULL;
  if (!bad && !so.api_key && key_file && !(so.api_key = file_key = read_key_file(key_file))) bad = 1;
  if (!bad && !so.api_key && (so.api_key = pagedvk_env_get("PAGEDVK_API_KEY")) && !*so.api_key)
    bad = cli_fail("PAGEDVK_API_KEY is set but empty: refusing to serve without a key (unset it to serve without one)");
  so.cors_origins = cors;
  if (bad) return free(cors), free(file_key), 2;
  char *derived = name ? NULL : model_name_of(o.engine.model_path);
  so.model_name = name ? name : derived;
  o.sampling.n_stop = 0;
  so.defaults = &o.sampling;
  so.log = stderr;

  /* Listening first: a router or supervisor sees the process alive (/health/live) and not yet
   * ready (/health 503) while the model loads and warms up. */
  char err[512];
  pagedvk_engine *e = NULL;
  int rc = pagedvk_server_create_loading(&g_server, &so, err, sizeof err);
  if (rc) {
    cli_fail("%s", err);
    return free(derived), free(cors), free(file_key), 1;
  }
  srv_note_loading(g_server);
  install_signals();
  int erc = cli_engine_create(&e, &o); /* 2: --device names no device */
  if (erc) rc = erc;
  else if ((rc = pagedvk_server_attach_engine(g_server, e, err, sizeof err))) cli_fail("%s", err);
  if (!rc) {
    rc = pagedvk_server_run(g_server, err, sizeof err);
    if (rc) cli_fail("%s", err);
  }
  sigset_t block; /* no handler may see the server once it is gone */
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, NULL);
  pagedvk_server *s = g_server;
  g_server = NULL;
  pagedvk_server_destroy(s);
  pagedvk_engine_destroy(e);
  free(derived);
  free(cors);
  free(file_key);
  return rc == 2 ? 2 : rc ? 1 : 0;
}

#else

int cmd_serve(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return cli_fail("this pagedvk was built without the server (PAGEDVK_BUILD_SERVER=OFF)");
}

#endif
