/*
 * api_model_info.c — what a GGUF model is: pagedvk_model_describe fills the public description
 * (file, hyper-parameters, tokenizer, chat template source and whether it is usable, metadata that is
 * not applied, parameters and bytes per weight type);
 * pagedvk_model_print_info (`pagedvk info -m FILE`) formats that description as text and lists
 * every tensor with its type and shape.
 *
 * Invariants: the description's weight types are the types present, in ascending GGUF number,
 * their byte counts summing to weight_bytes; every type number a tensor can carry is below
 * PAGEDVK_MAX_WEIGHT_TYPES (the reader rejects numbers the type table does not know).
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "engine/model_handle.h"
#include "model/arch.h"

_Static_assert(PV_DTYPE_MAX <= PAGEDVK_MAX_WEIGHT_TYPES, "pagedvk_model_description.weight_types is too short");

static void describe_hparams(const pv_hparams *hp, pagedvk_model_description *d) {
  d->architecture = hp->arch_name;
  d->n_layer = hp->n_layer;
  d->n_embd = hp->n_embd;
  d->n_head = hp->n_head;
  d->n_head_kv = hp->n_head_kv;
  d->head_dim = hp->head_dim;
  d->n_ff = hp->n_ff;
  d->context_length = hp->n_ctx_train;
  d->vocab_size = hp->n_vocab;
  d->rope_dims = hp->rope_dim;
  d->rope_neox = hp->rope_style == PV_ROPE_NEOX;
  d->rope_base = hp->rope_base;
  d->rope_pos_scale = hp->rope_pos_scale;
  d->rope_scaling = hp->rope_longrope       ? "LongRoPE (rope_factors_short/long.weight)"
                    : hp->rope_freqs_tensor ? "llama3 (rope_freqs.weight)"
                    : hp->rope_llama3       ? "llama3 (rope.scaling metadata)"
                                            : NULL;
  d->rope_orig_context = hp->rope_longrope ? hp->rope_orig_ctx : 0;
  d->rope_attn_factor = hp->rope_attn_factor;
  d->rms_eps = hp->rms_eps;
  d->qkv_bias = hp->qkv_bias;
  d->tied_embeddings = hp->tied_embeddings;
  d->qk_norm = hp->qk_norm;
  d->fused_qkv = hp->fused_qkv;
  d->fused_gate_up = hp->fused_gate_up;
  d->embedding_scale = hp->embd_scale;
  d->residual_scale = hp->residual_scale;
  d->attention_scale = hp->attn_scale;
  d->logit_scale = hp->logit_scale;
  d->post_norms = hp->post_norms;
  d->ffn_gelu = hp->ffn_gelu;
  d->attn_softcap = hp->attn_softcap;
  d->final_softcap = hp->final_softcap;
  pv_hparams_layers_describe(hp, d->layer_mechanisms, sizeof d->layer_mechanisms);
}

/* Parameters, bytes in total and per type, the embedding table's bytes. */
static void describe_tensors(const pv_gguf_file *f, pagedvk_model_description *d) {
  uint64_t bytes[PAGEDVK_MAX_WEIGHT_TYPES] = {0}, count[PAGEDVK_MAX_WEIGHT_TYPES] = {0};
  d->n_tensors = f->n_tensors;
  for (uint64_t i = 0; i < f->n_tensors; i++) {
    const pv_gguf_tensor *t = &f->tensors[i];
    if (t->type < PAGEDVK_MAX_WEIGHT_TYPES && pv_dtype_get(t->type)) {
      bytes[t->type] += t->nbytes;
      count[t->type]++;
      d->weight_bytes += t->nbytes;
    }
    if (pv_gguf_str_eq(t->name, "token_embd.weight")) d->token_embd_bytes = t->nbytes;
  }
  d->n_params = pv_model_param_count(f);
  for (uint32_t ty = 0; ty < PAGEDVK_MAX_WEIGHT_TYPES; ty++) {
    if (!count[ty]) continue;
    const pv_dtype_info *info = pv_dtype_get(ty);
    d->weight_types[d->n_weight_types++] = (pagedvk_weight_type_bytes){
        .type = info->name, .ggml_type = ty, .block_elems = info->block_elems, .block_bytes = info->block_bytes,
        .n_tensors = count[ty], .bytes = bytes[ty]};
  }
}

/* The chat template: its source, whether it is the model's own, why not (or why it cannot be
 * used); metadata read but not applied (model open logs both). */
static void describe_chat(const pagedvk_model *m, pagedvk_model_description *d) {
  pv_gguf_str tmpl;
  d->chat_template = pagedvk_model_chat_template(m, &d->chat_template_fallback);
  d->chat_template_source = m->chat.source;
  d->chat_template_usable = m->chat.tmpl != NULL;
  if (m->chat.problem) d->chat_template_reason = m->chat.problem;
  else if (d->chat_template_fallback)
    d->chat_template_reason = pv_gguf_get_str(m->gguf, "tokenizer.chat_template", &tmpl)
                                  ? "tokenizer.chat_template is empty; the vocabulary has the ChatML tokens"
                                  : "the file has no tokenizer.chat_template; the vocabulary has the ChatML tokens";
  d->unapplied_metadata = m->unapplied[0] ? m->unapplied : NULL;
}

int pagedvk_model_describe(const pagedvk_model *m, pagedvk_model_description *out, char *err, size_t err_size) {
  pv_error e = {0};
  if (!m || !out) {
    const int rc = pv_fail(&e, PAGEDVK_ERR_INVALID, "pagedvk_model_describe: NULL argument");
    pv_error_copy(&e, err, err_size);
    return rc;
  }
  memset(out, 0, sizeof *out);
  const pv_gguf_file *f = m->gguf;
  out->path = m->path;
  out->name = m->name;
  out->gguf_version = f->version;
  out->n_metadata = f->n_kv;
  out->tokenizer = m->tok.kind == PV_TOK_SPM ? "llama" : "gpt2";
  out->tokenizer_vocab = m->tok.n_vocab;
  out->bos = m->tok.bos;
  out->eos = m->tok.eos;
  out->add_bos = m->tok.add_bos;
  out->pre_tokenizer = m->tok.kind == PV_TOK_BPE ? pv_pretok_name(m->tok.pre) : NULL;
  out->pre_tokenizer_unknown = m->tok.pre_unknown;
  describe_chat(m, out);
  describe_tensors(f, out);
  pv_hparams hp;
  int rc = pv_hparams_load(&hp, f, &e);
  if (rc) {
    pv_error_copy(&e, err, err_size);
    return rc;
  }
  describe_hparams(&hp, out);
  return PAGEDVK_OK;
}

/* ---- text ------------------------------------------------------------------------------------- */

static void print_hparams(const pagedvk_model_description *d, FILE *out) {
  fprintf(out, "architecture:   %s\n", d->architecture);
  fprintf(out, "layers:         %u\nembedding:      %u\nheads:          %u (kv heads %u, head size %u)\n", d->n_layer,
          d->n_embd, d->n_head, d->n_head_kv, d->head_dim);
  fprintf(out, "feed-forward:   %u\ncontext:        %u\nvocabulary:     %u\n", d->n_ff, d->context_length, d->vocab_size);
  fprintf(out, "rope:           %s, base %g, %u dims, position scale %g%s%s\n", d->rope_neox ? "neox" : "normal",
          d->rope_base, d->rope_dims, d->rope_pos_scale, d->rope_scaling ? ", frequency scaling " : "",
          d->rope_scaling ? d->rope_scaling : "");
  fprintf(out, "rms epsilon:    %g\nq/k/v bias:     %s\nembeddings:     %s\n", d->rms_eps, d->qkv_bias ? "yes" : "no",
          d->tied_embeddings ? "tied (no output.weight)" : "separate output.weight");
}

/* The mechanisms beyond llama's, one comma-separated line; nothing when the model uses none. */
static void print_mechanisms(const pagedvk_model_description *d, FILE *out) {
  const char *sep = "mechanisms:     ";
#define MECH(cond, ...)           \
  if (cond) {                     \
    fputs(sep, out);              \
    fprintf(out, __VA_ARGS__);    \
    sep = ", ";                   \
  }
  MECH(d->qk_norm, "qk-norm (per-head RMS norm of q and k before RoPE)")
  MECH(d->fused_qkv, "fused attn_qkv (q, k, v bound as row slices)")
  MECH(d->fused_gate_up, "fused ffn_up (gate and up bound as its halves)")
  MECH(d->rope_dims < d->head_dim, "partial rotary (%u of %u dims)", d->rope_dims, d->head_dim)
  MECH(d->rope_orig_context, "LongRoPE long factors above %u tokens of context", d->rope_orig_context)
  MECH(d->rope_attn_factor != 1.0f, "rope attn_factor %g", d->rope_attn_factor)
  MECH(d->embedding_scale != 1.0f, "embedding scale %g", d->embedding_scale)
  MECH(d->residual_scale != 1.0f, "residual scale %g", d->residual_scale)
  MECH(d->attention_scale != 1.0f / sqrtf((float)d->head_dim), "attention scale %g (not 1/sqrt(%u))",
       d->attention_scale, d->head_dim)
  MECH(d->logit_scale != 1.0f, "logits divided by %g", d->logit_scale)
  MECH(d->post_norms, "post-attention and post-FFN norms")
  MECH(d->ffn_gelu, "GeGLU (gelu-tanh gate)")
  MECH(d->attn_softcap > 0.0f, "attention softcap %g", d->attn_softcap)
  MECH(d->final_softcap > 0.0f, "final logit softcap %g", d->final_softcap)
#undef MECH
  if (sep[0] == ',') fputc('\n', out);
  if (d->layer_mechanisms[0]) fprintf(out, "per layer:      %s\n", d->layer_mechanisms);
}

static void print_tensors(const pv_gguf_file *f, const pagedvk_model_description *d, FILE *out) {
  fprintf(out, "\ntensors (%" PRIu64 "):\n", d->n_tensors);
  for (uint64_t i = 0; i < f->n_tensors; i++) {
    const pv_gguf_tensor *t = &f->tensors[i];
    const pv_dtype_info *info = pv_dtype_get(t->type);
    char name[160];
    fprintf(out, "  %-32s %-5s [", pv_escape(t->name.ptr, t->name.len, name, sizeof name), info ? info->name : "?");
    for (uint32_t k = 0; k < t->n_dims; k++) fprintf(out, "%s%" PRIu64, k ? ", " : "", t->ne[k]);
    fprintf(out, "]\n");
  }
  fprintf(out, "\nparameters:     %" PRIu64 " (%.1f M)\nbytes per type:\n", d->n_params, d->n_params / 1e6);
  for (uint32_t i = 0; i < d->n_weight_types; i++) {
    const pagedvk_weight_type_bytes *w = &d->weight_types[i];
    fprintf(out, "  %-6s %4" PRIu64 " tensors  %10.2f MiB\n", w->type, w->n_tensors, w->bytes / 1048576.0);
  }
}

/* A string of the file (or naming it) as printable text: control bytes escaped (pv_escape). */
static const char *text(const char *s, char *buf, size_t cap) { return pv_escape(s, s ? strlen(s) : 0, buf, cap); }

void pagedvk_model_print_info(const pagedvk_model *m, FILE *out) {
  if (!m || !out) return;
  pagedvk_model_description d;
  char err[512];
  const int rc = pagedvk_model_describe(m, &d, err, sizeof err);
  char esc[512];
  fprintf(out, "file:           %s (GGUF v%u, %" PRIu64 " metadata keys)\n", text(d.path, esc, sizeof esc),
          d.gguf_version, d.n_metadata);
  if (d.name) fprintf(out, "name:           %s\n", text(d.name, esc, sizeof esc));
  if (rc) fprintf(out, "architecture:   (not loadable: %s)\n", err);
  else {
    print_hparams(&d, out);
    print_mechanisms(&d, out);
  }
  fprintf(out, "tokenizer:      %s, %u tokens, bos %d, eos %d%s\n",
          !strcmp(d.tokenizer, "llama") ? "SentencePiece (llama)" : "byte-level BPE (gpt2)", d.tokenizer_vocab, d.bos,
          d.eos, d.add_bos ? ", adds BOS" : "");
  if (d.pre_tokenizer && d.pre_tokenizer_unknown)
    fprintf(out, "pre-tokenizer:  %s (fallback: tokenizer.ggml.pre '%s' is not known)\n", d.pre_tokenizer,
            text(d.pre_tokenizer_unknown, esc, sizeof esc));
  else if (d.pre_tokenizer)
    fprintf(out, "pre-tokenizer:  %s\n", d.pre_tokenizer);
  fprintf(out, "chat template:  %s", text(d.chat_template, esc, sizeof esc));
  if (d.chat_template_reason) fprintf(out, " (%s)", text(d.chat_template_reason, esc, sizeof esc));
  fputc('\n', out);
  if (d.unapplied_metadata) fprintf(out, "not applied:    %s\n", d.unapplied_metadata);
  print_tensors(m->gguf, &d, out);
}
