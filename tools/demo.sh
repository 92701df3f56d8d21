#!/usr/bin/env bash
# The showcase behind `make demo`. $1 = build directory (default build).
# Makes a small synthetic llama-shaped model with mkmodel (cached under the build directory), then
# serves a burst of 64 concurrent requests of mixed lengths through the engine on the default
# Vulkan device with a progress bar, and prints tokens/s, peak concurrency, KV utilization and what
# the contiguous KV layout would have needed for the same batch (`pagedvk bench demo`).
set -euo pipefail
build=${1:-build}
model=$build/demo/demo-llama.gguf

"$build/pagedvk" info | sed -n '1,/^$/p'
if [ ! -f "$model" ]; then
  mkdir -p "$(dirname "$model")"
  echo "making a synthetic model: llama, 4 layers, n_embd 256, 4 heads, ffn 768, F16, random weights"
  "$build/mkmodel" --n-embd 256 --n-layer 4 --n-head 4 --n-ff 768 --ctx 2048 --seed 11 -o "$model.tmp"
  mv "$model.tmp" "$model"
fi
echo
# A KV pool with room for 8 contiguous 2048-token sequences; lengths log-normal (medians 48 prompt,
# 48 output tokens), clipped to [8, 512].
"$build/pagedvk" bench demo -m "$model" --requests 64 --contig-seqs 8 \
  --prompt-median 48 --output-median 48 --max-len 512
