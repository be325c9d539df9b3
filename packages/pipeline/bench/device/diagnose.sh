#!/usr/bin/env bash
# Runs on the GPU machine (see bundle.sh): where a decode step's GPU time goes, whether Dawn's own costs matter, and
# the figures that need no peer. Everything goes to stdout and to $OUT/diagnose.txt.
#
#   bash .device-pack/diagnose.sh
#
# 1. the adapter's features and limits (subgroup matrices?);
# 2. the Q4_K/Q8_0 one-row mat-vec section of the kernel benchmark, with Dawn's defaults and without robustness;
# 3. step-profile (per-kernel GPU time, the whole step in one pass, and ablations) on 1B F16, 1B Q4_K_M and 8B Q4_K_M,
#    with Dawn's defaults, with validation skipped, and with validation and robustness off;
# 4. decode at long context (1B, 4096 and 16384 tokens), embeddings/s, and time to first token by URL.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out=${OUT:-/tmp/strata-out}
files=/tmp/strata-bench
mkdir -p "$out" "$files"
source "$here/setup.sh"
exec > >(tee "$out/diagnose.txt") 2>&1
started=$SECONDS
stamp() { echo "== $* ($((SECONDS - started)) s)"; }
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.mem --format=csv,noheader
stamp adapter
node "$here/adapter-info.mjs" --unsafe 2>&1 | grep -v Warning | head -70
stamp files
writers=()
for pair in llama-3.2-1b:F16 llama-3.2-1b:Q4_K_M llama-3-8b:Q4_K_M; do
  node "$here/write-random-gguf.mjs" --model "${pair%%:*}" --type "${pair##*:}" --out "$files/${pair%%:*}-${pair##*:}.gguf" &
  writers+=($!)
done
wait "${writers[@]}"
unsafe='enable-dawn-features=allow_unsafe_apis,disable_robustness'
stamp "mat-vec, defaults"
timeout 120 node "$here/matvec-bench.mjs" --quant 2>&1 | grep -v Warning | tail -25
stamp "tiled mat-mul tilings"
timeout 150 node "$here/matvec-bench.mjs" --tiled 2>&1 | grep -v Warning | tail -20
stamp "mat-vec, robustness off"
DAWN_FLAGS="$unsafe" timeout 120 node "$here/matvec-bench.mjs" --quant 2>&1 | grep -v Warning | tail -25
for flags in '' 'enable-dawn-features=skip_validation' 'enable-dawn-features=allow_unsafe_apis,skip_validation,disable_robustness'; do
  for pair in llama-3.2-1b:F16 llama-3.2-1b:Q4_K_M llama-3-8b:Q4_K_M; do
    stamp "step-profile $pair flags '$flags'"
    timeout 150 node "$here/step-profile.mjs" --model "${pair%%:*}" --type "${pair##*:}" --dir "$files" \
      --dawn-flags "$flags" 2>&1 | grep -v Warning
  done
done
stamp "submit every 16, 1B Q4_K_M"
timeout 100 node "$here/step-profile.mjs" --model llama-3.2-1b --type Q4_K_M --dir "$files" --submit-every 16 2>&1 \
  | grep -v Warning | head -1
for context in 4096 16384; do
  stamp "long context $context, 1B Q4_K_M"
  timeout 150 node "$here/step-profile.mjs" --model llama-3.2-1b --type Q4_K_M --dir "$files" --context "$context" \
    2>&1 | grep -v Warning | grep -E 'dispatches per decode|ablation|attention'
done
stamp embeddings
timeout 200 node "$here/embedding-bench.mjs" --models bge-small,bge-base --batch 32 --tokens 128 -r 5 --type F16 \
  --backend webgpu --dir "$files" 2>&1 | grep -v Warning | tail -30
stamp "time to first token by URL, 1B Q4_K_M"
timeout 100 node "$here/url-ttft.mjs" "$files/llama-3.2-1b-Q4_K_M.gguf" 2>&1 | grep -v Warning | tail -3
stamp done
