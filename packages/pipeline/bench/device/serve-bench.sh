#!/usr/bin/env bash
# Serving under load on the GPU machine (see bundle.sh): builds llama.cpp's llama-server (CUDA) and runs the same load
# generator (bench-serve) against `strata serve` and llama-server on the same GGUF file, at 1, 8 and 32 concurrent
# streaming clients (each server allows 32 parallel sequences). Run after final.sh on the same warm machine, or alone.
#
#   [SERVE_PARTS="strata peer"] [SERVE_CLIENTS="1 8 32"] [SERVE_PROFILE=1] [SERVE_INT8=N [SERVE_INT8_GEMM=1]] \
#     [SERVE_EAGER=1] \
#     bash .device-pack/serve-bench.sh [FILE] [SECONDS]
#   (SERVE_PARTS: which servers to load, default both; SERVE_CLIENTS: the client counts, default 1, 8 and 32;
#   SERVE_PROFILE=1: each strata server writes a V8 CPU profile, gzipped to $OUT/serve-CLIENTS.cpuprofile.gz;
#   SERVE_INT8=N: strata serve --int8-batch N, 8-bit Q4_K products in steps of N or more sequences (SERVE_INT8_GEMM=1:
#   with --int8-gemm, those with Q4_K/Q8_0 weights on the int8 GEMM);
#   SERVE_EAGER=1: strata serve --eager-decode, every decode step recorded again instead of replayed)
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/preamble.sh" serve.txt append
model=${1:-$files/llama-3.2-1b-Q4_K_M.gguf}
seconds=${2:-30}
[ -f "$model" ] || node "$here/write-random-gguf.mjs" --model llama-3.2-1b --type Q4_K_M --out "$model" > /dev/null
parts=${SERVE_PARTS:-strata peer}
counts=${SERVE_CLIENTS:-1 8 32}
if [[ " $parts " == *" strata "* ]]; then
  for clients in $counts; do
    stamp "strata serve, $clients clients"
    options=()
    [ -n "${SERVE_PROFILE:-}" ] && rm -rf "/tmp/serve-profile-$clients" && options=(--profile "/tmp/serve-profile-$clients")
    [ -n "${SERVE_INT8:-}" ] && options+=(--int8-batch "$SERVE_INT8")
    [ -n "${SERVE_INT8_GEMM:-}" ] && options+=(--int8-gemm)
    [ -n "${SERVE_EAGER:-}" ] && options+=(--eager-decode)
    timeout $((seconds + 120)) node "$here/bench-serve.mjs" "$model" --cli "$here/strata-cli.mjs" \
      --backend webgpu --clients "$clients" --parallel 32 --seconds "$seconds" --max-tokens 128 --ctx 512 \
      "${options[@]}" 2>&1 | grep -v Warning | tail -8
    if [ -n "${SERVE_PROFILE:-}" ]; then
      largest=$(ls -S "/tmp/serve-profile-$clients"/*.cpuprofile 2>/dev/null | head -1)
      [ -n "$largest" ] && gzip -c "$largest" > "$out/serve-$clients.cpuprofile.gz"
    fi
  done
fi
[[ " $parts " == *" peer "* ]] || exit 0
stamp "building llama-server (incremental when final.sh built it on this machine)"
bin=$(bash "$here/build-peer.sh" llama-server 2> "$out/server-build.txt" | tail -1)
stamp "built: $bin"
if [ -x "$bin/llama-server" ]; then
  "$bin/llama-server" -m "$model" -ngl 99 -fa on -c $((32 * 512)) --parallel 32 --port 18080 --host 127.0.0.1 \
    > "$out/llama-server.txt" 2>&1 &
  server=$!
  for attempt in $(seq 90); do
    node -e "fetch('http://127.0.0.1:18080/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" && break
    sleep 1
  done
  for clients in $counts; do
    stamp "llama-server, $clients clients"
    timeout $((seconds + 120)) node "$here/bench-serve.mjs" "$model" --url http://127.0.0.1:18080 --clients "$clients" \
      --seconds "$seconds" --max-tokens 128 2>&1 | tail -8
  done
  kill "$server"
else
  echo "llama-server build failed:"; tail -5 "$out/server-build.txt"
fi
stamp done
