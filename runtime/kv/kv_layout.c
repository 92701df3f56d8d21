/*
 * kv_layout.c — the layer groups of kv_layout.h: distinct windows become kinds, each kind's layers
 * fill groups of layers_per_block in layer order.
 */
#include <stdlib.h>

#include "kv/kv_layout.h"

typedef struct kind {
  uint32_t window, n;
} kind;

/* Groups and padded slots for a layers_per_block of `lpb`. */
static void cost(const kind *k, uint32_t n_kinds, uint32_t lpb, uint32_t *groups, uint32_t *pad) {
  *groups = *pad = 0;
  for (uint32_t i = 0; i < n_kinds; i++) {
    uint32_t g = (k[i].n + lpb - 1) / lpb;
    *groups += g;
    *pad += g * lpb - k[i].n;
  }
}

int pv_kv_layout_plan(pv_kv_layout *out, const uint32_t *windows, uint32_t n_layer, bool disable_groups,
                      uint32_t max_per_block, pv_error *err) {
  *out = (pv_kv_layout){.n_layer = n_layer};
  if (n_layer == 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "kv layout: no layers");
  out->group = pv_calloc(n_layer, sizeof *out->group);
  out->slot = pv_calloc(n_layer, sizeof *out->slot);
  kind *k = pv_calloc(n_layer, sizeof *k);
  if (!out->group || !out->slot || !k) {
    free(k);
    pv_kv_layout_free(out);
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "kv layout: out of memory");
  }
  uint32_t n_kinds = 0, smallest = n_layer;
  for (uint32_t l = 0; l < n_layer; l++) {
    uint32_t w = disable_groups ? 0 : windows[l], i = 0;
    while (i < n_kinds && k[i].window != w) i++;
    if (i == n_kinds) k[n_kinds++] = (kind){w, 0};
    k[i].n++;
  }
  for (uint32_t i = 0; i < n_kinds; i++)
    if (k[i].n < smallest) smallest = k[i].n;
  if (max_per_block && smallest > max_per_block) smallest = max_per_block;
  /* the largest layers_per_block with padding <= n_layer / 8 and few enough groups; else the one
   * with the least padding that fits */
  uint32_t best = 0, best_pad = UINT32_MAX;
  for (uint32_t lpb = smallest; lpb >= 1; lpb--) {
    uint32_t groups, pad;
    cost(k, n_kinds, lpb, &groups, &pad);
    if (groups > PV_KV_MAX_GROUPS) continue;
    if (pad * 8 <= n_layer) {
      best = lpb;
      break;
    }
    if (pad < best_pad) best = lpb, best_pad = pad;
  }
  if (!best) {
    free(k);
    pv_kv_layout_free(out);
    return pv_fail(err, PAGEDVK_ERR_UNSUPPORTED, "kv layout: %u layers of %u window sizes need more than %d groups",
                   n_layer, n_kinds, PV_KV_MAX_GROUPS);
  }
  out->layers_per_block = best;
  /* each kind's groups in order of its first layer; layers fill them in layer order */
  uint32_t first_group[PV_KV_MAX_GROUPS], filled[PV_KV_MAX_GROUPS] = {0};
  for (uint32_t i = 0, g = 0; i < n_kinds; i++) {
    first_group[i] = g;
    uint32_t n = (k[i].n + best - 1) / best;
    for (uint32_t j = 0; j < n; j++) out->window[g + j] = k[i].window;
    g += n;
    out->n_groups = g;
  }
  for (uint32_t l = 0; l < n_layer; l++) {
    uint32_t w = disable_groups ? 0 : windows[l], i = 0;
    while (k[i].window != w) i++;
    out->group[l] = first_group[i] + filled[i] / best;
    out->slot[l] = filled[i] % best;
    filled[i]++;
  }
  free(k);
  return PAGEDVK_OK;
}

void pv_kv_layout_free(pv_kv_layout *l) {
  free(l->group);
  free(l->slot);
  l->group = l->slot = NULL;
}
