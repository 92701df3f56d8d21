#!/usr/bin/env bash
# One replica per GPU needs `--device N|NAME` (issue 23 item 3): `pagedvk info` lists the devices
# with their indices; serve (and run) take --device as an index or a case-insensitive substring of
# the name; an index past the list or a name that matches nothing is a usage error (exit 2) that
# names the selector and points at `pagedvk info`, before any request is served.
set -u
source "$(dirname "$0")/lib.sh"
need_model
"$PAGEDVK" info > "$TMP/info" || fail "pagedvk info failed"
line=$(grep -E '^ +\*? *[0-9]+: ' "$TMP/info" | grep -v unusable | head -n 1)
[ -n "$line" ] || fail "pagedvk info lists no device with its index: $(cat "$TMP/info")"
index=$(echo "$line" | sed -E 's/^ +\*? *([0-9]+): .*/\1/')
name=$(echo "$line" | sed -E 's/^ +\*? *[0-9]+: (.*) \[[^]]*\]$/\1/')
count=$(grep -cE '^ +\*? *[0-9]+: ' "$TMP/info")
# a part of the name, in other case: the first word, upper-cased
part=$(echo "$name" | awk '{ print toupper($1) }')

for sel in nosuchdevice-xyz "$count"; do
  rc=0
  "$PAGEDVK" serve -m "$MODEL" --port 0 -q --device "$sel" > /dev/null 2> "$TMP/err" || rc=$?
  [ "$rc" = 2 ] || fail "serve --device $sel: exit $rc, want 2: $(cat "$TMP/err")"
  grep -q -- "$sel" "$TMP/err" && grep -q 'pagedvk info' "$TMP/err" || fail "serve --device $sel: unclear error: $(cat "$TMP/err")"
  rc=0
  "$PAGEDVK" run -m "$MODEL" -q --device "$sel" -p hi -n 1 > /dev/null 2> "$TMP/err" || rc=$?
  [ "$rc" = 2 ] || fail "run --device $sel: exit $rc, want 2: $(cat "$TMP/err")"
done

for sel in "$index" "$part"; do
  start_server --device "$sel"
  [ "$(post /v1/completions '{"model":"'$MODEL_NAME'","prompt":"hi","max_tokens":2,"temperature":0}')" = 200 ] ||
    fail "serve --device $sel: $(cat "$TMP/body")"
  stop_server
done
echo "device selection: ok"
