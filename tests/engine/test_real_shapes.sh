#!/usr/bin/env bash
# Files shaped like the GGUFs people download, made by mkmodel (2 layers): Llama-3.2-1B (the Llama-3
# vocabulary's 128256 rows; llama.cpp's Q4_K_M mix with a 205 MiB Q6_K tied embedding) and
# Qwen2.5-0.5B (the Qwen2 vocabulary's 151936 rows; a 138 MiB Q8_0 tied embedding, Q5_0/Q8_0 where rows
# are 896 wide). Both embeddings are larger than lavapipe binds in one buffer (128 MiB), and than
# the embedded profile's 64 MiB. For each file, on the device as it is and under
# PAGEDVK_PROFILE=embedded: `pagedvk run --json` gives the token ids of `--reference` (greedy),
# and the server answers a chat request formatted with the file's template.
# The rows come from mkmodel's built-in vocabulary padded to the real size (--vocab-size), so no
# ../shared vocabulary is needed; the Llama file carries the preset's Llama-3 template, the Qwen
# file a ChatML one given here.
# The files are cached in $BUILD/real-shapes (remade when mkmodel's arguments change; the first
# run takes a few minutes). $1 = build dir, $2 = shared dir (unused); exit 77 = skip.
set -u
BUILD=${1:?build dir}
SHARED=${2:-}
PAGEDVK=$BUILD/pagedvk
MKMODEL=$BUILD/mkmodel
[ -x "$PAGEDVK" ] && [ -x "$MKMODEL" ] || { echo "FAIL: no $PAGEDVK or $MKMODEL" >&2; exit 1; }
command -v curl >/dev/null && command -v jq >/dev/null || { echo "skip: needs curl and jq (tools/deps.sh installs them)"; exit 77; }
# The sanitizer build leaves it out: ~470 MB of model files and a CPU reference pass over 128k-row
# embeddings cost minutes there; the split paths run under the sanitizers in engine_split and
# ops_matmul/ops_embed (small binding clamps).
grep -q '^PAGEDVK_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null && { echo "skip: sanitizer build"; exit 77; }
source "$(dirname "$0")/../server/lib.sh" "$BUILD" "$SHARED"

CACHE=$BUILD/real-shapes
mkdir -p "$CACHE" || fail "cannot create $CACHE"

# make_model FILE ARGS… — mkmodel ARGS -o FILE unless FILE was made with the same ARGS.
make_model() {
  local file=$1
  shift
  if [ -f "$file" ] && [ "$(cat "$file.args" 2>/dev/null)" = "$*" ]; then return 0; fi
  rm -f "$file" "$file.args"
  "$MKMODEL" "$@" -o "$file.tmp" >/dev/null 2>"$TMP/mkmodel.log" || fail "mkmodel $*: $(cat "$TMP/mkmodel.log")"
  mv "$file.tmp" "$file" && printf '%s' "$*" > "$file.args" || fail "cannot write $file"
}

LLAMA=$CACHE/llama3.2-1b-q4_k_m.gguf
QWEN=$CACHE/qwen2.5-0.5b-q4_k_m.gguf
# Llama 3.2 carries its RoPE scaling as rope_freqs.weight: written where mkmodel can
ROPE_FREQS=
"$MKMODEL" --help | grep -q -- '--rope-freqs' && ROPE_FREQS=--rope-freqs
CHATML="{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
make_model "$LLAMA" --preset llama3.2-1b --mix q4_k_m $ROPE_FREQS --vocab-size 128256
make_model "$QWEN" --preset qwen2.5-0.5b --mix q4_k_m --vocab-size 151936 --chat-template "$CHATML"

# the shapes the files are meant to have
info=$("$PAGEDVK" info -m "$LLAMA" 2>&1) || fail "info $LLAMA: $info"
case "$info" in *"chat template:  gguf"*"token_embd.weight                Q6_K  [2048, 128256]"*) ;;
  *) fail "llama file: $info" ;; esac
info=$("$PAGEDVK" info -m "$QWEN" 2>&1) || fail "info $QWEN: $info"
case "$info" in *"chat template:  gguf"*"token_embd.weight                Q8_0  [896, 151936]"*) ;;
  *) fail "qwen file: $info" ;; esac

PROMPT='The capital of France is Paris. The capital of Germany is'
# same_ids FILE [env…] — the engine's greedy ids equal the reference's
same_ids() {
  local file=$1 eng ref
  shift
  eng=$(env "$@" timeout 600 "$PAGEDVK" run -m "$file" -q -p "$PROMPT" -n 6 --ignore-eos --temp 0 --json 2>&1) ||
    fail "run $file ($*): $eng"
  ref=$(timeout 600 "$PAGEDVK" run -m "$file" -q -p "$PROMPT" -n 6 --ignore-eos --temp 0 --json --reference 2>&1) ||
    fail "run --reference $file: $ref"
  [ "$(printf '%s' "$eng" | jq -c .ids)" = "$(printf '%s' "$ref" | jq -c .ids)" ] ||
    fail "$file ($*): engine $eng, reference $ref"
  [ "$(printf '%s' "$eng" | jq '.ids | length')" = 6 ] || fail "$file: $eng"
}

for file in "$LLAMA" "$QWEN"; do
  same_ids "$file"
  same_ids "$file" PAGEDVK_PROFILE=embedded
  MODEL=$file
  start_server -c 512
  CHAT='{"model":"'$(basename "$file" .gguf)'","messages":[{"role":"user","content":"Hello!"}],"max_tokens":4,"temperature":0}'
  [ "$(post /v1/chat/completions "$CHAT")" = 200 ] || fail "chat on $file: $(cat "$TMP/body")"
  jq -e '.choices[0].message.role == "assistant" and .usage.completion_tokens == 4
         and (.choices[0].message.content | type == "string")' "$TMP/body" >/dev/null ||
    fail "chat on $file: $(cat "$TMP/body")"
  stop_server
done
echo "real shapes: ok"
