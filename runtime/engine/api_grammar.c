/*
 * api_grammar.c — the public grammar helper of include/pagedvk.h: a JSON schema's GBNF text with
 * its rule names prefixed (sample/grammar's pv_gram_schema_gbnf), for callers that build grammars
 * embedding schemas (the server's forced tool calls). Argument checks and pv_error → `char *err`.
 */
#include <stdio.h>

#include "base/base.h"
#include "sample/grammar/grammar.h"

int pagedvk_json_schema_to_gbnf(const char *schema, size_t len, const char *prefix, char **gbnf, size_t *gbnf_len,
                                char *err, size_t err_size) {
  pv_error e = {0};
  if (!schema || !gbnf) {
    if (err && err_size) snprintf(err, err_size, "pagedvk_json_schema_to_gbnf: NULL argument");
    return PAGEDVK_ERR_INVALID;
  }
  int rc = pv_gram_schema_gbnf(schema, len, prefix, gbnf, gbnf_len, &e);
  if (rc) pv_error_copy(&e, err, err_size);
  return rc;
}
