/*
 * fuzz_tokenizer.c — libFuzzer target: the tokenizer and detokenizer on vocabularies that need
 * nothing outside the checkout, loaded once:
 *   - the SentencePiece vocabulary of the test model syn-llama-q4k (mkmodel's built-in pieces with
 *     byte fallback, padded to 32000; made at build time by tests/make_models.cmake),
 *   - a byte-level BPE vocabulary built here (the 256 byte pieces, a few dozen merges, control and
 *     user-defined tokens), once with Llama 3's and once with Qwen2's pre-tokenizer rules;
 * and, when ../shared is there, the real llama SPM, Llama-3 BPE and Qwen2 BPE vocabularies too
 * (the run says which were left out).
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
#include "text/bytelevel.h"
#include "text/detok.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

static const char *const SHARED_VOCABS[] = {"vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-llama-bpe.gguf",
                                            "vocab/ggml-vocab-qwen2.gguf"};
#define N_SHARED (sizeof SHARED_VOCABS / sizeof SHARED_VOCABS[0])
#define MAX_TOKS (N_SHARED + 3)

static pv_gguf_file *files[MAX_TOKS];
static pv_tokenizer toks[MAX_TOKS];
static size_t n_loaded;

/* Loads a vocabulary from a GGUF file; a missing file is said and left out when optional. */
static void load_file(const char *path, bool optional) {
  pv_error err = {0};
  if (pv_gguf_open(&files[n_loaded], path, &err) != PAGEDVK_OK) {
    fprintf(stderr, "fuzz_tokenizer: %s: %s (%s)\n", path, err.msg, optional ? "left out" : "fatal");
    if (!optional) abort();
    return;
  }
  if (pv_tokenizer_load(&toks[n_loaded], files[n_loaded], &err) != PAGEDVK_OK) {
    fprintf(stderr, "fuzz_tokenizer: %s: %s\n", path, err.msg);
    abort(); /* a shipped vocabulary must load */
  }
  n_loaded++;
}

/* Pieces of the byte-level BPE vocabulary: merges (in rank order) over the byte pieces; "Ġ" is
 * the mapped space. Each merge's result is added as a piece. */
static const char *const BPE_MERGES[] = {
    "\xc4\xa0 t", "h e", "\xc4\xa0 a", "i n", "\xc4\xa0t he", "e r", "o n", "\xc4\xa0 s", "r e", "a n", "a t",
    "e n", "n d", "\xc4\xa0 w", "i s", "\xc4\xa0 o", "o u", "i t", "e s", "in g", "\xc4\xa0 c", "o r",
    "\xc4\xa0" "a n", "\xc4\xa0" "an d", "\xc4\xa0 \xc4\xa0", "\xc4\xa0\xc4\xa0 \xc4\xa0\xc4\xa0", "\xc4\x8a \xc4\x8a",
    "1 2", "12 3", "\xc3\xa4 \xc2\xb8", "\xc3\xb0 \xc5\x81",
};
static const char *const BPE_SPECIAL[] = {"<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>"};

/* Builds the byte-level BPE vocabulary with pre-tokenizer `pre`. */
static void build_bpe(const char *pre) {
  enum { CAP = 256 + sizeof BPE_MERGES / sizeof BPE_MERGES[0] + 8 };
  static char text[CAP][48];
  static pv_gguf_str pieces[CAP], merges[sizeof BPE_MERGES / sizeof BPE_MERGES[0]];
  static int32_t types[CAP];
  uint32_t n = 0;
  for (int b = 0; b < 256; b++) {
    char c = (char)b;
    size_t len = pv_bytelevel_encode(&c, 1, text[n]);
    pieces[n] = (pv_gguf_str){text[n], len};
    types[n++] = PV_TOKEN_NORMAL;
  }
  for (size_t m = 0; m < sizeof BPE_MERGES / sizeof BPE_MERGES[0]; m++) {
    const char *sp = strchr(BPE_MERGES[m], ' ');
    size_t left = (size_t)(sp - BPE_MERGES[m]);
    snprintf(text[n], sizeof text[n], "%.*s%s", (int)left, BPE_MERGES[m], sp + 1);
    pieces[n] = (pv_gguf_str){text[n], strlen(text[n])};
    types[n++] = PV_TOKEN_NORMAL;
    merges[m] = (pv_gguf_str){BPE_MERGES[m], strlen(BPE_MERGES[m])};
  }
  const int32_t first_special = (int32_t)n;
  for (size_t k = 0; k < sizeof BPE_SPECIAL / sizeof BPE_SPECIAL[0]; k++) {
    pieces[n] = (pv_gguf_str){BPE_SPECIAL[k], strlen(BPE_SPECIAL[k])};
    types[n++] = PV_TOKEN_CONTROL;
  }
  pieces[n] = (pv_gguf_str){"<tool>", 6}; /* user-defined: always parsed from text */
  types[n++] = PV_TOKEN_USER_DEFINED;
  pv_vocab_desc d = {0};
  d.model = "gpt2";
  d.pre = pre;
  d.n_vocab = n;
  d.pieces = pieces;
  d.types = types;
  d.merges = merges;
  d.n_merges = sizeof BPE_MERGES / sizeof BPE_MERGES[0];
  d.bos = first_special;
  d.eos = first_special + 1;
  d.eot = first_special + 3;
  d.unk = d.pad = -1;
  d.add_bos = 1;
  d.add_eos = 0;
  d.add_space_prefix = -1;
  pv_error err = {0};
  if (pv_tokenizer_build(&toks[n_loaded], &d, &err) != PAGEDVK_OK) {
    fprintf(stderr, "fuzz_tokenizer: the built-in BPE vocabulary (%s): %s\n", pre, err.msg);
    abort();
  }
  n_loaded++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  char path[4096];
  fuzz_model_path(path, sizeof path, "syn-llama-q4k.gguf");
  load_file(path, false);
  build_bpe("llama3");
  build_bpe("qwen2");
  for (size_t i = 0; i < N_SHARED; i++) {
    fuzz_shared_path(path, sizeof path, SHARED_VOCABS[i]);
    load_file(path, true);
  }
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
  if (size < 1) return 0;
  uint8_t sel = data[0];
  const pv_tokenizer *tok = &toks[(sel & 0x07) % n_loaded]; /* bits 4-7: the mode */
  if (sel & 0x80)
    decode(tok, data + 1, size - 1, sel);
  else
    encode(tok, data + 1, size - 1, sel);
  return 0;
}
