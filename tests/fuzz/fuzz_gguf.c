/*
 * fuzz_gguf.c — libFuzzer target: the GGUF reader on arbitrary bytes.
 *
 * pv_gguf_open_memory parses the input; on success every metadata value is walked (scalars, strings,
 * scalar arrays element by element, string arrays, nested arrays), every tensor's data range is
 * read, lookups run by the names found, and the tokenizer and chat-template loaders run on the
 * file as the model loader would. A malformed file must give an error, never a crash, a read
 * outside the buffer (ASan) or undefined behaviour (UBSan).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/chat_template.h"
#include "gguf/gguf.h"
#include "text/detok.h"
#include "text/tokenizer.h"

static volatile uint64_t sink;

static void touch_str(pv_gguf_str s) {
  uint64_t h = s.len;
  for (uint64_t i = 0; i < s.len; i++) h = h * 31 + (uint8_t)s.ptr[i];
  sink += h;
}

static void walk_value(const pv_gguf_value *v, int depth) {
  switch (v->type) {
  case PV_GGUF_VT_STRING: touch_str(v->v.str); break;
  case PV_GGUF_VT_ARRAY: {
    const pv_gguf_array *a = &v->v.arr;
    if (a->elem_type == PV_GGUF_VT_STRING) {
      for (uint64_t i = 0; i < a->n; i++) touch_str(a->strs[i]);
    } else if (a->elem_type == PV_GGUF_VT_ARRAY) {
      for (uint64_t i = 0; i < a->n && depth < 64; i++) walk_value(&a->items[i], depth + 1);
    } else {
      for (uint64_t i = 0; i < a->n; i++) {
        uint64_t u;
        int64_t s;
        double d;
        if (pv_gguf_arr_u64(a, i, &u)) sink += u;
        if (pv_gguf_arr_i64(a, i, &s)) sink += (uint64_t)s;
        if (pv_gguf_arr_f64(a, i, &d)) sink += d == d;
      }
      /* out of range must be refused */
      uint64_t u;
      if (pv_gguf_arr_u64(a, a->n, &u)) abort();
    }
    break;
  }
  default: sink += v->v.u64; break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* A private copy so that ASan sees reads past the end of exactly `size` bytes. */
  uint8_t *buf = malloc(size ? size : 1);
  if (!buf) return 0;
  memcpy(buf, data, size);
  pv_gguf_file *f = NULL;
  pv_error err = {0};
  if (pv_gguf_open_memory(&f, buf, size, &err) == PAGEDVK_OK) {
    for (uint64_t i = 0; i < f->n_kv; i++) {
      const pv_gguf_kv *kv = &f->kv[i];
      touch_str(kv->key);
      walk_value(&kv->value, 0);
      char key[256];
      size_t n = kv->key.len < sizeof key - 1 ? (size_t)kv->key.len : sizeof key - 1;
      memcpy(key, kv->key.ptr, n);
      key[n] = 0;
      uint64_t u;
      int64_t s;
      double d;
      bool b;
      pv_gguf_str str;
      sink += pv_gguf_find(f, key) != NULL;
      sink += pv_gguf_get_u64(f, key, &u) + pv_gguf_get_i64(f, key, &s) + pv_gguf_get_f64(f, key, &d) +
              pv_gguf_get_bool(f, key, &b) + pv_gguf_get_str(f, key, &str) + (pv_gguf_get_arr(f, key) != NULL);
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
      const pv_gguf_tensor *t = &f->tensors[i];
      touch_str(t->name);
      if (t->nbytes) sink += t->data[0] + t->data[t->nbytes - 1];
      char name[256];
      size_t n = t->name.len < sizeof name - 1 ? (size_t)t->name.len : sizeof name - 1;
      memcpy(name, t->name.ptr, n);
      name[n] = 0;
      sink += pv_gguf_find_tensor(f, name) != NULL;
    }
    /* What the model loader does next with the metadata. */
    pv_tokenizer tok;
    memset(&tok, 0, sizeof tok);
    if (pv_tokenizer_load(&tok, f, &err) == PAGEDVK_OK) {
      pv_tokens ids = {0};
      static const char text[] = "Hello world! 123 <s> \xe2\x96\x81x \xf0\x9f\x98\x80";
      if (pv_tokenize(&tok, text, sizeof text - 1, true, true, &ids, &err) == PAGEDVK_OK) {
        char *out = NULL;
        size_t len = 0;
        if (pv_detokenize(&tok, ids.ids, ids.n, PV_DETOK_SPECIAL, &out, &len, &err) == PAGEDVK_OK) free(out);
      }
      pv_tokens_free(&ids);
      /* the chat template as model open takes it: parsed, or the fallback chosen by the vocabulary */
      pv_gguf_str tmpl = {NULL, 0};
      bool present = pv_gguf_get_str(f, "tokenizer.chat_template", &tmpl);
      pv_chat_template ct;
      pv_chat_template_load(&ct, &tok, present ? tmpl.ptr : NULL, present ? (size_t)tmpl.len : 0, &err);
      pv_chat_template_free(&ct);
      pv_tokenizer_free(&tok);
    }
    pv_gguf_close(f);
  }
  free(buf);
  return 0;
}
