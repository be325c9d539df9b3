# Sourced by final.sh, short.sh and diagnose.sh after preamble.sh (which sets `here`, `out`, `files` and `stamp`): the device-call
# sections both run.
#
#   engine_ab SEQUENCES          batch-bench on the 1B-shape Q4_K_M file at SEQUENCES (e.g. 1,8,32): the step as main
#                                routes it (mat-vec row groups, stepping ahead), then the Q4_K/Q6_K one-row kernels
#                                over row groups of 4, then the prefill tile without stepping ahead (ENGINE_SETTINGS:
#                                other settings, comma-separated MATVEC:QUANT-ROWS:AHEAD[:INT8-ROWS], e.g.
#                                on:2:on,on:0:on:8 — INT8-ROWS: --int8-batch, 0 or absent leaves it off)
#   int8_kernels BUDGET [ARG…]   bench --int8 for BUDGET seconds ($out/int8.txt, GPU-timed, checked against the CPU),
#                                then the conformance suite (int8 prefill is the default; ARG…: e.g. -t prefill); sets
#                                INT8_BEST to the fastest subgroup-matrix tiling's JSON (empty when none), and with
#                                INT8_PICK=1 runs the conformance suite with that tiling
#   batch_products BUDGET        bench --batch for BUDGET seconds ($out/batch-kernels.txt): µs per product per tiling
#   write_files MODEL:TYPE…      the random-weight GGUF files of those pairs in $files, in parallel, skipping any there
#   decode_candidate RUNS MODEL TYPE LABEL [FLAG…]
#                                gpu-bench tg128 RUNS times on $files' file (f16 cache, the gpu-bench flags given, e.g.
#                                --quant-matvec JSON without spaces): one line `candidate LABEL: …tg run N: R tok/s…`
engine_ab() {
  local setting matvec rows ahead int8 settings=${ENGINE_SETTINGS:-on:0:on,on:4:on,off:0:off}
  for setting in ${settings//,/ }; do
    IFS=: read -r matvec rows ahead int8 <<< "$setting"
    stamp "engine steps at $1 sequences: batch mat-vec $matvec, quantized batch rows $rows, step ahead $ahead, int8 from ${int8:-0} rows"
    timeout 80 node "$here/batch-bench.mjs" --model llama-3.2-1b --type Q4_K_M --dir "$files" --batch-matvec "$matvec" \
      --quant-batch "$rows" --ahead "$ahead" --int8-batch "${int8:-0}" --sequences "$1" --tokens 48 2>&1 | grep -v Warning
  done
}

int8_kernels() {
  local budget=$1; shift
  stamp "int8 prefill kernels (GPU-timed, checked against the CPU) and their conformance cases"
  BENCH_BUDGET_SECONDS="$budget" timeout $((budget + 30)) node "$here/matvec-bench.mjs" --int8 2>&1 | grep -v Warning \
    > "$out/int8.txt"
  grep -E "subgroup|check|FAIL|^\||^- |BEST" "$out/int8.txt" | head -60
  INT8_BEST=$(sed -n 's/^BEST_INT8_TILING //p' "$out/int8.txt")
  local tiling=()
  if [ "${INT8_PICK:-0}" = 1 ] && [ -n "$INT8_BEST" ]; then tiling=(--int8-tiling "$INT8_BEST"); fi
  timeout 60 node "$here/conformance-run.mjs" "${tiling[@]}" "$@" 2>&1 | grep -v Warning | grep -E "int8|passed|FAIL" | head
}

batch_products() {
  stamp "batched-step products per tiling (GPU-timed)"
  BENCH_BUDGET_SECONDS="$1" timeout $(($1 + 20)) node "$here/matvec-bench.mjs" --batch 2>&1 | grep -v Warning \
    > "$out/batch-kernels.txt"
  grep -E "^\|" "$out/batch-kernels.txt" | head -30
}

write_files() {
  local pair target writers=()
  for pair in "$@"; do
    target="$files/${pair%%:*}-${pair##*:}.gguf"
    [ -f "$target" ] && continue
    node "$here/write-random-gguf.mjs" --model "${pair%%:*}" --type "${pair##*:}" --out "$target" > /dev/null &
    writers+=($!)
  done
  # Never a bare `wait`: it would also wait for the preamble's tee.
  [ ${#writers[@]} -gt 0 ] && wait "${writers[@]}"
  return 0
}

decode_candidate() {
  local runs=$1 model=$2 type=$3 label=$4; shift 4
  timeout $((60 + 30 * runs)) node "$here/gpu-bench.mjs" --models "$model" --types "$type" -p 0 -n 128 -r "$runs" \
    --dir "$files" --keep --cache-type f16 "$@" 2>&1 | grep -E "tg run" | tr '\n' ' ' | sed "s/^/candidate $label: /"
  echo
}
