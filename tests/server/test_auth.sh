#!/usr/bin/env bash
# The API key (issue 21 items 3 and 9):
# - an empty key is refused with a clear error and exit 2: `--api-key ""` (an unset variable),
#   PAGEDVK_API_KEY set but empty, an empty --api-key-file; the server never starts without one;
# - the key from --api-key-file and from PAGEDVK_API_KEY is enforced; /metrics needs it unless
#   --metrics-no-auth; /health never does;
# - 401 (no key) and 413 (Content-Length above the limit) come from the headers alone: a client
#   that announces 200 MiB and sends none of it gets its answer; a chunked body that grows past
#   the limit has its connection closed long before 64 MiB were sent;
# - binding beyond loopback without a key logs a WARNING.
set -u
source "$(dirname "$0")/lib.sh"
need_model
command -v python3 >/dev/null || { echo "skip: needs python3"; exit 77; }

# --- empty keys: exit 2 with the reason, before loading anything ----------------------------------
refused() { # refused WHAT-IN-STDERR [env…] -- serve args…
  local want=$1 rc=0
  shift
  timeout 60 env "$@" > "$TMP/out" 2> "$TMP/err" || rc=$?
  [ "$rc" = 2 ] || fail "$* exited $rc, want 2: $(cat "$TMP/err")"
  grep -q "$want" "$TMP/err" || fail "$*: stderr lacks '$want': $(cat "$TMP/err")"
}
refused 'api-key is empty' "$PAGEDVK" serve -m "$MODEL" --api-key ""
refused 'api-key is empty' "$PAGEDVK" serve -m "$MODEL" --api-key=
refused 'PAGEDVK_API_KEY is set but empty' PAGEDVK_API_KEY= "$PAGEDVK" serve -m "$MODEL"
: > "$TMP/empty.key"
refused 'first line is empty' "$PAGEDVK" serve -m "$MODEL" --api-key-file "$TMP/empty.key"
refused 'no-such.key' "$PAGEDVK" serve -m "$MODEL" --api-key-file "$TMP/no-such.key"

status() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }

# --- the key from a file; /metrics behind it --------------------------------------------------------
printf 'file-key-%s\n' $$ > "$TMP/good.key"
KEY=file-key-$$
start_server --api-key-file "$TMP/good.key"
API_KEY=$KEY
M='"model":"'$MODEL_NAME'"'
[ "$(status "$URL/v1/models")" = 401 ] || fail "/v1/models without the file's key"
[ "$(status -H "Authorization: Bearer $KEY" "$URL/v1/models")" = 200 ] || fail "/v1/models with the file's key"
[ "$(status "$URL/metrics")" = 401 ] || fail "/metrics without the key: $(head -c 200 "$TMP/body")"
[ "$(status -H "Authorization: Bearer wrong" "$URL/metrics")" = 401 ] || fail "/metrics with a wrong key"
[ "$(status -H "Authorization: Bearer $KEY" "$URL/metrics")" = 200 ] || fail "/metrics with the key"
[ "$(status "$URL/health")" = 200 ] || fail "/health needs no key"
grep -q WARNING "$TMP/server.log" && fail "a loopback server with a key warned: $(grep WARNING "$TMP/server.log")"

# --- 401 and 413 from the headers: nothing of the 200 MiB body is sent ----------------------------
# early PATH [header…] → the status line the server answered with before any body byte was sent
early() {
  python3 - "${URL##*:}" "$@" <<'EOF'
import socket, sys
port, path, headers = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
s = socket.create_connection(("127.0.0.1", port))
req = "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 209715200\r\n" % path
s.sendall((req + "".join(h + "\r\n" for h in headers) + "\r\n").encode())
s.settimeout(10)
data = b""
try:
    while b"\r\n" not in data:
        b = s.recv(4096)
        if not b:
            break
        data += b
except socket.timeout:
    pass
print(data.split(b"\r\n")[0].decode() if data else "no answer")
EOF
}
got=$(early /v1/completions)
case "$got" in "HTTP/1.1 401"*) ;; *) fail "200 MiB announced without a key: '$got', want 401 before the body" ;; esac
got=$(early /v1/chat/completions "Authorization: Bearer wrong")
case "$got" in "HTTP/1.1 401"*) ;; *) fail "a wrong key: '$got', want 401 before the body" ;; esac
got=$(early /v1/completions "Authorization: Bearer $KEY")
case "$got" in "HTTP/1.1 413"*) ;; *) fail "200 MiB announced with the key: '$got', want 413 before the body" ;; esac
got=$(early /v1/nowhere)
case "$got" in "HTTP/1.1 404"*) ;; *) fail "200 MiB to an unknown path: '$got', want 404 before the body" ;; esac

# a chunked body past the limit (8 MiB): the connection closes long before 64 MiB are sent
sent=$(python3 - "${URL##*:}" "$KEY" <<'EOF'
import socket, sys
port, key = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
s.sendall(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" % key).encode())
chunk = b"100000\r\n" + b" " * 0x100000 + b"\r\n"
sent = 0
try:
    for _ in range(64):
        s.sendall(chunk)
        sent += 1
    s.sendall(b"0\r\n\r\n")
    s.settimeout(30)
    s.recv(4096)
except OSError:
    pass
print(sent)
EOF
)
[ "$sent" -lt 64 ] || fail "a 64 MiB chunked body was read whole (the limit is 8 MiB)"
[ "$(status "$URL/health")" = 200 ] || fail "/health after the big bodies"
stop_server

# --- PAGEDVK_API_KEY, --metrics-no-auth, and the warning beyond loopback -------------------------
export PAGEDVK_API_KEY=env-key-$$
start_server --metrics-no-auth
unset PAGEDVK_API_KEY
API_KEY=
[ "$(status "$URL/v1/models")" = 401 ] || fail "/v1/models without PAGEDVK_API_KEY's key"
[ "$(status -H "Authorization: Bearer env-key-$$" "$URL/v1/models")" = 200 ] || fail "/v1/models with PAGEDVK_API_KEY's key"
[ "$(status "$URL/metrics")" = 200 ] || fail "/metrics with --metrics-no-auth"
stop_server

start_server --host 0.0.0.0
grep -q 'WARNING: binding 0.0.0.0, beyond loopback, without an API key' "$TMP/server.log" ||
  fail "no warning for 0.0.0.0 without a key"
stop_server
echo "server auth: ok"
