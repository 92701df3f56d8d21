#include "oracle.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared_paths.h"

static uint32_t read_ids(const cJSON *arr, int32_t *out, uint32_t cap) {
  uint32_t n = 0;
  const cJSON *v;
  cJSON_ArrayForEach(v, arr) if (n < cap) out[n++] = (int32_t)v->valuedouble;
  return n;
}

bool pv_oracle_load(const char *name, pv_oracle *o) {
  char rel[256], path[1024];
  snprintf(rel, sizeof rel, "oracle/%s.json", name);
  if (!pv_test_shared_path(path, sizeof path, rel)) return false;
  char *text = pv_test_read_file(path, NULL);
  cJSON *root = text ? cJSON_Parse(text) : NULL;
  free(text);
  if (!root) return false;
  memset(o, 0, sizeof *o);
  const cJSON *model = cJSON_GetObjectItem(root, "model");
  bool ok = cJSON_IsString(model) && pv_test_shared_path(o->model_path, sizeof o->model_path, model->valuestring);
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) {
    if (o->n_cases == 16) break;
    pv_oracle_case *k = &o->cases[o->n_cases++];
    snprintf(k->prompt, sizeof k->prompt, "%s", cJSON_GetObjectItem(c, "prompt")->valuestring);
    k->n_prompt = read_ids(cJSON_GetObjectItem(c, "prompt_ids_with_bos"), k->prompt_ids, 256);
    k->n_greedy = read_ids(cJSON_GetObjectItem(c, "greedy_ids"), k->greedy, 256);
    k->compare_n = (uint32_t)cJSON_GetObjectItem(c, "compare_n")->valuedouble;
  }
  cJSON_Delete(root);
  return ok && o->n_cases > 0;
}
