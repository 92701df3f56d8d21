#!/usr/bin/env bash
# Readiness and drain, as a router or a supervisor sees them (issue 23 item 1):
# - while the model loads (its file is a FIFO nobody writes yet, so loading waits as long as the
#   test wants: nothing here depends on timing), GET /health is 503 {"status":"loading"}, GET
#   /health/live 200, a chat request 503 "model_loading" with Retry-After, /metrics answers;
# - once ready, /health is 200 and responses carry X-Pagedvk-Queue-Depth;
# - after SIGTERM, with a stream running: /health is 503 "draining", /health/live still 200, a
#   new request gets 503 "shutting_down" with Retry-After and Connection: close, the running
#   stream finishes normally (finish_reason "length", every token, [DONE]) and the server exits 0;
# - a second SIGTERM during the drain ends it at once: the stream still running gets a final
#   error chunk and [DONE] (never a cut stream), exit 0.
set -u
source "$(dirname "$0")/lib.sh"
need_model

# ---- loading ----
mkfifo "$TMP/model.gguf"
"$PAGEDVK" serve -m "$TMP/model.gguf" --port 0 -q > "$TMP/server.out" 2> "$TMP/server.log" &
SERVER_PID=$!
port=
for _ in $(seq 1 600); do
  port=$(sed -n 's/.*loading the model.*(port \([0-9]*\)).*/\1/p' "$TMP/server.log" | head -n 1)
  [ -n "$port" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited before it listened"
  sleep 0.1
done
[ -n "$port" ] || fail "no 'loading the model' line"
URL=http://127.0.0.1:$port
code=$(curl -s -o "$TMP/h" -w '%{http_code}' "$URL/health")
[ "$code" = 503 ] && jq -e '.status == "loading"' "$TMP/h" >/dev/null || fail "/health while loading: $code $(cat "$TMP/h")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health/live")" = 200 ] || fail "/health/live while loading is not 200"
curl -s -D "$TMP/hdr" -o "$TMP/body" -H 'Content-Type: application/json' \
  -d '{"model":"x","messages":[{"role":"user","content":"hi"}]}' "$URL/v1/chat/completions" > /dev/null
head -n 1 "$TMP/hdr" | grep -q ' 503' || fail "chat while loading: $(head -n 1 "$TMP/hdr")"
grep -qi '^Retry-After:' "$TMP/hdr" || fail "503 while loading without Retry-After"
jq -e '.error.code == "model_loading"' "$TMP/body" >/dev/null || fail "chat while loading: $(cat "$TMP/body")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/metrics")" = 200 ] || fail "/metrics while loading is not 200"
# a writer comes and goes: the "model" is an empty FIFO, which loading refuses (bounded: a server
# that died before opening it would leave the writer waiting)
timeout 60 sh -c ': > "$1"' _ "$TMP/model.gguf" || fail "the server never opened the model file"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=
[ "$rc" = 1 ] || fail "a model that fails to load: exit $rc, want 1"

# ---- ready, then drain ----
start_server --drain-timeout 600
hdr=$(curl -s -D - -o /dev/null "$URL/health")
echo "$hdr" | grep -qi '^X-Pagedvk-Queue-Depth: 0' || fail "no X-Pagedvk-Queue-Depth on a ready server: $hdr"
# long enough to be running when SIGTERM comes, short enough to end in the drain
TOKENS=200
req() {
  jq -cn --arg m "$MODEL_NAME" --argjson t "$1" \
    '{model: $m, prompt: "Once upon a time", max_tokens: $t, temperature: 0, ignore_eos: true, stream: true}'
}
curl -sN -m 300 -H 'Content-Type: application/json' -d "$(req $TOKENS)" "$URL/v1/completions" > "$TMP/s1" &
C1=$!
for _ in $(seq 1 300); do
  [ "$(grep -c '^data: {' "$TMP/s1")" -ge 2 ] && break
  sleep 0.05
done
[ "$(grep -c '^data: {' "$TMP/s1")" -ge 2 ] || fail "the stream never started"
kill -TERM "$SERVER_PID"
for _ in $(seq 1 100); do
  grep -q 'draining' "$TMP/server.log" && break
  sleep 0.05
done
code=$(curl -s -o "$TMP/h" -w '%{http_code}' "$URL/health")
[ "$code" = 503 ] && jq -e '.status == "draining"' "$TMP/h" >/dev/null || fail "/health while draining: $code $(cat "$TMP/h")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health/live")" = 200 ] || fail "/health/live while draining is not 200"
curl -s -D "$TMP/hdr" -o "$TMP/body" -H 'Content-Type: application/json' -d "$(req 4)" "$URL/v1/completions" > /dev/null
head -n 1 "$TMP/hdr" | grep -q ' 503' || fail "new request while draining: $(head -n 1 "$TMP/hdr")"
grep -qi '^Retry-After:' "$TMP/hdr" || fail "draining 503 without Retry-After"
grep -qi '^Connection: close' "$TMP/hdr" || fail "draining 503 without Connection: close: $(cat "$TMP/hdr")"
jq -e '.error.code == "shutting_down"' "$TMP/body" >/dev/null || fail "new request while draining: $(cat "$TMP/body")"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=
[ "$rc" = 0 ] || fail "server exited with $rc after draining"
wait $C1 || fail "the running stream broke during the drain"
[ "$(grep -v '^$' "$TMP/s1" | tail -n 1)" = "data: [DONE]" ] || fail "the stream did not end with [DONE]"
grep '^data: {' "$TMP/s1" | sed 's/^data: //' | jq -s -e "[.[] | .choices[]? | select(.finish_reason != null)] |
  length == 1 and .[0].finish_reason == \"length\"" >/dev/null || fail "the stream did not finish normally: $(tail -c 300 "$TMP/s1")"
n=$(grep '^data: {' "$TMP/s1" | sed 's/^data: //' | jq -s '[.[] | .choices[]? | select(.text != "" and .text != null)] | length')
[ "$n" -ge 1 ] || fail "no text in the drained stream"
grep -q 'drained' "$TMP/server.log" || fail "no 'drained' line in the log"

# ---- a second signal ends the drain ----
start_server --drain-timeout 600
curl -sN -m 300 -H 'Content-Type: application/json' -d "$(req 1500)" "$URL/v1/completions" > "$TMP/s2" &
C2=$!
for _ in $(seq 1 300); do
  [ "$(grep -c '^data: {' "$TMP/s2")" -ge 2 ] && break
  sleep 0.05
done
kill -TERM "$SERVER_PID"
for _ in $(seq 1 100); do
  grep -q 'draining' "$TMP/server.log" && break
  sleep 0.05
done
grep -q 'draining' "$TMP/server.log" || fail "no 'draining' line after the first SIGTERM"
kill -TERM "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=
[ "$rc" = 0 ] || fail "server exited with $rc after two signals"
wait $C2 || fail "the stream was cut (curl saw a broken response)"
grep '^data: {' "$TMP/s2" | tail -n 1 | sed 's/^data: //' | jq -e '.error.code == "shutting_down"' >/dev/null ||
  fail "no final error chunk: $(tail -c 300 "$TMP/s2")"
[ "$(grep -v '^$' "$TMP/s2" | tail -n 1)" = "data: [DONE]" ] || fail "stream did not end with [DONE]"
echo "server drain: ok"
