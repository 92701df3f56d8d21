#!/usr/bin/env bash
# The load signals a router or autoscaler reads from a replica (issue 23 item 2): /metrics carries
# vLLM's names with the model_name label — requests running and waiting, KV cache usage, prefix
# cache queries and hits (in tokens), the queue-time histogram (one observation per request, also
# for requests that had to wait for a batch slot) — next to pagedvk's own; generation responses
# carry X-Pagedvk-Queue-Depth and X-Pagedvk-Running. The same prompt sent twice is a prefix-cache
# hit the second time.
set -u
source "$(dirname "$0")/lib.sh"
need_model
start_server --max-num-seqs 1

vm() { # vllm metric NAME → value of its model_name-labelled sample
  curl -s "$URL/metrics" | awk -v n="$1{model_name=\"$MODEL_NAME\"}" '$1 == n { print $2; exit }'
}
for n in vllm:num_requests_running vllm:num_requests_waiting vllm:kv_cache_usage_perc \
         vllm:prefix_cache_queries_total vllm:prefix_cache_hits_total vllm:generation_tokens_total; do
  [ -n "$(vm $n)" ] || fail "no $n{model_name=\"$MODEL_NAME\"} in /metrics"
done
[ "$(vm vllm:num_requests_running)" = 0 ] || fail "running on an idle server: $(vm vllm:num_requests_running)"
curl -s "$URL/metrics" > "$TMP/m0"
grep -q '^vllm:request_queue_time_seconds_bucket{model_name="'$MODEL_NAME'",le="+Inf"} 0$' "$TMP/m0" ||
  fail "no empty queue-time histogram: $(grep request_queue_time "$TMP/m0" | head -3)"
grep -q '^# TYPE vllm:request_queue_time_seconds histogram$' "$TMP/m0" || fail "queue time is not a histogram"

# a prompt of several KV blocks, twice in a row: the second finds its prefix cached
P=$(printf 'The quick brown fox jumps over the lazy dog number %s. ' $(seq 1 20))
body=$(jq -cn --arg m "$MODEL_NAME" --arg p "$P" '{model: $m, prompt: $p, max_tokens: 3, temperature: 0}')
curl -s -D "$TMP/hdr" -o "$TMP/body" -H 'Content-Type: application/json' -d "$body" "$URL/v1/completions" > /dev/null
grep -qi '^X-Pagedvk-Queue-Depth: [0-9]' "$TMP/hdr" || fail "no X-Pagedvk-Queue-Depth: $(cat "$TMP/hdr")"
grep -qi '^X-Pagedvk-Running: [0-9]' "$TMP/hdr" || fail "no X-Pagedvk-Running: $(cat "$TMP/hdr")"
q1=$(vm vllm:prefix_cache_queries_total)
h1=$(vm vllm:prefix_cache_hits_total)
[ "$(post /v1/completions "$body")" = 200 ] || fail "second request: $(cat "$TMP/body")"
q2=$(vm vllm:prefix_cache_queries_total)
h2=$(vm vllm:prefix_cache_hits_total)
awk -v a="$q1" -v b="$q2" 'BEGIN { exit !(b > a) }' || fail "prefix cache queries did not grow: $q1 → $q2"
awk -v a="$h1" -v b="$h2" 'BEGIN { exit !(b > a) }' || fail "no prefix cache hit for a repeated prompt: $h1 → $h2"
[ "$h2" = "$(metric pagedvk_prefix_cache_hits_tokens_total)" ] || fail "vllm: and pagedvk_ hit counters differ"

# three at once through one batch slot: two of them wait; every request is one queue-time observation
pids=()
for i in 1 2 3; do
  curl -s -o "$TMP/c$i" -H 'Content-Type: application/json' \
    -d "$(jq -cn --arg m "$MODEL_NAME" --arg p "Story $i" '{model: $m, prompt: $p, max_tokens: 8, temperature: 0, ignore_eos: true}')" \
    "$URL/v1/completions" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent request failed"; done
for i in 1 2 3; do jq -e '.choices[0].text | type == "string"' "$TMP/c$i" >/dev/null || fail "request $i: $(cat "$TMP/c$i")"; done
cnt=$(curl -s "$URL/metrics" | awk '$1 == "vllm:request_queue_time_seconds_count{model_name=\"'$MODEL_NAME'\"}" { print $2 }')
[ "$cnt" = 5 ] || fail "queue-time observations: $cnt, want 5 (one per request)"
[ "$(metric pagedvk_request_queue_time_seconds_count)" = 5 ] || fail "pagedvk_request_queue_time_seconds_count is not 5"
stop_server
echo "load signals: ok"
