#!/usr/bin/env bash
# Cold first turns: a fresh process's first turns beside its steady ones, against a modeled server (the simulator with
# a 50 ms first-event delay). CONVERSATIONS new conversations of TURNS tool-loop turns start at the same moment on
#   - a freshly started gateway published with ReadyToRun (framework-dependent, linux-x64), RUNS times;
#   - the same gateway from the ordinary build (JIT only), RUNS times;
#   - the library in the load driver's own fresh process, RUNS times.
# Each prints the first turns' p50/p99 and the steady p50 (turns after the tenth); the target is p99(first) <= 2x p50(steady).
#   [PATHS="r2r jit library"] bench/cold-turns.sh [CONVERSATIONS=16] [TURNS=30] [RUNS=3] [DELAY_MS=50]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. bench/common.sh
conversations="${1:-16}"
turns="${2:-30}"
runs="${3:-3}"
delay="${4:-50}"
sim_port=5197
gw_port=5189
published="$(mktemp -d)"

dotnet build -c Release src/Simulator -v q -nologo > /dev/null
dotnet build -c Release src/Host -v q -nologo > /dev/null
dotnet build -c Release bench/Fantasy.Actors.LoadDriver -v q -nologo > /dev/null
dotnet publish src/Host -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o "$published" -v q -nologo > /dev/null

track_processes
dotnet src/Simulator/bin/Release/net10.0/Fantasy.Actors.Simulator.dll --port "$sim_port" --first-event-delay-ms "$delay" > /dev/null 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$sim_port/_stats"
driver=bench/Fantasy.Actors.LoadDriver/bin/Release/net10.0/Fantasy.Actors.LoadDriver.dll

gateway_run() {
  local binary="$1"
  dotnet "$binary" --urls "http://127.0.0.1:$gw_port" --Fantasy:Upstream:BaseUrl="http://127.0.0.1:$sim_port/v1" \
    --Fantasy:Upstream:ApiKey=sk-cold --Fantasy:Persistence:Provider=None --Fantasy:Logging:MinimumLevel=Warning > /dev/null 2>&1 &
  local gw=$!
  pids+=($gw)
  wait_for "http://127.0.0.1:$gw_port/healthz"
  dotnet "$driver" --mode cold-turns-gateway --gateway "http://127.0.0.1:$gw_port/v1/" --url "ws://127.0.0.1:$sim_port/v1/responses" \
    --connections "$conversations" --turns "$turns"
  kill -TERM "$gw"; wait "$gw" 2> /dev/null || true
}

# PATHS picks some of: r2r jit library (all three by default).
paths="${PATHS:-r2r jit library}"
for run in $(seq 1 "$runs"); do
  if [[ " $paths " == *" r2r "* ]]; then
    echo "== gateway, ReadyToRun, run $run"
    gateway_run "$published/Fantasy.Actors.Host.dll"
  fi
  if [[ " $paths " == *" jit "* ]]; then
    echo "== gateway, JIT only, run $run"
    gateway_run src/Host/bin/Release/net10.0/Fantasy.Actors.Host.dll
  fi
  if [[ " $paths " == *" library "* ]]; then
    echo "== library, run $run"
    dotnet "$driver" --mode cold-turns --url "ws://127.0.0.1:$sim_port/v1/responses" --connections "$conversations" --turns "$turns"
  fi
done
rm -rf "$published"
