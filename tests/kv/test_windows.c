/*
 * Layer groups and sliding windows in the block manager (pv_kv_config.n_groups / window).
 *
 * Directed cases: a prompt far longer than the window holds only the window's blocks in the
 * sliding group while the full group holds all; blocks out of the window go back to the pool as
 * chunks and decoded tokens are computed; fork, swap and free with empty (out-of-window) entries.
 *
 * A seeded random walk (PV_KV_SEED overrides) over create / prepare+compute / append+compute /
 * fork / swap / free with a shadow of the device cells per group: computing a row writes its
 * cell (token, hash of the prefix) through that group's table, copies and swaps move whole
 * blocks, and after every step every position a row still to compute can read (the whole
 * sequence in a full group, the window in a sliding one) reads back its own cell, a sliding group
 * never holds more than its reach, the invariants hold and a failing call changed nothing.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kv_helpers.h"

static pv_kv_manager *make_groups(uint32_t n_blocks, uint32_t bs, uint32_t n_swap, uint32_t n_groups,
                                  const uint32_t *window, uint32_t max_chunk) {
  pv_kv_config cfg = {.n_blocks = n_blocks, .block_size = bs, .n_swap_slots = n_swap, .n_groups = n_groups,
                      .max_chunk = max_chunk};
  for (uint32_t g = 0; g < n_groups; g++) cfg.window[g] = window[g];
  pv_kv_manager *kv = NULL;
  pv_error err = {0};
  if (pv_kv_create(&kv, &cfg, &err) != PAGEDVK_OK) fail_msg("pv_kv_create: %s", err.msg);
  return kv;
}

/* Blocks named in [lo, hi) of group g's table and whether every entry below lo is empty. */
static uint32_t named(pv_kv_manager *kv, uint32_t seq, uint32_t g, uint32_t *first) {
  uint32_t n = 0, nt = 0;
  const uint32_t *t = pv_kv_seq_group_table(kv, seq, g, &nt);
  *first = UINT32_MAX;
  for (uint32_t i = 0; i < nt; i++)
    if (t[i] != PV_KV_NONE) {
      if (*first == UINT32_MAX) *first = i;
      n++;
    }
  return n;
}

static void test_prompt_and_decode_past_window(void **state) {
  (void)state;
  /* block 8, window 16, chunks of 8: reach = ceil((16-1+8)/8)+1 = 4 blocks */
  const uint32_t win[2] = {0, 16};
  pv_kv_manager *kv = make_groups(64, 8, 0, 2, win, 8);
  int32_t t[80];
  fill_tokens(t, 80, 100);
  pv_kv_prompt_plan pp;
  assert_int_equal(pv_kv_plan_prompt(kv, t, 80, &pp, NULL), PAGEDVK_OK);
  assert_int_equal(pp.blocks_needed, 10 + 4);
  /* alone in the pool, a sequence of 80 tokens holds at most the same; of 16, 2 + 2 */
  assert_int_equal(pv_kv_blocks_for_sequence(kv, 80), 10 + 4);
  assert_int_equal(pv_kv_blocks_for_sequence(kv, 16), 2 + 2);
  uint32_t seq = new_seq(kv, t, 80, NULL);
  assert_int_equal(pv_kv_free_blocks(kv), 64 - 14);
  uint32_t first;
  assert_int_equal(named(kv, seq, 0, &first), 10);
  assert_int_equal(named(kv, seq, 1, &first), 4);
  assert_kv_ok(kv);
  /* the prompt in chunks of 8: the sliding group never takes more than it gives back */
  for (uint32_t c = 0; c < 80; c += 8) {
    assert_int_equal(pv_kv_blocks_for_prepare(kv, seq, 8), 0);
    assert_int_equal(pv_kv_seq_prepare(kv, seq, 8, NULL), PAGEDVK_OK);
    assert_int_equal(pv_kv_mark_computed(kv, seq, 8, NULL), PAGEDVK_OK);
    assert_kv_ok(kv);
    assert_true(named(kv, seq, 1, &first) <= 4);
  }
  /* the next row (80) reads 65..80: blocks 8 and 9 (and 10 once appended); 0..7 are back */
  int32_t next = 999;
  pv_kv_xfer_list copies = {0};
  assert_int_equal(pv_kv_append_slots(kv, seq, &next, 1, &copies, NULL), PAGEDVK_OK);
  assert_int_equal(copies.count, 0);
  assert_int_equal(named(kv, seq, 1, &first), 3);
  assert_int_equal(first, 8);
  assert_int_equal(named(kv, seq, 0, &first), 11);
  assert_int_equal(pv_kv_free_blocks(kv), 64 - 14);
  assert_int_equal(pv_kv_mark_computed(kv, seq, 1, NULL), PAGEDVK_OK);
  /* 100 decode steps: the pool loses the full group's new blocks; the sliding group keeps 2 or 3 */
  for (int i = 0; i < 100; i++) {
    uint32_t free_before = pv_kv_free_blocks(kv), len = pv_kv_seq_len(kv, seq);
    uint32_t want = pv_kv_blocks_for_append(kv, seq, 1), slide_before = named(kv, seq, 1, &first);
    assert_int_equal(pv_kv_append_slots(kv, seq, &next, 1, &copies, NULL), PAGEDVK_OK);
    assert_int_equal(pv_kv_mark_computed(kv, seq, 1, NULL), PAGEDVK_OK);
    uint32_t full_new = len % 8 == 0 ? 1 : 0, slide = named(kv, seq, 1, &first);
    assert_int_equal((int)free_before - (int)pv_kv_free_blocks(kv), (int)full_new + (int)slide - (int)slide_before);
    assert_int_equal(want, full_new + slide > slide_before ? full_new + slide - slide_before : 0);
    assert_true(slide >= 2 && slide <= 3);
    assert_int_equal(first, (len + 1 - 16) / 8); /* the window of the row computed, len */
    assert_kv_ok(kv);
  }
  pv_kv_stats st;
  pv_kv_get_stats(kv, 1, &st);
  assert_int_equal(st.blocks_used, (181 + 7) / 8 + named(kv, seq, 1, &first));
  assert_int_equal(pv_kv_seq_free(kv, seq, NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_free_blocks(kv), 64);
  assert_kv_ok(kv);
  pv_kv_xfer_list_free(&copies);
  pv_kv_destroy(kv);
}

static void test_fork_swap_free(void **state) {
  (void)state;
  const uint32_t win[3] = {16, 0, 16};
  pv_kv_manager *kv = make_groups(96, 8, 64, 3, win, 8);
  int32_t t[60];
  fill_tokens(t, 60, 7);
  uint32_t seq = new_seq(kv, t, 60, NULL);
  assert_int_equal(pv_kv_seq_prepare(kv, seq, 9, NULL), PAGEDVK_ERR_INVALID); /* more than max_chunk */
  for (uint32_t c = 0; c < 60; c += 5) {
    uint32_t n = 60 - c < 5 ? 60 - c : 5;
    assert_int_equal(pv_kv_seq_prepare(kv, seq, n, NULL), PAGEDVK_OK);
    assert_int_equal(pv_kv_mark_computed(kv, seq, n, NULL), PAGEDVK_OK);
    assert_kv_ok(kv);
  }
  uint32_t child;
  assert_int_equal(pv_kv_fork(kv, seq, &child, NULL), PAGEDVK_OK);
  assert_kv_ok(kv);
  /* both append: the shared partly filled last block is copied once per group, and a shared
   * block leaving the window is not freed (the other holder keeps it) */
  pv_kv_xfer_list copies = {0};
  int32_t a = 1, b = 2;
  uint32_t need = pv_kv_blocks_for_append(kv, child, 1);
  uint32_t before = pv_kv_free_blocks(kv);
  assert_int_equal(pv_kv_append_slots(kv, child, &a, 1, &copies, NULL), PAGEDVK_OK);
  assert_int_equal(copies.count, 3);
  assert_int_equal(before - pv_kv_free_blocks(kv), need);
  assert_int_equal(pv_kv_append_slots(kv, seq, &b, 1, &copies, NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_mark_computed(kv, child, 1, NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_mark_computed(kv, seq, 1, NULL), PAGEDVK_OK);
  assert_kv_ok(kv);
  /* swap both out and back: only named blocks move */
  uint32_t both[2] = {seq, child}, first;
  uint32_t distinct = pv_kv_swap_out_slots(kv, both, 2);
  uint32_t named_total = 0;
  for (uint32_t g = 0; g < 3; g++) named_total += named(kv, seq, g, &first) + named(kv, child, g, &first);
  assert_true(distinct < named_total); /* shared blocks count once */
  pv_kv_xfer_list out = {0}, in = {0};
  assert_int_equal(pv_kv_swap_out(kv, both, 2, &out, NULL), PAGEDVK_OK);
  assert_int_equal(out.count, distinct);
  assert_int_equal(pv_kv_free_blocks(kv), 96);
  assert_kv_ok(kv);
  assert_int_equal(pv_kv_swap_in(kv, both, 2, &in, NULL), PAGEDVK_OK);
  assert_int_equal(in.count, distinct);
  assert_kv_ok(kv);
  assert_int_equal(pv_kv_seq_free(kv, child, NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_seq_free(kv, seq, NULL), PAGEDVK_OK);
  assert_int_equal(pv_kv_free_blocks(kv), 96);
  assert_int_equal(pv_kv_num_seqs(kv), 0);
  assert_kv_ok(kv);
  pv_kv_xfer_list_free(&copies);
  pv_kv_xfer_list_free(&out);
  pv_kv_xfer_list_free(&in);
  pv_kv_destroy(kv);
}

static void test_full_pool_changes_nothing(void **state) {
  (void)state;
  const uint32_t win[2] = {0, 32};
  pv_kv_manager *kv = make_groups(6, 8, 0, 2, win, 8);
  int32_t t[32];
  fill_tokens(t, 32, 3);
  /* 4 full-group blocks + 4 (the reach, ceil((32-1+8)/8)+1 = 6, is more than the prompt): 8 > 6 */
  uint32_t seq = PV_KV_NONE;
  assert_int_equal(pv_kv_seq_create(kv, t, 32, &seq, NULL, NULL), PAGEDVK_ERR_KV_FULL);
  assert_int_equal(pv_kv_free_blocks(kv), 6);
  assert_int_equal(pv_kv_num_seqs(kv), 0);
  assert_kv_ok(kv);
  seq = new_seq(kv, t, 24, NULL); /* 3 + 3 */
  compute_all(kv, seq);
  assert_int_equal(pv_kv_free_blocks(kv), 0);
  /* an append needing a block in each group fails and changes nothing */
  pv_kv_xfer_list copies = {0};
  int32_t x = 5;
  uint32_t first;
  assert_int_equal(pv_kv_blocks_for_append(kv, seq, 1), 2);
  assert_int_equal(pv_kv_append_slots(kv, seq, &x, 1, &copies, NULL), PAGEDVK_ERR_KV_FULL);
  assert_int_equal(named(kv, seq, 1, &first), 3);
  assert_int_equal(first, 0);
  assert_int_equal(pv_kv_seq_len(kv, seq), 24);
  assert_kv_ok(kv);
  pv_kv_seq_free(kv, seq, NULL);
  pv_kv_destroy(kv);
}

static void test_dropped_blocks_make_room(void **state) {
  (void)state;
  /* window 8: at row 24 blocks 0 and 1 of the sliding group go back, and the full group's new
   * block and the sliding group's next one fit in a pool with no free block */
  const uint32_t win[2] = {0, 8};
  pv_kv_manager *kv = make_groups(6, 8, 0, 2, win, 8);
  int32_t t[24];
  fill_tokens(t, 24, 3);
  uint32_t seq = new_seq(kv, t, 24, NULL); /* 3 + reach 3 */
  compute_all(kv, seq);
  assert_int_equal(pv_kv_free_blocks(kv), 0);
  pv_kv_xfer_list copies = {0};
  int32_t x = 5;
  uint32_t first;
  assert_int_equal(pv_kv_blocks_for_append(kv, seq, 1), 0);
  assert_int_equal(pv_kv_append_slots(kv, seq, &x, 1, &copies, NULL), PAGEDVK_OK);
  assert_int_equal(named(kv, seq, 1, &first), 2);
  assert_int_equal(first, 2);
  assert_int_equal(named(kv, seq, 0, &first), 4);
  assert_int_equal(pv_kv_free_blocks(kv), 0);
  assert_kv_ok(kv);
  pv_kv_seq_free(kv, seq, NULL);
  assert_int_equal(pv_kv_free_blocks(kv), 6);
  pv_kv_xfer_list_free(&copies);
  pv_kv_destroy(kv);
}

/* ---- Random walk with a shadow ---------------------------------------------------------------- */

#define RW_BLOCKS 160
#define RW_SLOTS 96
#define RW_BS 8
#define RW_GROUPS 3
#define RW_MAXLEN 90
#define RW_SEQS 10

typedef struct cell {
  int32_t tok;
  uint64_t ctx;
} cell;

typedef struct rseq {
  uint32_t id;
  uint32_t len;
  int32_t tok[RW_MAXLEN];
} rseq;

typedef struct rworld {
  pv_kv_manager *kv;
  uint64_t rng;
  uint32_t window[RW_GROUPS];
  cell gpu[RW_BLOCKS * RW_BS], host[RW_SLOTS * RW_BS];
  rseq s[RW_SEQS];
  uint32_t n;
  pv_kv_xfer_list xf;
  int32_t next_tok;
  uint32_t done[6]; /* successful operations by kind */
} rworld;

static uint32_t rnd(rworld *w, uint32_t n) {
  w->rng ^= w->rng << 13;
  w->rng ^= w->rng >> 7;
  w->rng ^= w->rng << 17;
  return (uint32_t)(w->rng % n);
}

static uint64_t ctx_of(const int32_t *t, uint32_t n) {
  uint64_t h = 1469598103934665603ull;
  for (uint32_t i = 0; i < n; i++) h = (h ^ (uint32_t)t[i]) * 1099511628211ull;
  return h;
}

/* Computes rows [c, c+n) of s: writes their cells through every group's table. */
static void compute_rows(rworld *w, rseq *q, uint32_t c, uint32_t n) {
  for (uint32_t g = 0; g < RW_GROUPS; g++) {
    uint32_t nt;
    const uint32_t *t = pv_kv_seq_group_table(w->kv, q->id, g, &nt);
    for (uint32_t p = c; p < c + n; p++) {
      assert_true(p / RW_BS < nt && t[p / RW_BS] != PV_KV_NONE);
      w->gpu[t[p / RW_BS] * RW_BS + p % RW_BS] = (cell){q->tok[p], ctx_of(q->tok, p + 1)};
    }
  }
  assert_int_equal(pv_kv_mark_computed(w->kv, q->id, n, NULL), PAGEDVK_OK);
}

/* Every position the next row can read reads back its own cell. */
static void check_reads(rworld *w) {
  for (uint32_t i = 0; i < w->n; i++) {
    rseq *q = &w->s[i];
    if (pv_kv_seq_swapped(w->kv, q->id)) continue;
    uint32_t c = pv_kv_seq_computed(w->kv, q->id);
    for (uint32_t g = 0; g < RW_GROUPS; g++) {
      uint32_t nt, lo = 0;
      const uint32_t *t = pv_kv_seq_group_table(w->kv, q->id, g, &nt);
      if (w->window[g] && c + 1 > w->window[g]) lo = c + 1 - w->window[g];
      for (uint32_t p = lo; p < c; p++) {
        assert_true(t[p / RW_BS] != PV_KV_NONE);
        cell x = w->gpu[t[p / RW_BS] * RW_BS + p % RW_BS];
        if (x.tok != q->tok[p] || x.ctx != ctx_of(q->tok, p + 1))
          fail_msg("seed %llu: seq %u group %u position %u reads another cell", (unsigned long long)w->rng, q->id, g,
                   p);
      }
    }
  }
}

static void move_cells(cell *dst, const cell *src, const pv_kv_xfer_list *l) {
  for (uint32_t i = 0; i < l->count; i++)
    memcpy(dst + (size_t)l->items[i].dst * RW_BS, src + (size_t)l->items[i].src * RW_BS, RW_BS * sizeof(cell));
}

static void rw_step(rworld *w) {
  pv_kv_manager *kv = w->kv;
  uint32_t op = rnd(w, 6);
  pv_kv_xfer_list_clear(&w->xf);
  uint32_t free_before = pv_kv_free_blocks(kv);
  if (op == 0 && w->n < RW_SEQS) { /* create */
    rseq *q = &w->s[w->n];
    q->len = 1 + rnd(w, 60);
    for (uint32_t i = 0; i < q->len; i++) q->tok[i] = w->next_tok++;
    int rc = pv_kv_seq_create(kv, q->tok, q->len, &q->id, NULL, NULL);
    if (rc == PAGEDVK_OK) w->n++, w->done[0]++;
    else assert_int_equal(pv_kv_free_blocks(kv), free_before);
    return;
  }
  if (w->n == 0) return;
  rseq *q = &w->s[rnd(w, w->n)];
  bool swapped = pv_kv_seq_swapped(kv, q->id);
  uint32_t c = pv_kv_seq_computed(kv, q->id);
  if (op == 1 && !swapped && c < q->len) { /* a prompt chunk */
    uint32_t n = 1 + rnd(w, 8);
    if (n > q->len - c) n = q->len - c;
    uint32_t want = pv_kv_blocks_for_prepare(kv, q->id, n);
    int rc = pv_kv_seq_prepare(kv, q->id, n, NULL);
    if (rc == PAGEDVK_OK) {
      assert_true(free_before - pv_kv_free_blocks(kv) <= want || pv_kv_free_blocks(kv) >= free_before);
      compute_rows(w, q, c, n);
      w->done[1]++;
    } else {
      assert_int_equal(rc, PAGEDVK_ERR_KV_FULL);
      assert_true(want > free_before);
      assert_int_equal(pv_kv_free_blocks(kv), free_before);
    }
  } else if (op == 2 && !swapped && c == q->len && q->len < RW_MAXLEN) { /* decode */
    int32_t t = w->next_tok++;
    int rc = pv_kv_append_slots(kv, q->id, &t, 1, &w->xf, NULL);
    if (rc == PAGEDVK_OK) {
      move_cells(w->gpu, w->gpu, &w->xf);
      q->tok[q->len++] = t;
      compute_rows(w, q, c, 1);
      w->done[2]++;
    } else {
      assert_int_equal(rc, PAGEDVK_ERR_KV_FULL);
      assert_int_equal(pv_kv_free_blocks(kv), free_before);
    }
  } else if (op == 3 && !swapped && c == q->len && w->n < RW_SEQS) { /* fork */
    rseq *d = &w->s[w->n];
    if (pv_kv_fork(kv, q->id, &d->id, NULL) == PAGEDVK_OK) {
      d->len = q->len;
      memcpy(d->tok, q->tok, q->len * sizeof *q->tok);
      w->n++;
      w->done[3]++;
    }
  } else if (op == 4) { /* swap out or in */
    if (!swapped) {
      if (pv_kv_swap_out(kv, &q->id, 1, &w->xf, NULL) == PAGEDVK_OK) move_cells(w->host, w->gpu, &w->xf), w->done[4]++;
    } else if (pv_kv_swap_in(kv, &q->id, 1, &w->xf, NULL) == PAGEDVK_OK) {
      move_cells(w->gpu, w->host, &w->xf);
      w->done[4]++;
    }
  } else if (op == 5) { /* free */
    assert_int_equal(pv_kv_seq_free(kv, q->id, NULL), PAGEDVK_OK);
    *q = w->s[--w->n];
    w->done[5]++;
  }
}

static void test_random_walk(void **state) {
  (void)state;
  uint64_t seed = 0x5eed1234;
  const char *env = getenv("PV_KV_SEED");
  if (env) seed = strtoull(env, NULL, 0);
  for (uint32_t round = 0; round < 6; round++) {
    rworld *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->rng = seed + round * 7919 + 1;
    w->window[0] = 0;
    w->window[1] = 1 + round * 5;       /* windows smaller and larger than a block */
    w->window[2] = round % 2 ? 0 : 20;  /* some rounds: two full groups */
    w->kv = make_groups(RW_BLOCKS, RW_BS, RW_SLOTS, RW_GROUPS, w->window, 8);
    for (uint32_t step = 0; step < 5000; step++) {
      rw_step(w);
      assert_kv_ok(w->kv);
      check_reads(w);
    }
    for (int k = 0; k < 6; k++)
      if (w->done[k] < 5) fail_msg("round %u: only %u operations of kind %d succeeded", round, w->done[k], k);
    while (w->n) assert_int_equal(pv_kv_seq_free(w->kv, w->s[--w->n].id, NULL), PAGEDVK_OK);
    assert_int_equal(pv_kv_free_blocks(w->kv), RW_BLOCKS);
    assert_int_equal(pv_kv_free_swap_slots(w->kv), RW_SLOTS);
    pv_kv_xfer_list_free(&w->xf);
    pv_kv_destroy(w->kv);
    free(w);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_prompt_and_decode_past_window),
      cmocka_unit_test(test_fork_swap_free),
      cmocka_unit_test(test_full_pool_changes_nothing),
      cmocka_unit_test(test_dropped_blocks_make_room),
      cmocka_unit_test(test_random_walk),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
