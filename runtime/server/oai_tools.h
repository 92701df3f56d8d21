/*
 * oai_tools.h — tool calls in a model's output: which syntax a chat template's family writes
 * calls in (detected from the template's source), a parser from the model's text to content +
 * calls that works incrementally for streaming, and the GBNF grammar that forces well-formed calls
 * (tool_choice "required" or a named function). docs/TOOLS.md lists the families.
 *
 * The parser is a pure function of the bytes fed so far: whatever pieces the text comes in, the
 * content, reasoning and calls it has given out are always a prefix of what the whole text gives
 * (streaming reassembles to the non-streamed message). It holds back only what it cannot decide
 * yet: a possible start of a marker at the end of the text, whitespace before a marker (dropped
 * when a call follows), and a call region until it is complete. A call region that turns out
 * malformed (not JSON, no name, unterminated at the end) is given back as content, byte for byte
 * from its marker on, so nothing the model wrote is lost.
 */
#ifndef PV_SERVER_OAI_TOOLS_H
#define PV_SERVER_OAI_TOOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server_internal.h"

typedef enum oai_tool_family {
  OAI_TF_GENERIC = 0, /* no known syntax: a bare {"name", "arguments"} object, parsed only when forced */
  OAI_TF_HERMES,      /* <tool_call>{"name", "arguments"}</tool_call> (Hermes, Qwen 2.5, Qwen 3); also
                       * <tool_call><function=NAME><parameter=K>V</parameter></function></tool_call>
                       * (Qwen3-Coder, Nemotron) */
  OAI_TF_LLAMA3,      /* [<|python_tag|>]{"name", "parameters"} at the start of the answer */
  OAI_TF_MISTRAL,     /* [TOOL_CALLS][{"name", "arguments"}, ...] (both Mistral forms are parsed) */
  OAI_TF_MISTRAL_ARGS, /* [TOOL_CALLS]NAME[ARGS]{...} (Devstral, Magistral; forced in this form) */
  OAI_TF_GPT_OSS,     /* harmony channels: <|channel|>commentary to=functions.NAME ...<|message|>{...}<|call|> */
  OAI_TF_DEEPSEEK,    /* <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME ```json {...} ``` ... */
  OAI_TF_GRANITE,     /* <|tool_call|>[{"name", "arguments"}, ...] */
  OAI_TF_COMMAND_R,   /* <|START_ACTION|>[{"tool_call_id", "tool_name", "parameters"}, ...]<|END_ACTION|> */
  OAI_TF_COUNT
} oai_tool_family;

/* The family of a chat template's source (len bytes; NULL: none → generic). */
oai_tool_family oai_tools_detect(const char *tmpl, size_t len);
/* "hermes", "llama3", ... */
const char *oai_tools_family_name(oai_tool_family f);
/* True when `text` (len bytes) is one of the family's markers: the server feeds the text of a
 * control token the detokenizer leaves out ("[TOOL_CALLS]", "<|channel|>") only when it is one. */
bool oai_tools_is_marker(oai_tool_family f, const char *text, size_t len);

typedef struct oai_call {
  char *name;      /* NUL-terminated */
  char *args;      /* the arguments object as compact JSON, NUL-terminated */
  size_t args_len;
} oai_call;

typedef struct oai_tool_parser {
  oai_tool_family fam;
  srv_buf in;        /* every byte fed */
  size_t pos;        /* in[0..pos) is decided */
  bool after_call;   /* whitespace after a call (or a dropped marker) is dropped */
  bool anchored;     /* llama3 / generic: a call object may start here (nothing but calls so far) */
  bool reasoning;    /* text goes to `think` (gpt-oss analysis channel, Command-R thinking) */
  bool think_as_content; /* set by the caller: reasoning text goes to `content` too (raw output) */
  srv_buf content;   /* content decided so far */
  srv_buf think;     /* reasoning text decided so far */
  oai_call *calls;
  size_t n_calls, cap_calls;
  bool oom;
} oai_tool_parser;

/* A parser for family f. `prefill`: text the prompt already ends with that the model's output
 * continues (the forced call's opening marker, see oai_tools_grammar), parsed first and never
 * given out as content; NULL for none. */
void oai_tools_init(oai_tool_parser *p, oai_tool_family f, const char *prefill);
/* Feeds the next bytes of the model's text. false when out of memory (p->oom). */
bool oai_tools_feed(oai_tool_parser *p, const char *s, size_t n);
/* The text has ended: decides everything still held back. */
bool oai_tools_finish(oai_tool_parser *p);
void oai_tools_free(oai_tool_parser *p);

/* One function of a request's tools, for the forced-call grammar. */
typedef struct oai_tool_fn {
  const char *name;
  size_t name_len;
  const char *params; /* its parameters schema as JSON text (NULL: any object) */
  size_t params_len;
} oai_tool_fn;

/* The forced-call grammar of family f over the functions fns[0..n) (the allowed ones: every tool
 * for "required", the named one otherwise): GBNF text into *gbnf, and into *prefill the text the
 * prompt ends with before the model writes (the family's opening marker, which is often a
 * control token that a grammar cannot produce), also given to oai_tools_init. `parallel`: one or
 * more calls where the family writes several in a turn; otherwise exactly one. 0, or -1 with
 * *err (400 naming tools[i].function.parameters with the schema's error position). */
int oai_tools_grammar(oai_tool_family f, const oai_tool_fn *fns, size_t n, const uint32_t *tool_index, bool parallel,
                      srv_buf *gbnf, srv_buf *prefill, srv_error *err);

/* The request's tools, tool_choice and parallel_tool_calls (oai_tool_request.c): fills
 * r->tools_parse, tool_family, and for a forced choice grammar_text (sp.grammar points at it,
 * grammar_param "tools") and tool_prefill. 0, or -1 with *err. */
int oai_parse_tools(pagedvk_server *s, const sj_doc *d, uint32_t root, oai_request *r, srv_error *err);

#endif
