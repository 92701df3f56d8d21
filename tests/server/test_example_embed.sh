#!/usr/bin/env bash
# tools/examples/embed.c: two requests whose text streams through the callback, then the whole
# texts and the engine's stats. The streamed pieces of each request must add up to its whole text,
# and the greedy text must equal `pagedvk run` on the same prompt.
set -u
source "$(dirname "$0")/lib.sh"
need_model
EXAMPLE=$BUILD/tools/example_embed
[ -x "$EXAMPLE" ] || fail "$EXAMPLE not built"
timeout 300 "$EXAMPLE" "$MODEL" 6 > "$TMP/out" 2> "$TMP/err" || fail "example failed: $(cat "$TMP/err")"
grep -q '^stats: 2 requests finished, .* 0 of [0-9]* KV blocks used$' "$TMP/out" || fail "stats line: $(cat "$TMP/out")"
for tag in A B; do
  grep -Eq "^$tag \([1-6] tokens\): " "$TMP/out" || fail "no whole text for $tag: $(cat "$TMP/out")"
  whole=$(sed -En "s/^$tag \([1-6] tokens\): //p" "$TMP/out")
  pieces=$(sed -n "s/^\[$tag\] //p" "$TMP/out" | tr -d '\n')
  [ "$pieces" = "$(printf '%s' "$whole" | tr -d '\n')" ] || fail "$tag: streamed '$pieces' != whole '$whole'"
done
want=$("$PAGEDVK" run -m "$MODEL" --kv-mem 32M -q -p "The capital of France is" -n 6 --temp 0 --json | jq -j .text)
[ "$(sed -En 's/^A \([1-6] tokens\): //p' "$TMP/out")" = "$(printf '%s' "$want" | tr -d '\n')" ] || fail "A differs from pagedvk run: '$want'"
echo "example embed: ok"
