#!/usr/bin/env bash
# The CLI under the embedded profile: `pagedvk info` shows the clamped limits and the kernels ops
# chose, and the engine's greedy output equals the oracle (base, p11 and p13 sets) with a KV pool
# of 160 MiB (three buffers of the profile's 64 MiB range).
# Usage: test_embedded_oracle.sh BUILD_DIR SHARED_DIR
set -euo pipefail
build=$1
shared=$2
export PAGEDVK_PROFILE=embedded
pagedvk="$build/pagedvk"

info=$("$pagedvk" info)
fail() { echo "FAIL: $*"; echo "$info"; exit 1; }
grep -Eq '^  clamps \(profile\) +embedded' <<<"$info" || fail "profile not shown"
grep -Eq '^  maxStorageBufferRange +67108864( |$)' <<<"$info" || fail "clamped maxStorageBufferRange not shown"
grep -Eq '^  maxMemoryAllocationSize +268435456( |$)' <<<"$info" || fail "clamped maxMemoryAllocationSize not shown"
grep -Eq '^  maxComputeSharedMemorySize +16384( |$)' <<<"$info" || fail "clamped shared memory not shown"
grep -Eq '^  16-bit storage +no' <<<"$info" || fail "16-bit storage not clamped"
grep -Eq '^  subgroup ops \(compute\) +none' <<<"$info" || fail "subgroups not clamped"
grep -Eq '^  attention kernels +paged_attn' <<<"$info" || fail "the attention kernels are not named"
grep -Eq '^  matmul +[0-9]+ (output )?rows x [0-9]+ tokens' <<<"$info" || fail "the matmul shape is not shown"
grep -Eq '^  memory path +' <<<"$info" || fail "memory path not shown"

# The comparison with llama.cpp's outputs is an outside oracle: without ../shared it is left out
# (the engine under this profile is compared with the CPU reference in engine_embedded_* and
# ops_*_embedded, which need nothing outside the checkout).
[ -x "$shared/tools/check-oracle" ] || { echo "skip: the embedded profile against llama.cpp's outputs (no $shared/tools/check-oracle: ../shared is an outside oracle)"; exit 77; }
command -v python3 >/dev/null || { echo "skip: check-oracle needs python3 (tools/deps.sh installs it)"; exit 77; }
# Tokenization does not depend on the device: the generation cases only (a few seconds).
"$shared/tools/check-oracle" "$pagedvk" --engine --skip-tokenize --with p11,p13 --extra "--kv-mem 160M"
