/*
 * ref.h — the CPU reference forward pass: the oracle every shader and the engine are tested
 * against. Float32 throughout, weights dequantized once at load, a contiguous KV cache, one
 * token at a time. It shares only the GGUF reader, the dequantizers and the tokenizer with the
 * Vulkan path, so that it can catch their bugs.
 */
#ifndef PV_REF_H
#define PV_REF_H

#include <stdint.h>

#include "model/arch.h"

typedef struct pv_ref_layer {
  float *attn_norm, *wq, *wk, *wv, *bq, *bk, *bv, *wo; /* b* NULL without biases */
  float *ffn_norm, *w_gate, *w_up, *w_down;
  float *q_norm, *k_norm; /* [head_dim]; NULL without QK-norm */
  float *post_attn_norm, *post_ffn_norm; /* NULL without post norms */
} pv_ref_layer;

typedef struct pv_ref {
  pv_hparams hp;
  float *tok_embd;     /* [n_vocab][n_embd] */
  float *output_norm;  /* [n_embd] */
  float *output;       /* [n_vocab][n_embd]; == tok_embd when tied */
  float *rope_div;     /* [rope_dim / 2] frequency divisors (llama3 scaling); NULL without */
  pv_ref_layer *layers;
  uint32_t max_ctx;
  uint32_t n_past;     /* tokens in the cache */
  bool kv_q8;          /* K/V rows quantized to q8_0 as they enter the cache (a q8_0 KV pool's values);
                        * set after pv_ref_create, before the first step */
  bool kv_f16;         /* ... or rounded to f16 (an f16 pool's values); kv_q8 wins */
  float *k_cache;      /* [n_layer][max_ctx][n_head_kv * head_dim] */
  float *v_cache;
  /* scratch */
  float *x, *xn, *q, *k, *v, *att, *scores, *gate, *up, *logits;
} pv_ref;

int pv_ref_create(pv_ref **out, const pv_gguf_file *f, uint32_t max_ctx, pv_error *err);
void pv_ref_destroy(pv_ref *r);

/* Forgets the cached tokens. */
void pv_ref_reset(pv_ref *r);

/* Runs one token at position n_past, appends its K/V and returns the logits (n_vocab floats,
 * owned by r, valid until the next call). With logits NULL the output projection is skipped: inside
 * a prompt nobody reads it, and for a 32000-token vocabulary it is most of the work. */
int pv_ref_step(pv_ref *r, int32_t token, const float **logits, pv_error *err);

/* From an empty context: feeds `prompt`, then picks n_gen tokens greedily (argmax, lowest id on
 * ties). */
int pv_ref_generate_greedy(pv_ref *r, const int32_t *prompt, uint32_t n_prompt, uint32_t n_gen, int32_t *out,
                           pv_error *err);

/* The same, and margin[i] (when not NULL) = top-1 minus top-2 logit at step i: tests use it to tell
 * a real mismatch from a near-tie that another summation order may break the other way. */
int pv_ref_greedy_margins(pv_ref *r, const int32_t *prompt, uint32_t n_prompt, uint32_t n_gen, int32_t *out,
                          float *margin, pv_error *err);

/* Building blocks, also used by tests of the shaders as the definition of each op. */
void pv_ref_rmsnorm(float *out, const float *x, const float *w, uint32_t n, float eps);
void pv_ref_matvec(float *out, const float *w, const float *x, uint32_t rows, uint32_t cols);
/* Rotates the first rope_dim dimensions of a head: pair i by pos * base^(-2i/rope_dim) / div[i]
 * (div NULL: 1). */
void pv_ref_rope(float *head, uint32_t head_dim, uint32_t rope_dim, float pos, float base, const float *div,
                 pv_rope_style style);
uint32_t pv_ref_argmax(const float *x, uint32_t n);
/* x (n a multiple of 32; a tail is left as it is) replaced by its q8_0 values, block by block of 32:
 * d = max|x| / 127 stored as f16, q = round(x / d) (half away from zero; 0 where d is 0), x = d q —
 * GGUF's Q8_0 and the q8_0 KV pool's (shaders/rope_kv.comp). */
void pv_ref_q8_round(float *x, uint32_t n);
/* c tanh(x / c) (soft-capping; c > 0). */
float pv_ref_softcap(float x, float c);
/* GELU, tanh approximation: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
float pv_ref_gelu(float x);

#endif
