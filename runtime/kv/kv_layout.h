/*
 * kv_layout.h — which layers share a KV block: the layer groups of a model with sliding-window
 * layers (pv_kv_config.n_groups / window).
 *
 * All blocks of the pool have one size: a block holds `layers_per_block` layers of block_size
 * tokens. Layers with the same window (0 = global) fill groups of layers_per_block layers in
 * layer order; each group has a block table of its own per sequence, so the blocks of a sliding
 * group that fall out of its window can go back to the pool while the global layers keep theirs.
 * A model whose layers all have the same window has one group holding every layer (the layout
 * of a model without sliding windows, and of one with `disable_groups`).
 *
 * layers_per_block is chosen as large as possible (fewer, longer block tables to upload) while
 * the padding — slots of a group's last block no layer uses — stays within an eighth of the
 * layers, with at most PV_KV_MAX_GROUPS groups.
 */
#ifndef PV_KV_LAYOUT_H
#define PV_KV_LAYOUT_H

#include "base/base.h"
#include "kv/kv_manager.h"

typedef struct pv_kv_layout {
  uint32_t n_layer;
  uint32_t n_groups;
  uint32_t layers_per_block;
  uint32_t window[PV_KV_MAX_GROUPS]; /* per group */
  uint32_t *group;                   /* per layer: its group */
  uint32_t *slot;                    /* per layer: its index within the group's blocks */
} pv_kv_layout;

/* windows[l]: layer l's sliding window (0: global). disable_groups: one group of every layer
 * (window 0: nothing is given back; attention still masks). max_per_block > 0: at most that many
 * layers share a block (tests: many groups on a model without windows). */
int pv_kv_layout_plan(pv_kv_layout *out, const uint32_t *windows, uint32_t n_layer, bool disable_groups,
                      uint32_t max_per_block, pv_error *err);
void pv_kv_layout_free(pv_kv_layout *l);

#endif
