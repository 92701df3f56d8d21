#!/usr/bin/env python3
"""replica_load.py — a multi-turn chat workload for pagedvk replicas behind a router (issue 23).

Each of --sessions conversations has a long system prompt of its own and --turns user turns; turn t
sends the whole conversation so far (the earlier turns' replies included), so its prompt extends the
previous turn's: the prefix a replica has cached when the session's turns land on it. --clients
threads run the sessions' turns in order (client c plays session c % sessions; two clients of one
session send the same requests). Greedy (temperature 0), so every reply is reproducible.

  solo:  python3 replica_load.py solo --url http://127.0.0.1:P1 --out solo.json
         every session's turns one request at a time against one server: the expected replies.
  load:  python3 replica_load.py load --url http://127.0.0.1:NGINX [--no-session-header] [--expect solo.json]
         the clients at once through the router; with --stream-every K every K-th request streams.
         Prints one JSON line: requests, ok, unavailable (clean 503s), broken (transport errors, cut
         streams), wrong (replies unlike --expect), completion tokens, seconds, tokens/s, the
         replica (X-Upstream header, set by the router) of each (session, turn) per client.
  metrics: python3 replica_load.py metrics --url http://127.0.0.1:P1 → prefix-cache counters.
  compare: python3 replica_load.py compare --expect solo.json --got load.json → exit 1 on a difference.
  With --kill-pid PID the load sends SIGTERM to PID once --kill-after replies have come (a replica
  leaving in the middle of the load, deterministically).
  route:   python3 replica_load.py route --url http://127.0.0.1:NGINX --keys a,b,c → the replica of each key.

Only the standard library: runs wherever python3 does.
"""
import argparse
import http.client
import json
import os
import signal
import sys
import threading
import time
import urllib.parse

MODEL = "m"


def system_prompt(s):
    return (f"You are assistant number {s}. " + f"Session {s} keeps its notes here, line {s}. " * 6).strip()


def user_turn(s, t):
    return f"Turn {t} of session {s}: tell me about the number {s * 10 + t}."


def messages(s, replies, t):
    m = [{"role": "system", "content": system_prompt(s)}]
    for i in range(t):
        m.append({"role": "user", "content": user_turn(s, i)})
        m.append({"role": "assistant", "content": replies[i]})
    m.append({"role": "user", "content": user_turn(s, t)})
    return m


def post(url, body, headers, stream, timeout):
    """→ (status, reply text or error, upstream, completion tokens, broken: bool)"""
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        h = {"Content-Type": "application/json"}
        h.update(headers)
        c.request("POST", "/v1/chat/completions", json.dumps(body), h)
        r = c.getresponse()
        up = r.getheader("X-Upstream", "")
        if r.status != 200:
            data = r.read()
            try:
                err = json.loads(data)["error"]
                return r.status, err.get("code") or err.get("message"), up, 0, False
            except Exception:
                return r.status, data[:200].decode("utf-8", "replace"), up, 0, True  # not an error object
        if not stream:
            j = json.loads(r.read())
            return 200, j["choices"][0]["message"]["content"], up, j["usage"]["completion_tokens"], False
        text, done, err, n = [], False, None, 0
        for line in r:
            line = line.decode("utf-8").rstrip("\r\n")
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                done = True
                break
            j = json.loads(line[6:])
            if "error" in j:
                err = j["error"].get("code") or j["error"].get("message")
                continue
            for ch in j.get("choices", []):
                d = ch.get("delta", {}).get("content")
                if d:
                    text.append(d)
                    n += 1
        if not done:
            return 200, "stream cut without [DONE]", up, 0, True
        if err:
            return 503, err, up, 0, False  # a clean end: an error event, then [DONE]
        return 200, "".join(text), up, n, False
    except Exception as e:  # refused, reset, timed out, cut mid-body
        return 0, f"{type(e).__name__}: {e}", "", 0, True
    finally:
        c.close()


def body(s, replies, t, max_tokens, stream):
    return {"model": MODEL, "messages": messages(s, replies, t), "max_tokens": max_tokens, "temperature": 0,
            "stream": stream}


def solo(a):
    out = {}
    for s in range(a.sessions):
        replies = []
        for t in range(a.turns):
            st, text, _, _, broken = post(a.url, body(s, replies, t, a.max_tokens, False), {}, False, a.timeout)
            if st != 200:
                sys.exit(f"solo session {s} turn {t}: {st} {text}")
            replies.append(text)
        out[str(s)] = replies
    json.dump(out, open(a.out, "w"))


def load(a):
    expect = json.load(open(a.expect)) if a.expect else None
    lock = threading.Lock()
    res = {"requests": 0, "ok": 0, "unavailable": 0, "broken": 0, "wrong": 0, "tokens": 0, "routes": [],
           "errors": [], "replies": {}}
    counter = [0]

    def client(c):
        s = c % a.sessions
        replies = []
        for t in range(a.turns):
            with lock:
                counter[0] += 1
                k = counter[0]
            stream = a.stream_every > 0 and k % a.stream_every == 0
            hdr = {} if a.no_session_header else {"X-Session-Id": key_of(a, s)}
            st, text, up, n, broken = post(a.url, body(s, replies, t, a.max_tokens, stream), hdr, stream, a.timeout)
            with lock:
                res["requests"] += 1
                res["routes"].append([c, s, t, up])
                if broken:
                    res["broken"] += 1
                    res["errors"].append(f"client {c} turn {t}: {st} {text}")
                elif st == 503:
                    res["unavailable"] += 1
                elif st != 200:
                    res["broken"] += 1
                    res["errors"].append(f"client {c} turn {t}: {st} {text}")
                else:
                    res["ok"] += 1
                    res["tokens"] += n
                    if expect is not None and text != expect[str(s)][t]:
                        res["wrong"] += 1
                        res["errors"].append(f"client {c} session {s} turn {t}: {text!r} != {expect[str(s)][t]!r}")
            if st != 200:
                if expect is None:
                    with lock:
                        res["done"] = res.get("done", 0) + 1
                    return
                text = expect[str(s)][t]  # go on with the expected reply: the next turn's prompt is right
            replies.append(text)
            with lock:
                res["done"] = res.get("done", 0) + 1
                if a.kill_pid and res["done"] == a.kill_after:
                    os.kill(a.kill_pid, signal.SIGTERM)
                    res["killed_after"] = res["done"]
                res["replies"].setdefault(str(c), []).append(text)

    t0 = time.monotonic()
    th = [threading.Thread(target=client, args=(c,)) for c in range(a.clients)]
    for x in th:
        x.start()
    for x in th:
        x.join()
    res["seconds"] = round(time.monotonic() - t0, 3)
    res["tokens_per_s"] = round(res["tokens"] / res["seconds"], 2) if res["seconds"] > 0 else 0
    print(json.dumps(res))


def key_of(a, s):
    return a.keys.split(",")[s] if a.keys else f"{a.key_prefix}{s}"


def route(a):
    """Which replica the router picks for each key (a GET of /v1/models through it)."""
    u = urllib.parse.urlsplit(a.url)
    out = {}
    for k in a.keys.split(","):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=a.timeout)
        c.request("GET", "/v1/models", headers={"X-Session-Id": k})
        r = c.getresponse()
        r.read()
        out[k] = r.getheader("X-Upstream", "")
        c.close()
    print(json.dumps(out))


def compare(a):
    """Every client's replies (a load's JSON line) against the solo replies: exit 1 on a difference."""
    expect = json.load(open(a.expect))
    got = json.loads(open(a.got).read())
    bad = 0
    for c, replies in got["replies"].items():
        s = int(c) % a.sessions
        for t, text in enumerate(replies):
            if text != expect[str(s)][t]:
                bad += 1
                print(f"client {c} session {s} turn {t}: {text!r} != solo {expect[str(s)][t]!r}")
    n = sum(len(r) for r in got["replies"].values())
    print(f"{n} replies compared, {bad} differ")
    sys.exit(1 if bad or n == 0 else 0)


def metrics(a):
    u = urllib.parse.urlsplit(a.url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=a.timeout)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("vllm:prefix_cache_") or line.startswith("vllm:generation_tokens_total"):
            name, v = line.rsplit(" ", 1)
            out[name.split("{")[0]] = float(v)
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["solo", "load", "metrics", "route", "compare"])
    p.add_argument("--url", default="", help="the server or router (every mode but compare)")
    p.add_argument("--sessions", type=int, default=8)
    p.add_argument("--turns", type=int, default=4)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--max-tokens", type=int, default=8)
    p.add_argument("--stream-every", type=int, default=2)
    p.add_argument("--no-session-header", action="store_true")
    p.add_argument("--key-prefix", default="session-")
    p.add_argument("--keys", help="comma list: session s sends the s-th key (route: the keys to look up)")
    p.add_argument("--expect")
    p.add_argument("--out")
    p.add_argument("--got", help="compare: a load's output")
    p.add_argument("--kill-pid", type=int, default=0, help="load: SIGTERM this process after --kill-after replies")
    p.add_argument("--kill-after", type=int, default=8)
    p.add_argument("--timeout", type=float, default=300)
    a = p.parse_args()
    {"solo": solo, "load": load, "metrics": metrics, "route": route, "compare": compare}[a.mode](a)


if __name__ == "__main__":
    main()
