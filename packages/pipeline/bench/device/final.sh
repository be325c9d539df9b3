#!/usr/bin/env bash
# One device call for the closing figures (see bundle.sh): builds llama.cpp's CUDA llama-bench and llama-server in the
# background and, while they compile, runs what needs no idle CPU: the kernel benchmarks (GPU-timed), decode A/B runs
# of kernels (FINAL_CANDIDATES, none by default: the last ones, the one-row products on 8-bit inputs, lost), the
# subgroup-matrix probe, the int8 prefill kernels and their conformance cases, batched engine steps as routed and as
# before; then,
# with the CPU idle, strata and llama.cpp on the same files one after the other, the table, the table again with f32
# prefill activations (table-f32.md, the A/B of the int8 default) and decode at depth.
# Everything goes to stdout and $OUT/final.txt; the table to $OUT/table.md. Then serve-bench.sh on the warm machine.
#
#   [FINAL_SKIP="matvec candidates probe int8 batch f32 depth"] [FINAL_CANDIDATES="MODEL TYPE LABEL [FLAG…];…"] \
#     bash .device-pack/final.sh [MODEL:TYPE,…] [REPETITIONS]
#   (FINAL_SKIP names sections to leave out when device time is short; FINAL_CANDIDATES: decode A/B runs made while
#   the peer builds, each a gpu-bench tg128 with the flags given, e.g. --quant-matvec JSON without spaces;
#   INT8_PICK=1 measures the table with the fastest subgroup-matrix GEMM tiling of the int8 section, its conformance
#   run too, and prints the table again with the routed tiling's prefill as table-routed.md)
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pairs=${1:-llama-3.2-1b:F16,llama-3.2-1b:Q8_0,llama-3.2-1b:Q4_K_M,llama-3-8b:F16,llama-3-8b:Q8_0,llama-3-8b:Q4_K_M}
repetitions=${2:-2}
source "$here/preamble.sh" final.txt
source "$here/sections.sh"
mkdir -p "$out/f32"
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.mem --format=csv,noheader
# llama-server is built in the same compile (ggml-cuda is the long part), so serve-bench.sh finds it ready.
# (if llama-server fails to build, llama-bench alone is built again so the table still comes).
(bash "$here/build-peer.sh" llama-bench llama-server > "$out/peer-build.txt" 2>&1 \
  || bash "$here/build-peer.sh" llama-bench >> "$out/peer-build.txt" 2>&1; echo "exit $?" >> "$out/peer-build.txt") &
builder=$!
stamp "files"
write_files ${pairs//,/ }
skips() { [[ " ${FINAL_SKIP:-} " == *" $1 "* ]]; }
if ! skips matvec; then
  stamp "while the peer builds: one-row quantized mat-vec, every layout (GPU-timed)"
  BENCH_BUDGET_SECONDS=80 timeout 110 node "$here/matvec-bench.mjs" --quant 2>&1 | grep -v Warning | sed -n '/Correctness/,$p'
fi
candidate() { decode_candidate 1 "$@"; } # MODEL TYPE LABEL [gpu-bench flags…]
if [ -n "${FINAL_CANDIDATES:-}" ] && ! skips candidates; then
  stamp "while the peer builds: decode with other kernels (A/B on the same busy CPU; the routed one first)"
  # FINAL_CANDIDATES: candidates separated by ';', each "MODEL TYPE LABEL [gpu-bench flags…]" (no spaces in a label).
  IFS=';' read -ra chosen <<< "$FINAL_CANDIDATES"
  for entry in "${chosen[@]}"; do
    read -ra words <<< "$entry"
    candidate "${words[@]}"
  done
fi
if ! skips probe; then
  stamp "while the peer builds: the subgroup-matrix 8-bit GEMM probe (GPU-timed)"
  BENCH_BUDGET_SECONDS=40 timeout 70 node "$here/subgroup-matrix-probe.mjs" 2>&1 | grep -v Warning > "$out/probe.txt"
  grep -E "componentType|config|EXACT|WRONG|rror|TOPS" "$out/probe.txt" | head -40
fi
INT8_BEST=""
skips int8 || int8_kernels 150
table_flags=()
if [ "${INT8_PICK:-0}" = 1 ] && [ -n "$INT8_BEST" ]; then
  table_flags=(--int8-tiling "$INT8_BEST")
  echo "table measured with int8 GEMM tiling $INT8_BEST"
fi
skips batch || engine_ab 1,8,16,32
wait "$builder"
stamp "peer built"
for pair in ${pairs//,/ }; do
  node "$here/gpu-bench.mjs" --models "${pair%%:*}" --types "${pair##*:}" -p 512 -n 128 -r "$repetitions" --dir "$files" \
    --keep --cache-type f16 "${table_flags[@]}" --out "$out/strata-${pair/:/-}.json" > /dev/null 2>> "$out/strata-log.txt"
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
if ! skips f32; then
  stamp "prefill with f32 activations (tuning.int8Prefill off) on the same files, against the same llama.cpp runs"
  for pair in ${pairs//,/ }; do
    node "$here/gpu-bench.mjs" --models "${pair%%:*}" --types "${pair##*:}" -p 512 -n 16 -r "$repetitions" --dir "$files" \
      --keep --cache-type f16 --f32-prefill --out "$out/f32/strata-${pair/:/-}.json" > /dev/null 2>> "$out/strata-log.txt"
  done
  echo "(read the pp columns: strata's tg here is 16 tokens, llama.cpp's 128)"
  node "$here/peer-table.mjs" "$out/llama.json" "$out"/f32/strata-*.json | tee "$out/table-f32.md"
fi
if [ ${#table_flags[@]} -gt 0 ]; then
  stamp "prefill with the routed int8 GEMM tiling on the same files, against the same llama.cpp runs"
  mkdir -p "$out/routed"
  for pair in ${pairs//,/ }; do
    node "$here/gpu-bench.mjs" --models "${pair%%:*}" --types "${pair##*:}" -p 512 -n 16 -r "$repetitions" --dir "$files" \
      --keep --cache-type f16 --out "$out/routed/strata-${pair/:/-}.json" > /dev/null 2>> "$out/strata-log.txt"
  done
  echo "(read the pp columns: strata's tg here is 16 tokens, llama.cpp's 128)"
  node "$here/peer-table.mjs" "$out/llama.json" "$out"/routed/strata-*.json | tee "$out/table-routed.md"
fi
skips depth || stamp "decode at depth (tg128 after 4096 and 16384 tokens, 1B Q4_K_M; attention aiming at 256 and 1024 workgroups)"
skips depth || for run in llama-3.2-1b:Q4_K_M:4096 llama-3.2-1b:Q4_K_M:16384; do
  model=${run%%:*}; rest=${run#*:}; type=${rest%%:*}; depth=${rest##*:}
  for workgroups in 256 1024; do
    timeout 60 node "$here/gpu-bench.mjs" --models "$model" --types "$type" -p 0 -n 128 -r 1 -d "$depth" \
      --dir "$files" --keep --cache-type f16 --attention-workgroups "$workgroups" 2>&1 | grep -E "tg run 1" \
      | sed "s/^/depth $depth, attention target $workgroups workgroups: /"
  done
done
stamp done
