/*
 * fuzz_chat_template.c — libFuzzer target: chat-template recognition and formatting.
 *
 * Input: fields separated by NUL bytes. Byte 0 picks the template (a known family's marker text,
 * or field 1 taken as the template source as is) and the flags; the following fields are
 * alternately a role and a content (a role field of one byte 0x01..0x05 names a standard role;
 * any other text is passed through as the role).
 * pv_chat_template_init must succeed for any template text (unknown → chatml fallback);
 * pv_chat_format must either fail with PAGEDVK_ERR_INVALID or give a NUL-terminated string of
 * the reported length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/chat_template.h"

static const char *const MARKERS[] = {
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}",
    ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if not system %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>{% endif %}"),
    "{{ bos_token + '[INST] ' + '<<SYS>>\\n' + content + '\\n<</SYS>>\\n\\n' + ' [/INST]' }}",
    "{{ bos_token }}{% for m in messages %}[INST] {{ m.content }} [/INST]{{ m.content + eos_token + ' ' }}",
    "{% for m in messages %}<|user|>\n{{ m.content }}</s>\n<|assistant|>\n{% endfor %}",
};
#define N_MARKERS (sizeof MARKERS / sizeof MARKERS[0])
static const char *const ROLES[] = {"system", "user", "assistant", "tool", ""};

#define MAX_FIELDS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t sel = data[0];
  /* A NUL-terminated copy cut into fields at the NULs. */
  char *buf = malloc(size);
  if (!buf) return 0;
  memcpy(buf, data + 1, size - 1);
  buf[size - 1] = 0;
  const char *fields[MAX_FIELDS];
  size_t n_fields = 0;
  for (size_t i = 0, start = 0; i < size && n_fields < MAX_FIELDS; i++)
    if (buf[i] == 0) {
      fields[n_fields++] = buf + start;
      start = i + 1;
    }
  size_t f = 0;
  const char *tmpl;
  size_t tmpl_len;
  unsigned which = sel % (N_MARKERS + 2);
  if (which < N_MARKERS) {
    tmpl = MARKERS[which];
    tmpl_len = strlen(tmpl);
  } else if (which == N_MARKERS && n_fields > 0) {
    tmpl = fields[f++];
    tmpl_len = strlen(tmpl);
  } else {
    tmpl = NULL; /* absent */
    tmpl_len = 0;
  }
  const char *bos = sel & 0x40 ? "<s>" : NULL, *eos = sel & 0x40 ? "</s>" : "<|eot|>";
  pv_chat_template t;
  pv_error err = {0};
  if (pv_chat_template_init(&t, tmpl, tmpl_len, bos, eos, &err) != PAGEDVK_OK) {
    fprintf(stderr, "pv_chat_template_init failed: %s\n", err.msg);
    abort();
  }
  pv_chat_msg msgs[MAX_FIELDS / 2];
  size_t n = 0;
  for (; f + 1 < n_fields; f += 2) {
    const char *role = fields[f];
    if (role[0] >= 1 && role[0] <= 5 && role[1] == 0) role = ROLES[role[0] - 1];
    msgs[n].role = role;
    msgs[n].content = fields[f + 1];
    n++;
  }
  char *out = NULL;
  size_t len = 0;
  int rc = pv_chat_format(&t, msgs, n, sel & 0x80, &out, &len, &err);
  if (rc == PAGEDVK_OK) {
    if (!out || strlen(out) != len) {
      fprintf(stderr, "pv_chat_format: length %zu does not match the text\n", len);
      abort();
    }
    free(out);
  } else if (rc != PAGEDVK_ERR_INVALID && rc != PAGEDVK_ERR_NO_MEMORY) {
    fprintf(stderr, "pv_chat_format: unexpected status %d: %s\n", rc, err.msg);
    abort();
  }
  pv_chat_template_free(&t);
  free(buf);
  return 0;
}
