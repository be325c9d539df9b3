#!/usr/bin/env bash
# Runs on the GPU machine (see bundle.sh): writes the random-weight GGUF files, builds llama.cpp's CUDA llama-bench in
# the background meanwhile, then measures strata (gpu-bench) and llama.cpp (llama-bench) on the same files, one after the
# other (never while the peer compiles), and prints the side-by-side table. Output files go to $OUT when it is set.
#
#   bash .device-pack/run-peer-bench.sh [MODELS] [TYPES] [REPETITIONS]
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
models=${1:-llama-3.2-1b,llama-3-8b}
types=${2:-F16,Q8_0,Q4_K_M}
repetitions=${3:-3}
out=${OUT:-/tmp/strata-out}
files=/tmp/strata-bench
mkdir -p "$out" "$files"
source "$here/setup.sh"
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.mem --format=csv,noheader | tee "$out/gpu.txt"
(bash "$here/peers/build-llama-cuda.sh" llama-bench > "$out/peer-build.txt" 2>&1; echo "exit $?" >> "$out/peer-build.txt") &
builder=$!
started=$SECONDS
for model in ${models//,/ }; do
  for type in ${types//,/ }; do
    node "$here/write-random-gguf.mjs" --model "$model" --type "$type" --out "$files/$model-$type.gguf" &
  done
done
wait $(jobs -p | grep -v "^$builder$")
echo "files written in $((SECONDS - started)) s"
# Measure nothing while the peer compiles on every core: strata's decode loop is partly CPU-bound.
wait "$builder"
echo "peer built at $((SECONDS - started)) s"
# f16 KV cache on both sides (llama-bench's default).
node "$here/gpu-bench.mjs" --models "$models" --types "$types" -p 512 -n 128 -r "$repetitions" --dir "$files" --keep \
  --cache-type f16 --out "$out/strata.json" > /dev/null 2> "$out/strata-log.txt"
echo "strata measured at $((SECONDS - started)) s"
# Where a decode step's time goes (CPU replay per dispatch, GPU time per kernel).
for pair in llama-3.2-1b:F16 llama-3-8b:Q4_K_M; do
  [ -f "$files/${pair%%:*}-${pair##*:}.gguf" ] || continue
  node "$here/step-profile.mjs" --model "${pair%%:*}" --type "${pair##*:}" --dir "$files" 2>&1 | grep -v Warning \
    | tee -a "$out/profile.txt"
done
echo "profiled at $((SECONDS - started)) s"
bin=$(grep -v '^exit' "$out/peer-build.txt" | tail -1)
if [ -x "$bin/llama-bench" ]; then
  list=()
  for model in ${models//,/ }; do for type in ${types//,/ }; do list+=(-m "$files/$model-$type.gguf"); done; done
  "$bin/llama-bench" "${list[@]}" -p 512 -n 128 -r "$repetitions" -ngl 99 -fa 1 -o json > "$out/llama.json" 2> "$out/llama-log.txt"
  echo "llama.cpp measured at $((SECONDS - started)) s"
else
  echo "peer build failed:"; tail -5 "$out/peer-build.txt"
fi
node "$here/peer-table.mjs" "$out/strata.json" "$out/llama.json" | tee "$out/table.md"
