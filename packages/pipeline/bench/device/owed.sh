#!/usr/bin/env bash
# The measurements main still owes (see bundle.sh), most telling first, in one call of about 8 minutes: the batched
# step's 8-bit products on the int8 GEMM (`tuning.int8BatchGemm`) checked against the CPU (conformance), against the
# 8-bit row-group mat-vec (batch-bench at 1, 16 and 32 sequences with `--int8-batch 16`), where a 32-sequence step
# goes, the GEMM's tilings at 32 rows; then serving under load beside llama-server on the same file (serve-bench.sh:
# strata's defaults at 1, 8 and 32 clients, strata with `--int8-batch 16` at 32 without and with `--int8-gemm`,
# llama-server at 1, 8 and 32).
# llama-server builds while the in-process runs go. Everything also goes to $OUT/owed.txt (serve-bench's to
# $OUT/serve.txt).
#
#   [OWED_SERVE=0] bash .device-pack/owed.sh [SECONDS per serving point, default 12]
#   (OWED_SERVE=0: the in-process runs only, no llama-server build and no serving, about 3 minutes)
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/preamble.sh" owed.txt
seconds=${1:-12}
nvidia-smi --query-gpu=name,clocks.sm --format=csv,noheader
serve=${OWED_SERVE:-1}
if [ "$serve" = 1 ]; then
  (bash "$here/build-peer.sh" llama-server > "$out/server-build.txt" 2>&1; echo "exit $?" >> "$out/server-build.txt") &
  builder=$!
fi
model="$files/llama-3.2-1b-Q4_K_M.gguf"
[ -f "$model" ] || node "$here/write-random-gguf.mjs" --model llama-3.2-1b --type Q4_K_M --out "$model" > /dev/null
stamp "the 20-row batched products on 8-bit inputs against the CPU (conformance, int8 GEMM for Q4_K and Q8_0)"
timeout 60 node "$here/conformance-run.mjs" --int8-batch 16 --int8-gemm -t "batched matmul" 2>&1 | grep -v Warning | tail -6
for gemm in off on; do
  stamp "engine steps, 1B Q4_K_M, 8-bit products from 16 rows, int8 GEMM $gemm"
  timeout 75 node "$here/batch-bench.mjs" --model llama-3.2-1b --type Q4_K_M --dir "$files" --sequences 1,16,32 \
    --tokens 48 --int8-batch 16 --int8-gemm "$gemm" 2>&1 | grep -v Warning
done
stamp "single-sequence decode, tg128 (the 10× of issue #12 is against it)"
timeout 45 node "$here/gpu-bench.mjs" --models llama-3.2-1b --types Q4_K_M -p 0 -n 128 -r 2 --dir "$files" --keep \
  --cache-type f16 2>&1 | grep -v Warning | grep "tg run"
stamp "where a 32-sequence step goes, int8 GEMM on"
timeout 60 node "$here/batch-profile.mjs" --model llama-3.2-1b --type Q4_K_M --dir "$files" --sequences 32 \
  --tokens 24 --top 10 --int8-batch 16 --int8-gemm on 2>&1 | grep -v Warning
stamp "int8 GEMM tilings at 32 rows (quantize + GEMM; llama-server compiling beside)"
INT8_ROWS=32 BENCH_BUDGET_SECONDS=40 timeout 70 node "$here/matvec-bench.mjs" --int8 2>&1 | grep -v Warning
[ "$serve" = 1 ] || { stamp done; exit 0; }
stamp "waiting for llama-server's build"
wait "$builder"
tail -1 "$out/server-build.txt"
SERVE_PARTS=strata timeout 150 bash "$here/serve-bench.sh" "$model" "$seconds"
SERVE_PARTS=strata SERVE_CLIENTS=32 SERVE_INT8=16 timeout 60 bash "$here/serve-bench.sh" "$model" "$seconds"
SERVE_PARTS=strata SERVE_CLIENTS=32 SERVE_INT8=16 SERVE_INT8_GEMM=1 timeout 60 bash "$here/serve-bench.sh" "$model" \
  "$seconds"
SERVE_PARTS=peer timeout 120 bash "$here/serve-bench.sh" "$model" "$seconds"
stamp done
