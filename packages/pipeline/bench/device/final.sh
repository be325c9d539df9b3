#!/usr/bin/env bash
# One device call for the closing figures (see bundle.sh): builds llama.cpp's CUDA llama-bench in the background and,
# while it compiles, runs only GPU-timed work that has no peer (kernel benchmarks, embeddings/s); then, with the CPU
# idle, strata and llama.cpp on the same files one after the other, the table, decode at depth, a step profile and the
# time to first token by URL. Everything goes to stdout and $OUT/final.txt; the table to $OUT/table.md.
#
#   bash .device-pack/final.sh [MODEL:TYPE,…] [REPETITIONS]
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pairs=${1:-llama-3.2-1b:F16,llama-3.2-1b:Q8_0,llama-3.2-1b:Q4_K_M,llama-3-8b:F16,llama-3-8b:Q8_0,llama-3-8b:Q4_K_M}
repetitions=${2:-2}
out=${OUT:-/tmp/strata-out}
files=/tmp/strata-bench
mkdir -p "$out" "$files"
source "$here/setup.sh"
exec > >(tee "$out/final.txt") 2>&1
started=$SECONDS
stamp() { echo "== $* ($((SECONDS - started)) s)"; }
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.mem --format=csv,noheader
# llama-server is built in the same compile (ggml-cuda is the long part), so serve-bench.sh finds it ready.
# (if llama-server fails to build, llama-bench alone is built again so the table still comes).
(bash "$here/peers/build-llama-cuda.sh" llama-bench llama-server > "$out/peer-build.txt" 2>&1 \
  || bash "$here/peers/build-llama-cuda.sh" llama-bench >> "$out/peer-build.txt" 2>&1; echo "exit $?" >> "$out/peer-build.txt") &
builder=$!
stamp "files"
writers=()
for pair in ${pairs//,/ }; do
  node "$here/write-random-gguf.mjs" --model "${pair%%:*}" --type "${pair##*:}" --out "$files/${pair%%:*}-${pair##*:}.gguf" \
    > /dev/null &
  writers+=($!)
done
wait "${writers[@]}"
stamp "while the peer builds: one-row quantized mat-vec (Q4_K, Q6_K, Q8_0)"
timeout 100 node "$here/matvec-bench.mjs" --quant 2>&1 | grep -v Warning | sed -n '/GB\/s of weights/,$p'
stamp "while the peer builds: embeddings"
timeout 150 node "$here/embedding-bench.mjs" --models bge-small,bge-base --batch 32 --tokens 128 -r 5 --type F16 \
  --backend webgpu --dir "$files" 2>&1 | grep -v Warning | grep -E '"model"|embeddingsPerSecond|tokensPerSecond|error' | head -20
wait "$builder"
stamp "peer built"
for pair in ${pairs//,/ }; do
  node "$here/gpu-bench.mjs" --models "${pair%%:*}" --types "${pair##*:}" -p 512 -n 128 -r "$repetitions" --dir "$files" \
    --keep --cache-type f16 --out "$out/strata-${pair/:/-}.json" > /dev/null 2>> "$out/strata-log.txt"
  grep -E "run [0-9]" "$out/strata-log.txt" | tail -$((2 * repetitions + 2)) | tr '\n' ' '; echo
done
stamp "strata measured"
bin=${LLAMA_PEER_DIR:-/tmp/llama-peer}/build/bin
if [ -x "$bin/llama-bench" ]; then
  list=()
  for pair in ${pairs//,/ }; do list+=(-m "$files/${pair%%:*}-${pair##*:}.gguf"); done
  "$bin/llama-bench" "${list[@]}" -p 512 -n 128 -r "$repetitions" -ngl 99 -fa 1 -o json > "$out/llama.json" 2> "$out/llama-log.txt"
  stamp "llama.cpp measured"
else
  echo "peer build failed:"; tail -5 "$out/peer-build.txt"
fi
node "$here/peer-table.mjs" "$out/llama.json" "$out"/strata-*.json | tee "$out/table.md"
stamp "decode at depth (tg128 after 4096 and 16384 tokens, 1B Q4_K_M; 4096, 8B Q4_K_M)"
for run in llama-3.2-1b:Q4_K_M:4096 llama-3.2-1b:Q4_K_M:16384 llama-3-8b:Q4_K_M:4096; do
  model=${run%%:*}; rest=${run#*:}; type=${rest%%:*}; depth=${rest##*:}
  timeout 60 node "$here/gpu-bench.mjs" --models "$model" --types "$type" -p 0 -n 128 -r 1 -d "$depth" \
    --dir "$files" --keep --cache-type f16 2>&1 | grep -E "tg run 1" | sed "s/^/depth $depth: /"
done
stamp done
