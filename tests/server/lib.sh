# lib.sh — helpers for the server tests (sourced). $1 = build dir, $2 = shared dir (outside
# oracles only: llama.cpp outputs, real vocabularies and templates; may be absent).
# Starts `pagedvk serve` on a free port (--port 0; the port is read from its log; clients use
# 127.0.0.1, which a --host 0.0.0.0 server also answers),
# waits for /health, and at the end checks /metrics shows every KV block free and nothing
# running, then stops it with SIGTERM and expects exit 0. Loops are bounded; exit 77 = skip.
# The model is the test model syn-llama-q4k that the ctest fixture `models` made with mkmodel
# (tests/make_models.cmake): $MODELS/NAME.gguf holds the others.

BUILD=${1:?build dir}
SHARED=${2:-}
PAGEDVK=$BUILD/pagedvk
MODELS=$BUILD/tests/models
MODEL=$MODELS/syn-llama-q4k.gguf
MODEL_NAME=syn-llama-q4k
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pv-server-test.XXXXXX")
SERVER_PID=
URL=

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -KILL "$SERVER_PID" 2>/dev/null; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [ -f "$TMP/server.log" ]; then echo "--- server log (tail) ---" >&2; tail -n 30 "$TMP/server.log" >&2; fi
  exit 1
}

# need_model — the model and the binary must be there (a missing one fails: the fixture `models`
# makes the model, the build the binary); curl and jq (tools/deps.sh installs them) or skip.
need_model() {
  [ -x "$PAGEDVK" ] || fail "$PAGEDVK not built"
  [ -f "$MODEL" ] || fail "no test model $MODEL: the ctest fixture 'models' makes it (tests/make_models.cmake)"
  need_tools curl jq
}

# need_tools CMD… — skip (77), naming the missing commands, unless each is on PATH.
need_tools() {
  local missing=() t
  for t in "$@"; do command -v "$t" >/dev/null || missing+=("$t"); done
  [ ${#missing[@]} = 0 ] || { echo "skip: needs ${missing[*]} (tools/deps.sh installs them)"; exit 77; }
}

# The test models (mkmodel's built-in SentencePiece vocabulary) carry no chat template and no
# ChatML tokens, so no fallback: chats on them use the built-in template of the llama2 family.
chat_template_opts() {
  case "$MODEL" in */syn-llama-*.gguf) echo --chat-template llama2 ;; esac
}

# start_server [extra serve options…]
start_server() {
  : > "$TMP/server.log"
  # shellcheck disable=SC2046
  "$PAGEDVK" serve -m "$MODEL" --port 0 --kv-mem 64M -q $(chat_template_opts) "$@" > "$TMP/server.out" 2> "$TMP/server.log" &
  SERVER_PID=$!
  local port=
  for _ in $(seq 1 1200); do
    port=$(sed -n 's/.*listening on http:\/\/[^ ,]*:\([0-9]*\), .*/\1/p' "$TMP/server.log" | head -n 1)
    [ -n "$port" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited during start"
    sleep 0.1
  done
  [ -n "$port" ] || fail "server did not start"
  URL=http://127.0.0.1:$port
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health")" = 200 ] && return 0
    sleep 0.1
  done
  fail "/health never answered 200"
}

# metric NAME → its value (first sample). With an API key, /metrics needs it: set API_KEY.
API_KEY=
metric() {
  local auth=()
  [ -n "$API_KEY" ] && auth=(-H "Authorization: Bearer $API_KEY")
  curl -s "${auth[@]}" "$URL/metrics" | awk -v n="$1" '$1 == n { print $2; exit }'
}

# Waits (bounded) until no KV block is used and no request runs or waits.
expect_blocks_free() {
  local used= running= waiting=
  for _ in $(seq 1 200); do
    used=$(metric pagedvk_kv_blocks_used)
    running=$(metric pagedvk_requests_running)
    waiting=$(metric pagedvk_requests_waiting)
    [ "$used" = 0 ] && [ "$running" = 0 ] && [ "$waiting" = 0 ] && return 0
    sleep 0.1
  done
  fail "KV blocks still used after the test: used=$used running=$running waiting=$waiting"
}

# Checks the blocks are free, stops the server with SIGTERM and expects exit 0.
stop_server() {
  expect_blocks_free
  kill -TERM "$SERVER_PID"
  local rc=0
  wait "$SERVER_PID" || rc=$?
  SERVER_PID=
  [ "$rc" = 0 ] || fail "server exited with $rc after SIGTERM"
}

# post PATH JSON → body in $TMP/body, status echoed
post() {
  curl -s -o "$TMP/body" -w '%{http_code}' -H 'Content-Type: application/json' "${@:3}" -d "$2" "$URL$1"
}

# expect_error STATUS CODE_OR_EMPTY PATH JSON [curl args] — an OpenAI error object with that status
expect_error() {
  local want=$1 code=$2 path=$3 json=$4
  shift 4
  local got
  got=$(post "$path" "$json" "$@")
  [ "$got" = "$want" ] || fail "$path $json: status $got, want $want: $(cat "$TMP/body")"
  jq -e '.error | (.message | type == "string") and (.type | type == "string") and has("param") and has("code")' \
    "$TMP/body" >/dev/null || fail "$path $json: not an error object: $(cat "$TMP/body")"
  if [ -n "$code" ]; then
    [ "$(jq -r .error.code "$TMP/body")" = "$code" ] || fail "$path $json: code $(jq -r .error.code "$TMP/body"), want $code"
  fi
}

# sse_text FILE → the concatenated text (completions) or delta content (chat) of choice 0
sse_text() {
  grep '^data: {' "$1" | sed 's/^data: //' | jq -j '.choices[]? | select(.index == 0) | (.text // .delta.content // "")'
}

# rss_kib → the server's VmRSS in KiB
rss_kib() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$SERVER_PID/status"; }

# settle → the server's VmRSS (KiB) once idle and steady: waits until it stops moving (the server
# trims its heap a second after its last request); bounded
settle() {
  local prev=0 cur
  sleep 2
  for _ in $(seq 1 40); do
    sleep 0.5
    cur=$(rss_kib)
    [ "$prev" -gt 0 ] && [ "$cur" -ge $((prev - 1024)) ] && [ "$cur" -le $((prev + 1024)) ] && break
    prev=$cur
  done
  rss_kib
}
