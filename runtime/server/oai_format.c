/*
 * oai_format.c — OpenAI response shapes built from token events (connection thread only).
 *
 * Non-streaming: events fold into per-choice text and logprobs (oai_collect); oai_response_json
 * builds {"id", "object", "created", "model", "choices", "usage"}.
 * Streaming: each event becomes one `data: {chunk}\n\n` (chat: the first delta of a choice carries
 * the role); once every choice has ended come the usage chunk (stream_options.include_usage) and
 * `data: [DONE]`. A request ended by an abort or an error gets one `data: {"error": …}` chunk
 * instead of the missing finish reasons, then `data: [DONE]`.
 */
#include <stdio.h>
#include <string.h>

#include "server_internal.h"

static const char *finish_name(pagedvk_finish_reason f) {
  switch (f) {
    case PAGEDVK_FINISH_STOP: return "stop";
    case PAGEDVK_FINISH_LENGTH: return "length";
    case PAGEDVK_FINISH_ABORT: return "abort";
    case PAGEDVK_FINISH_ERROR: return "error";
    default: return NULL;
  }
}

/* A token's text as valid UTF-8 (a byte token alone may be part of a character). */
static void token_text(pagedvk_server *s, int32_t id, srv_buf *out, srv_buf *bytes) {
  char piece[256];
  size_t len = 0;
  if (pagedvk_token_to_piece(s->model, id, 1, piece, sizeof piece, &len, NULL, 0)) len = 0;
  if (len > sizeof piece) len = sizeof piece;
  srv_buf_append_utf8(out, piece, len);
  if (bytes) srv_buf_append(bytes, piece, len);
}

static cJSON *bytes_array(const srv_buf *b) {
  cJSON *a = cJSON_CreateArray();
  for (size_t i = 0; a && i < b->len; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((unsigned char)b->p[i]));
  return a;
}

/* Chat: {"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}…]}. */
static cJSON *chat_token_logprob(srv_gen *g, int32_t id, float lp, const srv_event *ev, bool with_top) {
  srv_buf t = {0}, b = {0};
  token_text(g->srv, id, &t, &b);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "token", t.p ? t.p : "");
  cJSON_AddNumberToObject(o, "logprob", lp);
  cJSON_AddItemToObject(o, "bytes", bytes_array(&b));
  srv_buf_free(&t);
  srv_buf_free(&b);
  if (!with_top) return o;
  cJSON *top = cJSON_AddArrayToObject(o, "top_logprobs");
  for (uint32_t i = 0; i < ev->n_top && i < g->req.top_logprobs; i++)
    cJSON_AddItemToArray(top, chat_token_logprob(g, ev->top_ids[i], ev->top_logprobs[i], ev, false));
  return o;
}

/* Completions: parallel arrays tokens, token_logprobs, top_logprobs (objects), text_offset. */
static cJSON *completion_logprobs_new(void) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddArrayToObject(o, "tokens");
  cJSON_AddArrayToObject(o, "token_logprobs");
  cJSON_AddArrayToObject(o, "top_logprobs");
  cJSON_AddArrayToObject(o, "text_offset");
  return o;
}

static void completion_logprobs_add(srv_gen *g, cJSON *o, const srv_event *ev, size_t offset) {
  srv_buf t = {0};
  token_text(g->srv, ev->token, &t, NULL);
  cJSON_AddItemToArray(cJSON_GetObjectItem(o, "tokens"), cJSON_CreateString(t.p ? t.p : ""));
  cJSON_AddItemToArray(cJSON_GetObjectItem(o, "token_logprobs"), cJSON_CreateNumber(ev->logprob));
  cJSON *top = cJSON_CreateObject();
  for (uint32_t i = 0; i < ev->n_top && i < g->req.top_logprobs; i++) {
    srv_buf k = {0};
    token_text(g->srv, ev->top_ids[i], &k, NULL);
    if (!cJSON_GetObjectItemCaseSensitive(top, k.p ? k.p : ""))
      cJSON_AddNumberToObject(top, k.p ? k.p : "", ev->top_logprobs[i]);
    srv_buf_free(&k);
  }
  cJSON_AddItemToArray(cJSON_GetObjectItem(o, "top_logprobs"), top);
  cJSON_AddItemToArray(cJSON_GetObjectItem(o, "text_offset"), cJSON_CreateNumber((double)offset));
  srv_buf_free(&t);
}

/* Adds the event's logprob entry to `lp` (created on first use). */
static void logprobs_add(srv_gen *g, cJSON **lp, const srv_event *ev, size_t offset) {
  if (!g->req.logprobs || ev->token < 0) return;
  if (g->req.kind == OAI_CHAT) {
    if (!*lp) {
      *lp = cJSON_CreateObject();
      cJSON_AddArrayToObject(*lp, "content");
    }
    cJSON_AddItemToArray(cJSON_GetObjectItem(*lp, "content"), chat_token_logprob(g, ev->token, ev->logprob, ev, true));
  } else {
    if (!*lp) *lp = completion_logprobs_new();
    completion_logprobs_add(g, *lp, ev, offset);
  }
}

static void note_final(srv_gen *g, srv_choice *c, const srv_event *ev) {
  c->finish = ev->finish;
  c->status = ev->status;
  c->completion_tokens = ev->completion_tokens;
  if (ev->finish == PAGEDVK_FINISH_ABORT || ev->finish == PAGEDVK_FINISH_ERROR) {
    g->failed = true;
    if (!g->fail_status) g->fail_status = ev->status ? ev->status : PAGEDVK_ERR_ABORTED;
  }
}

void oai_collect(srv_gen *g, const srv_event *evs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const srv_event *ev = &evs[i];
    if (ev->index >= SRV_MAX_CHOICES) continue;
    srv_choice *c = &g->choices[ev->index];
    g->prompt_tokens = ev->prompt_tokens;
    logprobs_add(g, &c->logprobs, ev, c->text.len);
    srv_buf_append(&c->text, ev->text, ev->len);
    if (ev->finish != PAGEDVK_FINISH_NONE) note_final(g, c, ev);
  }
}

static cJSON *envelope(srv_gen *g, const char *object) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", g->rid);
  cJSON_AddStringToObject(o, "object", object);
  cJSON_AddNumberToObject(o, "created", (double)g->created);
  cJSON_AddStringToObject(o, "model", g->srv->model_name);
  return o;
}

static cJSON *usage_json(srv_gen *g) {
  uint32_t completion = 0;
  for (uint32_t i = 0; i < g->n_choices; i++) completion += g->choices[i].completion_tokens;
  cJSON *u = cJSON_CreateObject();
  cJSON_AddNumberToObject(u, "prompt_tokens", g->prompt_tokens);
  cJSON_AddNumberToObject(u, "completion_tokens", completion);
  cJSON_AddNumberToObject(u, "total_tokens", (double)g->prompt_tokens + completion);
  return u;
}

static void add_finish(cJSON *o, pagedvk_finish_reason f) {
  const char *name = finish_name(f);
  if (name) cJSON_AddStringToObject(o, "finish_reason", name);
  else cJSON_AddNullToObject(o, "finish_reason");
}

cJSON *oai_response_json(srv_gen *g) {
  bool chat = g->req.kind == OAI_CHAT;
  cJSON *root = envelope(g, chat ? "chat.completion" : "text_completion");
  cJSON *choices = cJSON_AddArrayToObject(root, "choices");
  for (uint32_t i = 0; i < g->n_choices; i++) {
    srv_choice *c = &g->choices[i];
    cJSON *ch = cJSON_CreateObject();
    cJSON_AddNumberToObject(ch, "index", i);
    if (chat) {
      cJSON *m = cJSON_AddObjectToObject(ch, "message");
      cJSON_AddStringToObject(m, "role", "assistant");
      cJSON_AddStringToObject(m, "content", c->text.p ? c->text.p : "");
    } else {
      cJSON_AddStringToObject(ch, "text", c->text.p ? c->text.p : "");
    }
    if (c->logprobs) {
      cJSON_AddItemToObject(ch, "logprobs", c->logprobs);
      c->logprobs = NULL;
    } else {
      cJSON_AddNullToObject(ch, "logprobs");
    }
    add_finish(ch, c->finish);
    cJSON_AddItemToArray(choices, ch);
  }
  cJSON_AddItemToObject(root, "usage", usage_json(g));
  return root;
}

static void sse_json(srv_gen *g, cJSON *o) {
  char *s = o ? cJSON_PrintUnformatted(o) : NULL;
  if (s) {
    srv_buf_puts(&g->out, "data: ");
    srv_buf_puts(&g->out, s);
    srv_buf_puts(&g->out, "\n\n");
  } else {
    g->out.oom = true;
  }
  cJSON_free(s);
  cJSON_Delete(o);
}

/* One chunk for one choice: text (or delta content), logprobs, finish reason. */
static void stream_chunk(srv_gen *g, const srv_event *ev) {
  bool chat = g->req.kind == OAI_CHAT;
  srv_choice *c = &g->choices[ev->index];
  bool final = ev->finish == PAGEDVK_FINISH_STOP || ev->finish == PAGEDVK_FINISH_LENGTH;
  cJSON *lp = NULL;
  logprobs_add(g, &lp, ev, c->text_offset);
  c->text_offset += ev->len;
  if (!ev->len && !lp && !final && !(chat && !c->role_sent)) return;
  cJSON *root = envelope(g, chat ? "chat.completion.chunk" : "text_completion");
  cJSON *ch = cJSON_CreateObject();
  cJSON_AddNumberToObject(ch, "index", ev->index);
  if (chat) {
    cJSON *d = cJSON_AddObjectToObject(ch, "delta");
    if (!c->role_sent) cJSON_AddStringToObject(d, "role", "assistant");
    if (ev->len || !c->role_sent) cJSON_AddStringToObject(d, "content", ev->text);
    c->role_sent = true;
  } else {
    cJSON_AddStringToObject(ch, "text", ev->text);
  }
  if (lp) cJSON_AddItemToObject(ch, "logprobs", lp);
  else cJSON_AddNullToObject(ch, "logprobs");
  add_finish(ch, final ? ev->finish : PAGEDVK_FINISH_NONE);
  cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "choices"), ch);
  sse_json(g, root);
}

static void stream_end(srv_gen *g) {
  if (g->failed) {
    srv_error e;
    srv_error_from_status(&e, g->fail_status, "generation failed");
    sse_json(g, srv_error_json(&e));
  } else if (g->req.include_usage) {
    cJSON *root = envelope(g, g->req.kind == OAI_CHAT ? "chat.completion.chunk" : "text_completion");
    cJSON_AddArrayToObject(root, "choices");
    cJSON_AddItemToObject(root, "usage", usage_json(g));
    sse_json(g, root);
  }
  srv_buf_puts(&g->out, "data: [DONE]\n\n");
  g->out_done = true;
}

void oai_stream_events(srv_gen *g, const srv_event *evs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const srv_event *ev = &evs[i];
    if (ev->index >= SRV_MAX_CHOICES) continue;
    g->prompt_tokens = ev->prompt_tokens;
    if (ev->finish != PAGEDVK_FINISH_NONE) note_final(g, &g->choices[ev->index], ev);
    if (!g->failed) stream_chunk(g, ev);
  }
  if (srv_gen_done(g) && !g->out_done) stream_end(g);
}
