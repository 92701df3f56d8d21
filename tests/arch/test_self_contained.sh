#!/usr/bin/env bash
# The test suite needs nothing beside the checkout (README, "The tests need nothing beside the
# checkout"): checks the sources of tests/ for
#   shared-model  a test that reads a model of ../shared/models although tests/make_models.cmake
#                 makes a test model of that name (use it: pv_test_model_path, $BUILD/tests/models),
#                 or whose ../shared model name cannot be told from the line ("models/%s");
#                 only the files of ALLOWED may read ../shared models, each for an outside oracle
#   silent-skip   a script that exits 77 (ctest: skipped) without saying "skip" and why on that
#                 line or the line before
# Prints one line per finding, "rule file:line: text", and fails on any.
# Usage: test_self_contained.sh [BUILD_DIR [SHARED_DIR]]   (ctest passes both; neither is used)
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
cd "$SRC" || exit 1

# Files that read models of ../shared, and why: all are comparisons with files other tools wrote.
ALLOWED=(
  tests/model/test_gguf_read.c   # the reader on files llama.cpp's converter and gguf-py wrote
  tests/model/test_gguf_write.c  # the writer reproduces those files byte for byte
  tests/model/test_quant.c       # the dequantizers on tensors llama.cpp's llama-quantize wrote
  tests/model/test_ref_oracle.c  # the reference against llama.cpp's outputs (tests/common/oracle.c)
  tests/common/oracle.c          # loads ../shared/oracle/*.json and the model each one names
  tests/tok/test_vocab.c         # the tokenizer against llama.cpp's ids for llama-2-tiny-random
)

twins=$(sed -n 's/^ *"\([a-z0-9_.-]*\)|.*/\1/p' tests/make_models.cmake)
[ -n "$twins" ] || { echo "FAIL: no model names read from tests/make_models.cmake"; exit 1; }
is_twin() { grep -qx "$1" <<<"$twins"; }
allowed() { local a; for a in "${ALLOWED[@]}"; do [ "$a" = "$1" ] && return 0; done; return 1; }

findings=0
report() { echo "$1 $2: $3"; findings=$((findings + 1)); }

# C: a file that asks for ../shared paths and names "models/…" in a string.
while IFS= read -r f; do
  allowed "$f" && continue
  grep -Eq 'pv_test_shared_path|fuzz_shared_path|PV_SHARED_DIR' "$f" || continue
  while IFS=: read -r line text; do
    names=$(grep -oE '"models/[^"]*"' <<<"$text" | sed 's|"models/||; s|"$||')
    for n in $names; do
      base=${n%.gguf}
      if [[ $n == *%* ]] || is_twin "$base"; then report shared-model "$f:$line" "$(sed 's/^ *//' <<<"$text")"; fi
    done
  done < <(grep -n '"models/' "$f")
done < <(find tests -path tests/fuzz/corpus -prune -o \( -name '*.c' -o -name '*.h' \) -print | sort)

# Scripts: $SHARED/models/… or $shared/models/…
while IFS= read -r f; do
  allowed "$f" && continue
  while IFS=: read -r line text; do
    n=$(sed -nE 's/.*\$\{?(SHARED|shared)\}?\/models\/([A-Za-z0-9_.$-]*).*/\2/p' <<<"$text")
    base=${n%.gguf}
    if [[ -z $base || $base == *'$'* ]] || is_twin "$base"; then report shared-model "$f:$line" "$(sed 's/^ *//' <<<"$text")"; fi
  done < <(grep -nE '\$\{?(SHARED|shared)\}?/models/' "$f" | grep -vE '^[0-9]+:\s*#')
done < <(find tests -name '*.sh' | sort)

# Scripts: exit 77 with a reason.
while IFS= read -r f; do
  while IFS= read -r hit; do
    report silent-skip "$f:${hit%%:*}" "${hit#*:}"
  done < <(awk '/^[[:space:]]*#/ { prev = $0; next }
                /exit 7[7]/ && !($0 ~ /echo.*skip/ || prev ~ /echo.*skip/) { print FNR ":" $0 }
                { prev = $0 }' "$f")
done < <(find tests -name '*.sh' | sort)

if [ "$findings" != 0 ]; then
  echo "FAIL: $findings finding(s): use the test models of tests/make_models.cmake; say why a test skips"
  exit 1
fi
echo "self-contained: ok ($(wc -w <<<"$twins") test models; ${#ALLOWED[@]} files read ../shared models for outside oracles)"
