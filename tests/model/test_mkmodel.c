/* tools/mkmodel → reader: for both architectures and every tensor type, the metadata keys and
 * values, tensor names, shapes and types llama.cpp uses; weight scales; determinism by seed;
 * --tied, --tensor-type, --vocab-from (tokenizer copied byte for byte); the built-in vocabulary's
 * validity; --head-dim, --rope-freqs, --rope-llama3; and rejected options. Runs the built mkmodel binary (skips when it is absent). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "devkit/gguf_write.h"
#include "gguf/quant.h"
#include "mkmodel_tmp.h"
#include "shared_paths.h"
#include "text/tokenizer.h"

static int setup(void **state) {
  (void)state;
  return pv_tmpdir_setup("mkmodel");
}

static int teardown(void **state) {
  (void)state;
  return pv_tmpdir_teardown();
}

static pv_gguf_file *open_ok(const char *path) {
  pv_gguf_file *f = NULL;
  pv_error err = {0};
  if (pv_gguf_open(&f, path, &err)) fail_msg("%s: %s", path, err.msg);
  return f;
}

static uint64_t u64_of(const pv_gguf_file *f, const char *key) {
  uint64_t v = 0;
  if (!pv_gguf_get_u64(f, key, &v)) fail_msg("missing %s", key);
  return v;
}

/* Checks a tensor's presence, type, shape, and that its values have about the expected spread. */
static void check_tensor(const pv_gguf_file *f, const char *name, pv_dtype type, uint64_t ne0, uint64_t ne1,
                         double mean, double std) {
  const pv_gguf_tensor *t = pv_gguf_find_tensor(f, name);
  if (!t) fail_msg("missing tensor %s", name);
  if (t->type != type) fail_msg("%s: type %s, want %s", name, pv_dtype_name(t->type), pv_dtype_name(type));
  assert_int_equal(t->ne[0], ne0);
  assert_int_equal(t->ne[1], ne1);
  assert_int_equal(t->n_dims, ne1 == 1 ? 1 : 2);
  uint64_t n = ne0 * ne1;
  float *x = malloc(n * sizeof *x);
  pv_error err = {0};
  if (pv_dequantize_tensor(t, x, &err)) fail_msg("%s", err.msg);
  double s = 0, ss = 0;
  for (uint64_t i = 0; i < n; i++) { s += x[i]; ss += (double)x[i] * x[i]; }
  free(x);
  double m = s / n, sd = sqrt(ss / n - m * m);
  if (fabs(m - mean) > 0.1 * (std + 0.01) + 4 * std / sqrt((double)n) || fabs(sd - std) > 0.2 * std)
    fail_msg("%s (%s): mean %g std %g, want about %g and %g", name, pv_dtype_name(type), m, sd, mean, std);
}

/* Reader → writer: copying every key and tensor of the parsed file reproduces it byte for byte. */
static void check_rewrite(const pv_gguf_file *f) {
  pv_error err = {0};
  pv_gguf_writer *w;
  assert_int_equal(pv_gguf_writer_create(&w, &err), 0);
  if (pv_gguf_writer_copy_kv_prefix(w, f, "", &err)) fail_msg("%s", err.msg);
  for (uint64_t i = 0; i < f->n_tensors; i++) {
    const pv_gguf_tensor *t = &f->tensors[i];
    char name[80];
    snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
    if (pv_gguf_writer_add_tensor(w, name, t->type, t->n_dims, t->ne, t->data, t->nbytes, &err)) fail_msg("%s", err.msg);
  }
  uint8_t *buf;
  uint64_t size;
  assert_int_equal(pv_gguf_writer_to_memory(w, &buf, &size, &err), 0);
  assert_int_equal(size, f->size);
  assert_memory_equal(buf, f->base, size);
  free(buf);
  pv_gguf_writer_destroy(w);
}

static void check_model(const char *path, const char *arch, pv_dtype type, bool tied) {
  pv_gguf_file *f = open_ok(path);
  check_rewrite(f);
  char key[128];
  pv_gguf_str s;
  assert_true(pv_gguf_get_str(f, "general.architecture", &s) && pv_gguf_str_eq(s, arch));
#define K(suffix) (snprintf(key, sizeof key, "%s.%s", arch, suffix), key)
  assert_int_equal(u64_of(f, K("embedding_length")), 256);
  assert_int_equal(u64_of(f, K("block_count")), 2);
  assert_int_equal(u64_of(f, K("feed_forward_length")), 512);
  assert_int_equal(u64_of(f, K("attention.head_count")), 4);
  assert_int_equal(u64_of(f, K("attention.head_count_kv")), 2);
  assert_int_equal(u64_of(f, K("context_length")), 1024);
  assert_int_equal(u64_of(f, K("rope.dimension_count")), 64);
  double d;
  assert_true(pv_gguf_get_f64(f, K("rope.freq_base"), &d) && d == 500000.0);
  assert_true(pv_gguf_get_f64(f, K("attention.layer_norm_rms_epsilon"), &d) && d == (double)1e-6f);
#undef K
  assert_int_equal(f->alignment, 32);
  const pv_gguf_array *tokens = pv_gguf_get_arr(f, "tokenizer.ggml.tokens");
  assert_non_null(tokens);
  uint64_t nv = tokens->n;
  double big = 3.0 / 16.0;
  check_tensor(f, "token_embd.weight", type, 256, nv, 0, big);
  const char *layer_names[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
  uint64_t ne0[] = {256, 256, 256, 256, 256, 256, 512}, ne1[] = {256, 128, 128, 256, 512, 512, 256};
  for (int l = 0; l < 2; l++) {
    char name[64];
    for (int i = 0; i < 7; i++) {
      snprintf(name, sizeof name, "blk.%d.%s.weight", l, layer_names[i]);
      check_tensor(f, name, type, ne0[i], ne1[i], 0, 1.0 / sqrt((double)ne0[i]));
    }
    snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
    check_tensor(f, name, PV_F32, 256, 1, 1.0, 0.1);
    snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", l);
    check_tensor(f, name, PV_F32, 256, 1, 1.0, 0.1);
    snprintf(name, sizeof name, "blk.%d.attn_q.bias", l);
    if (!strcmp(arch, "qwen2")) {
      check_tensor(f, name, PV_F32, 256, 1, 0, 0.05);
      snprintf(name, sizeof name, "blk.%d.attn_k.bias", l);
      check_tensor(f, name, PV_F32, 128, 1, 0, 0.05);
      snprintf(name, sizeof name, "blk.%d.attn_v.bias", l);
      check_tensor(f, name, PV_F32, 128, 1, 0, 0.05);
    } else {
      assert_null(pv_gguf_find_tensor(f, name));
    }
  }
  check_tensor(f, "output_norm.weight", PV_F32, 256, 1, 1.0, 0.1);
  if (tied) assert_null(pv_gguf_find_tensor(f, "output.weight"));
  else check_tensor(f, "output.weight", type, 256, nv, 0, big);
  uint64_t n_expected = 1 + 2 * (9 + (strcmp(arch, "qwen2") ? 0 : 3)) + 1 + (tied ? 0 : 1);
  assert_int_equal(f->n_tensors, n_expected);
  pv_gguf_close(f);
}

static const char *COMMON = "--n-embd 256 --n-layer 2 --n-head 4 --n-head-kv 2 --n-ff 512 --ctx 1024 "
                            "--rope-base 500000 --rms-eps 1e-6";

static void test_every_type_both_archs(void **state) {
  (void)state;
  static const pv_dtype types[] = {PV_F32,  PV_F16,  PV_BF16, PV_Q8_0, PV_Q4_0,   PV_Q4_1,  PV_Q5_0, PV_Q5_1,
                                   PV_Q2_K, PV_Q3_K, PV_Q4_K, PV_Q5_K, PV_Q6_K, PV_IQ4_NL, PV_IQ4_XS};
  static const char *archs[] = {"llama", "qwen2"};
  for (int a = 0; a < 2; a++)
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
      char args[512], path[512], out[64];
      bool tied = (t % 2) == 1;
      snprintf(args, sizeof args, "%s --arch %s --type %s%s --seed %zu", COMMON, archs[a], pv_dtype_name(types[t]),
               tied ? " --tied" : "", t);
      snprintf(out, sizeof out, "%s-%s.gguf", archs[a], pv_dtype_name(types[t]));
      int rc = pv_test_mkmodel(args, out, path, sizeof path);
      if (rc < 0) skip();
      if (rc) fail_msg("mkmodel %s failed (%d)", args, rc);
      check_model(path, archs[a], types[t], tied);
    }
}

static char *slurp(const char *path, size_t *n) {
  char *p = pv_test_read_file(path, n);
  assert_non_null(p);
  return p;
}

static void test_seed_determinism(void **state) {
  (void)state;
  char a[512], b[512], c[512];
  if (pv_test_mkmodel("--type Q4_K --seed 7", "a.gguf", a, sizeof a) < 0) skip();
  assert_int_equal(pv_test_mkmodel("--type Q4_K --seed 7", "b.gguf", b, sizeof b), 0);
  assert_int_equal(pv_test_mkmodel("--type Q4_K --seed 8", "c.gguf", c, sizeof c), 0);
  size_t na, nb, nc;
  char *pa = slurp(a, &na), *pb = slurp(b, &nb), *pc = slurp(c, &nc);
  assert_int_equal(na, nb);
  assert_memory_equal(pa, pb, na);
  assert_int_equal(na, nc);
  assert_true(memcmp(pa, pc, na) != 0);
  free(pa);
  free(pb);
  free(pc);
}

static void test_type_overrides(void **state) {
  (void)state;
  char path[512];
  int rc = pv_test_mkmodel("--type Q4_0 --type-embd Q8_0 --type-output Q6_K --type-norm F16 "
                   "--tensor-type 'blk.*.ffn_down.weight=Q5_K' --tensor-type 'blk.1.*=F32'",
                   "ov.gguf", path, sizeof path);
  if (rc < 0) skip();
  assert_int_equal(rc, 0);
  pv_gguf_file *f = open_ok(path);
  assert_int_equal(pv_gguf_find_tensor(f, "token_embd.weight")->type, PV_Q8_0);
  assert_int_equal(pv_gguf_find_tensor(f, "output.weight")->type, PV_Q6_K);
  assert_int_equal(pv_gguf_find_tensor(f, "output_norm.weight")->type, PV_F16);
  assert_int_equal(pv_gguf_find_tensor(f, "blk.0.attn_norm.weight")->type, PV_F16);
  assert_int_equal(pv_gguf_find_tensor(f, "blk.0.attn_q.weight")->type, PV_Q4_0);
  assert_int_equal(pv_gguf_find_tensor(f, "blk.0.ffn_down.weight")->type, PV_Q5_K);
  assert_int_equal(pv_gguf_find_tensor(f, "blk.1.ffn_down.weight")->type, PV_F32);
  assert_int_equal(pv_gguf_find_tensor(f, "blk.1.attn_q.weight")->type, PV_F32);
  pv_gguf_close(f);
}

static void test_vocab_from(void **state) {
  (void)state;
  char src_path[1024], args[1200], path[512];
  if (!pv_test_shared_path(src_path, sizeof src_path, "vocab/ggml-vocab-qwen2.gguf")) skip();
  snprintf(args, sizeof args, "--arch qwen2 --n-embd 64 --n-head 2 --n-ff 128 --n-layer 1 --tied --vocab-from '%s'",
           src_path);
  int rc = pv_test_mkmodel(args, "vq.gguf", path, sizeof path);
  if (rc < 0) skip();
  assert_int_equal(rc, 0);
  pv_gguf_file *src = open_ok(src_path), *f = open_ok(path);
  uint64_t copied = 0;
  for (uint64_t i = 0; i < src->n_kv; i++) {
    const pv_gguf_kv *kv = &src->kv[i];
    if (kv->key.len < 10 || memcmp(kv->key.ptr, "tokenizer.", 10)) continue;
    char key[128];
    snprintf(key, sizeof key, "%.*s", (int)kv->key.len, kv->key.ptr);
    const pv_gguf_kv *got = pv_gguf_find(f, key);
    if (!got) fail_msg("%s not copied", key);
    assert_int_equal(got->value.type, kv->value.type);
    if (kv->value.type == PV_GGUF_VT_ARRAY) {
      const pv_gguf_array *x = &kv->value.v.arr, *y = &got->value.v.arr;
      assert_int_equal(x->n, y->n);
      assert_int_equal(x->elem_type, y->elem_type);
      if (x->elem_type == PV_GGUF_VT_STRING)
        for (uint64_t j = 0; j < x->n; j++)
          assert_true(x->strs[j].len == y->strs[j].len && !memcmp(x->strs[j].ptr, y->strs[j].ptr, x->strs[j].len));
      else
        assert_memory_equal(x->data, y->data, x->n * pv_gguf_vtype_size(x->elem_type));
    } else if (kv->value.type == PV_GGUF_VT_STRING) {
      assert_true(got->value.v.str.len == kv->value.v.str.len &&
                  !memcmp(got->value.v.str.ptr, kv->value.v.str.ptr, kv->value.v.str.len));
    } else {
      assert_true(got->value.v.u64 == kv->value.v.u64);
    }
    copied++;
  }
  assert_true(copied >= 6);
  const pv_gguf_tensor *e = pv_gguf_find_tensor(f, "token_embd.weight");
  assert_true(e && e->ne[1] == 151936 && e->ne[0] == 64);
  assert_int_equal(u64_of(f, "qwen2.vocab_size"), 151936);
  pv_gguf_close(f);
  pv_gguf_close(src);
}

/* The built-in vocabulary: unique tokens, byte tokens in place, and every multi-character normal
 * piece reachable by joining two shorter pieces. */
static void test_builtin_vocab(void **state) {
  (void)state;
  char path[512];
  int rc = pv_test_mkmodel("--n-layer 1", "bv.gguf", path, sizeof path);
  if (rc < 0) skip();
  assert_int_equal(rc, 0);
  pv_gguf_file *f = open_ok(path);
  pv_gguf_str s;
  assert_true(pv_gguf_get_str(f, "tokenizer.ggml.model", &s) && pv_gguf_str_eq(s, "llama"));
  const pv_gguf_array *tok = pv_gguf_get_arr(f, "tokenizer.ggml.tokens"), *ty = pv_gguf_get_arr(f, "tokenizer.ggml.token_type");
  const pv_gguf_array *sc = pv_gguf_get_arr(f, "tokenizer.ggml.scores");
  assert_true(tok && ty && sc && tok->n == ty->n && tok->n == sc->n && tok->n > 300);
  assert_int_equal(u64_of(f, "tokenizer.ggml.bos_token_id"), 1);
  assert_int_equal(u64_of(f, "tokenizer.ggml.eos_token_id"), 2);
  assert_true(pv_gguf_str_eq(tok->strs[1], "<s>") && pv_gguf_str_eq(tok->strs[2], "</s>"));
  for (int b = 0; b < 256; b++) {
    char want[8];
    snprintf(want, sizeof want, "<0x%02X>", b);
    int64_t t;
    assert_true(pv_gguf_str_eq(tok->strs[3 + b], want) && pv_gguf_arr_i64(ty, 3 + (uint64_t)b, &t) && t == 6);
  }
  for (uint64_t i = 0; i < tok->n; i++)
    for (uint64_t j = i + 1; j < tok->n; j++)
      assert_false(tok->strs[i].len == tok->strs[j].len && !memcmp(tok->strs[i].ptr, tok->strs[j].ptr, tok->strs[i].len));
  for (uint64_t i = 259; i < tok->n; i++) {
    pv_gguf_str p = tok->strs[i];
    if (p.len == 1 || (p.len == 3 && !memcmp(p.ptr, "\xe2\x96\x81", 3))) continue;
    bool found = false;
    for (uint64_t cut = 1; cut < p.len && !found; cut++) {
      bool left = false, right = false;
      for (uint64_t k = 259; k < i; k++) {
        pv_gguf_str q = tok->strs[k];
        left |= q.len == cut && !memcmp(q.ptr, p.ptr, cut);
        right |= q.len == p.len - cut && !memcmp(q.ptr, p.ptr + cut, p.len - cut);
      }
      found = left && right;
    }
    if (!found) fail_msg("piece %llu '%.*s' is not two earlier pieces", (unsigned long long)i, (int)p.len, p.ptr);
  }
  pv_gguf_close(f);
}

/* --head-dim: key_length/value_length written, q/k/v/output shaped by it, RoPE over the whole
 * head; --rope-freqs: rope_freqs.weight of Llama 3.1's rule (factor 8, frequency factors 1 and 4,
 * original context --ctx); --rope-llama3: those as rope.scaling.* keys, and no tensor. */
static void test_rope_and_head_dim_layouts(void **state) {
  (void)state;
  char path[512], meta[512];
  int rc = pv_test_mkmodel("--arch qwen2 --n-embd 64 --n-head 4 --n-head-kv 2 --n-ff 128 --n-layer 1 --ctx 64 "
                   "--rope-base 10000 --head-dim 32 --rope-freqs", "hd.gguf", path, sizeof path);
  if (rc < 0) skip();
  assert_int_equal(rc, 0);
  pv_gguf_file *f = open_ok(path);
  assert_int_equal(u64_of(f, "qwen2.attention.key_length"), 32);
  assert_int_equal(u64_of(f, "qwen2.attention.value_length"), 32);
  assert_int_equal(u64_of(f, "qwen2.rope.dimension_count"), 32);
  check_tensor(f, "blk.0.attn_q.weight", PV_F16, 64, 128, 0.0, 1.0 / 8);
  check_tensor(f, "blk.0.attn_k.weight", PV_F16, 64, 64, 0.0, 1.0 / 8);
  check_tensor(f, "blk.0.attn_v.weight", PV_F16, 64, 64, 0.0, 1.0 / 8);
  check_tensor(f, "blk.0.attn_q.bias", PV_F32, 128, 1, 0.0, 0.05);
  check_tensor(f, "blk.0.attn_output.weight", PV_F16, 128, 64, 0.0, 1.0 / sqrt(128.0));
  const pv_gguf_tensor *t = pv_gguf_find_tensor(f, "rope_freqs.weight");
  assert_non_null(t);
  assert_int_equal(t->type, PV_F32);
  assert_int_equal(t->n_dims, 1);
  assert_int_equal(t->ne[0], 16);
  float div[16];
  memcpy(div, t->data, sizeof div);
  for (int i = 0; i < 16; i++) { /* wavelength of pair i against 64/4 and 64/1 */
    const double wave = 2 * 3.14159265358979 * pow(10000.0, i / 16.0), s = (64 / wave - 1) / 3;
    const double want = wave < 16 ? 1 : wave > 64 ? 8 : 1 / ((1 - s) / 8 + s);
    if (fabs(div[i] - want) > 1e-5 * want) fail_msg("rope_freqs[%d] = %g, want %g", i, div[i], want);
  }
  assert_true(div[0] == 1.0f && div[15] == 8.0f && div[3] > 1.0f && div[3] < 8.0f); /* all three bands */
  pv_gguf_close(f);
  assert_int_equal(pv_test_mkmodel("--n-embd 64 --n-head 2 --n-ff 128 --n-layer 1 --ctx 4096 --rope-llama3", "m.gguf", meta,
                           sizeof meta), 0);
  f = open_ok(meta);
  assert_null(pv_gguf_find_tensor(f, "rope_freqs.weight"));
  assert_null(pv_gguf_find(f, "llama.attention.key_length"));
  pv_gguf_str type = {0};
  assert_true(pv_gguf_get_str(f, "llama.rope.scaling.type", &type) && pv_gguf_str_eq(type, "llama3"));
  double v = 0;
  assert_true(pv_gguf_get_f64(f, "llama.rope.scaling.factor", &v) && v == 8.0);
  assert_true(pv_gguf_get_f64(f, "llama.rope.scaling.low_freq_factor", &v) && v == 1.0);
  assert_true(pv_gguf_get_f64(f, "llama.rope.scaling.high_freq_factor", &v) && v == 4.0);
  assert_int_equal(u64_of(f, "llama.rope.scaling.original_context_length"), 4096);
  pv_gguf_close(f);
  assert_int_not_equal(pv_test_mkmodel("--n-embd 64 --n-head 4 --head-dim 31", "x.gguf", path, sizeof path), 0);
}

/* --vocab-size pads the built-in vocabulary with <padK> pieces (the test models of
 * tests/models.cmake: Llama-2's 32000 rows without its vocabulary): the file's rows follow, the
 * built-in pieces keep their ids, and no text tokenizes into a pad piece, not even its own text. */
static void test_vocab_size(void **state) {
  (void)state;
  char plain[512], padded[512];
  if (pv_test_mkmodel("--n-embd 64 --n-head 2 --n-ff 128 --n-layer 1", "plain.gguf", plain, sizeof plain) < 0) skip();
  assert_int_equal(pv_test_mkmodel("--n-embd 64 --n-head 2 --n-ff 128 --n-layer 1 --vocab-size 1000 --tied", "pad.gguf", padded,
                           sizeof padded), 0);
  pv_gguf_file *p = open_ok(plain), *f = open_ok(padded);
  const pv_gguf_array *pt = pv_gguf_get_arr(p, "tokenizer.ggml.tokens"), *ft = pv_gguf_get_arr(f, "tokenizer.ggml.tokens");
  assert_true(pt && ft && pt->n < 1000);
  assert_int_equal(ft->n, 1000);
  assert_int_equal(pv_gguf_get_arr(f, "tokenizer.ggml.scores")->n, 1000);
  assert_int_equal(pv_gguf_get_arr(f, "tokenizer.ggml.token_type")->n, 1000);
  assert_int_equal(u64_of(f, "llama.vocab_size"), 1000);
  const pv_gguf_tensor *e = pv_gguf_find_tensor(f, "token_embd.weight");
  assert_true(e && e->ne[0] == 64 && e->ne[1] == 1000);
  for (uint64_t i = 0; i < pt->n; i++)
    assert_true(pt->strs[i].len == ft->strs[i].len && !memcmp(pt->strs[i].ptr, ft->strs[i].ptr, pt->strs[i].len));
  assert_true(pv_gguf_str_eq(ft->strs[pt->n], "<pad0>"));
  char last[16];
  snprintf(last, sizeof last, "<pad%u>", (unsigned)(999 - pt->n));
  assert_true(pv_gguf_str_eq(ft->strs[999], last));
  pv_tokenizer tok;
  pv_error err = {0};
  assert_int_equal(pv_tokenizer_load(&tok, f, &err), PAGEDVK_OK);
  const char *texts[] = {"<pad0>", "<pad17><pad5> x<pad1>", "The <pad3>"};
  for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
    pv_tokens ids = {0};
    assert_int_equal(pv_tokenize(&tok, texts[k], strlen(texts[k]), true, true, &ids, &err), PAGEDVK_OK);
    assert_true(ids.n > 1);
    for (size_t i = 0; i < ids.n; i++) assert_true(ids.ids[i] >= 0 && (uint64_t)ids.ids[i] < pt->n);
    pv_tokens_free(&ids);
  }
  pv_tokenizer_free(&tok);
  pv_gguf_close(f);
  pv_gguf_close(p);
  assert_int_not_equal(pv_test_mkmodel("--vocab-size 100", "x.gguf", padded, sizeof padded), 0);
  assert_int_not_equal(pv_test_mkmodel("--vocab-size 0", "x.gguf", padded, sizeof padded), 0);
  char args[1024], other[512];
  snprintf(args, sizeof args, "--n-embd 64 --n-head 2 --n-ff 128 --n-layer 1 --vocab-from '%s'", plain);
  assert_int_equal(pv_test_mkmodel(args, "from.gguf", other, sizeof other), 0);
  snprintf(args, sizeof args, "--n-embd 64 --n-head 2 --n-ff 128 --n-layer 1 --vocab-from '%s' --vocab-size 1000", plain);
  assert_int_not_equal(pv_test_mkmodel(args, "x.gguf", other, sizeof other), 0);
}

static void test_rejected_options(void **state) {
  (void)state;
  char path[512];
  if (pv_test_mkmodel("--n-layer 1", "ok.gguf", path, sizeof path) < 0) skip();
  assert_int_not_equal(pv_test_mkmodel("--arch gpt9", "x.gguf", path, sizeof path), 0);
  assert_int_not_equal(pv_test_mkmodel("--type IQ2_XXS", "x.gguf", path, sizeof path), 0);
  assert_int_not_equal(pv_test_mkmodel("--n-head 3", "x.gguf", path, sizeof path), 0);
  assert_int_not_equal(pv_test_mkmodel("--n-head 4 --n-head-kv 3", "x.gguf", path, sizeof path), 0);
  assert_int_not_equal(pv_test_mkmodel("--n-embd 128 --type Q4_K", "x.gguf", path, sizeof path), 0); /* 128 % 256 */
  assert_int_not_equal(pv_test_mkmodel("--bogus", "x.gguf", path, sizeof path), 0);
  assert_int_not_equal(pv_test_mkmodel("--vocab-from /nonexistent.gguf", "x.gguf", path, sizeof path), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_type_both_archs), cmocka_unit_test(test_seed_determinism),
    cmocka_unit_test(test_type_overrides),        cmocka_unit_test(test_vocab_from),
    cmocka_unit_test(test_builtin_vocab),         cmocka_unit_test(test_rejected_options),
    cmocka_unit_test(test_rope_and_head_dim_layouts), cmocka_unit_test(test_vocab_size),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
