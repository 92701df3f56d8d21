/*
 * gram_recog.c — the recognizer: interned parse stacks and advancing a state over bytes.
 *
 * A state is the set of stacks whose top element is a character class (or the empty stack, when
 * the grammar may end here), after expansion: a stack whose top is a rule reference is replaced
 * by one stack per alternative of that rule (with the return position pushed, unless it is the
 * end of the alternative: a tail call keeps right recursion flat), and a stack whose top is the
 * end of an alternative pops to its parent. Expansion visits each (position, parent) pair once
 * per step (an epoch mark on the interned node), so shared and nullable alternatives cost once;
 * its steps are capped (PV_GRAM_MAX_EXPAND) and so is the state's size (PV_GRAM_MAX_STACKS).
 *
 * Bytes arrive one at a time; a multi-byte UTF-8 code point is collected first (utf_* fields)
 * and a byte that starts or continues one is accepted only when some stack's class contains a
 * code point beginning with those bytes. Invalid UTF-8 (overlong forms, surrogates, bytes past
 * U+10FFFF) is rejected.
 */
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "sample/grammar/gram_internal.h"

#define NONE UINT32_MAX

static uint32_t node_hash(uint32_t pos, uint32_t parent) {
  uint64_t h = ((uint64_t)pos << 32 | parent) * 0x9E3779B97F4A7C15ull;
  return (uint32_t)(h >> 32);
}

static int rehash(pv_grammar *g, uint32_t n_heads) {
  uint32_t *heads = malloc((size_t)n_heads * sizeof *heads);
  if (!heads) return PAGEDVK_ERR_NO_MEMORY;
  memset(heads, 0xFF, (size_t)n_heads * sizeof *heads);
  for (uint32_t id = 1; id < g->n_nodes; id++) { /* oldest first: chains list newer nodes first */
    uint32_t h = node_hash(g->nodes[id].pos, g->nodes[id].parent) & (n_heads - 1);
    g->nodes[id].next = heads[h];
    heads[h] = id;
  }
  free(g->heads);
  g->heads = heads;
  g->n_heads = n_heads;
  return PAGEDVK_OK;
}

int pv_gram_intern(pv_grammar *g, uint32_t pos, uint32_t parent, uint32_t *id, pv_error *err) {
  uint32_t h = node_hash(pos, parent) & (g->n_heads - 1);
  for (uint32_t k = g->heads[h]; k != NONE; k = g->nodes[k].next)
    if (g->nodes[k].pos == pos && g->nodes[k].parent == parent) {
      *id = k;
      return PAGEDVK_OK;
    }
  if (g->n_nodes >= PV_GRAM_MAX_NODES)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "grammar: more than %u parse stack frames (the grammar or output is too deep)",
                   PV_GRAM_MAX_NODES);
  if (PV_GROW_U32(g->nodes, g->cap_nodes, (size_t)g->n_nodes + 1) ||
      PV_GROW_U32(g->mark, g->cap_mark, (size_t)g->n_nodes + 1))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "grammar: out of memory");
  if (g->n_nodes >= g->n_heads) {
    if (rehash(g, g->n_heads * 2)) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "grammar: out of memory");
    h = node_hash(pos, parent) & (g->n_heads - 1);
  }
  const uint32_t k = g->n_nodes++;
  g->nodes[k] = (pv_gram_node){pos, parent, g->heads[h]};
  g->mark[k] = 0;
  g->heads[h] = k;
  *id = k;
  return PAGEDVK_OK;
}

void pv_gram_rollback(pv_grammar *g, uint32_t n) {
  while (g->n_nodes > n) {
    const uint32_t k = --g->n_nodes;
    uint32_t h = node_hash(g->nodes[k].pos, g->nodes[k].parent) & (g->n_heads - 1);
    g->heads[h] = g->nodes[k].next; /* k is the newest node, so the head of its chain */
  }
}

/* ---- states ------------------------------------------------------------------------------------- */

static int state_reserve(pv_gram_state *s, size_t n, pv_error *err) {
  if (n <= s->cap) return PAGEDVK_OK;
  if (PV_GROW_U32(s->stacks, s->cap, n)) return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "grammar: out of memory");
  return PAGEDVK_OK;
}

int pv_gram_state_copy(pv_gram_state *dst, const pv_gram_state *src, pv_error *err) {
  int rc = state_reserve(dst, src->n ? src->n : 1, err);
  if (rc) return rc;
  if (src->n) memcpy(dst->stacks, src->stacks, src->n * sizeof *src->stacks);
  dst->n = src->n;
  dst->utf_val = src->utf_val;
  dst->utf_need = src->utf_need;
  dst->utf_len = src->utf_len;
  return PAGEDVK_OK;
}

void pv_gram_state_free(pv_gram_state *s) {
  if (!s) return;
  free(s->stacks);
  memset(s, 0, sizeof *s);
}

bool pv_gram_state_complete(const pv_gram_state *s) { return s->utf_need == 0 && s->n && s->stacks[0] == 0; }
bool pv_gram_state_final(const pv_gram_state *s) { return pv_gram_state_complete(s) && s->n == 1; }

/* ---- expansion ---------------------------------------------------------------------------------- */

static int push_work(pv_grammar *g, uint32_t *n_work, uint32_t pos, uint32_t parent, pv_error *err) {
  if (PV_GROW_U32(g->work, g->cap_work, (size_t)*n_work + 2))
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "grammar: out of memory");
  g->work[(*n_work)++] = pos;
  g->work[(*n_work)++] = parent;
  return PAGEDVK_OK;
}

static int add_stack(pv_gram_state *out, uint32_t id, pv_error *err) {
  if (out->n >= PV_GRAM_MAX_STACKS)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "grammar: more than %u parse stacks at once (the grammar is too ambiguous)",
                   PV_GRAM_MAX_STACKS);
  int rc = state_reserve(out, (size_t)out->n + 1, err);
  if (!rc) out->stacks[out->n++] = id;
  return rc;
}

static void sort_ids(uint32_t *a, uint32_t n) {
  for (uint32_t i = 1; i < n; i++) {
    uint32_t x = a[i], j = i;
    for (; j > 0 && a[j - 1] > x; j--) a[j] = a[j - 1];
    a[j] = x;
  }
}

/* Expands the work list (pairs pos, parent) into out's stacks. */
static int expand(pv_grammar *g, uint32_t n_work, pv_gram_state *out, pv_error *err) {
  const pv_gram_rules *r = &g->r;
  uint32_t steps = 0;
  int rc = PAGEDVK_OK;
  while (n_work && !rc) {
    const uint32_t parent = g->work[--n_work], pos = g->work[--n_work];
    if (++steps > PV_GRAM_MAX_EXPAND)
      return pv_fail(err, PAGEDVK_ERR_INVALID, "grammar: more than %u expansion steps for one character",
                     PV_GRAM_MAX_EXPAND);
    const pv_gelem *e = &r->el[pos];
    if (e->kind == PV_GE_END && parent == 0) {
      if (g->mark[0] != g->epoch) {
        g->mark[0] = g->epoch;
        rc = add_stack(out, 0, err);
      }
      continue;
    }
    uint32_t id;
    if ((rc = pv_gram_intern(g, pos, parent, &id, err))) break;
    if (g->mark[id] == g->epoch) continue;
    g->mark[id] = g->epoch;
    if (e->kind == PV_GE_CHARS) {
      rc = add_stack(out, id, err);
    } else if (e->kind == PV_GE_END) {
      rc = push_work(g, &n_work, g->nodes[parent].pos, g->nodes[parent].parent, err);
    } else {
      uint32_t ret = parent;
      if (r->el[pos + 1].kind != PV_GE_END) rc = pv_gram_intern(g, pos + 1, parent, &ret, err);
      for (uint32_t a = r->rule_alt[e->a]; a < r->rule_alt[e->a + 1] && !rc; a++)
        rc = push_work(g, &n_work, r->alt_pos[a], ret, err);
    }
  }
  if (!rc) sort_ids(out->stacks, out->n);
  return rc;
}

static void next_epoch(pv_grammar *g) {
  if (++g->epoch == 0) { /* wrapped: forget every mark */
    memset(g->mark, 0, (size_t)g->n_nodes * sizeof *g->mark);
    g->epoch = 1;
  }
}

int pv_gram_state_init(pv_grammar *g, pv_gram_state *s, pv_error *err) {
  s->n = 0;
  s->utf_val = s->utf_need = s->utf_len = 0;
  next_epoch(g);
  uint32_t n_work = 0;
  int rc = PAGEDVK_OK;
  for (uint32_t a = g->r.rule_alt[g->r.root]; a < g->r.rule_alt[g->r.root + 1] && !rc; a++)
    rc = push_work(g, &n_work, g->r.alt_pos[a], 0, err);
  if (!rc) rc = expand(g, n_work, s, err);
  return rc;
}

/* ---- matching ----------------------------------------------------------------------------------- */

static bool class_has(const pv_gram_rules *r, const pv_gelem *e, uint32_t cp) {
  if (!e->n) return e->neg; /* [^]: every code point (and `ranges` may be NULL) */
  const uint32_t *rg = r->ranges + 2 * (size_t)e->a;
  uint32_t lo = 0, hi = e->n;
  while (lo < hi) { /* first range whose end >= cp */
    uint32_t mid = (lo + hi) / 2;
    if (rg[2 * mid + 1] < cp) lo = mid + 1;
    else hi = mid;
  }
  bool in = lo < e->n && rg[2 * lo] <= cp;
  return in != (bool)e->neg;
}

/* Does the class hold some code point in [lo, hi]? */
static bool class_meets(const pv_gram_rules *r, const pv_gelem *e, uint32_t lo, uint32_t hi) {
  if (!e->n) return e->neg;
  const uint32_t *rg = r->ranges + 2 * (size_t)e->a;
  if (!e->neg) {
    for (uint32_t k = 0; k < e->n; k++)
      if (rg[2 * k] <= hi && rg[2 * k + 1] >= lo) return true;
    return false;
  }
  uint32_t cur = lo; /* the first point of [lo, hi] not yet known to be covered */
  for (uint32_t k = 0; k < e->n; k++) {
    if (rg[2 * k + 1] < cur) continue;
    if (rg[2 * k] > cur) return true;
    if (rg[2 * k + 1] >= hi) return false;
    cur = rg[2 * k + 1] + 1;
  }
  return cur <= hi;
}

static int advance_cp(pv_grammar *g, const pv_gram_state *in, uint32_t cp, pv_gram_state *out, pv_error *err) {
  next_epoch(g);
  out->n = 0;
  out->utf_val = out->utf_need = out->utf_len = 0;
  uint32_t n_work = 0;
  int rc = PAGEDVK_OK;
  for (uint32_t k = 0; k < in->n && !rc; k++) {
    const uint32_t s = in->stacks[k];
    if (s == 0) continue;
    const pv_gram_node *nd = &g->nodes[s];
    if (class_has(&g->r, &g->r.el[nd->pos], cp)) rc = push_work(g, &n_work, nd->pos + 1, nd->parent, err);
  }
  if (!rc) rc = expand(g, n_work, out, err);
  return rc;
}

int pv_gram_step_byte(pv_grammar *g, const pv_gram_state *in, uint8_t b, pv_gram_state *out, bool *alive,
                      pv_error *err) {
  uint32_t val, need, len;
  *alive = false;
  if (in->utf_need == 0) {
    if (b < 0x80) {
      int rc = advance_cp(g, in, b, out, err);
      *alive = !rc && out->n > 0;
      return rc;
    }
    if (b >= 0xC2 && b <= 0xDF) len = 2, val = b & 0x1Fu;
    else if (b >= 0xE0 && b <= 0xEF) len = 3, val = b & 0x0Fu;
    else if (b >= 0xF0 && b <= 0xF4) len = 4, val = b & 0x07u;
    else return PAGEDVK_OK;
    need = len - 1;
  } else {
    if ((b & 0xC0) != 0x80) return PAGEDVK_OK;
    len = in->utf_len;
    val = in->utf_val << 6 | (b & 0x3Fu);
    need = in->utf_need - 1u;
  }
  static const uint32_t min_of[5] = {0, 0, 0x80, 0x800, 0x10000};
  uint32_t lo = val << (6 * need), hi = lo | ((1u << (6 * need)) - 1);
  if (lo < min_of[len]) lo = min_of[len];
  if (hi > 0x10FFFF) hi = 0x10FFFF;
  if (lo > hi || (lo >= 0xD800 && hi <= 0xDFFF)) return PAGEDVK_OK;
  if (need == 0) {
    int rc = advance_cp(g, in, val, out, err);
    *alive = !rc && out->n > 0;
    return rc;
  }
  bool any = false;
  for (uint32_t k = 0; k < in->n && !any; k++)
    if (in->stacks[k]) any = class_meets(&g->r, &g->r.el[g->nodes[in->stacks[k]].pos], lo, hi);
  if (!any) return PAGEDVK_OK;
  int rc = state_reserve(out, in->n, err);
  if (rc) return rc;
  memcpy(out->stacks, in->stacks, in->n * sizeof *in->stacks);
  out->n = in->n;
  out->utf_val = val;
  out->utf_need = (uint8_t)need;
  out->utf_len = (uint8_t)len;
  *alive = true;
  return PAGEDVK_OK;
}

/* Runs bytes from s through the scratch states; *end: the state after them (s itself for none),
 * NULL when a byte is rejected (*at: which). */
static int run_bytes(pv_grammar *g, const pv_gram_state *s, const char *bytes, size_t n, const pv_gram_state **end,
                     size_t *at, pv_error *err) {
  pv_gram_state *a = &g->tmp[0], *b = &g->tmp[1];
  const pv_gram_state *cur = s;
  for (size_t i = 0; i < n; i++) {
    bool alive;
    int rc = pv_gram_step_byte(g, cur, (uint8_t)bytes[i], b, &alive, err);
    if (rc) return rc;
    if (!alive) {
      *end = NULL;
      *at = i;
      return PAGEDVK_OK;
    }
    cur = b;
    pv_gram_state *t = a;
    a = b;
    b = t;
  }
  *end = cur;
  return PAGEDVK_OK;
}

int pv_gram_accept_bytes(pv_grammar *g, pv_gram_state *s, const char *bytes, size_t n, pv_error *err) {
  const pv_gram_state *end = NULL;
  size_t at = 0;
  int rc = run_bytes(g, s, bytes, n, &end, &at, err);
  if (rc) return rc;
  if (!end)
    return pv_fail(err, PAGEDVK_ERR_INVALID, "grammar: byte %zu (0x%02x) of the text is not allowed here", at,
                   (unsigned)(uint8_t)bytes[at]);
  return end == s ? PAGEDVK_OK : pv_gram_state_copy(s, end, err);
}

int pv_gram_try_bytes(pv_grammar *g, const pv_gram_state *s, const char *bytes, size_t n, bool *ok, pv_error *err) {
  const uint32_t mark = g->n_nodes;
  const pv_gram_state *end = NULL;
  size_t at = 0;
  int rc = run_bytes(g, s, bytes, n, &end, &at, err);
  pv_gram_rollback(g, mark);
  *ok = !rc && end != NULL;
  return rc;
}
