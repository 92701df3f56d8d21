/*
 * grammar.h — constrained decoding: a grammar over bytes, the recognizer state of one sequence,
 * and the mask of the vocabulary's tokens that may come next. The entry points the engine uses.
 *
 * A pv_grammar is compiled once per request (on the caller's thread) from one of:
 *   - GBNF text (gram_parse.c: rules `name ::= ...`, alternation, groups, `?` `*` `+` `{m,n}`,
 *     string literals, character classes, comments; the start rule is `root`);
 *   - a JSON schema (gram_schema.c turns it into GBNF text);
 *   - "any JSON object" (the json_object response format).
 * After compilation it is used only by the engine's step thread: it owns the interned parse
 * stacks (gram_recog.c) and the cache of token masks by state (gram_mask.c), shared by every
 * sequence of its request (n > 1 samples, beams).
 *
 * A pv_gram_state is one sequence's position: the set of parse stacks that are still alive
 * after the bytes accepted so far, plus a partly read UTF-8 code point. States copy freely
 * (pv_gram_state_copy) so forks and beams take their parent's.
 *
 * Bounds (a hostile grammar fails with a clear error instead of hanging or growing without
 * end): at most PV_GRAM_MAX_STACKS stacks in a state, PV_GRAM_MAX_EXPAND expansion steps per
 * code point, PV_GRAM_MAX_NODES interned stack frames per grammar, PV_GRAM_MAX_ELEMS compiled
 * elements, PV_GRAM_CACHE_BYTES of cached masks (the cache is emptied when full). Left-recursive
 * rules are refused when compiled.
 *
 * The vocabulary side (pv_gram_vocab) is built once per model: every token's bytes (as the
 * detokenizer gives them), sorted, with the length shared with the previous one, so a walk in
 * that order is a depth-first walk of the token prefix trie; and the end-of-generation ids.
 */
#ifndef PV_SAMPLE_GRAMMAR_H
#define PV_SAMPLE_GRAMMAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "text/vocab.h"

#define PV_GRAM_MAX_STACKS 1024u
#define PV_GRAM_MAX_EXPAND 65536u
#define PV_GRAM_MAX_NODES (1u << 21)
#define PV_GRAM_MAX_ELEMS (1u << 20)
#define PV_GRAM_CACHE_BYTES (32u << 20)
#define PV_GRAM_MAX_TEXT (1u << 20) /* longest grammar or schema text */

typedef struct pv_grammar pv_grammar;

/* Compiles a grammar of `kind` (PAGEDVK_GRAMMAR_GBNF, _JSON_SCHEMA, _JSON_OBJECT; the text is
 * ignored for the last). PAGEDVK_ERR_INVALID with "grammar:LINE:COL: ..." for GBNF text,
 * "json schema at /json/pointer: ..." for a schema (or "json schema:LINE:COL: ..." when the
 * schema is not JSON). */
int pv_grammar_compile(pv_grammar **out, int kind, const char *text, size_t len, pv_error *err);
void pv_grammar_destroy(pv_grammar *g);

/* The GBNF text a JSON schema compiles to, every rule name prefixed by `prefix` (letters, digits
 * and '-'; NULL or "": none) and its start rule PREFIXroot, for grammars that embed schemas
 * (tool calls: one per function). *gbnf malloc'd, NUL-terminated; errors as pv_grammar_compile's. */
int pv_gram_schema_gbnf(const char *schema, size_t len, const char *prefix, char **gbnf, size_t *gbnf_len,
                        pv_error *err);

/* One sequence's recognizer state. */
typedef struct pv_gram_state {
  uint32_t *stacks; /* sorted interned stack ids; 0 = the empty stack (the grammar is complete) */
  uint32_t n, cap;
  uint32_t utf_val; /* a partly read code point: its bits so far */
  uint8_t utf_need; /* continuation bytes still to come (0: none pending) */
  uint8_t utf_len;  /* its full length in bytes */
} pv_gram_state;

/* The start state (every way of beginning `root`). */
int pv_gram_state_init(pv_grammar *g, pv_gram_state *s, pv_error *err);
int pv_gram_state_copy(pv_gram_state *dst, const pv_gram_state *src, pv_error *err);
void pv_gram_state_free(pv_gram_state *s);
/* True when the bytes so far form a complete sentence of the grammar. */
bool pv_gram_state_complete(const pv_gram_state *s);
/* True when no byte can follow (complete and nothing longer is possible). */
bool pv_gram_state_final(const pv_gram_state *s);

/* Advances over bytes: PAGEDVK_OK; PAGEDVK_ERR_INVALID when the grammar rejects them (the state is
 * then unchanged) or a bound is hit (the message says which). */
int pv_gram_accept_bytes(pv_grammar *g, pv_gram_state *s, const char *bytes, size_t n, pv_error *err);

/* ---- The vocabulary and the masks ---------------------------------------------------------- */

typedef struct pv_gram_vocab pv_gram_vocab;

int pv_gram_vocab_create(pv_gram_vocab **out, const pv_tokenizer *tok, pv_error *err);
void pv_gram_vocab_destroy(pv_gram_vocab *v);
uint32_t pv_gram_vocab_size(const pv_gram_vocab *v);

/* The tokens allowed in state s, as a bitset of ceil(n_vocab / 64) words (bit t of word t/64),
 * valid until the next call on this grammar: tokens whose bytes the grammar accepts from s, and
 * the end-of-generation tokens when s is complete. Cached by state. *n_allowed: how many. */
int pv_gram_mask(pv_grammar *g, const pv_gram_vocab *v, const pv_gram_state *s, const uint64_t **mask,
                 uint32_t *n_allowed, pv_error *err);
/* Sets logits[t] = -inf for every token the state does not allow (and for every t past the
 * vocabulary, when n_logits is larger). PAGEDVK_ERR_INVALID when it
 * allows none (no token of the vocabulary can continue the grammar). */
int pv_gram_apply(pv_grammar *g, const pv_gram_vocab *v, const pv_gram_state *s, float *logits, uint32_t n_logits,
                  pv_error *err);
/* Advances s over token t (an end-of-generation token: allowed only when complete, and the
 * state stays as it is). */
int pv_gram_accept_token(pv_grammar *g, const pv_gram_vocab *v, pv_gram_state *s, int32_t t, pv_error *err);

/* Would state s take token t (what pv_gram_mask would say of it, without making the mask)? */
int pv_gram_allows(pv_grammar *g, const pv_gram_vocab *v, const pv_gram_state *s, int32_t t, bool *ok, pv_error *err);

/* Counters for tests and the bench: masks computed (cache misses) and served from the cache. */
typedef struct pv_gram_stats {
  uint64_t masks_computed, masks_cached, nodes;
} pv_gram_stats;
pv_gram_stats pv_grammar_stats(const pv_grammar *g);

#endif /* PV_SAMPLE_GRAMMAR_H */
