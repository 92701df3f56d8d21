#!/usr/bin/env bash
# Clients that go away: a streaming client hangs up (head closing the pipe) and a non-streaming
# one resets its connection while their long request runs; the server must abort both, free every KV block,
# count the disconnects, and go on serving others. A client that never reads its stream and then
# closes is cut off too.
set -u
source "$(dirname "$0")/lib.sh"
need_model
command -v python3 >/dev/null || { echo "skip: needs python3"; exit 77; }
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

# non-streaming: the client resets its connection (SIGTERM: SO_LINGER 0, close) while the server
# is generating. A client whose socket only sends FIN looks like one that half-closed after its
# request, which must still get its answer (test_http_edges.sh): nothing tells the two apart
# before the answer is written, so that one runs to its end.
python3 - "${URL##*:}" "$LONG}" > "$TMP/w1" <<'PY' &
import signal, socket, struct, sys, time
port, body = int(sys.argv[1]), sys.argv[2].encode()
s = socket.create_connection(("127.0.0.1", port))
def reset(sig, frame):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    sys.exit(0)
signal.signal(signal.SIGTERM, reset)
s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body) + body)
s.settimeout(60)
sys.stdout.write(s.recv(4096).decode("utf-8", "replace"))
PY
C=$!
wait_running 1
kill "$C"
wait "$C" 2>/dev/null
[ -s "$TMP/w1" ] && fail "a 2000-token completion answered before the reset: $(head -c 200 "$TMP/w1")"
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
