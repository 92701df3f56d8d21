#!/usr/bin/env bash
# Valgrind memcheck (--leak-check=full, any error or definite/possible leak fails) on:
#   pagedvk tokenize (the test model's SentencePiece vocabulary, and each real vocabulary family
#   of ../shared when present), pagedvk run --reference, and pagedvk run on the Vulkan device
#   (lavapipe) with the tiny llama test model (tests/make_models.cmake), 4 tokens.
# tests/reliability/valgrind.supp names only ld.so (dlopen'd driver libraries stay loaded).
# Skipped (77) without valgrind, and in the sanitizer build (ASan and valgrind cannot share a
# process). The validation layer is left out here: it would multiply the time.
set -u
BUILD=${1:?build dir}
SHARED=${2:-}
PAGEDVK=$BUILD/pagedvk
TINY=$BUILD/tests/models/tiny-llama-f16.gguf
command -v valgrind >/dev/null || { echo "skip: needs valgrind (tools/deps.sh installs it)"; exit 77; }
[ -f "$TINY" ] && [ -x "$PAGEDVK" ] || { echo "FAIL: no test model $TINY (fixture models) or no $PAGEDVK" >&2; exit 1; }
if ldd "$PAGEDVK" 2>/dev/null | grep -q 'libasan\|libubsan'; then echo "skip: sanitizer build"; exit 77; fi
unset PAGEDVK_VALIDATION
SUPP=$(dirname "$0")/valgrind.supp
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pv-valgrind.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

vg() { # vg NAME command…
  local name=$1
  shift
  local rc=0
  valgrind --error-exitcode=97 --leak-check=full --suppressions="$SUPP" --log-file="$TMP/$name.vg" "$@" \
    > "$TMP/$name.out" 2> "$TMP/$name.err" || rc=$?
  if [ "$rc" != 0 ]; then
    echo "FAIL: $name: exit $rc (97 = valgrind found errors)" >&2
    grep -v '^==[0-9]*== *$' "$TMP/$name.vg" | tail -n 60 >&2
    tail -n 5 "$TMP/$name.err" >&2
    exit 1
  fi
  grep -q 'ERROR SUMMARY: 0 errors' "$TMP/$name.vg" || { echo "FAIL: $name: no clean summary" >&2; exit 1; }
  echo "$name: clean"
}

TEXT=$'Hello wörld 🙂 <s> 12345\n\ttabs'
vg tokenize-test-model "$PAGEDVK" tokenize -m "$TINY" --parse-special -p "$TEXT"
for v in llama-spm llama-bpe qwen2; do
  f=$SHARED/vocab/ggml-vocab-$v.gguf
  [ -f "$f" ] || { echo "skip: tokenize-$v (no $f: a real vocabulary from ../shared)"; continue; }
  vg "tokenize-$v" "$PAGEDVK" tokenize -m "$f" --parse-special -p "$TEXT"
done
vg reference "$PAGEDVK" run --reference -m "$TINY" -p "Hello there" -n 4 -q
[ "$(wc -c < "$TMP/reference.out")" -gt 0 ] || { echo "FAIL: reference printed nothing" >&2; exit 1; }
vg vulkan "$PAGEDVK" run -m "$TINY" --kv-mem 8M -p "Hello there" -n 4 -q --temp 0
# the same greedy text as the reference
[ "$(cat "$TMP/vulkan.out")" = "$(cat "$TMP/reference.out")" ] ||
  { echo "FAIL: Vulkan text '$(cat "$TMP/vulkan.out")' != reference '$(cat "$TMP/reference.out")'" >&2; exit 1; }
echo "valgrind: ok"
