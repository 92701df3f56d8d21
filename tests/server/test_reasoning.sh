#!/usr/bin/env bash
# Reasoning content (runtime/server/oai_reasoning.c) end to end, with a template that has a
# thinking block (tests/server/templates/think.jinja) and grammars that make the random-weight
# model write the markers:
# - the prompt opens <think>: the text before </think> is message.reasoning_content, the rest
#   content; raw (reasoning_format "none") = reasoning + "</think>" + content;
# - the model opens <think> itself (think_open false): the markers are dropped from both parts;
# - enable_thinking false (the prompt opens and closes the block): everything is content, and
#   there is no reasoning_content; a response_format JSON answer is all content too;
# - streamed: delta.reasoning_content deltas, then delta.content deltas, reassembling to the
#   non-streamed message exactly (n = 2 choices too);
# - `serve --reasoning-format none` leaves the text whole; a bad reasoning_format is a 400.
set -u
source "$(dirname "$0")/lib.sh"
need_model
TEMPLATE=$(cd "$(dirname "$0")" && pwd)/templates/think.jinja
chat_template_opts() { echo --chat-template-file "$TEMPLATE"; }
start_server

M='"model":"'$MODEL_NAME'"'
MSG='"messages":[{"role":"user","content":"Think first."}]'
W='[a-z]{2,8}'
# body GRAMMAR EXTRA → a chat request sampled with a seed under that GBNF grammar
body() { jq -cn --arg m "$MODEL_NAME" --arg g "$1" --argjson x "${2:-{\}}" \
  '{model: $m, messages: [{role: "user", content: "Think first."}], max_tokens: 60, temperature: 1.0, seed: 11,
    grammar: $g} + $x'; }
chat() { [ "$(post /v1/chat/completions "$1")" = 200 ] || fail "$1: $(cat "$TMP/body")"; cp "$TMP/body" "$TMP/$2"; }
# streamed FILE → "reasoning\u0001content" of choice $2 (default 0), and checks the order
streamed() {
  grep '^data: {' "$1" | sed 's/^data: //' | jq -sj --argjson i "${2:-0}" '
    [.[] | .choices[]? | select(.index == $i) | .delta] as $d
    | ($d | map(.reasoning_content // "") | join("")) + "\u0001" + ($d | map(.content // "") | join(""))'
}
stream_of() { curl -sN -H 'Content-Type: application/json' -d "$(jq -c '. + {stream: true}' <<< "$1")" "$URL/v1/chat/completions"; }

# 1. the prompt opened the block
G1="root ::= $W \" \" $W \"</think>\" $W"
chat "$(body "$G1")" split.json
chat "$(body "$G1" '{"reasoning_format":"none"}')" raw.json
r=$(jq -r '.choices[0].message.reasoning_content' "$TMP/split.json")
c=$(jq -r '.choices[0].message.content' "$TMP/split.json")
raw=$(jq -r '.choices[0].message.content' "$TMP/raw.json")
[[ "$r" =~ ^[a-z]{2,8}\ [a-z]{2,8}$ ]] || fail "reasoning '$r': $(cat "$TMP/split.json")"
[[ "$c" =~ ^[a-z]{2,8}$ ]] || fail "content '$c'"
[ "$raw" = "$r</think>$c" ] || fail "raw '$raw' != '$r</think>$c'"
jq -e '.choices[0].message | has("reasoning_content") | not' "$TMP/raw.json" >/dev/null || fail "raw has reasoning_content"
stream_of "$(body "$G1")" > "$TMP/split.sse"
[ "$(streamed "$TMP/split.sse")" = "$r"$'\001'"$c" ] || fail "streamed '$(streamed "$TMP/split.sse")' != '$r|$c'"
# reasoning deltas come before content deltas, the role first
grep '^data: {' "$TMP/split.sse" | sed 's/^data: //' | jq -se '[.[] | .choices[]?.delta | select(. != null)] as $d
  | ($d[0].role == "assistant")
  and ([$d[] | if (.reasoning_content // "") != "" then "r" elif (.content // "") != "" then "c" else empty end]
       | join("") | test("^r+c+$"))' >/dev/null || fail "stream order: $(cat "$TMP/split.sse")"

# 2. the model opens the block itself
G2="root ::= \"<think>\" $W \"</think>\" $W"
chat "$(body "$G2" '{"chat_template_kwargs":{"think_open":false}}')" open.json
r=$(jq -r '.choices[0].message.reasoning_content' "$TMP/open.json")
c=$(jq -r '.choices[0].message.content' "$TMP/open.json")
[[ "$r" =~ ^[a-z]{2,8}$ && "$c" =~ ^[a-z]{2,8}$ ]] || fail "model-opened block: $(cat "$TMP/open.json")"
stream_of "$(body "$G2" '{"chat_template_kwargs":{"think_open":false}}')" > "$TMP/open.sse"
[ "$(streamed "$TMP/open.sse")" = "$r"$'\001'"$c" ] || fail "streamed model-opened block"

# 3. enable_thinking false: the prompt closed the block; all content
chat "$(body "$G1" '{"chat_template_kwargs":{"enable_thinking":false}}')" off.json
jq -e '.choices[0].message | (has("reasoning_content") | not) and (.content | test("^[a-z]{2,8} [a-z]{2,8}</think>[a-z]{2,8}$"))' \
  "$TMP/off.json" >/dev/null || fail "enable_thinking false: $(cat "$TMP/off.json")"

# 3b. a JSON answer (response_format) is content even where the prompt opened the block
chat "$(jq -c 'del(.grammar) + {response_format: {type: "json_object"}, max_tokens: 30}' <<< "$(body x)")" json.json
jq -e '.choices[0].message | (has("reasoning_content") | not) and (.content | startswith("{"))' "$TMP/json.json" \
  >/dev/null || fail "json answer of a thinking template: $(cat "$TMP/json.json")"

# 4. n = 2: each choice split, streamed equal to non-streamed
B=$(body "$G1" '{"n":2}')
chat "$B" two.json
stream_of "$B" > "$TMP/two.sse"
for i in 0 1; do
  want=$(jq -j --argjson i $i '.choices[$i].message | (.reasoning_content // "") + "\u0001" + .content' "$TMP/two.json")
  [ "$(streamed "$TMP/two.sse" $i)" = "$want" ] || fail "choice $i streamed '$(streamed "$TMP/two.sse" $i)' != '$want'"
done

expect_error 400 invalid_value /v1/chat/completions "{$M,$MSG,\"reasoning_format\":\"xml\"}"
[ "$(jq -r .error.param "$TMP/body")" = reasoning_format ] || fail "param: $(cat "$TMP/body")"
stop_server

# 5. --reasoning-format none: the text as generated, unless a request asks for split
start_server --reasoning-format none
chat "$(body "$G1")" none.json
cmp -s <(jq -c .choices "$TMP/none.json") <(jq -c .choices "$TMP/raw.json") || fail "server none: $(cat "$TMP/none.json")"
chat "$(body "$G1" '{"reasoning_format":"split"}')" split2.json
cmp -s <(jq -c .choices "$TMP/split2.json") <(jq -c .choices "$TMP/split.json") || fail "request split: $(cat "$TMP/split2.json")"
stop_server
echo "server reasoning: ok"
