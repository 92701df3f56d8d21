#!/usr/bin/env python3
"""Helpers for test_tool_calls.sh (python3 with jsonschema).

  tool_calls.py make DIR N MODEL  writes DIR/req-K.json, K < N: chat requests with two tools each
                                  (schemas differ per K: nested objects, arrays, enums, anyOf, $ref),
                                  tool_choice "required" (even K) or the second tool by name (odd K),
                                  parallel_tool_calls false except K % 8 == 3
  tool_calls.py check REQ RESP... the response answers with tool calls (content null, finish_reason
                                  "tool_calls", ids "call_...", type "function"), each naming an
                                  allowed tool and carrying arguments (a JSON string) that validate
                                  against that tool's parameters schema; one call unless parallel
                                  (parallel: max_tokens may cut the last call, left as content)
  tool_calls.py assemble SSE      the chat message a stream of chunks assembles to, as OpenAI
                                  clients assemble it (content concatenated, tool calls by index:
                                  id, type and name from the first delta, arguments concatenated),
                                  with the finish reason, on stdout as JSON
  tool_calls.py same A B...       A and B (a response or an assembled stream) carry the same message
                                  and finish reason, tool-call ids aside
"""
import json
import sys

import jsonschema


def schemas(k):
    units = [["celsius", "fahrenheit"], ["kelvin", "celsius"], ["c", "f", "k"], ["metric", "imperial"]][k % 4]
    weather = {
        "type": "object",
        "properties": {
            "location": {"type": "string", "maxLength": 5},
            "unit": {"enum": units},
            "days": {"enum": [1, 2, 3]},
        },
        "required": ["location", "unit"] if k % 2 else ["unit", "days"],
        "additionalProperties": False,
    }
    notes = {
        "type": "object",
        "$defs": {"tag": {"type": "string", "maxLength": 3}},
        "properties": {
            "query": {"type": "string", "minLength": 1, "maxLength": 4},
            "filter": {
                "type": "object",
                "properties": {
                    "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}, "maxItems": 2},
                    "exact": {"type": "boolean"},
                },
                "required": ["exact"],
                "additionalProperties": False,
            },
            "limit": {"anyOf": [{"enum": [5, 10]}, {"type": "null"}]},
            "mode": {"const": "mode-%d" % k},
        },
        "required": ["query", "filter", "mode"],
        "additionalProperties": False,
    }
    return weather, notes


def make(out, n, model):
    for k in range(n):
        weather, notes = schemas(k)
        tools = [
            {"type": "function", "function": {"name": "get_weather_%d" % k, "description": "Weather", "parameters": weather}},
            {"type": "function", "function": {"name": "search_notes", "parameters": notes}},
        ]
        req = {
            "model": model,
            "messages": [{"role": "user", "content": "Request %d: what is the weather, and find my notes?" % k}],
            "tools": tools,
            "tool_choice": "required" if k % 2 == 0 else {"type": "function", "function": {"name": "search_notes"}},
            "parallel_tool_calls": k % 8 == 3,
            "max_tokens": 160 if k % 8 == 3 else 400,
            "temperature": 0,
        }
        with open("%s/req-%d.json" % (out, k), "w") as f:
            json.dump(req, f)


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(req_path, resp_path):
    req = json.load(open(req_path))
    resp = json.load(open(resp_path))
    allowed = {t["function"]["name"]: t["function"]["parameters"] for t in req["tools"]}
    if isinstance(req["tool_choice"], dict):
        name = req["tool_choice"]["function"]["name"]
        allowed = {name: allowed[name]}
    choice = resp["choices"][0]
    msg = choice["message"]
    calls = msg.get("tool_calls") or []
    # parallel calls: the random model may go on calling until max_tokens cuts a call, which is
    # then content; the calls before it stand
    cut = req["parallel_tool_calls"] and choice["finish_reason"] == "length"
    if not calls or (not cut and (choice["finish_reason"] != "tool_calls" or msg.get("content") is not None)):
        fail("%s: not a tool-call answer: %s" % (req_path, json.dumps(choice)))
    if not req["parallel_tool_calls"] and len(calls) != 1:
        fail("%s: %d calls with parallel_tool_calls false" % (req_path, len(calls)))
    for c in calls:
        if not c["id"].startswith("call_") or c["type"] != "function":
            fail("%s: call %s" % (req_path, json.dumps(c)))
        fn = c["function"]
        if fn["name"] not in allowed:
            fail("%s: called %s, allowed %s" % (req_path, fn["name"], list(allowed)))
        if not isinstance(fn["arguments"], str):
            fail("%s: arguments are not a string" % req_path)
        try:
            jsonschema.validate(json.loads(fn["arguments"]), allowed[fn["name"]])
        except (ValueError, jsonschema.ValidationError) as e:
            fail("%s: arguments %s do not validate: %s" % (req_path, fn["arguments"], e))


def assemble(sse_path):
    content, calls, finish, role = None, {}, None, None
    for line in open(sse_path):
        if not line.startswith("data: {"):
            continue
        chunk = json.loads(line[6:])
        for ch in chunk.get("choices", []):
            d = ch.get("delta", {})
            role = d.get("role", role)
            if d.get("content") is not None:
                content = (content or "") + d["content"]
            for tc in d.get("tool_calls", []):
                c = calls.setdefault(tc["index"], {"id": None, "type": None, "function": {"name": None, "arguments": ""}})
                if "id" in tc:
                    c["id"] = tc["id"]
                if "type" in tc:
                    c["type"] = tc["type"]
                fn = tc.get("function", {})
                if "name" in fn:
                    c["function"]["name"] = fn["name"]
                c["function"]["arguments"] += fn.get("arguments", "")
            if ch.get("finish_reason"):
                finish = ch["finish_reason"]
    msg = {"role": role, "content": content if content else None}
    if calls:
        msg["tool_calls"] = [calls[i] for i in sorted(calls)]
    print(json.dumps({"choices": [{"index": 0, "message": msg, "finish_reason": finish}]}))


def strip(resp):
    ch = resp["choices"][0]
    msg = dict(ch["message"])
    msg["tool_calls"] = [{k: v for k, v in c.items() if k != "id"} for c in msg.get("tool_calls", [])]
    if not msg.get("content"):
        msg["content"] = None
    return {"message": msg, "finish_reason": ch["finish_reason"]}


def same(a, b):
    x, y = strip(json.load(open(a))), strip(json.load(open(b)))
    if x != y:
        fail("%s and %s differ:\n%s\n%s" % (a, b, json.dumps(x), json.dumps(y)))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif cmd == "check":  # pairs: REQ RESP REQ RESP ...
        for i in range(2, len(sys.argv), 2):
            check(sys.argv[i], sys.argv[i + 1])
    elif cmd == "assemble":
        assemble(sys.argv[2])
    elif cmd == "same":  # pairs: A B A B ...
        for i in range(2, len(sys.argv), 2):
            same(sys.argv[i], sys.argv[i + 1])
    else:
        fail("unknown command " + cmd)
