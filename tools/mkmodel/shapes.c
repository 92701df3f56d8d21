/*
 * shapes.c — mkmodel's real-model shapes: the presets (hyper-parameters of models people download,
 * at any layer count) and the per-tensor type mixes of llama.cpp's quantization presets.
 *
 * The q4_k_m mix follows the rule llama.cpp's quantizer applies for its Q4_K_M preset:
 *   - the output matrix (output.weight, or token_embd.weight when the embeddings are tied) is Q6_K;
 *   - attn_v and ffn_down are Q6_K in the layers that get more bits (the first eighth, the last
 *     eighth, and every third layer in between), Q4_K in the others;
 *   - every other matrix (an untied token_embd included) is Q4_K;
 *   - a matrix whose rows are not a multiple of 256 cannot hold K-quant blocks and gets the
 *     nearest 32-block type instead: Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0 (why the real
 *     Qwen2.5-0.5B Q4_K_M, 896 wide, has a Q8_0 embedding and Q5_0 projections).
 * Norms and biases are not matrices: the mix leaves them to --type-norm / F32.
 */
#include <stdio.h>
#include <string.h>

#include "mkmodel.h"

/* A generic Llama-3 chat template (header markers, end-of-turn token), written for these files;
 * the runtime renders it with its Jinja interpreter like any file's template. */
#define LLAMA3_TEMPLATE                                                                                 \
  "{{ bos_token }}{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>" \
  "\n\n{{ message['content'] | trim }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}"             \
  "<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"

static const mk_preset PRESETS[] = {
    {.name = "llama3.2-1b", .arch = "llama", .model_name = "Llama-3.2-1B shape (synthetic)", .n_embd = 2048,
     .n_head = 32, .n_head_kv = 8, .n_ff = 8192, .ctx = 131072, .rope_base = 500000.0f, .rms_eps = 1e-5f,
     .tied = 1, .chat_template = LLAMA3_TEMPLATE},
    {.name = "qwen2.5-0.5b", .arch = "qwen2", .model_name = "Qwen2.5-0.5B shape (synthetic)", .n_embd = 896,
     .n_head = 14, .n_head_kv = 2, .n_ff = 4864, .ctx = 32768, .rope_base = 1000000.0f, .rms_eps = 1e-6f,
     .tied = 1, .has_type_embd = 1, .type_embd = PV_Q8_0},
};

const mk_preset *mk_preset_find(const char *name) {
  for (size_t i = 0; name && i < sizeof PRESETS / sizeof PRESETS[0]; i++)
    if (!strcmp(PRESETS[i].name, name)) return &PRESETS[i];
  return NULL;
}

bool mk_mix_from_name(const char *name, mk_mix *out) {
  if (name && !strcmp(name, "none")) *out = MK_MIX_NONE;
  else if (name && !strcmp(name, "q4_k_m")) *out = MK_MIX_Q4_K_M;
  else return false;
  return true;
}

/* llama.cpp's "use more bits" layers: the first and last eighth, every third one in between. */
static bool more_bits(uint32_t i, uint32_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

/* Layer index of "blk.N.<suffix>" when the name ends in suffix. */
static bool layer_of(const char *name, const char *suffix, uint32_t *layer) {
  unsigned l;
  int used = 0;
  if (sscanf(name, "blk.%u.%n", &l, &used) != 1 || !used || strcmp(name + used, suffix)) return false;
  *layer = l;
  return true;
}

static pv_dtype without_k_blocks(pv_dtype t) {
  switch (t) {
    case PV_Q4_K: return PV_Q5_0;
    case PV_Q5_K: return PV_Q5_1;
    case PV_Q6_K: return PV_Q8_0;
    default: return t;
  }
}

pv_dtype mk_mix_type(mk_mix mix, const char *name, uint64_t ne0, uint32_t n_layer, bool tied) {
  (void)mix; /* MK_MIX_Q4_K_M is the only mix so far */
  uint32_t l;
  pv_dtype t = PV_Q4_K;
  if (!strcmp(name, "output.weight") || (tied && !strcmp(name, "token_embd.weight"))) t = PV_Q6_K;
  else if ((layer_of(name, "attn_v.weight", &l) || layer_of(name, "ffn_down.weight", &l)) && more_bits(l, n_layer))
    t = PV_Q6_K;
  return ne0 % 256 ? without_k_blocks(t) : t;
}
