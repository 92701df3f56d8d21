/*
 * penalty.c — the seen-token counts (a pv_hmap from token id to generated << 1 | in_prompt) and
 * the repetition / presence / frequency penalties over them.
 */
#include "sample/penalty.h"

#define COUNTS_INITIAL 32u /* 64 slots: the map grows when a 32nd distinct token arrives */

static uint64_t pack(pv_token_seen s) { return (uint64_t)s.generated << 1 | (s.in_prompt ? 1u : 0u); }

static pv_token_seen unpack(uint64_t key, uint64_t val) {
  return (pv_token_seen){(int32_t)key, (uint32_t)(val >> 1), (uint32_t)(val & 1u)};
}

static int no_memory(pv_error *err) { return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "token counts: out of memory"); }

int pv_token_counts_init(pv_token_counts *t, pv_error *err) {
  if (pv_hmap_init(&t->map, COUNTS_INITIAL) != PAGEDVK_OK) return no_memory(err);
  return PAGEDVK_OK;
}

void pv_token_counts_free(pv_token_counts *t) { pv_hmap_free(&t->map); }

/* dst (uninitialized) gets every entry of src, with room for `expected` entries. */
static int copy_into(pv_token_counts *dst, const pv_token_counts *src, size_t expected, pv_error *err) {
  if (pv_hmap_init(&dst->map, expected) != PAGEDVK_OK) return no_memory(err);
  for (size_t i = 0; i < src->map.cap; i++) {
    const pv_hmap_slot *s = &src->map.slots[i];
    if (s->val != PV_HMAP_EMPTY && pv_hmap_put(&dst->map, s->key, s->val) != PAGEDVK_OK) {
      pv_hmap_free(&dst->map);
      return no_memory(err);
    }
  }
  return PAGEDVK_OK;
}

int pv_token_counts_copy(pv_token_counts *dst, const pv_token_counts *src, pv_error *err) {
  /* the same capacity as src, so what src reserved holds for the copy too */
  return copy_into(dst, src, src->map.cap / 2, err);
}

int pv_token_counts_reserve(pv_token_counts *t, uint32_t n_distinct, pv_error *err) {
  /* pv_hmap grows before an insert would take n above cap / 2 - 1 */
  if (((uint64_t)n_distinct + 1) * 2 <= t->map.cap) return PAGEDVK_OK;
  pv_token_counts grown;
  int rc = copy_into(&grown, t, (size_t)n_distinct + 1, err);
  if (rc != PAGEDVK_OK) return rc;
  pv_hmap_free(&t->map);
  *t = grown;
  return PAGEDVK_OK;
}

int pv_token_counts_add(pv_token_counts *t, int32_t token, bool in_prompt, pv_error *err) {
  if (token < 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "token id %d is negative", (int)token);
  uint64_t *v = pv_hmap_ref(&t->map, (uint64_t)token);
  pv_token_seen s = v ? unpack((uint64_t)token, *v) : (pv_token_seen){token, 0, 0};
  if (in_prompt) s.in_prompt = 1;
  else s.generated++;
  if (v) {
    *v = pack(s);
    return PAGEDVK_OK;
  }
  return pv_hmap_put(&t->map, (uint64_t)token, pack(s)) == PAGEDVK_OK ? PAGEDVK_OK : no_memory(err);
}

bool pv_token_counts_find(const pv_token_counts *t, int32_t token, pv_token_seen *out) {
  uint64_t v;
  if (token < 0 || !pv_hmap_get(&t->map, (uint64_t)token, &v)) return false;
  *out = unpack((uint64_t)token, v);
  return true;
}

bool pv_penalties_off(const pv_penalties *p) {
  return p->repetition == 1.0f && p->presence == 0.0f && p->frequency == 0.0f;
}

static float penalize(const pv_penalties *p, const pv_token_seen *s, float l) {
  if (p->repetition != 1.0f) l = l > 0.0f ? l / p->repetition : l * p->repetition;
  if (s->generated > 0) l = l - (p->presence + p->frequency * (float)s->generated);
  return l;
}

void pv_penalties_apply(const pv_penalties *p, const pv_token_counts *t, float *logits, uint32_t n_vocab) {
  if (pv_penalties_off(p)) return;
  for (size_t i = 0; i < t->map.cap; i++) {
    const pv_hmap_slot *slot = &t->map.slots[i];
    if (slot->val == PV_HMAP_EMPTY || slot->key >= n_vocab) continue;
    pv_token_seen s = unpack(slot->key, slot->val);
    logits[s.token] = penalize(p, &s, logits[s.token]);
  }
}
