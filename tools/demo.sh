#!/usr/bin/env bash
# The showcase behind `make demo`. $1 = build directory.
set -euo pipefail
build=${1:-build}
"$build/pagedvk" info
