#!/usr/bin/env bash
# The engine (pagedvk run, default device profile) against llama.cpp's greedy outputs: the base set,
# the p11 set of ../shared/oracle (llama.cpp-quantized IQ4_XS/IQ4_NL/Q3_K_M/Q2_K files, Llama-3
# rope_freqs, head size from the file) and the p13 set (one model per architecture after llama and
# qwen2: qwen3, gemma2, gemma3, phi3, granite, smollm3), plus every tokenizer vector check-oracle
# knows for them; then the base and p13 generation cases again with KV blocks of 8 tokens (not in the
# sanitizer build: that pass checks numbers, which the normal build does, and took 200 s under ASan).
# The embedded profile runs the same generation cases in tests/portability/test_embedded_oracle.sh.
# Usage: test_oracle_engine.sh BUILD_DIR SHARED_DIR
set -euo pipefail
build=$1
shared=$2
# An outside oracle: without ../shared the comparison is left out (the engine is compared with the
# CPU reference by the rest of tests/engine; the reference with llama.cpp here and in model_ref_oracle).
[ -x "$shared/tools/check-oracle" ] || { echo "skip: the engine against llama.cpp's outputs (no $shared/tools/check-oracle: ../shared is an outside oracle)"; exit 77; }
command -v python3 >/dev/null || { echo "skip: check-oracle needs python3 (tools/deps.sh installs it)"; exit 77; }
"$shared/tools/check-oracle" "$build/pagedvk" --engine --with p11,p13
if grep -q '^PAGEDVK_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  echo "sanitizer build: the --block-size 8 pass is left to the normal build"
else
  "$shared/tools/check-oracle" "$build/pagedvk" --engine --skip-tokenize --with p13 --extra "--block-size 8"
fi
