/*
 * oai_reasoning.c — the reasoning / content splitter of a chat answer (see oai_reasoning.h).
 *
 * A byte-at-a-time state machine, so its result cannot depend on where the pieces were cut:
 *   START   optional whitespace, then one of the style's opening patterns (held while it may
 *           still match); a mismatch makes everything content, the held bytes first.
 *   IN_LEAD just inside a block: whitespace dropped.
 *   IN      reasoning; the held bytes are whitespace followed by a prefix of the closing marker.
 *   AFTER   after the block: whitespace dropped, then an optional header of the answer (held while
 *           it may still match, dropped when it does).
 *   CONTENT everything is content (a zeroed oai_reasoning is in it).
 */
#include <string.h>

#include "oai_reasoning.h"
#include "server_internal.h"

enum { ST_CONTENT = 0, ST_START, ST_IN_LEAD, ST_IN, ST_AFTER }; /* a zeroed splitter passes everything */

typedef struct pattern {
  const char *text;
  uint8_t next; /* the state once it matched */
} pattern;

typedef struct style_def {
  const char *close;
  pattern start[2], after[2]; /* text NULL: none */
} style_def;

static const style_def STYLES[3] = {
    [OAI_THINK_TAGS] = {.close = "</think>", .start = {{"<think>", ST_IN_LEAD}}},
    [OAI_THINK_CHANNELS] = {.close = "<|end|>",
                            .start = {{"<|channel|>analysis<|message|>", ST_IN_LEAD},
                                      {"<|channel|>final<|message|>", ST_CONTENT}},
                            .after = {{"<|start|>assistant<|channel|>final<|message|>", ST_CONTENT},
                                      {"<|channel|>final<|message|>", ST_CONTENT}}},
};

static bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

static bool put(struct srv_buf *b, const char *s, size_t n) { return n ? srv_buf_append(b, s, n) : true; }

/* Whether s[0..n) ends with `tail` after stripping trailing whitespace from s. */
static bool ends_with_ws(const char *s, size_t n, const char *tail) {
  while (n && is_ws(s[n - 1])) n--;
  size_t t = strlen(tail);
  return n >= t && !memcmp(s + n - t, tail, t);
}

/* Offset of the last occurrence of `needle` in s[0..n), or -1. */
static long last_of(const char *s, size_t n, const char *needle) {
  size_t m = strlen(needle);
  for (size_t i = n >= m ? n - m + 1 : 0; i-- > 0;)
    if (!memcmp(s + i, needle, m)) return (long)i;
  return -1;
}

void oai_reasoning_detect(const char *prompt, size_t len, int *style, int *start) {
  *start = OAI_THINK_MAY_OPEN;
  if (ends_with_ws(prompt, len, "<|start|>assistant") || last_of(prompt, len, "<|channel|>") >= 0) {
    *style = OAI_THINK_CHANNELS;
    if (ends_with_ws(prompt, len, "<|channel|>analysis<|message|>")) *start = OAI_THINK_OPENED;
    else if (ends_with_ws(prompt, len, "<|channel|>final<|message|>")) *start = OAI_THINK_CLOSED;
    return;
  }
  *style = OAI_THINK_TAGS;
  long open = last_of(prompt, len, "<think>"), close = last_of(prompt, len, "</think>");
  if (open >= 0 && open > close) *start = OAI_THINK_OPENED;
  else if (close >= 0 && ends_with_ws(prompt, len, "</think>")) *start = OAI_THINK_CLOSED;
}

void oai_reasoning_init(oai_reasoning *r, int style, int start) {
  memset(r, 0, sizeof *r);
  r->style = (uint8_t)style;
  if (style == OAI_THINK_OFF) r->state = ST_CONTENT;
  else if (start == OAI_THINK_OPENED) r->state = ST_IN_LEAD, r->any = true;
  else if (start == OAI_THINK_CLOSED) r->state = ST_AFTER;
  else r->state = ST_START;
}

/* Among `pats`, the state of one equal to t[0..n), or -1 when t is a proper prefix of one, or -2
 * when it can match none. */
static int match(const pattern *pats, const char *t, size_t n) {
  int result = -2;
  for (int i = 0; i < 2 && pats[i].text; i++) {
    size_t m = strlen(pats[i].text);
    if (n <= m && !memcmp(pats[i].text, t, n)) {
      if (n == m) return pats[i].next;
      result = -1;
    }
  }
  return result;
}

/* The held bytes plus c, as one string in tmp; its length. */
static size_t held_plus(const oai_reasoning *r, char c, char *tmp) {
  memcpy(tmp, r->held, r->n_held);
  tmp[r->n_held] = c;
  return (size_t)r->n_held + 1;
}

static void hold(oai_reasoning *r, const char *t, size_t n) {
  memmove(r->held, t, n);
  r->n_held = (uint8_t)n;
}

static void enter(oai_reasoning *r, int state) {
  r->state = (uint8_t)state;
  r->n_held = 0;
  if (state == ST_IN_LEAD) r->any = true;
}

/* START and AFTER: whitespace (held in START, dropped in AFTER), then a pattern. */
static bool step_match(oai_reasoning *r, const pattern *pats, char c, struct srv_buf *content) {
  char tmp[OAI_REASONING_HOLD + 1];
  size_t ws = 0;
  while (ws < r->n_held && is_ws(r->held[ws])) ws++;
  if (ws == r->n_held && is_ws(c)) {
    if (r->state == ST_AFTER) return true; /* dropped */
    if (r->n_held < OAI_REASONING_HOLD) {
      r->held[r->n_held++] = c;
      return true;
    }
    size_t n = held_plus(r, c, tmp);
    enter(r, ST_CONTENT);
    return put(content, tmp, n);
  }
  size_t n = held_plus(r, c, tmp);
  int m = match(pats, tmp + ws, n - ws);
  if (m >= 0) {
    enter(r, m);
    return true;
  }
  if (m == -1 && n <= OAI_REASONING_HOLD) {
    hold(r, tmp, n);
    return true;
  }
  enter(r, ST_CONTENT);
  return put(content, tmp, n);
}

/* IN: keep held = the longest tail that is whitespace + a prefix of the closing marker. */
static bool step_in(oai_reasoning *r, char c, struct srv_buf *reasoning) {
  const char *close = STYLES[r->style].close;
  size_t m = strlen(close);
  char tmp[OAI_REASONING_HOLD + 1];
  size_t n = held_plus(r, c, tmp);
  for (size_t i = 0; i < n; i++) {
    size_t j = i;
    while (j < n && is_ws(tmp[j])) j++;
    size_t rest = n - j;
    if (rest > m || memcmp(close, tmp + j, rest)) continue;
    if (!put(reasoning, tmp, i)) return false;
    if (rest == m) {
      enter(r, ST_AFTER);
      return true;
    }
    if (n - i <= OAI_REASONING_HOLD) {
      hold(r, tmp + i, n - i);
      return true;
    }
    /* a whitespace run too long to hold: let its front out */
    size_t keep = OAI_REASONING_HOLD;
    if (!put(reasoning, tmp + i, n - i - keep)) return false;
    hold(r, tmp + n - keep, keep);
    return true;
  }
  r->n_held = 0;
  return put(reasoning, tmp, n);
}

static bool step(oai_reasoning *r, char c, struct srv_buf *reasoning, struct srv_buf *content) {
  const style_def *sd = &STYLES[r->style];
  switch (r->state) {
    case ST_START: return step_match(r, sd->start, c, content);
    case ST_IN_LEAD:
      if (is_ws(c)) return true;
      r->state = ST_IN;
      return step_in(r, c, reasoning);
    case ST_IN: return step_in(r, c, reasoning);
    case ST_AFTER:
      if (!sd->after[0].text) {
        if (is_ws(c)) return true;
        r->state = ST_CONTENT;
        return put(content, &c, 1);
      }
      return step_match(r, sd->after, c, content);
    default: return put(content, &c, 1);
  }
}

bool oai_reasoning_feed(oai_reasoning *r, const char *s, size_t n, struct srv_buf *reasoning,
                        struct srv_buf *content) {
  size_t i = 0;
  while (i < n) {
    if (r->state == ST_CONTENT) { /* the common case: the rest at once */
      if (!put(content, s + i, n - i)) return false;
      break;
    }
    if (r->state == ST_IN && !r->n_held) { /* reasoning up to the next byte that may start a hold */
      size_t j = i;
      while (j < n && !is_ws(s[j]) && s[j] != STYLES[r->style].close[0]) j++;
      if (j > i && !put(reasoning, s + i, j - i)) return false;
      i = j;
      if (i == n) break;
    }
    if (!step(r, s[i], reasoning, content)) return false;
    i++;
  }
  return true;
}

bool oai_reasoning_end(oai_reasoning *r, struct srv_buf *reasoning, struct srv_buf *content) {
  bool in = r->state == ST_IN || r->state == ST_IN_LEAD;
  bool ok = put(in ? reasoning : content, r->held, r->n_held);
  r->n_held = 0;
  r->state = ST_CONTENT;
  return ok;
}

bool oai_reasoning_marker_piece(int style, const char *s, size_t n) {
  if (style != OAI_THINK_TAGS && style != OAI_THINK_CHANNELS) return false;
  if (!n) return false;
  const style_def *sd = &STYLES[style];
  const char *texts[5] = {sd->close, sd->start[0].text, sd->start[1].text, sd->after[0].text, sd->after[1].text};
  for (int k = 0; k < 5; k++) {
    if (!texts[k]) continue;
    size_t m = strlen(texts[k]);
    for (size_t i = 0; i + n <= m; i++)
      if (!memcmp(texts[k] + i, s, n)) return true;
  }
  return false;
}
