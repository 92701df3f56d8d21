/*
 * Randomized, seeded (PV_KV_SEED overrides) mixed operations against a shadow of the device and
 * host block contents. Each slot holds what a real K/V entry depends on: the token and a hash of
 * the whole prefix up to it (its "context"), so a block reused after another prefix reads wrong.
 * Compute writes the cells of its positions, copy/swap requests move whole blocks, and after EVERY
 * step the test checks pv_kv_check_invariants plus what only a shadow can see: every computed
 * position of every sequence reads back its own token and context (on the device, or in its host
 * slots while swapped), every cached block's device cells hold its cached tokens, a prefix hit hands
 * out blocks already holding the prompt's cells, no uncomputed position is ever in a shared block,
 * each failing call (KV_FULL) changed nothing, and pv_kv_get_stats (counters the manager keeps
 * incrementally) equals a full scan of the blocks and the shadow's sequences.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kv_helpers.h"

#define MAX_SEQS 24
#define MAX_LEN 120
#define N_TEMPLATES 4
#define TEMPLATE_LEN 48

typedef struct cell {
  int32_t tok;
  uint64_t ctx;
} cell;
static const cell POISON = {-1, 0};

typedef struct mseq {
  uint32_t id, group;
  uint32_t len;
  int32_t tokens[MAX_LEN];
} mseq;

enum { OP_CREATE, OP_COMPUTE, OP_APPEND, OP_FORK, OP_FREE, OP_FREE_GROUP, OP_SWAP_OUT, OP_SWAP_IN, N_OPS };
static const uint32_t op_weight[N_OPS] = {14, 25, 25, 8, 10, 2, 6, 8};

typedef struct world {
  pv_kv_manager *kv;
  uint64_t seed, rng, step;
  uint32_t bs, n_blocks, n_slots;
  cell *gpu, *host;
  mseq seqs[MAX_SEQS];
  uint32_t n_seqs, next_group;
  int32_t next_token;
  int32_t templates[N_TEMPLATES][TEMPLATE_LEN];
  pv_kv_xfer_list xfers;
  uint32_t ok[N_OPS], full[N_OPS];
  uint64_t hit_tokens, copies;
} world;

#define W_FAIL(w, ...)                                                                   \
  do {                                                                                   \
    char m_[600];                                                                        \
    snprintf(m_, sizeof m_, __VA_ARGS__);                                                \
    fail_msg("seed %llu step %llu: %s", (unsigned long long)(w)->seed, (unsigned long long)(w)->step, m_); \
  } while (0)
#define W_CHECK(w, cond, ...) \
  do {                        \
    if (!(cond)) W_FAIL(w, __VA_ARGS__); \
  } while (0)

static uint64_t next_u64(world *w) { /* splitmix64 */
  uint64_t z = (w->rng += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}
static uint32_t below(world *w, uint32_t n) { return n ? (uint32_t)(next_u64(w) % n) : 0; }

/* Mostly fresh token ids (no accidental matches), sometimes a tiny alphabet (duplicates). */
static int32_t random_token(world *w) { return below(w, 5) ? w->next_token++ : (int32_t)below(w, 4); }

/* The context of position p: a hash of tokens[0..p]. */
static uint64_t context(const mseq *m, uint32_t p) {
  uint64_t h = UINT64_C(0x1234567);
  for (uint32_t i = 0; i <= p; i++) {
    h = (h ^ (uint32_t)m->tokens[i]) * UINT64_C(0x100000001b3);
    h ^= h >> 29;
  }
  return h;
}

static bool same_cell(cell a, cell b) { return a.tok == b.tok && a.ctx == b.ctx; }

static uint32_t slot_of(world *w, const mseq *m, uint32_t pos) {
  const uint32_t *t = pv_kv_seq_table(w->kv, m->id, NULL);
  return t[pos / w->bs] * w->bs + pos % w->bs;
}

static bool resident(world *w, const mseq *m) { return !pv_kv_seq_swapped(w->kv, m->id); }

/* A random sequence satisfying `want` (NULL: any), or NULL. */
static mseq *pick(world *w, bool (*want)(world *, const mseq *)) {
  uint32_t start = below(w, w->n_seqs);
  for (uint32_t i = 0; i < w->n_seqs; i++) {
    mseq *m = &w->seqs[(start + i) % w->n_seqs];
    if (!want || want(w, m)) return m;
  }
  return NULL;
}

/* Uncomputed positions get poison: their contents are undefined until computed. */
static void poison_pending(world *w, const mseq *m, uint32_t from) {
  for (uint32_t p = from; p < m->len; p++) w->gpu[slot_of(w, m, p)] = POISON;
}

static void apply_xfers(world *w, uint32_t from, cell *src_mem, cell *dst_mem) {
  for (uint32_t i = from; i < w->xfers.count; i++)
    memcpy(dst_mem + (size_t)w->xfers.items[i].dst * w->bs, src_mem + (size_t)w->xfers.items[i].src * w->bs,
           w->bs * sizeof(cell));
}

static void expect_unchanged(world *w, const kv_snapshot *before, uint32_t xfers_before) {
  kv_snapshot now;
  take_snapshot(w->kv, &now);
  W_CHECK(w, !memcmp(&now, before, sizeof now), "a failed call changed the manager");
  W_CHECK(w, w->xfers.count == xfers_before, "a failed call added transfer requests");
}

/* ---- Operations ---------------------------------------------------------------------------- */

/* Prompts that share prefixes (templates), repeat short blocks in other contexts (a tiny alphabet)
 * and put one template's aligned block after another template's prefix (equal block, other parent). */
static void make_prompt(world *w, mseq *m) {
  uint32_t mode = below(w, 5), n = 0;
  const int32_t *t1 = w->templates[below(w, N_TEMPLATES)], *t2 = w->templates[below(w, N_TEMPLATES)];
  if (mode == 0) {
    n = below(w, 20);
    for (uint32_t i = 0; i < n; i++) m->tokens[i] = (int32_t)below(w, 2);
  } else if (mode == 1 && w->bs * 2 <= TEMPLATE_LEN) {
    uint32_t k = below(w, TEMPLATE_LEN / w->bs) * w->bs, off = below(w, TEMPLATE_LEN / w->bs) * w->bs;
    memcpy(m->tokens, t1, k * sizeof(int32_t));
    n = k + (off + w->bs <= TEMPLATE_LEN ? w->bs : 0);
    memcpy(m->tokens + k, t2 + off, (n - k) * sizeof(int32_t));
  } else {
    n = below(w, TEMPLATE_LEN + 1);
    memcpy(m->tokens, t1, n * sizeof(int32_t));
  }
  uint32_t tail = n > 0 ? below(w, 20) : 1 + below(w, 20); /* 0: a prompt ending on a block edge */
  for (uint32_t i = 0; i < tail; i++) m->tokens[n + i] = random_token(w);
  m->len = n + tail;
}

static void op_create(world *w) {
  if (w->n_seqs == MAX_SEQS) return;
  mseq *m = &w->seqs[w->n_seqs];
  make_prompt(w, m);
  pv_kv_prompt_plan plan;
  W_CHECK(w, pv_kv_plan_prompt(w->kv, m->tokens, m->len, &plan, NULL) == PAGEDVK_OK, "plan failed");
  kv_snapshot before;
  take_snapshot(w->kv, &before);
  uint32_t cached = 0;
  pv_error err = {0};
  int rc = pv_kv_seq_create(w->kv, m->tokens, m->len, &m->id, &cached, &err);
  if (plan.blocks_needed > before.stats.blocks_free) {
    W_CHECK(w, rc == PAGEDVK_ERR_KV_FULL, "create beyond the free blocks returned %d", rc);
    expect_unchanged(w, &before, w->xfers.count);
    w->full[OP_CREATE]++;
    return;
  }
  W_CHECK(w, rc == PAGEDVK_OK, "create of %u tokens: %s (plan needed %u, free %u)", m->len, err.msg,
          plan.blocks_needed, before.stats.blocks_free);
  W_CHECK(w, cached == plan.cached_tokens && cached < m->len && cached % w->bs == 0, "cached %u, plan %u", cached,
          plan.cached_tokens);
  W_CHECK(w, before.stats.blocks_free - pv_kv_free_blocks(w->kv) == plan.blocks_needed, "plan mismatch");
  for (uint32_t p = 0; p < cached; p++)
    W_CHECK(w, same_cell(w->gpu[slot_of(w, m, p)], (cell){m->tokens[p], context(m, p)}),
            "prefix hit at position %u holds another token or context", p);
  m->group = w->next_group++;
  poison_pending(w, m, cached);
  w->n_seqs++;
  w->hit_tokens += cached;
  w->ok[OP_CREATE]++;
}

static bool has_pending(world *w, const mseq *m) { return resident(w, m) && pv_kv_seq_computed(w->kv, m->id) < m->len; }

static void op_compute(world *w) {
  mseq *m = pick(w, has_pending);
  if (!m) return;
  uint32_t done = pv_kv_seq_computed(w->kv, m->id), k = 1 + below(w, m->len - done);
  for (uint32_t p = done; p < done + k; p++) {
    uint32_t slot = slot_of(w, m, p), block = slot / w->bs;
    W_CHECK(w, pv_kv_block_ref(w->kv, block) == 1, "position %u of seq %u is in shared block %u", p, m->id, block);
    W_CHECK(w, !pv_kv_block_cached_tokens(w->kv, block), "uncomputed position in cached block %u", block);
    w->gpu[slot] = (cell){m->tokens[p], context(m, p)};
  }
  W_CHECK(w, pv_kv_mark_computed(w->kv, m->id, k, NULL) == PAGEDVK_OK, "mark_computed failed");
  w->ok[OP_COMPUTE]++;
}

static void op_append(world *w) {
  mseq *m = pick(w, resident);
  if (!m) return;
  uint32_t k = below(w, 10) < 7 ? 1 : 1 + below(w, 12);
  if (m->len + k > MAX_LEN) return;
  int32_t t[16];
  for (uint32_t i = 0; i < k; i++) t[i] = random_token(w);
  uint32_t need = pv_kv_blocks_for_append(w->kv, m->id, k), xfers_before = w->xfers.count;
  kv_snapshot before;
  take_snapshot(w->kv, &before);
  pv_error err = {0};
  int rc = pv_kv_append_slots(w->kv, m->id, t, k, &w->xfers, &err);
  if (need > before.stats.blocks_free) {
    W_CHECK(w, rc == PAGEDVK_ERR_KV_FULL, "append beyond the free blocks returned %d", rc);
    expect_unchanged(w, &before, xfers_before);
    w->full[OP_APPEND]++;
    return;
  }
  W_CHECK(w, rc == PAGEDVK_OK, "append: %s", err.msg);
  W_CHECK(w, before.stats.blocks_free - pv_kv_free_blocks(w->kv) == need, "append took other than %u blocks", need);
  W_CHECK(w, w->xfers.count - xfers_before <= 1, "more than one copy for one append");
  apply_xfers(w, xfers_before, w->gpu, w->gpu);
  w->copies += w->xfers.count - xfers_before;
  memcpy(m->tokens + m->len, t, k * sizeof *t);
  m->len += k;
  poison_pending(w, m, pv_kv_seq_computed(w->kv, m->id));
  pv_kv_xfer_list_clear(&w->xfers);
  w->ok[OP_APPEND]++;
}

static void op_fork(world *w) {
  mseq *m = pick(w, resident);
  if (!m || w->n_seqs == MAX_SEQS) return;
  uint32_t child = 0;
  int rc = pv_kv_fork(w->kv, m->id, &child, NULL);
  if (pv_kv_seq_computed(w->kv, m->id) != m->len) {
    W_CHECK(w, rc == PAGEDVK_ERR_INVALID, "fork of an uncomputed sequence returned %d", rc);
    return;
  }
  W_CHECK(w, rc == PAGEDVK_OK, "fork failed");
  mseq *c = &w->seqs[w->n_seqs++];
  *c = *m;
  c->id = child;
  w->ok[OP_FORK]++;
}

static void remove_seq(world *w, mseq *m) {
  W_CHECK(w, pv_kv_seq_free(w->kv, m->id, NULL) == PAGEDVK_OK, "free failed");
  *m = w->seqs[--w->n_seqs];
}

static void op_free(world *w) {
  mseq *m = pick(w, NULL);
  if (!m) return;
  remove_seq(w, m);
  w->ok[OP_FREE]++;
}

static void op_free_group(world *w) {
  mseq *m = pick(w, NULL);
  if (!m) return;
  uint32_t g = m->group;
  for (uint32_t i = w->n_seqs; i-- > 0;)
    if (w->seqs[i].group == g) remove_seq(w, &w->seqs[i]);
  w->ok[OP_FREE_GROUP]++;
}

/* The ids of m's group. */
static uint32_t group_ids(world *w, const mseq *m, uint32_t *ids) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < w->n_seqs; i++)
    if (w->seqs[i].group == m->group) ids[n++] = w->seqs[i].id;
  return n;
}

static bool swapped(world *w, const mseq *m) { return !resident(w, m); }

static void op_swap(world *w, bool out) {
  mseq *m = pick(w, out ? resident : swapped);
  if (!m) return;
  uint32_t ids[MAX_SEQS], n = group_ids(w, m, ids), xfers_before = w->xfers.count;
  uint32_t need = out ? pv_kv_swap_out_slots(w->kv, ids, n) : pv_kv_swap_in_blocks(w->kv, ids, n);
  uint32_t room = out ? pv_kv_free_swap_slots(w->kv) : pv_kv_free_blocks(w->kv);
  bool can = out ? pv_kv_can_swap_out(w->kv, ids, n) : pv_kv_can_swap_in(w->kv, ids, n, 0);
  W_CHECK(w, need != UINT32_MAX && can == (need <= room), "swap query inconsistent");
  kv_snapshot before;
  take_snapshot(w->kv, &before);
  pv_error err = {0};
  int rc = out ? pv_kv_swap_out(w->kv, ids, n, &w->xfers, &err) : pv_kv_swap_in(w->kv, ids, n, &w->xfers, &err);
  int op = out ? OP_SWAP_OUT : OP_SWAP_IN;
  if (need > room) {
    W_CHECK(w, rc == PAGEDVK_ERR_KV_FULL, "swap beyond capacity returned %d", rc);
    expect_unchanged(w, &before, xfers_before);
    w->full[op]++;
    return;
  }
  W_CHECK(w, rc == PAGEDVK_OK, "swap %s: %s", out ? "out" : "in", err.msg);
  W_CHECK(w, w->xfers.count - xfers_before == need, "swap emitted %u transfers, expected %u",
          w->xfers.count - xfers_before, need);
  if (out) apply_xfers(w, xfers_before, w->gpu, w->host);
  else apply_xfers(w, xfers_before, w->host, w->gpu);
  pv_kv_xfer_list_clear(&w->xfers);
  w->ok[op]++;
}

/* ---- The shadow check ------------------------------------------------------------------------ */

static void check_seq(world *w, const mseq *m) {
  W_CHECK(w, pv_kv_seq_valid(w->kv, m->id), "seq %u vanished", m->id);
  W_CHECK(w, pv_kv_seq_len(w->kv, m->id) == m->len, "seq %u length", m->id);
  W_CHECK(w, !memcmp(pv_kv_seq_tokens(w->kv, m->id), m->tokens, m->len * sizeof(int32_t)), "seq %u tokens", m->id);
  bool out = pv_kv_seq_swapped(w->kv, m->id);
  const uint32_t *t = pv_kv_seq_table(w->kv, m->id, NULL);
  const cell *mem = out ? w->host : w->gpu;
  for (uint32_t p = 0, done = pv_kv_seq_computed(w->kv, m->id); p < done; p++) {
    cell got = mem[t[p / w->bs] * w->bs + p % w->bs];
    W_CHECK(w, same_cell(got, (cell){m->tokens[p], context(m, p)}),
            "seq %u (%s) position %u reads token %d, not %d (or another context)", m->id,
            out ? "swapped" : "resident", p, got.tok, m->tokens[p]);
  }
  for (uint32_t i = 0; i < w->n_seqs; i++)
    W_CHECK(w, w->seqs[i].group != m->group || pv_kv_seq_swapped(w->kv, w->seqs[i].id) == out,
            "group %u half swapped", m->group);
}

/* pv_kv_get_stats against a scan through the public queries: refcounts and cached flags of every
 * block, fills from the resident sequences' tables (a shared block counted once). */
static void check_stats(world *w) {
  uint64_t refs = 0, tokens = 0;
  uint32_t used = 0, evictable = 0, swapped = 0;
  uint8_t *seen = calloc(w->n_blocks, 1);
  assert_non_null(seen);
  for (uint32_t b = 0; b < w->n_blocks; b++) {
    uint32_t ref = pv_kv_block_ref(w->kv, b);
    refs += ref;
    used += ref > 0;
    evictable += ref == 0 && pv_kv_block_cached_tokens(w->kv, b) != NULL;
  }
  for (uint32_t i = 0; i < w->n_seqs; i++) {
    const mseq *m = &w->seqs[i];
    if (pv_kv_seq_swapped(w->kv, m->id)) {
      swapped++;
      continue;
    }
    uint32_t n;
    const uint32_t *t = pv_kv_seq_table(w->kv, m->id, &n);
    for (uint32_t j = 0; j < n; j++) {
      if (seen[t[j]]) continue;
      seen[t[j]] = 1;
      uint32_t left = m->len - j * w->bs;
      tokens += left < w->bs ? left : w->bs;
    }
  }
  free(seen);
  pv_kv_stats st;
  pv_kv_get_stats(w->kv, 1, &st);
  W_CHECK(w, st.blocks_used == used, "stats: %u blocks used, scan %u", st.blocks_used, used);
  W_CHECK(w, st.blocks_saved_by_sharing == refs - used, "stats: %llu saved by sharing, scan %llu",
          (unsigned long long)st.blocks_saved_by_sharing, (unsigned long long)(refs - used));
  W_CHECK(w, st.tokens_stored == tokens, "stats: %llu tokens stored, scan %llu", (unsigned long long)st.tokens_stored,
          (unsigned long long)tokens);
  W_CHECK(w, st.blocks_evictable == evictable, "stats: %u evictable, scan %u", st.blocks_evictable, evictable);
  W_CHECK(w, st.seqs_swapped == swapped, "stats: %u swapped sequences, scan %u", st.seqs_swapped, swapped);
}

static void check_world(world *w) {
  check_stats(w);
  pv_error err = {0};
  if (pv_kv_check_invariants(w->kv, &err) != PAGEDVK_OK) W_FAIL(w, "%s", err.msg);
  W_CHECK(w, pv_kv_num_seqs(w->kv) == w->n_seqs, "sequence count");
  for (uint32_t i = 0; i < w->n_seqs; i++) check_seq(w, &w->seqs[i]);
  for (uint32_t b = 0; b < w->n_blocks; b++) {
    const int32_t *c = pv_kv_block_cached_tokens(w->kv, b);
    for (uint32_t i = 0; c && i < w->bs; i++)
      W_CHECK(w, w->gpu[(size_t)b * w->bs + i].tok == c[i], "cached block %u does not hold its tokens on the device",
              b);
  }
}

static uint32_t pick_op(world *w) {
  uint32_t total = 0, r;
  for (int i = 0; i < N_OPS; i++) total += op_weight[i];
  r = below(w, total);
  for (uint32_t i = 0;; i++) {
    if (r < op_weight[i]) return i;
    r -= op_weight[i];
  }
}

static void run(uint32_t n_blocks, uint32_t bs, uint32_t n_slots, pv_kv_hash_fn hash, uint64_t seed, uint64_t steps) {
  const char *env = getenv("PV_KV_SEED");
  world *w = calloc(1, sizeof *w);
  assert_non_null(w);
  w->seed = env ? strtoull(env, NULL, 0) : seed;
  w->rng = w->seed;
  w->bs = bs;
  w->n_blocks = n_blocks;
  w->n_slots = n_slots;
  w->kv = make_kv(n_blocks, bs, n_slots, hash);
  w->gpu = malloc((size_t)n_blocks * bs * sizeof(cell));
  w->host = malloc(((size_t)n_slots * bs + 1) * sizeof(cell));
  assert_true(w->gpu && w->host);
  for (size_t i = 0; i < (size_t)n_blocks * bs; i++) w->gpu[i] = POISON;
  for (size_t i = 0; i < (size_t)n_slots * bs; i++) w->host[i] = POISON;
  w->next_token = 1000;
  for (int t = 0; t < N_TEMPLATES; t++)
    for (int i = 0; i < TEMPLATE_LEN; i++) w->templates[t][i] = random_token(w);
  for (w->step = 0; w->step < steps; w->step++) {
    switch (pick_op(w)) {
      case OP_CREATE: op_create(w); break;
      case OP_COMPUTE: op_compute(w); break;
      case OP_APPEND: op_append(w); break;
      case OP_FORK: op_fork(w); break;
      case OP_FREE: op_free(w); break;
      case OP_FREE_GROUP: op_free_group(w); break;
      case OP_SWAP_OUT: op_swap(w, true); break;
      default: op_swap(w, false); break;
    }
    check_world(w);
  }
  while (w->n_seqs) remove_seq(w, &w->seqs[0]);
  check_world(w);
  pv_kv_stats st;
  pv_kv_get_stats(w->kv, 1, &st);
  W_CHECK(w, st.blocks_free == n_blocks && st.blocks_used == 0 && st.swap_slots_used == 0 && st.seqs == 0,
          "not everything came back");
  printf("seed %llu, %llu steps, bs %u: create %u (full %u), compute %u, append %u (full %u), fork %u, free %u+%u, "
         "swap out %u (full %u), swap in %u (full %u); hit tokens %llu, copies %llu, evictions %llu\n",
         (unsigned long long)w->seed, (unsigned long long)steps, bs, w->ok[OP_CREATE], w->full[OP_CREATE],
         w->ok[OP_COMPUTE], w->ok[OP_APPEND], w->full[OP_APPEND], w->ok[OP_FORK], w->ok[OP_FREE],
         w->ok[OP_FREE_GROUP], w->ok[OP_SWAP_OUT], w->full[OP_SWAP_OUT], w->ok[OP_SWAP_IN], w->full[OP_SWAP_IN],
         (unsigned long long)w->hit_tokens, (unsigned long long)w->copies, (unsigned long long)st.evictions);
  /* The run must have exercised every path it claims to test. */
  for (int op = 0; op < N_OPS; op++) W_CHECK(w, w->ok[op] > 0, "operation %d never succeeded", op);
  W_CHECK(w, w->full[OP_CREATE] && w->full[OP_APPEND] && w->full[OP_SWAP_OUT] && w->full[OP_SWAP_IN],
          "some KV_FULL path never ran");
  W_CHECK(w, w->hit_tokens > 0 && w->copies > 0 && st.evictions > 0, "no hits, copies or evictions");
  pv_kv_xfer_list_free(&w->xfers);
  pv_kv_destroy(w->kv);
  free(w->host);
  free(w->gpu);
  free(w);
}

static uint64_t weak_hash(uint64_t parent, const int32_t *t, uint32_t n, void *user) {
  return pv_kv_hash_xxh3(parent, t, n, user) & 7; /* 8 keys: collisions all the time */
}

static uint64_t weak_parent_blind_hash(uint64_t parent, const int32_t *t, uint32_t n, void *user) {
  (void)parent;
  return pv_kv_hash_xxh3(0, t, n, user) & 15;
}

static void test_random_xxh3(void **state) {
  (void)state;
  run(48, 8, 24, NULL, 1, 100000);
}

static void test_random_weak_hash(void **state) {
  (void)state;
  run(24, 16, 12, weak_hash, 2, 30000);
}

static void test_random_parent_blind_hash(void **state) {
  (void)state;
  run(40, 8, 16, weak_parent_blind_hash, 3, 30000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_xxh3),
      cmocka_unit_test(test_random_weak_hash),
      cmocka_unit_test(test_random_parent_blind_hash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
