/*
 * gram_compile.c — the grammar's entry point: a request's grammar kind and text → pv_grammar
 * (GBNF parsed as it is; a JSON schema or "any JSON object" first turned into GBNF text), with
 * its empty tables: the interned stack nodes (node 0 is the empty stack) and the mask cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample/grammar/gram_internal.h"

static void cache_clear(pv_grammar *g) {
  for (uint32_t b = 0; b < g->n_buckets; b++) {
    pv_gram_cache_entry *e = g->buckets[b];
    while (e) {
      pv_gram_cache_entry *next = e->next;
      free(e->key);
      free(e->mask);
      free(e);
      e = next;
    }
    g->buckets[b] = NULL;
  }
  g->n_entries = 0;
  g->cache_bytes = 0;
}

void pv_grammar_destroy(pv_grammar *g) {
  if (!g) return;
  cache_clear(g);
  free(g->buckets);
  free(g->depth);
  pv_gram_state_free(&g->step_out);
  free(g->pool);
  free(g->ws);
  free(g->ws_heads);
  free(g->ws_gen);
  free(g->t_key);
  free(g->t_val);
  free(g->t_gen);
  pv_gram_state_free(&g->tmp[0]);
  pv_gram_state_free(&g->tmp[1]);
  free(g->work);
  free(g->mark);
  free(g->heads);
  free(g->nodes);
  pv_gram_rules_free(&g->r);
  free(g);
}

/* The empty tables: node 0 (the empty stack), 1024 hash heads, 256 cache buckets. */
static int tables_init(pv_grammar *g, pv_error *err) {
  g->n_heads = 1024;
  g->heads = malloc(g->n_heads * sizeof *g->heads);
  g->nodes = malloc(256 * sizeof *g->nodes);
  g->mark = calloc(256, sizeof *g->mark);
  g->n_buckets = 256;
  g->buckets = calloc(g->n_buckets, sizeof *g->buckets);
  if (!g->heads || !g->nodes || !g->mark || !g->buckets)
    return pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "grammar: out of memory");
  memset(g->heads, 0xFF, g->n_heads * sizeof *g->heads);
  g->cap_nodes = g->cap_mark = 256;
  g->nodes[0] = (pv_gram_node){UINT32_MAX, UINT32_MAX, UINT32_MAX};
  g->n_nodes = 1;
  g->epoch = 1;
  return PAGEDVK_OK;
}

int pv_grammar_compile(pv_grammar **out, int kind, const char *text, size_t len, pv_error *err) {
  *out = NULL;
  char *gbnf = NULL;
  int rc = PAGEDVK_OK;
  if (kind == PAGEDVK_GRAMMAR_JSON_SCHEMA) {
    if (!text) return pv_fail(err, PAGEDVK_ERR_INVALID, "json schema: no text");
    rc = pv_gram_schema_to_gbnf(text, len, &gbnf, err);
    text = gbnf;
    len = gbnf ? strlen(gbnf) : 0;
  } else if (kind == PAGEDVK_GRAMMAR_JSON_OBJECT) {
    rc = pv_gram_json_object_gbnf(&gbnf, err);
    text = gbnf;
    len = gbnf ? strlen(gbnf) : 0;
  } else if (kind != PAGEDVK_GRAMMAR_GBNF) {
    return pv_fail(err, PAGEDVK_ERR_INVALID, "grammar kind %d is unknown", kind);
  } else if (!text) {
    return pv_fail(err, PAGEDVK_ERR_INVALID, "grammar: no text");
  }
  pv_grammar *g = NULL;
  if (!rc && !(g = calloc(1, sizeof *g))) rc = pv_fail(err, PAGEDVK_ERR_NO_MEMORY, "grammar: out of memory");
  if (!rc) rc = pv_gram_parse(&g->r, text, len, err);
  if (rc && gbnf && rc != PAGEDVK_ERR_NO_MEMORY) {
    /* the generated text failed: a $ref cycle that reads nothing ({"$ref": "#"}) */
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg);
    pv_fail(err, rc, "json schema: it makes no usable grammar (a $ref cycle that reads no character?): %.400s", msg);
  }
  if (!rc) rc = tables_init(g, err);
  free(gbnf);
  if (rc) {
    pv_grammar_destroy(g);
    return rc;
  }
  *out = g;
  return PAGEDVK_OK;
}

pv_gram_stats pv_grammar_stats(const pv_grammar *g) {
  pv_gram_stats s = g->stats;
  s.nodes = g->n_nodes;
  return s;
}

void pv_gram_cache_clear(pv_grammar *g) { cache_clear(g); }
