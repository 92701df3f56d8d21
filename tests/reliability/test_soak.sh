#!/usr/bin/env bash
# Short soak of `pagedvk serve` (tools/soak): 200 random requests, 64 at a time, with client
# disconnects, malformed bodies, streams, chat and sampling under a 2 MiB KV pool (preemption).
# Every greedy answer must equal `pagedvk run`'s; afterwards every block is free, no file
# descriptor leaked, RSS grew by less than the slack, SIGTERM exits 0. $1 = build dir, $2 = shared
# (unused). The model is the test model the ctest fixture `models` made (tests/make_models.cmake).
set -u
BUILD=${1:?build dir}
MODEL=$BUILD/tests/models/syn-llama-q4k.gguf
[ -f "$MODEL" ] || { echo "FAIL: no test model $MODEL (the ctest fixture 'models' makes it)" >&2; exit 1; }
command -v node >/dev/null || { echo "skip: needs node (tools/deps.sh installs nodejs)"; exit 77; }
# Under ASan, RSS measures the sanitizer's allocator (quarantine, per-thread caches of the
# connection threads, shadow) more than ours: a small quarantine and a wide slack there, where
# LeakSanitizer's verdict at the server's exit (which must be 0) is the memory check.
SLACK=96
# The server warms up as it does for users (ctest turns warm-up off elsewhere to save time):
# without it, each shader variant a new batch size needs is compiled during the load, and the
# driver's compiler and machine code (~100 MiB over this load on lavapipe) would count as growth.
unset PAGEDVK_NO_WARMUP
if ldd "$BUILD/pagedvk" 2>/dev/null | grep -q libasan; then
  SLACK=1024
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=16"
fi
exec node "$(dirname "$0")/../../tools/soak" --build "$BUILD" --model "$MODEL" --requests 200 --concurrency 64 \
  --seed 7 --rss-slack-mb $SLACK
