#!/usr/bin/env bash
# The measurements main still owes (see bundle.sh), in two calls of 5–7 minutes each, the second right after the
# first on the still-warm machine:
#
#   1. in-process (`OWED_PART=kernels`, the default): the int8 GEMM's ways of storing and converting its block
#      results at 512 rows (`matvec-bench --int8`, each variant checked against the CPU first) and pp512 of 1B Q4_K_M
#      with the default tiling and the fastest one; the batched step's 8-bit products on the int8 GEMM
#      (`tuning.int8BatchGemm`) checked against the CPU (conformance), its tilings at 32 rows, `batch-bench` at 1, 16
#      and 32 sequences with `--int8-batch 16` without the GEMM and with its fastest tiling, tg128 (the 10× of issue
#      #12 is against it; again with the decode attention on one key split, no combine pass), and where a 32-sequence
#      step goes;
#   2. serving (`OWED_PART=serve`): llama-server built, then serve-bench.sh on the same file: strata's defaults at 1,
#      8 and 32 clients, strata with `--int8-batch 16` at 32 without and with `--int8-gemm`, llama-server at 1, 8, 32.
#
# Everything also goes to $OUT/owed.txt (serve-bench's to $OUT/serve.txt).
#
#   [OWED_PART=kernels|serve] [OWED_PEER=0] [OWED_PROFILE=0: no batch profile] bash .device-pack/owed.sh [SECONDS per serving point, default 12]
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/preamble.sh" owed.txt
seconds=${1:-12}
part=${OWED_PART:-kernels}
nvidia-smi --query-gpu=name,clocks.sm --format=csv,noheader
model="$files/llama-3.2-1b-Q4_K_M.gguf"
[ -f "$model" ] || node "$here/write-random-gguf.mjs" --model llama-3.2-1b --type Q4_K_M --out "$model" > /dev/null
# The tiling a `matvec-bench --int8` run found fastest (its BEST_INT8_TILING line), or "" when it printed none.
best_tiling() { sed -n 's/^BEST_INT8_TILING //p' "$1" | tail -1; }
if [ "$part" = kernels ]; then
  stamp "int8 GEMM at 512 rows: the default tiling, its results stored and converted other ways (quantize + GEMM)"
  BENCH_BUDGET_SECONDS=40 timeout 60 node "$here/matvec-bench.mjs" --int8 2>&1 | grep -v Warning | tee "$out/gemm-512.txt"
  prefill_tiling=$(best_tiling "$out/gemm-512.txt")
  stamp "pp512, 1B Q4_K_M: the default int8 GEMM tiling, then ${prefill_tiling:-the default again}"
  timeout 30 node "$here/gpu-bench.mjs" --models llama-3.2-1b --types Q4_K_M -p 512 -n 0 -r 2 --dir "$files" --keep \
    2>&1 | grep -v Warning | grep "pp run"
  timeout 30 node "$here/gpu-bench.mjs" --models llama-3.2-1b --types Q4_K_M -p 512 -n 0 -r 2 --dir "$files" --keep \
    ${prefill_tiling:+--int8-tiling "$prefill_tiling"} 2>&1 | grep -v Warning | grep "pp run"
  stamp "the 20-row batched products on 8-bit inputs against the CPU (conformance, int8 GEMM for Q4_K and Q8_0)"
  timeout 40 node "$here/conformance-run.mjs" --int8-batch 16 --int8-gemm -t "batched matmul" 2>&1 | grep -v Warning |
    tail -6
  stamp "int8 GEMM tilings at 32 rows (quantize + GEMM)"
  INT8_ROWS=32 BENCH_BUDGET_SECONDS=22 timeout 40 node "$here/matvec-bench.mjs" --int8 2>&1 | grep -v Warning |
    tee "$out/gemm-32.txt"
  batch_tiling=$(best_tiling "$out/gemm-32.txt")
  for gemm in off "${batch_tiling:-on}"; do
    stamp "engine steps, 1B Q4_K_M, 8-bit products from 16 rows, int8 GEMM $gemm"
    timeout 55 node "$here/batch-bench.mjs" --model llama-3.2-1b --type Q4_K_M --dir "$files" --sequences 1,16,32 \
      --tokens 32 --int8-batch 16 --int8-gemm "$gemm" 2>&1 | grep -v Warning
  done
  stamp "single-sequence decode, tg128 (the 10× of issue #12 is against it); then with one key split (no combine pass)"
  for target in "" 1; do
    timeout 35 node "$here/gpu-bench.mjs" --models llama-3.2-1b --types Q4_K_M -p 0 -n 128 -r 2 --dir "$files" --keep \
      --cache-type f16 ${target:+--attention-workgroups "$target"} 2>&1 | grep -v Warning | grep "tg run"
  done
  if [ "${OWED_PROFILE:-1}" = 1 ]; then
    stamp "where a 32-sequence step goes, int8 GEMM ${batch_tiling:-on}"
    timeout 45 node "$here/batch-profile.mjs" --model llama-3.2-1b --type Q4_K_M --dir "$files" --sequences 32 \
      --tokens 24 --top 10 --int8-batch 16 --int8-gemm "${batch_tiling:-on}" 2>&1 | grep -v Warning
  fi
  stamp done
  exit 0
fi
# OWED_PEER=0: strata's points only (no llama-server build, about 3 minutes).
peer=${OWED_PEER:-1}
if [ "$peer" = 1 ]; then
  stamp "building llama-server"
  timeout 300 bash "$here/build-peer.sh" llama-server > "$out/server-build.txt" 2>&1
  echo "exit $?" >> "$out/server-build.txt"
  tail -2 "$out/server-build.txt"
fi
SERVE_PARTS=strata timeout 100 bash "$here/serve-bench.sh" "$model" "$seconds"
SERVE_PARTS=strata SERVE_CLIENTS=32 SERVE_INT8=16 timeout 45 bash "$here/serve-bench.sh" "$model" "$seconds"
SERVE_PARTS=strata SERVE_CLIENTS=32 SERVE_INT8=16 SERVE_INT8_GEMM=1 timeout 45 bash "$here/serve-bench.sh" "$model" \
  "$seconds"
[ "$peer" = 1 ] && SERVE_PARTS=peer timeout 100 bash "$here/serve-bench.sh" "$model" "$seconds"
stamp done
