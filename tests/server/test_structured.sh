#!/usr/bin/env bash
# Structured outputs (docs/GRAMMAR.md, "The server"): response_format json_schema / json_object,
# llama-server's grammar and json_schema fields, on the random-weight test model.
# - structured_check.py basics: sampled answers to eight schemas (nested objects, arrays with
#   minItems / maxItems, enums, const, anyOf / oneOf, $defs / $ref and recursion, string lengths,
#   uuid), 16 at once, each parses and validates (python3-jsonschema, else skip); streamed deltas
#   reassemble; json_object; /v1/completions; the grammar and json_schema fields (greedy answers
#   at once against solo: test_structured_batch.sh);
# - an invalid schema or grammar is a 400 naming the field, with the engine's position; two
#   constraints at once are a 400; a wrong response_format shape is a 400;
# - an answer cut by max_tokens before the schema completes ends with finish_reason "length" and
#   "grammar_incomplete": true (streamed too); every KV block is free afterwards.
set -u
source "$(dirname "$0")/lib.sh"
need_model
need_tools python3
python3 -c 'import jsonschema' 2>/dev/null || { echo "skip: needs python3-jsonschema (tools/deps.sh installs it)"; exit 77; }
start_server --max-num-seqs 16

M='"model":"'$MODEL_NAME'"'
CHAT="$M"',"messages":[{"role":"user","content":"hi"}],"max_tokens":8'

# invalid schema: 400, param response_format, the engine's pointer to the bad keyword
expect_error 400 invalid_value /v1/chat/completions \
  "{$CHAT,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"pattern\":\"^a\"}}}}}}"
[ "$(jq -r .error.param "$TMP/body")" = response_format ] || fail "schema error param: $(cat "$TMP/body")"
jq -r .error.message "$TMP/body" | grep -q '^json schema at /properties/a' || fail "schema error position: $(cat "$TMP/body")"
expect_error 400 invalid_value /v1/chat/completions "{$CHAT,\"json_schema\":{\"type\":\"strin\"}}"
[ "$(jq -r .error.param "$TMP/body")" = json_schema ] || fail "json_schema error param: $(cat "$TMP/body")"
# invalid GBNF: 400, param grammar, line and column
expect_error 400 invalid_value /v1/completions "{$M,\"prompt\":\"hi\",\"max_tokens\":4,\"grammar\":\"root ::= \\\"a\\\"\\nfoo ::= (\"}"
[ "$(jq -r .error.param "$TMP/body")" = grammar ] || fail "grammar error param: $(cat "$TMP/body")"
jq -r .error.message "$TMP/body" | grep -q '^grammar:2:[0-9]*: ' || fail "grammar error position: $(cat "$TMP/body")"
# two constraints, or a malformed response_format
expect_error 400 invalid_value /v1/chat/completions "{$CHAT,\"response_format\":{\"type\":\"json_object\"},\"grammar\":\"root ::= \\\"a\\\"\"}"
[ "$(jq -r .error.param "$TMP/body")" = grammar ] || fail "two constraints param: $(cat "$TMP/body")"
expect_error 400 "" /v1/chat/completions "{$CHAT,\"response_format\":{\"type\":\"yaml\"}}"
[ "$(jq -r .error.param "$TMP/body")" = response_format ] || fail "bad type param: $(cat "$TMP/body")"
expect_error 400 "" /v1/chat/completions "{$CHAT,\"response_format\":{\"type\":\"json_schema\"}}"
expect_error 400 invalid_type /v1/chat/completions "{$CHAT,\"response_format\":\"json\"}"
expect_error 400 invalid_type /v1/chat/completions "{$CHAT,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"strict\":1,\"schema\":{}}}}"
# "text" constrains nothing; strict false constrains all the same
[ "$(post /v1/chat/completions "{$CHAT,\"temperature\":0,\"response_format\":{\"type\":\"text\"}}")" = 200 ] || fail "text: $(cat "$TMP/body")"

# max_tokens before the schema completes: length, and it says so
SCHEMA='{"type":"object","properties":{"name":{"type":"string","minLength":20}},"required":["name"]}'
RF='"response_format":{"type":"json_schema","json_schema":{"name":"n","strict":false,"schema":'$SCHEMA'}}'
[ "$(post /v1/chat/completions "{$M,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":3,\"temperature\":0,$RF}")" = 200 ] ||
  fail "cut schema: $(cat "$TMP/body")"
jq -e '.choices[0].finish_reason == "length" and .choices[0].grammar_incomplete == true' "$TMP/body" >/dev/null ||
  fail "cut schema: $(cat "$TMP/body")"
curl -sN -H 'Content-Type: application/json' \
  -d "{$M,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":3,\"temperature\":0,\"stream\":true,$RF}" \
  "$URL/v1/chat/completions" > "$TMP/cut.sse"
grep '^data: {' "$TMP/cut.sse" | sed 's/^data: //' | jq -se 'map(.choices[0] | select(.finish_reason != null)) |
  length == 1 and .[0].finish_reason == "length" and .[0].grammar_incomplete == true' >/dev/null ||
  fail "cut schema streamed: $(cat "$TMP/cut.sse")"
# a complete answer does not carry it
[ "$(post /v1/chat/completions "{$M,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":100,\"temperature\":0,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"b\",\"schema\":{\"type\":\"boolean\"}}}}")" = 200 ] ||
  fail "boolean schema: $(cat "$TMP/body")"
jq -e '.choices[0].finish_reason == "stop" and (.choices[0] | has("grammar_incomplete") | not) and
  (.choices[0].message.content == "true" or .choices[0].message.content == "false")' "$TMP/body" >/dev/null ||
  fail "boolean schema: $(cat "$TMP/body")"

timeout 300 python3 "$(dirname "$0")/structured_check.py" "$URL" "$MODEL_NAME" basics || fail "structured_check.py basics"
stop_server
echo "server structured: ok"
