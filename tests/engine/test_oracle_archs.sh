#!/usr/bin/env bash
# The engine (pagedvk run) against llama.cpp's greedy outputs for the models of ../shared/oracle/p13
# that this project runs, one model at a time (check-oracle takes whole sets: once every p13 model
# runs, `check-oracle --with p13` in test_oracle_engine.sh and the portability test replaces this
# list). Each model on the default profile, with KV blocks of 8 tokens, and under the embedded profile.
# Usage: test_oracle_archs.sh BUILD_DIR SHARED_DIR
set -euo pipefail
build=$1
shared=$2
models="syn-qwen3 syn-smollm3 syn-granite syn-phi3 syn-gemma2 syn-gemma3"
[ -d "$shared/oracle/p13" ] && command -v python3 >/dev/null || { echo "no ../shared oracle: skipped"; exit 77; }
check() { # PROFILE EXTRA_FLAGS
  PAGEDVK_PROFILE=$1 python3 - "$build/pagedvk" "$shared" "$2" $models <<'PY'
import json, subprocess, sys
pagedvk, shared, extra, models = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4:]
bad = 0
for name in models:
    o = json.load(open('%s/oracle/p13/%s.json' % (shared, name)))
    for c in o['cases']:
        n = c['compare_n']
        cmd = [pagedvk, 'run', '-m', '%s/%s' % (shared, o['model']), '-p', c['prompt'], '-n', str(max(n, 1)),
               '--temp', '0', '--json'] + extra
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        lines = [l for l in p.stdout.splitlines() if l.startswith('{')]
        got = json.loads(lines[-1]).get('ids', []) if lines else 'error: ' + p.stderr.strip()[-200:]
        if got[:n] != c['greedy_ids'][:n]:
            bad += 1
            print('%s %r %s: got %s want %s' % (name, c['prompt'], ' '.join(extra), str(got)[:120], c['greedy_ids'][:n]))
print('%s %s: %s' % (' '.join(models), ' '.join(extra) or 'defaults', 'failed' if bad else 'passed'))
sys.exit(1 if bad else 0)
PY
}
check default ""
check default "--block-size 8"
check embedded "--kv-mem 160M"
