/*
 * forward_times.c — where a step's device time goes, stage by stage (PAGEDVK_KERNEL_TIMES=1;
 * see forward.h). One timestamp starts the pass and one follows each stage's barrier, so a
 * stage's time is the gap to the previous timestamp: its dispatches plus the barrier's wait. On a
 * GPU that overlaps nothing across the barriers; on lavapipe the queue runs the commands in
 * order, so the gaps add up to the pass.
 */
#include <stdlib.h>
#include <string.h>

#include "model/forward.h"

static const char *const STAGE_NAMES[PV_STAGE_COUNT] = {
    "embed",    "attn_norm", "qkv",       "rope_kv",  "attention", "attn_out", "ffn_norm",
    "ffn_gate_up", "ffn_down", "post_norm", "out_norm", "logits",    "softcap",  "argmax",
};

const char *pv_stage_name(pv_stage s) { return (unsigned)s < PV_STAGE_COUNT ? STAGE_NAMES[s] : "?"; }

/* Timestamps one pass can write: the start, embed, 8 stages per layer (10 with post norms) and 3
 * at the end (4 with a final soft-cap). */
static uint32_t stamps_per_pass(const pv_forward *fw) {
  const pv_hparams *hp = &fw->m->hp;
  return 1 + 1 + (hp->post_norms ? 10 : 8) * hp->n_layer + 3 + (hp->final_softcap > 0.0f ? 1 : 0);
}

int pv_forward_times_enable(pv_forward *fw, pv_error *err) {
  pv_forward_times *t = &fw->times;
  if (t->on) return PAGEDVK_OK;
  const uint32_t cap = stamps_per_pass(fw);
  int rc = pv_vk_timer_create(fw->ctx, &t->timer, cap, err);
  if (rc) return rc;
  t->stage_of = calloc(cap, 1);
  if (!t->stage_of) {
    pv_vk_timer_destroy(&t->timer);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "forward: out of memory");
  }
  t->on = true;
  return PAGEDVK_OK;
}

void pv_forward_stamp(pv_forward *fw, pv_vk_cmd *cmd, int stage) {
  pv_forward_times *t = &fw->times;
  if (!t->on || !cmd) return;
  if (stage < 0) {
    pv_vk_cmd_timer_reset(cmd, &t->timer);
    t->n = 0;
  }
  uint32_t slot;
  if (pv_vk_cmd_timestamp(cmd, &t->timer, &slot, NULL)) return; /* full: cannot happen (sized per pass) */
  t->stage_of[slot] = (uint8_t)(stage < 0 ? 0 : stage);
  t->n = slot + 1;
}

int pv_forward_times_collect(pv_forward *fw, bool prompt, pv_error *err) {
  pv_forward_times *t = &fw->times;
  if (!t->on || t->n < 2) return PAGEDVK_OK;
  const int k = prompt ? 1 : 0;
  for (uint32_t i = 1; i < t->n; i++) {
    double ns = 0;
    int rc = pv_vk_timer_elapsed_ns(&t->timer, i - 1, i, &ns, err);
    if (rc) return rc;
    t->ns[k][t->stage_of[i]] += ns;
  }
  t->steps[k]++;
  t->n = 0;
  return PAGEDVK_OK;
}

static double total_ns(const pv_forward_times *t, int k) {
  double sum = 0;
  for (int s = 0; s < PV_STAGE_COUNT; s++) sum += t->ns[k][s];
  return sum;
}

void pv_forward_times_print(const pv_forward *fw, FILE *out) {
  const pv_forward_times *t = &fw->times;
  if (!t->on) return;
  /* (a leading newline: a progress line on the terminal may not have ended) */
  fprintf(out, "\ndevice time per step by stage (PAGEDVK_KERNEL_TIMES): %llu steps with prompt rows, %llu decode-only\n",
          (unsigned long long)t->steps[1], (unsigned long long)t->steps[0]);
  fprintf(out, "  %-12s %14s %7s %14s %7s\n", "stage", "prompt ms/step", "share", "decode ms/step", "share");
  const double tot[2] = {total_ns(t, 0), total_ns(t, 1)};
  for (int s = 0; s <= PV_STAGE_COUNT; s++) {
    double v[2];
    for (int k = 0; k < 2; k++) v[k] = s < PV_STAGE_COUNT ? t->ns[k][s] : tot[k];
    double per[2], share[2];
    for (int k = 0; k < 2; k++) {
      per[k] = t->steps[k] ? v[k] / 1e6 / (double)t->steps[k] : 0.0;
      share[k] = tot[k] > 0 ? 100.0 * v[k] / tot[k] : 0.0;
    }
    fprintf(out, "  %-12s %14.3f %6.1f%% %14.3f %6.1f%%\n", s < PV_STAGE_COUNT ? STAGE_NAMES[s] : "total", per[1],
            share[1], per[0], share[0]);
  }
}
