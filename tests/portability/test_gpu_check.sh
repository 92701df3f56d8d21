#!/usr/bin/env bash
# tools/gpu-check --quick on the test device (lavapipe in CI): every step runs and the report has
# every table of issue 25 — copy bandwidth, batch-1 decode as a share of the bandwidth bound, the
# 32-stream aggregate, prefill at two sizes, paged/contiguous ratios — with the command behind each,
# the kernel choice of `pagedvk info`, the oracle line passing (or skipped with its reason when
# ../shared is absent) and the one-line summary. Checks that the figures are there and are numbers,
# never their values (timings are not behaviour).
# Not in the sanitizer build: the script measures, and under ASan its benchmark runs take minutes
# and measure the sanitizer; the code paths it drives run under the sanitizers in the engine, bench
# and ops tests.
# Usage: test_gpu_check.sh BUILD_DIR SHARED_DIR
set -euo pipefail
build=$1
shared=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
if grep -q '^PAGEDVK_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  echo "skip: sanitizer build (gpu-check measures; it runs in the normal build)"
  exit 77
fi
command -v python3 >/dev/null || { echo "skip: gpu-check's report needs python3 (tools/deps.sh installs it)"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(--quick --build "$build" --out "$tmp/report.md" --work "$tmp/work")
if [ -x "$shared/tools/check-oracle" ]; then args+=(--shared "$shared"); else args+=(--no-oracle); fi
rc=0
"$root/tools/gpu-check" "${args[@]}" > "$tmp/stdout" 2> "$tmp/stderr" || rc=$?
report=$tmp/report.md
fail() {
  echo "FAIL: $*"
  echo "--- stderr"; tail -40 "$tmp/stderr"
  [ -f "$report" ] && { echo "--- report"; cat "$report"; }
  exit 1
}
[ $rc = 0 ] || fail "gpu-check --quick exited with $rc"
[ -s "$report" ] || fail "no report"
num='[0-9]+(\.[0-9]+)?'
# the one-line summary, printed and at the top of the report
grep -Eq "copy $num GB/s; decode b1 $num tok/s = $num% of bound; 32 streams $num tok/s; prefill 128: $num tok/s, 512: $num tok/s; paged/contig $num× tok/s" "$tmp/stdout" ||
  fail "the summary line lacks a figure: $(cat "$tmp/stdout")"
grep -q '^\*\*Summary:\*\* ' "$report" || fail "no summary in the report"
# kernel choice (pagedvk info) with its reason
grep -Eq '^  why +a CPU device: the CPU-shaped defaults' "$report" || fail "info: no reason for the kernel choice"
grep -Eq '^  matmul +[0-9]+ (output )?rows x [0-9]+ tokens' "$report" || fail "info: no matmul choice"
# copy bandwidth: both copies and the one the bounds use
grep -Eq "^\| vkCmdCopyBuffer, 64 MiB \| $num \|$" "$report" || fail "no vkCmdCopyBuffer bandwidth"
grep -Eq "^\| copy kernel \(tools/bench/shaders/copy.comp\), 64 MiB \| $num \|$" "$report" || fail "no copy-kernel bandwidth"
# matmul per weight type at the token counts asked for
grep -Eq "^\| q4_k \| $num \($num%\) \| $num \| $num \($num%\) \| $num \| $num \($num%\) \| $num \|$" "$report" ||
  fail "no matmul row for q4_k at M = 1, 16, 64"
# batch-1 decode as a share of the bound
grep -Eq "^\| \*\*decode as a share of the bandwidth bound\*\* \(bound / measured\) \| \*\*$num%\*\* \|$" "$report" ||
  fail "no decode share of the bandwidth bound"
# the 32-stream aggregate, from a table with the 32-sequence row
grep -Eq "^\| 32 \| [0-9]+ \| $num \| $num× \|" "$report" || fail "no 32-stream row"
grep -Eq "^\*\*32-stream aggregate: $num output tokens/s\.\*\*$" "$report" || fail "no 32-stream aggregate"
# prefill at two sizes, saying that --quick used smaller ones
grep -Eq "^\| 128 \| $num ms \| \*\*$num\*\* \| .*--quick: 128, not 512" "$report" || fail "no prefill row for 128 (512)"
grep -Eq "^\| 512 \| $num ms \| \*\*$num\*\* \| .*--quick: 512, not 2048" "$report" || fail "no prefill row for 512 (2048)"
# paged vs contiguous
grep -Eq "^\| paged \| [0-9]+ \| $num% \| $num \|" "$report" || fail "no paged row"
grep -Eq "^\| contiguous \| [0-9]+ \| $num% \| $num \|" "$report" || fail "no contiguous row"
grep -Eq "^\*\*paged / contiguous: $num× peak concurrent sequences, $num× output tokens/s\.\*\*$" "$report" ||
  fail "no paged/contiguous ratios"
# the oracle: every case passing, or skipped with its reason
if [ -x "$shared/tools/check-oracle" ]; then
  grep -Eq '^oracle: ([0-9]+) of \1 cases pass$' "$report" || fail "the oracle line does not show every case passing"
  grep -Eq '^templates: ([0-9]+) of \1 cases match$' "$report" || fail "the template line does not show every case matching"
else
  grep -Eq '^oracle: skipped — .+' "$report" || fail "the oracle is neither run nor skipped with a reason"
fi
# every table names its command
for c in 'pagedvk info' 'pagedvk bench kernels' 'pagedvk bench roofline' 'pagedvk bench concurrency' 'pagedvk bench mixed' 'mkmodel --preset llama3.2-1b'; do
  grep -q "^[^ ]*$c" "$report" || fail "no command line for $c"
done
echo "gpu-check --quick: report complete ($(wc -l < "$report") lines)"
