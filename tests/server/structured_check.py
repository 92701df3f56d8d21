#!/usr/bin/env python3
"""structured_check.py — structured outputs of `pagedvk serve` (test_structured.sh starts it).

usage: structured_check.py BASE_URL MODEL basics|batch

With a random-weight model, whatever it would say, every answer to a response_format json_schema
request must parse and validate against its schema (jsonschema; the schema's own dialect, 2020-12
here): nested objects, arrays with minItems/maxItems, enums, const, anyOf/oneOf, $defs/$ref
(recursive too), string lengths, uuid.
- basics (test_structured.sh): sampled answers to every schema, 16 at once; streamed answers
  reassemble to the non-streamed one; json_object gives an object (or, cut by max_tokens, says
  grammar_incomplete); /v1/completions, llama-server's "grammar" and "json_schema" fields.
- batch (test_structured_batch.sh): 16 greedy requests with 8 schemas, one at a time, then all at
  once: each concurrent answer equals its solo one.
Exit 0, or 1 with the first failure.
"""
import json
import re
import time
import sys
import threading
import urllib.error
import urllib.request

import jsonschema

BASE, MODEL, MODE = sys.argv[1], sys.argv[2], sys.argv[3]

SCHEMAS = {
    "person": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 8},
            "age": {"type": "integer"},
            "address": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "maxLength": 10},
                    "zip": {"type": "string", "minLength": 5, "maxLength": 5},
                },
                "required": ["city", "zip"],
                "additionalProperties": False,
            },
        },
        "required": ["name", "age", "address"],
        "additionalProperties": False,
    },
    "tags": {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 6}, "minItems": 2, "maxItems": 4},
            "count": {"type": "number"},
        },
        "required": ["tags"],
        "additionalProperties": False,
    },
    "enums": {
        "type": "object",
        "properties": {
            "color": {"enum": ["red", "green", "blue"]},
            "size": {"type": "string", "enum": ["S", "M", "L", "XL"]},
            "n": {"enum": [1, 2.5, None, True]},
        },
        "required": ["color", "size", "n"],
        "additionalProperties": False,
    },
    "anyof": {
        "type": "object",
        "properties": {
            "v": {"anyOf": [{"type": "integer"}, {"type": "boolean"}, {"type": "null"},
                            {"type": "string", "maxLength": 4}]},
            "w": {"oneOf": [{"type": "array", "items": {"type": "integer"}, "maxItems": 3},
                            {"type": "object", "properties": {"k": {"type": "boolean"}}, "required": ["k"],
                             "additionalProperties": False}]},
        },
        "required": ["v", "w"],
        "additionalProperties": False,
    },
    "refs": {
        "$defs": {
            "pt": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                   "required": ["x", "y"], "additionalProperties": False},
        },
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/pt"}, "b": {"$ref": "#/$defs/pt"}},
        "required": ["a", "b"],
        "additionalProperties": False,
    },
    "tree": {
        "$defs": {
            "node": {"type": "object",
                     "properties": {"v": {"type": "integer"},
                                    "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 2}},
                     "required": ["v"], "additionalProperties": False},
        },
        "$ref": "#/$defs/node",
    },
    "list": {"type": "array", "items": {"type": "boolean"}, "minItems": 1, "maxItems": 3},
    "consts": {
        "type": "object",
        "properties": {
            "kind": {"const": "point"},
            "id": {"type": "string", "format": "uuid"},
            "extra": {"type": "string", "maxLength": 3},
        },
        "required": ["kind", "id"],
        "additionalProperties": False,
    },
}
MAX_TOKENS = 400


def post(path, body, stream=False):
    req = urllib.request.Request(BASE + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            data = r.read().decode()
            return r.status, data
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def chat_body(name, prompt, **extra):
    body = {"model": MODEL, "messages": [{"role": "user", "content": prompt}], "max_tokens": MAX_TOKENS,
            "temperature": 0,
            "response_format": {"type": "json_schema",
                                "json_schema": {"name": name, "schema": SCHEMAS[name], "strict": True}}}
    body.update(extra)
    return body


def answer(body, what):
    status, text = post("/v1/chat/completions", body)
    if status != 200:
        fail(f"{what}: status {status}: {text}")
    r = json.loads(text)
    c = r["choices"][0]
    if c["finish_reason"] != "stop":
        fail(f"{what}: finish_reason {c['finish_reason']} (max_tokens {MAX_TOKENS} too few?): {c}")
    if "grammar_incomplete" in c:
        fail(f"{what}: grammar_incomplete on a complete answer: {c}")
    return c["message"]["content"]


def validate(name, content, what):
    try:
        value = json.loads(content)
    except ValueError as e:
        fail(f"{what}: not JSON ({e}): {content!r}")
    try:
        jsonschema.validate(value, SCHEMAS[name], format_checker=jsonschema.FormatChecker())
    except jsonschema.ValidationError as e:
        fail(f"{what}: does not validate against '{name}': {e.message}: {content!r}")
    return value


def stream_content(body, what):
    body = dict(body, stream=True)
    status, text = post("/v1/chat/completions", body)
    if status != 200:
        fail(f"{what}: status {status}: {text}")
    out, finish = "", None
    for line in text.splitlines():
        if not line.startswith("data: {"):
            continue
        chunk = json.loads(line[6:])
        for c in chunk["choices"]:
            out += c["delta"].get("content") or ""
            finish = c.get("finish_reason") or finish
    if finish != "stop":
        fail(f"{what}: streamed finish_reason {finish}")
    return out


T0 = time.time()


def lap(what):
    print(f"  {time.time() - T0:6.1f} s  {what}", file=sys.stderr)


def parallel(fn, keys):
    """fn(key) for every key at once (threads); {key: result}."""
    got, errors, threads = {}, [], []

    def one(key):
        try:
            got[key] = fn(key)
        except SystemExit:
            errors.append(key)

    for key in keys:
        t = threading.Thread(target=one, args=(key,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    if errors:
        fail(f"requests failed: {errors}")
    return got


PROMPTS = ["Describe something.", "Give me data about a cat named Tom"]


def batch():
    """16 greedy requests (8 schemas x 2 prompts) one at a time, then all at once: each answer
    validates, and each concurrent answer equals its solo one."""
    solo = {}
    for name in SCHEMAS:
        for i, p in enumerate(PROMPTS):
            what = f"{name}/solo{i}"
            solo[(name, i)] = answer(chat_body(name, p), what)
            validate(name, solo[(name, i)], what)
    lap("16 solo")
    got = parallel(lambda k: answer(chat_body(k[0], PROMPTS[k[1]]), f"{k[0]}/concurrent{k[1]}"), list(solo))
    for key, content in solo.items():
        if got[key] != content:
            fail(f"{key}: concurrent {got[key]!r} != solo {content!r}")
    lap("16 at once")
    print(f"structured batch: {len(solo)} greedy answers valid, the same solo and 16 at once: ok")


def basics():
    """Sampled answers to every schema validate; streams reassemble; json_object; completions;
    llama-server's json_schema and grammar fields."""
    keys = [(name, seed) for name in SCHEMAS for seed in (1, 2)]
    got = parallel(lambda k: answer(chat_body(k[0], PROMPTS[0], temperature=1.0, seed=k[1]), f"{k[0]}/seed{k[1]}"),
                   keys)
    for (name, seed), content in got.items():
        validate(name, content, f"{name}/seed{seed}")
    lap("sampled")
    for name in ("person", "tree"):
        body = chat_body(name, PROMPTS[0], temperature=1.0, seed=3)
        whole = answer(body, f"{name}/whole")
        s = stream_content(body, f"{name}/stream")
        if s != whole:
            fail(f"{name}: streamed {s!r} != {whole!r}")
    lap("streams")

    def json_object(seed):
        body = {"model": MODEL, "messages": [{"role": "user", "content": "JSON please"}], "max_tokens": 120,
                "temperature": 1.0, "seed": seed, "response_format": {"type": "json_object"}}
        status, text = post("/v1/chat/completions", body)
        if status != 200:
            fail(f"json_object: {status} {text}")
        c = json.loads(text)["choices"][0]
        if c["finish_reason"] == "stop":
            try:
                v = json.loads(c["message"]["content"])
            except ValueError as e:
                fail(f"json_object: not JSON: {e}: {c['message']['content']!r}")
            if not isinstance(v, dict):
                fail(f"json_object: not an object: {v!r}")
        elif c.get("grammar_incomplete") is not True or not c["message"]["content"].startswith("{"):
            fail(f"json_object: ended by length without grammar_incomplete: {c}")

    parallel(json_object, [1, 2, 3])
    lap("json_object")
    # /v1/completions with response_format, and llama-server's json_schema and grammar fields
    for extra in ({"response_format": {"type": "json_schema", "json_schema": {"name": "enums",
                                                                            "schema": SCHEMAS["enums"]}}},
                  {"json_schema": SCHEMAS["enums"]}):
        body = {"model": MODEL, "prompt": "Colors:", "max_tokens": MAX_TOKENS, "temperature": 0}
        body.update(extra)
        status, text = post("/v1/completions", body)
        if status != 200:
            fail(f"completions {list(extra)}: {status} {text}")
        validate("enums", json.loads(text)["choices"][0]["text"], f"completions {list(extra)}")
    body = {"model": MODEL, "prompt": "Answer:", "max_tokens": 50, "temperature": 1.0, "seed": 7,
            "grammar": 'root ::= ("yes" | "no") " because " [a-z]{2,6} "."'}
    status, text = post("/v1/completions", body)
    if status != 200:
        fail(f"grammar: {status} {text}")
    t = json.loads(text)["choices"][0]["text"]
    if not re.fullmatch(r"(yes|no) because [a-z]{2,6}\.", t):
        fail(f"grammar: {t!r} is not a sentence of the grammar")
    lap("completions")
    print(f"structured: {len(keys)} sampled answers to {len(SCHEMAS)} schemas valid, streams, json_object, "
          "completions, grammar, json_schema: ok")


batch() if MODE == "batch" else basics()
