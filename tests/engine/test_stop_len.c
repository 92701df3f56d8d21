/*
 * Stop strings with lengths (pagedvk_sampling_params.stop_len): a NUL byte is part of the string,
 * not its end, through the engine's copy of the request (requests.c) and the matcher.
 *   - greedy text T of a request alone; the same request with the stop string T[3..6) + NUL
 *     (4 bytes, stop_len) never matches — T has no NUL — so the text is T whole, finish "length"
 *     (a copy that stopped at the NUL matched T[3..6) and cut the text);
 *   - with stop_len 3 the same bytes stop: the text is T[0..3), finish "stop";
 *   - stop_len NULL: the strings are NUL-terminated, as before.
 * Also pagedvk_tokenize_len: "a\0b" is three bytes of text, not "a".
 * After every request all blocks are back in the pool and the validation layer said nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/engine_internal.h"
#include "shared_paths.h"

typedef struct out {
  char text[4096];
  size_t len;
  pagedvk_finish_reason finish;
} out;

static void on_token(const pagedvk_token_event *ev, void *user) {
  out *o = user;
  if (o->len + ev->text_len <= sizeof o->text) {
    memcpy(o->text + o->len, ev->text, ev->text_len);
    o->len += ev->text_len;
  }
  if (ev->finish != PAGEDVK_FINISH_NONE) o->finish = ev->finish;
}

static void run(pagedvk_engine *e, const char *const *stop, const size_t *stop_len, uint32_t n_stop, out *o) {
  static const int32_t prompt[] = {1, 15043, 29892, 590};
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  sp.temperature = 0;
  sp.max_tokens = 12;
  sp.ignore_eos = 1;
  sp.stop = stop;
  sp.stop_len = stop_len;
  sp.n_stop = n_stop;
  memset(o, 0, sizeof *o);
  char err[512];
  assert_int_equal(pagedvk_engine_add_request(e, prompt, 4, &sp, on_token, o, NULL, err, sizeof err), PAGEDVK_OK);
  assert_int_equal(pagedvk_engine_run_until_idle(e, err, sizeof err), PAGEDVK_OK);
  pagedvk_stats st;
  pagedvk_engine_stats(e, &st);
  assert_int_equal(st.blocks_used, 0);
}

static void test_stop_with_nul(void **state) {
  (void)state;
  char path[1024], err[512];
  pv_test_model_path(path, sizeof path, "syn-llama-q4k.gguf");
  pagedvk_engine_options o;
  pagedvk_engine_options_default(&o);
  o.model_path = path;
  o.kv_mem = 16u << 20;
  o.max_model_len = 64;
  pagedvk_engine *e = NULL;
  if (pagedvk_engine_create(&e, &o, err, sizeof err)) fail_msg("%s", err);
  out whole, got;
  run(e, NULL, NULL, 0, &whole);
  assert_int_equal(whole.finish, PAGEDVK_FINISH_LENGTH);
  if (whole.len < 6 || memchr(whole.text, 0, whole.len)) fail_msg("greedy text too short or holds a NUL");
  char bytes[4];
  memcpy(bytes, whole.text + 3, 3);
  bytes[3] = 0;
  const char *stops[1] = {bytes};
  /* 4 bytes, the last a NUL: never in the text */
  size_t len4 = 4;
  run(e, stops, &len4, 1, &got);
  assert_int_equal(got.finish, PAGEDVK_FINISH_LENGTH);
  assert_int_equal(got.len, whole.len);
  assert_memory_equal(got.text, whole.text, whole.len);
  /* the first 3 of them stop the text before them */
  size_t len3 = 3;
  run(e, stops, &len3, 1, &got);
  assert_int_equal(got.finish, PAGEDVK_FINISH_STOP);
  assert_true(got.len <= 3);
  assert_memory_equal(got.text, whole.text, got.len);
  /* NULL lengths: NUL-terminated strings, as before */
  run(e, stops, NULL, 1, &got);
  assert_int_equal(got.finish, PAGEDVK_FINISH_STOP);
  assert_true(got.len <= 3);
  assert_int_equal(pv_vk_validation_count(e->ctx), 0);
  pagedvk_engine_destroy(e);
}

static void test_tokenize_len(void **state) {
  (void)state;
  char path[1024], err[512];
  pv_test_model_path(path, sizeof path, "syn-llama-q4k.gguf");
  pagedvk_model *m = NULL;
  if (pagedvk_model_open(&m, path, err, sizeof err)) fail_msg("%s", err);
  int32_t a[16], b[16];
  size_t na = 0, nb = 0;
  assert_int_equal(pagedvk_tokenize(m, "a", 0, 0, a, 16, &na, err, sizeof err), PAGEDVK_OK);
  assert_int_equal(pagedvk_tokenize_len(m, "a\0b", 3, 0, 0, b, 16, &nb, err, sizeof err), PAGEDVK_OK);
  assert_true(nb > na);
  char text[32];
  size_t len = 0;
  assert_int_equal(pagedvk_detokenize(m, b, nb, PAGEDVK_DETOK_STRIP_SPACE, text, sizeof text, &len, err, sizeof err), PAGEDVK_OK);
  assert_int_equal(len, 3);
  assert_memory_equal(text, "a\0b", 3);
  /* the old call is the length form over strlen */
  assert_int_equal(pagedvk_tokenize_len(m, "a\0b", 1, 0, 0, b, 16, &nb, err, sizeof err), PAGEDVK_OK);
  assert_int_equal(nb, na);
  assert_memory_equal(a, b, na * sizeof *a);
  pagedvk_model_close(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tokenize_len),
      cmocka_unit_test(test_stop_with_nul),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
