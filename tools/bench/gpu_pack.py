#!/usr/bin/env python3
"""gpu_pack.py — the two halves of running tools/gpu-check from a build made on another machine.

  gpu_pack.py ROOT BUILD PACK SHARED SETS   (tools/gpu-check --pack PACK --build BUILD --pack-sets SETS)
      Copies into PACK what gpu-check needs on a machine without compilers or the project's Debian
      packages: pagedvk, mkmodel and bench-kernels (stripped), the C test executables that need a GPU
      (ctest labels without `nogpu`/`embedded`) with their ctest environment in tests.json, the shared
      libraries those load beyond glibc (lib/), the Vulkan loader (lib/libvulkan.so.1), the Khronos
      validation layer (layers/), gpu-pack.env with the folders the tests were compiled with, and
      shared/: the part of SHARED (../shared) that the oracle sets SETS (comma list; `base` = the
      top-level oracle files) need — check-oracle, check-templates and the chat templates, those
      oracle files and their models (the device machine has no ../shared). The test models are not
      carried: --run-tests makes them with the pack's mkmodel.
  gpu_pack.py --run-tests ROOT BUILD JOBS [REGEX]
      Runs the GPU tests of a pack (BUILD/tests.json) or of a build tree (`ctest --show-only=json-v1`),
      JOBS at a time, each with its ctest environment except PAGEDVK_VALIDATION, which comes from the
      caller (gpu-check sets it where the layer is installed). The test executables hold the source
      and build folders they were compiled in; where those do not exist here, they are made links to
      ROOT and BUILD. REGEX: only the tests whose name matches. Prints ctest's summary lines; exits 1
      when a test fails.
Standard library only.
"""
import concurrent.futures, json, os, re, shutil, subprocess, sys, time

GLIBC = ('libc.so', 'libm.so', 'libpthread.so', 'libdl.so', 'librt.so', 'ld-linux', 'libresolv.so', 'linux-vdso',
         'libstdc++.so', 'libgcc_s.so')
SKIP_LABELS = {'nogpu', 'embedded'}


def ctest_tests(build):
    """The GPU tests of a build tree: [{name, command, env, labels, cwd}]."""
    p = subprocess.run(['ctest', '--show-only=json-v1'], cwd=build, capture_output=True, text=True)
    if p.returncode:
        sys.exit('gpu_pack: ctest --show-only failed in %s: %s' % (build, p.stderr.strip()[-300:]))
    tests = []
    for t in json.loads(p.stdout).get('tests', []):
        props = {x['name']: x['value'] for x in t.get('properties', [])}
        labels = set(props.get('LABELS', []))
        if labels & SKIP_LABELS or not t.get('command'):
            continue
        tests.append({'name': t['name'], 'command': t['command'], 'env': props.get('ENVIRONMENT', []),
                      'labels': sorted(labels), 'cwd': props.get('WORKING_DIRECTORY', '')})
    return tests


def cache_value(build, key):
    try:
        for line in open(os.path.join(build, 'CMakeCache.txt'), encoding='utf-8', errors='replace'):
            if line.startswith(key + ':'):
                return line.split('=', 1)[1].strip()
    except OSError:
        pass
    return ''


def libs_of(paths):
    """Resolved shared libraries (beyond glibc) that the files in paths load: {soname: path}."""
    found = {}
    for p in paths:
        r = subprocess.run(['ldd', p], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[1] == '=>' and parts[2].startswith('/'):
                if not any(parts[0].startswith(g) for g in GLIBC):
                    found[parts[0]] = parts[2]
    return found


def copy_bin(src, dst):
    shutil.copy2(src, dst)
    if shutil.which('strip'):
        subprocess.run(['strip', '--strip-unneeded', dst], capture_output=True)


def find_layer():
    for d in ('/usr/share/vulkan/explicit_layer.d', '/etc/vulkan/explicit_layer.d',
              '/usr/local/share/vulkan/explicit_layer.d'):
        j = os.path.join(d, 'VkLayer_khronos_validation.json')
        if os.path.exists(j):
            return j
    return None


def find_lib(name):
    """Where the dynamic linker's cache has soname `name` (the x86-64 one first), or None."""
    r = subprocess.run(['ldconfig', '-p'], capture_output=True, text=True)
    hits = []
    for line in r.stdout.splitlines():
        left, sep, path = line.strip().partition(' => ')
        if sep and left.split(' ')[0] == name:
            hits.append((0 if 'x86-64' in left else 1, path))
    return sorted(hits)[0][1] if hits else None


def pack_shared(shared, dest, sets):
    """shared/ of the pack: tools, templates, the oracle files of `sets` and the models they name."""
    out = os.path.join(dest, 'shared')
    if not shared or not os.path.isdir(os.path.join(shared, 'oracle')):
        print('gpu_pack: no ../shared here: the pack holds no oracle', file=sys.stderr)
        return 0
    shutil.rmtree(out, ignore_errors=True)
    for d in ('tools', 'templates'):
        shutil.copytree(os.path.join(shared, d), os.path.join(out, d), symlinks=False)
    os.makedirs(os.path.join(out, 'oracle'))
    os.makedirs(os.path.join(out, 'models'))
    files = []
    for st in sets:
        src = os.path.join(shared, 'oracle') if st == 'base' else os.path.join(shared, 'oracle', st)
        if not os.path.isdir(src):
            sys.exit('gpu_pack: no oracle set %s in %s' % (st, shared))
        if st != 'base':
            os.makedirs(os.path.join(out, 'oracle', st), exist_ok=True)
        for f in sorted(os.listdir(src)):
            if f.endswith('.json') or f == 'README.md':
                rel = f if st == 'base' else os.path.join(st, f)
                shutil.copy2(os.path.join(src, f), os.path.join(out, 'oracle', rel))
                if f.endswith('.json'):
                    files.append(os.path.join(out, 'oracle', rel))
    for f in files:
        m = json.load(open(f)).get('model', '')
        if m and not os.path.exists(os.path.join(out, m)):
            os.makedirs(os.path.dirname(os.path.join(out, m)), exist_ok=True)
            shutil.copy2(os.path.join(shared, m), os.path.join(out, m))
    os.makedirs(os.path.join(out, 'vocab'), exist_ok=True)  # check-oracle lists it (tokenization is skipped)
    return len(files)


def pack(root, build, dest, shared='', sets='base'):
    if dest.endswith('.tar.xz'):
        # one xz stream with a 64 MiB dictionary: the test executables share most of their bytes
        # (each holds the library and its shaders), so ~90 MiB of pack become ~30 with the models
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            inner = os.path.join(tmp, 'gpu-pack')
            rc = pack(root, build, inner, shared, sets)
            if rc:
                return rc
            print('gpu_pack: compressing (xz -9, a minute or two)', file=sys.stderr, flush=True)
            with open(dest, 'wb') as f:
                tar = subprocess.Popen(['tar', '-C', tmp, '-cf', '-', 'gpu-pack'], stdout=subprocess.PIPE)
                xz = subprocess.run(['xz', '-9', '-T0', '-c'], stdin=tar.stdout, stdout=f)
                tar.wait()
            if tar.returncode or xz.returncode:
                sys.exit('gpu_pack: tar | xz failed')
        print('gpu_pack: %s: %.1f MiB' % (dest, os.path.getsize(dest) / 1048576))
        return 0
    build = os.path.abspath(build)
    os.makedirs(os.path.join(dest, 'tests', 'models'), exist_ok=True)
    os.makedirs(os.path.join(dest, 'lib'), exist_ok=True)
    bins = []
    for b in ('pagedvk', 'mkmodel', 'bench-kernels'):
        src = os.path.join(build, b)
        if not os.access(src, os.X_OK):
            sys.exit('gpu_pack: %s is not built (cmake --build %s --target pagedvk_cli mkmodel bench_kernels)' % (src, build))
        copy_bin(src, os.path.join(dest, b))
        bins.append(src)
    tests = []
    if shutil.which('ctest') and os.path.exists(os.path.join(build, 'CTestTestfile.cmake')):
        for t in ctest_tests(build):
            exe = t['command'][0]
            if t['name'] == 'models' or not exe.startswith(build) or not os.access(exe, os.X_OK):
                continue  # scripts (bash ...) and the fixture stay behind: gpu-check runs the CLI itself
            rel = os.path.relpath(exe, build)
            if not os.path.exists(os.path.join(dest, rel)):
                os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
                copy_bin(exe, os.path.join(dest, rel))
                bins.append(exe)
            tests.append(dict(t, command=[rel] + t['command'][1:], cwd=os.path.relpath(t['cwd'] or build, build)))
    else:
        print('gpu_pack: no ctest or no test tree in %s: the pack holds no tests' % build, file=sys.stderr)
    with open(os.path.join(dest, 'tests.json'), 'w') as f:
        json.dump(tests, f, indent=1)
    libs = libs_of(bins)
    loader = find_lib('libvulkan.so.1')
    if loader:
        libs['libvulkan.so.1'] = loader
    else:
        print('gpu_pack: no Vulkan loader here (Debian: libvulkan1): the pack holds none', file=sys.stderr)
    layer_json = find_layer()
    if layer_json:
        meta = json.load(open(layer_json))
        so = meta['layer']['library_path']
        so_path = so if so.startswith('/') else (find_lib(so) or os.path.join(os.path.dirname(layer_json), so))
        os.makedirs(os.path.join(dest, 'layers'), exist_ok=True)
        shutil.copy2(so_path, os.path.join(dest, 'layers', os.path.basename(so_path)))
        meta['layer']['library_path'] = './' + os.path.basename(so_path)
        json.dump(meta, open(os.path.join(dest, 'layers', 'VkLayer_khronos_validation.json'), 'w'), indent=1)
        libs.update(libs_of([so_path]))
    else:
        print('gpu_pack: no validation layer here (Debian: vulkan-validationlayers): the pack holds none',
              file=sys.stderr)
    for name, path in sorted(libs.items()):
        shutil.copy2(path, os.path.join(dest, 'lib', name))
    n_oracle = pack_shared(shared, dest, [x for x in sets.split(',') if x])
    with open(os.path.join(dest, 'gpu-pack.env'), 'w') as f:
        f.write('source_dir=%s\nbinary_dir=%s\nmade=%s\n' % (cache_value(build, 'CMAKE_HOME_DIRECTORY') or root, build,
                                                             time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())))
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(dest) for f in fs)
    print('gpu_pack: %s: 3 binaries, %d tests, %d libraries%s%s, %d oracle files (sets %s) with their models, '
          '%.1f MiB' % (dest, len(tests), len(libs), ', the Vulkan loader' if loader else '',
                        ', the validation layer' if layer_json else '', n_oracle, sets, size / 1048576))


def make_test_models(root, pack_dir):
    """The test models of tests/make_models.cmake, made by the pack's mkmodel (they are deterministic:
    carrying them would cost ~30 MiB)."""
    out = os.path.join(pack_dir, 'tests', 'models')
    os.makedirs(out, exist_ok=True)
    text = open(os.path.join(root, 'tests', 'make_models.cmake'), encoding='utf-8').read()
    for name, args in re.findall(r'^\s*"([A-Za-z0-9_.-]+)\|([^"]+)"', text, re.M):
        gguf = os.path.join(out, name + '.gguf')
        try:
            if os.path.exists(gguf) and open(gguf + '.args').read() == args:
                continue
        except OSError:
            pass
        r = subprocess.run([os.path.join(pack_dir, 'mkmodel')] + args.split() + ['-o', gguf], capture_output=True,
                           text=True)
        if r.returncode:
            print('gpu_pack: mkmodel %s failed: %s' % (name, r.stderr.strip()[-300:]), flush=True)
        else:
            open(gguf + '.args', 'w').write(args)


def link_if_absent(path, target):
    """Makes path a link to target when path does not exist; True when path exists afterwards."""
    if not path or os.path.exists(path):
        return bool(path)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(os.path.abspath(target), path)
        print('gpu_pack: linked %s -> %s (the folder the tests were compiled in)' % (path, target), flush=True)
        return True
    except OSError as e:
        print('gpu_pack: cannot link %s -> %s (%s): tests that read it fail' % (path, target, e), flush=True)
        return False


def run_tests(root, build, jobs, pattern=''):
    build = os.path.abspath(build)
    env_file = os.path.join(build, 'gpu-pack.env')
    if os.path.exists(env_file):
        recorded = dict(l.strip().split('=', 1) for l in open(env_file) if '=' in l)
        tests = json.load(open(os.path.join(build, 'tests.json')))
        make_test_models(root, build)
        link_if_absent(recorded.get('binary_dir'), build)
        link_if_absent(recorded.get('source_dir'), root)
        base = recorded.get('binary_dir') if os.path.exists(recorded.get('binary_dir', '')) else build
    else:
        subprocess.run(['ctest', '-R', '^models$'], cwd=build, capture_output=True)  # the fixture: test models
        tests = ctest_tests(build)
        base = build
    if pattern:
        tests = [t for t in tests if re.search(pattern, t['name'])]
    if not tests:
        print('gpu_pack: no GPU tests to run')
        return 1
    validation = os.environ.get('PAGEDVK_VALIDATION', '')

    def one(t):
        env = dict(os.environ)
        for kv in t['env']:
            k, _, v = kv.partition('=')
            if k != 'PAGEDVK_VALIDATION':
                env[k] = v
        if validation:
            env['PAGEDVK_VALIDATION'] = validation
        else:
            env.pop('PAGEDVK_VALIDATION', None)
        cmd = list(t['command'])
        if not os.path.isabs(cmd[0]):
            cmd[0] = os.path.join(base, cmd[0])
        cwd = t['cwd'] if os.path.isabs(t['cwd']) else os.path.join(base, t['cwd'] or '.')
        t0 = time.time()
        try:
            p = subprocess.run(cmd, cwd=cwd if os.path.isdir(cwd) else base, env=env, capture_output=True, text=True,
                               timeout=240)
            status = 'Passed' if p.returncode == 0 else 'Failed'
            tail = (p.stdout + p.stderr)[-1500:]
        except subprocess.TimeoutExpired:
            status, tail = 'Timeout', ''
        except OSError as e:
            status, tail = 'Failed', str(e)
        return t['name'], status, time.time() - t0, tail

    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        for i, (name, status, dt, tail) in enumerate(ex.map(one, tests), 1):
            print('%3d/%d Test: %-40s %s %.2f sec' % (i, len(tests), name, status, dt), flush=True)
            if status != 'Passed':
                print(tail, flush=True)
            results.append((i, name, status))
    bad = [r for r in results if r[2] != 'Passed']
    print('\n%d%% tests passed, %d tests failed out of %d' % (100 * (len(results) - len(bad)) // len(results),
                                                              len(bad), len(results)))
    if bad:
        print('\nThe following tests FAILED:')
        for i, name, status in bad:
            print('\t%3d - %s (%s)' % (i, name, status))
    return 1 if bad else 0


if __name__ == '__main__':
    if len(sys.argv) in (5, 6) and sys.argv[1] == '--run-tests':
        sys.exit(run_tests(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) == 6 else ''))
    if len(sys.argv) == 6:
        sys.exit(pack(*sys.argv[1:]))
    sys.exit(__doc__)
