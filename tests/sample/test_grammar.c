/* The grammar engine (runtime/sample/grammar), without a device:
 *   - GBNF parse errors name their line and column (unterminated literal, undefined and
 *     duplicate rules, no root, bad ranges and counts, unknown escapes, left recursion, a root that
 *     can never complete);
 *   - the recognizer accepts exactly the grammar's sentences: alternation, groups, ? * + {m,n},
 *     classes with ranges and negation, UTF-8 code points arriving byte by byte (invalid UTF-8
 *     refused), escapes, comments, empty alternatives;
 *   - JSON schemas: nested objects with required / optional properties, arrays with item counts,
 *     string lengths, enums, const, anyOf, recursive $ref, additionalProperties names that are not
 *     the declared ones, formats, json_object; invalid schemas name the JSON pointer;
 *   - hostile grammars stop at their bounds with a clear error (too many stacks, too many
 *     expansion steps, too many elements, huge counts);
 *   - token masks equal a brute-force check of every token (a small hand-made vocabulary, and the
 *     151,936-token Qwen2 vocabulary when ../shared has it), EOS only where complete, and a state
 *     seen again is served from the cache.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gguf/gguf.h"
#include "sample/grammar/gram_internal.h"
#include "sample/grammar/grammar.h"
#include "shared_paths.h"
#include "text/detok.h"
#include "text/tokenizer.h"

static pv_grammar *compile_ok(int kind, const char *text) {
  pv_grammar *g = NULL;
  pv_error err = {0};
  if (pv_grammar_compile(&g, kind, text, text ? strlen(text) : 0, &err)) fail_msg("compile: %s\n%s", err.msg, text);
  return g;
}

static void expect_error(int kind, const char *text, const char *want) {
  pv_grammar *g = NULL;
  pv_error err = {0};
  int rc = pv_grammar_compile(&g, kind, text, strlen(text), &err);
  if (rc == PAGEDVK_OK) fail_msg("compiled, expected an error with '%s':\n%s", want, text);
  assert_int_equal(rc, PAGEDVK_ERR_INVALID);
  if (!strstr(err.msg, want)) fail_msg("error '%s' does not contain '%s'", err.msg, want);
  assert_null(g);
}

/* 1: complete, 0: a live prefix, -1: rejected. */
static int run_text(pv_grammar *g, const char *text, size_t n) {
  pv_gram_state s = {0};
  pv_error err = {0};
  if (pv_gram_state_init(g, &s, &err)) fail_msg("init: %s", err.msg);
  int rc = pv_gram_accept_bytes(g, &s, text, n, &err);
  int out = rc ? -1 : pv_gram_state_complete(&s) ? 1 : 0;
  if (rc) assert_non_null(strstr(err.msg, "not allowed here"));
  pv_gram_state_free(&s);
  return out;
}

static void expect_text(pv_grammar *g, const char *text, int want) {
  int got = run_text(g, text, strlen(text));
  if (got != want) fail_msg("'%s': got %d, want %d", text, got, want);
}

static void test_parse_errors(void **state) {
  (void)state;
  const int K = PAGEDVK_GRAMMAR_GBNF;
  expect_error(K, "root ::= \"abc", "grammar:1:10: unterminated string literal");
  expect_error(K, "root ::= foo", "grammar:1:10: undefined rule 'foo'");
  expect_error(K, "a ::= \"x\"", "no rule named 'root'");
  expect_error(K, "root ::= [z-a]", "grammar:1:13: range end");
  expect_error(K, "root ::= ( \"a\" ", "expected ')' to close the group opened at 1:10");
  expect_error(K, "root ::= \"a\"\nroot ::= \"b\"", "grammar:2:1: rule 'root' is defined twice");
  expect_error(K, "root ::= \"a\"{3,2}", "the maximum is below the minimum");
  expect_error(K, "root ::= \"\\q\"", "unknown escape");
  expect_error(K, "root ::= a\n\na ::= \"x\" @", "grammar:3:11: unexpected character '@'");
  expect_error(K, "root ::= root \"a\" | \"b\"", "rule 'root' is left-recursive");
  expect_error(K, "root ::= a \"x\"\na ::= b? root\nb ::= \"y\"", "left-recursive");
  expect_error(K, "root ::= \"a\" root", "can never complete");
  expect_error(K, "root ::= \"a\"{0,100001}", "repetition count past");
  expect_error(K, "root ::= []", "empty character class");
  expect_error(K, "root ::= \"a\" ::=", "grammar:1:14: unexpected character ':'");
  expect_error(K, "root ::= \"\xC3\"", "invalid UTF-8");
  expect_error(99, "root ::= \"a\"", "grammar kind 99 is unknown");
}

static void test_recognizer(void **state) {
  (void)state;
  const int K = PAGEDVK_GRAMMAR_GBNF;
  pv_grammar *g = compile_ok(K, "root ::= \"ab\" | \"cd\"");
  expect_text(g, "ab", 1);
  expect_text(g, "cd", 1);
  expect_text(g, "a", 0);
  expect_text(g, "ac", -1);
  expect_text(g, "abc", -1);
  pv_grammar_destroy(g);

  g = compile_ok(K, "root ::= [0-9]{2,3}");
  expect_text(g, "1", 0);
  expect_text(g, "12", 1);
  expect_text(g, "123", 1);
  expect_text(g, "1234", -1);
  expect_text(g, "1a", -1);
  pv_grammar_destroy(g);

  g = compile_ok(K, "root ::= (\"ab\")+ \"c\" x? y*\nx ::= \"x\"\ny ::= [yz]");
  expect_text(g, "abc", 1);
  expect_text(g, "ababcxyzy", 1);
  expect_text(g, "c", -1);
  expect_text(g, "abcxx", -1);
  pv_grammar_destroy(g);

  g = compile_ok(K, "root ::= [^a]*");
  expect_text(g, "b\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 1); /* bé€😀 */
  expect_text(g, "ba", -1);
  expect_text(g, "\xc0\x80", -1);     /* overlong */
  expect_text(g, "\xed\xa0\x80", -1); /* a surrogate */
  expect_text(g, "\xf4\x90\x80\x80", -1); /* past U+10FFFF */
  expect_text(g, "\xe2\x82", 0);      /* an unfinished code point is a live prefix, not complete */
  pv_grammar_destroy(g);

  g = compile_ok(K, "root ::= [\xce\xb1-\xcf\x89]+"); /* α-ω */
  expect_text(g, "\xce\xb1\xce\xb2", 1);
  expect_text(g, "\xce", 0);
  expect_text(g, "\xc3\xa9", -1); /* é: its first byte already leads outside α-ω */
  expect_text(g, "a", -1);
  pv_grammar_destroy(g);

  g = compile_ok(K, "# a comment\nroot ::= a # another\n   | b\na ::= \"x\"\nb ::= \"y\" . \"\\x41\\u00e9\\n\"");
  expect_text(g, "x", 1);
  expect_text(g, "y\xe2\x82\xac" "A\xc3\xa9\n", 1);
  expect_text(g, "yzA\xc3\xa9", 0);
  pv_grammar_destroy(g);

  g = compile_ok(K, "root ::= [^]+"); /* an empty negated class: any code point (the grammar has no ranges) */
  expect_text(g, "a\xc3\xa9", 1);
  expect_text(g, "", 0);
  pv_grammar_destroy(g);

  g = compile_ok(K, "root ::= \"a\" | ");
  expect_text(g, "", 1);
  expect_text(g, "a", 1);
  pv_grammar_destroy(g);

  g = compile_ok(K, "root ::= (\"ab\" | \"a\"){0,2} \"b\"");
  expect_text(g, "b", 1);
  expect_text(g, "abb", 1);
  expect_text(g, "aab", 1);
  expect_text(g, "ababab", -1);
  pv_grammar_destroy(g);
}

static void test_state_copy(void **state) {
  (void)state;
  pv_grammar *g = compile_ok(PAGEDVK_GRAMMAR_GBNF, "root ::= \"a\"+ \"b\"");
  pv_gram_state s = {0}, t = {0};
  pv_error err = {0};
  assert_int_equal(pv_gram_state_init(g, &s, &err), 0);
  assert_int_equal(pv_gram_accept_bytes(g, &s, "aa", 2, &err), 0);
  assert_int_equal(pv_gram_state_copy(&t, &s, &err), 0);
  assert_int_equal(pv_gram_accept_bytes(g, &t, "b", 1, &err), 0);
  assert_true(pv_gram_state_final(&t));
  assert_false(pv_gram_state_complete(&s)); /* the copy moved alone */
  assert_int_equal(pv_gram_accept_bytes(g, &s, "x", 1, &err), PAGEDVK_ERR_INVALID);
  assert_int_equal(pv_gram_accept_bytes(g, &s, "ab", 2, &err), 0); /* a rejected byte changed nothing */
  assert_true(pv_gram_state_final(&s));
  pv_gram_state_free(&s);
  pv_gram_state_free(&t);
  pv_grammar_destroy(g);
}

static const char *const NESTED =
  "{\"type\": \"object\", \"properties\": {"
  "  \"name\": {\"type\": \"string\", \"maxLength\": 5},"
  "  \"age\": {\"type\": \"integer\"},"
  "  \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}, \"minItems\": 1, \"maxItems\": 2},"
  "  \"addr\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"minLength\": 1}},"
  "            \"required\": [\"city\"]},"
  "  \"ok\": {\"type\": [\"boolean\", \"null\"]}},"
  " \"required\": [\"name\", \"age\"]}";

static void test_schema_objects(void **state) {
  (void)state;
  const int K = PAGEDVK_GRAMMAR_JSON_SCHEMA;
  pv_grammar *g = compile_ok(K, NESTED);
  expect_text(g, "{\"name\":\"bob\",\"age\":3}", 1);
  expect_text(g, "{ \"name\": \"bob\", \"age\": -12, \"tags\": [\"x\"], \"addr\": {\"city\": \"c\"} }", 1);
  expect_text(g, "{\"name\":\"b\\\"\\u00e9\",\"age\":0,\"ok\":null}", 1);
  expect_text(g, "{\"name\":\"a\",\"age\":1,\"ok\":true}", 1);
  expect_text(g, "{\"age\":3}", -1);                           /* name is required */
  expect_text(g, "{\"name\":\"toolong\",\"age\":1}", -1);       /* maxLength 5 */
  expect_text(g, "{\"name\":\"a\",\"age\":1.5}", -1);           /* integer */
  expect_text(g, "{\"name\":\"a\",\"age\":01}", -1);            /* no leading zero */
  expect_text(g, "{\"name\":\"a\",\"age\":1,\"tags\":[]}", -1); /* minItems 1 */
  expect_text(g, "{\"name\":\"a\",\"age\":1,\"tags\":[\"a\",\"b\",\"c\"]}", -1); /* maxItems 2 */
  expect_text(g, "{\"name\":\"a\",\"age\":1,\"zzz\":1}", -1);   /* no additional properties */
  expect_text(g, "{\"name\":\"a\",\"age\":1,\"addr\":{}}", -1); /* city is required */
  expect_text(g, "{\"name\":\"a\",\"age\":1,\"addr\":{\"city\":\"\"}}", -1); /* minLength 1 */
  expect_text(g, "{\"name\":\"\\ud800\",\"age\":1}", -1);       /* a lone surrogate escape */
  expect_text(g, "{\"name\":\"a\x01\",\"age\":1}", -1);         /* a raw control character */
  expect_text(g, "{\"name\":\"a\",\"age\":1", 0);
  pv_grammar_destroy(g);

  g = compile_ok(K, "{\"properties\": {\"a\": {\"type\": \"integer\"}}, \"additionalProperties\": true}");
  expect_text(g, "{}", 1);
  expect_text(g, "{\"a\":1,\"b\":[true]}", 1);
  expect_text(g, "{\"a\":1,\"ab\":2,\"\":3}", 1);
  expect_text(g, "{\"b\":1}", 1);
  expect_text(g, "{\"a\":1,\"a\":2}", -1); /* an additional name is never a declared one */
  expect_text(g, "{\"a\":\"x\"}", -1);
  pv_grammar_destroy(g);

  g = compile_ok(K, "{\"type\": \"object\", \"additionalProperties\": {\"type\": \"integer\"}}");
  expect_text(g, "{\"x\":1,\"y\":2}", 1);
  expect_text(g, "{\"x\":\"s\"}", -1);
  pv_grammar_destroy(g);
}

static void test_schema_values(void **state) {
  (void)state;
  const int K = PAGEDVK_GRAMMAR_JSON_SCHEMA;
  pv_grammar *g = compile_ok(K, "{\"enum\": [\"red\", \"gr\\u00e9en\", 1, null, [1, {\"a\": 2}]]}");
  expect_text(g, "\"red\"", 1);
  expect_text(g, "\"gr\xc3\xa9" "en\"", 1);
  expect_text(g, "1", 1);
  expect_text(g, "null", 1);
  expect_text(g, "[1,{\"a\":2}]", 1);
  expect_text(g, "\"blue\"", -1);
  expect_text(g, "2", -1);
  pv_grammar_destroy(g);

  g = compile_ok(K, "{\"anyOf\": [{\"type\": \"integer\"}, {\"type\": \"string\", \"maxLength\": 2}]}");
  expect_text(g, "12", 1);
  expect_text(g, "\"ab\"", 1);
  expect_text(g, "\"abc\"", -1);
  expect_text(g, "true", -1);
  pv_grammar_destroy(g);

  g = compile_ok(K, "{\"$defs\": {\"node\": {\"type\": \"object\", \"properties\": {\"v\": {\"type\": \"integer\"},"
                    " \"next\": {\"oneOf\": [{\"$ref\": \"#/$defs/node\"}, {\"type\": \"null\"}]}},"
                    " \"required\": [\"v\", \"next\"]}}, \"$ref\": \"#/$defs/node\"}");
  expect_text(g, "{\"v\":1,\"next\":{\"v\":2,\"next\":{\"v\":3,\"next\":null}}}", 1);
  expect_text(g, "{\"v\":1,\"next\":{\"v\":2}}", -1);
  pv_grammar_destroy(g);

  g = compile_ok(K, "{\"const\": {\"x\": [1, 2.50]}}");
  expect_text(g, "{\"x\":[1,2.50]}", 1);
  expect_text(g, "{\"x\":[1,2.5]}", -1);
  pv_grammar_destroy(g);

  g = compile_ok(K, "{\"type\": \"array\", \"items\": {\"type\": \"string\", \"format\": \"date\"}, \"maxItems\": 0}");
  expect_text(g, "[]", 1);
  expect_text(g, "[\"2024-01-31\"]", -1);
  pv_grammar_destroy(g);

  g = compile_ok(K, "{\"type\": \"array\", \"items\": {\"type\": \"string\", \"format\": \"date-time\"}}");
  expect_text(g, "[\"2024-01-31T23:59:59Z\", \"1999-12-01T00:00:00.5+02:00\"]", 1);
  expect_text(g, "[\"2024-13-01T00:00:00Z\"]", -1);
  pv_grammar_destroy(g);

  g = compile_ok(K, "{\"type\": \"number\"}");
  expect_text(g, "-0.5e+10", 1);
  expect_text(g, "1.", 0);
  expect_text(g, "+1", -1);
  pv_grammar_destroy(g);

  g = compile_ok(PAGEDVK_GRAMMAR_JSON_OBJECT, NULL);
  expect_text(g, "{}", 1);
  expect_text(g, "{\"a\": [1, {\"b\": null}, \"s\", -2.5E3], \"c\": false}", 1);
  expect_text(g, "[1]", -1);
  expect_text(g, "{\"a\" 1}", -1);
  pv_grammar_destroy(g);

  g = compile_ok(K, "true");
  expect_text(g, "[\"any\", {\"json\": 1}]", 1);
  pv_grammar_destroy(g);
}

static void test_schema_errors(void **state) {
  (void)state;
  const int K = PAGEDVK_GRAMMAR_JSON_SCHEMA;
  expect_error(K, "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"strin\"}}}",
               "json schema at /properties/a/type: unknown type 'strin'");
  expect_error(K, "{\"properties\":{\"a/b\":{\"pattern\":\"x\"}}}", "json schema at /properties/a~1b/pattern: 'pattern' is not supported");
  expect_error(K, "{\"$ref\":\"#/$defs/missing\"}", "json schema at /$ref: '#/$defs/missing' points at nothing");
  expect_error(K, "{\"$ref\":\"http://x/y.json\"}", "only local references");
  expect_error(K, "{\"items\":{\"minItems\":-1}}", "json schema at /items/minItems: minItems must be an integer");
  expect_error(K, "{\"anyOf\":[{\"type\":\"integer\"},{\"maxLength\":1e9}]}", "/anyOf/1/maxLength");
  expect_error(K, "{\"type\": }", "json schema:1:10:");
  expect_error(K, "{\"a\": \"\\ud800\"}", "lone surrogate");
  expect_error(K, "false", "matches nothing");
  expect_error(K, "{\"type\":\"string\",\"minLength\":5,\"maxLength\":2}", "maxLength 2 is below minLength 5");
  expect_error(K, "{\"$ref\":\"#\"}", "$ref cycle");
  expect_error(K, "{\"allOf\":[{}]}", "json schema at /allOf: 'allOf' is not supported");
  expect_error(K, "{\"required\":[1]}", "json schema at /required/0: a required name must be a string");
  char deep[600] = {0};
  for (int i = 0; i < 200; i++) strcat(deep, "[");
  expect_error(K, deep, "nested too deeply");
}

/* Bounds: each of these would hang or grow without end without them, and must fail fast. */
static void test_hostile(void **state) {
  (void)state;
  pv_error err = {0};
  /* every split point between two repetitions is a distinct stack */
  pv_grammar *g = compile_ok(PAGEDVK_GRAMMAR_GBNF, "root ::= \"a\"{0,1500} \"a\"{0,1500}");
  char *as = malloc(1200);
  memset(as, 'a', 1200);
  pv_gram_state s = {0};
  assert_int_equal(pv_gram_state_init(g, &s, &err), 0);
  assert_int_equal(pv_gram_accept_bytes(g, &s, as, 1200, &err), PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(err.msg, "parse stacks at once"));
  free(as);
  pv_gram_state_free(&s);
  pv_grammar_destroy(g);

  /* 70000 empty rules in a row before the first character */
  size_t n = 70000;
  char *text = malloc(n * 2 + 64);
  strcpy(text, "e ::= \"\"\nroot ::=");
  size_t len = strlen(text);
  for (size_t i = 0; i < n; i++) text[len++] = ' ', text[len++] = 'e';
  strcpy(text + len, " \"x\"");
  g = compile_ok(PAGEDVK_GRAMMAR_GBNF, text);
  assert_int_equal(pv_gram_state_init(g, &s, &err), PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(err.msg, "expansion steps"));
  pv_gram_state_free(&s);
  pv_grammar_destroy(g);
  free(text);

  /* a million elements */
  expect_error(PAGEDVK_GRAMMAR_GBNF, "root ::= [a]{100000} [a]{100000} [a]{100000} [a]{100000} [a]{100000} "
               "[a]{100000} [a]{100000} [a]{100000} [a]{100000} [a]{100000} [a]{100000}", "too large");
  /* text past the limit */
  char *big = malloc(PV_GRAM_MAX_TEXT + 16);
  memset(big, ' ', PV_GRAM_MAX_TEXT + 15);
  big[PV_GRAM_MAX_TEXT + 15] = 0;
  expect_error(PAGEDVK_GRAMMAR_GBNF, big, "longer than");
  expect_error(PAGEDVK_GRAMMAR_JSON_SCHEMA, big, "longer than");
  free(big);
}

/* ---- masks ---------------------------------------------------------------------------------------- */

static void check_mask_brute(pv_grammar *g, const pv_gram_vocab *v, const pv_tokenizer *tok, const pv_gram_state *s,
                             uint32_t *n_allowed_out) {
  const uint64_t *mask;
  uint32_t n_allowed;
  pv_error err = {0};
  if (pv_gram_mask(g, v, s, &mask, &n_allowed, &err)) fail_msg("mask: %s", err.msg);
  const uint32_t nodes_before = (uint32_t)pv_grammar_stats(g).nodes;
  uint32_t count = 0;
  char buf[1024];
  pv_gram_state t = {0};
  for (uint32_t id = 0; id < tok->n_vocab; id++) {
    size_t len = pv_token_bytes(tok, (int32_t)id, false, buf, sizeof buf);
    bool ok;
    if (pv_tokenizer_is_eog(tok, (int32_t)id)) {
      ok = pv_gram_state_complete(s);
    } else {
      assert_int_equal(pv_gram_state_copy(&t, s, &err), 0);
      ok = len > 0 && len <= sizeof buf && pv_gram_accept_bytes(g, &t, buf, len, &err) == 0;
    }
    const bool bit = mask[id / 64] >> (id % 64) & 1;
    if (ok != bit) fail_msg("token %u ('%.*s'): brute force %d, mask %d", id, (int)len, buf, ok, bit);
    count += ok;
  }
  assert_int_equal(count, n_allowed);
  assert_true(pv_grammar_stats(g).nodes >= nodes_before);
  pv_gram_state_free(&t);
  if (n_allowed_out) *n_allowed_out = n_allowed;
}

static void small_vocab(pv_tokenizer *tok) {
  static const char *const P[] = {"<unk>", "<s>", "</s>", "{", "}", "\"", "a", "ab", "\"a", "1", "12", "\xe2\x96\x81",
                                  "<0xC3>", "<0xA9>", "\xc3\xa9", "{\"", "\"}", "b", ":", ",", "\xe2\x96\x81\"", "x"};
  enum { N = sizeof P / sizeof P[0] };
  pv_gguf_str pieces[N];
  int32_t types[N];
  for (uint32_t i = 0; i < N; i++) {
    pieces[i] = (pv_gguf_str){(char *)P[i], strlen(P[i])};
    types[i] = i == 0 ? PV_TOKEN_UNKNOWN : i < 3 ? PV_TOKEN_CONTROL : i == 12 || i == 13 ? PV_TOKEN_BYTE : PV_TOKEN_NORMAL;
  }
  pv_vocab_desc d = {.model = "llama", .n_vocab = N, .pieces = pieces, .types = types, .bos = 1, .eos = 2,
                     .eot = -1, .unk = 0, .pad = -1, .add_bos = -1, .add_eos = -1, .add_space_prefix = -1};
  pv_error err = {0};
  if (pv_tokenizer_build(tok, &d, &err)) fail_msg("build: %s", err.msg);
}

static bool allowed(const uint64_t *mask, int32_t id) { return mask[id / 64] >> (id % 64) & 1; }

static void test_masks_small(void **state) {
  (void)state;
  pv_tokenizer tok;
  small_vocab(&tok);
  pv_gram_vocab *v = NULL;
  pv_error err = {0};
  assert_int_equal(pv_gram_vocab_create(&v, &tok, &err), 0);
  pv_grammar *g = compile_ok(PAGEDVK_GRAMMAR_GBNF, "root ::= \"{\" \"\\\"\" [a-b\xc3\xa9]* \"\\\"\" \"}\"");
  pv_gram_state s = {0};
  assert_int_equal(pv_gram_state_init(g, &s, &err), 0);
  const uint64_t *mask;
  uint32_t n;
  assert_int_equal(pv_gram_mask(g, v, &s, &mask, &n, &err), 0);
  assert_int_equal(n, 2); /* "{" and "{\"" */
  assert_true(allowed(mask, 3) && allowed(mask, 15));
  assert_false(allowed(mask, 2)); /* EOS: not complete */
  check_mask_brute(g, v, &tok, &s, NULL);
  assert_int_equal(pv_gram_accept_token(g, v, &s, 15, &err), 0);
  check_mask_brute(g, v, &tok, &s, NULL);
  assert_int_equal(pv_gram_mask(g, v, &s, &mask, &n, &err), 0);
  assert_true(allowed(mask, 6) && allowed(mask, 7) && allowed(mask, 5) && allowed(mask, 16) && allowed(mask, 12) &&
              allowed(mask, 14));
  assert_false(allowed(mask, 8)); /* "\"a": after the closing quote comes "}" */
  assert_false(allowed(mask, 13)); /* a lone continuation byte */
  /* the byte token <0xC3> leaves half a code point: only its continuation <0xA9> may follow */
  assert_int_equal(pv_gram_accept_token(g, v, &s, 12, &err), 0);
  assert_int_equal(pv_gram_mask(g, v, &s, &mask, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_true(allowed(mask, 13));
  assert_int_equal(pv_gram_accept_token(g, v, &s, 13, &err), 0);
  /* back in the string: the same state as after "{\"", served from the cache */
  const pv_gram_stats before = pv_grammar_stats(g);
  assert_int_equal(pv_gram_accept_token(g, v, &s, 7, &err), 0);
  assert_int_equal(pv_gram_mask(g, v, &s, &mask, &n, &err), 0);
  assert_int_equal(pv_grammar_stats(g).masks_cached, before.masks_cached + 1);
  assert_int_equal(pv_grammar_stats(g).masks_computed, before.masks_computed);
  assert_int_equal(pv_gram_accept_token(g, v, &s, 2, &err), PAGEDVK_ERR_INVALID); /* EOS too early */
  assert_int_equal(pv_gram_accept_token(g, v, &s, 16, &err), 0);
  assert_true(pv_gram_state_final(&s));
  assert_int_equal(pv_gram_mask(g, v, &s, &mask, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_true(allowed(mask, 2)); /* only EOS */
  assert_int_equal(pv_gram_accept_token(g, v, &s, 2, &err), 0);
  /* applying: every disallowed row entry is -inf, the rest untouched, padding rows too */
  float logits[32];
  for (int i = 0; i < 32; i++) logits[i] = (float)i;
  pv_gram_state s0 = {0};
  assert_int_equal(pv_gram_state_init(g, &s0, &err), 0);
  assert_int_equal(pv_gram_apply(g, v, &s0, logits, 32, &err), 0);
  for (int i = 0; i < 32; i++) assert_true((i == 3 || i == 15) ? logits[i] == (float)i : logits[i] < -1e30f);
  pv_gram_state_free(&s0);
  pv_gram_state_free(&s);
  pv_grammar_destroy(g);

  /* a grammar no token can continue: a clear error when applied */
  g = compile_ok(PAGEDVK_GRAMMAR_GBNF, "root ::= \"q\"");
  assert_int_equal(pv_gram_state_init(g, &s, &err), 0);
  assert_int_equal(pv_gram_apply(g, v, &s, logits, 32, &err), PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(err.msg, "no token of the vocabulary can continue"));
  pv_gram_state_free(&s);
  pv_grammar_destroy(g);
  pv_gram_vocab_destroy(v);
  pv_tokenizer_free(&tok);
}

/* The 151,936-token Qwen2 vocabulary: masks equal brute force in the states a schema's output
 * passes through. */
static void test_masks_qwen2(void **state) {
  (void)state;
  char path[512];
  if (!pv_test_shared_path(path, sizeof path, "vocab/ggml-vocab-qwen2.gguf")) skip();
  pv_gguf_file *f = NULL;
  pv_tokenizer tok;
  pv_error err = {0};
  if (pv_gguf_open(&f, path, &err) || pv_tokenizer_load(&tok, f, &err)) fail_msg("%s", err.msg);
  pv_gram_vocab *v = NULL;
  assert_int_equal(pv_gram_vocab_create(&v, &tok, &err), 0);
  assert_int_equal(pv_gram_vocab_size(v), tok.n_vocab);
  pv_grammar *g = compile_ok(PAGEDVK_GRAMMAR_JSON_SCHEMA, NESTED);
  pv_gram_state s = {0};
  assert_int_equal(pv_gram_state_init(g, &s, &err), 0);
#ifdef PV_TEST_EMULATED
  static const char *const steps[] = {"{\"name\": \"b"};
#else
  static const char *const steps[] = {"{\"name\": \"b", "ob\", \"age\": 1", "2, \"tags\": [", "\"x\"]}"};
#endif
  uint32_t n = 0;
  check_mask_brute(g, v, &tok, &s, &n);
  for (size_t k = 0; k < PV_ARRAY_LEN(steps); k++) {
    assert_int_equal(pv_gram_accept_bytes(g, &s, steps[k], strlen(steps[k]), &err), 0);
    check_mask_brute(g, v, &tok, &s, &n);
    assert_true(n > 0);
  }
  pv_gram_state_free(&s);
  pv_grammar_destroy(g);
  pv_gram_vocab_destroy(v);
  pv_tokenizer_free(&tok);
  pv_gguf_close(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_errors),   cmocka_unit_test(test_recognizer),   cmocka_unit_test(test_state_copy),
    cmocka_unit_test(test_schema_objects), cmocka_unit_test(test_schema_values), cmocka_unit_test(test_schema_errors),
    cmocka_unit_test(test_hostile),        cmocka_unit_test(test_masks_small),  cmocka_unit_test(test_masks_qwen2),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
