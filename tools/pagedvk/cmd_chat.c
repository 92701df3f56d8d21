/*
 * cmd_chat.c — `pagedvk chat`: an interactive conversation on stdin / stdout.
 *
 * Each line read is a user turn; the reply streams to stdout as it is generated. The conversation
 * is kept as one growing token prompt: the next turn's prompt is the previous prompt, the reply's
 * own token ids, then the tokens of the template text that follows them (end of the assistant
 * turn, the new user turn, the generation prompt). So every earlier block is a prefix-cache hit.
 * When the template's text for the whole conversation does not extend the previous text (it never
 * should), the conversation is re-tokenized whole instead.
 * "/exit" or end of input ends; "/reset" forgets the conversation. Works with stdin not a TTY.
 * A model without a usable chat template (none, or one that does not parse; see
 * --chat-template-file / --chat-template) is refused before the first turn is read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_opts.h"

typedef struct ids {
  int32_t *v;
  size_t n, cap;
} ids;

static bool ids_push(ids *a, const int32_t *v, size_t n) {
  if (a->n + n > a->cap) {
    size_t cap = a->cap ? a->cap : 256;
    while (cap < a->n + n) cap *= 2;
    int32_t *p = realloc(a->v, cap * sizeof *p);
    if (!p) return false;
    a->v = p;
    a->cap = cap;
  }
  memcpy(a->v + a->n, v, n * sizeof *v);
  a->n += n;
  return true;
}

typedef struct chat {
  pagedvk_engine *e;
  pagedvk_model *m;
  cli_opts o;
  const char *system;
  pagedvk_chat_message *msgs;
  size_t n_msgs, cap_msgs;
  ids history;       /* the last prompt followed by its reply's ids */
  char *history_text; /* the template text of the last prompt followed by the reply's text */
  /* the reply being generated */
  ids reply;
  char *reply_text;
  size_t reply_len;
  int status;
  /* totals */
  unsigned turns;
  unsigned long long prompt_tokens;
} chat;

static bool add_message(chat *c, const char *role, const char *content, size_t len) {
  if (c->n_msgs == c->cap_msgs) {
    size_t cap = c->cap_msgs ? c->cap_msgs * 2 : 16;
    pagedvk_chat_message *p = realloc(c->msgs, cap * sizeof *p);
    if (!p) return false;
    c->msgs = p;
    c->cap_msgs = cap;
  }
  char *copy = strndup(content, len);
  if (!copy) return false;
  c->msgs[c->n_msgs++] = (pagedvk_chat_message){role, copy};
  return true;
}

static void drop_last_message(chat *c) {
  if (c->n_msgs) free((char *)c->msgs[--c->n_msgs].content);
}

static void reset(chat *c) {
  while (c->n_msgs) drop_last_message(c);
  if (c->system) add_message(c, "system", c->system, strlen(c->system));
  c->history.n = 0;
  free(c->history_text);
  c->history_text = NULL;
}

/* The template text of the whole conversation with the generation prompt. */
static char *format_all(chat *c, int *has_bos) {
  char err[512];
  size_t len = 0;
  int rc = pagedvk_chat_format(c->m, c->msgs, c->n_msgs, 1, NULL, 0, &len, has_bos, err, sizeof err);
  if (rc && rc != PAGEDVK_ERR_TOO_LONG) return cli_fail("%s", err), NULL;
  char *text = malloc(len + 1);
  if (text && pagedvk_chat_format(c->m, c->msgs, c->n_msgs, 1, text, len + 1, &len, has_bos, err, sizeof err)) {
    cli_fail("%s", err);
    free(text);
    return NULL;
  }
  return text;
}

static bool tokenize_into(chat *c, const char *text, int add_bos, ids *out) {
  char err[512];
  size_t cap = strlen(text) + 16, n = 0;
  int32_t *tmp = malloc(cap * sizeof *tmp);
  if (!tmp) return false;
  bool ok = !pagedvk_tokenize(c->m, text, add_bos, 1, tmp, cap, &n, err, sizeof err);
  if (!ok) cli_fail("%s", err);
  ok = ok && ids_push(out, tmp, n);
  free(tmp);
  return ok;
}

/* The prompt for this turn: the history grown by the new template text, or all of it anew. */
static bool build_prompt(chat *c, const char *full, int has_bos, ids *prompt) {
  size_t hl = c->history_text ? strlen(c->history_text) : 0;
  if (c->history.n && hl && !strncmp(full, c->history_text, hl)) {
    return ids_push(prompt, c->history.v, c->history.n) && tokenize_into(c, full + hl, 0, prompt);
  }
  return tokenize_into(c, full, !has_bos, prompt);
}

static void on_token(const pagedvk_token_event *ev, void *user) {
  chat *c = user;
  if (ev->index != 0) return;
  if (ev->token >= 0) ids_push(&c->reply, &ev->token, 1);
  if (ev->text_len) {
    char *p = realloc(c->reply_text, c->reply_len + ev->text_len + 1);
    if (p) {
      memcpy(p + c->reply_len, ev->text, ev->text_len);
      c->reply_len += ev->text_len;
      p[c->reply_len] = 0;
      c->reply_text = p;
    }
    fwrite(ev->text, 1, ev->text_len, stdout);
    fflush(stdout);
  }
  if (ev->finish != PAGEDVK_FINISH_NONE && ev->status != PAGEDVK_OK) c->status = ev->status;
}

/* Generates the reply to the conversation so far; 0, 1 on a refused prompt (conversation kept
 * without the turn), -1 on an engine failure. */
static int reply(chat *c) {
  char err[512];
  int has_bos = 0;
  char *full = format_all(c, &has_bos);
  ids prompt = {0};
  if (!full || !build_prompt(c, full, has_bos, &prompt)) {
    free(full);
    free(prompt.v);
    return -1;
  }
  c->reply.n = 0;
  c->reply_len = 0;
  c->status = 0;
  int rc = pagedvk_engine_add_request(c->e, prompt.v, prompt.n, &c->o.sampling, on_token, c, NULL, err, sizeof err);
  if (rc) {
    fprintf(stderr, "pagedvk chat: %s%s\n", err,
            rc == PAGEDVK_ERR_TOO_LONG || rc == PAGEDVK_ERR_KV_FULL ? " (/reset starts over)" : "");
    free(full);
    free(prompt.v);
    return rc == PAGEDVK_ERR_TOO_LONG || rc == PAGEDVK_ERR_KV_FULL || rc == PAGEDVK_ERR_INVALID ? 1 : -1;
  }
  rc = pagedvk_engine_run_until_idle(c->e, err, sizeof err);
  fputc('\n', stdout);
  fflush(stdout);
  if (rc || c->status) {
    fprintf(stderr, "pagedvk chat: %s\n", rc ? err : pagedvk_status_str(c->status));
    free(full);
    free(prompt.v);
    return -1;
  }
  c->turns++;
  c->prompt_tokens += prompt.n;
  /* the history becomes this prompt + the reply, in ids and in text */
  c->history.n = 0;
  bool ok = ids_push(&c->history, prompt.v, prompt.n) && ids_push(&c->history, c->reply.v, c->reply.n);
  size_t fl = strlen(full);
  char *ht = realloc(full, fl + c->reply_len + 1);
  if (ht) {
    memcpy(ht + fl, c->reply_text ? c->reply_text : "", c->reply_len);
    ht[fl + c->reply_len] = 0;
    free(c->history_text);
    c->history_text = ht;
  } else {
    free(full);
  }
  free(prompt.v);
  ok = ok && ht && add_message(c, "assistant", c->reply_text ? c->reply_text : "", c->reply_len);
  return ok ? 0 : -1;
}

static int loop(chat *c) {
  bool tty = isatty(0);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int rc = 0;
  for (;;) {
    if (tty) fputs("> ", stdout), fflush(stdout);
    if ((len = getline(&line, &cap, stdin)) < 0) break;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    if (len == 0) continue;
    if (!strcmp(line, "/exit") || !strcmp(line, "/quit")) break;
    if (!strcmp(line, "/reset")) {
      reset(c);
      continue;
    }
    if (!add_message(c, "user", line, (size_t)len)) {
      rc = cli_fail("out of memory");
      break;
    }
    int r = reply(c);
    if (r > 0) drop_last_message(c);
    if (r < 0) {
      rc = 1;
      break;
    }
  }
  free(line);
  return rc;
}

static void help(void) {
  printf("usage: pagedvk chat -m MODEL [--system TEXT] [options]\n\n"
         "Reads user turns from stdin, one per line, and streams each reply to stdout, formatting the\n"
         "conversation with the model's chat template. The conversation is one growing prompt, so\n"
         "the prefix cache reuses its KV blocks every turn. /reset forgets it; /exit or end of input ends.\n\n"
         "  --system TEXT    a system message first\n\n");
  cli_chat_opts_help(stdout);
  cli_opts_help(stdout);
}

int cmd_chat(int argc, char **argv) {
  chat c;
  memset(&c, 0, sizeof c);
  cli_opts_default(&c.o);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return help(), 0;
    if (!strncmp(a, "--system", 8) && (a[8] == 0 || a[8] == '=')) {
      if (!(c.system = cli_arg_value(argc, argv, &i))) return cli_fail("--system needs a value"), 2;
    } else {
      int rc = cli_chat_opts_parse(&c.o, argc, argv, &i);
      if (rc == 0) rc = cli_opts_parse(&c.o, argc, argv, &i);
      if (rc < 0) return 2;
      if (rc == 0) return cli_fail("chat: unknown option '%s' (see --help)", a), 2;
    }
  }
  if (!c.o.engine.model_path) return cli_fail("chat needs -m MODEL.gguf"), 2;
  int erc = cli_engine_create(&c.e, &c.o);
  if (erc) return erc;
  c.m = pagedvk_engine_model(c.e);
  pagedvk_model_description d;
  pagedvk_model_describe(c.m, &d, NULL, 0);
  if (!d.chat_template_usable) { /* say so now, not after the first line is typed */
    cli_fail("%s", d.chat_template_reason ? d.chat_template_reason : "the model has no usable chat template");
    pagedvk_engine_destroy(c.e);
    return 1;
  }
  reset(&c);
  int rc = loop(&c);
  pagedvk_stats st;
  pagedvk_engine_stats(c.e, &st);
  if (!c.o.quiet)
    fprintf(stderr, "pagedvk chat: %u turns, %llu prompt tokens, %llu of them reused from the prefix cache\n",
            c.turns, c.prompt_tokens, (unsigned long long)st.prefix_cache_hits);
  while (c.n_msgs) drop_last_message(&c);
  free(c.msgs);
  free(c.history.v);
  free(c.history_text);
  free(c.reply.v);
  free(c.reply_text);
  pagedvk_engine_destroy(c.e);
  return rc;
}
