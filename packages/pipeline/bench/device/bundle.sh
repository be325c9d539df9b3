#!/usr/bin/env bash
# Bundles the pipeline benchmarks for the GPU machine and packs them with node, Dawn and the Vulkan loader into
# .device-pack/ (git-ignored), with llama.cpp's CUDA peer sources in .device-pack/peers/. From the repository root:
#
#   bash packages/pipeline/bench/device/bundle.sh
#   device run, carry [".device-pack"]:  bash .device-pack/final.sh [MODEL:TYPE,…] [REPETITIONS]
#   (then, on the same warm machine: bash .device-pack/serve-bench.sh; bash .device-pack/diagnose.sh for profiles;
#   bash .device-pack/owed.sh for the runs main still owes: the int8 GEMM's tilings at 512 and 32 rows with their
#   pp512 and batched-step A/B runs, tg128 with one key split; then OWED_PART=serve bash .device-pack/owed.sh for serving
#   beside llama-server, OWED_PEER=0 for strata alone)
#   the WebGPU op-conformance suite, no vitest (packages/kernels-webgpu/bench/conformance-run.ts; -t REGEX, --unsafe):
#   device run, carry [".device-pack"]:  source .device-pack/setup.sh && node .device-pack/conformance-run.mjs
set -euo pipefail
out=/tmp/strata-device-bundle
rm -rf "$out"; mkdir -p "$out"
for entry in gpu-bench decode-profile step-profile prefill-profile batch-bench batch-profile write-random-gguf peer-table adapter-info embedding-bench load-time url-ttft; do
  pnpm exec tsup "packages/pipeline/bench/$entry.ts" --format esm --platform node --target node20 --external webgpu \
    -d "$out" --no-config --tsconfig tsconfig.json --silent
  mv "$out/$entry.js" "$out/$entry.mjs"
done
# The strata CLI (strata serve), the serving load generator and the WebGPU conformance suite without vitest (`vitest`
# aliased to a shim, @vitest/expect inlined), each one file with every dependency inlined (device.tsup.config.ts).
STRATA_DEVICE_OUT="$out" pnpm exec tsup --config packages/pipeline/bench/device/device.tsup.config.ts
# The kernels' mat-vec benchmark (one file, webgpu external) travels as matvec-bench.mjs.
pnpm exec tsup packages/kernels-webgpu/bench/matvec-bench.ts --format esm --platform node --target node20 \
  --external webgpu -d "$out" --no-config --tsconfig tsconfig.json --silent
mv "$out/matvec-bench.js" "$out/matvec-bench.mjs"
# The subgroup-matrix (cooperative matrix) 8-bit GEMM probe, the CPU cost of a bare dispatch and the GPU cost of a
# token choice travel as subgroup-matrix-probe.mjs, dispatch-cost.mjs and sampling-cost.mjs.
for bench in subgroup-matrix-probe dispatch-cost sampling-cost; do
  pnpm exec tsup "packages/kernels-webgpu/bench/$bench.ts" --format esm --platform node --target node20 \
    --external webgpu -d "$out" --no-config --tsconfig tsconfig.json --silent
  mv "$out/$bench.js" "$out/$bench.mjs"
done
bash ../shared/tools/device/pack.sh "$out"/*.mjs packages/pipeline/bench/device/*.sh >/dev/null
# tsup splits code the entries share into chunk files the .mjs entries import: they travel too.
cp "$out"/*.js .device-pack/ 2>/dev/null || true
mkdir -p .device-pack/peers
cp ../shared/tools/peers/build-llama-cuda.sh ../shared/tools/peers/llama-cuda-src.tar.gz .device-pack/peers/
du -sh .device-pack
