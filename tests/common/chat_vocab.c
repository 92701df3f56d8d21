/* chat_vocab.c — the small vocabulary-only GGUF of chat_vocab.h. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "chat_vocab.h"
#include "devkit/gguf_write.h"

#define MAX_TOKENS 400

int pv_test_write_chat_vocab(const char *path, int chatml_type, const char *chat_template) {
  return pv_test_write_chat_vocab_with(path, chatml_type, chat_template, NULL, 0);
}

int pv_test_write_chat_vocab_with(const char *path, int chatml_type, const char *chat_template,
                                  const char *const *control, int n_control) {
  static char names[MAX_TOKENS][8];
  const char *tokens[MAX_TOKENS];
  int32_t types[MAX_TOKENS];
  float scores[MAX_TOKENS];
  uint32_t n = 0;
  const char *fixed[] = {"<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"};
  const int32_t fixed_type[] = {2, 3, 3, chatml_type, chatml_type};
  for (int i = 0; i < 5; i++) {
    if (i >= 3 && !chatml_type) continue;
    tokens[n] = fixed[i], types[n] = fixed_type[i], scores[n++] = 0;
  }
  for (int i = 0; i < n_control && n < 8; i++) tokens[n] = control[i], types[n] = 3, scores[n++] = 0;
  for (int b = 0; b < 256; b++) {
    snprintf(names[n], sizeof names[n], "<0x%02X>", b);
    tokens[n] = names[n], types[n] = 6, scores[n++] = 0;
  }
  tokens[n] = "\xe2\x96\x81", types[n] = 1, scores[n++] = -1;
  for (int c = 0x21; c < 0x7f; c++) {
    names[n][0] = (char)c, names[n][1] = 0;
    tokens[n] = names[n], types[n] = 1, scores[n++] = -2;
  }
  pv_error e = {0};
  pv_gguf_writer *w = NULL;
  int rc = pv_gguf_writer_create(&w, &e);
  if (!rc) rc = pv_gguf_writer_add_str(w, "general.architecture", "llama", &e);
  if (!rc) rc = pv_gguf_writer_add_str(w, "tokenizer.ggml.model", "llama", &e);
  if (!rc) rc = pv_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", tokens, n, &e);
  if (!rc) rc = pv_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", PV_GGUF_VT_INT32, types, n, &e);
  if (!rc) rc = pv_gguf_writer_add_arr(w, "tokenizer.ggml.scores", PV_GGUF_VT_FLOAT32, scores, n, &e);
  if (!rc) rc = pv_gguf_writer_add_u32(w, "tokenizer.ggml.unknown_token_id", 0, &e);
  if (!rc) rc = pv_gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", 1, &e);
  if (!rc) rc = pv_gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", 2, &e);
  if (!rc && chat_template) rc = pv_gguf_writer_add_str(w, "tokenizer.chat_template", chat_template, &e);
  if (!rc) rc = pv_gguf_writer_write(w, path, &e);
  if (rc) fprintf(stderr, "chat_vocab: %s\n", e.msg);
  pv_gguf_writer_destroy(w);
  return rc;
}
