/*
 * api_model.c — the public model, tokenizer and detokenizer functions of include/pagedvk.h
 * (the chat functions are in api_chat.c): thin wrappers that check arguments, call runtime/model and turn pv_error
 * into the caller's `char *err` buffer.
 *
 * Buffer contract shared by the functions that fill a caller's array: *n / *len always gets the
 * full size; when it does not fit, the prefix that fits is written and PAGEDVK_ERR_TOO_LONG
 * returned.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/model_handle.h"
#include "model/arch.h"

struct pagedvk_detok {
  pv_detok state;
};

static int fail_out(char *err, size_t err_size, const pv_error *e, int rc) {
  pv_error_copy(e, err, err_size);
  return rc;
}

static int invalid(char *err, size_t err_size, const char *what) {
  pv_error e = {0};
  return fail_out(err, err_size, &e, pv_fail(&e, PAGEDVK_ERR_INVALID, "%s", what));
}

/* ---- models ----------------------------------------------------------------------------------- */

/* The template from tokenizer.chat_template, the ChatML fallback, or none; a template that cannot
 * be used leaves the model usable for completions (chat requests get the reason). */
static int load_chat_template(pagedvk_model *m, pv_error *e) {
  pv_gguf_str tmpl = {NULL, 0};
  bool present = pv_gguf_get_str(m->gguf, "tokenizer.chat_template", &tmpl);
  int rc = pv_chat_template_load(&m->chat, &m->tok, present ? tmpl.ptr : NULL, present ? tmpl.len : 0, e);
  if (rc) return rc;
  char esc[512];
  if (m->chat.problem && present)
    pv_log(PV_LOG_WARN, "%s: %s; chat requests will fail until a template is set (--chat-template-file or "
           "--chat-template NAME)", m->path, pv_escape(m->chat.problem, strlen(m->chat.problem), esc, sizeof esc));
  else if (m->chat.problem)
    pv_log(PV_LOG_INFO, "%s: no tokenizer.chat_template and no ChatML tokens: chats need --chat-template-file or "
           "--chat-template NAME", m->path);
  else if (!present)
    pv_log(PV_LOG_INFO, "%s: no tokenizer.chat_template; chats use ChatML, whose tokens the vocabulary has", m->path);
  return PAGEDVK_OK;
}

/* general.name, copied so that the description can hand out a C string. */
static int copy_name(pagedvk_model *m, pv_error *e) {
  pv_gguf_str name = {NULL, 0};
  if (!pv_gguf_get_str(m->gguf, "general.name", &name)) return PAGEDVK_OK;
  if (!(m->name = strndup(name.ptr, name.len))) return pv_fail(e, PAGEDVK_ERR_NO_MEMORY, "%s: no memory", m->path);
  return PAGEDVK_OK;
}

int pagedvk_model_open(pagedvk_model **out, const char *path, char *err, size_t err_size) {
  if (!out || !path) return invalid(err, err_size, "pagedvk_model_open: NULL argument");
  *out = NULL;
  pv_error e = {0};
  pagedvk_model *m = calloc(1, sizeof *m);
  if (!m || !(m->path = strdup(path))) {
    free(m);
    return fail_out(err, err_size, &e, pv_fail(&e, PAGEDVK_ERR_NO_MEMORY, "%s: no memory", path));
  }
  int rc = pv_gguf_open(&m->gguf, path, &e);
  if (!rc) rc = copy_name(m, &e);
  if (!rc) rc = pv_tokenizer_load(&m->tok, m->gguf, &e);
  if (!rc) rc = load_chat_template(m, &e);
  if (!rc && pv_hparams_unapplied(m->gguf, m->unapplied, sizeof m->unapplied))
    pv_log(PV_LOG_WARN, "%s: metadata not applied by pagedvk, results will differ from the model's own: %s", m->path,
           m->unapplied);
  if (rc) {
    pagedvk_model_close(m);
    return fail_out(err, err_size, &e, rc);
  }
  *out = m;
  return PAGEDVK_OK;
}

void pagedvk_model_close(pagedvk_model *model) {
  if (!model) return;
  pv_chat_template_free(&model->chat);
  pv_tokenizer_free(&model->tok);
  if (model->gguf) pv_gguf_close(model->gguf);
  free(model->name);
  free(model->path);
  free(model);
}

/* ---- vocabulary ----------------------------------------------------------------------------- */

size_t pagedvk_vocab_size(const pagedvk_model *model) { return model ? model->tok.n_vocab : 0; }
int32_t pagedvk_token_bos(const pagedvk_model *model) { return model ? model->tok.bos : -1; }
int32_t pagedvk_token_eos(const pagedvk_model *model) { return model ? model->tok.eos : -1; }
int32_t pagedvk_token_eot(const pagedvk_model *model) { return model ? model->tok.eot : -1; }
int pagedvk_token_is_eog(const pagedvk_model *model, int32_t id) {
  return model && pv_tokenizer_is_eog(&model->tok, id);
}

static int too_long(char *err, size_t err_size, const char *what, size_t need, size_t cap) {
  pv_error e = {0};
  return fail_out(err, err_size, &e,
                  pv_fail(&e, PAGEDVK_ERR_TOO_LONG, "%s: needs %zu, the buffer holds %zu", what, need, cap));
}

int pagedvk_tokenize(const pagedvk_model *model, const char *text, int add_bos, int parse_special, int32_t *ids,
                     size_t cap, size_t *n, char *err, size_t err_size) {
  if (!text) return invalid(err, err_size, "pagedvk_tokenize: NULL argument");
  return pagedvk_tokenize_len(model, text, strlen(text), add_bos, parse_special, ids, cap, n, err, err_size);
}

int pagedvk_tokenize_len(const pagedvk_model *model, const char *text, size_t len, int add_bos, int parse_special,
                         int32_t *ids, size_t cap, size_t *n, char *err, size_t err_size) {
  if (!model || (!text && len) || !n || (!ids && cap)) return invalid(err, err_size, "pagedvk_tokenize: NULL argument");
  pv_error e = {0};
  pv_tokens t = {0};
  int rc = pv_tokenize(&model->tok, text ? text : "", len, add_bos != 0, parse_special != 0, &t, &e);
  if (rc) {
    pv_tokens_free(&t);
    return fail_out(err, err_size, &e, rc);
  }
  *n = t.n;
  if (t.n && cap) memcpy(ids, t.ids, (t.n < cap ? t.n : cap) * sizeof *ids);
  pv_tokens_free(&t);
  return *n > cap ? too_long(err, err_size, "pagedvk_tokenize: ids", *n, cap) : PAGEDVK_OK;
}

/* Copies text[0..len) and a NUL into buf[0..cap) as far as they fit. */
static int copy_out(const char *text, size_t len, char *buf, size_t cap, const char *what, char *err,
                    size_t err_size) {
  if (cap) {
    size_t k = len < cap ? len : cap;
    memcpy(buf, text, k);
    if (len < cap) buf[len] = 0;
  }
  return len < cap ? PAGEDVK_OK : too_long(err, err_size, what, len + 1, cap);
}

int pagedvk_token_to_piece(const pagedvk_model *model, int32_t id, int special, char *buf, size_t cap,
                           size_t *len, char *err, size_t err_size) {
  if (!model || !len || (!buf && cap)) return invalid(err, err_size, "pagedvk_token_to_piece: NULL argument");
  if (id < 0 || (uint32_t)id >= model->tok.n_vocab) {
    pv_error e = {0};
    return fail_out(err, err_size, &e, pv_fail(&e, PAGEDVK_ERR_INVALID, "token id %d is outside the vocabulary "
                                               "[0, %u)", id, model->tok.n_vocab));
  }
  *len = pv_token_bytes(&model->tok, id, special != 0, buf, cap);
  if (*len < cap) buf[*len] = 0;
  return *len > cap ? too_long(err, err_size, "pagedvk_token_to_piece", *len, cap) : PAGEDVK_OK;
}

static int check_ids(const pv_tokenizer *tok, const int32_t *ids, size_t n, pv_error *e) {
  for (size_t i = 0; i < n; i++)
    if (ids[i] < 0 || (uint32_t)ids[i] >= tok->n_vocab)
      return pv_fail(e, PAGEDVK_ERR_INVALID, "ids[%zu] = %d is outside the vocabulary [0, %u)", i, ids[i],
                     tok->n_vocab);
  return PAGEDVK_OK;
}

int pagedvk_detokenize(const pagedvk_model *model, const int32_t *ids, size_t n, unsigned flags, char *buf,
                       size_t cap, size_t *len, char *err, size_t err_size) {
  if (!model || (!ids && n) || !len || (!buf && cap)) return invalid(err, err_size, "pagedvk_detokenize: NULL argument");
  pv_error e = {0};
  char *text = NULL;
  int rc = check_ids(&model->tok, ids, n, &e);
  if (!rc) rc = pv_detokenize(&model->tok, ids, n, flags, &text, len, &e);
  if (rc) return fail_out(err, err_size, &e, rc);
  rc = copy_out(text, *len, buf, cap, "pagedvk_detokenize: text", err, err_size);
  free(text);
  return rc;
}

/* ---- streaming detokenizer ------------------------------------------------------------------ */

int pagedvk_detok_create(pagedvk_detok **out, const pagedvk_model *model, unsigned flags, char *err,
                         size_t err_size) {
  if (!out || !model) return invalid(err, err_size, "pagedvk_detok_create: NULL argument");
  pagedvk_detok *d = calloc(1, sizeof *d);
  if (!d) {
    pv_error e = {0};
    return fail_out(err, err_size, &e, pv_fail(&e, PAGEDVK_ERR_NO_MEMORY, "pagedvk_detok_create: no memory"));
  }
  pv_detok_init(&d->state, &model->tok, flags);
  *out = d;
  return PAGEDVK_OK;
}

int pagedvk_detok_feed(pagedvk_detok *d, int32_t id, const char **text, size_t *len, char *err, size_t err_size) {
  if (!d || !text || !len) return invalid(err, err_size, "pagedvk_detok_feed: NULL argument");
  pv_error e = {0};
  int rc = check_ids(d->state.tok, &id, 1, &e);
  if (!rc) rc = pv_detok_feed(&d->state, id, text, len, &e);
  return rc ? fail_out(err, err_size, &e, rc) : PAGEDVK_OK;
}

int pagedvk_detok_flush(pagedvk_detok *d, const char **text, size_t *len, char *err, size_t err_size) {
  if (!d || !text || !len) return invalid(err, err_size, "pagedvk_detok_flush: NULL argument");
  pv_error e = {0};
  int rc = pv_detok_flush(&d->state, text, len, &e);
  return rc ? fail_out(err, err_size, &e, rc) : PAGEDVK_OK;
}

void pagedvk_detok_destroy(pagedvk_detok *d) {
  if (!d) return;
  pv_detok_free(&d->state);
  free(d);
}
