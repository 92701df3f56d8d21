/*
 * fuzz_http_body.c — libFuzzer target: the server's request-body parser (oai_parse), the part of
 * an HTTP request that carries client data past libmicrohttpd: JSON → sampling params, stop
 * strings, prompt ids (completions) or messages through the chat template (chat).
 *
 * A server object is set up without a socket or an engine: the test model syn-llama-q4k.gguf
 * (mkmodel's, made at build time by tests/make_models.cmake) gives the tokenizer (opened once; no
 * Vulkan); it has no chat template of its own, so the
 * built-in llama2 template (role checks, raise_exception, BOS written) renders the chats. Byte 0 of the input picks the
 * endpoint, the rest is the body. Checked: success gives a prompt of 1..context-1 ids inside the
 * vocabulary and max_tokens that fit the context; failure gives a 400/404/503 with a message, and
 * the error object serialises; accepted stop strings have their lengths and are valid UTF-8. The
 * body is also run through srv_buf_append_utf8, whose output must be valid UTF-8, and through the
 * response writer (jw_str), whose string must read back (sj_parse) as the body made valid UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "text/utf8.h"
#include "server/server_internal.h"

#define FUZZ_CTX 512

static pagedvk_server srv;
static bool ready;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  char path[4096], err[512];
  fuzz_model_path(path, sizeof path, "syn-llama-q4k.gguf");
  if (pagedvk_model_open(&srv.model, path, err, sizeof err) != PAGEDVK_OK) {
    fprintf(stderr, "fuzz_http_body: %s (the fuzz build makes it)\n", err);
    abort();
  }
  if (pagedvk_model_set_chat_template(srv.model, NULL, 0, "llama2", err, sizeof err) != PAGEDVK_OK) {
    fprintf(stderr, "fuzz_http_body: %s\n", err);
    abort();
  }
  srv.model_name = "m";
  srv.max_model_len = FUZZ_CTX;
  srv.max_body = 1 << 20;
  pagedvk_sampling_params_default(&srv.defaults);
  ready = true;
  return 0;
}

static void fail(const char *what) {
  fprintf(stderr, "fuzz_http_body: %s\n", what);
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!ready || size < 1) return 0;
  oai_kind kind = data[0] & 1 ? OAI_CHAT : OAI_COMPLETION;
  const char *body = (const char *)data + 1;
  size_t len = size - 1;
  oai_request r;
  srv_error e;
  memset(&e, 0, sizeof e);
  if (oai_parse(&srv, kind, body, len, &r, &e) == 0) {
    if (r.n_prompt == 0 || r.n_prompt >= FUZZ_CTX) fail("accepted a prompt outside 1..context-1");
    size_t vocab = pagedvk_vocab_size(srv.model);
    for (size_t i = 0; i < r.n_prompt; i++)
      if (r.prompt[i] < 0 || (size_t)r.prompt[i] >= vocab) fail("accepted a prompt id outside the vocabulary");
    if (r.sp.max_tokens == 0 || r.n_prompt + r.sp.max_tokens > FUZZ_CTX) fail("max_tokens does not fit the context");
    if (r.sp.n_stop > SRV_MAX_STOPS) fail("too many stop strings");
    for (size_t i = 0; i < r.sp.n_stop; i++) {
      if (!r.sp.stop[i]) fail("NULL stop string");
      if (!r.sp.stop_len || !r.sp.stop_len[i]) fail("stop string without its length");
      if (!srv_utf8_valid(r.sp.stop[i], r.sp.stop_len[i])) fail("stop string that is not UTF-8 accepted");
    }
    for (size_t i = 0; i < r.sp.n_stop_ids; i++)
      if (r.sp.stop_ids[i] < 0 || (size_t)r.sp.stop_ids[i] >= vocab) fail("stop id outside the vocabulary");
    if (!(r.sp.temperature >= 0)) fail("negative or NaN temperature accepted");
    oai_request_free(&r);
  } else {
    if (e.http != 400 && e.http != 404 && e.http != 503) fail("error status not 400/404/503");
    if (!e.message[0] || !e.type) fail("error without a message or type");
    cJSON *j = srv_error_json(&e);
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    if (j && !text) fail("error object does not serialise");
    cJSON_free(text);
    cJSON_Delete(j);
    oai_request_free(&r);
  }
  srv_buf b = {0};
  if (srv_buf_append_utf8(&b, body, len) && !b.oom && !pv_utf8_valid(b.p ? b.p : "", b.len))
    fail("srv_buf_append_utf8 gave invalid UTF-8");
  srv_buf_free(&b);
  /* the response writer: any bytes give one JSON string, valid UTF-8, that reads back as the
   * bytes with each one that starts no UTF-8 sequence made U+FFFD */
  srv_buf w = {0}, want = {0};
  jw_str(&w, body, len);
  for (size_t i = 0; i < len;) {
    size_t k = srv_utf8_seq((const unsigned char *)body + i, len - i);
    srv_buf_append(&want, k ? body + i : "\xEF\xBF\xBD", k ? k : 3);
    i += k ? k : 1;
  }
  if (!w.oom && !want.oom) {
    if (!pv_utf8_valid(w.p, w.len)) fail("jw_str gave invalid UTF-8");
    sj_doc d;
    if (sj_parse(&d, w.p, w.len, NULL, 0) != SJ_OK) fail("jw_str gave text the reader refuses");
    if (sj_type_of(&d, 0) != SJ_STRING || sj_len(&d, 0) != want.len ||
        (want.len && memcmp(sj_bytes(&d, 0), want.p, want.len)))
      fail("jw_str's string does not read back");
    sj_free(&d);
  }
  srv_buf_free(&w);
  srv_buf_free(&want);
  return 0;
}
