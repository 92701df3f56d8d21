#!/usr/bin/env bash
# Two replicas behind Debian's nginx, with the configuration of docs/SCALING.md
# (tools/scaling/nginx-conf.sh), on loopback ports (issue 23 item 5). Needs nginx (tools/deps.sh
# installs it; this test runs the binary with its own prefix and config, never the system service),
# python3, curl and jq; skips (77) without them. The workload is tools/scaling/replica_load.py:
# 16 clients, 8 sessions of 4 chat turns each (every turn's prompt extends the previous one),
# 64 requests, half of them streamed, greedy.
# 1. Routing: every reply equals the same conversation run solo, one request at a time, on one
#    replica (after the routed run, so the replicas' prefix caches saw only routed requests); both
#    replicas served requests; every request of a session key went to the same replica (nginx's
#    X-Upstream); each replica's prefix cache had hits during the routed run (its sessions' later
#    turns found their earlier turns' blocks).
# 2. Drain: the same load again, and one replica gets SIGTERM once 8 replies have come (the load
#    script sends it: no timing). No request is lost: every one of the 64 replies is there and
#    correct — the draining replica finishes what it took (its streams are never cut) and answers
#    new ones 503 with Connection: close, which nginx sends to the other replica, as it does the
#    requests refused once the replica has gone; the replica drains and exits 0. (Without the drain,
#    the streams it was running would end in error events: clean, but lost.)
set -u
source "$(dirname "$0")/lib.sh"
need_model
need_tools python3
NGINX=$(command -v nginx || true)
[ -z "$NGINX" ] && [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
[ -n "$NGINX" ] || { echo "skip: needs nginx (Debian's package; tools/deps.sh installs it)"; exit 77; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LOAD=$ROOT/tools/scaling/replica_load.py
PIDS=()
NGINX_PID=

cleanup_all() {
  [ -n "$NGINX_PID" ] && kill -TERM "$NGINX_PID" 2>/dev/null
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  cleanup
}
trap cleanup_all EXIT

fail_r() {
  for i in 1 2; do [ -f "$TMP/r$i.log" ] && { echo "--- replica $i log (tail) ---" >&2; tail -n 15 "$TMP/r$i.log" >&2; }; done
  [ -f "$TMP/ngx/error.log" ] && { echo "--- nginx error.log ---" >&2; tail -n 15 "$TMP/ngx/error.log" >&2; }
  fail "$@"
}

# two replicas: the same model, small pools; every client is nginx, so no per-address cap
for i in 1 2; do
  "$PAGEDVK" serve -m "$MODEL" --port 0 -q $(chat_template_opts) --kv-mem 16M --served-model-name m \
    --max-connections-per-client 1000 --drain-timeout 120 > /dev/null 2> "$TMP/r$i.log" &
  PIDS+=($!)
done
R=()
for i in 1 2; do
  port=
  for _ in $(seq 1 1800); do
    port=$(sed -n 's/.*listening on http:\/\/[^ ,]*:\([0-9]*\), .*/\1/p' "$TMP/r$i.log" | head -n 1)
    [ -n "$port" ] && break
    kill -0 "${PIDS[$((i - 1))]}" 2>/dev/null || fail_r "replica $i exited during start"
    sleep 0.1
  done
  [ -n "$port" ] || fail_r "replica $i did not start"
  R+=("127.0.0.1:$port")
done
for r in "${R[@]}"; do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$r/health")" = 200 ] || fail_r "replica $r not ready"
done

# nginx on a free loopback port (another process may take it between the probe and the bind: try again)
mkdir -p "$TMP/ngx/tmp"
for attempt in 1 2 3 4 5; do
  NPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  bash "$ROOT/tools/scaling/nginx-conf.sh" "$NPORT" "${R[@]}" > "$TMP/ngx/nginx.conf"
  "$NGINX" -p "$TMP/ngx" -c "$TMP/ngx/nginx.conf" -e "$TMP/ngx/error.log" -g 'daemon off;' 2>> "$TMP/ngx/start.log" &
  NGINX_PID=$!
  up=
  for _ in $(seq 1 100); do
    kill -0 "$NGINX_PID" 2>/dev/null || break
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NPORT/health")" = 200 ] && { up=1; break; }
    sleep 0.1
  done
  [ -n "$up" ] && break
  kill -TERM "$NGINX_PID" 2>/dev/null
  wait "$NGINX_PID" 2>/dev/null
  NGINX_PID=
done
[ -n "$NGINX_PID" ] || fail_r "nginx did not start: $(tail -n 5 "$TMP/ngx/start.log" "$TMP/ngx/error.log" 2>/dev/null)"
NGX=http://127.0.0.1:$NPORT

# 8 session keys, 4 on each replica: the consistent hash of a key depends on the replicas' random
# ports, so the keys are picked by asking nginx where candidates go (a GET /v1/models each)
python3 "$LOAD" route --url "$NGX" --keys "$(seq -s, -f 'key-%g' 0 63)" > "$TMP/routes.json" || fail_r "route lookup failed"
KEYS=$(jq -r --arg a "${R[0]}" --arg b "${R[1]}" \
  '[to_entries[] | select(.value == $a) | .key][0:4] + [to_entries[] | select(.value == $b) | .key][0:4] | join(",")' \
  "$TMP/routes.json")
[ "$(echo "$KEYS" | tr ',' '\n' | grep -c .)" = 8 ] || fail_r "cannot find 4 keys for each replica: $(cat "$TMP/routes.json")"

metric_of() { # metric_of HOST:PORT NAME → value
  curl -s "http://$1/metrics" | awk -v n="$2" 'index($1, n "{") == 1 || $1 == n { print $2; exit }'
}
h0=() q0=()
for r in "${R[@]}"; do h0+=("$(metric_of "$r" vllm:prefix_cache_hits_total)"); q0+=("$(metric_of "$r" vllm:prefix_cache_queries_total)"); done

# ---- 1. routing ----
python3 "$LOAD" load --url "$NGX" --keys "$KEYS" --clients 16 --sessions 8 --turns 4 --max-tokens 8 --stream-every 2 \
  > "$TMP/load1.json" || fail_r "load 1 failed"
jq -e '.requests == 64 and .ok == 64' "$TMP/load1.json" >/dev/null ||
  fail_r "load 1: $(jq -c 'del(.routes, .replies)' "$TMP/load1.json")"
for i in 0 1; do
  h=$(metric_of "${R[$i]}" vllm:prefix_cache_hits_total)
  q=$(metric_of "${R[$i]}" vllm:prefix_cache_queries_total)
  awk -v a="${h0[$i]}" -v b="$h" 'BEGIN { exit !(b > a) }' || fail_r "replica ${R[$i]}: no prefix-cache hits during the routed load"
  echo "replica ${R[$i]}: prefix cache $((${h%.*} - ${h0[$i]%.*})) of $((${q%.*} - ${q0[$i]%.*})) prompt tokens hit"
done
# the solo reference: one request at a time on replica 1, after the routed run
python3 "$LOAD" solo --url "http://${R[0]}" --sessions 8 --turns 4 --max-tokens 8 --out "$TMP/solo.json" ||
  fail_r "solo run failed"
python3 "$LOAD" compare --expect "$TMP/solo.json" --got "$TMP/load1.json" --sessions 8 || fail_r "routed replies differ from solo"
# both replicas served, and each session stayed on one
jq -e --arg a "${R[0]}" --arg b "${R[1]}" '[.routes[][3]] | (index($a) != null) and (index($b) != null)' \
  "$TMP/load1.json" >/dev/null || fail_r "not both replicas served: $(jq -c '[.routes[][3]] | unique' "$TMP/load1.json")"
jq -e '[.routes | group_by(.[1])[] | map(.[3]) | unique | length] | all(. == 1)' "$TMP/load1.json" >/dev/null ||
  fail_r "a session key was served by two replicas: $(jq -c '[.routes | group_by(.[1])[] | map(.[3]) | unique]' "$TMP/load1.json")"

# ---- 2. one replica leaves during the load ----
python3 "$LOAD" load --url "$NGX" --keys "$KEYS" --clients 16 --sessions 8 --turns 4 --max-tokens 8 --stream-every 2 \
  --expect "$TMP/solo.json" --kill-pid "${PIDS[1]}" --kill-after 8 > "$TMP/load2.json" || fail_r "load 2 failed"
jq -c 'del(.routes, .replies)' "$TMP/load2.json"
jq -e '.killed_after == 8' "$TMP/load2.json" >/dev/null || fail_r "the load never sent SIGTERM"
jq -e '.requests == 64 and .broken == 0 and .wrong == 0 and .ok == 64' "$TMP/load2.json" >/dev/null ||
  fail_r "requests lost while a replica drained: $(jq -c 'del(.routes, .replies)' "$TMP/load2.json")"
rc=0
wait "${PIDS[1]}" || rc=$?
[ "$rc" = 0 ] || fail_r "the drained replica exited with $rc"
grep -q 'draining' "$TMP/r2.log" || fail_r "replica 2 never drained"
# what came after it left went to replica 1
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://${R[0]}/health")" = 200 ] || fail_r "replica 1 is not ready after the load"
echo "replicas behind nginx: ok"

