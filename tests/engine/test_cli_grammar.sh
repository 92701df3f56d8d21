#!/usr/bin/env bash
# `pagedvk run` with --json-schema FILE, --grammar FILE and --json-object on a small random model
# (written by the built mkmodel): greedy and sampled outputs parse as JSON and carry the schema's
# required members with their types; a GBNF grammar's output matches it; a bad grammar or schema
# file fails with its position and exit status 1; max_tokens that run out before the grammar
# completes are reported (finish_reason "length", grammar_incomplete, a note on stderr).
# $1 = build dir; exit 77 = skip.
set -u
BUILD=${1:?build dir}
PAGEDVK=$BUILD/pagedvk
MKMODEL=$BUILD/mkmodel
[ -x "$PAGEDVK" ] && [ -x "$MKMODEL" ] || { echo "skip: no $PAGEDVK or $MKMODEL"; exit 77; }
command -v python3 >/dev/null || { echo "skip: no python3"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$MKMODEL" --n-embd 64 --n-layer 1 --n-head 2 --n-ff 128 --ctx 512 --seed 3 -o "$TMP/m.gguf" >/dev/null 2>&1 ||
  fail "mkmodel"
cat >"$TMP/schema.json" <<'JSON'
{"type": "object", "properties": {"city": {"type": "string", "maxLength": 8}, "n": {"type": "integer"},
 "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 3}}, "required": ["city", "n", "tags"]}
JSON
for temp in 0 1.0; do
  out=$(timeout 120 "$PAGEDVK" run -m "$TMP/m.gguf" -p "hello" --json-schema "$TMP/schema.json" --temp "$temp" \
        --seed 5 -n 300 --json 2>"$TMP/err") || fail "run --json-schema --temp $temp: $(cat "$TMP/err")"
  printf '%s' "$out" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
assert r["finish_reason"] == "stop", r
v = json.loads(r["text"])
assert isinstance(v["city"], str) and len(v["city"]) <= 8, v
assert isinstance(v["n"], int), v
assert isinstance(v["tags"], list) and len(v["tags"]) <= 3 and all(t in ("a", "b") for t in v["tags"]), v
assert set(v) == {"city", "n", "tags"}, v
' || fail "--temp $temp: output does not follow the schema: $out"
done

printf 'root ::= "id-" [0-9]{2,4} ( "/" [a-c]+ )?\n' >"$TMP/g.gbnf"
out=$(timeout 60 "$PAGEDVK" run -m "$TMP/m.gguf" -p "hello" --grammar "$TMP/g.gbnf" --temp 1.0 --seed 2 -n 100 \
      --json 2>"$TMP/err") || fail "run --grammar: $(cat "$TMP/err")"
printf '%s' "$out" | python3 -c '
import json, re, sys
r = json.loads(sys.stdin.read())
assert r["finish_reason"] == "stop" and re.fullmatch(r"id-[0-9]{2,4}(/[a-c]+)?", r["text"]), r
' || fail "--grammar output: $out"

out=$(timeout 60 "$PAGEDVK" run -m "$TMP/m.gguf" -p "hello" --json-object --temp 0.8 --seed 9 -n 300 --json \
      2>"$TMP/err") || fail "run --json-object: $(cat "$TMP/err")"
printf '%s' "$out" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
assert r["finish_reason"] == "stop" and isinstance(json.loads(r["text"]), dict), r
' || fail "--json-object output: $out"

printf 'root ::= "x" [0-9\n' >"$TMP/bad.gbnf"
if err=$(timeout 60 "$PAGEDVK" run -m "$TMP/m.gguf" -p "hello" --grammar "$TMP/bad.gbnf" -n 5 2>&1); then
  fail "a bad grammar was accepted"
fi
case "$err" in *"grammar:1:14: unterminated character class"*) ;; *) fail "bad grammar: unclear error: $err" ;; esac
printf '{"type": "object", "properties": {"a": {"minimum": 3}}}' >"$TMP/bad.json"
if err=$(timeout 60 "$PAGEDVK" run -m "$TMP/m.gguf" -p "hello" --json-schema "$TMP/bad.json" -n 5 2>&1); then
  fail "a bad schema was accepted"
fi
case "$err" in *"json schema at /properties/a/minimum"*) ;; *) fail "bad schema: unclear error: $err" ;; esac
if err=$(timeout 60 "$PAGEDVK" run -m "$TMP/m.gguf" -p "hello" --json-schema "$TMP/none.json" -n 5 2>&1); then
  fail "a missing schema file was accepted"
fi
case "$err" in *"cannot read"*) ;; *) fail "missing file: unclear error: $err" ;; esac

out=$(timeout 60 "$PAGEDVK" run -m "$TMP/m.gguf" -p "hello" --json-schema "$TMP/schema.json" -n 2 --json 2>&1) ||
  fail "run -n 2: $out"
case "$out" in *'"finish_reason": "length", "grammar_incomplete": true'*) ;; *) fail "-n 2: not reported: $out" ;; esac
err=$(timeout 60 "$PAGEDVK" run -m "$TMP/m.gguf" -p "hello" --json-schema "$TMP/schema.json" -n 2 2>&1 >/dev/null)
case "$err" in *"max_tokens ran out before the grammar was complete"*) ;; *) fail "-n 2: no note: $err" ;; esac
# the bench scenario: four configurations, every request makes all its tokens (the schema's
# array never closes that early), a cost per token for each
out=$(timeout 300 "$PAGEDVK" bench grammar -m "$TMP/m.gguf" --requests 3 --prompt-len 4 --gen-len 12 --json 2>&1) ||
  fail "bench grammar: $out"
printf '%s' "$out" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
assert r["scenario"] == "grammar" and len(r["ms_per_token"]) == 4, r
assert all(v > 0 for v in r["ms_per_token"].values()), r
assert all(c["output_tokens"] == 36 for c in r["configs"]), r["configs"]
' || fail "bench grammar output: $out"
echo "cli grammar: ok"
