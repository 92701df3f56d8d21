/*
 * embed.c — embedding pagedvk in a program, using only include/pagedvk.h.
 *
 *   example_embed MODEL.gguf [MAX_TOKENS]
 *
 * Creates an engine with a small KV pool, queues two prompts as concurrent requests, steps the
 * engine until both have finished while the callback prints each piece of text as it arrives
 * (tagged with its request), then prints each request's whole text and the engine's stats.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagedvk.h"

typedef struct reply {
  const char *tag;
  char text[8192];
  size_t len;
  unsigned tokens;
  pagedvk_finish_reason finish;
} reply;

/* Called from the thread that steps the engine (here: main), once per token and once at the end. */
static void on_token(const pagedvk_token_event *ev, void *user) {
  reply *r = user;
  if (ev->text_len) {
    printf("[%s] %.*s\n", r->tag, (int)ev->text_len, ev->text);
    size_t room = sizeof r->text - 1 - r->len;
    size_t n = ev->text_len < room ? ev->text_len : room;
    memcpy(r->text + r->len, ev->text, n);
    r->len += n;
    r->text[r->len] = 0;
  }
  if (ev->token >= 0) r->tokens++;
  if (ev->finish != PAGEDVK_FINISH_NONE) r->finish = ev->finish;
}

static int submit(pagedvk_engine *e, const char *prompt, const pagedvk_sampling_params *sp, reply *r) {
  char err[256];
  int32_t ids[512];
  size_t n = 0;
  const pagedvk_model *m = pagedvk_engine_model(e);
  if (pagedvk_tokenize(m, prompt, 1, 0, ids, 512, &n, err, sizeof err) ||
      pagedvk_engine_add_request(e, ids, n, sp, on_token, r, NULL, err, sizeof err)) {
    fprintf(stderr, "embed: %s\n", err);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL.gguf [MAX_TOKENS]\n", argv[0]);
    return 2;
  }
  char err[512];
  pagedvk_engine_options o;
  pagedvk_engine_options_default(&o);
  o.model_path = argv[1];
  o.kv_mem = 32u << 20;
  pagedvk_engine *e = NULL;
  if (pagedvk_engine_create(&e, &o, err, sizeof err)) {
    fprintf(stderr, "embed: %s\n", err);
    return 1;
  }
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  sp.temperature = 0; /* greedy: the same text every run */
  sp.max_tokens = argc > 2 ? (uint32_t)atoi(argv[2]) : 16;

  reply a = {.tag = "A"}, b = {.tag = "B"};
  int rc = submit(e, "The capital of France is", &sp, &a) || submit(e, "Once upon a time", &sp, &b);
  if (!rc && pagedvk_engine_run_until_idle(e, err, sizeof err)) {
    fprintf(stderr, "embed: %s\n", err);
    rc = 1;
  }
  if (!rc) {
    printf("A (%u tokens): %s\nB (%u tokens): %s\n", a.tokens, a.text, b.tokens, b.text);
    pagedvk_stats st;
    pagedvk_engine_stats(e, &st);
    printf("stats: %llu requests finished, %llu prompt + %llu generated tokens, %llu steps, peak %u sequences, "
           "%u of %u KV blocks used\n",
           (unsigned long long)st.requests_finished, (unsigned long long)st.prompt_tokens,
           (unsigned long long)st.generated_tokens, (unsigned long long)st.steps, st.peak_running, st.blocks_used,
           st.blocks_total);
  }
  pagedvk_engine_destroy(e);
  return rc;
}
