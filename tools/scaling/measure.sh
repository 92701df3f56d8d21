#!/usr/bin/env bash
# measure.sh BUILD_DIR [MODEL.gguf] — docs/SCALING.md's numbers: the multi-turn workload of
# replica_load.py through nginx (tools/scaling/nginx-conf.sh) against fresh replicas, in three runs:
#   1 replica, session keys | 2 replicas, session keys (sticky) | 2 replicas, no keys (least_conn)
# For each: generated tokens per second of the whole run (the replicas' vllm:generation_tokens_total
# over the load's wall time) and the prefix-cache hit rate (vllm:prefix_cache_hits_total /
# queries_total, summed over the replicas, during the load). Environment: CLIENTS (16), SESSIONS (8),
# TURNS (4), MAX_TOKENS (32), KV_MEM (64M), SERVE_ARGS (extra serve options). Needs nginx, python3, curl.
set -eu
BUILD=$(cd "${1:?build dir}" && pwd)
MODEL=${2:-$BUILD/tests/models/syn-llama-q4k.gguf}
HERE=$(cd "$(dirname "$0")" && pwd)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
CLIENTS=${CLIENTS:-16} SESSIONS=${SESSIONS:-8} TURNS=${TURNS:-4} MAX_TOKENS=${MAX_TOKENS:-32} KV_MEM=${KV_MEM:-64M}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pv-measure.XXXXXX")
PIDS=()
stop_all() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
}
trap 'stop_all; rm -rf "$TMP"' EXIT
tpl=()
case "$MODEL" in */syn-llama-*.gguf) tpl=(--chat-template llama2) ;; esac

run() { # run N_REPLICAS sticky|balanced
  local n=$1 mode=$2 r=() i port
  for i in $(seq 1 "$n"); do
    # shellcheck disable=SC2086
    "$BUILD/pagedvk" serve -m "$MODEL" --port 0 -q "${tpl[@]}" --kv-mem "$KV_MEM" --served-model-name m \
      --max-connections-per-client 1000 ${SERVE_ARGS:-} > /dev/null 2> "$TMP/r$i.log" &
    PIDS+=($!)
  done
  for i in $(seq 1 "$n"); do
    port=
    while [ -z "$port" ]; do
      sleep 0.2
      port=$(sed -n 's/.*listening on http:\/\/[^ ,]*:\([0-9]*\), .*/\1/p' "$TMP/r$i.log" | head -n 1)
    done
    r+=("127.0.0.1:$port")
  done
  local np
  np=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  rm -rf "$TMP/ngx" && mkdir -p "$TMP/ngx/tmp"
  bash "$HERE/nginx-conf.sh" "$np" "${r[@]}" > "$TMP/ngx/nginx.conf"
  "$NGINX" -p "$TMP/ngx" -c "$TMP/ngx/nginx.conf" -e "$TMP/ngx/error.log" -g 'daemon off;' &
  PIDS+=($!)
  until curl -sf -o /dev/null "http://127.0.0.1:$np/health"; do sleep 0.1; done
  local before=() after=() x
  for x in "${r[@]}"; do before+=("$(python3 "$HERE/replica_load.py" metrics --url "http://$x")"); done
  local keys=()
  [ "$mode" = balanced ] && keys=(--no-session-header)
  python3 "$HERE/replica_load.py" load --url "http://127.0.0.1:$np" --clients "$CLIENTS" --sessions "$SESSIONS" \
    --turns "$TURNS" --max-tokens "$MAX_TOKENS" "${keys[@]}" > "$TMP/load.json"
  for x in "${r[@]}"; do after+=("$(python3 "$HERE/replica_load.py" metrics --url "http://$x")"); done
  python3 - "$n" "$mode" "$TMP/load.json" "${before[@]}" "${after[@]}" <<'PY'
import json, sys
n, mode, load = int(sys.argv[1]), sys.argv[2], json.load(open(sys.argv[3]))
b = [json.loads(x) for x in sys.argv[4:4 + n]]
a = [json.loads(x) for x in sys.argv[4 + n:4 + 2 * n]]
d = lambda k: sum(a[i][k] - b[i][k] for i in range(n))
gen, hits, q = d("vllm:generation_tokens_total"), d("vllm:prefix_cache_hits_total"), d("vllm:prefix_cache_queries_total")
print(f"| {n} | {'X-Session-Id (hash)' if mode == 'sticky' else 'none (least_conn)'} | {load['ok']}/{load['requests']} | "
      f"{load['seconds']:.1f} | {gen:.0f} | {gen / load['seconds']:.1f} | {hits:.0f}/{q:.0f} = {100 * hits / q if q else 0:.1f}% |")
PY
  stop_all
}
echo "| replicas | routing key | ok | seconds | tokens | tokens/s | prefix-cache hits / queries (tokens) |"
echo "|---|---|---|---|---|---|---|"
run 1 sticky
run 2 sticky
run 2 balanced
