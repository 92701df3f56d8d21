#!/usr/bin/env bash
# HTTP edges of `pagedvk serve` (issue 21 items 7, 11, 13):
# - a client that shuts down its sending side once its request is out still gets its whole answer,
#   streaming and not; a client that resets its connection has its request aborted;
# - client strings in the log (model name, URL) have their control bytes escaped: no raw ESC and
#   no forged line;
# - --cors-origin: preflights (OPTIONS, no key needed) get 204 with the Allow-* headers for an
#   allowed Origin and none for another; every response to an allowed Origin carries
#   Access-Control-Allow-Origin (200, SSE, 401, 404, 503); `*`; a malformed origin is refused;
#   HEAD works where GET does.
set -u
source "$(dirname "$0")/lib.sh"
need_model
command -v python3 >/dev/null || { echo "skip: needs python3"; exit 77; }

KEY=edge-key-$$
start_server --api-key "$KEY" --cors-origin http://a.example --cors-origin 'http://b.example:8080, https://c.example'
API_KEY=$KEY
PORT=${URL##*:}
M='"model":"'$MODEL_NAME'"'
AUTH=(-H "Authorization: Bearer $KEY")

# --- half-close ------------------------------------------------------------------------------------
# raw BODY MODE → the whole answer; MODE: halfclose (shutdown(SHUT_WR) after the request) or reset
raw() {
  python3 - "$PORT" "$KEY" "$1" "$2" <<'EOF'
import socket, struct, sys, time
port, key, body, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode(), sys.argv[4]
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key.encode() +
          b"\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
if mode == "reset":
    time.sleep(1.0)  # the request is running
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()       # RST, not FIN
    sys.exit(0)
s.shutdown(socket.SHUT_WR)
s.settimeout(60)
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
sys.stdout.write(data.decode("utf-8", "replace"))
EOF
}
REQ="{$M,\"prompt\":\"Once upon a time\",\"max_tokens\":24,\"temperature\":0,\"ignore_eos\":true"
[ "$(post /v1/completions "$REQ}" "${AUTH[@]}")" = 200 ] || fail "reference: $(cat "$TMP/body")"
WANT=$(jq -j '.choices[0].text' "$TMP/body")
raw "$REQ}" halfclose > "$TMP/half"
head -n 1 "$TMP/half" | grep -q '^HTTP/1.1 200' || fail "half-closed client: $(head -c 300 "$TMP/half")"
got=$(sed '1,/^\r$/d' "$TMP/half" | jq -j '.choices[0].text')
[ "$got" = "$WANT" ] || fail "half-closed client got '$got', want '$WANT'"
[ "$(sed '1,/^\r$/d' "$TMP/half" | jq -r '.usage.completion_tokens')" = 24 ] || fail "half-closed: not 24 tokens"
raw "$REQ,\"stream\":true}" halfclose > "$TMP/halfs"
grep -q '^data: \[DONE\]' "$TMP/halfs" || fail "half-closed stream did not end with [DONE]: $(tail -c 300 "$TMP/halfs")"
grep '^data: {' "$TMP/halfs" | sed 's/^data: //' | jq -j '.choices[]? | .text // ""' > "$TMP/halfs.txt"
[ "$(cat "$TMP/halfs.txt")" = "$WANT" ] || fail "half-closed stream got '$(cat "$TMP/halfs.txt")', want '$WANT'"
expect_blocks_free

# a reset while a long request runs aborts it
aborted0=$(curl -s "${AUTH[@]}" "$URL/metrics" | awk '$1 == "pagedvk_requests_total{outcome=\"aborted\"}" { print $2 }')
raw "{$M,\"prompt\":\"Once upon a time\",\"max_tokens\":2000,\"temperature\":0,\"ignore_eos\":true}" reset
expect_blocks_free
aborted1=$(curl -s "${AUTH[@]}" "$URL/metrics" | awk '$1 == "pagedvk_requests_total{outcome=\"aborted\"}" { print $2 }')
[ "${aborted1%.*}" -gt "${aborted0%.*}" ] || fail "a reset client's request was not aborted ($aborted0 → $aborted1)"

# --- log injection ---------------------------------------------------------------------------------
expect_error 404 model_not_found /v1/completions '{"model":"x\u001b[31m\nFAKE LOG LINE","prompt":"hi"}' "${AUTH[@]}"
curl -s -o /dev/null "${AUTH[@]}" "$URL/v1/x%1b%5b2J%0aFAKE%20ROUTE%20LINE"
curl -s -o /dev/null -X $'GE\x1bT' "$URL/health"
[ "$(tr -cd '\033' < "$TMP/server.log" | wc -c)" = 0 ] || fail "the log holds a raw ESC byte"
grep -q '^FAKE' "$TMP/server.log" && fail "a client forged a log line: $(grep '^FAKE' "$TMP/server.log")"
grep -q "^pagedvk serve: .*model 'x.\\{1,4\\}\[31m.\\{1,4\\}FAKE LOG LINE' does not exist" "$TMP/server.log" ||
  fail "the model name's line is not one escaped line"
grep -q '^pagedvk serve: .*/v1/x.\{1,4\}\[2J.\{1,4\}FAKE ROUTE LINE' "$TMP/server.log" || fail "the URL's line is not one escaped line"

# --- CORS ------------------------------------------------------------------------------------------
hdr() { grep -i "^$1:" "$2" | head -n 1 | sed 's/^[^:]*: *//' | tr -d '\r'; }
# preflight from an allowed origin, without the key
code=$(curl -s -o /dev/null -D "$TMP/h" -w '%{http_code}' -X OPTIONS -H 'Origin: http://a.example' \
  -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: authorization, content-type' \
  "$URL/v1/chat/completions")
[ "$code" = 204 ] || fail "preflight: $code"
[ "$(hdr Access-Control-Allow-Origin "$TMP/h")" = http://a.example ] || fail "preflight without Allow-Origin: $(cat "$TMP/h")"
hdr Access-Control-Allow-Methods "$TMP/h" | grep -q POST || fail "preflight Allow-Methods lacks POST"
hdr Access-Control-Allow-Headers "$TMP/h" | grep -qi authorization || fail "preflight Allow-Headers lacks Authorization"
hdr Access-Control-Allow-Headers "$TMP/h" | grep -qi content-type || fail "preflight Allow-Headers lacks Content-Type"
[ -n "$(hdr Access-Control-Max-Age "$TMP/h")" ] || fail "preflight without Max-Age"
# the other origins of the list; an origin not on it gets no CORS headers
for o in http://b.example:8080 https://c.example; do
  curl -s -o /dev/null -D "$TMP/h" -X OPTIONS -H "Origin: $o" "$URL/v1/models"
  [ "$(hdr Access-Control-Allow-Origin "$TMP/h")" = "$o" ] || fail "preflight from $o: $(cat "$TMP/h")"
done
curl -s -o /dev/null -D "$TMP/h" -X OPTIONS -H 'Origin: http://evil.example' "$URL/v1/completions"
grep -qi '^Access-Control-' "$TMP/h" && fail "a foreign origin got CORS headers: $(cat "$TMP/h")"
# every response to an allowed origin: 200, SSE, 401, 404
O=(-H 'Origin: http://a.example')
curl -s -o /dev/null -D "$TMP/h" "${O[@]}" "${AUTH[@]}" -H 'Content-Type: application/json' -d "{$M,\"prompt\":\"hi\",\"max_tokens\":2}" "$URL/v1/completions"
[ "$(hdr Access-Control-Allow-Origin "$TMP/h")" = http://a.example ] || fail "200 without Allow-Origin"
curl -sN -o /dev/null -D "$TMP/h" "${O[@]}" "${AUTH[@]}" -H 'Content-Type: application/json' \
  -d "{$M,\"prompt\":\"hi\",\"max_tokens\":2,\"stream\":true}" "$URL/v1/completions"
[ "$(hdr Access-Control-Allow-Origin "$TMP/h")" = http://a.example ] || fail "SSE without Allow-Origin"
curl -s -o /dev/null -D "$TMP/h" "${O[@]}" "$URL/v1/models"
grep -q '^HTTP/1.1 401' "$TMP/h" && [ "$(hdr Access-Control-Allow-Origin "$TMP/h")" = http://a.example ] ||
  fail "401 without Allow-Origin: $(cat "$TMP/h")"
curl -s -o /dev/null -D "$TMP/h" "${O[@]}" "$URL/nowhere"
[ "$(hdr Access-Control-Allow-Origin "$TMP/h")" = http://a.example ] || fail "404 without Allow-Origin"
hdr Vary "$TMP/h" | grep -q Origin || fail "an origin list without Vary: Origin"

# --- HEAD where GET works ---------------------------------------------------------------------------
for p in /health /metrics /v1/models; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -I "${AUTH[@]}" "$URL$p")
  [ "$code" = 200 ] || fail "HEAD $p: $code"
done
curl -s -o /dev/null -D "$TMP/h" -X DELETE "${AUTH[@]}" "$URL/health"
hdr Allow "$TMP/h" | grep -q 'GET, HEAD, OPTIONS' || fail "405's Allow lacks HEAD/OPTIONS: $(cat "$TMP/h")"
stop_server

# --- "*" and a malformed origin ---------------------------------------------------------------------
start_server --cors-origin '*'
curl -s -o /dev/null -D "$TMP/h" -X OPTIONS -H 'Origin: http://anything.example' "$URL/v1/completions"
[ "$(hdr Access-Control-Allow-Origin "$TMP/h")" = '*' ] || fail "--cors-origin '*': $(cat "$TMP/h")"
curl -s -o /dev/null -D "$TMP/h" "$URL/health"
grep -qi '^Access-Control-' "$TMP/h" && fail "a request without Origin got CORS headers"
stop_server
rc=0
timeout 60 "$PAGEDVK" serve -m "$MODEL" --port 0 --cors-origin 'a.example/x' > /dev/null 2> "$TMP/err" || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "a malformed --cors-origin was accepted (rc $rc)"
grep -q 'bad CORS origin' "$TMP/err" || fail "malformed origin: $(cat "$TMP/err")"
echo "server http edges: ok"
