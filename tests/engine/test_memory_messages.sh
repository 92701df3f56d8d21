#!/usr/bin/env bash
# When a model does not fit the device, the error says so with the figures a user acts on
# (PAGEDVK_HEAP_MIB reports a smaller device heap): weights larger than the heap fail before any
# upload with "the model needs X MiB ... the device heap has Y MiB" (it used to be "--kv-mem of 0
# bytes holds no KV block"); weights that fit but leave the default KV share empty say what the
# weights take, what one KV block needs and what is left, and the --kv-mem the message suggests
# then runs. $1 = build dir; exit 77 = skip.
set -u
BUILD=${1:?build dir}
PAGEDVK=$BUILD/pagedvk
MKMODEL=$BUILD/mkmodel
[ -x "$PAGEDVK" ] && [ -x "$MKMODEL" ] || { echo "FAIL: no $PAGEDVK or $MKMODEL" >&2; exit 1; }
fail() { echo "FAIL: $*" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# 4 layers, n_embd 512, n_ff 1536, F16: 26.8 MiB of weights, 128 KiB per 16-token KV block
MODEL=$TMP/mem.gguf
"$MKMODEL" --n-embd 512 --n-ff 1536 --n-layer 4 --n-head 8 -o "$MODEL" 2>/dev/null || fail "mkmodel failed"
run() { timeout 300 "$PAGEDVK" run -m "$MODEL" -q -p hi -n 2 --json "$@" 2>&1; }

out=$(PAGEDVK_HEAP_MIB=16 run) && fail "weights over the heap were accepted: $out"
case "$out" in
  *"the model needs 26.8 MiB of device memory for its weights, the device heap has 16.0 MiB"*) ;;
  *) fail "weights over the heap: unclear error: $out" ;;
esac

out=$(PAGEDVK_HEAP_MIB=40 run) && fail "no room for a KV block was accepted: $out"
case "$out" in
  *"the weights take 26.8 MiB of the 40.0 MiB device heap"*"less than one KV block (128.0 KiB); give --kv-mem (the heap has 13.2 MiB left after the weights)"*) ;;
  *) fail "no KV room: unclear error: $out" ;;
esac

out=$(PAGEDVK_HEAP_MIB=40 run --kv-mem 8M) || fail "--kv-mem within what is left failed: $out"
case "$out" in *'"finish_reason": "length"'*) ;; *) fail "--kv-mem 8M: $out" ;; esac
echo "memory messages: ok"
