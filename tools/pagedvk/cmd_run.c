/*
 * cmd_run.c — `pagedvk run`: generate from one prompt (-p, text streamed to stdout) or from
 * every line of a file (-f, all submitted at once as concurrent requests). With --json, one JSON
 * object per request, in input order: {"prompt_ids": [...], "ids": [...], "text": "..."}.
 * --reference runs the CPU reference forward pass greedily instead of the Vulkan engine.
 * --chat (implied by --chat-template / --chat-template-file) makes each prompt one user message
 * rendered by the chat template with the assistant's generation prompt; that text is tokenized
 * with control tokens parsed, BOS added only when the template did not write it.
 * --grammar FILE (GBNF), --json-schema FILE or --json-object constrain every sample
 * (docs/GRAMMAR.md); an output cut by max_tokens before the grammar completes says so on stderr
 * (and "grammar_incomplete": true with --json).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_opts.h"

typedef struct sample_out {
  int32_t *ids;
  size_t n, cap;
  char *text;
  size_t len, text_cap;
  pagedvk_finish_reason finish;
  bool grammar_incomplete;
} sample_out;

typedef struct request_out {
  int32_t *prompt;
  size_t n_prompt;
  sample_out *samples; /* n_alloc of them: the samples (or beam hypotheses) the request asked for */
  uint32_t n_alloc;
  uint32_t n_samples;  /* highest index seen + 1 */
  bool stream;        /* print text as it comes (single prompt, no --json) */
  int status;
} request_out;

static void push_id(sample_out *s, int32_t id) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->ids = realloc(s->ids, s->cap * sizeof *s->ids);
  }
  s->ids[s->n++] = id;
}

static void push_text(sample_out *s, const char *t, size_t len) {
  if (s->len + len + 1 > s->text_cap) {
    s->text_cap = (s->len + len + 1) * 2;
    s->text = realloc(s->text, s->text_cap);
  }
  memcpy(s->text + s->len, t, len);
  s->len += len;
  s->text[s->len] = 0;
}

static void on_token(const pagedvk_token_event *ev, void *user) {
  request_out *r = user;
  if (ev->index >= r->n_alloc) { /* the engine sends indexes 0..n-1 of what was asked: never drop one silently */
    if (!r->status) cli_fail("an event for sample %u of a request for %u", ev->index, r->n_alloc);
    r->status = PAGEDVK_ERR_INVALID;
    return;
  }
  sample_out *s = &r->samples[ev->index];
  if (ev->index >= r->n_samples) r->n_samples = ev->index + 1;
  if (ev->token >= 0) push_id(s, ev->token);
  for (uint32_t i = 0; i < ev->n_token_ids; i++) push_id(s, ev->token_ids[i]); /* beam search's final event */
  push_text(s, ev->text, ev->text_len);
  if (r->stream && ev->index == 0) {
    fwrite(ev->text, 1, ev->text_len, stdout);
    fflush(stdout);
  }
  if (ev->finish != PAGEDVK_FINISH_NONE) {
    s->finish = ev->finish;
    s->grammar_incomplete = ev->grammar_incomplete != 0;
    if (ev->status != PAGEDVK_OK && ev->status != PAGEDVK_ERR_ABORTED) r->status = ev->status;
  }
}

static const char *finish_name(pagedvk_finish_reason f) {
  switch (f) {
    case PAGEDVK_FINISH_STOP: return "stop";
    case PAGEDVK_FINISH_LENGTH: return "length";
    case PAGEDVK_FINISH_ABORT: return "abort";
    case PAGEDVK_FINISH_ERROR: return "error";
    default: return "none";
  }
}

static void print_ids(FILE *out, const int32_t *ids, size_t n) {
  fputc('[', out);
  for (size_t i = 0; i < n; i++) fprintf(out, "%s%d", i ? ", " : "", ids[i]);
  fputc(']', out);
}

static void print_json(const request_out *r) {
  const sample_out *s0 = &r->samples[0];
  fputs("{\"prompt_ids\": ", stdout);
  print_ids(stdout, r->prompt, r->n_prompt);
  fputs(", \"ids\": ", stdout);
  print_ids(stdout, s0->ids, s0->n);
  fputs(", \"text\": ", stdout);
  cli_json_string(stdout, s0->text ? s0->text : "", s0->len);
  printf(", \"finish_reason\": \"%s\"", finish_name(s0->finish));
  if (s0->grammar_incomplete) fputs(", \"grammar_incomplete\": true", stdout);
  if (r->n_samples > 1) {
    fputs(", \"samples\": [", stdout);
    for (uint32_t i = 0; i < r->n_samples; i++) {
      const sample_out *s = &r->samples[i];
      fputs(i ? ", {\"ids\": " : "{\"ids\": ", stdout);
      print_ids(stdout, s->ids, s->n);
      fputs(", \"text\": ", stdout);
      cli_json_string(stdout, s->text ? s->text : "", s->len);
      if (s->grammar_incomplete) fputs(", \"grammar_incomplete\": true", stdout);
      fputc('}', stdout);
    }
    fputc(']', stdout);
  }
  if (r->status) printf(", \"error\": \"%s\"", pagedvk_status_str(r->status));
  fputs("}\n", stdout);
}

static void request_free(request_out *r) {
  free(r->prompt);
  for (uint32_t i = 0; i < r->n_alloc; i++) {
    free(r->samples[i].ids);
    free(r->samples[i].text);
  }
  free(r->samples);
}

/* One slot per sample the request asks for (sampling.n; a beam search returns the best n). */
static int request_init(request_out *r, uint32_t n_samples) {
  r->n_alloc = n_samples ? n_samples : 1;
  r->samples = calloc(r->n_alloc, sizeof *r->samples);
  return r->samples ? 0 : cli_fail("out of memory for %u samples", r->n_alloc);
}

static int tokenize(const pagedvk_model *m, const char *text, bool bos, int32_t **ids, size_t *n) {
  char err[512];
  size_t need = 0, cap = strlen(text) + 16;
  *ids = malloc(cap * sizeof **ids);
  int rc = pagedvk_tokenize(m, text, bos, 0, *ids, cap, &need, err, sizeof err);
  if (rc) return cli_fail("%s", err);
  *n = need;
  return 0;
}

typedef struct run_args {
  cli_opts o;
  const char *prompt, *file;
  bool json, reference, no_bos, chat;
  char *grammar; /* --grammar / --json-schema: the file's text */
} run_args;

/* The whole of a grammar or schema file (NUL-terminated), or NULL after saying why. */
static char *read_text(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return cli_fail("cannot read %s", path), NULL;
  char *text = NULL;
  size_t cap = 0, n = 0, got;
  do {
    if (n + 4096 + 1 > cap) {
      char *t = realloc(text, cap = (n + 4096 + 1) * 2);
      if (!t) {
        free(text);
        fclose(f);
        return cli_fail("out of memory reading %s", path), NULL;
      }
      text = t;
    }
    got = fread(text + n, 1, cap - n - 1, f);
    n += got;
  } while (got > 0);
  int bad = ferror(f);
  fclose(f);
  if (bad) return free(text), cli_fail("cannot read %s", path), NULL;
  text[n] = 0;
  *len = n;
  return text;
}

/* --grammar FILE, --json-schema FILE, --json-object: 1 when arg was one of them, -1 on an error. */
static int grammar_opt(run_args *a, int argc, char **argv, int *i) {
  const char *arg = argv[*i];
  int kind = !strcmp(arg, "--grammar")       ? PAGEDVK_GRAMMAR_GBNF
             : !strcmp(arg, "--json-schema") ? PAGEDVK_GRAMMAR_JSON_SCHEMA
             : !strcmp(arg, "--json-object") ? PAGEDVK_GRAMMAR_JSON_OBJECT
                                             : PAGEDVK_GRAMMAR_NONE;
  if (kind == PAGEDVK_GRAMMAR_NONE) return 0;
  if (a->o.sampling.grammar_kind != PAGEDVK_GRAMMAR_NONE)
    return cli_fail("--grammar, --json-schema and --json-object: one of them at most"), -1;
  a->o.sampling.grammar_kind = kind;
  if (kind == PAGEDVK_GRAMMAR_JSON_OBJECT) return 1;
  const char *path = cli_arg_value(argc, argv, i);
  if (!path) return cli_fail("%s needs a file", arg), -1;
  size_t len = 0;
  if (!(a->grammar = read_text(path, &len))) return -1;
  a->o.sampling.grammar = a->grammar;
  a->o.sampling.grammar_len = len;
  return 1;
}

/* --chat: the prompt as one user turn through the model's chat template, then its ids. */
static int chat_prompt(const pagedvk_model *m, const char *text, int32_t **ids, size_t *n) {
  char err[512], *rendered = NULL;
  size_t len = 0, need = 0;
  int has_bos = 0;
  pagedvk_chat_message msg = {"user", text};
  if (pagedvk_chat_format(m, &msg, 1, 1, NULL, 0, &len, &has_bos, err, sizeof err) != PAGEDVK_ERR_TOO_LONG)
    return cli_fail("%s", err);
  if (!(rendered = malloc(len + 1)) || !(*ids = malloc((len + 16) * sizeof **ids)))
    return free(rendered), cli_fail("out of memory");
  int rc = pagedvk_chat_format(m, &msg, 1, 1, rendered, len + 1, &len, &has_bos, err, sizeof err);
  if (!rc) rc = pagedvk_tokenize(m, rendered, !has_bos, 1, *ids, len + 16, &need, err, sizeof err);
  free(rendered);
  if (rc) return cli_fail("%s", err);
  *n = need;
  return 0;
}

/* The prompt's ids: plain text with BOS (unless --no-bos), or a chat turn with --chat. */
static int prompt_ids(const run_args *a, const pagedvk_model *m, const char *text, int32_t **ids, size_t *n) {
  return a->chat ? chat_prompt(m, text, ids, n) : tokenize(m, text, !a->no_bos, ids, n);
}

static int run_reference(run_args *a) {
  char err[512];
  pagedvk_model *m = NULL;
  if (!a->prompt) return cli_fail("--reference needs -p TEXT");
  if (pagedvk_model_open(&m, a->o.engine.model_path, err, sizeof err)) return cli_fail("%s", err);
  request_out r = {0};
  if (cli_chat_template_apply(m, &a->o) || request_init(&r, 1)) {
    pagedvk_model_close(m);
    return 1;
  }
  int rc = prompt_ids(a, m, a->prompt, &r.prompt, &r.n_prompt);
  uint32_t n = a->o.sampling.max_tokens;
  sample_out *s = &r.samples[0];
  r.n_samples = 1;
  s->ids = calloc(n ? n : 1, sizeof *s->ids);
  if (!rc && !s->ids) rc = cli_fail("out of memory");
  if (!rc && pagedvk_reference_greedy(m, r.prompt, r.n_prompt, n, s->ids, err, sizeof err)) rc = cli_fail("%s", err);
  if (!rc) {
    s->n = n;
    size_t len = 0;
    pagedvk_detokenize(m, s->ids, n, 0, NULL, 0, &len, err, sizeof err);
    s->text = calloc(len + 1, 1);
    pagedvk_detokenize(m, s->ids, n, 0, s->text, len + 1, &len, err, sizeof err);
    s->len = len;
    s->finish = PAGEDVK_FINISH_LENGTH;
    if (a->json) print_json(&r);
    else printf("%s\n", s->text);
  }
  request_free(&r);
  pagedvk_model_close(m);
  return rc;
}

static char **read_lines(const char *path, size_t *n) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  char **lines = NULL, *line = NULL;
  size_t cap = 0, lcap = 0;
  ssize_t len;
  *n = 0;
  while ((len = getline(&line, &lcap, f)) >= 0) {
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    if (len == 0) continue;
    if (*n == cap) lines = realloc(lines, (cap = cap ? cap * 2 : 64) * sizeof *lines);
    lines[(*n)++] = strdup(line);
  }
  free(line);
  fclose(f);
  return lines;
}

static int run_engine(run_args *a) {
  char err[512];
  size_t n_prompts = 1;
  char **lines = NULL;
  if (a->file && !(lines = read_lines(a->file, &n_prompts))) return cli_fail("cannot read %s", a->file);
  if (!a->file && !a->prompt) return cli_fail("run needs -p TEXT or -f FILE");
  pagedvk_engine *e = NULL;
  int erc = cli_engine_create(&e, &a->o);
  if (erc) return erc;
  request_out *reqs = calloc(n_prompts, sizeof *reqs);
  int rc = 0;
  for (size_t i = 0; i < n_prompts && !rc; i++) {
    request_out *r = &reqs[i];
    r->stream = !a->json && !a->file;
    rc = request_init(r, a->o.sampling.n);
    if (!rc) rc = prompt_ids(a, pagedvk_engine_model(e), lines ? lines[i] : a->prompt, &r->prompt, &r->n_prompt);
    if (!rc && pagedvk_engine_add_request(e, r->prompt, r->n_prompt, &a->o.sampling, on_token, r, NULL, err, sizeof err))
      rc = cli_fail("request %zu: %s", i + 1, err);
  }
  double t0 = pagedvk_now_seconds();
  if (!rc && pagedvk_engine_run_until_idle(e, err, sizeof err)) rc = cli_fail("%s", err);
  double dt = pagedvk_now_seconds() - t0;
  pagedvk_stats st;
  pagedvk_engine_stats(e, &st);
  for (size_t i = 0; i < n_prompts && !rc; i++) {
    if (a->json) print_json(&reqs[i]);
    else if (a->file) printf("%s\n", reqs[i].samples[0].text ? reqs[i].samples[0].text : "");
    if (reqs[i].status) rc = 1;
  }
  if (!a->json && !a->file) putchar('\n');
  for (size_t i = 0; i < n_prompts && !rc; i++)
    for (uint32_t k = 0; k < reqs[i].n_samples; k++)
      if (reqs[i].samples[k].grammar_incomplete && !a->json)
        fprintf(stderr, "pagedvk: request %zu sample %u: max_tokens ran out before the grammar was complete\n", i + 1,
                k);
  if (!a->o.quiet && !a->json)
    fprintf(stderr, "pagedvk: %llu prompt + %llu generated tokens in %.2f s (%.1f tokens/s generated), peak %u sequences\n",
            (unsigned long long)st.prompt_tokens, (unsigned long long)st.generated_tokens, dt,
            dt > 0 ? st.generated_tokens / dt : 0.0, st.peak_running);
  for (size_t i = 0; i < n_prompts; i++) {
    request_free(&reqs[i]);
    if (lines) free(lines[i]);
  }
  free(reqs);
  free(lines);
  pagedvk_engine_destroy(e);
  return rc;
}

static void help(void) {
  printf("usage: pagedvk run -m MODEL (-p PROMPT | -f PROMPTS.txt) [options]\n\n"
         "  -p TEXT          the prompt (text is streamed to stdout)\n"
         "  -f FILE          one prompt per line, all submitted concurrently\n"
         "  --json           one JSON object per request: prompt_ids, ids, text, finish_reason\n"
         "  --reference      greedy on the CPU reference forward pass instead of the Vulkan engine\n"
         "  --no-bos         do not add the BOS token\n"
         "  --chat           each prompt is one user message, rendered by the chat template with the\n"
         "                   assistant's generation prompt (implied by the two options below)\n"
         "  --grammar FILE   constrain the output to the GBNF grammar in FILE (start rule root)\n"
         "  --json-schema FILE  constrain the output to JSON valid under the schema in FILE\n"
         "  --json-object    constrain the output to a JSON object\n\n");
  cli_chat_opts_help(stdout);
  cli_opts_help(stdout);
}

int cmd_run(int argc, char **argv) {
  run_args a;
  memset(&a, 0, sizeof a);
  cli_opts_default(&a.o);
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      help();
      return 0;
    }
    if (!strcmp(arg, "-p") || !strncmp(arg, "--prompt", 8)) {
      if (!(a.prompt = cli_arg_value(argc, argv, &i))) return cli_fail("-p needs a value");
    } else if (!strcmp(arg, "-f") || !strncmp(arg, "--file", 6)) {
      if (!(a.file = cli_arg_value(argc, argv, &i))) return cli_fail("-f needs a file");
    } else if (!strcmp(arg, "--json")) {
      a.json = true;
    } else if (!strcmp(arg, "--reference")) {
      a.reference = true;
    } else if (!strcmp(arg, "--no-bos")) {
      a.no_bos = true;
    } else if (!strcmp(arg, "--chat")) {
      a.chat = true;
    } else {
      int rc = grammar_opt(&a, argc, argv, &i);
      if (rc < 0) {
        free(a.grammar);
        return 2;
      }
      if (rc == 0) rc = cli_chat_opts_parse(&a.o, argc, argv, &i);
      if (rc == 0) rc = cli_opts_parse(&a.o, argc, argv, &i);
      if (rc < 0) return 2;
      if (rc == 0) return cli_fail("run: unknown option '%s' (see --help)", arg), 2;
    }
  }
  if (!a.o.engine.model_path) return cli_fail("run needs -m MODEL.gguf");
  if (a.o.chat_template_file || a.o.chat_template_name) a.chat = true;
  if (a.chat && a.no_bos) return cli_fail("--no-bos does not go with --chat (the template decides BOS)");
  if (a.reference && a.o.sampling.grammar_kind) return cli_fail("--reference does not take a grammar");
  int rc = a.reference ? run_reference(&a) : run_engine(&a);
  free(a.grammar);
  return rc;
}
