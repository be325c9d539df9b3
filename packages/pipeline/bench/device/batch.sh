#!/usr/bin/env bash
# Batched decode on the GPU machine, in one device call (see bundle.sh). llama-server builds in the background on all
# cores but four; on those four, meanwhile: the products of a batched step per tiling (matvec-bench --batch,
# GPU-timed), the engine step at 1–32 sequences with the batch tiles and without (batch-bench), and `strata serve` under
# 1, 8 and 32 streaming clients; then llama-server under the same load on the same file.
#
#   [PEER=0] bash .device-pack/batch.sh [SECONDS]      (seconds of load per serving run, default 15; PEER=0: no
#   llama-server, when device time is short)
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/preamble.sh" batch.txt
seconds=${1:-15}
cores=$(nproc)
build_cores="0-$((cores - 5))"
strata_cores="$((cores - 4))-$((cores - 1))"
command -v taskset > /dev/null || taskset() { shift 2; "$@"; }
builder=
if [ "${PEER:-1}" != 0 ]; then
  (taskset -c "$build_cores" bash "$here/build-peer.sh" llama-server > "$out/peer-build.txt" 2>&1
    echo "exit $?" >> "$out/peer-build.txt") &
  builder=$!
fi
pin() { taskset -c "$strata_cores" "$@"; }
model="$files/llama-3.2-1b-Q4_K_M.gguf"
node "$here/write-random-gguf.mjs" --model llama-3.2-1b --type Q4_K_M --out "$model" > /dev/null
stamp "batched-step products per tiling (GPU-timed)"
BENCH_BUDGET_SECONDS=50 pin timeout 90 node "$here/matvec-bench.mjs" --batch 2>&1 | grep -v Warning \
  | tee "$out/batch-kernels.txt" | grep -E "^\|" | head -80
for tiling in on off; do
  stamp "engine steps, batch tiling $tiling"
  pin timeout 100 node "$here/batch-bench.mjs" --model llama-3.2-1b --type Q4_K_M --dir "$files" --batch-tiling "$tiling" \
    --sequences 1,8,16,32 --tokens 48 2>&1 | grep -v Warning
done
SERVE_PARTS=strata SERVE_PIN="$(command -v taskset > /dev/null && echo "taskset -c $strata_cores")" bash "$here/serve-bench.sh" "$model" "$seconds"
[ -z "$builder" ] || { wait "$builder"; stamp "peer built: $(tail -2 "$out/peer-build.txt" | tr '\n' ' ')"; }
[ -z "$builder" ] || SERVE_PARTS=peer bash "$here/serve-bench.sh" "$model" "$seconds"
stamp done
