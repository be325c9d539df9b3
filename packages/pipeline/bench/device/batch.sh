#!/usr/bin/env bash
# Batched decode on the GPU machine, in one device call (see bundle.sh): builds llama-server in the background while
# the products of a batched step are timed per tiling (matvec-bench --batch, GPU-timed) and a decode step is profiled
# (step-profile), then, with the CPU idle, the
# engine step at 1–64 sequences with the batch tiles and without (batch-bench), and serve-bench.sh against llama-server.
#
#   bash .device-pack/batch.sh [SECONDS]      (seconds of load per serve-bench run, default 20)
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out=${OUT:-/tmp/strata-out}
files=/tmp/strata-bench
mkdir -p "$out" "$files"
source "$here/setup.sh"
exec > >(tee "$out/batch.txt") 2>&1
started=$SECONDS
stamp() { echo "== $* ($((SECONDS - started)) s)"; }
(bash "$here/build-peer.sh" llama-server > "$out/peer-build.txt" 2>&1; echo "exit $?" >> "$out/peer-build.txt") &
builder=$!
node "$here/write-random-gguf.mjs" --model llama-3.2-1b --type Q4_K_M --out "$files/llama-3.2-1b-Q4_K_M.gguf" > /dev/null
stamp "while the peer builds: batched-step products per tiling (GPU-timed)"
BENCH_BUDGET_SECONDS=70 timeout 110 node "$here/matvec-bench.mjs" --batch 2>&1 | grep -v Warning | tee "$out/batch-kernels.txt" \
  | grep -E "^\|" | head -80
stamp "while the peer builds: where a single-sequence decode step's GPU time goes (step-profile; CPU figures are busy)"
timeout 70 node "$here/step-profile.mjs" --model llama-3.2-1b --type Q4_K_M --dir "$files" 2>&1 | grep -v Warning \
  | tee "$out/step-profile.txt" | head -40
wait "$builder"
stamp "peer built: $(tail -1 "$out/peer-build.txt")"
for tiling in on off; do
  timeout 120 node "$here/batch-bench.mjs" --model llama-3.2-1b --type Q4_K_M --dir "$files" --batch-tiling "$tiling" \
    --sequences 1,8,16,32 --tokens 48 \
    2>&1 | grep -v Warning
done
# Q4_K one-row layout A/B on an idle CPU (routed, then the `vector` layout), when the call has room for it.
if [ $((SECONDS - started)) -lt "${AB_BEFORE:-280}" ]; then
  node "$here/write-random-gguf.mjs" --model llama-3-8b --type Q4_K_M --out "$files/llama-3-8b-Q4_K_M.gguf" > /dev/null
  for layout in routed '{"Q4_K":{"layout":"vector","rowsPerWorkgroup":4,"workgroupSize":64}}'; do
    flags=(); [ "$layout" = routed ] || flags=(--quant-matvec "$layout")
    timeout 60 node "$here/gpu-bench.mjs" --models llama-3-8b --types Q4_K_M -p 0 -n 128 -r 2 --dir "$files" --keep \
      --cache-type f16 "${flags[@]}" 2>&1 | grep -E "tg run" | tr '\n' ' ' | sed "s/^/8B Q4_K_M $layout: /"; echo
  done
fi
stamp "serve-bench"
bash "$here/serve-bench.sh" "$files/llama-3.2-1b-Q4_K_M.gguf" "${1:-20}"
stamp done
