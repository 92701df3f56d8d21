/*
 * oai_reasoning.h — splits a chat answer into the model's reasoning (the OpenAI-compatible
 * "reasoning_content", as vLLM and llama-server name it) and the answer ("content"), while the
 * text arrives in pieces of any size.
 *
 * Styles (oai_reasoning_detect picks one from the rendered prompt):
 * - OAI_THINK_TAGS: a block `<think>` ... `</think>` at the start of the answer (Qwen3, DeepSeek-R1
 *   distills, SmolLM3, Nemotron, Granite 3.3 ...). Whitespace before `<think>`, right after it,
 *   before `</think>` and right after it is dropped (the templates write `<think>\n` and
 *   `</think>\n\n`). An answer that does not begin with `<think>` (after whitespace) is content,
 *   byte for byte.
 * - OAI_THINK_CHANNELS: gpt-oss's harmony channels: `<|channel|>analysis<|message|>` ... `<|end|>`
 *   is the reasoning; the header `<|start|>assistant<|channel|>final<|message|>` (or
 *   `<|channel|>final<|message|>`) before the answer is dropped. Other channels (commentary: tool
 *   calls) stay in the content, headers included, for the tool-call parser.
 * The prompt may already have opened the block (DeepSeek-R1's and Nemotron's generation prompt ends
 * in `<think>\n`: the answer starts inside it) or opened and closed it (Qwen3 with
 * enable_thinking false ends in `<think>\n\n</think>\n\n`): oai_reasoning_detect reads the
 * prompt's tail and says which (oai_think_start).
 *
 * Invariants: the splitter holds back at most OAI_REASONING_HOLD bytes, and only ASCII bytes that
 * may still become a marker (or whitespace before one), so every piece it lets out ends on a whole
 * UTF-8 character when its input did. Its output depends only on the concatenated input: feeding
 * the text in any pieces, then oai_reasoning_end, gives the same reasoning and content as feeding
 * it whole (tests/server/test_oai_reasoning.c checks every split).
 */
#ifndef PV_OAI_REASONING_H
#define PV_OAI_REASONING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct srv_buf;

typedef enum oai_think_style { OAI_THINK_OFF = 0, OAI_THINK_TAGS = 1, OAI_THINK_CHANNELS = 2 } oai_think_style;

typedef enum oai_think_start {
  OAI_THINK_MAY_OPEN = 0, /* the answer may begin with the opening marker */
  OAI_THINK_OPENED = 1,   /* the prompt ends inside an open block: the answer starts as reasoning */
  OAI_THINK_CLOSED = 2    /* the prompt opened and closed the block: the answer is content */
} oai_think_start;

#define OAI_REASONING_HOLD 96

typedef struct oai_reasoning {
  uint8_t style, state;
  bool any;      /* a block was opened: the answer has a reasoning part (possibly empty) */
  uint8_t n_held;
  char held[OAI_REASONING_HOLD];
} oai_reasoning;

/* The style and start for a chat whose rendered prompt is prompt[0..len). */
void oai_reasoning_detect(const char *prompt, size_t len, int *style, int *start);
/* style OAI_THINK_OFF: everything is content. */
void oai_reasoning_init(oai_reasoning *r, int style, int start);
/* Splits the next piece of the answer, appending to *reasoning and *content; false when an
 * append ran out of memory. */
bool oai_reasoning_feed(oai_reasoning *r, const char *s, size_t n, struct srv_buf *reasoning,
                        struct srv_buf *content);
/* The end of the answer: what was held back goes where it was (a marker never completed is text). */
bool oai_reasoning_end(oai_reasoning *r, struct srv_buf *reasoning, struct srv_buf *content);
/* True when s[0..n) is part of one of the style's markers: the text of a control token that the
 * engine's text leaves out (gpt-oss's <|channel|>, a <think> marked as a control token), which the
 * server then feeds in its place. */
bool oai_reasoning_marker_piece(int style, const char *s, size_t n);

#endif
