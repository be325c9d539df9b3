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
source "$here/sections.sh"
seconds=${1:-10}
nvidia-smi --query-gpu=name --format=csv,noheader
model="$files/llama-3.2-1b-Q4_K_M.gguf"
node "$here/write-random-gguf.mjs" --model llama-3.2-1b --type Q4_K_M --out "$model" > /dev/null
engine_ab 1,8,32
SERVE_PARTS=strata SERVE_CLIENTS="1 32" bash "$here/serve-bench.sh" "$model" "$seconds"
int8_kernels 25 -t prefill
batch_products 20
stamp done
