/* cli_opts.c — shared option parsing, progress bar and JSON output for the subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_opts.h"

void cli_opts_default(cli_opts *o) {
  memset(o, 0, sizeof *o);
  pagedvk_engine_options_default(&o->engine);
  pagedvk_sampling_params_default(&o->sampling);
  o->sampling.stop = o->stops;
}

bool cli_parse_size(const char *s, unsigned long long *out) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || v < 0) return false;
  switch (*end) {
    case 'k': case 'K': v *= 1024.0; end++; break;
    case 'm': case 'M': v *= 1048576.0; end++; break;
    case 'g': case 'G': v *= 1073741824.0; end++; break;
    default: break;
  }
  if (*end == 'i' || *end == 'B') end++;
  if (*end == 'B') end++;
  if (*end) return false;
  *out = (unsigned long long)v;
  return true;
}

static bool parse_u32(const char *s, uint32_t *out) {
  char *end;
  unsigned long v = strtoul(s, &end, 10);
  if (!*s || *end || v > 0xffffffffUL) return false;
  *out = (uint32_t)v;
  return true;
}

static bool parse_f(const char *s, float *out) {
  char *end;
  *out = strtof(s, &end);
  return *s && !*end;
}

static bool is(const char *arg, const char *name) {
  size_t n = strlen(name);
  return !strncmp(arg, name, n) && (arg[n] == 0 || arg[n] == '=');
}

#define VALUE()                                                       \
  const char *v = cli_arg_value(argc, argv, i);                       \
  if (!v) {                                                           \
    cli_fail("%s needs a value", a);                                  \
    return -1;                                                        \
  }

#define BAD() (cli_fail("bad value '%s' for %s", v, a), -1)

static int parse_engine(cli_opts *o, int argc, char **argv, int *i, const char *a) {
  pagedvk_engine_options *e = &o->engine;
  unsigned long long sz;
  if (!strcmp(a, "-m") || is(a, "--model")) { VALUE(); e->model_path = v; return 1; }
  if (is(a, "--device")) { VALUE(); e->device = v; return 1; }
  if (is(a, "--kv-mem")) { VALUE(); if (!cli_parse_size(v, &sz)) return BAD(); e->kv_mem = sz; return 1; }
  if (is(a, "--swap-mem")) { VALUE(); if (!cli_parse_size(v, &sz)) return BAD(); e->swap_mem = sz; return 1; }
  if (is(a, "--block-size")) { VALUE(); return parse_u32(v, &e->block_size) ? 1 : BAD(); }
  if (is(a, "--max-num-seqs")) { VALUE(); return parse_u32(v, &e->max_num_seqs) ? 1 : BAD(); }
  if (is(a, "--max-num-batched-tokens")) { VALUE(); return parse_u32(v, &e->max_num_batched_tokens) ? 1 : BAD(); }
  if (!strcmp(a, "-c") || is(a, "--ctx-size") || is(a, "--max-model-len")) { VALUE(); return parse_u32(v, &e->max_model_len) ? 1 : BAD(); }
  if (is(a, "--kv-layout")) {
    VALUE();
    if (!strcmp(v, "paged")) e->kv_layout = PAGEDVK_KV_PAGED;
    else if (!strcmp(v, "contiguous")) e->kv_layout = PAGEDVK_KV_CONTIGUOUS;
    else return BAD();
    return 1;
  }
  if (is(a, "--preempt")) {
    VALUE();
    if (!strcmp(v, "recompute")) e->preempt = PAGEDVK_PREEMPT_RECOMPUTE;
    else if (!strcmp(v, "swap")) e->preempt = PAGEDVK_PREEMPT_SWAP;
    else return BAD();
    return 1;
  }
  if (!strcmp(a, "--no-prefix-cache")) { e->prefix_cache = 0; return 1; }
  if (!strcmp(a, "--kv-f32")) { e->kv_type = PAGEDVK_KV_F32; return 1; }
  if (is(a, "--kv-type")) {
    VALUE();
    return pagedvk_kv_type_parse(v, &e->kv_type) == 0 ? 1 : BAD();
  }
  if (!strcmp(a, "--priority")) { e->priority_scheduling = 1; return 1; }
  if (!strcmp(a, "--no-warmup")) { e->warmup = 0; return 1; }
  return 0;
}

static int parse_sampling(cli_opts *o, int argc, char **argv, int *i, const char *a) {
  pagedvk_sampling_params *s = &o->sampling;
  if (!strcmp(a, "-n") || is(a, "--n-predict") || is(a, "--max-tokens")) { VALUE(); return parse_u32(v, &s->max_tokens) ? 1 : BAD(); }
  if (is(a, "--temp") || is(a, "--temperature")) { VALUE(); return parse_f(v, &s->temperature) ? 1 : BAD(); }
  if (is(a, "--top-k")) { VALUE(); uint32_t k; if (!parse_u32(v, &k)) return BAD(); s->top_k = (int32_t)k; return 1; }
  if (is(a, "--top-p")) { VALUE(); return parse_f(v, &s->top_p) ? 1 : BAD(); }
  if (is(a, "--min-p")) { VALUE(); return parse_f(v, &s->min_p) ? 1 : BAD(); }
  if (is(a, "--repeat-penalty")) { VALUE(); return parse_f(v, &s->repetition_penalty) ? 1 : BAD(); }
  if (is(a, "--presence-penalty")) { VALUE(); return parse_f(v, &s->presence_penalty) ? 1 : BAD(); }
  if (is(a, "--frequency-penalty")) { VALUE(); return parse_f(v, &s->frequency_penalty) ? 1 : BAD(); }
  if (is(a, "--seed")) {
    VALUE();
    char *end;
    s->seed = strtoull(v, &end, 10);
    if (!*v || *end) return BAD();
    s->has_seed = 1;
    return 1;
  }
  if (is(a, "--samples")) { VALUE(); return parse_u32(v, &s->n) && s->n ? 1 : BAD(); }
  if (is(a, "--beam")) { VALUE(); return parse_u32(v, &s->beam_width) ? 1 : BAD(); }
  if (is(a, "--length-penalty")) { VALUE(); return parse_f(v, &s->length_penalty) ? 1 : BAD(); }
  if (is(a, "--logprobs")) { VALUE(); return parse_u32(v, &s->logprobs) ? 1 : BAD(); }
  if (!strcmp(a, "--ignore-eos")) { s->ignore_eos = 1; return 1; }
  if (is(a, "--stop")) {
    VALUE();
    if (s->n_stop == CLI_MAX_STOPS) return cli_fail("at most %d --stop strings", CLI_MAX_STOPS), -1;
    o->stops[s->n_stop++] = v;
    return 1;
  }
  return 0;
}

int cli_opts_parse(cli_opts *o, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
    o->quiet = true;
    return 1;
  }
  int rc = parse_engine(o, argc, argv, i, a);
  return rc ? rc : parse_sampling(o, argc, argv, i, a);
}

void cli_opts_help(FILE *out) {
  fprintf(out,
          "model and engine:\n"
          "  -m, --model FILE              GGUF model\n"
          "  --device N|NAME               Vulkan device (default: PAGEDVK_DEVICE or the best one)\n"
          "  --kv-mem BYTES                KV pool size (e.g. 512M; default: half the device memory)\n"
          "  --block-size N                tokens per KV block: 8, 16, 32, 64 (default 16)\n"
          "  --max-num-seqs N              sequences per step (default 64)\n"
          "  --max-num-batched-tokens N    tokens per step (default 512)\n"
          "  -c, --ctx-size N              longest prompt + output (default: the model's)\n"
          "  --kv-layout paged|contiguous  contiguous = reserve ctx-size per sequence (baseline)\n"
          "  --preempt recompute|swap      what to do when blocks run out (default recompute)\n"
          "  --swap-mem BYTES              host swap space for --preempt swap (default 256M)\n"
          "  --no-prefix-cache             do not reuse the KV blocks of identical prefixes\n"
          "  --kv-type f16|f32|q8_0        K/V element type (default f16); q8_0: 8-bit blocks of 32 with an\n"
          "                                f16 scale, ~1.9x the tokens per byte (head size a multiple of 32)\n"
          "  --kv-f32                      the same as --kv-type f32\n"
          "  --priority                    schedule by priority, then arrival\n"
          "  --no-warmup                   create each shader pipeline on first use, not at start\n"
          "sampling:\n"
          "  -n, --max-tokens N            tokens to generate (default 256)\n"
          "  --temp T                      temperature; 0 = greedy (default 0.8)\n"
          "  --top-k K, --top-p P, --min-p P\n"
          "  --repeat-penalty R, --presence-penalty P, --frequency-penalty F\n"
          "  --seed S                      the same seed gives the same text\n"
          "  --samples N                   parallel samples sharing the prompt's KV blocks\n"
          "  --beam W                      beam search of width W (--length-penalty L)\n"
          "  --stop STR                    stop string (repeatable); --ignore-eos\n"
          "  --logprobs N                  top-N log-probabilities per token\n"
          "  -q, --quiet                   no progress bar\n");
}

static void progress(double f, void *user) {
  (void)user;
  int w = 40, done = (int)(f * w + 0.5);
  fprintf(stderr, "\rloading [%.*s%*s] %3d%%", done, "########################################", w - done, "",
          (int)(f * 100 + 0.5));
  if (f >= 1.0) fputc('\n', stderr);
}

int cli_chat_opts_parse(cli_opts *o, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  if (is(a, "--chat-template-file")) {
    VALUE();
    o->chat_template_file = v;
    return 1;
  }
  if (is(a, "--chat-template")) {
    VALUE();
    o->chat_template_name = v;
    return 1;
  }
  return 0;
}

void cli_chat_opts_help(FILE *out) {
  fprintf(out, "chat template (chats are rendered by the model's Jinja tokenizer.chat_template by default):\n"
               "  --chat-template-file FILE     render chats with the Jinja template in FILE instead\n"
               "  --chat-template NAME          or with a built-in template:");
  for (const char *const *n = pagedvk_chat_template_builtins(); *n; n++) fprintf(out, " %s", *n);
  fprintf(out, "\n");
}

/* The whole file, NUL-terminated; NULL (message printed) when it cannot be read. */
static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return cli_fail("--chat-template-file %s: cannot open", path), NULL;
  char *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n + 4096 + 1 > cap) {
      char *p = realloc(buf, cap = (n + 4096 + 1) * 2);
      if (!p) break;
      buf = p;
    }
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (got == 0) break;
  }
  bool ok = buf && !ferror(f);
  fclose(f);
  if (!ok) return free(buf), cli_fail("--chat-template-file %s: cannot read", path), NULL;
  buf[n] = 0;
  *len = n;
  return buf;
}

int cli_chat_template_apply(pagedvk_model *m, const cli_opts *o) {
  char err[512];
  if (o->chat_template_file && o->chat_template_name)
    return cli_fail("give --chat-template-file or --chat-template, not both");
  if (!o->chat_template_file && !o->chat_template_name) return 0;
  size_t len = 0;
  char *text = NULL;
  if (o->chat_template_file && !(text = read_file(o->chat_template_file, &len))) return 1;
  int rc = pagedvk_model_set_chat_template(m, text, len, text ? o->chat_template_file : o->chat_template_name, err,
                                           sizeof err);
  free(text);
  return rc ? cli_fail("%s", err) : 0;
}

int cli_engine_create(pagedvk_engine **e, cli_opts *o) {
  char err[512];
  if (!o->engine.model_path) return cli_fail("no model: pass -m FILE.gguf");
  if (o->chat_template_file && access(o->chat_template_file, R_OK)) /* before minutes of loading */
    return cli_fail("--chat-template-file %s: cannot read", o->chat_template_file);
  if (!o->quiet && isatty(2)) o->engine.progress = progress;
  int rc = pagedvk_engine_create(e, &o->engine, err, sizeof err);
  if (rc == PAGEDVK_ERR_NO_DEVICE && o->engine.device) return cli_fail("--device: %s", err), 2; /* a usage error */
  if (rc != PAGEDVK_OK) return cli_fail("%s", err);
  if (!cli_chat_template_apply(pagedvk_engine_model(*e), o)) return 0;
  pagedvk_engine_destroy(*e);
  *e = NULL;
  return 1;
}

void cli_json_string(FILE *out, const char *s, size_t len) {
  fputc('"', out);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
    else if (c == '\n') fputs("\\n", out);
    else if (c == '\r') fputs("\\r", out);
    else if (c == '\t') fputs("\\t", out);
    else if (c < 0x20) fprintf(out, "\\u%04x", c);
    else fputc(c, out);
  }
  fputc('"', out);
}
