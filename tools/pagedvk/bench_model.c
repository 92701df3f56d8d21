/*
 * bench_model.c — what the bench scenarios need to know of a model (layers, KV heads, head size,
 * context, vocabulary, parameters, weight bytes), read from pagedvk_model_describe, and the KV
 * memory sizes derived from it.
 *
 * Weight bytes are the description's bytes per GGUF weight type (the library's type table); a
 * decode step reads every weight except the embedding table, which it reads one row per token
 * unless the output projection is tied to it.
 */
#include <math.h>
#include <string.h>

#include "bench.h"

/* The model's shape and weight bytes from its public description. Returns 0 or 1 (message printed). */
int bench_model_load(const char *path, model_facts *f) {
  char err[512];
  memset(f, 0, sizeof *f);
  pagedvk_model *m = NULL;
  if (pagedvk_model_open(&m, path, err, sizeof err)) return cli_fail("%s", err);
  pagedvk_model_description d;
  const int rc = pagedvk_model_describe(m, &d, err, sizeof err);
  pagedvk_model_close(m); /* only numbers are kept below */
  if (rc) return cli_fail("%s: could not read the model's dimensions (%s)", path, err);
  f->n_layer = d.n_layer;
  f->n_head = d.n_head;
  f->n_kv_head = d.n_head_kv;
  f->head_dim = d.head_dim;
  f->ctx = d.context_length;
  f->vocab = d.tokenizer_vocab;
  f->params = d.n_params;
  for (uint32_t i = 0; i < d.n_weight_types; i++) f->total_weight_bytes += (double)d.weight_types[i].bytes;
  /* The embedding lookup reads one row per token; a tied model's output reads the whole table. */
  f->decode_weight_bytes = f->total_weight_bytes - (d.tied_embeddings ? 0 : (double)d.token_embd_bytes);
  if (!f->n_layer || !f->n_kv_head || !f->head_dim || !f->ctx)
    return cli_fail("%s: could not read the model's dimensions", path);
  return 0;
}

uint64_t bench_kv_bytes_per_token(const model_facts *f, const pagedvk_engine_options *eo) {
  const uint64_t rows = (uint64_t)f->n_layer * 2 * f->n_kv_head;
  const pagedvk_kv_type t = eo->kv_type == PAGEDVK_KV_F16 && eo->kv_f32 ? PAGEDVK_KV_F32 : eo->kv_type;
  /* q8_0: a byte per element and a 4-byte word of two f16 scales per 64 elements of a head row (a
   * block's padding to 16 bytes left out) */
  if (t == PAGEDVK_KV_Q8_0) return rows * (f->head_dim + 4 * ((f->head_dim + 63) / 64));
  return rows * f->head_dim * (t == PAGEDVK_KV_F32 ? 4 : 2);
}

uint32_t bench_model_len(const model_facts *f, const pagedvk_engine_options *eo) {
  return eo->max_model_len && eo->max_model_len < f->ctx ? eo->max_model_len : f->ctx;
}

/* KV memory that holds k contiguous sequences (max_model_len slots each), plus the scheduler's
 * 1% watermark and a block of slack, so that exactly floor(k) of them are admitted. */
uint64_t bench_kv_mem_for_contiguous(const model_facts *f, const pagedvk_engine_options *eo, double k) {
  uint64_t bs = eo->block_size, per_seq = (bench_model_len(f, eo) + bs - 1) / bs;
  uint64_t blocks = (uint64_t)ceil(k * (double)per_seq);
  blocks += blocks / 99 + 2;
  return blocks * bs * bench_kv_bytes_per_token(f, eo);
}

void bench_default_kv_mem(bench_args *a, const model_facts *f, double contig_seqs) {
  if (!a->kv_mem_given) a->o.engine.kv_mem = bench_kv_mem_for_contiguous(f, &a->o.engine, contig_seqs);
}
