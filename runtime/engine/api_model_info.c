/* api_model_info.c — `pagedvk info -m FILE`: what a GGUF model is, in plain text. */
#include <inttypes.h>
#include <string.h>

#include "engine/model_handle.h"
#include "model/arch.h"

static void print_hparams(const pagedvk_model *m, FILE *out) {
  pv_hparams hp;
  pv_error err = {0};
  if (pv_hparams_load(&hp, m->gguf, &err)) {
    fprintf(out, "architecture:   (not loadable: %s)\n", err.msg);
    return;
  }
  fprintf(out, "architecture:   %s\n", hp.arch_name);
  fprintf(out, "layers:         %u\nembedding:      %u\nheads:          %u (kv heads %u, head size %u)\n", hp.n_layer,
          hp.n_embd, hp.n_head, hp.n_head_kv, hp.head_dim);
  fprintf(out, "feed-forward:   %u\ncontext:        %u\nvocabulary:     %u\n", hp.n_ff, hp.n_ctx_train, hp.n_vocab);
  fprintf(out, "rope:           %s, base %g, %u dims, position scale %g\n",
          hp.rope_style == PV_ROPE_NEOX ? "neox" : "normal", hp.rope_base, hp.rope_dim, hp.rope_pos_scale);
  fprintf(out, "rms epsilon:    %g\nq/k/v bias:     %s\nembeddings:     %s\n", hp.rms_eps, hp.qkv_bias ? "yes" : "no",
          hp.tied_embeddings ? "tied (no output.weight)" : "separate output.weight");
}

static void print_tensors(const pv_gguf_file *f, FILE *out) {
  uint64_t bytes[PV_DTYPE_MAX] = {0}, count[PV_DTYPE_MAX] = {0}, params = 0;
  fprintf(out, "\ntensors (%" PRIu64 "):\n", f->n_tensors);
  for (uint64_t i = 0; i < f->n_tensors; i++) {
    const pv_gguf_tensor *t = &f->tensors[i];
    const pv_dtype_info *info = pv_dtype_get(t->type);
    fprintf(out, "  %-32.*s %-5s [", (int)t->name.len, t->name.ptr, info ? info->name : "?");
    for (uint32_t d = 0; d < t->n_dims; d++) fprintf(out, "%s%" PRIu64, d ? ", " : "", t->ne[d]);
    fprintf(out, "]\n");
    if (t->type < PV_DTYPE_MAX) {
      bytes[t->type] += t->nbytes;
      count[t->type]++;
    }
    params += t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
  }
  fprintf(out, "\nparameters:     %" PRIu64 " (%.1f M)\nbytes per type:\n", params, params / 1e6);
  for (uint32_t ty = 0; ty < PV_DTYPE_MAX; ty++)
    if (count[ty])
      fprintf(out, "  %-6s %4" PRIu64 " tensors  %10.2f MiB\n", pv_dtype_get(ty)->name, count[ty], bytes[ty] / 1048576.0);
}

void pagedvk_model_print_info(const pagedvk_model *m, FILE *out) {
  const pv_gguf_file *f = m->gguf;
  pv_gguf_str name = {0};
  fprintf(out, "file:           %s (GGUF v%u, %" PRIu64 " metadata keys)\n", m->path, f->version, f->n_kv);
  if (pv_gguf_get_str(f, "general.name", &name)) fprintf(out, "name:           %.*s\n", (int)name.len, name.ptr);
  print_hparams(m, out);
  const pv_tokenizer *t = &m->tok;
  fprintf(out, "tokenizer:      %s, %u tokens, bos %d, eos %d%s\n", t->kind == PV_TOK_SPM ? "SentencePiece (llama)" : "byte-level BPE (gpt2)",
          t->n_vocab, t->bos, t->eos, t->add_bos ? ", adds BOS" : "");
  fprintf(out, "chat template:  %s\n", pv_chat_family_name(m->chat.family));
  print_tensors(f, out);
}
