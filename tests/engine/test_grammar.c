/*
 * Constrained decoding through the engine, on a random-weight model that the built mkmodel writes
 * (the test skips when it is absent):
 *   - 16 requests at once, greedy and sampled, under six different JSON schemas (nested objects,
 *     arrays with counts, enums, anyOf, $ref, formats) plus json_object and a GBNF grammar: every
 *     output ends with "stop", parses as JSON and validates against its schema (a small validator
 *     below, written from the JSON-schema rules, not from the grammar);
 *   - each greedy output equals the same request run alone, and an unconstrained greedy request in
 *     the same batch equals its solo run (a grammar row never changes another row);
 *   - n = 2 samples and beam search (width 2) keep a grammar state per sample / beam: every
 *     sample's and every hypothesis's text validates;
 *   - requests with the same grammar share one compiled grammar and its masks; when they are gone
 *     the engine keeps the compiled grammars, none referenced;
 *   - a bad grammar or schema is refused at add_request with its position, and nothing is queued;
 *   - max_tokens that run out before the grammar completes end with "length" and
 *     grammar_incomplete set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <cmocka.h>

#include "engine/engine_internal.h"
#include "model_check.h"
#include "pagedvk.h"

static char g_model[512];

static int setup(void **state) {
  (void)state;
  if (mc_setup("grammar")) return -1;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  return mc_teardown();
}

static void model(void) {
  if (!g_model[0]) mc_mkmodel("--n-embd 64 --n-layer 1 --n-head 2 --n-ff 128 --ctx 512 --seed 7", "g.gguf", g_model,
                              sizeof g_model);
}

/* ---- a small validator of the schema subset ------------------------------------------------------- */

static const cJSON *resolve(const cJSON *root, const char *ref) {
  if (strcmp(ref, "#") == 0) return root;
  if (strncmp(ref, "#/", 2) != 0) return NULL;
  const cJSON *t = root;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", ref + 2);
  for (char *tok = strtok(buf, "/"); tok && t; tok = strtok(NULL, "/")) t = cJSON_GetObjectItemCaseSensitive(t, tok);
  return t;
}

static size_t code_points(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

static bool type_ok(const cJSON *v, const char *type) {
  if (!strcmp(type, "object")) return cJSON_IsObject(v);
  if (!strcmp(type, "array")) return cJSON_IsArray(v);
  if (!strcmp(type, "string")) return cJSON_IsString(v);
  if (!strcmp(type, "number")) return cJSON_IsNumber(v);
  if (!strcmp(type, "integer")) return cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble;
  if (!strcmp(type, "boolean")) return cJSON_IsBool(v);
  if (!strcmp(type, "null")) return cJSON_IsNull(v);
  return false;
}

static bool date_ok(const char *s) {
  int y, m, d;
  char tail;
  return strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 && m >= 1 && m <= 12 && d >= 1 &&
         d <= 31;
}

static bool valid(const cJSON *v, const cJSON *s, const cJSON *root) {
  if (cJSON_IsTrue(s)) return true;
  const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref");
  if (ref) return valid(v, resolve(root, ref->valuestring), root);
  const cJSON *any = cJSON_GetObjectItemCaseSensitive(s, "anyOf");
  if (!any) any = cJSON_GetObjectItemCaseSensitive(s, "oneOf");
  if (any) {
    const cJSON *alt;
    cJSON_ArrayForEach(alt, any) if (valid(v, alt, root)) return true;
    return false;
  }
  const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enum"), *c = cJSON_GetObjectItemCaseSensitive(s, "const");
  if (c && !cJSON_Compare(v, c, true)) return false;
  if (en) {
    bool found = false;
    const cJSON *x;
    cJSON_ArrayForEach(x, en) found = found || cJSON_Compare(v, x, true);
    if (!found) return false;
  }
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
  if (cJSON_IsString(type) && !type_ok(v, type->valuestring)) return false;
  if (cJSON_IsArray(type)) {
    bool ok = false;
    const cJSON *t;
    cJSON_ArrayForEach(t, type) ok = ok || type_ok(v, t->valuestring);
    if (!ok) return false;
  }
  if (cJSON_IsObject(v)) {
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties"),
                *req = cJSON_GetObjectItemCaseSensitive(s, "required"),
                *add = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
    const cJSON *r;
    cJSON_ArrayForEach(r, req) if (!cJSON_GetObjectItemCaseSensitive(v, r->valuestring)) return false;
    const cJSON *m;
    cJSON_ArrayForEach(m, v) {
      const cJSON *ps = props ? cJSON_GetObjectItemCaseSensitive(props, m->string) : NULL;
      if (ps) {
        if (!valid(m, ps, root)) return false;
      } else if (cJSON_IsFalse(add)) {
        return false;
      } else if (cJSON_IsObject(add) && !valid(m, add, root)) {
        return false;
      }
    }
  }
  if (cJSON_IsArray(v)) {
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items"),
                *lo = cJSON_GetObjectItemCaseSensitive(s, "minItems"), *hi = cJSON_GetObjectItemCaseSensitive(s, "maxItems");
    const int n = cJSON_GetArraySize(v);
    if ((lo && n < lo->valueint) || (hi && n > hi->valueint)) return false;
    const cJSON *x;
    if (items) cJSON_ArrayForEach(x, v) if (!valid(x, items, root)) return false;
  }
  if (cJSON_IsString(v)) {
    const cJSON *lo = cJSON_GetObjectItemCaseSensitive(s, "minLength"), *hi = cJSON_GetObjectItemCaseSensitive(s, "maxLength"),
                *f = cJSON_GetObjectItemCaseSensitive(s, "format");
    const size_t n = code_points(v->valuestring);
    if ((lo && n < (size_t)lo->valueint) || (hi && n > (size_t)hi->valueint)) return false;
    if (f && !strcmp(f->valuestring, "date") && !date_ok(v->valuestring)) return false;
  }
  return true;
}

/* ---- running requests ----------------------------------------------------------------------------- */

#define MAX_SAMPLES 2
#define TEXT_CAP 8192

typedef struct job {
  const char *schema; /* NULL: unconstrained */
  int kind;
  float temperature, top_p;
  uint32_t n, beam, max_tokens, logprobs;
  char text[MAX_SAMPLES][TEXT_CAP];
  size_t len[MAX_SAMPLES];
  pagedvk_finish_reason finish[MAX_SAMPLES];
  int incomplete[MAX_SAMPLES], status[MAX_SAMPLES];
  uint32_t finals;
} job;

static void on_token(const pagedvk_token_event *ev, void *user) {
  job *j = user;
  assert_true(ev->index < MAX_SAMPLES);
  if (ev->text_len && j->len[ev->index] + ev->text_len < TEXT_CAP) {
    memcpy(j->text[ev->index] + j->len[ev->index], ev->text, ev->text_len);
    j->len[ev->index] += ev->text_len;
  }
  if (ev->finish != PAGEDVK_FINISH_NONE) {
    j->finish[ev->index] = ev->finish;
    j->incomplete[ev->index] = ev->grammar_incomplete;
    j->status[ev->index] = ev->status;
    j->finals++;
  }
}

static const int32_t PROMPT[] = {1, 100, 200, 57, 300, 9, 42};

static pagedvk_engine *open_engine(void) {
  pagedvk_engine_options o;
  pagedvk_engine_options_default(&o);
  o.model_path = g_model;
  o.kv_mem = 8u << 20;
  o.max_num_seqs = 32;
  o.max_model_len = 512;
  char err[512];
  pagedvk_engine *e = NULL;
  if (pagedvk_engine_create(&e, &o, err, sizeof err)) fail_msg("engine: %s", err);
  return e;
}

static void add(pagedvk_engine *e, job *j, uint32_t seed) {
  memset(j->text, 0, sizeof j->text);
  memset(j->len, 0, sizeof j->len);
  j->finals = 0;
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  sp.temperature = j->temperature;
  sp.seed = seed;
  sp.has_seed = 1;
  sp.max_tokens = j->max_tokens ? j->max_tokens : 400;
  sp.n = j->n ? j->n : 1;
  sp.beam_width = j->beam ? j->beam : 1;
  if (j->top_p > 0.0f) sp.top_p = j->top_p;
  sp.logprobs = j->logprobs;
  sp.grammar_kind = j->kind;
  sp.grammar = j->schema;
  char err[512];
  if (pagedvk_engine_add_request(e, PROMPT, PV_ARRAY_LEN(PROMPT), &sp, on_token, j, NULL, err, sizeof err))
    fail_msg("add: %s", err);
}

static void run(pagedvk_engine *e) {
  char err[512];
  if (pagedvk_engine_run_until_idle(e, err, sizeof err)) fail_msg("run: %s", err);
}

static void expect_valid(const job *j, uint32_t i) {
  if (j->finish[i] != PAGEDVK_FINISH_STOP || j->status[i] != PAGEDVK_OK)
    fail_msg("schema %s sample %u: finish %d status %d text '%.*s'", j->schema, i, j->finish[i], j->status[i],
             (int)j->len[i], j->text[i]);
  cJSON *v = cJSON_ParseWithLength(j->text[i], j->len[i]);
  if (!v) fail_msg("not JSON: '%.*s'", (int)j->len[i], j->text[i]);
  if (j->kind == PAGEDVK_GRAMMAR_JSON_SCHEMA) {
    cJSON *s = cJSON_Parse(j->schema);
    assert_non_null(s);
    if (!valid(v, s, s)) fail_msg("does not validate against %s: '%.*s'", j->schema, (int)j->len[i], j->text[i]);
    cJSON_Delete(s);
  } else if (j->kind == PAGEDVK_GRAMMAR_JSON_OBJECT) {
    assert_true(cJSON_IsObject(v));
  }
  cJSON_Delete(v);
}

static const char *const SCHEMAS[] = {
  "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":6},\"age\":{\"type\":\"integer\"},"
  "\"addr\":{\"type\":\"object\",\"properties\":{\"zip\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4},"
  "\"ok\":{\"type\":\"boolean\"}},\"required\":[\"zip\",\"ok\"]}},\"required\":[\"name\",\"age\",\"addr\"]}",
  "{\"type\":\"array\",\"items\":{\"type\":\"number\"},\"minItems\":2,\"maxItems\":4}",
  "{\"type\":\"object\",\"properties\":{\"color\":{\"enum\":[\"red\",\"green\",\"blue\",null,7]},"
  "\"size\":{\"const\":\"XL\"}},\"required\":[\"color\",\"size\"],\"additionalProperties\":false}",
  "{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"array\",\"items\":{\"type\":\"boolean\"},\"maxItems\":3},"
  "{\"type\":\"string\",\"maxLength\":3}]}",
  "{\"$defs\":{\"pt\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"},\"y\":{\"type\":\"integer\"}},"
  "\"required\":[\"x\",\"y\"]}},\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/$defs/pt\"},"
  "\"b\":{\"$ref\":\"#/$defs/pt\"},\"when\":{\"type\":\"string\",\"format\":\"date\"}},\"required\":[\"a\",\"b\",\"when\"]}",
  "{\"type\":\"object\",\"properties\":{\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":4},"
  "\"maxItems\":3},\"n\":{\"type\":[\"integer\",\"null\"]}},\"required\":[\"n\"],"
  "\"additionalProperties\":{\"type\":\"boolean\"}}",
};
#define N_SCHEMAS (sizeof SCHEMAS / sizeof SCHEMAS[0])

static const char *const GBNF = "root ::= \"(\" item (\", \" item){0,3} \")\"\nitem ::= [a-z]{1,3} | [0-9]{1,2}";

/* 16 requests at once: each schema greedy and sampled, json_object and a GBNF grammar sampled,
 * one unconstrained greedy request; then each greedy one alone. */
static void test_concurrent_schemas(void **state) {
  (void)state;
  model();
  static job jobs[16];
  memset(jobs, 0, sizeof jobs);
  uint32_t n = 0;
  for (uint32_t s = 0; s < N_SCHEMAS; s++) {
    jobs[n++] = (job){.schema = SCHEMAS[s], .kind = PAGEDVK_GRAMMAR_JSON_SCHEMA, .temperature = 0.0f};
    jobs[n++] = (job){.schema = SCHEMAS[s], .kind = PAGEDVK_GRAMMAR_JSON_SCHEMA, .temperature = 1.0f};
  }
  jobs[n++] = (job){.kind = PAGEDVK_GRAMMAR_JSON_OBJECT, .temperature = 0.9f, .max_tokens = 300};
  jobs[n++] = (job){.schema = GBNF, .kind = PAGEDVK_GRAMMAR_GBNF, .temperature = 1.0f};
  jobs[n++] = (job){.schema = NULL, .kind = PAGEDVK_GRAMMAR_NONE, .temperature = 0.0f, .max_tokens = 24};
  jobs[n++] = (job){.schema = SCHEMAS[0], .kind = PAGEDVK_GRAMMAR_JSON_SCHEMA, .temperature = 1.0f, .n = 2,
                    .top_p = 0.95f};
  assert_int_equal(n, 16);
  jobs[3].top_p = 0.9f; /* a filter: the row is masked before the draw, not after */
  pagedvk_engine *e = open_engine();
  for (uint32_t i = 0; i < n; i++) add(e, &jobs[i], 100 + i);
  run(e);
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t samples = jobs[i].n ? jobs[i].n : 1;
    assert_int_equal(jobs[i].finals, samples);
    if (jobs[i].kind == PAGEDVK_GRAMMAR_NONE) continue;
    if (jobs[i].kind == PAGEDVK_GRAMMAR_GBNF) {
      assert_int_equal(jobs[i].finish[0], PAGEDVK_FINISH_STOP);
      assert_true(jobs[i].text[0][0] == '(' && jobs[i].text[0][jobs[i].len[0] - 1] == ')');
      continue;
    }
    for (uint32_t k = 0; k < samples; k++) {
      fprintf(stderr, "request %2u sample %u: %.*s\n", i, k, (int)jobs[i].len[k], jobs[i].text[k]);
      expect_valid(&jobs[i], k);
    }
  }
  if (jobs[n - 1].len[0] == jobs[n - 1].len[1] && !memcmp(jobs[n - 1].text[0], jobs[n - 1].text[1], jobs[n - 1].len[0]))
    fprintf(stderr, "note: the two samples of the n=2 request are equal\n");
  /* greedy with log-probabilities masks every row before choosing (no first try): the same text */
  for (uint32_t i = 0; i < n; i++) {
    if (jobs[i].temperature != 0.0f || jobs[i].kind == PAGEDVK_GRAMMAR_NONE) continue;
    job masked = jobs[i];
    masked.logprobs = 1;
    add(e, &masked, 100 + i);
    run(e);
    if (masked.len[0] != jobs[i].len[0] || memcmp(masked.text[0], jobs[i].text[0], masked.len[0]))
      fail_msg("request %u: first try '%.*s', masked '%.*s'", i, (int)jobs[i].len[0], jobs[i].text[0],
               (int)masked.len[0], masked.text[0]);
  }
  /* every greedy request alone gives the text it gave in the batch */
  for (uint32_t i = 0; i < n; i++) {
    if (jobs[i].temperature != 0.0f) continue;
    job solo = jobs[i];
    add(e, &solo, 100 + i);
    run(e);
    if (solo.len[0] != jobs[i].len[0] || memcmp(solo.text[0], jobs[i].text[0], solo.len[0]))
      fail_msg("request %u: batch '%.*s' solo '%.*s'", i, (int)jobs[i].len[0], jobs[i].text[0], (int)solo.len[0],
               solo.text[0]);
  }
  /* one compiled grammar per distinct grammar (six schemas, json_object, the GBNF), none in use,
   * and masks served to more than one request */
  uint32_t entries = 0;
  uint64_t cached = 0;
  for (const pv_grammar_ref *g = e->grammars; g; g = g->next) {
    entries++;
    assert_int_equal(g->refs, 0);
    cached += pv_grammar_stats(g->g).masks_cached;
  }
  assert_int_equal(entries, N_SCHEMAS + 2);
  assert_true(cached > 0);
  pagedvk_engine_destroy(e);
}

typedef struct beams {
  char text[4][TEXT_CAP];
  size_t len[4];
  pagedvk_finish_reason finish[4];
  uint32_t n;
} beams;

static void on_beam(const pagedvk_token_event *ev, void *user) {
  beams *b = user;
  if (ev->finish == PAGEDVK_FINISH_NONE || ev->index >= 4) return;
  memcpy(b->text[ev->index], ev->text, ev->text_len < TEXT_CAP ? ev->text_len : TEXT_CAP - 1);
  b->len[ev->index] = ev->text_len;
  b->finish[ev->index] = ev->finish;
  b->n++;
}

static void test_beam_search(void **state) {
  (void)state;
  model();
  pagedvk_engine *e = open_engine();
  beams b;
  memset(&b, 0, sizeof b);
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  sp.beam_width = 3;
  sp.n = 2;
  sp.max_tokens = 200;
  sp.grammar_kind = PAGEDVK_GRAMMAR_JSON_SCHEMA;
  sp.grammar = SCHEMAS[2];
  char err[512];
  if (pagedvk_engine_add_request(e, PROMPT, PV_ARRAY_LEN(PROMPT), &sp, on_beam, &b, NULL, err, sizeof err))
    fail_msg("add: %s", err);
  run(e);
  assert_int_equal(b.n, 2);
  cJSON *s = cJSON_Parse(SCHEMAS[2]);
  for (uint32_t i = 0; i < 2; i++) {
    assert_int_equal(b.finish[i], PAGEDVK_FINISH_STOP);
    cJSON *v = cJSON_ParseWithLength(b.text[i], b.len[i]);
    if (!v || !valid(v, s, s)) fail_msg("beam %u: '%.*s'", i, (int)b.len[i], b.text[i]);
    cJSON_Delete(v);
  }
  cJSON_Delete(s);
  pagedvk_engine_destroy(e);
}

static void test_bad_grammars_and_length(void **state) {
  (void)state;
  model();
  pagedvk_engine *e = open_engine();
  pagedvk_sampling_params sp;
  pagedvk_sampling_params_default(&sp);
  char err[512];
  static const struct { int kind; const char *text, *want; } bad[] = {
    {PAGEDVK_GRAMMAR_GBNF, "root ::= \"a\"\nx ::= (", "grammar:2:8: expected ')' to close the group opened at 2:7"},
    {PAGEDVK_GRAMMAR_GBNF, NULL, "needs the grammar text"},
    {PAGEDVK_GRAMMAR_JSON_SCHEMA, "{\"properties\":{\"a\":{\"type\":\"nope\"}}}", "json schema at /properties/a/type"},
    {PAGEDVK_GRAMMAR_JSON_SCHEMA, "{\"a\":", "json schema:1:6:"},
    {42, "x", "grammar_kind 42 is unknown"},
  };
  for (size_t k = 0; k < PV_ARRAY_LEN(bad); k++) {
    sp.grammar_kind = bad[k].kind;
    sp.grammar = bad[k].text;
    uint64_t id = 77;
    int rc = pagedvk_engine_add_request(e, PROMPT, PV_ARRAY_LEN(PROMPT), &sp, on_token, NULL, &id, err, sizeof err);
    assert_int_equal(rc, PAGEDVK_ERR_INVALID);
    if (!strstr(err, bad[k].want)) fail_msg("'%s' lacks '%s'", err, bad[k].want);
    assert_int_equal(id, 77);
  }
  pagedvk_stats st;
  pagedvk_engine_stats(e, &st);
  assert_int_equal(st.requests_waiting, 0);
  /* the enum's only value is longer than max_tokens allow */
  job j = {.schema = "{\"enum\":[\"a long value that needs many tokens\"]}", .kind = PAGEDVK_GRAMMAR_JSON_SCHEMA,
           .temperature = 0.0f, .max_tokens = 3};
  add(e, &j, 1);
  run(e);
  assert_int_equal(j.finals, 1);
  assert_int_equal(j.finish[0], PAGEDVK_FINISH_LENGTH);
  assert_int_equal(j.incomplete[0], 1);
  assert_int_equal(j.status[0], PAGEDVK_OK);
  /* the same with room: it completes and says stop, not incomplete */
  j.max_tokens = 200;
  add(e, &j, 1);
  run(e);
  assert_int_equal(j.finish[0], PAGEDVK_FINISH_STOP);
  assert_int_equal(j.incomplete[0], 0);
  assert_int_equal((int)j.len[0], (int)strlen("\"a long value that needs many tokens\""));
  pagedvk_engine_destroy(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_concurrent_schemas),
    cmocka_unit_test(test_beam_search),
    cmocka_unit_test(test_bad_grammars_and_length),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
