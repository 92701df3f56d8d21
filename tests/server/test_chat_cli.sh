#!/usr/bin/env bash
# `pagedvk chat` with stdin piped: each line is a turn whose reply streams to stdout; /exit ends
# (later lines are not read as turns); the second turn reuses the first turn's KV blocks through
# the prefix cache; /reset forgets the conversation, so the same first line gives the same greedy
# reply again. Also `serve --help`, `chat --help` and bad options. The shared model has no chat
# template of its own: --chat-template llama2 (its vocabulary's family); without it a chat fails
# at once with the clear error.
set -u
source "$(dirname "$0")/lib.sh"
need_model
CHAT=("$PAGEDVK" chat -m "$MODEL" --chat-template llama2 --kv-mem 64M --block-size 8 -n 8 --temp 0 --ignore-eos)

"$PAGEDVK" chat --help > "$TMP/help" || fail "chat --help"
grep -q 'usage: pagedvk chat' "$TMP/help" || fail "chat --help text"
"$PAGEDVK" serve --help > "$TMP/help" || fail "serve --help"
grep -q -- '--api-key' "$TMP/help" || fail "serve --help text"
"$PAGEDVK" serve -m "$MODEL" --port nope > /dev/null 2>&1 && fail "serve accepted --port nope"
"$PAGEDVK" chat --bogus > /dev/null 2>&1 && fail "chat accepted --bogus"
grep -q -- '--chat-template NAME.*chatml llama3 llama2 mistral zephyr gemma phi3' "$TMP/help" ||
  fail "serve --help lacks the built-in template names"
timeout 300 "$PAGEDVK" chat -m "$MODEL" --kv-mem 64M -n 2 -q < /dev/null > "$TMP/none.out" 2> "$TMP/none.err" &&
  fail "chat without a template succeeded (it must fail before reading a turn)"
grep -q 'the model has no chat template; pass --chat-template-file or --chat-template NAME' "$TMP/none.err" ||
  fail "chat without a template: $(cat "$TMP/none.err")"

printf 'Hello there\nHow are you today my friend\n/exit\nthis line is never a turn\n' |
  timeout 300 "${CHAT[@]}" > "$TMP/out" 2> "$TMP/err" || fail "chat failed: $(cat "$TMP/err")"
grep -q 'pagedvk chat: 2 turns' "$TMP/err" || fail "want 2 turns: $(cat "$TMP/err")"
reused=$(sed -n 's/.*, \([0-9]*\) of them reused.*/\1/p' "$TMP/err")
[ "${reused:-0}" -gt 0 ] || fail "the second turn reused no blocks: $(cat "$TMP/err")"
[ -s "$TMP/out" ] || fail "no reply on stdout"

# /reset: the same first turn twice gives the same reply twice
printf 'Hello there\n/reset\nHello there\n' | timeout 300 "${CHAT[@]}" > "$TMP/out2" 2> "$TMP/err2" ||
  fail "chat failed: $(cat "$TMP/err2")"
grep -q 'pagedvk chat: 2 turns' "$TMP/err2" || fail "want 2 turns: $(cat "$TMP/err2")"
size=$(stat -c %s "$TMP/out2")
[ $(( size % 2 )) = 0 ] && [ "$size" -gt 2 ] || fail "odd output size $size"
head -c $(( size / 2 )) "$TMP/out2" > "$TMP/a"
tail -c $(( size / 2 )) "$TMP/out2" > "$TMP/b"
cmp -s "$TMP/a" "$TMP/b" || fail "after /reset the reply differs: $(cat "$TMP/out2")"

# end of input without /exit ends cleanly too
printf 'Hi' | timeout 300 "${CHAT[@]}" -q > "$TMP/out3" 2>&1 || fail "chat at EOF without newline"
[ -s "$TMP/out3" ] || fail "no reply to a last line without newline"
echo "server chat cli: ok"
