#!/usr/bin/env bash
# The server under exhaustion and device loss (uses tests/server/lib.sh):
# 1. a prompt that alone needs more KV blocks than the pool has gets HTTP 400 with an OpenAI error
#    object while a streaming request already in flight completes with its solo text;
# 2. --kv-mem far beyond the device ends `pagedvk serve` at start-up with a message suggesting a
#    smaller --kv-mem;
# 3. a failed submit (PAGEDVK_FAULT_SUBMIT) mid-generation: the streaming client gets a final
#    error chunk and [DONE], the waiting client an HTTP 500 error object, and the server exits
#    non-zero by itself with the Vulkan error — nobody hangs (every wait here is bounded).
set -u
source "$(dirname "$0")/../server/lib.sh"
need_model

# --- 1: oversized prompt beside a request in flight ---------------------------------------------
# syn-llama-q4k: 16 KiB per 16-token block, so 256K = 16 blocks = 256 tokens.
start_server --kv-mem 256K --max-num-batched-tokens 64
BODY='{"model":"'$MODEL_NAME'","prompt":"The quick brown fox","max_tokens":48,"temperature":0,"ignore_eos":true'
[ "$(post /v1/completions "$BODY}")" = 200 ] || fail "solo request: $(cat "$TMP/body")"
solo=$(jq -j '.choices[0].text' "$TMP/body")
curl -sN -H 'Content-Type: application/json' -d "$BODY"',"stream":true}' "$URL/v1/completions" > "$TMP/stream" &
S=$!
for _ in $(seq 1 200); do
  [ "$(grep -c '^data: {' "$TMP/stream")" -ge 2 ] && break
  sleep 0.05
done
[ "$(grep -c '^data: {' "$TMP/stream")" -ge 1 ] || fail "the streaming request never started"
ids=$(seq -s, 100 499) # 400 token ids: 26 blocks
expect_error 400 context_length_exceeded /v1/completions '{"model":"'$MODEL_NAME'","prompt":['$ids'],"max_tokens":4}'
jq -r .error.message "$TMP/body" | grep -q -- '--kv-mem' || fail "the error does not name --kv-mem: $(cat "$TMP/body")"
[ "$(jq -r .error.param "$TMP/body")" = prompt ] || fail "the error's param is not 'prompt': $(cat "$TMP/body")"
wait $S || fail "streaming client failed"
[ "$(grep -v '^$' "$TMP/stream" | tail -n 1)" = "data: [DONE]" ] || fail "stream did not end with [DONE]"
got=$(sse_text "$TMP/stream")
[ "$got" = "$solo" ] || fail "the in-flight request's text changed: '$got' vs solo '$solo'"
stop_server

# --- 2: a KV pool the device cannot bind ---------------------------------------------------------
rc=0
timeout 120 "$PAGEDVK" serve -m "$MODEL" --port 0 --kv-mem 100G -q > "$TMP/big.out" 2> "$TMP/big.log" || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "serve with --kv-mem 100G: exit $rc"
grep -q 'smaller --kv-mem' "$TMP/big.log" || fail "no advice to use a smaller --kv-mem: $(cat "$TMP/big.log")"

# --- 3: device lost in the middle of two generations ---------------------------------------------
# Submit #1 is the first engine step; #20 falls well inside two 300-token generations.
export PAGEDVK_FAULT_SUBMIT=20
start_server
unset PAGEDVK_FAULT_SUBMIT
LONG='{"model":"'$MODEL_NAME'","prompt":"Once upon a time","max_tokens":300,"temperature":0,"ignore_eos":true'
curl -sN -m 120 -H 'Content-Type: application/json' -d "$LONG"',"stream":true}' "$URL/v1/completions" > "$TMP/lost_stream" &
S=$!
curl -s -m 120 -o "$TMP/lost_whole" -w '%{http_code}' -H 'Content-Type: application/json' -d "$LONG}" \
  "$URL/v1/completions" > "$TMP/lost_status" &
W=$!
src=0
wait $S || src=$?
[ "$src" = 0 ] || fail "streaming client: curl exit $src (28 = it hung until the timeout)"
grep '^data: {' "$TMP/lost_stream" | tail -n 1 | sed 's/^data: //' |
  jq -e '.error | (.message | test("device lost")) and .type == "server_error"' >/dev/null ||
  fail "no final error chunk: $(tail -c 300 "$TMP/lost_stream")"
[ "$(grep -v '^$' "$TMP/lost_stream" | tail -n 1)" = "data: [DONE]" ] || fail "stream did not end with [DONE]"
wait $W || fail "waiting client: curl failed"
[ "$(cat "$TMP/lost_status")" = 500 ] || fail "waiting client got $(cat "$TMP/lost_status"), want 500"
jq -e '.error.type == "server_error"' "$TMP/lost_whole" >/dev/null || fail "waiting client body: $(cat "$TMP/lost_whole")"
rc=0
for _ in $(seq 1 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SERVER_PID" 2>/dev/null && fail "the server did not exit after losing the device"
wait "$SERVER_PID" || rc=$?
SERVER_PID=
[ "$rc" != 0 ] || fail "the server exited 0 after losing the device"
grep -q 'VK_ERROR_DEVICE_LOST' "$TMP/server.log" || fail "the log does not name the error"
echo "server faults: ok"
