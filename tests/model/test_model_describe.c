/* pagedvk_model_describe on a model of known shape (written by the built mkmodel with five weight
 * types): hyper-parameters, tokenizer, chat template, parameters, and per weight type the tensor
 * count and bytes, computed here from the GGUF block layouts (not from the library's type table);
 * pagedvk_model_print_info showing the same figures; the chat template's source (none for this
 * vocabulary without a template or ChatML tokens, the file's, one that does not parse) and why;
 * metadata that is read but not applied; a file whose architecture the library does
 * not run (error, file-level fields still filled); Llama-3 RoPE scaling named (tensor or metadata)
 * and a head size from key_length; each architecture's mechanisms (description fields and the
 * `mechanisms:` / `per layer:` lines of print_info); NULL arguments. Skips when mkmodel is absent. */
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
#include "mkmodel_tmp.h"
#include "pagedvk.h"

static int setup(void **state) {
  (void)state;
  return pv_tmpdir_setup("describe");
}

static int teardown(void **state) {
  (void)state;
  return pv_tmpdir_teardown();
}

/* The model every test describes: llama, 2 layers, n_embd 256, 4 heads (2 kv, head size 64),
 * n_ff 512, context 512; Q8_0 projections, Q6_K ffn_down, Q4_K embeddings, F16 output, F32 norms. */
#define N_EMBD 256
#define N_FF 512
#define N_KV 128 /* kv heads x head size */
#define MKMODEL_ARGS                                                                                        \
  "--arch llama --n-embd 256 --n-layer 2 --n-head 4 --n-head-kv 2 --n-ff 512 --ctx 512 --type Q8_0 "     \
  "--type-embd Q4_K --type-output F16 --tensor-type 'blk.*.ffn_down.weight=Q6_K' --name describe-me"

/* Writes the model above into pv_tmpdir(); false (the test skips) when mkmodel is not built. */
static bool make_model(char *path, size_t size) {
  int rc = pv_test_mkmodel(MKMODEL_ARGS, "describe.gguf", path, size);
  if (rc < 0) return false;
  if (rc) fail_msg("mkmodel " MKMODEL_ARGS ": exit %d", rc);
  return true;
}

static pagedvk_model *open_model(const char *path) {
  pagedvk_model *m = NULL;
  char err[512];
  if (pagedvk_model_open(&m, path, err, sizeof err)) fail_msg("%s", err);
  return m;
}

static const pagedvk_weight_type_bytes *find_type(const pagedvk_model_description *d, const char *name) {
  for (uint32_t i = 0; i < d->n_weight_types; i++)
    if (!strcmp(d->weight_types[i].type, name)) return &d->weight_types[i];
  fail_msg("no weight type %s in the description", name);
  return NULL;
}

static void check_type(const pagedvk_model_description *d, const char *name, uint32_t number, uint64_t n_tensors,
                       uint64_t bytes) {
  const pagedvk_weight_type_bytes *w = find_type(d, name);
  assert_int_equal(w->ggml_type, number);
  if (w->n_tensors != n_tensors || w->bytes != bytes)
    fail_msg("%s: %llu tensors, %llu bytes; want %llu, %llu", name, (unsigned long long)w->n_tensors,
             (unsigned long long)w->bytes, (unsigned long long)n_tensors, (unsigned long long)bytes);
}

static void test_describe_known_shape(void **state) {
  (void)state;
  char path[512];
  if (!make_model(path, sizeof path)) skip();
  pagedvk_model *m = open_model(path);
  pagedvk_model_description d;
  memset(&d, 0xa5, sizeof d);
  char err[512] = "";
  assert_int_equal(pagedvk_model_describe(m, &d, err, sizeof err), PAGEDVK_OK);
  assert_string_equal(d.path, path);
  assert_string_equal(d.name, "describe-me");
  assert_int_equal(d.gguf_version, 3);
  assert_string_equal(d.architecture, "llama");
  assert_int_equal(d.n_layer, 2);
  assert_int_equal(d.n_embd, N_EMBD);
  assert_int_equal(d.n_head, 4);
  assert_int_equal(d.n_head_kv, 2);
  assert_int_equal(d.head_dim, 64);
  assert_int_equal(d.n_ff, N_FF);
  assert_int_equal(d.context_length, 512);
  assert_int_equal(d.rope_dims, 64);
  assert_int_equal(d.rope_neox, 0);
  assert_null(d.rope_scaling);
  assert_int_equal(d.qkv_bias, 0);
  assert_int_equal(d.tied_embeddings, 0);
  assert_string_equal(d.tokenizer, "llama");
  assert_string_equal(d.chat_template, "none");
  assert_null(d.chat_template_source);
  assert_int_equal(d.chat_template_usable, 0);
  assert_int_equal(d.chat_template_fallback, 1);
  assert_string_equal(d.chat_template_reason,
                      "the model has no chat template; pass --chat-template-file or --chat-template NAME");
  assert_null(d.unapplied_metadata);
  const uint64_t V = pagedvk_vocab_size(m);
  assert_true(V > 256);
  assert_int_equal(d.vocab_size, V);
  assert_int_equal(d.tokenizer_vocab, V);
  assert_int_equal(d.bos, pagedvk_token_bos(m));
  assert_int_equal(d.eos, pagedvk_token_eos(m));
  assert_int_equal(d.add_bos, 1);

  /* Per layer: norms 2 x 256 (F32); q, o 256x256, k, v 256x128, gate, up 256x512 (Q8_0: 34 bytes
   * per 32); down 512x256 (Q6_K: 210 bytes per 256). Embeddings 256xV Q4_K (144 per 256), output
   * 256xV F16, output_norm 256 F32. */
  const uint64_t q8_elems = 2 * N_EMBD * N_EMBD + 2 * N_EMBD * N_KV + 2 * N_EMBD * N_FF, down = N_FF * N_EMBD;
  assert_int_equal(d.n_tensors, 2 * 9 + 3);
  assert_int_equal(d.n_params, 5 * N_EMBD + 2 * (q8_elems + down) + 2 * N_EMBD * V);
  assert_int_equal(d.n_weight_types, 5);
  check_type(&d, "F32", 0, 5, 5 * N_EMBD * 4);
  check_type(&d, "F16", 1, 1, N_EMBD * V * 2);
  check_type(&d, "Q8_0", 8, 12, 2 * q8_elems / 32 * 34);
  check_type(&d, "Q4_K", 12, 1, N_EMBD * V / 256 * 144);
  check_type(&d, "Q6_K", 14, 2, 2 * down / 256 * 210);
  assert_int_equal(find_type(&d, "Q8_0")->block_elems, 32);
  assert_int_equal(find_type(&d, "Q8_0")->block_bytes, 34);
  for (uint32_t i = 1; i < d.n_weight_types; i++) assert_true(d.weight_types[i - 1].ggml_type < d.weight_types[i].ggml_type);
  assert_int_equal(d.token_embd_bytes, N_EMBD * V / 256 * 144);
  assert_int_equal(d.weight_bytes, 5 * N_EMBD * 4 + N_EMBD * V * 2 + 2 * q8_elems / 32 * 34 + N_EMBD * V / 256 * 144 +
                                       2 * down / 256 * 210);
  pagedvk_model_close(m);
}

/* print_info writes the description's figures. */
static void test_print_info_formats_description(void **state) {
  (void)state;
  char path[512];
  if (!make_model(path, sizeof path)) skip();
  pagedvk_model *m = open_model(path);
  pagedvk_model_description d;
  assert_int_equal(pagedvk_model_describe(m, &d, NULL, 0), PAGEDVK_OK);
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  assert_non_null(mem);
  pagedvk_model_print_info(m, mem);
  fclose(mem);
  char want[256];
  const char *lines[8];
  int n = 0;
  lines[n++] = "name:           describe-me\n";
  lines[n++] = "architecture:   llama\n";
  lines[n++] = "heads:          4 (kv heads 2, head size 64)\n";
  lines[n++] = "context:        512\n";
  lines[n++] = "chat template:  none (the model has no chat template; pass --chat-template-file or --chat-template "
               "NAME)\n";
  lines[n++] = "  Q6_K      2 tensors        0.21 MiB\n";
  lines[n++] = "\ntensors (21):\n  token_embd.weight                Q4_K  [256, ";
  for (int i = 0; i < n; i++)
    if (!strstr(text, lines[i])) fail_msg("print_info lacks '%s' in:\n%s", lines[i], text);
  snprintf(want, sizeof want, "parameters:     %llu (", (unsigned long long)d.n_params);
  if (!strstr(text, want)) fail_msg("print_info lacks '%s' in:\n%s", want, text);
  snprintf(want, sizeof want, "vocabulary:     %u\n", d.vocab_size);
  if (!strstr(text, want)) fail_msg("print_info lacks '%s' in:\n%s", want, text);
  if (strstr(text, "not applied:")) fail_msg("print_info names unapplied metadata of a plain model:\n%s", text);
  free(text);
  pagedvk_model_close(m);
}

/* The model above rewritten with `template` (NULL: none) as tokenizer.chat_template and the extra
 * llama.* numbers of `extra` (f32 values, name NULL ends the list). */
typedef struct extra_key {
  const char *key;
  float value;
} extra_key;

static void rewrite(const char *path, const char *out, const char *template, const extra_key *extra) {
  pv_error e = {0};
  pv_gguf_file *src = NULL;
  pv_gguf_writer *w = NULL;
  if (pv_gguf_open(&src, path, &e) || pv_gguf_writer_create(&w, &e)) fail_msg("%s", e.msg);
  int rc = pv_gguf_writer_copy_kv_prefix(w, src, "general.", &e);
  rc = rc ? rc : pv_gguf_writer_copy_kv_prefix(w, src, "llama.", &e);
  rc = rc ? rc : pv_gguf_writer_copy_tokenizer(w, src, &e);
  if (template) rc = rc ? rc : pv_gguf_writer_add_str(w, "tokenizer.chat_template", template, &e);
  for (const extra_key *x = extra; x && x->key && !rc; x++) rc = pv_gguf_writer_add_f32(w, x->key, x->value, &e);
  for (uint64_t i = 0; i < src->n_tensors && !rc; i++) {
    const pv_gguf_tensor *t = &src->tensors[i];
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
    rc = pv_gguf_writer_add_tensor(w, name, t->type, t->n_dims, t->ne, t->data, t->nbytes, &e);
  }
  rc = rc ? rc : pv_gguf_writer_write(w, out, &e);
  if (rc) fail_msg("%s", e.msg);
  pv_gguf_writer_destroy(w);
  pv_gguf_close(src);
}

static char *info_text(pagedvk_model *m) {
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  assert_non_null(mem);
  pagedvk_model_print_info(m, mem);
  fclose(mem);
  return text;
}

/* The file's template is the source "gguf"; one that does not parse still opens the model, with
 * the parse error as the reason. */
static void test_chat_template_sources(void **state) {
  (void)state;
  char path[512], good[600], broken[600];
  if (!make_model(path, sizeof path)) skip();
  snprintf(good, sizeof good, "%s.good.gguf", path);
  snprintf(broken, sizeof broken, "%s.broken.gguf", path);
  rewrite(path, good, "{% for m in messages %}### {{ m.role }}: {{ m.content }}\n{% endfor %}", NULL);
  rewrite(path, broken, "{% for m in messages %}### {{ m.role }}: {{ m.content }}\n", NULL);
  pagedvk_model_description d;
  pagedvk_model *m = open_model(good);
  assert_int_equal(pagedvk_model_describe(m, &d, NULL, 0), PAGEDVK_OK);
  assert_string_equal(d.chat_template, "gguf");
  assert_string_equal(d.chat_template_source, "gguf");
  assert_int_equal(d.chat_template_fallback, 0);
  assert_int_equal(d.chat_template_usable, 1);
  assert_null(d.chat_template_reason);
  char *text = info_text(m);
  if (!strstr(text, "chat template:  gguf\n")) fail_msg("the file's template shown as:\n%s", text);
  free(text);
  pagedvk_model_close(m);

  m = open_model(broken);
  assert_int_equal(pagedvk_model_describe(m, &d, NULL, 0), PAGEDVK_OK);
  assert_string_equal(d.chat_template_source, "gguf");
  assert_int_equal(d.chat_template_fallback, 0);
  assert_int_equal(d.chat_template_usable, 0);
  assert_non_null(d.chat_template_reason);
  if (!strstr(d.chat_template_reason, "cannot be used")) fail_msg("reason: %s", d.chat_template_reason);
  text = info_text(m);
  if (!strstr(text, "chat template:  gguf (the model's chat template (tokenizer.chat_template) cannot be used: "))
    fail_msg("a template that does not parse shown as:\n%s", text);
  free(text);
  pagedvk_model_close(m);
}

/* Metadata that changes the model but is not applied is named, with its value; neutral values
 * (logit_scale 1, expert_count 0) are not. */
static void test_unapplied_metadata(void **state) {
  (void)state;
  char path[512], other[600];
  if (!make_model(path, sizeof path)) skip();
  snprintf(other, sizeof other, "%s.unapplied.gguf", path);
  const extra_key extra[] = {{"llama.attention.sliding_window", 4096.0f}, {"llama.final_logit_softcapping", 30.0f},
                             {"llama.logit_scale", 1.0f}, {"llama.expert_count", 0.0f}, {NULL, 0.0f}};
  rewrite(path, other, NULL, extra);
  pagedvk_model *m = open_model(other);
  pagedvk_model_description d;
  assert_int_equal(pagedvk_model_describe(m, &d, NULL, 0), PAGEDVK_OK);
  assert_non_null(d.unapplied_metadata);
  assert_string_equal(d.unapplied_metadata,
                      "llama.attention.sliding_window = 4096, llama.final_logit_softcapping = 30");
  char *text = info_text(m);
  if (!strstr(text, "not applied:    llama.attention.sliding_window = 4096, llama.final_logit_softcapping = 30\n"))
    fail_msg("print_info:\n%s", text);
  free(text);
  pagedvk_model_close(m);
}

/* Llama-3 RoPE scaling is named, from the tensor or from the metadata; a head size from
 * attention.key_length is the one described. */
static void test_rope_scaling_and_head_size(void **state) {
  (void)state;
  char path[512], args1[256];
  const char *args[] = {"--rope-freqs --head-dim 32", "--rope-llama3"};
  const char *want[] = {"llama3 (rope_freqs.weight)", "llama3 (rope.scaling metadata)"};
  for (int i = 0; i < 2; i++) {
    char out[32];
    snprintf(out, sizeof out, "rope%d.gguf", i);
    snprintf(args1, sizeof args1, "--n-embd 64 --n-head 4 --n-ff 128 --n-layer 1 %s", args[i]);
    int rc = pv_test_mkmodel(args1, out, path, sizeof path);
    if (rc < 0) skip();
    assert_int_equal(rc, 0);
    pagedvk_model *m = open_model(path);
    pagedvk_model_description d;
    assert_int_equal(pagedvk_model_describe(m, &d, NULL, 0), PAGEDVK_OK);
    assert_string_equal(d.rope_scaling, want[i]);
    assert_int_equal(d.head_dim, i == 0 ? 32 : 16);
    char *text = info_text(m), line[160];
    snprintf(line, sizeof line, "position scale 1, frequency scaling %s\n", want[i]);
    if (!strstr(text, line)) fail_msg("print_info:\n%s", text);
    free(text);
    pagedvk_model_close(m);
  }
}

/* An architecture's mechanisms in the description and in print_info's `mechanisms:` line (none
 * for llama). Each entry: mkmodel arguments, the description checked, the text expected. */
typedef struct arch_case {
  const char *args;
  void (*check)(const pagedvk_model_description *d);
  const char *want; /* a line of print_info; NULL: no "mechanisms:" or "per layer:" line at all */
} arch_case;

static void check_llama(const pagedvk_model_description *d) {
  assert_string_equal(d->architecture, "llama");
  assert_int_equal(d->qk_norm, 0);
  assert_true(d->embedding_scale == 1.0f && d->residual_scale == 1.0f && d->logit_scale == 1.0f);
  assert_true(d->attention_scale == 0.25f); /* 1/sqrt(16) */
  assert_true(!d->fused_qkv && !d->fused_gate_up && d->rope_orig_context == 0 && d->rope_attn_factor == 1.0f);
  assert_string_equal(d->layer_mechanisms, "");
}

static void check_qwen3(const pagedvk_model_description *d) {
  assert_string_equal(d->architecture, "qwen3");
  assert_int_equal(d->qk_norm, 1);
  assert_int_equal(d->rope_neox, 1);
  assert_int_equal(d->head_dim, 32);
}

static void check_smollm3(const pagedvk_model_description *d) {
  assert_string_equal(d->architecture, "smollm3");
  assert_string_equal(d->layer_mechanisms, "no RoPE (NoPE): 3");
}

static void check_granite(const pagedvk_model_description *d) {
  assert_string_equal(d->architecture, "granite");
  assert_true(d->embedding_scale == 12.0f && d->residual_scale == 0.22f && d->attention_scale == 0.0625f &&
              d->logit_scale == 8.0f);
  assert_null(d->unapplied_metadata); /* granite's scales are applied */
}

static void check_gemma2(const pagedvk_model_description *d) {
  assert_string_equal(d->architecture, "gemma2");
  assert_true(d->embedding_scale == 8.0f && d->attn_softcap == 50.0f && d->final_softcap == 30.0f);
  assert_true(d->post_norms && d->ffn_gelu);
  assert_string_equal(d->layer_mechanisms, "sliding window 4096: 0, 2"); /* llama.cpp's defaults */
  assert_null(d->unapplied_metadata);
}

static void check_gemma3(const pagedvk_model_description *d) {
  assert_string_equal(d->architecture, "gemma3");
  assert_true(d->qk_norm && d->post_norms && d->ffn_gelu && d->attn_softcap == 0.0f && d->final_softcap == 0.0f);
  assert_string_equal(d->layer_mechanisms, "sliding window 512: 0, 1, 2; RoPE base 10000: 0, 1, 2");
  assert_null(d->unapplied_metadata);
}

static void check_phi3(const pagedvk_model_description *d) {
  assert_string_equal(d->architecture, "phi3");
  assert_true(d->fused_qkv && d->fused_gate_up);
  assert_int_equal(d->rope_dims, 24);
  assert_string_equal(d->rope_scaling, "LongRoPE (rope_factors_short/long.weight)");
  assert_int_equal(d->rope_orig_context, 512);
  assert_true(d->rope_attn_factor == 1.5f);
}

static void test_arch_mechanisms(void **state) {
  (void)state;
  char path[512], args[512];
  const arch_case cases[] = {
      {"--arch llama", check_llama, NULL},
      {"--arch qwen3 --head-dim 32", check_qwen3,
       "mechanisms:     qk-norm (per-head RMS norm of q and k before RoPE)\n"},
      {"--arch smollm3", check_smollm3, "per layer:      no RoPE (NoPE): 3\n"},
      {"--arch granite", check_granite,
       "mechanisms:     embedding scale 12, residual scale 0.22, attention scale 0.0625 (not 1/sqrt(16)), "
       "logits divided by 8\n"},
      {"--arch gemma2 --head-dim 32", check_gemma2,
       "mechanisms:     embedding scale 8, post-attention and post-FFN norms, GeGLU (gelu-tanh gate), attention "
       "softcap 50, final logit softcap 30\n"},
      {"--arch gemma3 --head-dim 32 --rope-base 1000000 --sliding-window 512 --swa-pattern 4", check_gemma3,
       "per layer:      sliding window 512: 0, 1, 2; RoPE base 10000: 0, 1, 2\n"},
      {"--arch phi3 --head-dim 32 --rope-dim 24 --rope-factors --orig-ctx 512 --attn-factor 1.5", check_phi3,
       "mechanisms:     fused attn_qkv (q, k, v bound as row slices), fused ffn_up (gate and up bound as its "
       "halves), partial rotary (24 of 32 dims), LongRoPE long factors above 512 tokens of context, rope "
       "attn_factor 1.5\n"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char out[32];
    snprintf(out, sizeof out, "arch%zu.gguf", i);
    snprintf(args, sizeof args, "--n-embd 64 --n-head 4 --n-head-kv 2 --n-ff 128 --n-layer 4 %s", cases[i].args);
    int rc = pv_test_mkmodel(args, out, path, sizeof path);
    if (rc < 0) skip();
    assert_int_equal(rc, 0);
    pagedvk_model *m = open_model(path);
    pagedvk_model_description d;
    assert_int_equal(pagedvk_model_describe(m, &d, NULL, 0), PAGEDVK_OK);
    cases[i].check(&d);
    char *text = info_text(m);
    if (cases[i].want ? !strstr(text, cases[i].want) : strstr(text, "mechanisms:") || strstr(text, "per layer:"))
      fail_msg("%s: print_info:\n%s", cases[i].args, text);
    free(text);
    pagedvk_model_close(m);
  }
}

/* A file with the tokenizer of the model above but an architecture the library does not run. */
static void test_unsupported_architecture(void **state) {
  (void)state;
  char path[512], other[600];
  if (!make_model(path, sizeof path)) skip();
  pv_error e = {0};
  pv_gguf_file *src = NULL;
  pv_gguf_writer *w = NULL;
  if (pv_gguf_open(&src, path, &e) || pv_gguf_writer_create(&w, &e)) fail_msg("%s", e.msg);
  static float embd[32 * 4];
  const uint64_t ne[2] = {32, 4};
  int rc = pv_gguf_writer_add_str(w, "general.architecture", "falcon9", &e);
  rc = rc ? rc : pv_gguf_writer_copy_tokenizer(w, src, &e);
  rc = rc ? rc : pv_gguf_writer_add_tensor(w, "token_embd.weight", PV_F32, 2, ne, embd, sizeof embd, &e);
  snprintf(other, sizeof other, "%s.falcon9.gguf", path);
  rc = rc ? rc : pv_gguf_writer_write(w, other, &e);
  if (rc) fail_msg("%s", e.msg);
  pv_gguf_writer_destroy(w);
  pv_gguf_close(src);

  pagedvk_model *m = open_model(other);
  pagedvk_model_description d;
  char err[512] = "";
  assert_int_equal(pagedvk_model_describe(m, &d, err, sizeof err), PAGEDVK_ERR_UNSUPPORTED);
  if (!strstr(err, "falcon9")) fail_msg("error does not name the architecture: %s", err);
  assert_null(d.architecture);
  assert_null(d.name);
  assert_int_equal(d.n_layer, 0);
  assert_int_equal(d.head_dim, 0);
  assert_string_equal(d.tokenizer, "llama");
  assert_int_equal(d.tokenizer_vocab, pagedvk_vocab_size(m));
  assert_int_equal(d.n_tensors, 1);
  assert_int_equal(d.n_params, 32 * 4);
  assert_int_equal(d.n_weight_types, 1);
  check_type(&d, "F32", 0, 1, sizeof embd);
  assert_int_equal(d.token_embd_bytes, sizeof embd);

  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  assert_non_null(mem);
  pagedvk_model_print_info(m, mem);
  fclose(mem);
  if (!strstr(text, "architecture:   (not loadable: ") || !strstr(text, "falcon9") || strstr(text, "layers:"))
    fail_msg("print_info of an unsupported architecture:\n%s", text);
  free(text);
  pagedvk_model_close(m);
}

static void test_null_arguments(void **state) {
  (void)state;
  pagedvk_model_description d;
  char err[128] = "";
  assert_int_equal(pagedvk_model_describe(NULL, &d, err, sizeof err), PAGEDVK_ERR_INVALID);
  assert_true(strlen(err) > 0);
  pagedvk_model_print_info(NULL, stdout); /* prints nothing, does not crash */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_describe_known_shape),
      cmocka_unit_test(test_print_info_formats_description),
      cmocka_unit_test(test_chat_template_sources),
      cmocka_unit_test(test_unapplied_metadata),
      cmocka_unit_test(test_rope_scaling_and_head_size),
      cmocka_unit_test(test_arch_mechanisms),
      cmocka_unit_test(test_unsupported_architecture),
      cmocka_unit_test(test_null_arguments),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
