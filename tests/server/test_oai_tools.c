/*
 * test_oai_tools.c — tool calls in model text (runtime/server/oai_tools.c), without a model:
 * - each family's call syntax (as its real template writes calls, and the variants models use)
 *   gives the calls with compact JSON arguments, the content around them and the reasoning;
 * - malformed calls (not JSON, no name, cut off at the end, a marker not followed by a call) are
 *   content, byte for byte: nothing the model wrote is lost;
 * - fed in two pieces cut at every byte, and one byte at a time, the parser gives out at every
 *   step a prefix of what the whole text gives, and the same result in the end (streaming
 *   reassembles to the non-streamed message) — for the cases and for 300 random texts of markers,
 *   JSON pieces and prose in every family;
 * - detection of the family from template text (the real templates of ../shared when present);
 * - behind the reasoning splitter (oai_reasoning.h, which the server runs first): think blocks and
 *   gpt-oss analysis are reasoning, the calls after them still parsed, at every cut;
 * - the forced-call grammar of every family compiles, accepts the family's call (after the
 *   prefill) and refuses one whose arguments break the schema; the parser reads that call back;
 *   an unsupported schema keyword is a 400 naming tools[i].function.parameters and its pointer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagedvk.h"

#include "sample/grammar/grammar.h"
#include "server/oai_tools.h"
#include "shared_paths.h"

#define DS_CALLS_BEGIN "<\xEF\xBD\x9Ctool\xE2\x96\x81" "calls\xE2\x96\x81" "begin\xEF\xBD\x9C>"
#define DS_CALLS_END "<\xEF\xBD\x9Ctool\xE2\x96\x81" "calls\xE2\x96\x81" "end\xEF\xBD\x9C>"
#define DS_CALL_BEGIN "<\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81" "begin\xEF\xBD\x9C>"
#define DS_CALL_END "<\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81" "end\xEF\xBD\x9C>"
#define DS_SEP "<\xEF\xBD\x9Ctool\xE2\x96\x81" "sep\xEF\xBD\x9C>"

typedef struct want {
  oai_tool_family fam;
  const char *text;
  const char *content; /* NULL: the text itself (a malformed call is content) */
  const char *think;
  const char *calls[4][2]; /* name, compact arguments */
} want;

static const want CASES[] = {
  /* Hermes / Qwen 2.5 / Qwen 3, as the template writes two calls */
  {OAI_TF_HERMES,
   "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", \"unit\": \"celsius\"}}\n"
   "</tool_call>\n<tool_call>\n{\"name\": \"search_notes\", \"arguments\": {\"query\": \"packing list\", \"limit\": 3, "
   "\"tags\": [\"travel\", \"paris\"], \"exact\": false}}\n</tool_call>",
   "", "",
   {{"get_weather", "{\"location\":\"Paris\",\"unit\":\"celsius\"}"},
    {"search_notes", "{\"query\":\"packing list\",\"limit\":3,\"tags\":[\"travel\",\"paris\"],\"exact\":false}"}}},
  {OAI_TF_HERMES, "Let me look.\n\n<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>\n", "Let me look.", "",
   {{"f", "{}"}}},
  {OAI_TF_HERMES, "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": [1, 2.5e3]}\"}</tool_call> and more",
   "and more", "", {{"f", "{\"a\":[1,2.5e3]}"}}},
  {OAI_TF_HERMES, "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}", "", "", {{"f", "{\"a\":1}"}}},
  /* Qwen3-Coder / Nemotron XML form */
  {OAI_TF_HERMES,
   "<tool_call>\n<function=get_weather>\n<parameter=location>\nParis, \"FR\"\n</parameter>\n<parameter=days>\n3\n"
   "</parameter>\n</function>\n</tool_call>",
   "", "", {{"get_weather", "{\"location\":\"Paris, \\\"FR\\\"\",\"days\":3}"}}},
  /* malformed: content, byte for byte */
  {OAI_TF_HERMES, "<tool_call>\n{\"name\": \"x\", \"arguments\": {\"a\": tru}}\n</tool_call>", NULL, "", {{0}}},
  {OAI_TF_HERMES, "<tool_call>\n{\"name\": \"x\", \"argu", NULL, "", {{0}}},
  {OAI_TF_HERMES, "<tool_call> I will not call anything", NULL, "", {{0}}},
  {OAI_TF_HERMES, "<tool_call>{\"arguments\": {}}</tool_call>", NULL, "", {{0}}},
  {OAI_TF_HERMES, "a <tool> b <tool_ca", NULL, "", {{0}}},
  {OAI_TF_HERMES, "<tool_call>oops</tool_call>\n<tool_call>{\"name\": \"g\", \"arguments\": {\"k\": null}}</tool_call>",
   "<tool_call>oops</tool_call>", "", {{"g", "{\"k\":null}"}}},
  /* Llama 3.x */
  {OAI_TF_LLAMA3, "{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\", \"unit\": \"celsius\"}}", "", "",
   {{"get_weather", "{\"location\":\"Paris\",\"unit\":\"celsius\"}"}}},
  {OAI_TF_LLAMA3, "<|python_tag|>{\"name\": \"f\", \"parameters\": {\"q\": \"x\"}}; {\"name\": \"g\", \"arguments\": {}}",
   "", "", {{"f", "{\"q\":\"x\"}"}, {"g", "{}"}}},
  {OAI_TF_LLAMA3, "  \n{ \"name\" : \"f\", \"parameters\": {}}", "", "", {{"f", "{}"}}},
  {OAI_TF_LLAMA3, "The answer is {\"name\": \"f\", \"parameters\": {}}", NULL, "", {{0}}},
  {OAI_TF_LLAMA3, "{\"name\": \"f\", \"parameters\": {", NULL, "", {{0}}},
  {OAI_TF_LLAMA3, "{\"x\": 1}", NULL, "", {{0}}},
  {OAI_TF_GENERIC, "{\"name\": \"f\", \"arguments\": {\"a\": \"b\"}}", "", "", {{"f", "{\"a\":\"b\"}"}}},
  /* Mistral: JSON list (Nemo) and NAME[ARGS] (Devstral) */
  {OAI_TF_MISTRAL,
   "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}, \"id\": \"a1B2c3D4e\"}, "
   "{\"name\": \"g\", \"arguments\": {}}]",
   "", "", {{"get_weather", "{\"location\":\"Paris\"}"}, {"g", "{}"}}},
  {OAI_TF_MISTRAL_ARGS,
   "Sure.[TOOL_CALLS]get_weather[ARGS]{\"location\": \"Paris\"}[TOOL_CALLS]search_notes[CALL_ID]abc123XYZ[ARGS]{\"query\": "
   "\"x\"}",
   "Sure.", "", {{"get_weather", "{\"location\":\"Paris\"}"}, {"search_notes", "{\"query\":\"x\"}"}}},
  {OAI_TF_MISTRAL_ARGS, "[TOOL_CALLS]oops no args", NULL, "", {{0}}},
  {OAI_TF_MISTRAL, "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}}, 42]", NULL, "", {{0}}},
  /* gpt-oss harmony channels */
  {OAI_TF_GPT_OSS,
   "<|channel|>analysis<|message|>Need the weather.<|end|><|start|>assistant<|channel|>commentary "
   "to=functions.get_weather <|constrain|>json<|message|>{\"location\": \"Paris\"}<|call|>",
   "", "Need the weather.", {{"get_weather", "{\"location\":\"Paris\"}"}}},
  {OAI_TF_GPT_OSS,
   "<|channel|>analysis<|message|>Just greet.<|end|><|start|>assistant<|channel|>final<|message|>Hello there!", "Hello there!",
   "Just greet.", {{0}}},
  {OAI_TF_GPT_OSS, "<|start|>assistant to=functions.f<|channel|>commentary json<|message|>{\"a\": 1}", "", "",
   {{"f", "{\"a\":1}"}}},
  {OAI_TF_GPT_OSS, "<|channel|>commentary to=functions.f <|constrain|>json<|message|>not json", "not json", "", {{0}}},
  {OAI_TF_GPT_OSS, "<|channel|>commentary to=functions.f<|message|>{\"a\": ", "{\"a\": ", "", {{0}}},
  /* DeepSeek R1 and V3.1 */
  {OAI_TF_DEEPSEEK,
   "Checking." DS_CALLS_BEGIN DS_CALL_BEGIN "function" DS_SEP "get_weather\n```json\n{\"location\": \"Paris\"}\n```" DS_CALL_END
   DS_CALL_BEGIN "function" DS_SEP "g\n```json\n{}\n```" DS_CALL_END DS_CALLS_END,
   "Checking.", "", {{"get_weather", "{\"location\":\"Paris\"}"}, {"g", "{}"}}},
  {OAI_TF_DEEPSEEK, DS_CALLS_BEGIN DS_CALL_BEGIN "get_weather" DS_SEP "{\"location\": \"Paris\"}" DS_CALL_END DS_CALLS_END,
   "", "", {{"get_weather", "{\"location\":\"Paris\"}"}}},
  {OAI_TF_DEEPSEEK, DS_CALLS_BEGIN DS_CALL_BEGIN "function" DS_SEP "f\n```json\n{\"a\": ", NULL, "", {{0}}},
  /* Granite */
  {OAI_TF_GRANITE, "<|tool_call|>[{\"name\": \"f\", \"arguments\": {\"a\": [1, 2]}}]", "", "", {{"f", "{\"a\":[1,2]}"}}},
  {OAI_TF_GRANITE, "<|tool_call|>{not a list", NULL, "", {{0}}},
  /* Command-R7B */
  {OAI_TF_COMMAND_R,
   "<|START_THINKING|>I should call get_weather.<|END_THINKING|><|START_ACTION|>[\n    {\"tool_call_id\": \"0\", "
   "\"tool_name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\"}}\n]<|END_ACTION|>",
   "", "I should call get_weather.", {{"get_weather", "{\"location\":\"Paris\"}"}}},
  {OAI_TF_COMMAND_R, "<|START_RESPONSE|>It is sunny.<|END_RESPONSE|>", "It is sunny.", "", {{0}}},
};

/* What the parser has given out so far. */
typedef struct got {
  char content[8192], think[8192];
  size_t n_calls;
  char names[8][64], args[8][512];
} got;

static void snapshot(const oai_tool_parser *p, got *g) {
  memset(g, 0, sizeof *g);
  assert_true(p->content.len < sizeof g->content && p->think.len < sizeof g->think);
  if (p->content.len) memcpy(g->content, p->content.p, p->content.len);
  if (p->think.len) memcpy(g->think, p->think.p, p->think.len);
  assert_true(p->n_calls <= 8);
  g->n_calls = p->n_calls;
  for (size_t k = 0; k < p->n_calls; k++) {
    snprintf(g->names[k], sizeof g->names[k], "%s", p->calls[k].name);
    snprintf(g->args[k], sizeof g->args[k], "%s", p->calls[k].args);
  }
}

static void whole(oai_tool_family f, const char *prefill, const char *text, got *g) {
  oai_tool_parser p;
  oai_tools_init(&p, f, prefill);
  assert_true(oai_tools_feed(&p, text, strlen(text)));
  assert_true(oai_tools_finish(&p));
  snapshot(&p, g);
  oai_tools_free(&p);
}

static bool is_prefix(const char *a, const char *b) { return strncmp(a, b, strlen(a)) == 0; }

/* `part` is what a stream may have given out before `all`: each text a prefix, the calls a prefix. */
static void assert_prefix(const got *part, const got *all, const char *text, size_t cut) {
  if (!is_prefix(part->content, all->content) || !is_prefix(part->think, all->think) || part->n_calls > all->n_calls)
    fail_msg("cut at %zu of %s: gave out '%s' / '%s' / %zu calls, whole gives '%s' / '%s' / %zu", cut, text,
             part->content, part->think, part->n_calls, all->content, all->think, all->n_calls);
  for (size_t k = 0; k < part->n_calls; k++) {
    assert_string_equal(part->names[k], all->names[k]);
    assert_string_equal(part->args[k], all->args[k]);
  }
}

static void assert_same(const got *a, const got *b) {
  assert_string_equal(a->content, b->content);
  assert_string_equal(a->think, b->think);
  assert_int_equal(a->n_calls, b->n_calls);
  for (size_t k = 0; k < a->n_calls; k++) {
    assert_string_equal(a->names[k], b->names[k]);
    assert_string_equal(a->args[k], b->args[k]);
  }
}

/* The text in two pieces cut at every byte, and one byte at a time. */
static void streamed_matches(oai_tool_family f, const char *prefill, const char *text, const got *all) {
  const size_t n = strlen(text);
  for (size_t cut = 0; cut <= n; cut++) {
    oai_tool_parser p;
    got part, end;
    oai_tools_init(&p, f, prefill);
    assert_true(oai_tools_feed(&p, text, cut));
    snapshot(&p, &part);
    assert_prefix(&part, all, text, cut);
    assert_true(oai_tools_feed(&p, text + cut, n - cut));
    assert_true(oai_tools_finish(&p));
    snapshot(&p, &end);
    assert_same(&end, all);
    oai_tools_free(&p);
  }
  oai_tool_parser p;
  got part;
  oai_tools_init(&p, f, prefill);
  for (size_t i = 0; i < n; i++) {
    assert_true(oai_tools_feed(&p, text + i, 1));
    snapshot(&p, &part);
    assert_prefix(&part, all, text, i + 1);
  }
  assert_true(oai_tools_finish(&p));
  snapshot(&p, &part);
  assert_same(&part, all);
  oai_tools_free(&p);
}

static void test_families_parse(void **state) {
  (void)state;
  for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
    const want *w = &CASES[c];
    got g;
    whole(w->fam, NULL, w->text, &g);
    const char *content = w->content ? w->content : w->text;
    if (strcmp(g.content, content) || strcmp(g.think, w->think ? w->think : ""))
      fail_msg("case %zu (%s): content '%s' think '%s', want '%s' / '%s'", c, oai_tools_family_name(w->fam), g.content,
               g.think, content, w->think);
    size_t n_want = 0;
    while (n_want < 4 && w->calls[n_want][0]) n_want++;
    if (g.n_calls != n_want) fail_msg("case %zu: %zu calls, want %zu", c, g.n_calls, n_want);
    for (size_t k = 0; k < n_want; k++) {
      assert_string_equal(g.names[k], w->calls[k][0]);
      assert_string_equal(g.args[k], w->calls[k][1]);
    }
  }
}

static void test_streaming_splits(void **state) {
  (void)state;
  for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
    got all;
    whole(CASES[c].fam, NULL, CASES[c].text, &all);
    streamed_matches(CASES[c].fam, NULL, CASES[c].text, &all);
  }
}

static void test_detect(void **state) {
  (void)state;
  static const struct {
    const char *text;
    oai_tool_family f;
  } own[] = {
    {"{{ '<tool_call>\\n' }}{{ tool_call | tojson }}{{ '\\n</tool_call>' }}", OAI_TF_HERMES},
    {"<|start_header_id|>ipython<|end_header_id|>", OAI_TF_LLAMA3},
    {"[TOOL_CALLS][", OAI_TF_MISTRAL},
    {"[TOOL_CALLS]{{ name }}[ARGS]", OAI_TF_MISTRAL_ARGS},
    {"<|channel|>commentary{{ ' to=' + recipient }}<|message|>{{ args }}<|call|>", OAI_TF_GPT_OSS},
    {DS_CALL_BEGIN, OAI_TF_DEEPSEEK},
    {"<|tool_call|>", OAI_TF_GRANITE},
    {"<|START_ACTION|>", OAI_TF_COMMAND_R},
    {"{% for m in messages %}{{ m.content }}{% endfor %}", OAI_TF_GENERIC},
  };
  for (size_t k = 0; k < sizeof own / sizeof own[0]; k++)
    assert_int_equal(oai_tools_detect(own[k].text, strlen(own[k].text)), own[k].f);
  /* the real templates (outside data; skipped when absent) */
  static const struct {
    const char *dir;
    oai_tool_family f;
  } real[] = {{"qwen2.5", OAI_TF_HERMES},
              {"qwen3", OAI_TF_HERMES},
              {"nemotron-3-nano", OAI_TF_HERMES},
              {"llama-3.2", OAI_TF_LLAMA3},
              {"mistral-nemo", OAI_TF_MISTRAL},
              {"devstral-small", OAI_TF_MISTRAL_ARGS},
              {"gpt-oss", OAI_TF_GPT_OSS},
              {"deepseek-r1-distill-qwen", OAI_TF_DEEPSEEK},
              {"granite-3.3", OAI_TF_GRANITE},
              {"command-r7b-tool-use", OAI_TF_COMMAND_R},
              {"gemma-2", OAI_TF_GENERIC},
              {"phi-3.5-mini", OAI_TF_GENERIC}};
  for (size_t k = 0; k < sizeof real / sizeof real[0]; k++) {
    char rel[256], path[1024];
    snprintf(rel, sizeof rel, "templates/%s/%s.jinja", real[k].dir, real[k].dir);
    if (!pv_test_shared_path(path, sizeof path, rel)) continue;
    size_t len;
    char *t = pv_test_read_file(path, &len);
    assert_non_null(t);
    if (oai_tools_detect(t, len) != real[k].f)
      fail_msg("%s: detected %s, want %s", real[k].dir, oai_tools_family_name(oai_tools_detect(t, len)),
               oai_tools_family_name(real[k].f));
    free(t);
  }
}

/* Random texts of markers, JSON pieces and prose, for every family: at every cut the parser gives
 * out a prefix of the whole text's result, and in the end the same result. */
static void test_random_texts_split_alike(void **state) {
  (void)state;
  static const char *const atoms[] = {
    "<tool_call>", "</tool_call>", "<function=f>", "<parameter=a>", "</parameter>", "</function>", "<|python_tag|>",
    "[TOOL_CALLS]", "[ARGS]", "[CALL_ID]", "<|channel|>", "analysis", "final", "<|message|>", "<|end|>", "<|start|>",
    " to=functions.f", "<|call|>", DS_CALLS_BEGIN, DS_CALL_BEGIN, DS_SEP, DS_CALL_END, DS_CALLS_END, "function\n",
    "```json\n", "```", "<|tool_call|>", "<|START_ACTION|>", "<|END_ACTION|>", "<|START_THINKING|>",
    "<|END_THINKING|>", "{", "}", "[", "]", "\"name\"", "\"tool_name\"", "\"arguments\"", "\"parameters\"", ":",
    ",", "\"f\"", "1", "true", " ", "\n", "hello", "<", "|", "\\", "\"",
  };
  const size_t n_atoms = sizeof atoms / sizeof atoms[0];
  uint64_t x = 0x2545F4914F6CDD1Dull;
  char text[512];
  for (int round = 0; round < 300; round++) {
    size_t len = 0;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    const size_t n = 1 + x % 24;
    for (size_t k = 0; k < n; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      const char *a = atoms[x % n_atoms];
      if (len + strlen(a) + 1 >= sizeof text) break;
      memcpy(text + len, a, strlen(a));
      len += strlen(a);
    }
    text[len] = 0;
    for (int f = 0; f < OAI_TF_COUNT; f++) {
      got all;
      whole((oai_tool_family)f, NULL, text, &all);
      streamed_matches((oai_tool_family)f, NULL, text, &all);
    }
  }
}

/* ---- behind the reasoning splitter (oai_reasoning.h), as the server chains them ---------------- */

typedef struct chained {
  srv_buf reasoning;
  got g;
} chained;

/* The splitter's content part of each piece goes into the parser (oai_format.c's order). */
static void run_chain(int style, oai_tool_family f, const char *text, size_t cut, chained *out) {
  oai_reasoning r;
  oai_tool_parser p;
  memset(out, 0, sizeof *out);
  oai_reasoning_init(&r, style, OAI_THINK_MAY_OPEN);
  oai_tools_init(&p, f, NULL);
  const size_t n = strlen(text);
  const size_t piece[2][2] = {{0, cut}, {cut, n}};
  for (int k = 0; k < 3; k++) {
    srv_buf content = {0};
    if (k < 2) assert_true(oai_reasoning_feed(&r, text + piece[k][0], piece[k][1] - piece[k][0], &out->reasoning, &content));
    else assert_true(oai_reasoning_end(&r, &out->reasoning, &content));
    if (content.len) assert_true(oai_tools_feed(&p, content.p, content.len));
    srv_buf_free(&content);
  }
  assert_true(oai_tools_finish(&p));
  snapshot(&p, &out->g);
  oai_tools_free(&p);
}

static void test_behind_reasoning_splitter(void **state) {
  (void)state;
  static const struct {
    int style;
    oai_tool_family f;
    const char *text, *reasoning, *content, *call;
  } cases[] = {
    {OAI_THINK_CHANNELS, OAI_TF_GPT_OSS,
     "<|channel|>analysis<|message|>Need the weather.<|end|><|start|>assistant<|channel|>commentary "
     "to=functions.get_weather <|constrain|>json<|message|>{\"location\": \"Paris\"}",
     "Need the weather.", "", "get_weather"},
    {OAI_THINK_CHANNELS, OAI_TF_GPT_OSS,
     "<|channel|>analysis<|message|>Greet.<|end|><|start|>assistant<|channel|>final<|message|>Hello!", "Greet.", "Hello!",
     NULL},
    {OAI_THINK_TAGS, OAI_TF_HERMES,
     "<think>\nI will call f.\n</think>\n\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n</tool_call>",
     "I will call f.", "", "f"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const size_t n = strlen(cases[c].text);
    for (size_t cut = 0; cut <= n; cut++) {
      chained out;
      run_chain(cases[c].style, cases[c].f, cases[c].text, cut, &out);
      char *reasoning = strndup(out.reasoning.p ? out.reasoning.p : "", out.reasoning.len);
      if (strcmp(reasoning, cases[c].reasoning) || strcmp(out.g.content, cases[c].content) ||
          out.g.n_calls != (cases[c].call ? 1u : 0u) || (cases[c].call && strcmp(out.g.names[0], cases[c].call)))
        fail_msg("case %zu cut %zu: reasoning '%s' content '%s' %zu calls", c, cut, reasoning, out.g.content, out.g.n_calls);
      free(reasoning);
      srv_buf_free(&out.reasoning);
    }
  }
}

/* ---- forced calls ---------------------------------------------------------------------------- */

static const char WEATHER[] = "{\"type\": \"object\", \"properties\": {\"location\": {\"type\": \"string\"}, \"unit\": "
                              "{\"enum\": [\"celsius\", \"fahrenheit\"]}}, \"required\": [\"location\"], "
                              "\"additionalProperties\": false}";
static const char NOTES[] = "{\"type\": \"object\", \"properties\": {\"query\": {\"type\": \"string\"}, \"limit\": "
                            "{\"type\": \"integer\"}}, \"required\": [\"query\", \"limit\"]}";

typedef struct forced {
  oai_tool_family fam;
  const char *good; /* what the model writes after the prefill */
  const char *bad;  /* a call the grammar refuses (arguments against the schema) */
} forced;

static const forced FORCED[] = {
  {OAI_TF_HERMES,
   "{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>\n<tool_call>\n"
   "{\"name\": \"search_notes\", \"arguments\": {\"query\":\"x\",\"limit\":3}}\n</tool_call>",
   "{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", \"unit\": \"kelvin\"}}"},
  {OAI_TF_LLAMA3, "{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\"}}",
   "{\"name\": \"get_weather\", \"parameters\": {\"unit\": \"celsius\"}}"},
  {OAI_TF_GENERIC, "{\"name\": \"search_notes\", \"arguments\": {\"query\": \"a\", \"limit\": -2}}",
   "{\"name\": \"search_notes\", \"arguments\": {\"query\": \"a\", \"limit\": 2.5}}"},
  {OAI_TF_MISTRAL,
   "[{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}, {\"name\": \"search_notes\", \"arguments\": "
   "{\"query\": \"q\", \"limit\": 1}}]",
   "[{\"name\": \"get_weather\", \"arguments\": {\"location\": 7}}]"},
  {OAI_TF_MISTRAL_ARGS, "get_weather[ARGS]{\"location\": \"Paris\"}[TOOL_CALLS]search_notes[ARGS]{\"query\":\"q\",\"limit\":1}",
   "get_weather[ARGS]{\"place\": \"Paris\"}"},
  {OAI_TF_GPT_OSS, "get_weather <|constrain|>json<|message|>{\"location\": \"Paris\"}",
   "get_weather <|constrain|>json<|message|>{\"location\": \"Paris\", \"x\": 1}"},
  {OAI_TF_DEEPSEEK,
   "get_weather\n```json\n{\"location\": \"Paris\"}\n```" DS_CALL_END DS_CALL_BEGIN "function" DS_SEP
   "search_notes\n```json\n{\"query\": \"q\", \"limit\": 1}\n```",
   "get_weather\n```json\n{}\n```"},
  {OAI_TF_GRANITE, "[{\"name\": \"search_notes\", \"arguments\": {\"query\": \"q\", \"limit\": 1}}]",
   "[{\"name\": \"search_notes\", \"arguments\": {\"query\": \"q\"}}]"},
  {OAI_TF_COMMAND_R,
   "[\n    {\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\"}},\n    "
   "{\"tool_call_id\": \"1\", \"tool_name\": \"search_notes\", \"parameters\": {\"query\": \"q\", \"limit\": 1}}\n]",
   "[\n    {\"tool_call_id\": \"0\", \"tool_name\": \"nope\", \"parameters\": {}}\n]"},
};

static bool accepts(const char *gbnf, size_t len, const char *text, bool *complete) {
  pv_grammar *g = NULL;
  pv_error e = {0};
  if (pv_grammar_compile(&g, PAGEDVK_GRAMMAR_GBNF, gbnf, len, &e)) fail_msg("grammar: %s\n%s", e.msg, gbnf);
  pv_gram_state st = {0};
  assert_int_equal(pv_gram_state_init(g, &st, &e), PAGEDVK_OK);
  bool ok = pv_gram_accept_bytes(g, &st, text, strlen(text), &e) == PAGEDVK_OK;
  *complete = ok && pv_gram_state_complete(&st);
  pv_gram_state_free(&st);
  pv_grammar_destroy(g);
  return ok;
}

static void test_forced_grammars(void **state) {
  (void)state;
  const oai_tool_fn fns[2] = {{"get_weather", 11, WEATHER, sizeof WEATHER - 1}, {"search_notes", 12, NOTES, sizeof NOTES - 1}};
  const uint32_t index[2] = {0, 1};
  for (size_t c = 0; c < sizeof FORCED / sizeof FORCED[0]; c++) {
    const forced *f = &FORCED[c];
    /* gpt-oss forces one call: the good text names get_weather among two tools */
    srv_buf g = {0}, prefill = {0};
    srv_error err;
    assert_int_equal(oai_tools_grammar(f->fam, fns, 2, index, true, &g, &prefill, &err), 0);
    bool complete;
    if (!accepts(g.p, g.len, f->good, &complete) || !complete)
      fail_msg("%s: the grammar refuses (or does not complete) %s\n%s", oai_tools_family_name(f->fam), f->good, g.p);
    bool bad_ok = accepts(g.p, g.len, f->bad, &complete);
    if (bad_ok && complete) fail_msg("%s: the grammar takes %s", oai_tools_family_name(f->fam), f->bad);
    /* the parser reads the forced text back as calls, with no content */
    got all;
    whole(f->fam, prefill.p, f->good, &all);
    if (all.n_calls < 1 || all.content[0])
      fail_msg("%s: parsed %zu calls, content '%s'", oai_tools_family_name(f->fam), all.n_calls, all.content);
    assert_true(!strcmp(all.names[0], "get_weather") || !strcmp(all.names[0], "search_notes"));
    streamed_matches(f->fam, prefill.p, f->good, &all);
    srv_buf_free(&g);
    srv_buf_free(&prefill);
  }
  /* one call only (parallel_tool_calls false): a second one is refused */
  srv_buf g = {0}, prefill = {0};
  srv_error err;
  assert_int_equal(oai_tools_grammar(OAI_TF_HERMES, fns, 2, index, false, &g, &prefill, &err), 0);
  assert_string_equal(prefill.p, "<tool_call>\n");
  bool complete;
  assert_false(accepts(g.p, g.len, FORCED[0].good, &complete));
  assert_true(accepts(g.p, g.len, "{\"name\": \"get_weather\", \"arguments\": {\"location\": \"P\"}}\n</tool_call>", &complete));
  assert_true(complete);
  srv_buf_free(&g);
  srv_buf_free(&prefill);
  /* a named function among others: only it */
  assert_int_equal(oai_tools_grammar(OAI_TF_HERMES, fns + 1, 1, index + 1, false, &g, &prefill, &err), 0);
  assert_false(accepts(g.p, g.len, "{\"name\": \"get_weather\"", &complete));
  srv_buf_free(&g);
  srv_buf_free(&prefill);
}

static void test_forced_schema_errors(void **state) {
  (void)state;
  static const char PATTERN[] = "{\"type\": \"object\", \"properties\": {\"code\": {\"type\": \"string\", \"pattern\": \"^a\"}}}";
  const oai_tool_fn fns[2] = {{"get_weather", 11, WEATHER, sizeof WEATHER - 1}, {"check", 5, PATTERN, sizeof PATTERN - 1}};
  const uint32_t index[2] = {0, 3};
  srv_buf g = {0}, prefill = {0};
  srv_error err;
  assert_int_equal(oai_tools_grammar(OAI_TF_HERMES, fns, 2, index, true, &g, &prefill, &err), -1);
  assert_int_equal(err.http, 400);
  assert_string_equal(err.param, "tools[3].function.parameters");
  assert_non_null(strstr(err.message, "/properties/code/pattern"));
  srv_buf_free(&g);
  srv_buf_free(&prefill);
}

/* The public schema → GBNF helper: names prefixed, the grammar the same language. */
static void test_schema_gbnf_prefix(void **state) {
  (void)state;
  char *a = NULL, *b = NULL, err[256];
  size_t la, lb;
  assert_int_equal(pagedvk_json_schema_to_gbnf(WEATHER, sizeof WEATHER - 1, "x-", &a, &la, err, sizeof err), 0);
  assert_int_equal(strlen(a), la);
  assert_non_null(strstr(a, "x-root ::= "));
  assert_null(strstr(a, "\nroot ::= "));
  assert_int_equal(pagedvk_json_schema_to_gbnf(WEATHER, sizeof WEATHER - 1, "bad prefix", &b, &lb, err, sizeof err),
                   PAGEDVK_ERR_INVALID);
  /* two prefixed copies side by side compile, and root picks one */
  assert_int_equal(pagedvk_json_schema_to_gbnf(NOTES, sizeof NOTES - 1, "y-", &b, &lb, err, sizeof err), 0);
  char *both = malloc(la + lb + 64);
  sprintf(both, "root ::= x-root | y-root\n%s%s", a, b);
  bool complete;
  assert_true(accepts(both, strlen(both), "{\"location\": \"Oslo\"}", &complete));
  assert_true(complete);
  assert_true(accepts(both, strlen(both), "{\"query\": \"a\", \"limit\": 0}", &complete));
  assert_true(complete);
  assert_false(accepts(both, strlen(both), "{\"limit\": 0}", &complete));
  free(both);
  free(a);
  free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_families_parse),     cmocka_unit_test(test_streaming_splits),
    cmocka_unit_test(test_detect),             cmocka_unit_test(test_forced_grammars),
    cmocka_unit_test(test_forced_schema_errors), cmocka_unit_test(test_schema_gbnf_prefix),
    cmocka_unit_test(test_behind_reasoning_splitter), cmocka_unit_test(test_random_texts_split_alike),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

