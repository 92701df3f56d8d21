#!/usr/bin/env bash
# The library users link (libpagedvk) holds only what serving needs: `nm` finds no symbol of the
# dev kit's GGUF writer (pv_gguf_writer_*) or quantizers (pv_quantize_*, pv_quant_error_bound), and
# none of a bench (any name containing "bench"). Those live in tools/ (pagedvk_devkit,
# pagedvk_kbench) and are linked by mkmodel, the CLI and the tests only.
set -u
build=$1
lib=""
for f in "$build/libpagedvk.a" "$build/libpagedvk.so"; do [ -f "$f" ] && { lib=$f; break; }; done
[ -n "$lib" ] || { echo "FAIL: no libpagedvk.a or libpagedvk.so in $build"; exit 1; }
command -v nm >/dev/null || { echo "skip: no nm (binutils, which tools/deps.sh installs with gcc)"; exit 77; }

case $lib in *.so) opts="-D --defined-only" ;; *) opts="--defined-only" ;; esac
syms=$(nm $opts "$lib" 2>/dev/null | awk 'NF >= 3 && $2 ~ /^[A-Z]$/ && $2 != "U" { print $3 }' | sort -u)
# The listing must be real: the public API is there.
echo "$syms" | grep -qx 'pagedvk_engine_create' || { echo "FAIL: nm lists no pagedvk_engine_create in $lib"; exit 1; }

bad=$(echo "$syms" | grep -E '^pv_gguf_writer_|^pv_quantize_|^pv_quant_error_bound$|[Bb][Ee][Nn][Cc][Hh]')
if [ -n "$bad" ]; then
  echo "FAIL: $lib defines dev-kit or bench symbols:"
  echo "$bad"
  exit 1
fi
echo "ok: $(echo "$syms" | wc -l) global symbols in $(basename "$lib"), none of the writer, quantizers or benches"
