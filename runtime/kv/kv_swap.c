/*
 * kv_swap.c — moving whole sequences between device blocks and host swap slots.
 *
 * A device block shared by several of the sequences being swapped gets one host slot whose
 * refcount is the number of table entries naming it; swapping those sequences back in gives each
 * distinct slot one device block with the same refcount, so sharing (and copy-on-write later) is
 * restored. A block also held by a sequence outside the list is copied out all the same (the
 * swapped sequence needs its own copy) and stays on the device for the other holder.
 * Both directions check ids, slots, blocks and memory first: failure changes nothing.
 * A sequence moves with every layer group's record; entries outside a sliding group's window
 * (PV_KV_NONE) stay as they are.
 */
#include "kv/kv_internal.h"

/* Every id valid, in the wanted state (swapped or not), listed once. */
static int check_list(const pv_kv_manager *kv, const uint32_t *seqs, uint32_t n, bool swapped, pv_error *err) {
  if (!seqs && n) return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: no sequence list");
  for (uint32_t i = 0; i < n; i++) {
    const pv_kv_seq *s = pv_kv_seq_get(kv, seqs[i]);
    if (!s) return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: no sequence %u", seqs[i]);
    if (s->swapped != swapped)
      return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: sequence %u is %s", seqs[i], swapped ? "not swapped" : "swapped");
    for (uint32_t j = 0; j < i; j++)
      if (seqs[j] == seqs[i]) return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: sequence %u listed twice", seqs[i]);
  }
  return PAGEDVK_OK;
}

/* Distinct entries over the tables of `seqs` (device blocks when mark is block_mark, host slots
 * when it is slot_mark). */
static uint32_t count_distinct(const pv_kv_manager *kv, const uint32_t *seqs, uint32_t n, uint32_t *mark) {
  uint32_t stamp = pv_kv_new_stamp(kv), distinct = 0;
  for (uint32_t i = 0; i < n; i++)
    for (uint32_t g = 0; g < kv->n_groups; g++) {
      const pv_kv_seq *s = pv_kv_rec(kv, &kv->seqs[seqs[i]], g);
      for (uint32_t j = s->lo; j < s->top; j++)
        if (mark[s->table[j]] != stamp) {
          mark[s->table[j]] = stamp;
          distinct++;
        }
    }
  return distinct;
}

uint32_t pv_kv_swap_out_slots(const pv_kv_manager *kv, const uint32_t *seqs, uint32_t n_seqs) {
  if (check_list(kv, seqs, n_seqs, false, NULL) != PAGEDVK_OK) return UINT32_MAX;
  return count_distinct(kv, seqs, n_seqs, kv->scr->block_mark);
}

bool pv_kv_can_swap_out(const pv_kv_manager *kv, const uint32_t *seqs, uint32_t n_seqs) {
  uint32_t need = pv_kv_swap_out_slots(kv, seqs, n_seqs);
  return need != UINT32_MAX && need <= kv->swap.n_free;
}

uint32_t pv_kv_swap_in_blocks(const pv_kv_manager *kv, const uint32_t *seqs, uint32_t n_seqs) {
  if (check_list(kv, seqs, n_seqs, true, NULL) != PAGEDVK_OK) return UINT32_MAX;
  return count_distinct(kv, seqs, n_seqs, kv->scr->slot_mark);
}

bool pv_kv_can_swap_in(const pv_kv_manager *kv, const uint32_t *seqs, uint32_t n_seqs, uint32_t watermark_blocks) {
  uint32_t need = pv_kv_swap_in_blocks(kv, seqs, n_seqs);
  return need != UINT32_MAX && (uint64_t)need + watermark_blocks <= kv->pool.n_free;
}

/* Table entry j of s moves from device block to host slot (one slot per distinct block). */
static void swap_out_entry(pv_kv_manager *kv, pv_kv_seq *s, uint32_t j, uint32_t stamp, pv_kv_xfer_list *out) {
  pv_kv_scratch *scr = kv->scr;
  uint32_t b = s->table[j];
  if (scr->block_mark[b] != stamp) {
    scr->block_mark[b] = stamp;
    scr->block_map[b] = pv_swap_space_take(&kv->swap);
    out->items[out->count++] = (pv_kv_xfer){b, scr->block_map[b]};
  } else {
    kv->swap.ref[scr->block_map[b]]++;
  }
  s->table[j] = scr->block_map[b];
  pv_kv_block_release(kv, b);
}

int pv_kv_swap_out(pv_kv_manager *kv, const uint32_t *seqs, uint32_t n_seqs, pv_kv_xfer_list *out, pv_error *err) {
  if (!out) return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: swap_out needs a transfer list");
  int rc = check_list(kv, seqs, n_seqs, false, err);
  if (rc) return rc;
  uint32_t need = count_distinct(kv, seqs, n_seqs, kv->scr->block_mark);
  if (need > kv->swap.n_free)
    return pv_fail(err, PAGEDVK_ERR_KV_FULL, "kv: swap space full (%u host slots needed, %u free): recompute instead",
                   need, kv->swap.n_free);
  rc = pv_kv_xfer_reserve(out, need, err);
  if (rc) return rc;
  uint32_t stamp = pv_kv_new_stamp(kv);
  for (uint32_t i = 0; i < n_seqs; i++) {
    for (uint32_t g = kv->n_groups; g-- > 0;) {
      pv_kv_seq *r = pv_kv_rec(kv, &kv->seqs[seqs[i]], g);
      for (uint32_t j = r->top; j-- > r->lo;) swap_out_entry(kv, r, j, stamp, out); /* last first, as in seq_free */
      r->swapped = true;
    }
    kv->n_swapped++;
  }
  kv->swapped_out_blocks += need;
  return PAGEDVK_OK;
}

/* Table entry j of s moves from host slot to device block (one block per distinct slot). */
static void swap_in_entry(pv_kv_manager *kv, pv_kv_seq *s, uint32_t j, uint32_t stamp, pv_kv_xfer_list *in) {
  pv_kv_scratch *scr = kv->scr;
  uint32_t slot = s->table[j], bs = kv->pool.block_size;
  if (scr->slot_mark[slot] != stamp) {
    uint32_t b = pv_kv_block_take(kv);
    uint32_t left = s->n_tokens - j * bs;
    pv_kv_block_set_fill(kv, b, left < bs ? left : bs);
    scr->slot_mark[slot] = stamp;
    scr->slot_map[slot] = b;
    in->items[in->count++] = (pv_kv_xfer){slot, b};
  } else {
    pv_kv_block_retain(kv, scr->slot_map[slot]);
  }
  s->table[j] = scr->slot_map[slot];
  pv_swap_space_release(&kv->swap, slot);
}

int pv_kv_swap_in(pv_kv_manager *kv, const uint32_t *seqs, uint32_t n_seqs, pv_kv_xfer_list *in, pv_error *err) {
  if (!in) return pv_fail(err, PAGEDVK_ERR_INVALID, "kv: swap_in needs a transfer list");
  int rc = check_list(kv, seqs, n_seqs, true, err);
  if (rc) return rc;
  uint32_t need = count_distinct(kv, seqs, n_seqs, kv->scr->slot_mark);
  if (need > kv->pool.n_free)
    return pv_fail(err, PAGEDVK_ERR_KV_FULL, "kv: swap-in needs %u blocks, %u free", need, kv->pool.n_free);
  rc = pv_kv_xfer_reserve(in, need, err);
  if (rc) return rc;
  uint32_t stamp = pv_kv_new_stamp(kv);
  for (uint32_t i = 0; i < n_seqs; i++) {
    for (uint32_t g = 0; g < kv->n_groups; g++) {
      pv_kv_seq *r = pv_kv_rec(kv, &kv->seqs[seqs[i]], g);
      for (uint32_t j = r->lo; j < r->top; j++) swap_in_entry(kv, r, j, stamp, in);
      r->swapped = false;
    }
    kv->n_swapped--;
  }
  kv->swapped_in_blocks += need;
  return PAGEDVK_OK;
}
