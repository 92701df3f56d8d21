#!/usr/bin/env bash
# Clients that go away: a streaming client and a non-streaming one each hang up (head closing the
# pipe, kill) while their long request runs; the server must abort both, free every KV block,
# count the disconnects, and go on serving others. A client that never reads its stream and then
# closes is cut off too.
set -u
source "$(dirname "$0")/lib.sh"
need_model
start_server

LONG='{"model":"'$MODEL_NAME'","prompt":"Once upon a time","max_tokens":2000,"temperature":0,"ignore_eos":true'

# Waits (bounded) until N requests run.
wait_running() {
  local running=
  for _ in $(seq 1 200); do
    running=$(metric pagedvk_requests_running)
    [ "$running" = "$1" ] && return 0
    sleep 0.05
  done
  fail "want $1 running requests, have $running"
}

# streaming: the client reads the first chunk, then hangs up (head exits, curl's next write fails)
curl -sN -H 'Content-Type: application/json' -d "$LONG"',"stream":true}' "$URL/v1/completions" | head -n 1 > "$TMP/s1"
grep -q '^data: {' "$TMP/s1" || fail "the stream sent nothing before the hang-up"
expect_blocks_free

# non-streaming: the client hangs up while the server is generating
curl -s -H 'Content-Type: application/json' -d "$LONG}" "$URL/v1/completions" > "$TMP/w1" &
C=$!
wait_running 1
kill "$C"
wait "$C" 2>/dev/null
[ -s "$TMP/w1" ] && fail "a 2000-token completion answered before the hang-up: $(head -c 200 "$TMP/w1")"
expect_blocks_free
d=$(metric pagedvk_client_disconnects_total)
[ "${d%.*}" -ge 2 ] || fail "client_disconnects_total is $d, want >= 2"
aborted=$(curl -s "$URL/metrics" | awk '$1 == "pagedvk_requests_total{outcome=\"aborted\"}" { print $2 }')
[ "${aborted:-0}" -ge 2 ] || fail "aborted requests $aborted, want >= 2"

# a hang-up among other streams leaves the others intact
REQ='{"model":"'$MODEL_NAME'","prompt":"Hello there","max_tokens":5,"temperature":0,"ignore_eos":true'
[ "$(post /v1/completions "$REQ}")" = 200 ] || fail "reference request"
WANT=$(jq -j '.choices[0].text' "$TMP/body")
curl -sN -H 'Content-Type: application/json' -d "$LONG"',"stream":true}' "$URL/v1/completions" > /dev/null &
H=$!
wait_running 1
curl -sN -H 'Content-Type: application/json' -d "$REQ"',"stream":true}' "$URL/v1/completions" > "$TMP/s2"
kill "$H"
wait "$H" 2>/dev/null
[ "$(sse_text "$TMP/s2")" = "$WANT" ] || fail "a stream beside a hang-up gave '$(sse_text "$TMP/s2")', want '$WANT'"
expect_blocks_free

# a client that connects, sends a streaming request and then stops reading, then closes
BODY="$LONG"',"stream":true}'
exec 3<>/dev/tcp/127.0.0.1/"${URL##*:}"
printf 'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
  ${#BODY} "$BODY" >&3
wait_running 1
exec 3>&-
exec 3<&-
expect_blocks_free
stop_server
echo "server disconnect: ok"
