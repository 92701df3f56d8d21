/*
 * test_oai_reasoning.c — the reasoning / content splitter of chat answers
 * (runtime/server/oai_reasoning.c), without a server:
 * - the style and start read from real templates' generation prompts (Qwen3 with thinking on and
 *   off, DeepSeek-R1 distills opening `<think>\n`, Nemotron closing `<think></think>`, gpt-oss);
 * - <think> blocks: reasoning and content apart, the whitespace around the markers dropped, an
 *   answer that does not begin with <think> left byte for byte as content, markers in the middle
 *   of content left alone, an unclosed block (max_tokens) all reasoning;
 * - gpt-oss channels: analysis is reasoning, the final header dropped, commentary left as content;
 * - every answer cut at every byte boundary (and fed one byte at a time) gives exactly the
 *   reasoning and content of feeding it whole: the streamed deltas reassemble to the
 *   non-streamed message;
 * - long whitespace runs inside a block stay bounded (nothing held past OAI_REASONING_HOLD).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagedvk.h"

#include "server/server_internal.h"

typedef struct split {
  srv_buf reasoning, content;
  bool any;
} split;

static void split_free(split *s) {
  srv_buf_free(&s->reasoning);
  srv_buf_free(&s->content);
}

/* Feeds text in the given pieces (cuts: ascending offsets, n_cuts of them). */
static split run_cuts(int style, int start, const char *text, const size_t *cuts, size_t n_cuts) {
  split out = {0};
  oai_reasoning r;
  oai_reasoning_init(&r, style, start);
  size_t len = strlen(text), from = 0;
  for (size_t i = 0; i <= n_cuts; i++) {
    size_t to = i < n_cuts ? cuts[i] : len;
    assert_true(oai_reasoning_feed(&r, text + from, to - from, &out.reasoning, &out.content));
    assert_true(r.n_held <= OAI_REASONING_HOLD);
    from = to;
  }
  assert_true(oai_reasoning_end(&r, &out.reasoning, &out.content));
  out.any = r.any;
  return out;
}

static split run(int style, int start, const char *text) { return run_cuts(style, start, text, NULL, 0); }

static void expect_buf(const srv_buf *b, const char *want) {
  char *got = strndup(b->p ? b->p : "", b->len);
  assert_string_equal(got, want);
  free(got);
}

/* The whole text, every single cut, and one byte at a time all agree with `reasoning` / `content`. */
static void check(int style, int start, const char *text, const char *reasoning, const char *content, bool any) {
  split whole = run(style, start, text);
  expect_buf(&whole.reasoning, reasoning);
  expect_buf(&whole.content, content);
  assert_int_equal(whole.any, any);
  size_t len = strlen(text);
  for (size_t cut = 0; cut <= len; cut++) {
    split two = run_cuts(style, start, text, &cut, 1);
    expect_buf(&two.reasoning, reasoning);
    expect_buf(&two.content, content);
    assert_int_equal(two.any, any);
    split_free(&two);
  }
  size_t *cuts = malloc((len + 1) * sizeof *cuts);
  assert_non_null(cuts);
  for (size_t i = 0; i < len; i++) cuts[i] = i + 1;
  split bytes = run_cuts(style, start, text, cuts, len ? len - 1 : 0);
  expect_buf(&bytes.reasoning, reasoning);
  expect_buf(&bytes.content, content);
  split_free(&bytes);
  free(cuts);
  split_free(&whole);
}

static void detect(const char *prompt, int style, int start) {
  int st = -1, sa = -1;
  oai_reasoning_detect(prompt, strlen(prompt), &st, &sa);
  assert_int_equal(st, style);
  assert_int_equal(sa, start);
}

static void test_detect_from_prompts(void **state) {
  (void)state;
  /* Qwen3: thinking on (the model opens the block), off (the prompt closed it), history */
  detect("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", OAI_THINK_TAGS, OAI_THINK_MAY_OPEN);
  detect("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n", OAI_THINK_TAGS,
         OAI_THINK_CLOSED);
  detect("<|im_start|>assistant\n<think>\nx\n</think>\n\n391.<|im_end|>\n<|im_start|>user\nand?<|im_end|>\n"
         "<|im_start|>assistant\n",
         OAI_THINK_TAGS, OAI_THINK_MAY_OPEN);
  /* DeepSeek-R1 distill: the generation prompt opens the block */
  detect("<\xef\xbd\x9cUser\xef\xbd\x9c>Hi<\xef\xbd\x9c" "Assistant\xef\xbd\x9c><think>\n", OAI_THINK_TAGS,
         OAI_THINK_OPENED);
  /* Nemotron: opened, or opened and closed with enable_thinking false */
  detect("<|im_start|>assistant\n<think>\n", OAI_THINK_TAGS, OAI_THINK_OPENED);
  detect("<|im_start|>assistant\n<think></think>", OAI_THINK_TAGS, OAI_THINK_CLOSED);
  /* gpt-oss */
  detect("<|start|>user<|message|>Hi<|end|><|start|>assistant", OAI_THINK_CHANNELS, OAI_THINK_MAY_OPEN);
  detect("<|start|>assistant<|channel|>analysis<|message|>", OAI_THINK_CHANNELS, OAI_THINK_OPENED);
  detect("<|start|>assistant<|channel|>final<|message|>", OAI_THINK_CHANNELS, OAI_THINK_CLOSED);
}

static void test_think_tags(void **state) {
  (void)state;
  int T = OAI_THINK_TAGS;
  check(T, OAI_THINK_MAY_OPEN, "<think>\nLet me add.\n2+2=4\n</think>\n\nThe answer is 4.", "Let me add.\n2+2=4",
        "The answer is 4.", true);
  check(T, OAI_THINK_MAY_OPEN, "\n <think>a</think>b", "a", "b", true);
  check(T, OAI_THINK_MAY_OPEN, "<think>\n\n</think>\n\nHi", "", "Hi", true);
  /* not a block at the start: content as generated, whitespace and near-misses included */
  check(T, OAI_THINK_MAY_OPEN, "  Hello <think>x</think>", "", "  Hello <think>x</think>", false);
  check(T, OAI_THINK_MAY_OPEN, "<thinking>x", "", "<thinking>x", false);
  check(T, OAI_THINK_MAY_OPEN, "<thi", "", "<thi", false);
  check(T, OAI_THINK_MAY_OPEN, "\n\n", "", "\n\n", false);
  check(T, OAI_THINK_MAY_OPEN, "", "", "", false);
  /* a block that never closes (max_tokens): all reasoning, a partial marker included */
  check(T, OAI_THINK_MAY_OPEN, "<think>\nstill thinking </thi", "still thinking </thi", "", true);
  /* opened by the prompt (DeepSeek-R1): the answer starts inside */
  check(T, OAI_THINK_OPENED, "Okay, so 17*23 = 391.\n</think>\n\n391", "Okay, so 17*23 = 391.", "391", true);
  check(T, OAI_THINK_OPENED, "x < y </ b </think> z </think>", "x < y </ b", "z </think>", true);
  /* closed by the prompt (enable_thinking false): content, leading whitespace dropped */
  check(T, OAI_THINK_CLOSED, "\n\nParis. <think>", "", "Paris. <think>", false);
  /* multi-byte text next to the markers stays whole */
  check(T, OAI_THINK_MAY_OPEN, "<think>\xc3\xa9t\xc3\xa9 \xe2\x9c\x93</think>\xe2\x9c\x93 ok", "\xc3\xa9t\xc3\xa9 \xe2\x9c\x93",
        "\xe2\x9c\x93 ok", true);
}

static void test_channels(void **state) {
  (void)state;
  int C = OAI_THINK_CHANNELS;
  check(C, OAI_THINK_MAY_OPEN,
        "<|channel|>analysis<|message|>User asks 2+2.<|end|><|start|>assistant<|channel|>final<|message|>4",
        "User asks 2+2.", "4", true);
  check(C, OAI_THINK_MAY_OPEN, "<|channel|>final<|message|>Just 4.", "", "Just 4.", false);
  /* a tool call stays content (the tool-call parser reads its header) */
  check(C, OAI_THINK_MAY_OPEN,
        "<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>commentary to=functions.w "
        "<|constrain|>json<|message|>{}",
        "Need weather.", "<|start|>assistant<|channel|>commentary to=functions.w <|constrain|>json<|message|>{}", true);
  check(C, OAI_THINK_OPENED, "thinking<|end|><|start|>assistant<|channel|>final<|message|>done", "thinking", "done",
        true);
}

static void test_off_passes_everything(void **state) {
  (void)state;
  check(OAI_THINK_OFF, OAI_THINK_OPENED, "<think>a</think>b", "", "<think>a</think>b", false);
  /* a zeroed splitter (a choice of a completion) is the same */
  oai_reasoning r;
  memset(&r, 0, sizeof r);
  split s = {0};
  assert_true(oai_reasoning_feed(&r, "<think>x", 8, &s.reasoning, &s.content));
  assert_true(oai_reasoning_end(&r, &s.reasoning, &s.content));
  expect_buf(&s.content, "<think>x");
  assert_int_equal(s.reasoning.len, 0);
  split_free(&s);
}

static void test_long_whitespace_bounded(void **state) {
  (void)state;
  size_t n = 1000;
  char *text = malloc(n + 64), *want = malloc(n + 64);
  assert_non_null(text);
  assert_non_null(want);
  strcpy(text, "<think>a");
  memset(text + 8, ' ', n);
  strcpy(text + 8 + n, "b\n</think>ok");
  strcpy(want, "a");
  memset(want + 1, ' ', n);
  strcpy(want + 1 + n, "b");
  check(OAI_THINK_TAGS, OAI_THINK_MAY_OPEN, text, want, "ok", true);
  /* spaces then the marker: the spaces held when the marker completes are dropped (fewer than
   * OAI_REASONING_HOLD), the rest were let out as reasoning */
  strcpy(text + 8 + n, "</think>ok");
  split whole = run(OAI_THINK_TAGS, OAI_THINK_MAY_OPEN, text);
  assert_true(whole.reasoning.len > n + 1 - OAI_REASONING_HOLD && whole.reasoning.len < n + 1);
  assert_memory_equal(whole.reasoning.p, want, whole.reasoning.len);
  want[whole.reasoning.len] = 0;
  split_free(&whole);
  check(OAI_THINK_TAGS, OAI_THINK_MAY_OPEN, text, want, "ok", true);
  strcpy(text + 8 + 40, "</think>ok");
  check(OAI_THINK_TAGS, OAI_THINK_MAY_OPEN, text, "a", "ok", true);
  /* a long whitespace start that never meets <think> is content */
  memset(text, '\n', n);
  strcpy(text + n, "hi");
  check(OAI_THINK_TAGS, OAI_THINK_MAY_OPEN, text, "", text, false);
  free(text);
  free(want);
}

static void test_marker_pieces(void **state) {
  (void)state;
  assert_true(oai_reasoning_marker_piece(OAI_THINK_CHANNELS, "<|channel|>", 11));
  assert_true(oai_reasoning_marker_piece(OAI_THINK_CHANNELS, "<|end|>", 7));
  assert_false(oai_reasoning_marker_piece(OAI_THINK_CHANNELS, "<|return|>", 10));
  assert_true(oai_reasoning_marker_piece(OAI_THINK_TAGS, "<think>", 7));
  assert_false(oai_reasoning_marker_piece(OAI_THINK_TAGS, "<|im_end|>", 10));
  assert_false(oai_reasoning_marker_piece(OAI_THINK_OFF, "<think>", 7));
  assert_false(oai_reasoning_marker_piece(OAI_THINK_TAGS, "", 0));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_detect_from_prompts), cmocka_unit_test(test_think_tags),
      cmocka_unit_test(test_channels),           cmocka_unit_test(test_off_passes_everything),
      cmocka_unit_test(test_long_whitespace_bounded), cmocka_unit_test(test_marker_pieces),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

