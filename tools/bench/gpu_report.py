#!/usr/bin/env python3
"""gpu_report.py WORK OUT — the report of tools/gpu-check: reads the step outputs in WORK (NAME.out,
NAME.cmd, steps.tsv, meta.env, missing.txt) and writes the Markdown report OUT, then prints the one-line
summary. Standard library only. Every table names the command behind it; a step that did not run
says why in place of its table."""
import json, os, re, sys

work, out = sys.argv[1], sys.argv[2]


def read(name, default=''):
    try:
        with open(os.path.join(work, name), encoding='utf-8', errors='replace') as f:
            return f.read()
    except OSError:
        return default


meta = dict(l.split('=', 1) for l in read('meta.env').splitlines() if '=' in l)
quick = meta.get('quick') == '1'
steps = {}
for line in read('steps.tsv').splitlines():
    f = line.split('\t')
    if len(f) >= 4:
        steps[f[0]] = {'status': f[1], 'seconds': int(f[2] or 0), 'note': f[3]}
missing = [l for l in read('missing.txt').splitlines() if l.strip()]


def load_json(name):
    """The last JSON object in NAME.out (the benches print one), or None."""
    text = read(name + '.out').strip()
    if not text:
        return None
    start = text.find('{')
    if start < 0:
        return None
    try:
        return json.loads(text[start:])
    except ValueError:
        pass
    # bench kernels prints its results as they come: a step stopped by its time limit leaves the
    # kernels measured so far, which are kept (the step table says it timed out)
    cut = text[start:].rstrip().rstrip(',')
    for tail in ('\n  ]\n}', '}\n  ]\n}'):
        try:
            return json.loads(cut + tail)
        except ValueError:
            pass
    return None


lines = []
w = lines.append


def cmd(name):
    c = read(name + '.cmd').strip()
    if c:
        w('```sh\n%s\n```\n' % c)


def status_line(name):
    s = steps.get(name)
    if not s:
        return 'not run'
    return '%s (%d s%s)' % (s['status'], s['seconds'], ', ' + s['note'] if s['note'] else '')


def missing_table(name):
    """When step NAME has no usable output: a line saying why, with the end of its stderr."""
    s = steps.get(name, {'status': 'not run', 'note': ''})
    w('**Not measured** — step `%s` %s.' % (name, status_line(name)))
    err = read(name + '.err').strip().splitlines()[-5:]
    if err and s['status'] != 'skipped':
        w('\n```\n%s\n```' % '\n'.join(err))
    w('')


def sig(x):
    """About three significant digits, never in exponent form."""
    return '%.0f' % x if x >= 100 else '%.1f' % x if x >= 10 else '%.2f' % x


def fmt(x, nd=1):
    return ('%.' + str(nd) + 'f') % x if isinstance(x, (int, float)) else '—'


device = meta.get('device', 'unknown device')
w('# pagedvk on %s\n' % device)
w('Written by `tools/gpu-check%s` in %s s of machine time (budget %s s, each step at most %s s). Host: %s. '
  'Build: `%s`. The benchmarks run without the validation layer; the test suite runs under it where it is '
  'installed (here: %s).\n' % (' --quick' if quick else '', meta.get('seconds', '?'), meta.get('budget', '?'),
                               meta.get('step_timeout', '?'), meta.get('host', '?'), meta.get('build', '?'),
                               'yes' if meta.get('validation_layer') == '1' else 'no'))
if quick:
    w('**--quick**: a small model, single runs and smaller sizes than the full mode (each table says which); '
      'the figures show that every step works, not what the device can do.\n')

summary_at = len(lines)
w('')  # the summary goes here

# ---- steps and packages ----
w('## Steps\n')
w('| step | status | seconds | note |\n|---|---|---:|---|')
for name, s in steps.items():
    w('| %s | %s | %d | %s |' % (name, s['status'], s['seconds'], s['note'].replace('|', '\\|')))
w('')
if missing:
    w('Missing Debian packages (the steps went on without them):\n')
    for m in missing:
        w('- %s' % m)
    w('')
else:
    w('No missing package found.\n')

# ---- info ----
w('## Device and kernel choice\n')
cmd('info')
info = read('info.out').strip()
if info:
    w('```\n%s\n```\n' % info)
else:
    missing_table('info')

# ---- checks ----
w('## Checks\n')
oracle_ok = None
w('### Oracle: the engine against llama.cpp\'s greedy ids\n')
if steps.get('oracle', {}).get('status') == 'skipped' or 'oracle' not in steps:
    w('oracle: skipped — %s\n' % steps.get('oracle', {}).get('note', 'not run'))
else:
    cmd('oracle')
    o = read('oracle.out')
    m = re.search(r'run: (\d+) passed, (\d+) failed', o)
    if m:
        oracle_ok = (int(m.group(1)), int(m.group(1)) + int(m.group(2)))
        w('| oracle | passed | failed |\n|---|---:|---:|\n| generation (%s) | %s | %s |\n' %
          (steps['oracle']['note'], m.group(1), m.group(2)))
        bad = [l for l in o.splitlines() if l.startswith('run ')]
        if bad:
            w('```\n%s\n```\n' % '\n'.join(bad[:20]))
        w('oracle: %s of %d cases pass\n' % (m.group(1), oracle_ok[1]))
    else:
        missing_table('oracle')
w('### Chat templates\n')
if steps.get('templates', {}).get('status') == 'skipped' or 'templates' not in steps:
    w('templates: skipped — %s\n' % steps.get('templates', {}).get('note', 'not run'))
else:
    cmd('templates')
    m = re.search(r'templates: (\d+) of (\d+) cases match', read('templates.out'))
    w(('templates: %s of %s cases match\n' % m.groups()) if m else '')
    if not m:
        missing_table('templates')
w('### The test suite\'s GPU tests\n')
tests_line = None
if steps.get('tests', {}).get('status') == 'skipped' or 'tests' not in steps:
    w('tests: skipped — %s\n' % steps.get('tests', {}).get('note', 'not run'))
else:
    cmd('tests')
    t = read('tests.out')
    m = re.search(r'(\d+)% tests passed, (\d+) tests? failed out of (\d+)', t)
    if m:
        tests_line = '%d/%s' % (int(m.group(3)) - int(m.group(2)), m.group(3))
        w('tests: %s passed (%s)\n' % (tests_line, status_line('tests')))
        failed = re.findall(r'^\s+\d+ - (\S+) \((\w+)\)', t, re.M)
        if failed:
            w('Failed: %s\n' % ', '.join('%s (%s)' % f for f in failed))
    else:
        missing_table('tests')

# ---- kernels ----
w('## Copy bandwidth and kernels\n')
kj = load_json('kernels')
cj0 = load_json('copy') or kj
bw = None
if cj0:
    cmd('copy' if load_json('copy') else 'kernels')
    bw = max(cj0.get('copy_gbps', 0), cj0.get('copy_kernel_gbps', 0))
    w('| copy | GB/s (bytes read + written / time) |\n|---|---:|')
    w('| vkCmdCopyBuffer, 64 MiB | %s |' % fmt(cj0.get('copy_gbps')))
    w('| copy kernel (tools/bench/shaders/copy.comp), 64 MiB | %s |' % fmt(cj0.get('copy_kernel_gbps')))
    w('| **bandwidth used for the bounds below** (the larger) | **%s** |\n' % fmt(bw))
else:
    missing_table('copy')
if kj:
    cmd('kernels')
    if steps.get('kernels', {}).get('status') == 'timeout':
        w('The kernels step reached its time limit: the kernels measured before it are below.\n')
    mm = [k for k in kj.get('kernels', []) if k['kernel'] == 'matmul']
    ms = sorted({int(re.search(r'M=(\d+)', k['shape']).group(1)) for k in mm})
    types = []
    for k in mm:
        if k['variant'] not in types:
            types.append(k['variant'])
    if mm:
        w('Matmul %s, median of %s runs: GB/s = weight + activation bytes read / time (share of the copy '
          'bandwidth), GFLOP/s = 2·M·N·K / time. Weights are 16 rows repeated, a few MiB: a device whose last-'
          'level cache holds them reads them faster than its memory.\n' % (mm[0]['shape'].split(' ')[0], kj.get('runs')))
        w('| type | ' + ' | '.join('M=%d GB/s (share) | M=%d GFLOP/s' % (m, m) for m in ms) + ' |')
        w('|---|' + '---:|---:|' * len(ms))
        for t in types:
            row = []
            for m in ms:
                k = next((k for k in mm if k['variant'] == t and k['shape'].endswith('M=%d' % m)), None)
                if k:
                    share = ' (%.0f%%)' % (100 * k['gbps'] / bw) if bw else ''
                    row += [sig(k['gbps']) + share, sig(k['gflops'])]
                else:
                    row += ['—', '—']
            w('| %s | %s |' % (t, ' | '.join(row)))
        w('')
    other = [k for k in kj.get('kernels', []) if k['kernel'] != 'matmul']
    if other:
        w('| kernel | variant | shape | median ms | GB/s | GFLOP/s |\n|---|---|---|---:|---:|---:|')
        for k in other:
            w('| %s | %s | %s | %.3f | %.1f | %.1f |' % (k['kernel'], k['variant'], k['shape'], k['median_ms'],
                                                       k['gbps'], k['gflops']))
        w('')
else:
    missing_table('kernels')

# ---- the model ----
w('## The benchmark model\n')
w('%s. Made by:\n' % meta.get('model_desc', ''))
w('```sh\n%s\n```\n' % read('model.cmdline').strip())

w('### Batch-1 decode against the bandwidth bound\n')
rj = load_json('decode')
decode_share = decode_tps = None
if rj:
    cmd('decode')
    wb = rj.get('decode_weight_bytes', 0)
    ms_tok = rj.get('decode_ms_per_token', 0)
    decode_tps = 1000.0 / ms_tok if ms_tok else None
    w('| quantity | value |\n|---|---:|')
    w('| parameters | %.0f M |' % (rj.get('model_params', 0) / 1e6))
    w('| weight bytes read per decode step (all but the embedding table) | %.1f MiB |' % (wb / 1048576))
    w('| decode time per token (ITL p50) | %.2f ms |' % ms_tok)
    w('| batch-1 decode | **%s tokens/s** |' % fmt(decode_tps))
    if bw and ms_tok:
        bound_ms = wb / (bw * 1e9) * 1e3
        decode_share = bound_ms / ms_tok
        w('| bandwidth bound per token (weight bytes / %.1f GB/s device copy) | %.3f ms |' % (bw, bound_ms))
        w('| **decode as a share of the bandwidth bound** (bound / measured) | **%.1f%%** |' % (100 * decode_share))
    else:
        w('| decode as a share of the bandwidth bound | — (no device copy bandwidth: kernels step %s) |'
          % status_line('kernels'))
    w('| host memcpy bandwidth (bench roofline\'s CPU proxy, %d threads) | %.1f GB/s |\n'
      % (rj.get('copy_threads', 0), rj.get('copy_gb_per_s', 0)))
else:
    missing_table('decode')

w('### Concurrent streams: aggregate output tokens/s\n')
cj = load_json('streams')
agg32 = None
if cj:
    cmd('streams')
    w('Prompt %s + output %s tokens per request.\n' % (cj.get('prompt_len'), cj.get('output_len')))
    w('| max-num-seqs | requests | output tokens/s | × 1 stream | ITL p50 | mean step |\n|---:|---:|---:|---:|---:|---:|')
    base = None
    for c in cj.get('configs', []):
        tps = c.get('output_tokens_per_s', 0)
        base = base or tps
        if c.get('max_num_seqs') == 32:
            agg32 = tps
        w('| %d | %d | %.1f | %.2f× | %.1f ms | %.2f ms |' % (c['max_num_seqs'], c['requests'], tps,
                                                           tps / base if base else 0, c.get('itl_p50_ms', 0),
                                                           c.get('step_ms_mean', 0)))
    w('\n**32-stream aggregate: %s output tokens/s.**\n' % fmt(agg32))
else:
    missing_table('streams')

w('### Prefill\n')
prefill = {}
rows = []
for name in ('prefill_512', 'prefill_2048'):
    pj = load_json(name)
    if pj and pj.get('configs'):
        c = pj['configs'][0]
        n = pj.get('prompt_len', 0)
        ttft = c.get('ttft_p50_ms', 0)
        tps = n / (ttft / 1000.0) if ttft else None
        prefill[name] = (n, tps)
        rows.append('| %d | %.1f ms | **%s** | %s |' % (n, ttft, fmt(tps), steps[name]['note']))
if rows:
    w('One request alone; prompt tokens / time to first token (median of the runs); the engine\'s default '
      'chunk of 512 prompt tokens per step.\n')
    for name in ('prefill_512', 'prefill_2048'):
        cmd(name)
    w('| prompt tokens | time to first token | prefill tokens/s | note |\n|---:|---:|---:|---|')
    for r in rows:
        w(r)
    w('')
for name in ('prefill_512', 'prefill_2048'):
    if name not in prefill:
        missing_table(name)

w('### Paged vs contiguous KV (mixed workload)\n')
mj = load_json('mixed')
ratio = None
if mj:
    cmd('mixed')
    w('%s requests, %s; KV pool %.1f MiB (room for 4 contiguous sequences of max_model_len %s).\n'
      % (mj['configs'][0]['requests'] if mj.get('configs') else '?', mj.get('distribution', ''),
         mj.get('kv_mem', 0) / 1048576, mj.get('max_model_len')))
    w('| layout | peak seqs | KV util mean | output tokens/s | TTFT p50 | ITL p50 | preemptions |\n'
      '|---|---:|---:|---:|---:|---:|---:|')
    for c in mj.get('configs', []):
        w('| %s | %.0f | %.1f%% | %.1f | %.0f ms | %.1f ms | %.0f |' % (
            c['label'], c.get('peak_concurrent_seqs', 0), 100 * c.get('kv_util_mean', 0),
            c.get('output_tokens_per_s', 0), c.get('ttft_p50_ms', 0), c.get('itl_p50_ms', 0), c.get('preemptions', 0)))
    ratio = (mj.get('ratio_peak_seqs'), mj.get('ratio_tokens_per_s'))
    w('\n**paged / contiguous: %s× peak concurrent sequences, %s× output tokens/s.**\n' % (fmt(ratio[0], 2),
                                                                                      fmt(ratio[1], 2)))
else:
    missing_table('mixed')

# ---- summary ----
parts = ['%s%s' % (device, ' (--quick)' if quick else '')]
parts.append('copy %s GB/s' % fmt(bw))
parts.append('decode b1 %s tok/s = %s of bound' % (fmt(decode_tps),
                                                   '%.0f%%' % (100 * decode_share) if decode_share else '—'))
parts.append('32 streams %s tok/s' % fmt(agg32))
parts.append('prefill ' + ', '.join('%d: %s tok/s' % (prefill[k][0], fmt(prefill[k][1]))
                                    for k in ('prefill_512', 'prefill_2048') if k in prefill) if prefill else 'prefill —')
parts.append('paged/contig %s× tok/s' % fmt(ratio[1], 2) if ratio else 'paged/contig —')
parts.append('oracle %s' % ('%d/%d' % oracle_ok if oracle_ok else steps.get('oracle', {}).get('status', 'not run')))
parts.append('tests %s' % (tests_line or steps.get('tests', {}).get('status', 'not run')))
bad = [n for n, s in steps.items() if s['status'] in ('failed', 'timeout')]
parts.append('%s s%s' % (meta.get('seconds', '?'), '; FAILED: ' + ','.join(bad) if bad else ''))
summary = '; '.join(parts)
lines[summary_at] = '**Summary:** %s\n' % summary

with open(out, 'w', encoding='utf-8') as f:
    f.write('\n'.join(lines).rstrip() + '\n')
print(summary)
