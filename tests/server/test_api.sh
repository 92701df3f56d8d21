#!/usr/bin/env bash
# The OpenAI routes with curl: shapes of completions and chat completions, streaming and not,
# the same greedy text both ways, usage counts, n > 1, stop strings, logprobs, /v1/models,
# /health, /metrics; and the error answers (400 / 404 / 405 / 413 with OpenAI error objects).
set -u
source "$(dirname "$0")/lib.sh"
need_model
start_server -c 512

# --- /health, /v1/models, /metrics -------------------------------------------------------------
[ "$(curl -s "$URL/health" | jq -r .status)" = ok ] || fail "/health"
curl -s "$URL/v1/models" > "$TMP/models"
jq -e --arg m "$MODEL_NAME" '.object == "list" and (.data | length == 1) and .data[0].id == $m and .data[0].object == "model"' \
  "$TMP/models" >/dev/null || fail "/v1/models: $(cat "$TMP/models")"
curl -s "$URL/metrics" > "$TMP/metrics"
for m in pagedvk_requests_running pagedvk_requests_waiting pagedvk_kv_blocks_used pagedvk_kv_blocks_free \
  pagedvk_kv_blocks_cached pagedvk_kv_utilization pagedvk_prefix_cache_hit_rate pagedvk_preemptions_total \
  pagedvk_generation_tokens_per_second pagedvk_time_to_first_token_seconds_count \
  pagedvk_time_per_output_token_seconds_count; do
  grep -q "^$m " "$TMP/metrics" || fail "/metrics lacks $m"
done
grep -q '^# TYPE pagedvk_time_to_first_token_seconds histogram' "$TMP/metrics" || fail "ttft is not a histogram"

# --- completions ------------------------------------------------------------------------------
REQ='{"model":"'$MODEL_NAME'","prompt":"The quick brown fox","max_tokens":6,"temperature":0,"ignore_eos":true}'
[ "$(post /v1/completions "$REQ")" = 200 ] || fail "completion: $(cat "$TMP/body")"
cp "$TMP/body" "$TMP/completion.json"
jq -e '(.id | startswith("cmpl-")) and .object == "text_completion" and (.created | type == "number")
       and .model == "'$MODEL_NAME'" and (.choices | length == 1) and .choices[0].index == 0
       and (.choices[0].text | type == "string") and .choices[0].finish_reason == "length"
       and .choices[0].logprobs == null
       and .usage.completion_tokens == 6 and .usage.prompt_tokens > 0
       and .usage.total_tokens == .usage.prompt_tokens + .usage.completion_tokens' \
  "$TMP/completion.json" >/dev/null || fail "completion shape: $(cat "$TMP/completion.json")"
TEXT=$(jq -j '.choices[0].text' "$TMP/completion.json")
PROMPT_TOKENS=$(jq .usage.prompt_tokens "$TMP/completion.json")

# the same prompt as token ids gives the same text
IDS=$("$PAGEDVK" tokenize -m "$MODEL" -p "The quick brown fox" 2>/dev/null | jq -c 'if type == "object" then .ids else . end')
if [ -n "$IDS" ] && [ "$IDS" != null ]; then
  [ "$(post /v1/completions '{"model":"'$MODEL_NAME'","prompt":'"$IDS"',"max_tokens":6,"temperature":0,"ignore_eos":true}')" = 200 ] ||
    fail "token-array prompt: $(cat "$TMP/body")"
  [ "$(jq -j '.choices[0].text' "$TMP/body")" = "$TEXT" ] || fail "token-array prompt gave other text"
fi

# streaming: text/event-stream, chunks, [DONE] last, same text, usage chunk on request
curl -sN -D "$TMP/headers" -H 'Content-Type: application/json' \
  -d '{"model":"'$MODEL_NAME'","prompt":"The quick brown fox","max_tokens":6,"temperature":0,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}' \
  "$URL/v1/completions" > "$TMP/stream"
grep -qi '^content-type: text/event-stream' "$TMP/headers" || fail "stream content type: $(cat "$TMP/headers")"
[ "$(grep -v '^$' "$TMP/stream" | tail -n 1)" = "data: [DONE]" ] || fail "stream does not end with [DONE]"
[ "$(grep -c '^data: \[DONE\]' "$TMP/stream")" = 1 ] || fail "[DONE] more than once"
grep -v '^$' "$TMP/stream" | grep -qv '^data: ' && fail "stream has lines that are not data: lines"
[ "$(sse_text "$TMP/stream")" = "$TEXT" ] || fail "streamed text '$(sse_text "$TMP/stream")' != '$TEXT'"
grep '^data: {' "$TMP/stream" | sed 's/^data: //' > "$TMP/chunks"
jq -se 'all(.[]; .object == "text_completion" and (.id | startswith("cmpl-")))' "$TMP/chunks" >/dev/null || fail "chunk shape"
jq -se '[.[] | .choices[]? | .finish_reason | select(. != null)] == ["length"]' "$TMP/chunks" >/dev/null ||
  fail "one finish_reason expected"
jq -se 'last | (.choices == []) and .usage.completion_tokens == 6 and .usage.prompt_tokens == '"$PROMPT_TOKENS" \
  "$TMP/chunks" >/dev/null || fail "usage chunk: $(tail -n 1 "$TMP/chunks")"

# n = 2 with a seed: two choices, usage counts both
[ "$(post /v1/completions '{"model":"'$MODEL_NAME'","prompt":"Hello","max_tokens":4,"n":2,"seed":7,"temperature":1,"ignore_eos":true}')" = 200 ] ||
  fail "n=2: $(cat "$TMP/body")"
jq -e '(.choices | length == 2) and ([.choices[].index] == [0,1]) and .usage.completion_tokens == 8' "$TMP/body" >/dev/null ||
  fail "n=2 shape: $(cat "$TMP/body")"

# logprobs: N alternatives per token
[ "$(post /v1/completions '{"model":"'$MODEL_NAME'","prompt":"Hello","max_tokens":3,"logprobs":2,"temperature":0,"ignore_eos":true}')" = 200 ] ||
  fail "logprobs: $(cat "$TMP/body")"
jq -e '.choices[0].logprobs | (.tokens | length == 3) and (.token_logprobs | length == 3)
       and all(.token_logprobs[]; . <= 0) and (.top_logprobs | length == 3) and (.text_offset | length == 3)
       and all(.top_logprobs[]; length >= 1 and length <= 2)' "$TMP/body" >/dev/null ||
  fail "logprobs shape: $(cat "$TMP/body")"

# a stop string taken from the greedy text ends the text before it
if [ ${#TEXT} -ge 4 ]; then
  STOP=${TEXT:2:2}
  STOP_JSON=$(jq -Rn --arg s "$STOP" '$s')
  [ "$(post /v1/completions '{"model":"'$MODEL_NAME'","prompt":"The quick brown fox","max_tokens":6,"temperature":0,"ignore_eos":true,"stop":['"$STOP_JSON"']}')" = 200 ] ||
    fail "stop: $(cat "$TMP/body")"
  jq -e '.choices[0].finish_reason == "stop"' "$TMP/body" >/dev/null || fail "stop string did not stop: $(cat "$TMP/body")"
  GOT=$(jq -j '.choices[0].text' "$TMP/body")
  case "$TEXT" in "$GOT$STOP"*) ;; *) fail "stop: '$GOT' is not the text before '$STOP' in '$TEXT'" ;; esac
fi

# --- chat completions -------------------------------------------------------------------------
CHAT='{"model":"'$MODEL_NAME'","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi there"}],"max_tokens":5,"temperature":0,"ignore_eos":true'
[ "$(post /v1/chat/completions "$CHAT}")" = 200 ] || fail "chat: $(cat "$TMP/body")"
cp "$TMP/body" "$TMP/chat.json"
jq -e '(.id | startswith("chatcmpl-")) and .object == "chat.completion" and .model == "'$MODEL_NAME'"
       and .choices[0].message.role == "assistant" and (.choices[0].message.content | type == "string")
       and .choices[0].finish_reason == "length" and .usage.completion_tokens == 5
       and .usage.total_tokens == .usage.prompt_tokens + 5' "$TMP/chat.json" >/dev/null ||
  fail "chat shape: $(cat "$TMP/chat.json")"
CHAT_TEXT=$(jq -j '.choices[0].message.content' "$TMP/chat.json")
curl -sN -H 'Content-Type: application/json' -d "$CHAT"',"stream":true}' "$URL/v1/chat/completions" > "$TMP/chat_stream"
[ "$(grep -v '^$' "$TMP/chat_stream" | tail -n 1)" = "data: [DONE]" ] || fail "chat stream does not end with [DONE]"
[ "$(sse_text "$TMP/chat_stream")" = "$CHAT_TEXT" ] || fail "chat streamed text differs"
grep '^data: {' "$TMP/chat_stream" | sed 's/^data: //' > "$TMP/chat_chunks"
jq -se 'all(.[]; .object == "chat.completion.chunk") and (first.choices[0].delta.role == "assistant")
        and ([.[] | .choices[0].delta.role | select(. != null)] | length == 1)
        and (last.choices[0].finish_reason == "length")' "$TMP/chat_chunks" >/dev/null ||
  fail "chat chunk shape: $(cat "$TMP/chat_chunks")"
# chat logprobs
[ "$(post /v1/chat/completions "$CHAT"',"logprobs":true,"top_logprobs":2}')" = 200 ] || fail "chat logprobs: $(cat "$TMP/body")"
jq -e '.choices[0].logprobs.content | length == 5 and all(.[]; (.token | type == "string") and .logprob <= 0
       and (.bytes | type == "array") and (.top_logprobs | length >= 1 and length <= 2))' "$TMP/body" >/dev/null ||
  fail "chat logprobs shape: $(cat "$TMP/body")"

# --- errors -----------------------------------------------------------------------------------
M='"model":"'$MODEL_NAME'"'
expect_error 400 invalid_json /v1/completions '{"model": "x", "prompt": '
expect_error 400 invalid_json /v1/completions '[1, 2]'
expect_error 400 invalid_json /v1/chat/completions ''
expect_error 400 invalid_type /v1/completions "{$M,\"prompt\":\"hi\",\"temperature\":\"hot\"}"
expect_error 400 invalid_type /v1/completions "{$M,\"prompt\":\"hi\",\"max_tokens\":2.5}"
expect_error 400 invalid_type /v1/completions "{$M,\"prompt\":\"hi\",\"stream\":\"yes\"}"
expect_error 400 invalid_type /v1/completions "{$M,\"prompt\":{\"a\":1}}"
expect_error 400 invalid_type /v1/chat/completions "{$M,\"messages\":\"hi\"}"
expect_error 400 invalid_value /v1/completions "{$M,\"prompt\":\"hi\",\"temperature\":-1}"
expect_error 400 invalid_value /v1/completions "{$M,\"prompt\":[1, 99999999]}"
expect_error 400 missing_required_parameter /v1/completions "{$M}"
expect_error 400 missing_required_parameter /v1/chat/completions "{$M}"
expect_error 400 missing_required_parameter /v1/completions '{"prompt":"hi"}'
expect_error 400 "" /v1/chat/completions "{$M,\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}"
LONG=$(printf 'word %.0s' $(seq 1 700))
expect_error 400 context_length_exceeded /v1/completions "{$M,\"prompt\":\"$LONG\",\"max_tokens\":4}"
[ "$(jq -r .error.param "$TMP/body")" = prompt ] || fail "too long: param $(jq -r .error.param "$TMP/body")"
expect_error 400 context_length_exceeded /v1/chat/completions "{$M,\"messages\":[{\"role\":\"user\",\"content\":\"$LONG\"}]}"
expect_error 400 context_length_exceeded /v1/completions "{$M,\"prompt\":\"hi\",\"max_tokens\":100000}"
expect_error 404 model_not_found /v1/completions '{"model":"gpt-4","prompt":"hi"}'
expect_error 404 model_not_found /v1/chat/completions '{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}'
expect_error 404 not_found /v1/nothing-here '{}'
[ "$(curl -s -o "$TMP/body" -w '%{http_code}' "$URL/v1/engines")" = 404 ] || fail "unknown GET route"
[ "$(curl -s -o "$TMP/body" -w '%{http_code}' "$URL/v1/completions")" = 405 ] || fail "GET /v1/completions"
jq -e '.error.code == "method_not_allowed"' "$TMP/body" >/dev/null || fail "405 body"
curl -s -D "$TMP/h405" -o /dev/null -X DELETE "$URL/v1/models"
grep -qi '^allow: GET' "$TMP/h405" || fail "405 without Allow"
head -c 9000000 /dev/zero | tr '\0' 'a' > "$TMP/big"
[ "$(curl -s -o "$TMP/body" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$TMP/big" "$URL/v1/completions")" = 413 ] ||
  fail "a 9 MB body was not refused with 413"

# the server still serves, and all blocks are free at the end
[ "$(post /v1/completions "$REQ")" = 200 ] || fail "after the errors"
[ "$(jq -j '.choices[0].text' "$TMP/body")" = "$TEXT" ] || fail "greedy text changed"
stop_server
echo "server api: ok"
