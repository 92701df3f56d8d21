/*
 * chat_builtin.c — the texts of the built-in chat templates (chat_builtin.h says what each
 * renders). They run through the same Jinja interpreter as a model's own template, in
 * transformers' environment (trim_blocks, lstrip_blocks); every tag here strips the whitespace
 * around it, so the layout of these strings never reaches the output.
 */
#include <stddef.h>
#include <string.h>

#include "text/chat_builtin.h"

/* text(c): a message's content as a string: a string as is, the "text" parts of a list joined,
 * nothing for null or a missing content. */
#define TEXT_MACRO                                                                                   \
  "{%- macro text(c) -%}\n"                                                                          \
  "  {%- if c is string -%}{{ c }}\n"                                                                \
  "  {%- elif c is iterable -%}\n"                                                                   \
  "    {%- for p in c -%}{%- if p is mapping and p['type'] == 'text' -%}{{ p['text'] }}{%- endif -%}{%- endfor -%}\n" \
  "  {%- endif -%}\n"                                                                                \
  "{%- endmacro -%}\n"

/* A leading system message split off: sys (none when absent) and turns (the other messages). */
#define SPLIT_SYSTEM                                                                                 \
  "{%- if messages and messages[0]['role'] == 'system' -%}\n"                                        \
  "  {%- set sys = text(messages[0]['content']) -%}{%- set turns = messages[1:] -%}\n"               \
  "{%- else -%}\n"                                                                                   \
  "  {%- set sys = none -%}{%- set turns = messages -%}\n"                                           \
  "{%- endif -%}\n"

#define ALTERNATE(list, msg)                                                                         \
  "{%- for m in " list " -%}\n"                                                                      \
  "  {%- if (m['role'] == 'user') != (loop.index0 % 2 == 0) -%}{{- raise_exception('" msg "') -}}{%- endif -%}\n" \
  "{%- endfor -%}\n"

static const char CHATML[] = TEXT_MACRO
    "{%- for m in messages -%}\n"
    "  {{- '<|im_start|>' ~ m['role'] ~ '\\n' ~ text(m['content']) ~ '<|im_end|>\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}\n";

static const char LLAMA3[] = TEXT_MACRO
    "{%- for m in messages -%}\n"
    "  {%- if loop.first -%}{{- bos_token -}}{%- endif -%}\n"
    "  {{- '<|start_header_id|>' ~ m['role'] ~ '<|end_header_id|>\\n\\n' ~ (text(m['content']) | trim) ~ '<|eot_id|>' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}{%- endif -%}\n";

static const char LLAMA2[] = TEXT_MACRO SPLIT_SYSTEM
    ALTERNATE("turns", "Conversation roles must alternate user/assistant/user/assistant/...")
    "{%- for m in turns -%}\n"
    "  {%- set body = text(m['content']) -%}\n"
    "  {%- if loop.first and sys is not none -%}{%- set body = '<<SYS>>\\n' ~ sys ~ '\\n<</SYS>>\\n\\n' ~ body -%}{%- endif -%}\n"
    "  {%- if m['role'] == 'user' -%}{{- bos_token ~ '[INST] ' ~ body.strip() ~ ' [/INST]' -}}\n"
    "  {%- elif m['role'] == 'assistant' -%}{{- ' ' ~ body.strip() ~ ' ' ~ eos_token -}}\n"
    "  {%- endif -%}\n"
    "{%- endfor -%}\n";

static const char MISTRAL[] = TEXT_MACRO SPLIT_SYSTEM
    ALTERNATE("turns", "After an optional system message, conversation roles must alternate user/assistant/user/assistant/...")
    "{{- bos_token -}}\n"
    "{%- for m in turns -%}\n"
    "  {%- if m['role'] == 'user' -%}\n"
    "    {%- if loop.first and sys is not none -%}{{- '[INST] ' ~ sys ~ '\\n\\n' ~ text(m['content']) ~ ' [/INST]' -}}\n"
    "    {%- else -%}{{- '[INST] ' ~ text(m['content']) ~ ' [/INST]' -}}{%- endif -%}\n"
    "  {%- elif m['role'] == 'assistant' -%}{{- text(m['content']) ~ eos_token -}}\n"
    "  {%- else -%}{{- raise_exception('Only user and assistant roles are supported, after an optional system message') -}}\n"
    "  {%- endif -%}\n"
    "{%- endfor -%}\n";

static const char ZEPHYR[] = TEXT_MACRO
    "{%- for m in messages -%}\n"
    "  {%- if m['role'] in ['system', 'user', 'assistant'] -%}\n"
    "    {{- '<|' ~ m['role'] ~ '|>\\n' ~ text(m['content']) ~ eos_token ~ '\\n' -}}\n"
    "  {%- endif -%}\n"
    "  {%- if loop.last and add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- endif -%}\n"
    "{%- endfor -%}\n";

static const char GEMMA[] = TEXT_MACRO
    "{{- bos_token -}}\n"
    "{%- if messages and messages[0]['role'] == 'system' -%}{{- raise_exception('System role not supported') -}}{%- endif -%}\n"
    ALTERNATE("messages", "Conversation roles must alternate user/assistant/user/assistant/...")
    "{%- for m in messages -%}\n"
    "  {%- set who = 'model' if m['role'] == 'assistant' else m['role'] -%}\n"
    "  {{- '<start_of_turn>' ~ who ~ '\\n' ~ (text(m['content']) | trim) ~ '<end_of_turn>\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<start_of_turn>model\\n' -}}{%- endif -%}\n";

static const char PHI3[] = TEXT_MACRO
    "{%- for m in messages -%}\n"
    "  {%- if m['role'] == 'system' -%}\n"
    "    {%- if m['content'] -%}{{- '<|system|>\\n' ~ text(m['content']) ~ '<|end|>\\n' -}}{%- endif -%}\n"
    "  {%- elif m['role'] in ['user', 'assistant'] -%}\n"
    "    {{- '<|' ~ m['role'] ~ '|>\\n' ~ text(m['content']) ~ '<|end|>\\n' -}}\n"
    "  {%- endif -%}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- else -%}{{- eos_token -}}{%- endif -%}\n";

static const char *const NAMES[] = {"chatml", "llama3", "llama2", "mistral", "zephyr", "gemma", "phi3", NULL};
static const char *const TEXTS[] = {CHATML, LLAMA3, LLAMA2, MISTRAL, ZEPHYR, GEMMA, PHI3};

const char *pv_chat_builtin(const char *name) {
  for (size_t i = 0; name && NAMES[i]; i++)
    if (!strcmp(name, NAMES[i])) return TEXTS[i];
  return NULL;
}

const char *const *pv_chat_builtin_names(void) { return NAMES; }
