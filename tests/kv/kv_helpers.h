/*
 * kv_helpers.h — shared by the tests in tests/kv: manager construction, the invariant check as a
 * cmocka assertion, and snapshots of the whole observable state (to prove a failed call changed
 * nothing). Header-only: every tests/kv/test_*.c is its own executable.
 */
#ifndef PV_TEST_KV_HELPERS_H
#define PV_TEST_KV_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "kv/kv_manager.h"

#define SNAP_MAX_BLOCKS 256
#define SNAP_MAX_SEQS 64
#define SNAP_MAX_TABLE 64

static inline pv_kv_manager *make_kv(uint32_t n_blocks, uint32_t block_size, uint32_t n_swap, pv_kv_hash_fn hash) {
  pv_kv_config cfg = {.n_blocks = n_blocks, .block_size = block_size, .n_swap_slots = n_swap, .hash = hash};
  pv_kv_manager *kv = NULL;
  pv_error err = {0};
  int rc = pv_kv_create(&kv, &cfg, &err);
  if (rc != PAGEDVK_OK) fail_msg("pv_kv_create: %s", err.msg);
  return kv;
}

#define assert_kv_ok(kv)                                                  \
  do {                                                                    \
    pv_error e_ = {0};                                                    \
    if (pv_kv_check_invariants((kv), &e_) != PAGEDVK_OK) fail_msg("%s", e_.msg); \
  } while (0)

/* Tokens base, base+1, ... */
static inline void fill_tokens(int32_t *t, uint32_t n, int32_t base) {
  for (uint32_t i = 0; i < n; i++) t[i] = base + (int32_t)i;
}

/* Creates a sequence and asserts success; returns its id. */
static inline uint32_t new_seq(pv_kv_manager *kv, const int32_t *t, uint32_t n, uint32_t *cached) {
  uint32_t seq = PV_KV_NONE, c = 0;
  pv_error err = {0};
  int rc = pv_kv_seq_create(kv, t, n, &seq, &c, &err);
  if (rc != PAGEDVK_OK) fail_msg("seq_create: %s", err.msg);
  if (cached) *cached = c;
  return seq;
}

static inline void compute_all(pv_kv_manager *kv, uint32_t seq) {
  assert_int_equal(pv_kv_mark_computed(kv, seq, pv_kv_seq_len(kv, seq) - pv_kv_seq_computed(kv, seq), NULL),
                   PAGEDVK_OK);
}

typedef struct kv_snapshot {
  pv_kv_stats stats;
  uint32_t n_free_list, free_list[SNAP_MAX_BLOCKS];
  uint32_t refs[SNAP_MAX_BLOCKS];
  bool valid[SNAP_MAX_SEQS], swapped[SNAP_MAX_SEQS];
  uint32_t len[SNAP_MAX_SEQS], computed[SNAP_MAX_SEQS], n_table[SNAP_MAX_SEQS];
  uint32_t table[SNAP_MAX_SEQS][SNAP_MAX_TABLE];
} kv_snapshot;

static inline void take_snapshot(const pv_kv_manager *kv, kv_snapshot *s) {
  memset(s, 0, sizeof *s);
  pv_kv_get_stats(kv, 1, &s->stats);
  s->n_free_list = pv_kv_free_list(kv, s->free_list, SNAP_MAX_BLOCKS);
  for (uint32_t b = 0; b < pv_kv_total_blocks(kv) && b < SNAP_MAX_BLOCKS; b++) s->refs[b] = pv_kv_block_ref(kv, b);
  for (uint32_t q = 0; q < SNAP_MAX_SEQS; q++) {
    s->valid[q] = pv_kv_seq_valid(kv, q);
    if (!s->valid[q]) continue;
    s->swapped[q] = pv_kv_seq_swapped(kv, q);
    s->len[q] = pv_kv_seq_len(kv, q);
    s->computed[q] = pv_kv_seq_computed(kv, q);
    const uint32_t *t = pv_kv_seq_table(kv, q, &s->n_table[q]);
    for (uint32_t i = 0; i < s->n_table[q] && i < SNAP_MAX_TABLE; i++) s->table[q][i] = t[i];
  }
}

static inline void assert_unchanged(const pv_kv_manager *kv, const kv_snapshot *before) {
  kv_snapshot now;
  take_snapshot(kv, &now);
  assert_memory_equal(&now, before, sizeof now);
}

#endif /* PV_TEST_KV_HELPERS_H */
