#!/usr/bin/env bash
# A mixed attack on `pagedvk serve` (issue 21's acceptance), all at once, each from its own loopback
# address so that the per-client cap is what holds it:
#   127.0.0.2 — slow connections at the per-client cap (8), headers dripped a byte at a time and
#               reopened as the header timeout closes them, for the whole attack;
#   127.0.0.3 — 8 MiB bodies (an array of ~4M zeros beside the prompt), 4 at once, 3 rounds: each
#               refused with a 4xx by the JSON reader's limits;
#   127.0.0.4 — logprob-heavy requests (n 8, 48 tokens, top 20 logprobs each), 4 at once, 2 rounds;
#   127.0.0.1 — a normal client: a greedy completion sent while all of that runs must get 200 with
#               the text the same request got alone before the attack.
# The attack runs twice. Idle after the second, the server's VmRSS must be within 10% of its idle
# value before it (the first round is the warm-up: a server that has served one short request
# grows by ~65 MB in its first full batches, the engine's step buffers and lavapipe's); not checked
# under sanitizers, whose allocators keep memory. Every KV block is free at the end and SIGTERM ends the server with 0. Waits are bounded; nothing here measures speed.
set -u
source "$(dirname "$0")/../server/lib.sh"
need_model
need_tools python3
sanitized=0
if ldd "$PAGEDVK" 2>/dev/null | grep -q 'libasan\|libubsan\|libtsan'; then sanitized=1; fi
start_server --max-connections-per-client 8 --header-timeout 6 --max-num-seqs 16
PORT=${URL##*:}
M='"model":"'$MODEL_NAME'"'
NORMAL="{$M,\"prompt\":\"The quick brown fox\",\"max_tokens\":12,\"temperature\":0}"


[ "$(post /v1/completions "$NORMAL")" = 200 ] || fail "solo request: $(cat "$TMP/body")"
solo=$(jq -r '.choices[0].text' "$TMP/body")
cat > "$TMP/attack.py" <<'EOF'
import json, socket, sys, threading, time
port, model, normal, solo = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode(), sys.argv[4]
stop = threading.Event()
errors = []

def http(src, path, body, timeout=120):
    c = socket.socket()
    c.bind((src, 0))
    c.settimeout(timeout)
    c.connect(("127.0.0.1", port))
    c.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
              b"Content-Length: %d\r\n\r\n" % (path.encode(), len(body)))
    view = memoryview(body)
    try:
        while len(view):
            n = c.send(view[:1 << 16])
            view = view[n:]
    except OSError:
        pass  # refused early (413/400 before the whole body): read what it said
    data = b""
    try:
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            data += b
    except OSError:
        pass
    c.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0
    if b"chunked" in head.lower():
        out, r = b"", rest
        while r:
            size, _, r = r.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            out, r = out + r[:n], r[n + 2:]
        rest = out
    return status, rest

def slow_clients():
    """Keeps 8 connections from 127.0.0.2 dripping their headers; reopens the ones closed."""
    conns = []
    opened = 0
    while not stop.is_set():
        live = []
        for s in conns:
            try:
                s.send(b"X")
                live.append(s)
            except OSError:
                s.close()
        conns = live
        while len(conns) < 8 and not stop.is_set():
            try:
                s = socket.socket()
                s.bind(("127.0.0.2", 0))
                s.settimeout(2)
                s.connect(("127.0.0.1", port))
                s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                s.setblocking(False)
                conns.append(s)
                opened += 1
            except OSError:
                s.close()
                break
        time.sleep(0.2)
    for s in conns:
        s.close()
    print("slow connections opened", opened)

big = ('{"model":"%s","prompt":"hi","max_tokens":4,"x":[' % model)
n = (8 * 1024 * 1024 - len(big) - 64) // 2
big = (big + ",".join(["0"] * n) + "]}").encode()
big_codes = []

def big_bodies():
    for _ in range(3):
        th = [threading.Thread(target=lambda: big_codes.append(http("127.0.0.3", "/v1/completions", big)[0]))
              for _ in range(4)]
        for t in th: t.start()
        for t in th: t.join()

heavy = json.dumps({"model": model, "prompt": "Once upon a time", "max_tokens": 48, "n": 8, "logprobs": 20,
                    "temperature": 1.0, "seed": 7}).encode()
heavy_codes = []

def heavy_one():
    st, body = http("127.0.0.4", "/v1/completions", heavy)
    if st == 200:
        j = json.loads(body)
        ok = len(j["choices"]) == 8 and all(len(c["logprobs"]["top_logprobs"]) >= 1 for c in j["choices"])
        if not ok:
            errors.append("logprob response incomplete")
    heavy_codes.append(st)

def heavy_requests():
    for _ in range(2):
        th = [threading.Thread(target=heavy_one) for _ in range(4)]
        for t in th: t.start()
        for t in th: t.join()

attackers = [threading.Thread(target=f) for f in (slow_clients, big_bodies, heavy_requests)]
for t in attackers: t.start()
time.sleep(1.0)  # every attack is under way
st, body = http("127.0.0.1", "/v1/completions", normal)
if st != 200:
    errors.append("normal client: status %d %r" % (st, body[:300]))
else:
    text = json.loads(body)["choices"][0]["text"]
    if text != solo:
        errors.append("normal client: text %r, alone it was %r" % (text, solo))
print("normal client", st)
for t in attackers[1:]: t.join()
stop.set()
attackers[0].join()
print("big bodies", sorted(big_codes))
print("heavy", sorted(heavy_codes))
if len(big_codes) != 12 or any(not 400 <= c < 500 for c in big_codes):
    errors.append("8 MiB bodies not all refused with 4xx: %r" % big_codes)
# 200, or 503 server_busy when the pending-request cap is reached; never a 500 or a dropped connection
if len(heavy_codes) != 8 or any(c not in (200, 503) for c in heavy_codes) or 200 not in heavy_codes:
    errors.append("logprob-heavy requests: %r" % heavy_codes)
for e in errors:
    print("ERROR", e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF
attack() {
  python3 "$TMP/attack.py" "$PORT" "$MODEL_NAME" "$NORMAL" "$solo" > "$TMP/attack.out" 2> "$TMP/attack.err"
  local rc=$?
  sed "s/^/round $1: /" "$TMP/attack.out"
  [ "$rc" = 0 ] || fail "mixed attack, round $1: $(cat "$TMP/attack.err")"
}

# Round 1 from a server that has served one request: its idle VmRSS afterwards is the baseline, as
# the server keeps by design what a first full load makes (the engine's buffers for a full batch,
# lavapipe's, the connection threads' cached stacks); round 2 must not add to it.
cold=$(settle)
attack 1
before=$(settle)
attack 2
after=$(settle)
echo "VmRSS idle: ${cold} KiB before round 1, ${before} KiB after it, ${after} KiB after round 2"
if [ "$sanitized" = 0 ]; then
  [ "$after" -le $((before + before / 10)) ] || fail "VmRSS stayed up: ${before} KiB before round 2, ${after} KiB idle after"
else
  echo "sanitizer build: the VmRSS check is left to the normal build"
fi
[ "$(post /v1/completions "$NORMAL")" = 200 ] || fail "a request after the attack: $(cat "$TMP/body")"
[ "$(jq -r '.choices[0].text' "$TMP/body")" = "$solo" ] || fail "the text after the attack differs"
stop_server
echo "mixed attack: ok"
