/*
 * oai_format.c — OpenAI response shapes built from token events (connection thread only), written
 * with the server's JSON writer (json.h): texts as (pointer, length), so a generated NUL byte is
 * "\u0000" and a byte that is not UTF-8 is U+FFFD; the spelling is cJSON's unformatted one, as
 * the responses always were.
 *
 * Non-streaming: events fold into per-choice text and, when logprobs were asked for, compact
 * binary records (oai_collect: one per token, its alternatives included); oai_body_next then
 * writes {"id", "object", "created", "model", "choices", "usage"} piece by piece — a slice of a
 * choice's text or one token's logprob entry at a time — so the body is never held whole beside
 * the records it comes from (oai_handler.c sends it through a content reader when it is large).
 * Streaming: each event becomes one `data: {chunk}\n\n` (chat: the first delta of a choice carries
 * the role); once every choice has ended come the usage chunk (stream_options.include_usage) and
 * `data: [DONE]`. A request ended by an abort or an error gets one `data: {"error": …}` chunk
 * instead of the missing finish reasons, then `data: [DONE]`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oai_tools.h"
#include "server_internal.h"

#define TEXT_SLICE 16384 /* bytes of a choice's text written per piece */

/* One token's logprobs as collected: the header, then n_top alternatives. */
typedef struct lp_rec {
  int32_t token;
  float logprob;
  uint32_t offset; /* completions: bytes of the choice's text before this token */
  uint32_t n_top;
} lp_rec;

typedef struct lp_alt {
  int32_t id;
  float logprob;
} lp_alt;

static const char *finish_name(pagedvk_finish_reason f) {
  switch (f) {
    case PAGEDVK_FINISH_STOP: return "stop";
    case PAGEDVK_FINISH_LENGTH: return "length";
    case PAGEDVK_FINISH_ABORT: return "abort";
    case PAGEDVK_FINISH_ERROR: return "error";
    default: return NULL;
  }
}

/* A token's bytes (a byte token alone may be part of a character: the writer makes it valid). */
static size_t token_piece(pagedvk_server *s, int32_t id, char piece[256]) {
  size_t len = 0;
  if (pagedvk_token_to_piece(s->model, id, 1, piece, 256, &len, NULL, 0)) len = 0;
  return len > 256 ? 256 : len;
}

static void token_str(srv_gen *g, srv_buf *b, int32_t id) {
  char piece[256];
  jw_str(b, piece, token_piece(g->srv, id, piece));
}

/* Chat: {"token", "logprob", "bytes"[, "top_logprobs": [{"token", "logprob", "bytes"}…]]}. */
static void chat_entry(srv_gen *g, srv_buf *b, int32_t id, float lp, const lp_alt *top, uint32_t n_top, bool with_top) {
  char piece[256];
  size_t len = token_piece(g->srv, id, piece);
  srv_buf_puts(b, "{\"token\":");
  jw_str(b, piece, len);
  srv_buf_puts(b, ",\"logprob\":");
  jw_num(b, lp);
  srv_buf_puts(b, ",\"bytes\":[");
  for (size_t i = 0; i < len; i++) srv_buf_printf(b, i ? ",%u" : "%u", (unsigned char)piece[i]);
  srv_buf_puts(b, "]");
  if (with_top) {
    srv_buf_puts(b, ",\"top_logprobs\":[");
    for (uint32_t i = 0; i < n_top; i++) {
      if (i) srv_buf_puts(b, ",");
      chat_entry(g, b, top[i].id, top[i].logprob, NULL, 0, false);
    }
    srv_buf_puts(b, "]");
  }
  srv_buf_puts(b, "}");
}

/* Completions: one token's top_logprobs object {text: logprob}; a text met twice keeps its first. */
static void completion_top(srv_gen *g, srv_buf *b, const lp_alt *top, uint32_t n_top) {
  srv_buf keys[SRV_MAX_TOP];
  memset(keys, 0, sizeof keys);
  uint32_t n_keys = 0;
  srv_buf_puts(b, "{");
  for (uint32_t i = 0; i < n_top && i < SRV_MAX_TOP; i++) {
    srv_buf *k = &keys[n_keys];
    token_str(g, k, top[i].id);
    bool seen = false;
    for (uint32_t j = 0; j < n_keys && !seen; j++) seen = keys[j].len == k->len && !memcmp(keys[j].p, k->p, k->len);
    if (seen || k->oom) {
      srv_buf_free(k);
      continue;
    }
    if (n_keys) srv_buf_puts(b, ",");
    srv_buf_append(b, k->p, k->len);
    srv_buf_puts(b, ":");
    jw_num(b, top[i].logprob);
    n_keys++;
  }
  srv_buf_puts(b, "}");
  for (uint32_t j = 0; j < n_keys; j++) srv_buf_free(&keys[j]);
}

static uint32_t top_of(const srv_gen *g, const srv_event *ev) {
  return ev->n_top < g->req.top_logprobs ? ev->n_top : g->req.top_logprobs;
}

/* The event's logprobs record, appended to the choice's records (non-streaming). */
static void record_add(srv_gen *g, srv_choice *c, const srv_event *ev, size_t offset) {
  if (!g->req.logprobs || ev->token < 0) return;
  lp_rec h = {.token = ev->token, .logprob = ev->logprob, .offset = (uint32_t)offset, .n_top = top_of(g, ev)};
  srv_buf_append(&c->lp, (const char *)&h, sizeof h);
  for (uint32_t i = 0; i < h.n_top; i++) {
    lp_alt a = {.id = ev->top_ids[i], .logprob = ev->top_logprobs[i]};
    srv_buf_append(&c->lp, (const char *)&a, sizeof a);
  }
  c->n_lp++;
}

/* Chat: the event's text through the choice's reasoning splitter, into *reasoning and *content
 * (completions: all to *content). A control token's text, which the engine's text leaves out, is
 * fed in its place when it is part of a reasoning marker (gpt-oss's <|channel|>, <|end|> ...). The
 * splitter lets out what it held once the choice ends. */
static void split_text(srv_gen *g, srv_choice *c, const srv_event *ev, srv_buf *reasoning, srv_buf *content) {
  const char *t = ev->text;
  size_t n = ev->len;
  char piece[256];
  const bool tools = g->req.tools_parse && g->req.kind == OAI_CHAT; /* tool-call markers too (oai_tools.h) */
  if (!n && ev->token >= 0 && (c->split.style != OAI_THINK_OFF || tools)) {
    size_t plain = 0, special = 0;
    if (!pagedvk_token_to_piece(g->srv->model, ev->token, 0, piece, sizeof piece, &plain, NULL, 0) && !plain &&
        !pagedvk_token_to_piece(g->srv->model, ev->token, 1, piece, sizeof piece, &special, NULL, 0) &&
        special < sizeof piece &&
        ((c->split.style != OAI_THINK_OFF && oai_reasoning_marker_piece(c->split.style, piece, special)) ||
         (tools && oai_tools_is_marker((oai_tool_family)g->req.tool_family, piece, special)))) {
      t = piece;
      n = special;
    }
  }
  bool ok = oai_reasoning_feed(&c->split, t, n, reasoning, content);
  if (ev->finish != PAGEDVK_FINISH_NONE) ok = oai_reasoning_end(&c->split, reasoning, content) && ok;
  if (!ok) content->oom = true;
}

static void note_final(srv_gen *g, srv_choice *c, const srv_event *ev) {
  c->finish = ev->finish;
  c->grammar_incomplete = ev->grammar_incomplete;
  c->status = ev->status;
  c->completion_tokens = ev->completion_tokens;
  if (ev->finish == PAGEDVK_FINISH_ABORT || ev->finish == PAGEDVK_FINISH_ERROR) {
    g->failed = true;
    if (!g->fail_status) g->fail_status = ev->status ? ev->status : PAGEDVK_ERR_ABORTED;
  }
}

/* ---- tool calls (oai_tools.h) ------------------------------------------------------------------ */

/* The choice's tool-call parser (made at its first event); NULL when the request parses none, or
 * out of memory (then the request fails). */
static oai_tool_parser *tool_parser(srv_gen *g, srv_choice *c) {
  if (!g->req.tools_parse || g->req.kind != OAI_CHAT) return NULL;
  if (!c->tools && (c->tools = malloc(sizeof *c->tools))) {
    oai_tools_init(c->tools, (oai_tool_family)g->req.tool_family, g->req.tool_prefill);
    c->tools->think_as_content = g->req.think_raw;
  }
  if (!c->tools && !g->failed) {
    g->failed = true;
    g->fail_status = PAGEDVK_ERR_NO_MEMORY;
  }
  return c->tools;
}

/* The content part of an event (what the reasoning splitter let out; split_text already put a
 * family marker's control-token text in, "[TOOL_CALLS]", "<|python_tag|>") into the parser; the
 * final event ends the text. The parser's own reasoning (gpt-oss analysis when the splitter is
 * off, Command-R thinking) is appended to *reasoning. */
static void tool_feed(srv_gen *g, srv_choice *c, oai_tool_parser *p, const srv_event *ev, const srv_buf *content,
                      srv_buf *reasoning) {
  const size_t think0 = p->think.len;
  if (content->len) oai_tools_feed(p, content->p, content->len);
  if (ev->finish != PAGEDVK_FINISH_NONE) oai_tools_finish(p);
  if (p->think.len > think0) {
    srv_buf_append(reasoning, p->think.p + think0, p->think.len - think0);
    c->split.any = true;
  }
  if ((p->oom || reasoning->oom) && !g->failed) {
    g->failed = true;
    g->fail_status = PAGEDVK_ERR_NO_MEMORY;
  }
}

/* An id for a call: "call_" and 24 letters and digits. */
static void call_id(srv_buf *b) {
  static uint64_t counter;
  uint64_t x = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED) * 0x9E3779B97F4A7C15ull ^
               (uint64_t)(pagedvk_now_seconds() * 1e9);
  static const char A[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  char id[30] = "call_";
  for (int i = 0; i < 24; i++) {
    x ^= x >> 30, x *= 0xBF58476D1CE4E5B9ull, x ^= x >> 27, x *= 0x94D049BB133111EBull, x ^= x >> 31;
    id[5 + i] = A[x % 62];
  }
  id[29] = 0;
  jw_cstr(b, id);
}

static bool has_calls(const srv_choice *c) { return c->tools && c->tools->n_calls; }

/* ,"tool_calls":[{"id", "type": "function", "function": {"name", "arguments"}}...] when any */
static void calls_member(const srv_choice *c, srv_buf *b) {
  if (!has_calls(c)) return;
  srv_buf_puts(b, ",\"tool_calls\":[");
  for (size_t k = 0; k < c->tools->n_calls; k++) {
    const oai_call *call = &c->tools->calls[k];
    srv_buf_puts(b, k ? ",{\"id\":" : "{\"id\":");
    call_id(b);
    srv_buf_puts(b, ",\"type\":\"function\",\"function\":{\"name\":");
    jw_cstr(b, call->name);
    srv_buf_puts(b, ",\"arguments\":");
    jw_str(b, call->args, call->args_len);
    srv_buf_puts(b, "}}");
  }
  srv_buf_puts(b, "]");
}

void oai_collect(srv_gen *g, const srv_event *evs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const srv_event *ev = &evs[i];
    if (ev->index >= SRV_MAX_CHOICES) continue;
    srv_choice *c = &g->choices[ev->index];
    g->prompt_tokens = ev->prompt_tokens;
    record_add(g, c, ev, c->text.len);
    oai_tool_parser *p = tool_parser(g, c);
    if (p) { /* the content part goes through the parser, which holds the message's content */
      srv_buf content = {0};
      split_text(g, c, ev, &c->reasoning, &content);
      tool_feed(g, c, p, ev, &content, &c->reasoning);
      srv_buf_free(&content);
      if (ev->finish != PAGEDVK_FINISH_NONE) {
        srv_buf_free(&c->text);
        c->text = p->content;
        memset(&p->content, 0, sizeof p->content);
      }
    } else {
      split_text(g, c, ev, &c->reasoning, &c->text);
    }
    if (ev->finish != PAGEDVK_FINISH_NONE) note_final(g, c, ev);
  }
}

static void envelope(srv_gen *g, srv_buf *b, const char *object) {
  srv_buf_puts(b, "{\"id\":");
  jw_cstr(b, g->rid);
  srv_buf_puts(b, ",\"object\":");
  jw_cstr(b, object);
  srv_buf_puts(b, ",\"created\":");
  jw_num(b, (double)g->created);
  srv_buf_puts(b, ",\"model\":");
  jw_cstr(b, g->srv->model_name);
}

static void usage(srv_gen *g, srv_buf *b) {
  uint32_t completion = 0;
  for (uint32_t i = 0; i < g->n_choices; i++) completion += g->choices[i].completion_tokens;
  srv_buf_puts(b, "\"usage\":{\"prompt_tokens\":");
  jw_num(b, g->prompt_tokens);
  srv_buf_puts(b, ",\"completion_tokens\":");
  jw_num(b, completion);
  srv_buf_puts(b, ",\"total_tokens\":");
  jw_num(b, (double)g->prompt_tokens + completion);
  srv_buf_puts(b, "}");
}

/* The finish reason; a choice whose max_tokens ran out before its grammar (response_format,
 * grammar, json_schema) was complete also says "grammar_incomplete": true (a pagedvk extension:
 * its text is not valid against the schema). */
static void finish_as(srv_buf *b, const char *name, pagedvk_finish_reason f, bool grammar_incomplete) {
  srv_buf_puts(b, ",\"finish_reason\":");
  if (name) jw_cstr(b, name);
  else srv_buf_puts(b, "null");
  if (grammar_incomplete && f == PAGEDVK_FINISH_LENGTH) srv_buf_puts(b, ",\"grammar_incomplete\":true");
}

static void finish(srv_buf *b, pagedvk_finish_reason f, bool grammar_incomplete) {
  finish_as(b, finish_name(f), f, grammar_incomplete);
}

/* A choice's finish reason: "tool_calls" when it stopped after calling. */
static void finish_choice(srv_buf *b, const srv_choice *c) {
  const bool called = has_calls(c) && c->finish == PAGEDVK_FINISH_STOP;
  finish_as(b, called ? "tool_calls" : finish_name(c->finish), c->finish, c->grammar_incomplete);
}

/* ---- the non-streaming body, piece by piece ------------------------------------------------ */

enum { B_HEAD, B_CHOICE, B_TEXT, B_REASONING, B_LP_OPEN, B_LP, B_LP_NEXT, B_FINISH, B_TAIL, B_DONE };

/* The record at byte offset pos of c->lp. */
static const lp_rec *rec_at(const srv_choice *c, size_t pos, const lp_alt **top) {
  const lp_rec *h = (const lp_rec *)(const void *)(c->lp.p + pos);
  *top = (const lp_alt *)(const void *)(c->lp.p + pos + sizeof *h);
  return h;
}

static size_t rec_size(const lp_rec *h) { return sizeof *h + h->n_top * sizeof(lp_alt); }

/* Completions' logprobs are four parallel arrays: part 0 tokens, 1 token_logprobs,
 * 2 top_logprobs, 3 text_offset; each a pass over the records. */
static const char *const PART_OPEN[4] = {"{\"tokens\":[", "],\"token_logprobs\":[", "],\"top_logprobs\":[",
                                         "],\"text_offset\":["};

static void lp_entry(srv_gen *g, srv_buf *b, const srv_choice *c, size_t pos, uint32_t part) {
  const lp_alt *top;
  const lp_rec *h = rec_at(c, pos, &top);
  if (pos) srv_buf_puts(b, ",");
  if (g->req.kind == OAI_CHAT) {
    chat_entry(g, b, h->token, h->logprob, top, h->n_top, true);
    return;
  }
  switch (part) {
    case 0: token_str(g, b, h->token); break;
    case 1: jw_num(b, h->logprob); break;
    case 2: completion_top(g, b, top, h->n_top); break;
    default: jw_num(b, h->offset); break;
  }
}

/* The next slice of `text` from *pos as JSON string content: true once all of it is written. */
static bool text_slice(srv_buf *b, const srv_buf *text, size_t *pos) {
  size_t end = text->len;
  if (end - *pos > TEXT_SLICE) { /* never split a UTF-8 sequence (at most 3 bytes back) */
    end = *pos + TEXT_SLICE;
    for (int k = 0; k < 3 && end > *pos && ((unsigned char)text->p[end] & 0xC0) == 0x80; k++) end--;
  }
  if (end > *pos) jw_str_part(b, text->p + *pos, end - *pos);
  *pos = end;
  return *pos >= text->len;
}

/* Closes the text (chat: the message, its tool calls last) and goes on to the logprobs. `quote`:
 * a string is open (not after a null content). */
static void after_text(srv_buf *b, const srv_choice *c, srv_body *w, bool chat, bool quote) {
  if (quote) srv_buf_puts(b, "\"");
  if (chat) {
    calls_member(c, b);
    srv_buf_puts(b, "}");
  }
  srv_buf_puts(b, ",\"logprobs\":");
  if (!c->n_lp) {
    srv_buf_puts(b, "null");
    w->phase = B_FINISH;
  } else {
    w->phase = B_LP_OPEN;
  }
}

bool oai_body_next(srv_gen *g, srv_buf *b) {
  srv_body *w = &g->body;
  bool chat = g->req.kind == OAI_CHAT;
  srv_choice *c = w->choice < g->n_choices ? &g->choices[w->choice] : NULL;
  switch (w->phase) {
    case B_HEAD:
      envelope(g, b, chat ? "chat.completion" : "text_completion");
      srv_buf_puts(b, ",\"choices\":[");
      w->phase = g->n_choices ? B_CHOICE : B_TAIL;
      break;
    case B_CHOICE:
      srv_buf_printf(b, "%s{\"index\":", w->choice ? "," : "");
      jw_num(b, w->choice);
      w->pos = 0;
      w->phase = B_TEXT;
      if (chat && has_calls(c) && !c->text.len) { /* only calls: content null */
        srv_buf_puts(b, ",\"message\":{\"role\":\"assistant\",\"content\":null");
        if (c->split.any) {
          srv_buf_puts(b, ",\"reasoning_content\":\"");
          w->phase = B_REASONING;
        } else {
          after_text(b, c, w, chat, false);
        }
        break;
      }
      srv_buf_puts(b, chat ? ",\"message\":{\"role\":\"assistant\",\"content\":\"" : ",\"text\":\"");
      break;
    case B_TEXT:
      if (!text_slice(b, &c->text, &w->pos)) break;
      if (chat && c->split.any) { /* "reasoning_content" after "content" */
        srv_buf_puts(b, "\",\"reasoning_content\":\"");
        w->pos = 0;
        w->phase = B_REASONING;
        break;
      }
      after_text(b, c, w, chat, true);
      break;
    case B_REASONING:
      if (text_slice(b, &c->reasoning, &w->pos)) after_text(b, c, w, chat, true);
      break;
    case B_LP_OPEN:
      srv_buf_puts(b, chat ? "{\"content\":[" : PART_OPEN[w->part]);
      w->pos = 0;
      w->phase = B_LP;
      break;
    case B_LP: {
      const lp_alt *top;
      lp_entry(g, b, c, w->pos, w->part);
      w->pos += rec_size(rec_at(c, w->pos, &top));
      if (w->pos >= c->lp.len) w->phase = B_LP_NEXT;
      break;
    }
    case B_LP_NEXT:
      if (!chat && ++w->part < 4) {
        w->phase = B_LP_OPEN;
        break;
      }
      srv_buf_puts(b, "]}");
      w->part = 0;
      w->phase = B_FINISH;
      break;
    case B_FINISH:
      finish_choice(b, c);
      srv_buf_puts(b, "}");
      w->phase = ++w->choice < g->n_choices ? B_CHOICE : B_TAIL;
      break;
    case B_TAIL:
      srv_buf_puts(b, "],");
      usage(g, b);
      srv_buf_puts(b, "}");
      w->phase = B_DONE;
      break;
    default: return false;
  }
  return w->phase != B_DONE;
}

/* ---- streaming ------------------------------------------------------------------------------ */

/* One chunk for one choice: the event's text split into reasoning and content deltas (chat;
 * completions: all text), logprobs, finish reason. */
static void stream_delta(srv_gen *g, srv_choice *c, const srv_event *ev, const srv_buf *rd, const srv_buf *cd,
                         bool tools) {
  bool chat = g->req.kind == OAI_CHAT;
  /* with tools the finish reason comes in a chunk of its own, after the calls */
  bool final = !tools && (ev->finish == PAGEDVK_FINISH_STOP || ev->finish == PAGEDVK_FINISH_LENGTH);
  bool lp = g->req.logprobs && ev->token >= 0;
  size_t offset = c->text_offset;
  c->text_offset += ev->len;
  if (!rd->len && !cd->len && !lp && !final && !(chat && !c->role_sent)) return;
  srv_buf *b = &g->out;
  srv_buf_puts(b, "data: ");
  envelope(g, b, chat ? "chat.completion.chunk" : "text_completion");
  srv_buf_puts(b, ",\"choices\":[{\"index\":");
  jw_num(b, ev->index);
  if (chat) {
    srv_buf_puts(b, ",\"delta\":{");
    const char *sep = "";
    if (!c->role_sent) {
      srv_buf_puts(b, "\"role\":\"assistant\"");
      sep = ",";
    }
    if (rd->len) {
      srv_buf_printf(b, "%s\"reasoning_content\":", sep);
      jw_str(b, rd->p, rd->len);
      sep = ",";
    }
    if (cd->len || (!c->role_sent && !rd->len)) { /* the first delta carries content, maybe "" */
      srv_buf_printf(b, "%s\"content\":", sep);
      jw_str(b, cd->p, cd->len);
    }
    srv_buf_puts(b, "}");
    c->role_sent = true;
  } else {
    srv_buf_puts(b, ",\"text\":");
    jw_str(b, cd->p, cd->len);
  }
  srv_buf_puts(b, ",\"logprobs\":");
  if (!lp) {
    srv_buf_puts(b, "null");
  } else {
    lp_alt top[SRV_MAX_TOP];
    uint32_t n_top = top_of(g, ev);
    for (uint32_t i = 0; i < n_top; i++) top[i] = (lp_alt){.id = ev->top_ids[i], .logprob = ev->top_logprobs[i]};
    if (chat) {
      srv_buf_puts(b, "{\"content\":[");
      chat_entry(g, b, ev->token, ev->logprob, top, n_top, true);
      srv_buf_puts(b, "]}");
    } else {
      srv_buf_puts(b, "{\"tokens\":[");
      token_str(g, b, ev->token);
      srv_buf_puts(b, "],\"token_logprobs\":[");
      jw_num(b, ev->logprob);
      srv_buf_puts(b, "],\"top_logprobs\":[");
      completion_top(g, b, top, n_top);
      srv_buf_puts(b, "],\"text_offset\":[");
      jw_num(b, (double)offset);
      srv_buf_puts(b, "]}");
    }
  }
  finish(b, final ? ev->finish : PAGEDVK_FINISH_NONE, c->grammar_incomplete);
  srv_buf_puts(b, "}]}\n\n");
}

/* data: {chunk of choice `index`, "delta": { — the caller writes the delta's members. */
static void chunk_open(srv_gen *g, uint32_t index) {
  srv_buf *b = &g->out;
  srv_buf_puts(b, "data: ");
  envelope(g, b, "chat.completion.chunk");
  srv_buf_puts(b, ",\"choices\":[{\"index\":");
  jw_num(b, index);
  srv_buf_puts(b, ",\"delta\":{");
}

/* After a tool-parsing choice's content delta: each call the parser completed, as OpenAI streams
 * one (a chunk with its index, id, type, name and arguments "", then one with its arguments),
 * and once the choice has ended a chunk with an empty delta and the finish reason. */
static void stream_calls(srv_gen *g, srv_choice *c, const srv_event *ev) {
  srv_buf *b = &g->out;
  const oai_tool_parser *p = c->tools;
  for (; c->sent_calls < p->n_calls; c->sent_calls++) {
    const oai_call *call = &p->calls[c->sent_calls];
    chunk_open(g, ev->index);
    srv_buf_printf(b, "\"tool_calls\":[{\"index\":%zu,\"id\":", c->sent_calls);
    call_id(b);
    srv_buf_puts(b, ",\"type\":\"function\",\"function\":{\"name\":");
    jw_cstr(b, call->name);
    srv_buf_puts(b, ",\"arguments\":\"\"}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
    chunk_open(g, ev->index);
    srv_buf_printf(b, "\"tool_calls\":[{\"index\":%zu,\"function\":{\"arguments\":", c->sent_calls);
    jw_str(b, call->args, call->args_len);
    srv_buf_puts(b, "}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
  }
  if (ev->finish == PAGEDVK_FINISH_STOP || ev->finish == PAGEDVK_FINISH_LENGTH) {
    chunk_open(g, ev->index);
    srv_buf_puts(b, "},\"logprobs\":null");
    finish_choice(b, c);
    srv_buf_puts(b, "}]}\n\n");
  }
}

static void stream_chunk(srv_gen *g, const srv_event *ev) {
  srv_buf reasoning = {0}, content = {0};
  srv_choice *c = &g->choices[ev->index];
  split_text(g, c, ev, &reasoning, &content);
  oai_tool_parser *p = tool_parser(g, c);
  if (p) { /* the content part through the parser: what it let out is the delta */
    const size_t sent = p->content.len;
    tool_feed(g, c, p, ev, &content, &reasoning);
    content.len = 0;
    if (p->content.len > sent) srv_buf_append(&content, p->content.p + sent, p->content.len - sent);
  }
  if (reasoning.oom || content.oom) g->out.oom = true;
  if (!g->failed) {
    stream_delta(g, c, ev, &reasoning, &content, p != NULL);
    if (p) stream_calls(g, c, ev);
  }
  srv_buf_free(&reasoning);
  srv_buf_free(&content);
}

static void stream_end(srv_gen *g) {
  if (g->failed) {
    srv_error e;
    srv_error_from_status(&e, g->fail_status, "generation failed");
    cJSON *o = srv_error_json(&e);
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
  } else if (g->req.include_usage) {
    srv_buf_puts(&g->out, "data: ");
    envelope(g, &g->out, g->req.kind == OAI_CHAT ? "chat.completion.chunk" : "text_completion");
    srv_buf_puts(&g->out, ",\"choices\":[],");
    usage(g, &g->out);
    srv_buf_puts(&g->out, "}\n\n");
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
