/*
 * fuzz_tokenizer.c — libFuzzer target: the three shared vocabularies (llama SPM, llama-3 BPE,
 * qwen2 BPE), loaded once.
 *
 * Input: byte 0 picks the vocabulary and the mode, the rest is the payload.
 *   mode encode: the payload is text (any bytes) → pv_tokenize with add_special/parse_special
 *     from byte 0; every id must lie in the vocabulary; decoding the ids must give valid UTF-8.
 *   mode decode: the payload is a list of little-endian int32 ids (out-of-range ones included) →
 *     pv_detokenize in one shot and pv_detok_feed one by one then flush; both must succeed, give
 *     valid UTF-8, and give the same text (the streaming contract of tokenizer.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "gguf/gguf.h"
#include "text/detok.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

static const char *const VOCABS[] = {"vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-llama-bpe.gguf",
                                     "vocab/ggml-vocab-qwen2.gguf"};
#define N_VOCABS (sizeof VOCABS / sizeof VOCABS[0])

static pv_gguf_file *files[N_VOCABS];
static pv_tokenizer toks[N_VOCABS];
static size_t n_loaded;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  for (size_t i = 0; i < N_VOCABS; i++) {
    char path[4096];
    fuzz_shared_path(path, sizeof path, VOCABS[i]);
    pv_error err = {0};
    if (pv_gguf_open(&files[n_loaded], path, &err) != PAGEDVK_OK) {
      fprintf(stderr, "fuzz_tokenizer: %s: %s (skipped)\n", path, err.msg);
      continue;
    }
    if (pv_tokenizer_load(&toks[n_loaded], files[n_loaded], &err) != PAGEDVK_OK) {
      fprintf(stderr, "fuzz_tokenizer: %s: %s\n", path, err.msg);
      abort(); /* a shipped vocabulary must load */
    }
    n_loaded++;
  }
  if (!n_loaded) fprintf(stderr, "fuzz_tokenizer: no vocabulary found; nothing is exercised\n");
  return 0;
}

static void check_utf8(const char *s, size_t n) {
  if (!pv_utf8_valid(s, n)) {
    fprintf(stderr, "detokenized text is not valid UTF-8\n");
    abort();
  }
}

static void encode(const pv_tokenizer *tok, const uint8_t *p, size_t n, uint8_t sel) {
  pv_tokens ids = {0};
  pv_error err = {0};
  bool add_special = sel & 0x10, parse_special = sel & 0x20;
  if (pv_tokenize(tok, (const char *)p, n, add_special, parse_special, &ids, &err) == PAGEDVK_OK) {
    for (size_t i = 0; i < ids.n; i++)
      if (ids.ids[i] < 0 || (uint32_t)ids.ids[i] >= tok->n_vocab) {
        fprintf(stderr, "pv_tokenize produced id %d outside the vocabulary (%u)\n", ids.ids[i], tok->n_vocab);
        abort();
      }
    char *text = NULL;
    size_t len = 0;
    if (pv_detokenize(tok, ids.ids, ids.n, sel & 0x40 ? PV_DETOK_SPECIAL : 0, &text, &len, &err) != PAGEDVK_OK)
      abort();
    check_utf8(text, len);
    free(text);
  }
  pv_tokens_free(&ids);
}

static void decode(const pv_tokenizer *tok, const uint8_t *p, size_t n, uint8_t sel) {
  size_t n_ids = n / 4;
  int32_t *ids = malloc((n_ids ? n_ids : 1) * sizeof *ids);
  if (!ids) return;
  for (size_t i = 0; i < n_ids; i++) {
    uint32_t v = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
                 (uint32_t)p[4 * i + 3] << 24;
    /* Mostly ids in the vocabulary (so that pieces get exercised), sometimes any int32. */
    ids[i] = (v & 0x80000000u) && (v & 0x40000000u) ? (int32_t)v : (int32_t)((v & 0x3fffffffu) % (tok->n_vocab + 2));
  }
  unsigned flags = (sel & 0x10 ? PV_DETOK_SPECIAL : 0) | (sel & 0x20 ? PV_DETOK_STRIP_SPACE : 0);
  pv_error err = {0};
  char *whole = NULL;
  size_t whole_len = 0;
  if (pv_detokenize(tok, ids, n_ids, flags, &whole, &whole_len, &err) != PAGEDVK_OK) {
    fprintf(stderr, "pv_detokenize failed: %s\n", err.msg);
    abort();
  }
  check_utf8(whole, whole_len);
  pv_detok d;
  pv_detok_init(&d, tok, flags);
  char *acc = malloc(whole_len + 1);
  size_t acc_len = 0;
  bool mismatch = false;
  for (size_t i = 0; i <= n_ids && acc; i++) {
    const char *t = NULL;
    size_t len = 0;
    int rc = i < n_ids ? pv_detok_feed(&d, ids[i], &t, &len, &err) : pv_detok_flush(&d, &t, &len, &err);
    if (rc != PAGEDVK_OK) {
      fprintf(stderr, "streaming detokenizer failed: %s\n", err.msg);
      abort();
    }
    check_utf8(t, len);
    if (acc_len + len > whole_len || memcmp(whole + acc_len, t, len)) {
      mismatch = true;
      break;
    }
    acc_len += len;
  }
  if (acc && (mismatch || acc_len != whole_len)) {
    fprintf(stderr, "streaming detokenization differs from the one-shot text\n");
    abort();
  }
  pv_detok_free(&d);
  free(acc);
  free(whole);
  free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!n_loaded || size < 1) return 0;
  uint8_t sel = data[0];
  const pv_tokenizer *tok = &toks[(sel & 0x03) % n_loaded];
  if (sel & 0x80)
    decode(tok, data + 1, size - 1, sel);
  else
    encode(tok, data + 1, size - 1, sel);
  return 0;
}
