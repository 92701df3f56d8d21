/*
 * penalty.c — the seen-token hash map (linear probing, load factor at most 1/2) and the
 * repetition / presence / frequency penalties over it.
 */
#include <stdlib.h>
#include <string.h>

#include "sample/penalty.h"

#define COUNTS_INITIAL_CAP 64u

static uint32_t slot_of(int32_t token, uint32_t cap) {
  return ((uint32_t)token * 2654435761u) & (cap - 1);
}

static pv_token_seen *alloc_slots(uint32_t cap) {
  pv_token_seen *s = malloc((size_t)cap * sizeof *s);
  if (s)
    for (uint32_t i = 0; i < cap; i++) s[i] = (pv_token_seen){-1, 0, 0};
  return s;
}

int pv_token_counts_init(pv_token_counts *t, pv_error *err) {
  t->slots = alloc_slots(COUNTS_INITIAL_CAP);
  t->cap = COUNTS_INITIAL_CAP;
  t->used = 0;
  if (!t->slots) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "token counts: out of memory");
  return PAGEDVK_OK;
}

void pv_token_counts_free(pv_token_counts *t) {
  free(t->slots);
  t->slots = NULL;
  t->cap = t->used = 0;
}

int pv_token_counts_copy(pv_token_counts *dst, const pv_token_counts *src, pv_error *err) {
  dst->slots = malloc((size_t)src->cap * sizeof *dst->slots);
  if (!dst->slots) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "token counts: out of memory");
  memcpy(dst->slots, src->slots, (size_t)src->cap * sizeof *dst->slots);
  dst->cap = src->cap;
  dst->used = src->used;
  return PAGEDVK_OK;
}

/* The slot holding `token`, or the empty slot where it would go. */
static pv_token_seen *probe(pv_token_seen *slots, uint32_t cap, int32_t token) {
  uint32_t i = slot_of(token, cap);
  while (slots[i].token != -1 && slots[i].token != token) i = (i + 1) & (cap - 1);
  return &slots[i];
}

static int grow(pv_token_counts *t, pv_error *err) {
  if (t->cap > UINT32_MAX / 2) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "token counts: too many tokens");
  uint32_t cap = t->cap * 2;
  pv_token_seen *slots = alloc_slots(cap);
  if (!slots) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "token counts: out of memory");
  for (uint32_t i = 0; i < t->cap; i++)
    if (t->slots[i].token != -1) *probe(slots, cap, t->slots[i].token) = t->slots[i];
  free(t->slots);
  t->slots = slots;
  t->cap = cap;
  return PAGEDVK_OK;
}

int pv_token_counts_reserve(pv_token_counts *t, uint32_t n_distinct, pv_error *err) {
  while ((uint64_t)(n_distinct + 1) * 2 > t->cap) {
    int rc = grow(t, err);
    if (rc != PAGEDVK_OK) return rc;
  }
  return PAGEDVK_OK;
}

int pv_token_counts_add(pv_token_counts *t, int32_t token, bool in_prompt, pv_error *err) {
  if (token < 0) return pv_fail(err, PAGEDVK_ERR_INVALID, "token id %d is negative", (int)token);
  pv_token_seen *s = probe(t->slots, t->cap, token);
  if (s->token == -1) {
    if ((t->used + 1) * 2 > t->cap) {
      int rc = grow(t, err);
      if (rc != PAGEDVK_OK) return rc;
      s = probe(t->slots, t->cap, token);
    }
    *s = (pv_token_seen){token, 0, 0};
    t->used++;
  }
  if (in_prompt) s->in_prompt = 1;
  else s->generated++;
  return PAGEDVK_OK;
}

const pv_token_seen *pv_token_counts_find(const pv_token_counts *t, int32_t token) {
  if (token < 0) return NULL;
  const pv_token_seen *s = probe(t->slots, t->cap, token);
  return s->token == -1 ? NULL : s;
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
  for (uint32_t i = 0; i < t->cap; i++) {
    const pv_token_seen *s = &t->slots[i];
    if (s->token == -1 || (uint32_t)s->token >= n_vocab) continue;
    logits[s->token] = penalize(p, s, logits[s->token]);
  }
}
