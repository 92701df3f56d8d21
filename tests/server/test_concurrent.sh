#!/usr/bin/env bash
# 64 concurrent streaming clients, each with a different greedy prompt: every streamed text must
# equal the same request's solo output. The expected texts come from `pagedvk run --json -f` (the
# engine without the server); the first few are also checked against serial requests to the server,
# one in flight at a time.
set -u
source "$(dirname "$0")/lib.sh"
need_model
N=64
TOKENS=5
start_server --max-num-seqs 64

prompt() { echo "Tale $1 of $(( $1 * 7 + 3 ))"; }
body() {
  jq -cn --arg m "$MODEL_NAME" --arg p "$(prompt "$1")" --argjson s "$2" --argjson t $TOKENS \
    '{model: $m, prompt: $p, max_tokens: $t, temperature: 0, ignore_eos: true, stream: $s}'
}

# expected outputs from the engine without the server
for i in $(seq 1 $N); do prompt "$i"; done > "$TMP/prompts.txt"
"$PAGEDVK" run -m "$MODEL" --kv-mem 64M -q --json -f "$TMP/prompts.txt" -n $TOKENS --temp 0 --ignore-eos \
  > "$TMP/run.jsonl" || fail "pagedvk run failed"
[ "$(wc -l < "$TMP/run.jsonl")" = $N ] || fail "pagedvk run gave $(wc -l < "$TMP/run.jsonl") lines"
for i in $(seq 1 $N); do
  sed -n "${i}p" "$TMP/run.jsonl" | jq -j .text > "$TMP/solo.$i"
done

# solo requests to the server, one at a time, agree
for i in 1 2 3; do
  [ "$(post /v1/completions "$(body "$i" false)")" = 200 ] || fail "solo $i: $(cat "$TMP/body")"
  jq -e ".usage.completion_tokens == $TOKENS" "$TMP/body" >/dev/null || fail "solo $i: usage $(cat "$TMP/body")"
  jq -j '.choices[0].text' "$TMP/body" > "$TMP/serial.$i"
  cmp -s "$TMP/serial.$i" "$TMP/solo.$i" || fail "serial $i '$(cat "$TMP/serial.$i")' != pagedvk run '$(cat "$TMP/solo.$i")'"
done

# all at once, streaming
pids=()
for i in $(seq 1 $N); do
  curl -sN --max-time 300 -H 'Content-Type: application/json' -d "$(body "$i" true)" "$URL/v1/completions" \
    > "$TMP/stream.$i" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a streaming client failed"; done
for i in $(seq 1 $N); do
  [ "$(grep -v '^$' "$TMP/stream.$i" | tail -n 1)" = "data: [DONE]" ] || fail "stream $i did not end with [DONE]"
  sse_text "$TMP/stream.$i" > "$TMP/got.$i"
  cmp -s "$TMP/got.$i" "$TMP/solo.$i" || fail "stream $i: '$(cat "$TMP/got.$i")' != solo '$(cat "$TMP/solo.$i")'"
done
peak=$(metric pagedvk_peak_running_sequences)
echo "peak running sequences: $peak"
[ "${peak%.*}" -gt 1 ] || fail "the streams never ran together (peak $peak)"
stop_server
echo "server concurrent: ok ($N streams)"
