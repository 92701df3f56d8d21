/*
 * api_chat.c — the public chat-template functions of include/pagedvk.h: choosing a model's
 * template (set, source, built-in names) and rendering chats through engine/chat_template.h.
 * pagedvk_chat_format, the plain role/content form, writes its messages as JSON and renders
 * them like any other chat. Thin wrappers: argument checks and pv_error → `char *err`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "engine/json_text.h"
#include "engine/model_handle.h"
#include "text/chat_builtin.h"

static int fail_out(char *err, size_t err_size, const pv_error *e, int rc) {
  pv_error_copy(e, err, err_size);
  return rc;
}

static int invalid(char *err, size_t err_size, const char *what) {
  pv_error e = {0};
  return fail_out(err, err_size, &e, pv_fail(&e, PAGEDVK_ERR_INVALID, "%s", what));
}

const char *const *pagedvk_chat_template_builtins(void) { return pv_chat_builtin_names(); }

int pagedvk_model_set_chat_template(pagedvk_model *model, const char *text, size_t len, const char *name, char *err,
                                    size_t err_size) {
  if (!model || (!text && !name)) return invalid(err, err_size, "pagedvk_model_set_chat_template: NULL argument");
  pv_error e = {0};
  int rc;
  if (text) {
    size_t n = name ? strlen(name) + 6 : 0;
    char *source = name ? malloc(n) : NULL;
    if (name && !source) return fail_out(err, err_size, &e, pv_fail(&e, PAGEDVK_ERR_NO_MEMORY, "no memory"));
    if (source) snprintf(source, n, "file:%s", name);
    rc = pv_chat_template_set(&model->chat, text, len, source ? source : "override", &e);
    free(source);
  } else {
    rc = pv_chat_template_set_builtin(&model->chat, name, &e);
  }
  return rc ? fail_out(err, err_size, &e, rc) : PAGEDVK_OK;
}

const char *pagedvk_model_chat_template_source(const pagedvk_model *model) {
  return model ? model->chat.source : NULL;
}

const char *pagedvk_model_chat_template_text(const pagedvk_model *model, size_t *len) {
  const char *t = model && model->chat.tmpl ? model->chat.text : NULL;
  if (len) *len = t ? model->chat.text_len : 0;
  return t;
}

const char *pagedvk_model_chat_template(const pagedvk_model *model, int *is_fallback) {
  const char *src = model ? model->chat.source : NULL;
  if (is_fallback) *is_fallback = !src || !strncmp(src, "fallback:", 9);
  return src ? src : "none";
}

int pagedvk_chat_render(const pagedvk_model *model, const pagedvk_chat_input *in, char **text, size_t *len,
                        int *has_bos, char *err, size_t err_size) {
  if (!model || !in || !text || !len) return invalid(err, err_size, "pagedvk_chat_render: NULL argument");
  pv_error e = {0};
  bool bos = false;
  int rc = pv_chat_render(&model->chat, in, text, len, &bos, &e);
  if (has_bos) *has_bos = bos;
  return rc ? fail_out(err, err_size, &e, rc) : PAGEDVK_OK;
}

/* ---- the plain role/content form ------------------------------------------------------------ */

/* [{"role": ..., "content": ...}, ...] */
static int messages_json(const pagedvk_chat_message *msgs, size_t n, pv_jtext *b, pv_error *e) {
  pv_jtext_put_n(b, "[", 1);
  for (size_t i = 0; i < n; i++) {
    if (!msgs[i].role || !msgs[i].content)
      return pv_fail(e, PAGEDVK_ERR_INVALID, "chat: message %zu has no %s", i, msgs[i].role ? "content" : "role");
    pv_jtext_put_n(b, i ? ", {\"role\": " : "{\"role\": ", i ? 11 : 9);
    pv_jtext_string(b, msgs[i].role);
    pv_jtext_put_n(b, ", \"content\": ", 13);
    pv_jtext_string(b, msgs[i].content);
    pv_jtext_put_n(b, "}", 1);
  }
  pv_jtext_put_n(b, "]", 1);
  return b->oom ? pv_fail(e, PAGEDVK_ERR_NO_MEMORY, "pagedvk_chat_format: no memory") : PAGEDVK_OK;
}

int pagedvk_chat_format(const pagedvk_model *model, const pagedvk_chat_message *msgs, size_t n,
                        int add_generation_prompt, char *buf, size_t cap, size_t *len, int *has_bos, char *err,
                        size_t err_size) {
  if (!model || (!msgs && n) || !len || (!buf && cap)) return invalid(err, err_size, "pagedvk_chat_format: NULL argument");
  pv_error e = {0};
  pv_jtext j = {0};
  int rc = messages_json(msgs, n, &j, &e);
  char *text = NULL;
  bool bos = false;
  if (!rc) {
    pagedvk_chat_input in = {.messages_json = j.p, .add_generation_prompt = add_generation_prompt != 0};
    rc = pv_chat_render(&model->chat, &in, &text, len, &bos, &e);
  }
  free(j.p);
  if (rc) return fail_out(err, err_size, &e, rc);
  if (has_bos) *has_bos = bos;
  if (cap) {
    memcpy(buf, text, *len < cap ? *len : cap);
    if (*len < cap) buf[*len] = 0;
  }
  free(text);
  if (*len < cap) return PAGEDVK_OK;
  return fail_out(err, err_size, &e,
                  pv_fail(&e, PAGEDVK_ERR_TOO_LONG, "pagedvk_chat_format: text: needs %zu, the buffer holds %zu",
                          *len + 1, cap));
}
