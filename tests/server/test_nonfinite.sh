#!/usr/bin/env bash
# A model that produces NaN logits (mkmodel --poison-tensor output_norm.weight: every request is
# affected) served by `pagedvk serve`: each request, greedy or sampled, alone or four at once,
# streamed or not, fails with 500 and "the model produced non-finite logits (NaN/inf)"; /health stays
# 200 and the process keeps running (it used to fail every request and exit 1, or answer greedy
# requests with garbage); at the end every KV block is free and SIGTERM exits 0.
# Makes its model with the built mkmodel; $1 = build dir; exit 77 = skip.
set -u
. "$(dirname "$0")/lib.sh"
MKMODEL=$BUILD/mkmodel
[ -x "$PAGEDVK" ] && [ -x "$MKMODEL" ] || { echo "skip: no $PAGEDVK or $MKMODEL"; exit 77; }
command -v curl >/dev/null && command -v jq >/dev/null || { echo "skip: needs curl and jq"; exit 77; }

MODEL=$TMP/nan.gguf
"$MKMODEL" --n-embd 64 --n-head 2 --n-ff 128 --n-layer 2 --ctx 256 --poison-tensor output_norm.weight \
  -o "$MODEL" 2>/dev/null || fail "mkmodel failed"
start_server
NAME=$(curl -s "$URL/v1/models" | jq -r '.data[0].id')
[ -n "$NAME" ] && [ "$NAME" != null ] || fail "no model name in /v1/models"
MSG="the model produced non-finite logits (NaN/inf)"

still_up() {
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited after: $1"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health")" = 200 ] || fail "/health not 200 after: $1"
}

for body in \
  "{\"model\":\"$NAME\",\"prompt\":\"hello\",\"max_tokens\":4,\"temperature\":0}" \
  "{\"model\":\"$NAME\",\"prompt\":\"hello there\",\"max_tokens\":4,\"temperature\":0.8,\"seed\":1}" \
  "{\"model\":\"$NAME\",\"prompt\":\"hi\",\"max_tokens\":4,\"temperature\":0,\"logprobs\":2}"; do
  expect_error 500 "" /v1/completions "$body"
  case "$(jq -r .error.message "$TMP/body")" in *"$MSG"*) ;; *) fail "$body: message: $(cat "$TMP/body")" ;; esac
  still_up "$body"
done

# four at once (waiting for those four only: the server is a background job too)
PIDS=
for i in 1 2 3 4; do
  curl -s -o "$TMP/par$i" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "{\"model\":\"$NAME\",\"prompt\":\"request $i\",\"max_tokens\":8,\"temperature\":0}" "$URL/v1/completions" \
    > "$TMP/code$i" &
  PIDS="$PIDS $!"
done
# shellcheck disable=SC2086
wait $PIDS
for i in 1 2 3 4; do
  [ "$(cat "$TMP/code$i")" = 500 ] || fail "parallel request $i: status $(cat "$TMP/code$i"): $(cat "$TMP/par$i")"
  grep -qF "$MSG" "$TMP/par$i" || fail "parallel request $i: $(cat "$TMP/par$i")"
done
still_up "four requests at once"

# streamed: the error reaches the stream
curl -s -N -H 'Content-Type: application/json' \
  -d "{\"model\":\"$NAME\",\"prompt\":\"hello\",\"max_tokens\":4,\"temperature\":0,\"stream\":true}" \
  "$URL/v1/completions" > "$TMP/stream" || true
grep -qF "non-finite logits" "$TMP/stream" || fail "stream: $(cat "$TMP/stream")"
still_up "a streamed request"

stop_server
echo "non-finite logits: ok"
