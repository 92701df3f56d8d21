#!/usr/bin/env bash
# Chat templates end to end through the CLI and the server, on a small model mkmodel writes here
# (its vocabulary has no ChatML tokens and the file no template), so this part needs no ../shared:
# - `info` names the template source (none, with the reason); `run --chat` and a served chat
#   request fail with the clear error while completions work;
# - `run --chat-template llama2 --chat` prompt ids are the built-in's text tokenized with special
#   tokens and one BOS; `--chat-template NAME` unknown and a template file that does not parse are
#   refused before serving, naming the problem;
# - `serve --chat-template-file`: a template writing bos_token and reading chat_template_kwargs;
#   usage.prompt_tokens equals the tokens of the expected rendering (BOS not doubled), with and
#   without {"enable_thinking": false}; a template's raise_exception is a 400 with its message.
# With ../shared: a model file carrying the Llama-3.2 template (mkmodel --vocab-from the Llama-3
# vocabulary --chat-template-file): `info` says gguf, `pagedvk template --model` renders the
# cases of ../shared/templates/llama-3.2 byte for byte (when the command has --model), and a
# served chat with a tool call sent as OpenAI wire JSON counts the tokens of that rendering.
set -u
source "$(dirname "$0")/lib.sh"
MKMODEL=$BUILD/mkmodel
[ -x "$PAGEDVK" ] && [ -x "$MKMODEL" ] || fail "$PAGEDVK or $MKMODEL not built"
need_tools curl jq
MODEL=$TMP/tiny.gguf
MODEL_NAME=tiny
"$MKMODEL" --n-embd 64 --n-head 2 --n-ff 128 --n-layer 1 --ctx 512 -o "$MODEL" 2>/dev/null || fail "mkmodel"

# tokens TEXT → the JSON id array of TEXT with special tokens parsed and no BOS added
tokens() { "$PAGEDVK" tokenize -m "$MODEL" -p "$1" --parse-special --no-bos; }
count() { tokens "$1" | jq length; }

# --- no template -------------------------------------------------------------------------------
NO_TEMPLATE='the model has no chat template; pass --chat-template-file or --chat-template NAME'
"$PAGEDVK" info -m "$MODEL" > "$TMP/info" 2>&1 || fail "info: $(cat "$TMP/info")"
grep -qF "chat template:  none ($NO_TEMPLATE)" "$TMP/info" || fail "info: $(cat "$TMP/info")"
"$PAGEDVK" info --help | grep -q 'Built-in chat templates: chatml llama3 llama2 mistral zephyr gemma phi3' ||
  fail "info --help lacks the built-in names"
"$PAGEDVK" run -m "$MODEL" --chat -p Hi -n 2 -q --temp 0 > "$TMP/out" 2> "$TMP/err" && fail "run --chat without a template"
grep -qF "$NO_TEMPLATE" "$TMP/err" || fail "run --chat: $(cat "$TMP/err")"
"$PAGEDVK" run -m "$MODEL" -p Hi -n 2 -q --temp 0 > "$TMP/out" 2> "$TMP/err" || fail "run: $(cat "$TMP/err")"

# --- built-in, run --chat ------------------------------------------------------------------------
ids=$("$PAGEDVK" run -m "$MODEL" --chat-template llama2 -p Hi -n 1 -q --temp 0 --json | jq -c .prompt_ids) ||
  fail "run --chat-template llama2"
want=$(tokens '<s>[INST] Hi [/INST]' | jq -c .)
[ "$ids" = "$want" ] || fail "run --chat-template llama2: prompt $ids, want $want"
[ "$(printf '%s' "$ids" | jq '[.[] | select(. == 1)] | length')" = 1 ] || fail "BOS doubled: $ids"
"$PAGEDVK" run -m "$MODEL" --chat-template vicuna -p Hi -n 1 -q > /dev/null 2> "$TMP/err" && fail "unknown built-in accepted"
grep -q "no built-in chat template 'vicuna'" "$TMP/err" || fail "unknown built-in: $(cat "$TMP/err")"
printf '{%% for m in messages %%}{{ m.content }}\n' > "$TMP/bad.jinja"
timeout 120 "$PAGEDVK" serve -m "$MODEL" --port 0 -q --chat-template-file "$TMP/bad.jinja" > /dev/null 2> "$TMP/err" &&
  fail "serve accepted a template that does not parse"
grep -q "line" "$TMP/err" || fail "bad template: $(cat "$TMP/err")"
"$PAGEDVK" run -m "$MODEL" --chat-template-file "$TMP/missing.jinja" -p Hi -n 1 -q > /dev/null 2> "$TMP/err" &&
  fail "a missing template file accepted"

# --- served without a template --------------------------------------------------------------------
start_server -c 256
CHAT='{"model":"tiny","messages":[{"role":"user","content":"Hi"}],"max_tokens":1,"temperature":0'
expect_error 400 "" /v1/chat/completions "$CHAT}"
jq -r .error.message "$TMP/body" | grep -qF "$NO_TEMPLATE" || fail "chat without a template: $(cat "$TMP/body")"
[ "$(post /v1/completions '{"model":"tiny","prompt":"Hi","max_tokens":1}')" = 200 ] || fail "completion: $(cat "$TMP/body")"
stop_server

# --- served with a template file ------------------------------------------------------------------
cat > "$TMP/t.jinja" <<'JINJA'
{{- bos_token -}}
{%- for m in messages -%}
  {%- if m.role == 'system' and not loop.first -%}{{ raise_exception('system goes first') }}{%- endif -%}
  [{{ m.role }}]{{ m.content }}
{%- endfor -%}
{%- if enable_thinking is defined and not enable_thinking -%}(no-think){%- endif -%}
{%- if add_generation_prompt -%}[assistant]{%- endif -%}
JINJA
start_server -c 256 --chat-template-file "$TMP/t.jinja"
[ "$(post /v1/chat/completions "$CHAT}")" = 200 ] || fail "chat: $(cat "$TMP/body")"
n=$(jq .usage.prompt_tokens "$TMP/body")
[ "$n" = "$(count '<s>[user]Hi[assistant]')" ] || fail "prompt_tokens $n, want those of '<s>[user]Hi[assistant]'"
[ "$(post /v1/chat/completions "$CHAT"',"chat_template_kwargs":{"enable_thinking":false}}')" = 200 ] ||
  fail "chat with kwargs: $(cat "$TMP/body")"
n=$(jq .usage.prompt_tokens "$TMP/body")
[ "$n" = "$(count '<s>[user]Hi(no-think)[assistant]')" ] || fail "chat_template_kwargs not honoured: $n prompt tokens"
expect_error 400 chat_template_error /v1/chat/completions \
  '{"model":"tiny","messages":[{"role":"user","content":"Hi"},{"role":"system","content":"x"}]}'
jq -r .error.message "$TMP/body" | grep -q 'system goes first' || fail "raise_exception: $(cat "$TMP/body")"
stop_server

# --- with ../shared: the Llama-3.2 template carried by the model file -----------------------------
VOCAB=$SHARED/vocab/ggml-vocab-llama-bpe.gguf
CASES=$SHARED/templates/llama-3.2
if [ -z "$SHARED" ] || [ ! -f "$VOCAB" ] || [ ! -d "$CASES" ]; then
  echo "chat templates: ok (the Llama-3.2 part skipped: no ../shared)"
  exit 0
fi
MODEL=$TMP/l32.gguf
MODEL_NAME=l32
"$MKMODEL" --n-embd 64 --n-head 2 --n-ff 128 --n-layer 1 --ctx 1024 --tied --vocab-from "$VOCAB" \
  --chat-template-file "$CASES/llama-3.2.jinja" -o "$MODEL" 2>/dev/null || fail "mkmodel l32"
"$PAGEDVK" info -m "$MODEL" 2>&1 | grep -q '^chat template:  gguf$' || fail "info l32: $("$PAGEDVK" info -m "$MODEL" 2>&1)"
if "$PAGEDVK" template --help 2>&1 | grep -q -- '--model'; then
  for c in "$CASES"/*.json; do
    jq 'del(.expected, .error)' "$c" > "$TMP/case.json"
    if jq -e 'has("expected")' "$c" >/dev/null; then
      "$PAGEDVK" template --model "$MODEL" --case "$TMP/case.json" > "$TMP/got" 2> "$TMP/err" || fail "$c: $(cat "$TMP/err")"
      jq -j .expected "$c" > "$TMP/want"
      cmp -s "$TMP/got" "$TMP/want" || fail "template --model $c differs: $(cat "$TMP/got")"
    else
      "$PAGEDVK" template --model "$MODEL" --case "$TMP/case.json" > /dev/null 2> "$TMP/err" && fail "$c rendered"
      grep -qF "$(jq -r .error "$c")" "$TMP/err" || fail "$c: $(cat "$TMP/err")"
    fi
  done
  # the tool-call case as OpenAI wire JSON (arguments as a string), rendered today as the server does
  CASE=$CASES/05-tool-call.json
  jq --arg today "$(date +%F)" 'del(.expected, .bos_token, .eos_token) | .date = $today' "$CASE" > "$TMP/today.json"
  "$PAGEDVK" template --model "$MODEL" --case "$TMP/today.json" > "$TMP/today.txt" || fail "template --model today"
  want=$("$PAGEDVK" tokenize -m "$MODEL" -p "$(cat "$TMP/today.txt"; printf x)" --parse-special --no-bos | jq 'length - 1')
  BODY=$(jq -c '{model: "l32", max_tokens: 1, temperature: 0, add_generation_prompt, tools,
    messages: [.messages[] | if .tool_calls then .tool_calls |= map(.function.arguments |= tojson) else . end]}' "$CASE")
  start_server -c 1024
  [ "$(post /v1/chat/completions "$BODY")" = 200 ] || fail "l32 chat: $(cat "$TMP/body")"
  n=$(jq .usage.prompt_tokens "$TMP/body")
  [ "$n" = "$want" ] || fail "l32 chat: $n prompt tokens, the rendering has $want"
  stop_server
fi
echo "chat templates: ok"
