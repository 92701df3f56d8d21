#!/usr/bin/env bash
# Structured outputs in a batch (structured_check.py batch): 16 greedy json_schema requests over
# eight schemas, first one at a time, then all at once on a server running 16 sequences together:
# every answer validates against its schema (python3-jsonschema, else skip) and each concurrent
# answer equals its solo answer byte for byte (grammar masks of different schemas in one step
# change nothing but their own rows); every KV block is free afterwards.
set -u
source "$(dirname "$0")/lib.sh"
need_model
need_tools python3
python3 -c 'import jsonschema' 2>/dev/null || { echo "skip: needs python3-jsonschema (tools/deps.sh installs it)"; exit 77; }
start_server --max-num-seqs 16
timeout 300 python3 "$(dirname "$0")/structured_check.py" "$URL" "$MODEL_NAME" batch || fail "structured_check.py batch"
peak=$(metric pagedvk_peak_running_sequences)
echo "peak running sequences: $peak"
[ "${peak%.*}" -gt 1 ] || fail "the requests never ran together (peak $peak)"
stop_server
echo "server structured batch: ok"
