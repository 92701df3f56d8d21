#!/usr/bin/env bash
# Slow and greedy clients (issue 21 item 2), with small limits: --max-connections-per-client 4,
# --header-timeout 1, --write-timeout 2, --max-pending-requests 2.
# - 8 connections from 127.0.0.1 that drip their headers a byte at a time: 4 are closed at once
#   (the per-address cap), the other 4 once their header time is up, although they keep sending;
#   meanwhile a client from 127.0.0.2 gets its answer, and 127.0.0.1 gets served again after;
# - with 2 generation requests in progress a third gets 503 with Retry-After; once they end, the
#   next is served;
# - a generation that lasts longer than both timeouts is not cut (streaming or not): waiting for
#   the engine counts neither as the request's arrival nor as the client's idleness.
# (A client that stops reading is dropped after the write timeout only once the kernel's send
# buffer, autotuned up to net.ipv4.tcp_wmem's maximum, is full: too slow to fill for a test.)
set -u
source "$(dirname "$0")/lib.sh"
need_model
command -v python3 >/dev/null || { echo "skip: needs python3"; exit 77; }
start_server --max-connections-per-client 4 --header-timeout 1 --write-timeout 2 --max-pending-requests 2 --max-num-seqs 1
PORT=${URL##*:}
M='"model":"'$MODEL_NAME'"'

# --- dripping connections ----------------------------------------------------------------------------
python3 - "$PORT" "$M" > "$TMP/slow" <<'EOF'
import socket, sys, time
port, model = int(sys.argv[1]), sys.argv[2]

def closed(s):
    """The server closed it (end of stream or reset)."""
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True

def request(src):
    body = ('{%s,"prompt":"hi","max_tokens":2,"temperature":0}' % model).encode()
    c = socket.socket()
    c.bind((src, 0))
    c.connect(("127.0.0.1", port))
    c.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    c.settimeout(30)
    data = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        data += b
    return data.split(b"\r\n")[0].decode()

slow = []
for _ in range(8):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n")
    slow.append(s)
time.sleep(0.5)
print("closed_at_once", sum(closed(s) for s in slow))
print("other_address", request("127.0.0.2"))
# drip one header byte per connection every 0.1 s for up to 6 s: each byte is activity, so only
# a deadline on the whole request closes them
t0 = time.time()
while time.time() - t0 < 6 and not all(closed(s) for s in slow):
    for s in slow:
        try:
            s.setblocking(True)
            s.send(b"X")
        except OSError:
            pass
    time.sleep(0.1)
print("closed_later", sum(closed(s) for s in slow))
print("same_address", request("127.0.0.1"))
EOF
cat "$TMP/slow"
val() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "$TMP/slow"; }
[ "$(val closed_at_once)" = 4 ] || fail "8 connections from one address, cap 4: $(val closed_at_once) closed at once, want 4"
case "$(val other_address)" in *" 200 "*) ;; *) fail "a client from 127.0.0.2 beside the slow ones: '$(val other_address)'" ;; esac
[ "$(val closed_later)" = 8 ] || fail "dripping connections outlived the header timeout: $(val closed_later) of 8 closed"
case "$(val same_address)" in *" 200 "*) ;; *) fail "127.0.0.1 after its slow connections were dropped: '$(val same_address)'" ;; esac
t=$(metric pagedvk_connections_timed_out_total)
[ "${t%.*}" -ge 4 ] || fail "pagedvk_connections_timed_out_total is $t, want >= 4"

# --- the pending-request cap -----------------------------------------------------------------------
# wait_held N: until the engine holds N requests (running or waiting)
wait_held() {
  local r= w=
  for _ in $(seq 1 200); do
    r=$(metric pagedvk_requests_running)
    w=$(metric pagedvk_requests_waiting)
    [ "$((r + w))" = "$1" ] && return 0
    sleep 0.05
  done
  fail "want $1 requests in the engine, have $r running and $w waiting"
}
LONG="{$M,\"prompt\":\"Once upon a time\",\"max_tokens\":2000,\"temperature\":0,\"ignore_eos\":true,\"stream\":true}"
curl -sN -H 'Content-Type: application/json' -d "$LONG" "$URL/v1/completions" > /dev/null &
L1=$!
curl -sN -H 'Content-Type: application/json' -d "$LONG" "$URL/v1/completions" > /dev/null &
L2=$!
wait_held 2
code=$(curl -s -o "$TMP/body" -D "$TMP/h" -w '%{http_code}' -H 'Content-Type: application/json' \
  -d "{$M,\"prompt\":\"hi\",\"max_tokens\":2}" "$URL/v1/completions")
[ "$code" = 503 ] || fail "a third request beside 2 in progress (cap 2): $code $(cat "$TMP/body")"
[ "$(jq -r .error.code "$TMP/body")" = server_busy ] || fail "503 body: $(cat "$TMP/body")"
grep -qi '^Retry-After: 1' "$TMP/h" || fail "503 without Retry-After: $(cat "$TMP/h")"
b=$(metric pagedvk_requests_rejected_busy_total)
[ "${b%.*}" -ge 1 ] || fail "pagedvk_requests_rejected_busy_total is $b"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health")" = 200 ] || fail "/health is not a generation request"
kill "$L1" "$L2"
wait "$L1" "$L2" 2>/dev/null
expect_blocks_free

# --- longer than both timeouts: not cut --------------------------------------------------------------
# With --max-num-seqs 1 the stream waits for the first request's 250 tokens before its own first
# one: its headers are out, then nothing is sent for longer than the write timeout.
REQ="{$M,\"prompt\":\"Once upon a time\",\"max_tokens\":250,\"temperature\":0,\"ignore_eos\":true"
post /v1/completions "$REQ}" > "$TMP/code" &
W=$!
wait_held 1
curl -sN -H 'Content-Type: application/json' -d "$REQ,\"stream\":true,\"stream_options\":{\"include_usage\":true}}" \
  "$URL/v1/completions" > "$TMP/stream" &
S=$!
wait "$W"
[ "$(cat "$TMP/code")" = 200 ] || fail "a 250-token completion: $(head -c 300 "$TMP/body")"
[ "$(jq -r .usage.completion_tokens "$TMP/body")" = 250 ] || fail "250-token completion cut: $(jq -c .usage "$TMP/body")"
wait "$S"
grep -q '^data: \[DONE\]' "$TMP/stream" || fail "a 250-token stream was cut: $(tail -c 300 "$TMP/stream")"
n=$(grep '^data: {' "$TMP/stream" | sed 's/^data: //' | jq -s 'map(.usage.completion_tokens // empty) | last')
[ "$n" = 250 ] || fail "a 250-token stream reports $n completion tokens"

expect_blocks_free
stop_server
echo "server slow clients: ok"
