#!/usr/bin/env bash
# Cold burst: N new conversations start their first turn at the same moment on a freshly started process,
# once through the library (the load driver's own actor system) and once through a freshly started gateway,
# both against the simulator on loopback. Every first turn should be done within 2 s.
# A stall shows in a few processes of many (it did in 4 of 26 before the materializer was started with the
# service), so the library runs RUNS fresh processes and ends with how many had a first turn over 2 s.
#   bench/cold-burst.sh [SESSIONS=1000] [RUNS=20] [GATEWAY_RUNS=3]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. bench/common.sh
sessions="${1:-1000}"
runs="${2:-20}"
gateway_runs="${3:-3}"
sim_port=5199
gw_port=5188

dotnet build -c Release src/Simulator -v q -nologo > /dev/null
dotnet build -c Release src/Host -v q -nologo > /dev/null
dotnet build -c Release bench/Fantasy.Actors.LoadDriver -v q -nologo > /dev/null

track_processes
start_simulator "$sim_port"

driver=bench/Fantasy.Actors.LoadDriver/bin/Release/net10.0/Fantasy.Actors.LoadDriver.dll
slow=0
for run in $(seq 1 "$runs"); do
  echo "== library, run $run (fresh process)"
  out=$(dotnet "$driver" --mode cold-burst --connections "$sessions" --url "ws://127.0.0.1:$sim_port/v1/responses" 2>&1 || true)
  echo "$out"
  case "$out" in *"over 2 s: 0; failed: 0"*) ;; *) slow=$((slow + 1)) ;; esac
done
echo "library: $slow of $runs fresh processes had a first turn over 2 s or a failed one"

for run in $(seq 1 "$gateway_runs"); do
  echo "== gateway, run $run (fresh gateway process)"
  start_gateway "$gw_port" "$sim_port"
  dotnet "$driver" --mode cold-burst-gateway --connections "$sessions" --gateway "http://127.0.0.1:$gw_port/v1" --key sk-fantasy-dev || true
  kill -TERM "$gateway_pid"
  wait "$gateway_pid" 2> /dev/null || true
done
