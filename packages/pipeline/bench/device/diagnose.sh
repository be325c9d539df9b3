#!/usr/bin/env bash
# Runs on the GPU machine (see bundle.sh): the measurements that choose between kernels and settings, and those that
# need no peer. Everything goes to stdout and to $OUT/diagnose.txt; a CPU profile of loading goes to $OUT/load.cpuprofile.
#
#   bash .device-pack/diagnose.sh [SECTION …]     (default: every section, in this order)
#
#   adapter      the adapter's features, limits and subgroup-matrix configurations
#   dispatch     the CPU cost of a bare dispatch through Dawn's Node bindings (dispatch-cost.mjs), per call pattern
#   sampling     the GPU cost of a token choice over 128,256 logits: argmax and sampleToken as servers call it
#                (sampling-cost.mjs)
#   matvec       the one-row quantized mat-vec kernels side by side (every layout the kernel bench knows)
#   split        step-profile of 1B and 8B Q4_K_M with decode attention split every 16, 32 and 64 keys
#   engine       batched engine steps of 1B Q4_K_M at 1, 8, 16 and 32 sequences, as routed and the A/B settings
#                (sections.sh engine_ab: the multi-row mat-vec for every product; the prefill tile, no stepping ahead)
#   batch        batch-profile of 1B Q4_K_M at 1, 8 and 32 sequences: GPU time of a batched decode step by kernel
#                (BATCH_INT8=N: with --int8-batch N)
#   load         file open to first token (1B and 8B Q4_K_M) and a CPU profile of the 8B load
#   conformance  the backend conformance suite on this GPU (conformance-run.mjs)
#   peer         starts building llama.cpp's llama-bench and llama-server in the background (serve-bench.sh or
#                final.sh on the same warm machine then find them built); waits for it at the end
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/preamble.sh" diagnose.txt
source "$here/sections.sh"
sections=${*:-adapter dispatch sampling matvec split engine batch load conformance}
wants() { [[ " $sections " == *" $1 "* ]]; }
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.mem --format=csv,noheader
builder=
if wants peer; then
  (bash "$here/build-peer.sh" llama-bench llama-server > "$out/peer-build.txt" 2>&1
    echo "exit $?" >> "$out/peer-build.txt") &
  builder=$!
fi
if wants adapter; then
  stamp adapter
  node "$here/adapter-info.mjs" --unsafe 2>&1 | grep -v Warning | head -60
fi
if wants dispatch; then
  stamp "CPU per bare dispatch"
  node "$here/dispatch-cost.mjs" 2>&1 | grep -v Warning
fi
stamp files
write_files llama-3.2-1b:Q4_K_M llama-3-8b:Q4_K_M
if wants matvec; then
  stamp "one-row quantized mat-vec, every layout"
  BENCH_BUDGET_SECONDS=${BENCH_BUDGET_SECONDS:-140} timeout 180 node "$here/matvec-bench.mjs" --quant 2>&1 | grep -v Warning | sed -n '/Correctness/,$p'
fi
if wants batch; then
  stamp "batch-profile 1B Q4_K_M, 1, 8 and 32 sequences"
  timeout 150 node "$here/batch-profile.mjs" --model llama-3.2-1b --type Q4_K_M --dir "$files" --sequences 1,8,32 \
    --int8-batch "${BATCH_INT8:-0}" 2>&1 | grep -v Warning
fi
if wants split; then
  for pair in llama-3.2-1b:Q4_K_M llama-3-8b:Q4_K_M; do
    for keys in 16 32 64; do
      stamp "step-profile $pair, decode attention split every $keys keys"
      timeout 100 node "$here/step-profile.mjs" --model "${pair%%:*}" --type "${pair##*:}" --dir "$files" \
        --split-keys "$keys" 2>&1 | grep -v Warning | grep -E 'dispatches per decode|GPU|ablation|attention|mat-vec|tok/s'
    done
  done
fi
if wants sampling; then
  stamp "GPU cost of a token choice"
  timeout 60 node "$here/sampling-cost.mjs" 2>&1 | grep -v Warning
fi
wants engine && engine_ab 1,8,16,32
if wants load; then
  for pair in llama-3.2-1b:Q4_K_M llama-3-8b:Q4_K_M; do
    stamp "load time $pair"
    timeout 120 node "$here/load-time.mjs" "$files/${pair%%:*}-${pair##*:}.gguf" --repetitions 2 2>&1 | grep -v Warning
  done
  stamp "CPU profile of the 8B Q4_K_M load"
  rm -rf /tmp/strata-profile
  timeout 120 node --cpu-prof --cpu-prof-dir=/tmp/strata-profile "$here/load-time.mjs" \
    "$files/llama-3-8b-Q4_K_M.gguf" --repetitions 1 2>&1 | grep -v Warning
  largest=$(ls -S /tmp/strata-profile/*.cpuprofile 2>/dev/null | head -1)
  [ -n "$largest" ] && cp "$largest" "$out/load.cpuprofile"
fi
if wants conformance; then
  stamp "conformance suite on this GPU"
  timeout 250 node "$here/conformance-run.mjs" 2>&1 | grep -v Warning > "$out/conformance.txt"
  echo "exit ${PIPESTATUS[0]}"
  grep -iE 'fail|passed|total' "$out/conformance.txt" | tail -15
fi
if [ -n "$builder" ]; then
  wait "$builder"
  stamp "peer build: $(tail -1 "$out/peer-build.txt")"
fi
stamp done
