#!/usr/bin/env bash
# The measurements main still owes (see bundle.sh), in one call of about 5 minutes, alone or on the machine final.sh
# left warm (it reuses its files): decode with the one-row Q4_K/Q8_0 kernels on 8-bit inputs against the routed ones
# (gpu-bench tg128, the `int8` conversion of `tuning.quantMatvec`, each pair back to back), the serving scheduler's
# engine step recorded against replayed from captured steps (batch-bench --captured), and the 8B load with Dawn's
# lazy clear of mapped-at-creation buffers on and off (load-time --dawn-flags). Everything also goes to $OUT/owed.txt.
#
#   bash .device-pack/owed.sh
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/preamble.sh" owed.txt
source "$here/sections.sh"
nvidia-smi --query-gpu=name,clocks.sm --format=csv,noheader
write_files llama-3.2-1b:Q4_K_M llama-3.2-1b:Q8_0 llama-3-8b:Q4_K_M llama-3-8b:Q8_0
q80='{"Q8_0":{"layout":"group","rowsPerWorkgroup":8,"conversion":"int8"}}'
q4k='{"Q4_K":{"layout":"group","rowsPerWorkgroup":8,"conversion":"int8"}}'
decode() { decode_candidate 2 "$@"; } # MODEL TYPE LABEL [gpu-bench flags…]
stamp "decode on 8-bit inputs (tg128 runs; routed first, then the int8 conversion)"
for model in llama-3-8b llama-3.2-1b; do
  decode "$model" Q8_0 "$model Q8_0 routed (wide)"
  decode "$model" Q8_0 "$model Q8_0 group r8 int8" --quant-matvec "$q80"
  decode "$model" Q4_K_M "$model Q4_K_M routed (vector r4)"
  decode "$model" Q4_K_M "$model Q4_K_M group r8 int8" --quant-matvec "$q4k"
done
for captured in off on; do
  stamp "engine steps, 1B Q4_K_M, captured decode $captured"
  timeout 60 node "$here/batch-bench.mjs" --model llama-3.2-1b --type Q4_K_M --dir "$files" --sequences 1,8,32 \
    --tokens 48 --captured "$captured" 2>&1 | grep -v Warning
done
for flags in "" "enable-dawn-features=disable_lazy_clear_for_mapped_at_creation_buffer"; do
  stamp "load, 8B Q4_K_M, Dawn flags [$flags]"
  timeout 45 node "$here/load-time.mjs" "$files/llama-3-8b-Q4_K_M.gguf" --repetitions 2 --dawn-flags "$flags" 2>&1 \
    | grep -v Warning | tail -4
done
stamp done
