#!/usr/bin/env bash
# The smallest useful device call (see bundle.sh), for a session with little device time left: the engine step at 1–32
# sequences as main routes it (batch tiles, stepping ahead) against the old step (prefill tile, no stepping ahead);
# `strata serve` under 1 and 32 streaming clients; the int8 prefill kernels (GPU-timed, checked against the CPU) and
# their conformance cases; the products of a batched step per tiling. Everything also goes to $OUT/short.txt.
#
#   bash .device-pack/short.sh [SECONDS]      (seconds of load per serving run, default 10)
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/preamble.sh" short.txt
seconds=${1:-10}
nvidia-smi --query-gpu=name --format=csv,noheader
model="$files/llama-3.2-1b-Q4_K_M.gguf"
node "$here/write-random-gguf.mjs" --model llama-3.2-1b --type Q4_K_M --out "$model" > /dev/null
for setting in "on on" "off off"; do
  set -- $setting
  stamp "engine steps: batch tiling $1, step ahead $2"
  timeout 80 node "$here/batch-bench.mjs" --model llama-3.2-1b --type Q4_K_M --dir "$files" --batch-tiling "$1" \
    --ahead "$2" --sequences 1,8,32 --tokens 48 2>&1 | grep -v Warning
done
for clients in 1 32; do
  stamp "strata serve, $clients clients"
  timeout $((seconds + 60)) node "$here/bench-serve.mjs" "$model" --cli "$here/strata-cli.mjs" --backend webgpu \
    --clients "$clients" --parallel 32 --seconds "$seconds" --max-tokens 128 --ctx 512 2>&1 | grep -v Warning | tail -5
done
stamp "int8 prefill kernels"
BENCH_BUDGET_SECONDS=25 timeout 50 node "$here/matvec-bench.mjs" --int8 2>&1 | grep -v Warning > "$out/int8.txt"
grep -E "subgroup|check|FAIL|^\|" "$out/int8.txt" | head -30
timeout 40 node "$here/conformance-run.mjs" --int8-prefill -t prefill 2>&1 | grep -v Warning | grep -E "int8|passed|FAIL" | head
stamp "batched-step products per tiling"
BENCH_BUDGET_SECONDS=20 timeout 40 node "$here/matvec-bench.mjs" --batch 2>&1 | grep -v Warning > "$out/batch-kernels.txt"
grep -E "^\|" "$out/batch-kernels.txt" | head -30
stamp done
