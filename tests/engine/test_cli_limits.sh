#!/usr/bin/env bash
# The CLI's checked maxima give a clear error instead of dropping work without a word:
# `pagedvk bench concurrency` runs one configuration per power of two up to --max-concurrency and
# holds at most 16 of them, so 65536 is refused naming the option (it silently stopped at 32768).
# $1 = build dir, $2 = shared dir (unused); exit 77 = skip.
set -u
BUILD=${1:?build dir}
SHARED=${2:-}
PAGEDVK=$BUILD/pagedvk
MODEL=$BUILD/tests/models/syn-qwen2-f16.gguf # made by the ctest fixture `models` (tests/make_models.cmake)
[ -f "$MODEL" ] && [ -x "$PAGEDVK" ] || { echo "FAIL: no $MODEL (fixture models) or no $PAGEDVK" >&2; exit 1; }
fail() { echo "FAIL: $*" >&2; exit 1; }

if err=$(timeout 60 "$PAGEDVK" bench concurrency -m "$MODEL" --max-concurrency 65536 --runs 1 2>&1); then
  fail "bench concurrency --max-concurrency 65536 was accepted"
fi
case "$err" in *"--max-concurrency at most 65535"*) ;; *) fail "--max-concurrency 65536: unclear error: $err" ;; esac
echo "cli limits: ok"
