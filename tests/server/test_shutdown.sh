#!/usr/bin/env bash
# SIGTERM with clients attached, with a drain timeout (1 s) shorter than their requests: a streaming client and a waiting non-streaming client. The server
# must exit 0; the stream ends cleanly (curl sees a complete chunked response) with a final error
# chunk and [DONE]; the waiting client gets a 503 error object. SIGINT works the same when idle.
set -u
source "$(dirname "$0")/lib.sh"
need_model
start_server --drain-timeout 1

LONG='{"model":"'$MODEL_NAME'","prompt":"Once upon a time","max_tokens":1500,"temperature":0,"ignore_eos":true'
curl -sN -H 'Content-Type: application/json' -d "$LONG"',"stream":true}' "$URL/v1/completions" > "$TMP/stream" &
S=$!
curl -s -o "$TMP/whole" -w '%{http_code}' -H 'Content-Type: application/json' -d "$LONG}" "$URL/v1/completions" \
  > "$TMP/whole_status" &
W=$!
# both running and the stream under way
for _ in $(seq 1 200); do
  [ "$(metric pagedvk_requests_running)" = 2 ] && [ "$(grep -c '^data: {' "$TMP/stream")" -ge 1 ] && break
  sleep 0.1
done
[ "$(metric pagedvk_requests_running)" = 2 ] || fail "the two requests never ran together"

kill -TERM "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=
[ "$rc" = 0 ] || fail "server exited with $rc after SIGTERM"
src=0
wait $S || src=$?
[ "$src" = 0 ] || fail "the streaming client saw a broken response (curl exit $src)"
grep '^data: {' "$TMP/stream" | tail -n 1 | sed 's/^data: //' | jq -e '.error.code == "shutting_down"' >/dev/null ||
  fail "no final error chunk: $(tail -c 300 "$TMP/stream")"
[ "$(grep -v '^$' "$TMP/stream" | tail -n 1)" = "data: [DONE]" ] || fail "stream did not end with [DONE]"
wait $W
[ "$(cat "$TMP/whole_status")" = 503 ] || fail "waiting client got $(cat "$TMP/whole_status"), want 503"
jq -e '.error.code == "shutting_down"' "$TMP/whole" >/dev/null || fail "waiting client body: $(cat "$TMP/whole")"
grep -q 'stopped' "$TMP/server.log" || fail "no 'stopped' line in the log"

# idle server, SIGINT
start_server --drain-timeout 1
expect_blocks_free
kill -INT "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=
[ "$rc" = 0 ] || fail "server exited with $rc after SIGINT"
echo "server shutdown: ok"
