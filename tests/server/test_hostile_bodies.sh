#!/usr/bin/env bash
# Hostile and odd request bodies against a running server (the bounded JSON reader, strings as
# bytes with a length, exact integers, the caps of a request):
# - four 8 MiB bodies of 4 million zeros at once: each a 400 "json_limit_exceeded" naming the
#   limit, and the server's peak memory grows by less than 512 MiB (a cJSON tree of each took
#   ~330 MB: +1.3 GB); arrays nested 100 deep: 400;
# - "\u0000" in a completion prompt and in a chat message is part of the text (more prompt tokens
#   than the text before it), a NUL stop string is accepted, a lone surrogate stop is a 400;
# - seed 2^64-1 is taken, 2^64 refused; 257 stop_token_ids refused;
# - logprobs: n=64, max_tokens=1000, top_logprobs=20 (1344000 entries) is a 400; n=8,
#   max_tokens=100, top_logprobs=20 answers a whole, valid body of every entry.
# The server still serves afterwards and every KV block is free.
set -u
source "$(dirname "$0")/lib.sh"
need_model
start_server -c 2048

M='"model":"'$MODEL_NAME'"'
peak_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status"; }

# --- four 8 MiB bodies of zeros at once -------------------------------------------------------
{ printf '{%s,"prompt":"hi","x":[' "$M"; yes '0,' | head -n 4190000 | tr -d '\n'; printf '0]}'; } > "$TMP/zeros"
[ "$(stat -c %s "$TMP/zeros")" -le 8388608 ] || fail "the zeros body is over the server's 8 MiB"
curl -s -o /dev/null -H 'Content-Type: application/json' -d "{$M,\"prompt\":\"hi\",\"max_tokens\":2}" "$URL/v1/completions"
PEAK0=$(peak_kb)
pids=()
for k in 1 2 3 4; do
  curl -s -o "$TMP/z$k" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$TMP/zeros" \
    "$URL/v1/completions" > "$TMP/z$k.code" &
  pids+=($!)
done
wait "${pids[@]}"
for k in 1 2 3 4; do
  [ "$(cat "$TMP/z$k.code")" = 400 ] || fail "zeros body $k: status $(cat "$TMP/z$k.code"): $(head -c 300 "$TMP/z$k")"
  jq -e '.error.code == "json_limit_exceeded" and (.error.message | contains("more than 1048576 values"))' "$TMP/z$k" \
    >/dev/null || fail "zeros body $k: $(cat "$TMP/z$k")"
done
PEAK1=$(peak_kb)
[ $((PEAK1 - PEAK0)) -lt 524288 ] || fail "four hostile bodies raised the peak memory by $((PEAK1 - PEAK0)) kB"
DEEP=$(printf '[%.0s' $(seq 1 100))$(printf ']%.0s' $(seq 1 100))
expect_error 400 json_limit_exceeded /v1/completions "{$M,\"prompt\":\"hi\",\"x\":$DEEP}"

# --- NUL bytes are text -----------------------------------------------------------------------
ptoks() { post "$1" "$2" >/dev/null; jq -r .usage.prompt_tokens "$TMP/body"; }
A=$(ptoks /v1/completions "{$M,\"prompt\":\"a\",\"max_tokens\":1}")
ANB=$(ptoks /v1/completions "{$M,\"prompt\":\"a\\u0000b\",\"max_tokens\":1}")
[ "$ANB" -gt "$A" ] 2>/dev/null || fail "prompt \"a\\u0000b\" has $ANB tokens, \"a\" $A: cut at the NUL"
X=$(ptoks /v1/chat/completions "{$M,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":1}")
XNY=$(ptoks /v1/chat/completions "{$M,\"messages\":[{\"role\":\"user\",\"content\":\"x\\u0000y\"}],\"max_tokens\":1}")
[ "$XNY" -gt "$X" ] 2>/dev/null || fail "message \"x\\u0000y\" has $XNY tokens, \"x\" $X: cut at the NUL"
[ "$(post /v1/completions "{$M,\"prompt\":\"hi\",\"max_tokens\":3,\"stop\":[\"\\u0000\"]}")" = 200 ] ||
  fail "NUL stop string: $(cat "$TMP/body")"
expect_error 400 invalid_value /v1/completions "{$M,\"prompt\":\"hi\",\"stop\":\"\\ud800\"}"
[ "$(jq -r .error.param "$TMP/body")" = stop ] || fail "lone surrogate: param $(jq -r .error.param "$TMP/body")"

# --- integers and caps ------------------------------------------------------------------------
[ "$(post /v1/completions "{$M,\"prompt\":\"hi\",\"max_tokens\":3,\"seed\":18446744073709551615}")" = 200 ] ||
  fail "seed 2^64-1: $(cat "$TMP/body")"
expect_error 400 invalid_value /v1/completions "{$M,\"prompt\":\"hi\",\"seed\":18446744073709551616}"
IDS=$(seq -s, 2 258)
expect_error 400 invalid_value /v1/completions "{$M,\"prompt\":\"hi\",\"stop_token_ids\":[$IDS]}"

# --- logprobs ---------------------------------------------------------------------------------
CHAT="$M,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"temperature\":0,\"ignore_eos\":true,\"logprobs\":true,\"top_logprobs\":20"
expect_error 400 invalid_value /v1/chat/completions "{$CHAT,\"n\":64,\"max_tokens\":1000}"
jq -e '.error.param == "top_logprobs" and (.error.message | contains("1344000 entries"))' "$TMP/body" >/dev/null ||
  fail "logprob bound message: $(cat "$TMP/body")"
[ "$(post /v1/chat/completions "{$CHAT,\"n\":8,\"max_tokens\":100}")" = 200 ] || fail "n=8 logprobs: $(head -c 300 "$TMP/body")"
jq -e '(.choices | length == 8) and all(.choices[]; (.logprobs.content | length == 100)
       and all(.logprobs.content[]; .top_logprobs | length == 20) and .finish_reason == "length")
       and .usage.completion_tokens == 800' "$TMP/body" >/dev/null || fail "n=8 logprobs body: $(head -c 300 "$TMP/body")"

# the server still serves
[ "$(post /v1/completions "{$M,\"prompt\":\"hi\",\"max_tokens\":2}")" = 200 ] || fail "after the hostile bodies"
stop_server
echo "server hostile bodies: ok"
