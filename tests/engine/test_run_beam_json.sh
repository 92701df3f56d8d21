#!/usr/bin/env bash
# `pagedvk run` with beam search: --json reports the best hypothesis's token ids (they were `[]`
# while the text had tokens); --beam 100 --max-num-seqs 100 runs
# (it crashed on 64-entry arrays) and --beam 101 with --max-num-seqs 100 is refused with a clear
# error. 100 beam hypotheses (--samples 100) and 100 parallel samples are all in the JSON (the CLI
# kept 64 and dropped the rest without a word). $1 = build dir, $2 = shared dir (unused); exit 77 = skip.
set -u
BUILD=${1:?build dir}
SHARED=${2:-}
PAGEDVK=$BUILD/pagedvk
MODEL=$BUILD/tests/models/syn-qwen2-f16.gguf # made by the ctest fixture `models` (tests/make_models.cmake)
[ -f "$MODEL" ] && [ -x "$PAGEDVK" ] || { echo "FAIL: no $MODEL (fixture models) or no $PAGEDVK" >&2; exit 1; }
command -v jq >/dev/null || { echo "skip: needs jq (tools/deps.sh installs it)"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$(timeout 300 "$PAGEDVK" run -m "$MODEL" -q -p Hello -n 4 --beam 8 --ignore-eos --json) || fail "run --beam 8 failed"
n=$(printf '%s' "$out" | jq '.ids | length')
[ "$n" = 4 ] || fail "beam 8: $n ids, want 4: $out"
text=$(printf '%s' "$out" | jq -j .text)
[ -n "$text" ] || fail "beam 8: no text: $out"

out=$(timeout 300 "$PAGEDVK" run -m "$MODEL" -q -p Hello -n 4 --beam 100 --max-num-seqs 100 --ignore-eos --json) \
  || fail "run --beam 100 --max-num-seqs 100 failed (rc $?)"
[ "$(printf '%s' "$out" | jq '.ids | length')" = 4 ] || fail "beam 100: $out"

# every sample: how many, the fewest ids one has, how many distinct texts
counts='[(.samples | length), ([.samples[].ids | length] | min), ([.samples[].text] | unique | length)] | @csv'
out=$(timeout 300 "$PAGEDVK" run -m "$MODEL" -q -p Hello -n 4 --beam 100 --samples 100 --max-num-seqs 100 \
  --ignore-eos --json) || fail "run --beam 100 --samples 100 failed (rc $?)"
got=$(printf '%s' "$out" | jq -r "$counts")
[ "$got" = "100,4,100" ] || fail "beam 100 --samples 100: samples,min ids,distinct = $got, want 100,4,100"
out=$(timeout 300 "$PAGEDVK" run -m "$MODEL" -q -p Hello -n 4 --samples 100 --max-num-seqs 100 --ignore-eos --json) \
  || fail "run --samples 100 failed (rc $?)"
got=$(printf '%s' "$out" | jq -r "$counts" | cut -d, -f1,2)
[ "$got" = "100,4" ] || fail "samples 100: samples,min ids = $got, want 100,4"

if err=$(timeout 300 "$PAGEDVK" run -m "$MODEL" -q -p Hello -n 4 --beam 101 --max-num-seqs 100 2>&1); then
  fail "beam 101 with --max-num-seqs 100 was accepted"
fi
case "$err" in *max-num-seqs*) ;; *) fail "beam 101: unclear error: $err" ;; esac
echo "run beam json: ok"
