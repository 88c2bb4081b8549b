#!/usr/bin/env bash
# Memory per idle open session: S sessions each run 2 tool-loop turns through IResponsesSessions, then stay open
# (socket, actors, transcript) and idle; after HOLD seconds the driver reports managed memory and working set per
# session. The simulator runs in its own process. Prints a table and writes bench/results/idle-memory.csv.
#   bench/idle-memory.sh [HOLD_SECONDS=75] [COUNTS="1000 2500 5000 10000"]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. bench/common.sh
hold="${1:-75}"
counts="${2:-1000 2500 5000 10000}"
port=5197
# Each open session is one socket on each side.
ulimit -n "$(ulimit -Hn)" 2> /dev/null || true

start_pinned_simulator "$port"

mkdir -p bench/results
csv=bench/results/idle-memory.csv
echo "sessions,managed_kb_per_session,working_set_mb,working_set_kb_per_session" > "$csv"
echo "| open idle sessions | managed per session | working set | working set per session |"
echo "|---:|---:|---:|---:|"
for n in $counts; do
  out=$(taskset -c 0 dotnet bench/Fantasy.Actors.LoadDriver/bin/Release/net10.0/Fantasy.Actors.LoadDriver.dll \
    --mode sessions --connections "$n" --turns 2 --warmup-seconds 3 --hold-seconds "$hold" --url "ws://127.0.0.1:$port/v1/responses" 2>&1)
  line=$(grep '^after ' <<< "$out")
  managed=$(sed -nE 's/.*managed (-?[0-9.]+) KB each.*/\1/p' <<< "$line")
  ws=$(sed -nE 's/.*working set ([0-9]+) MB.*/\1/p' <<< "$line")
  wsper=$(sed -nE 's/.*MB \((-?[0-9.]+) KB each.*/\1/p' <<< "$line")
  echo "$n,$managed,$ws,$wsper" >> "$csv"
  echo "| $n | $managed KB | $ws MB | $wsper KB |"
done
