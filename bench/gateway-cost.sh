#!/usr/bin/env bash
# Gateway CPU per turn against the library's: the same tool loop (one function call a turn, the whole history sent
# every turn) through the gateway over HTTP/SSE — the gateway process's own CPU, read from /proc — and through
# IResponsesSessions in the load driver's process. The simulator runs on core 1; the gateway (or the library
# driver) on core 0; the HTTP clients on core 1 beside the simulator. Runs interleaved, medians.
#   bench/gateway-cost.sh [CLIENTS=64] [TURNS=50] [RUNS=3]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. bench/common.sh
clients="${1:-64}"
turns="${2:-50}"
runs="${3:-3}"
sim_port=5196
gw_port=5187

dotnet build -c Release src/Simulator -v q -nologo > /dev/null
dotnet build -c Release src/Host -v q -nologo > /dev/null
dotnet build -c Release bench/Fantasy.Actors.LoadDriver -v q -nologo > /dev/null
export DOTNET_TC_CallCountingDelayMs=0

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done; }
trap cleanup EXIT

DOTNET_PROCESSOR_COUNT=1 taskset -c 1 dotnet src/Simulator/bin/Release/net10.0/Fantasy.Actors.Simulator.dll --port "$sim_port" > /dev/null 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$sim_port/_stats"
driver=bench/Fantasy.Actors.LoadDriver/bin/Release/net10.0/Fantasy.Actors.LoadDriver.dll

gateway_us=""
library_us=""
for run in $(seq 1 "$runs"); do
  DOTNET_PROCESSOR_COUNT=1 taskset -c 0 dotnet src/Host/bin/Release/net10.0/Fantasy.Actors.Host.dll --urls "http://127.0.0.1:$gw_port" \
    --Fantasy:Upstream:BaseUrl="http://127.0.0.1:$sim_port/v1" --Fantasy:Upstream:ApiKey=sk-cost --Fantasy:Logging:MinimumLevel=Warning > /dev/null 2>&1 &
  gw=$!
  pids+=($gw)
  wait_for "http://127.0.0.1:$gw_port/healthz"
  out=$(taskset -c 1 dotnet "$driver" --mode gateway --gateway "http://127.0.0.1:$gw_port/v1/" --gateway-pid "$gw" \
    --connections "$clients" --turns "$turns" --warmup-seconds 15 2>&1)
  g=$(sed -nE 's/.*gateway cpu per turn [0-9.]+ ms \(([0-9]+) us\).*/\1/p' <<< "$out")
  kill -TERM "$gw"; wait "$gw" 2> /dev/null || true
  out=$(taskset -c 0 dotnet "$driver" --mode sessions --url "ws://127.0.0.1:$sim_port/v1/responses" \
    --connections "$clients" --turns "$turns" --warmup-seconds 15 2>&1)
  l=$(sed -nE 's/.*cpu per turn [0-9.]+ ms \(([0-9]+) us\).*/\1/p' <<< "$out")
  echo "run $run: gateway $g us/turn, library $l us/turn" >&2
  gateway_us="$gateway_us $g"
  library_us="$library_us $l"
done

g=$(echo "$gateway_us" | median)
l=$(echo "$library_us" | median)
echo
echo "| path ($clients clients x $turns turns, whole history every turn, $runs runs) | CPU per turn, median (runs) | x library |"
echo "|---|---|---|"
echo "| library (\`IResponsesSessions\`, the driver's process, callers included) | $l us ($library_us ) | 1.00 |"
echo "| gateway process (HTTP/SSE, clients not included) | $g us ($gateway_us ) | $(awk -v a="$g" -v b="$l" 'BEGIN { printf "%.2f", a / b }') |"
