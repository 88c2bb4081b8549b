#!/usr/bin/env bash
# The yardstick: per-turn CPU of the library's paths beside the OpenAI .NET SDK over HTTP/SSE (whole history every
# turn), the same tool loop against the simulator (pinned to core 1; the driver to core 0), for conversations of
# several lengths: start-up CPU (the process's first round) and steady-state CPU per turn (after the warm-up).
#   [MODES="sdk-http sessions sessions-json chained gateway"] bench/yardstick.sh [CONVERSATIONS=16] [LENGTHS="20 50 100 200 400"]
# Each measured run comes after a warm-up and runs of its own shape until the process compiles (nearly) nothing more.
# Modes: sdk-http (the SDK), sessions (the caller passes parsed items, whole history), sessions-json (the caller holds
# the request as JSON: ResponseRequest.Parse every turn), chained (the caller chains itself: previous id + new items),
# gateway (a fresh gateway on core 0, its own process CPU per turn; its HTTP clients, sending the whole history every
# turn over HTTP/SSE, on core 1 beside the simulator).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. bench/common.sh
conversations="${1:-16}"
lengths="${2:-20 50 100 200 400}"
port=5193
start_pinned_simulator "$port"
dotnet build -c Release src/Host -v q -nologo > /dev/null
track_processes
pids+=("$simulator_pid")
gw_port=5194
driver=bench/Fantasy.Actors.LoadDriver/bin/Release/net10.0/Fantasy.Actors.LoadDriver.dll
url="ws://127.0.0.1:$port/v1/responses"

printf "%-14s %6s %18s %18s\n" mode turns "start-up ms/turn" "steady us/turn"
# The figures also go to bench/results/yardstick.csv (the chart: dotnet run --project bench/Fantasy.Actors.Charts).
csv=bench/results/yardstick.csv
echo "mode,turns,cpu_us_per_turn" > "$csv"
for turns in $lengths; do
  for mode in ${MODES:-sdk-http sessions sessions-json chained gateway}; do
    if [ "$mode" = gateway ]; then
      DOTNET_PROCESSOR_COUNT=1 start_pinned_gateway "$gw_port" "$port"
      out=$(taskset -c 1 dotnet "$driver" --mode gateway --gateway "http://127.0.0.1:$gw_port/v1/" --gateway-pid "$gateway_pid" \
        --connections "$conversations" --turns "$turns" --warmup-seconds 8 2>&1)
      kill -TERM "$gateway_pid"; wait "$gateway_pid" 2> /dev/null || true
      start="-"
    else
      args=(--mode "$mode")
      [ "$mode" = chained ] && args=(--mode sessions --caller-chains)
      out=$(taskset -c 0 dotnet "$driver" --url "$url" "${args[@]}" --connections "$conversations" --turns "$turns" --warmup-seconds 8 2>&1)
      start=$(sed -nE 's/.*start-up: .*, ([0-9.]+) ms per turn.*/\1/p' <<< "$out")
    fi
    steady=$(sed -nE 's/.*cpu per turn [0-9.]+ ms \(([0-9]+) us\).*/\1/p' <<< "$out")
    [ -n "${VERBOSE:-}" ] && echo "$out" >&2
    printf "%-14s %6s %18s %18s\n" "$mode" "$turns" "$start" "$steady"
    echo "$mode,$turns,$steady" >> "$csv"
  done
done
