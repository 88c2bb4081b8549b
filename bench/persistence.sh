#!/usr/bin/env bash
# What durable conversations cost: the sessions tool loop (callers resending their whole history, the load driver's
# "sessions" mode) without persistence, on a SQLite file and on a throwaway PostgreSQL server of this machine's,
# runs interleaved, each in a fresh process on a fresh database; the driver's CPU per turn, turn latency, what a
# completed turn's terminal waited for its record, and the database's growth per turn. Then recovery: conversations
# of RECOVERY_TURNS turns recorded on one service, and a restarted service's first turn of each.
#   bench/persistence.sh [SESSIONS=64] [TURNS=50] [RUNS=3] [RECOVERY_TURNS=200]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. bench/common.sh
sessions="${1:-64}"
turns="${2:-50}"
runs="${3:-3}"
recovery_turns="${4:-200}"
port=5197

dotnet build -c Release src/Simulator -v q -nologo > /dev/null
dotnet build -c Release bench/Fantasy.Actors.LoadDriver -v q -nologo > /dev/null
export DOTNET_TC_CallCountingDelayMs=0
track_processes
start_postgres
DOTNET_PROCESSOR_COUNT=1 taskset -c 1 dotnet src/Simulator/bin/Release/net10.0/Fantasy.Actors.Simulator.dll --port "$port" > /dev/null 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$port/_stats"
driver=bench/Fantasy.Actors.LoadDriver/bin/Release/net10.0/Fantasy.Actors.LoadDriver.dll
url="ws://127.0.0.1:$port/v1/responses"
work=$(mktemp -d /tmp/fantasy-bench-sqlite.XXXXXX)
trap '"${pg_stop[@]}" > /dev/null 2>&1 || true; rm -rf "$pg_dir" "$work"; for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done' EXIT

run() {
  local name="$1"
  shift
  local out
  local count=("--connections" "$sessions")
  [[ " $* " == *" --connections "* ]] && count=()
  out=$(taskset -c 0 dotnet "$driver" --url "$url" --mode sessions "${count[@]}" --turns "$turns" --warmup-seconds 8 "$@" 2>&1)
  echo "== $name" >&2
  grep -E "cpu per turn|turn latency|terminal waited|database grew|failed" <<< "$out" >&2
  sed -nE 's/.*cpu per turn [0-9.]+ ms \(([0-9]+) us\).*/\1/p' <<< "$out"
}

declare -A cpu=()
for r in $(seq 1 "$runs"); do
  cpu[none]="${cpu[none]:-} $(run "run $r: none")"
  cpu[sqlite]="${cpu[sqlite]:-} $(run "run $r: sqlite" --persistence sqlite --connection-string "Data Source=$work/run$r.db")"
  cpu[postgresql]="${cpu[postgresql]:-} $(run "run $r: postgresql" --persistence postgresql --connection-string "$(new_pg_database "run$r")")"
done

echo
echo "sessions tool loop, $sessions × $turns, medians of $runs runs (driver CPU per turn, us):"
none=$(median <<< "${cpu[none]}")
for mode in none sqlite postgresql; do
  m=$(median <<< "${cpu[$mode]}")
  echo "  $mode: $m us/turn (runs:${cpu[$mode]}) — $(awk -v a="$m" -v b="$none" 'BEGIN { printf "%.2f", a / b }')× none"
done

echo
echo "light load: 8 sessions × $turns turns, one run each (what a completed turn's terminal waits when the journal is not queueing):"
run "light: none" --connections 8 > /dev/null
run "light: sqlite" --connections 8 --persistence sqlite --connection-string "Data Source=$work/light.db" > /dev/null
run "light: postgresql" --connections 8 --persistence postgresql --connection-string "$(new_pg_database light)" > /dev/null

echo
echo "recovery of $recovery_turns-turn conversations (10 conversations):"
echo "== sqlite"
taskset -c 0 dotnet "$driver" --url "$url" --mode recovery --connections 10 --turns "$recovery_turns" --persistence sqlite --connection-string "Data Source=$work/recovery.db"
echo "== postgresql"
taskset -c 0 dotnet "$driver" --url "$url" --mode recovery --connections 10 --turns "$recovery_turns" --persistence postgresql --connection-string "$(new_pg_database recovery)"
