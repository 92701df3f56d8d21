#!/usr/bin/env bash
# SIGTERM under load: 16 clients (streaming and not) are generating when the server gets SIGTERM,
# and new clients keep arriving during the shutdown. Every streaming client must see a complete
# response ending in a final error chunk (or a finished stream) and [DONE]; every waiting client a
# 200 or a 503 error object; every late client a refused connection or a 503 — never a hang or a
# truncated response. The server exits 0 (in the sanitizer build: with no leak reported).
set -u
source "$(dirname "$0")/../server/lib.sh"
need_model
start_server --kv-mem 4M --drain-timeout 1
LONG='{"model":"'$MODEL_NAME'","prompt":"Once upon a time","max_tokens":400,"temperature":0.7,"ignore_eos":true'
pids=()
for i in $(seq 1 16); do
  if [ $((i % 2)) = 0 ]; then
    curl -sN -m 120 -H 'Content-Type: application/json' -d "$LONG"',"stream":true}' "$URL/v1/completions" \
      > "$TMP/s$i" 2>/dev/null &
  else
    curl -s -m 120 -o "$TMP/w$i" -w '%{http_code}' -H 'Content-Type: application/json' -d "$LONG}" \
      "$URL/v1/completions" > "$TMP/w$i.status" 2>/dev/null &
  fi
  pids+=($!)
done
for _ in $(seq 1 300); do
  [ "$(metric pagedvk_requests_running)" -ge 8 ] 2>/dev/null && break
  sleep 0.1
done
[ "$(metric pagedvk_requests_running)" -ge 8 ] 2>/dev/null || fail "the load never got going"
kill -TERM "$SERVER_PID"
# late clients during the shutdown
late=0
for i in $(seq 1 20); do
  code=$(curl -s -m 30 -o "$TMP/late$i" -w '%{http_code}' -H 'Content-Type: application/json' -d "$LONG}" \
    "$URL/v1/completions" 2>/dev/null)
  case "$code" in
    000) ;; # refused: the listening socket is closed
    503) jq -e '.error.code == "shutting_down"' "$TMP/late$i" >/dev/null || fail "late client: 503 without the error object" ;;
    *) fail "late client $i during shutdown got $code" ;;
  esac
  late=$((late + 1))
  kill -0 "$SERVER_PID" 2>/dev/null || break
done
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=
[ "$rc" = 0 ] || fail "server exited with $rc after SIGTERM under load"
for i in $(seq 1 16); do
  c=0
  wait "${pids[$((i - 1))]}" || c=$?
  if [ $((i % 2)) = 0 ]; then
    [ "$c" = 0 ] || fail "streaming client $i: curl exit $c"
    [ "$(grep -v '^$' "$TMP/s$i" | tail -n 1)" = "data: [DONE]" ] || fail "stream $i did not end with [DONE]"
    grep '^data: {' "$TMP/s$i" | tail -n 1 | sed 's/^data: //' |
      jq -e '(.error.code == "shutting_down") or (.choices[0].finish_reason != null)' >/dev/null ||
      fail "stream $i: last chunk neither an error nor a finish: $(tail -c 200 "$TMP/s$i")"
  else
    [ "$c" = 0 ] || fail "waiting client $i: curl exit $c"
    s=$(cat "$TMP/w$i.status")
    case "$s" in
      200) jq -e '.choices[0].finish_reason' "$TMP/w$i" >/dev/null || fail "client $i: 200 without a choice" ;;
      503) jq -e '.error.code == "shutting_down"' "$TMP/w$i" >/dev/null || fail "client $i: 503 body $(cat "$TMP/w$i")" ;;
      *) fail "waiting client $i got $s" ;;
    esac
  fi
done
grep -q 'stopped' "$TMP/server.log" || fail "no 'stopped' line in the log"
echo "shutdown under load: ok ($late late clients)"
