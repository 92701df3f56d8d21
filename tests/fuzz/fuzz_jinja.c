/*
 * fuzz_jinja.c — libFuzzer target: the Jinja interpreter (runtime/text/jinja), parser and evaluator.
 *
 * Input: the template text up to the first NUL byte; what follows (when there is a NUL) is a JSON
 * object of variables, used as it is (it may be invalid). A fixed chat (messages, tools,
 * add_generation_prompt, bos/eos tokens) comes first, so the seeds can walk real template logic.
 * Small limits keep every input fast; the checks: parsing gives OK or PAGEDVK_ERR_FORMAT, rendering
 * OK or PAGEDVK_ERR_INVALID (a limit, a template error, bad JSON), and a rendered text is
 * NUL-terminated at its reported length and within the output limit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/jinja/jinja.h"

static const char CHAT[] =
    "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi \\u00e9\"},"
    " {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"call_12345\", \"type\": \"function\","
    " \"function\": {\"name\": \"f\", \"arguments\": {\"x\": 1.5, \"y\": [true, null]}}}]},"
    " {\"role\": \"tool\", \"tool_call_id\": \"call_12345\", \"content\": \"42\"},"
    " {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"more\"}]}],"
    " \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"d\","
    " \"parameters\": {\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"number\"}}}}}],"
    " \"add_generation_prompt\": true, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *src = (const char *)data;
  const uint8_t *nul = memchr(data, 0, size);
  size_t tlen = nul ? (size_t)(nul - data) : size;
  pv_jinja *t = NULL;
  pv_error err = {0};
  int rc = pv_jinja_parse(&t, src, tlen, &err);
  if (rc != PAGEDVK_OK) {
    if (rc != PAGEDVK_ERR_FORMAT && rc != PAGEDVK_ERR_INVALID && rc != PAGEDVK_ERR_NO_MEMORY) {
      fprintf(stderr, "fuzz_jinja: parse status %d: %s\n", rc, err.msg);
      abort();
    }
    return 0;
  }
  const char *texts[2] = {CHAT, nul ? src + tlen + 1 : NULL};
  size_t lens[2] = {strlen(CHAT), nul ? size - tlen - 1 : 0};
  pv_jinja_limits lim = {.max_steps = 200000, .max_depth = 40, .max_output = 1 << 20, .max_memory = 64 << 20};
  pv_jinja_render_opts o = {.vars_json = texts, .vars_len = lens, .n_vars = 2, .year = 2026, .month = 12, .day = 7,
                            .limits = &lim};
  char *out = NULL;
  size_t len = 0;
  rc = pv_jinja_render(t, &o, &out, &len, &err);
  if (rc == PAGEDVK_OK) {
    if (!out || out[len] != 0 || len > lim.max_output) {
      fprintf(stderr, "fuzz_jinja: bad output (length %zu)\n", len);
      abort();
    }
    free(out);
  } else if (rc != PAGEDVK_ERR_INVALID && rc != PAGEDVK_ERR_NO_MEMORY) {
    fprintf(stderr, "fuzz_jinja: render status %d: %s\n", rc, err.msg);
    abort();
  }
  pv_jinja_free(t);
  return 0;
}
