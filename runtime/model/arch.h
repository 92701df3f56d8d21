/*
 * arch.h — what a model is, independent of where it runs: hyper-parameters read from GGUF
 * metadata and the tensors of each layer, checked for presence, shape and a supported type.
 * An architecture is one entry of the table in arch.c: the GGUF name, the RoPE pairing and the
 * mechanisms it uses (q/k/v biases, QK-norm, ...), each a flag or per-layer value of pv_hparams
 * that the device pass (forward.c) and the CPU reference (ref.c) both apply; a mechanism that is
 * off costs nothing. Supported: `llama` (Llama 2/3, Mistral, TinyLlama, SmolLM), `qwen2`, `qwen3`,
 * `smollm3`, `granite`, `phi3`, `gemma2`, `gemma3`.
 *
 * Gemma (llama.cpp's reading of the files): the input embedding times sqrt(n_embd); GELU-gated FFN;
 * post-attention and post-FFN norms; sliding-window layers — gemma2 every second layer from layer 0
 * (window `attention.sliding_window`, default 4096), gemma3 `attention.sliding_window_pattern` N
 * (default 6): N-1 local layers then a global one, RoPE base `rope.freq_base_swa` (default 10000)
 * and no linear RoPE scaling on the local layers; gemma2 soft-caps attention scores
 * (`attn_logit_softcapping`, default 50) and logits (`final_logit_softcapping`, default 30). The
 * norm weights are multiplied as stored (llama.cpp's converter already added Gemma's 1).
 *
 * Fused tensors (phi3): `attn_qkv` (rows q, then k, then v) and an `ffn_up` of 2 n_ff rows (gate,
 * then up) are bound as row slices: pv_layer_tensors holds tensor records whose data points into
 * the fused tensor's (nothing is copied), so every consumer sees separate q/k/v and gate/up.
 * LongRoPE (phi3 `rope_factors_short/long.weight`): the frequency divisors of the set llama.cpp
 * picks for the context the model runs with, n_ctx: long when n_ctx > the original context.
 *
 * Head size: `<arch>.attention.key_length` when the file has it (it may differ from
 * embedding/heads: q/k/v are n_head * head_dim wide, the output projection takes that back to
 * n_embd); value_length must equal it. RoPE scaling: none, linear (positions scaled), llama3
 * (per-pair frequency divisors: the `rope_freqs.weight` tensor, else computed from the llama3
 * metadata) or LongRoPE (above); any other type is a warning naming the model.
 * `rope.scaling.attn_factor` (any architecture) multiplies the rotated dimensions of q and k.
 */
#ifndef PV_ARCH_H
#define PV_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gguf/gguf.h"

typedef enum pv_arch {
  PV_ARCH_LLAMA = 0,
  PV_ARCH_QWEN2 = 1,
  PV_ARCH_QWEN3 = 2,
  PV_ARCH_SMOLLM3 = 3,
  PV_ARCH_GRANITE = 4,
  PV_ARCH_GEMMA2 = 5,
  PV_ARCH_GEMMA3 = 6,
  PV_ARCH_PHI3 = 7
} pv_arch;

/* How RoPE pairs the dimensions of a head: NORMAL rotates (x[2i], x[2i+1]) — llama.cpp's
 * converter permutes Llama's q/k weights for this; NEOX rotates (x[i], x[i + rope_dim/2]). */
typedef enum pv_rope_style { PV_ROPE_NORMAL = 0, PV_ROPE_NEOX = 1 } pv_rope_style;

/* Layers a model may have (pv_hparams' per-layer array). */
#define PV_MAX_LAYERS 512

/* What may differ between the layers of one model. */
typedef struct pv_layer_hparams {
  float rope_base; /* RoPE frequency base of this layer (pv_hparams.rope_base unless the architecture says) */
  bool no_rope;    /* NoPE: q and k enter attention unrotated (smollm3: every 4th layer) */
  float rope_pos_scale; /* linear RoPE position scale of this layer (gemma3's local layers: 1) */
  uint32_t window; /* sliding window: a query sees itself and the window-1 positions before it; 0 = every
                    * earlier position (a global layer) */
} pv_layer_hparams;

typedef struct pv_hparams {
  pv_arch arch;
  const char *arch_name;
  uint32_t n_vocab;
  uint32_t n_embd;
  uint32_t n_layer;
  uint32_t n_head;
  uint32_t n_head_kv;
  uint32_t head_dim;
  uint32_t n_ff;
  uint32_t n_ctx_train;
  uint32_t rope_dim;        /* dimensions of a head that RoPE rotates (== head_dim usually) */
  float rope_base;
  float rope_pos_scale;     /* linear rope scaling: positions are multiplied by this (1/factor) */
  /* llama3 rope scaling from metadata (rope.scaling.type = llama3); rope_freqs.weight, when the
   * file has it, takes precedence over these */
  bool rope_llama3;
  bool rope_freqs_tensor;                          /* the file has rope_freqs.weight */
  float rope_l3_factor, rope_l3_low, rope_l3_high; /* factor, low_freq_factor, high_freq_factor */
  uint32_t rope_l3_orig_ctx;                       /* original_context_length */
  /* LongRoPE (phi3): the file has rope_factors_short/long.weight; long ones are used when the context
   * the model runs with (n_ctx) exceeds rope_orig_ctx (rope.scaling.original_context_length) */
  bool rope_longrope;
  uint32_t rope_orig_ctx;
  float rope_attn_factor;   /* rope.scaling.attn_factor (1 when absent): the rotated dimensions of q and k
                             * are multiplied by it, as llama.cpp scales RoPE's cos and sin (LongRoPE files) */
  uint32_t n_ctx;           /* the context the model runs with: n_ctx_train unless the caller sets it
                             * (engine: max_model_len; reference: its cache size) before binding */
  float rms_eps;
  pv_rope_style rope_style;
  bool qkv_bias;            /* qwen2: q/k/v projections have biases */
  bool tied_embeddings;     /* no output.weight: logits use token_embd.weight */
  bool fused_qkv;           /* phi3: q, k, v are row slices of attn_qkv */
  bool fused_gate_up;       /* phi3: gate and up are the two halves of ffn_up */
  bool qk_norm;             /* qwen3: q and k RMS-normed per head (attn_q_norm, attn_k_norm: one weight per
                             * head dimension, shared by the heads) before RoPE */
  /* Scalars (granite's metadata, gemma's embedding scale sqrt(n_embd); 1 when the
   * architecture has none). */
  float embd_scale;         /* the input embedding is multiplied by it */
  float residual_scale;     /* attention and FFN outputs multiplied by it before each residual add */
  float attn_scale;         /* q.k multiplier: 1/sqrt(head_dim) unless the file gives attention.scale */
  float logit_scale;        /* logits divided by it */
  /* gemma2/gemma3 (each off = 0 / false for the other architectures) */
  float attn_softcap;       /* attention scores s -> c tanh(s / c) after the scale; 0 = off */
  float final_softcap;      /* logits z -> c tanh(z / c); 0 = off */
  bool post_norms;          /* post_attention_norm and post_ffw_norm: the attention and FFN outputs are
                             * RMS-normed (times their weight) before each residual add */
  bool ffn_gelu;            /* FFN gate through GELU (tanh approximation) instead of SiLU (GeGLU) */
  pv_layer_hparams layer[PV_MAX_LAYERS]; /* n_layer entries */
} pv_hparams;

typedef struct pv_layer_tensors {
  const pv_gguf_tensor *attn_norm, *wq, *wk, *wv, *bq, *bk, *bv, *wo;
  const pv_gguf_tensor *ffn_norm, *w_gate, *w_up, *w_down;
  const pv_gguf_tensor *q_norm, *k_norm; /* [head_dim] each; NULL without QK-norm */
  const pv_gguf_tensor *post_attn_norm, *post_ffn_norm; /* [n_embd] each; NULL without post norms */
  /* row slices of fused tensors (wq, wk, wv, w_gate, w_up point here when the file fuses them) */
  pv_gguf_tensor slice_q, slice_k, slice_v, slice_gate, slice_up;
} pv_layer_tensors;

typedef struct pv_model_tensors {
  const pv_gguf_tensor *tok_embd;
  const pv_gguf_tensor *output_norm;
  const pv_gguf_tensor *output; /* == tok_embd when tied */
  const pv_gguf_tensor *rope_freqs; /* [rope_dim / 2] frequency divisors (rope_freqs.weight, or the
                                     * LongRoPE set for hp->n_ctx); NULL when absent */
  pv_layer_tensors *layers;  /* n_layer entries, owned */
} pv_model_tensors;

/* Reads the hyper-parameters; unknown architecture → PAGEDVK_ERR_UNSUPPORTED naming it. */
int pv_hparams_load(pv_hparams *hp, const pv_gguf_file *f, pv_error *err);

/* Metadata keys present with a non-neutral value that change what the model computes but that no
 * code applies (sliding window, soft-capping, logit or residual scales, experts, ...): writes them
 * as "key = value, ..." into buf (truncated to cap) and returns how many there are. */
size_t pv_hparams_unapplied(const pv_gguf_file *f, char *buf, size_t cap);

/* The layers whose mechanisms differ from the others', as text for `pagedvk info` (e.g.
 * "no RoPE (NoPE): 3, 7", "sliding window 4096: 0, 2; RoPE base 10000: 0, 2"); "" when every layer
 * is alike. Returns the characters written. */
size_t pv_hparams_layers_describe(const pv_hparams *hp, char *buf, size_t cap);

/* Finds every tensor the architecture needs and checks its shape and type. */
int pv_model_tensors_bind(pv_model_tensors *mt, const pv_gguf_file *f, const pv_hparams *hp, pv_error *err);
void pv_model_tensors_free(pv_model_tensors *mt);

/* The device path's RoPE frequency divisors (rope_dim / 2 floats: pair i's angle is
 * pos * base^(-2i/rope_dim) / out[i]): the rope_freqs tensor, else the llama3 metadata's.
 * *any = false (out untouched) when the model has neither. The CPU reference computes its own. */
int pv_rope_freq_divisors(const pv_hparams *hp, const pv_model_tensors *mt, float *out, bool *any, pv_error *err);

/* Number of parameters (elements of all tensors). */
uint64_t pv_model_param_count(const pv_gguf_file *f);

#endif
