#!/usr/bin/env bash
# Tool calls end to end (issue 22): a random-weight test model (tiny-llama-f16: the fastest of the
# fixture's, so 16 requests solo and at once stay short) served with a small Hermes-style
# chat template (tests/server/tools_hermes.jinja: calls as <tool_call>{...}</tool_call>), answers
# checked by tool_calls.py (python3-jsonschema validates the arguments; skips without it):
# - tool_choice "required" and a named function: every answer is message.tool_calls (content null,
#   finish_reason "tool_calls", "call_..." ids) whose arguments validate against the called
#   function's parameters (nested objects, arrays, enums, anyOf, $ref, const); one call with
#   parallel_tool_calls false, the named function only;
# - 16 such requests at once, each with its own tools: each greedy answer equals its solo run;
# - streaming: the deltas assemble (as OpenAI clients assemble them) to the non-streamed message;
# - tool_choice "none": no parsing, plain content; a chat carrying an assistant's tool_calls and
#   the tool's answer goes back through the template;
# - bad input → 400 naming the field: tools not an array of function tools, parameters not an
#   object schema, tool_choice naming no tool, "required" without tools, a forced schema with an
#   unsupported keyword (the error gives the keyword's JSON pointer), which "auto" (no grammar)
#   accepts.
set -u
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
MODEL=$MODELS/tiny-llama-f16.gguf
MODEL_NAME=tiny-llama-f16
need_model
need_tools python3
python3 -c 'import jsonschema' 2>/dev/null || { echo "skip: needs python3-jsonschema (tools/deps.sh installs it)"; exit 77; }
chat_template_opts() { echo --chat-template-file "$HERE/tools_hermes.jinja"; }
PY="python3 $HERE/tool_calls.py"
N=16

start_server
$PY make "$TMP" $N $MODEL_NAME || fail "tool_calls.py make"

# solo runs, checked (one python3 for all: its start is slow on a busy machine)
solo=() conc=() pairs=()
for k in $(seq 0 $((N - 1))); do
  [ "$(curl -s -o "$TMP/solo-$k.json" -w '%{http_code}' -H 'Content-Type: application/json' -d @"$TMP/req-$k.json" \
    "$URL/v1/chat/completions")" = 200 ] || fail "request $k: $(cat "$TMP/solo-$k.json")"
  solo+=("$TMP/req-$k.json" "$TMP/solo-$k.json")
  conc+=("$TMP/req-$k.json" "$TMP/conc-$k.json")
  pairs+=("$TMP/solo-$k.json" "$TMP/conc-$k.json")
done
$PY check "${solo[@]}" || fail "solo answers"

# all at once: each equals its solo run
pids=()
for k in $(seq 0 $((N - 1))); do
  curl -s -o "$TMP/conc-$k.json" -H 'Content-Type: application/json' -d @"$TMP/req-$k.json" "$URL/v1/chat/completions" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent request failed"; done
$PY check "${conc[@]}" || fail "concurrent answers"
$PY same "${pairs[@]}" || fail "a concurrent answer differs from its solo run"

# streaming reassembles to the non-streamed message (a named call and a parallel-allowed one)
for k in 1 3; do
  jq '.stream = true' "$TMP/req-$k.json" > "$TMP/sreq-$k.json"
  curl -sN -H 'Content-Type: application/json' -d @"$TMP/sreq-$k.json" "$URL/v1/chat/completions" > "$TMP/sse-$k" ||
    fail "stream $k"
  tail -n 2 "$TMP/sse-$k" | grep -q '^data: \[DONE\]' || fail "stream $k did not end with [DONE]"
  grep -q '"tool_calls":\[{"index":0,"id":"call_[A-Za-z0-9]*","type":"function","function":{"name":"[a-z_0-9]*","arguments":""}}\]' \
    "$TMP/sse-$k" || fail "stream $k: no first tool-call delta with id, type, name and empty arguments"
  $PY assemble "$TMP/sse-$k" > "$TMP/asm-$k.json" || fail "assemble $k"
done
$PY check "$TMP/req-1.json" "$TMP/asm-1.json" "$TMP/req-3.json" "$TMP/asm-3.json" || fail "streams"
$PY same "$TMP/solo-1.json" "$TMP/asm-1.json" "$TMP/solo-3.json" "$TMP/asm-3.json" ||
  fail "a stream differs from the non-streamed message"

# a forced call after a prompt that opened a thinking block (open_think, as DeepSeek-R1's
# generation prompt): the call is a tool call, not reasoning
jq '.chat_template_kwargs = {"open_think": true}' "$TMP/req-1.json" > "$TMP/think.json"
[ "$(post /v1/chat/completions "$(cat "$TMP/think.json")")" = 200 ] || fail "forced call after <think>: $(cat "$TMP/body")"
jq -e '.choices[0].message | (.tool_calls | length >= 1) and ((.reasoning_content // "") == "")' "$TMP/body" >/dev/null ||
  fail "forced call after an opened <think>: not a tool call: $(cat "$TMP/body")"

# tool_choice none: plain content, no calls
jq '.tool_choice = "none" | .max_tokens = 8' "$TMP/req-0.json" > "$TMP/none.json"
[ "$(post /v1/chat/completions "$(cat "$TMP/none.json")")" = 200 ] || fail "tool_choice none: $(cat "$TMP/body")"
jq -e '.choices[0].message | (.content | type == "string") and (has("tool_calls") | not)' "$TMP/body" >/dev/null ||
  fail "tool_choice none: $(cat "$TMP/body")"
# the answer's calls and the tool's result go back through the template
call=$(jq -c '.choices[0].message' "$TMP/solo-0.json")
id=$(jq -r '.choices[0].message.tool_calls[0].id' "$TMP/solo-0.json")
jq --argjson m "$call" --arg id "$id" '.messages += [$m, {"role": "tool", "tool_call_id": $id, "content": "{\"t\": 21}"}]
  | .tool_choice = "auto" | .max_tokens = 4' "$TMP/req-0.json" > "$TMP/next.json"
[ "$(post /v1/chat/completions "$(cat "$TMP/next.json")")" = 200 ] || fail "tool result turn: $(cat "$TMP/body")"

# bad input
BASE='"model":"tiny-llama-f16","messages":[{"role":"user","content":"hi"}],"max_tokens":4'
F='{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}}'
param() { [ "$(jq -r .error.param "$TMP/body")" = "$1" ] || fail "param $(jq -r .error.param "$TMP/body"), want $1: $(cat "$TMP/body")"; }
expect_error 400 "" /v1/chat/completions "{$BASE,\"tools\":{\"a\":1}}"; param tools
expect_error 400 "" /v1/chat/completions "{$BASE,\"tools\":[{\"type\":\"retrieval\"}]}"; param 'tools[0]'
expect_error 400 "" /v1/chat/completions "{$BASE,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a b\"}}]}"
param 'tools[0].function.name'
expect_error 400 "" /v1/chat/completions "{$BASE,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":[1]}}]}"
param 'tools[0].function.parameters'
expect_error 400 "" /v1/chat/completions \
  "{$BASE,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"string\"}}}]}"
param 'tools[0].function.parameters'
expect_error 400 "" /v1/chat/completions "{$BASE,\"tools\":[$F],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"g\"}}}"
param tool_choice
expect_error 400 "" /v1/chat/completions "{$BASE,\"tool_choice\":\"required\"}"; param tool_choice
expect_error 400 "" /v1/chat/completions "{$BASE,\"tools\":[$F],\"tool_choice\":\"sometimes\"}"; param tool_choice
expect_error 400 "" /v1/chat/completions "{$BASE,\"tools\":[$F],\"parallel_tool_calls\":1}"; param parallel_tool_calls
P='{"type":"function","function":{"name":"p","parameters":{"type":"object","properties":{"code":{"type":"string","pattern":"^a"}}}}}'
expect_error 400 "" /v1/chat/completions "{$BASE,\"tools\":[$F,$P],\"tool_choice\":\"required\"}"
param 'tools[1].function.parameters'
jq -r .error.message "$TMP/body" | grep -q '/properties/code/pattern' || fail "no pointer: $(cat "$TMP/body")"
# the same schema is fine when nothing is forced (auto parses, no grammar)
[ "$(post /v1/chat/completions "{$BASE,\"tools\":[$F,$P]}")" = 200 ] || fail "auto with a pattern: $(cat "$TMP/body")"
stop_server
echo "ok: $N forced tool-call requests (solo, concurrent, streamed) validate; bad input refused"
