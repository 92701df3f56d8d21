/*
 * gram_internal.h — the compiled grammar and the recognizer's tables, shared by the files of
 * runtime/sample/grammar (private to this room):
 *   gram_parse.c   GBNF text → pv_gram_rules (elements, alternatives, rules), left-recursion check
 *   gram_json.c    a small JSON reader (for schemas)
 *   gram_schema.c  JSON schema → GBNF text
 *   gram_compile.c the entry point: kind → text → rules → pv_grammar
 *   gram_recog.c   interned parse stacks, advancing a state over bytes
 *   gram_mask.c    the vocabulary's sorted byte strings, masks by state and their cache
 * Calls go one way: compile → schema → json, compile → parse; mask → recog.
 *
 * The compiled form: `el` is a flat array of elements; each alternative of a rule is a run of
 * CHARS / RULE elements ended by an END element; rule r's alternatives are
 * alt_pos[rule_alt[r] .. rule_alt[r+1]), each the index of its first element. A position is an
 * index into `el`. CHARS element: code point ranges ranges[2a .. 2a+2n) (sorted, disjoint,
 * merged), negated when `neg`.
 *
 * A parse stack is an interned node (pos, parent): the position to match next and the stack
 * below it; node 0 is the empty stack. Nodes are never freed while the grammar lives, except
 * those a mask walk created, which it rolls back (newest first: each chain of the hash table
 * lists newer nodes before older ones, so removing the newest is O(1)).
 */
#ifndef PV_SAMPLE_GRAM_INTERNAL_H
#define PV_SAMPLE_GRAM_INTERNAL_H

#include "sample/grammar/grammar.h"

enum { PV_GE_END = 0, PV_GE_CHARS = 1, PV_GE_RULE = 2 };

typedef struct pv_gelem {
  uint8_t kind;
  uint8_t neg;
  uint32_t a; /* CHARS: first range; RULE: rule id */
  uint32_t n; /* CHARS: number of ranges */
} pv_gelem;

typedef struct pv_gram_rules {
  pv_gelem *el;
  uint32_t n_el, cap_el;
  uint32_t *ranges; /* pairs lo, hi */
  uint32_t n_ranges, cap_ranges;
  uint32_t *alt_pos;
  uint32_t n_alts, cap_alts;
  uint32_t *rule_alt; /* n_rules + 1 */
  uint32_t n_rules;
  uint32_t root;
} pv_gram_rules;

/* Parses GBNF text into rules. what: the name used in messages ("grammar"). */
int pv_gram_parse(pv_gram_rules *out, const char *text, size_t len, pv_error *err);
void pv_gram_rules_free(pv_gram_rules *r);

/* JSON schema text → GBNF text (malloc'd, NUL-terminated). json_object: any JSON object. */
int pv_gram_schema_to_gbnf(const char *schema, size_t len, char **gbnf, pv_error *err);
int pv_gram_json_object_gbnf(char **gbnf, pv_error *err);

/* ---- interned stacks and the mask cache --------------------------------------------------- */

typedef struct pv_gram_node {
  uint32_t pos, parent, next;
} pv_gram_node;

typedef struct pv_gram_wstate {
  uint64_t hash;
  size_t off;      /* its stack ids: pool[off .. off + n) */
  uint32_t n, utf_val, next;
  uint8_t utf_need, utf_len;
} pv_gram_wstate;

typedef struct pv_gram_cache_entry {
  uint64_t hash;
  uint32_t *key; /* n_key words: utf state then the stack ids */
  uint32_t n_key;
  uint64_t *mask;
  uint32_t n_allowed;
  struct pv_gram_cache_entry *next;
} pv_gram_cache_entry;

struct pv_grammar {
  pv_gram_rules r;
  /* interned nodes */
  pv_gram_node *nodes;
  uint32_t n_nodes, cap_nodes;
  uint32_t *heads; /* hash buckets (power of two) */
  uint32_t n_heads;
  uint32_t *mark; /* per node: the epoch of the last expansion that reached it */
  uint32_t cap_mark;
  uint32_t epoch;
  /* expansion scratch */
  uint32_t *work;
  uint32_t cap_work;
  /* the mask cache */
  pv_gram_cache_entry **buckets;
  uint32_t n_buckets, n_entries;
  size_t cache_bytes;
  /* mask walk scratch (gram_mask.c): the walk's states interned by content (stack ids in
   * `pool`), and the transitions found, (state, byte) → state, valid for the walk of generation
   * `gen` only (so nothing is cleared between walks) */
  pv_gram_state step_out;
  uint32_t *pool;
  size_t n_pool, cap_pool;
  struct pv_gram_wstate *ws;
  uint32_t n_ws, cap_ws;
  uint32_t *ws_heads, *ws_gen, n_ws_heads;
  uint64_t *t_key;
  uint32_t *t_val, *t_gen, n_t, cap_t;
  uint32_t gen;
  uint32_t *depth;
  uint32_t n_depth;
  pv_gram_state tmp[2]; /* pv_gram_accept_bytes scratch */
  pv_gram_stats stats;
};

/* Empties the mask cache (gram_compile.c owns it; gram_mask.c fills it). */
void pv_gram_cache_clear(pv_grammar *g);

/* Interns (pos, parent); PAGEDVK_ERR_INVALID past PV_GRAM_MAX_NODES. */
int pv_gram_intern(pv_grammar *g, uint32_t pos, uint32_t parent, uint32_t *id, pv_error *err);
/* Removes every node created after the first `n` (newest first). */
void pv_gram_rollback(pv_grammar *g, uint32_t n);
/* Would s accept these bytes? s and the tables are left as they were. */
int pv_gram_try_bytes(pv_grammar *g, const pv_gram_state *s, const char *bytes, size_t n, bool *ok, pv_error *err);
/* Advances `in` by one byte into `out` (out != in): PAGEDVK_OK and *alive; *alive false when the
 * byte is rejected; an error when a bound is hit. */
int pv_gram_step_byte(pv_grammar *g, const pv_gram_state *in, uint8_t byte, pv_gram_state *out, bool *alive,
                      pv_error *err);

#endif /* PV_SAMPLE_GRAM_INTERNAL_H */
