#!/usr/bin/env bash
# Builds llama.cpp's CUDA peer through ../shared/tools/peers/build-llama-cuda.sh (copied into .device-pack/peers/), after
# giving the snapshot the one file its llama-server build lacks: scripts/ui-assets.cmake, which the UI target runs to
# write ui.cpp / ui.h. Ours writes them with an empty asset table (llama-ui-embed with no asset folder), so llama-server
# builds and serves the API without its web UI.
#
#   bash .device-pack/build-peer.sh [TARGET...]      → prints the bin/ folder, as build-llama-cuda.sh does
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work=${LLAMA_PEER_DIR:-/tmp/llama-peer}
mkdir -p "$work"
[ -d "$work/llama.cpp" ] || tar xzf "$here/peers/llama-cuda-src.tar.gz" -C "$work"
assets="$work/llama.cpp/scripts/ui-assets.cmake"
if [ ! -f "$assets" ]; then
  mkdir -p "$(dirname "$assets")"
  cat > "$assets" <<'CMAKE'
# strata's stand-in: embed no UI assets (the snapshot has neither the UI build nor the prebuilt assets).
execute_process(COMMAND "${LLAMA_UI_EMBED}" "${UI_BINARY_DIR}/ui.cpp.new" "${UI_BINARY_DIR}/ui.h.new" RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "llama-ui-embed failed: ${status}")
endif()
file(COPY_FILE "${UI_BINARY_DIR}/ui.cpp.new" "${UI_BINARY_DIR}/ui.cpp" ONLY_IF_DIFFERENT)
file(COPY_FILE "${UI_BINARY_DIR}/ui.h.new" "${UI_BINARY_DIR}/ui.h" ONLY_IF_DIFFERENT)
CMAKE
fi
bash "$here/peers/build-llama-cuda.sh" "$@"
