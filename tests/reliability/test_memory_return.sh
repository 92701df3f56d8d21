#!/usr/bin/env bash
# Memory goes back after a burst of big requests (issue 21 item 1, the server's part): 4
# concurrent bodies of just under the 8 MiB limit, each an array of ~4M numbers beside an invalid
# field (refused after parsing, or by the parse bound, with a 4xx; the engine never sees them).
# Parsing them takes hundreds of MB in the connection threads' malloc arenas; once the server is
# idle its VmRSS must come back within 10% (+16 MiB for allocator rounding) of what it was before
# the burst, twice in a row. Skipped under sanitizers and valgrind (their allocators keep memory).
set -u
source "$(dirname "$0")/../server/lib.sh"
need_model
command -v python3 >/dev/null || { echo "skip: needs python3"; exit 77; }
if ldd "$PAGEDVK" 2>/dev/null | grep -q 'libasan\|libubsan\|libtsan'; then echo "skip: sanitizer build"; exit 77; fi
start_server

python3 - "$TMP/big.json" "$MODEL_NAME" <<'EOF'
import sys
path, model = sys.argv[1], sys.argv[2]
head = '{"model":"%s","prompt":"hi","max_tokens":-1,"x":[' % model
n = (8 * 1024 * 1024 - len(head) - 64) // 2
with open(path, "w") as f:
    f.write(head + ",".join(["0"] * n) + "]}")
EOF
[ "$(stat -c %s "$TMP/big.json")" -le $((8 * 1024 * 1024)) ] || fail "the body is over the limit"

M='"model":"'$MODEL_NAME'"'
burst() {
  local pids=() p
  for _ in 1 2 3 4; do
    curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' --data-binary @"$TMP/big.json" \
      "$URL/v1/completions" >> "$TMP/codes" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
}
[ "$(post /v1/completions "{$M,\"prompt\":\"hi\",\"max_tokens\":4}")" = 200 ] || fail "warm-up request"
before=$(settle)
for round in 1 2; do
  : > "$TMP/codes"
  burst
  grep -qv '^4' "$TMP/codes" && fail "the big bodies were not refused with 4xx: $(sort "$TMP/codes" | uniq -c)"
  peak=$(rss_kib)
  after=$(settle)
  echo "round $round: VmRSS before ${before} KiB, right after the burst ${peak} KiB, idle ${after} KiB"
  [ "$after" -le $((before + before / 10 + 16384)) ] ||
    fail "VmRSS stayed up after a burst: ${before} KiB before, ${after} KiB idle"
done
[ "$(post /v1/completions "{$M,\"prompt\":\"hi\",\"max_tokens\":4}")" = 200 ] || fail "a request after the bursts"
stop_server
echo "memory return: ok"
