#!/usr/bin/env bash
# Per-turn CPU, side by side: the plain socket loop, the connection actor, and the session API with the caller
# sending its whole history or chaining itself — the same tool loop (one function call per turn), the simulator
# pinned to one core and the driver to the other, runs interleaved, medians and ratios to plain printed as a table.
# TURNS may be a list ("20 50 100 200"): one table per conversation length, and every median is also written to
# bench/results/turn-length.csv (mode,turns,cpu_us_per_turn) for bench/Fantasy.Actors.Charts.
#   bench/turn-cost.sh [CONVERSATIONS=64] [TURNS=200] [RUNS=5]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. bench/common.sh
conversations="${1:-64}"
turn_counts="${2:-200}"
runs="${3:-5}"
port=5198

start_pinned_simulator "$port"

driver=bench/Fantasy.Actors.LoadDriver/bin/Release/net10.0/Fantasy.Actors.LoadDriver.dll
url="ws://127.0.0.1:$port/v1/responses"

# Prints the driver's CPU per turn in microseconds for one mode.
measure() {
  local out
  out=$(taskset -c 0 dotnet "$driver" --url "$url" --connections "$conversations" --turns "$turns" --warmup-seconds 8 "$@" 2>&1)
  if grep -q "cpu per turn" <<< "$out"; then
    sed -nE 's/.*cpu per turn [0-9.]+ ms \(([0-9]+) us\).*/\1/p' <<< "$out"
  else
    # plain / actor: "driver cpu S s, ..." over the measured turns
    sed -nE 's/^driver cpu ([0-9.]+) s,.*/\1/p' <<< "$out" | awk -v n="$((conversations * turns))" '{ printf "%d\n", $1 * 1000000 / n }'
  fi
}

mkdir -p bench/results
csv=bench/results/turn-length.csv
echo "mode,turns,cpu_us_per_turn" > "$csv"
modes=("plain" "actor" "sessions" "sessions-chained")
for turns in $turn_counts; do
  declare -A results=()
  for run in $(seq 1 "$runs"); do
    for mode in "${modes[@]}"; do
      case "$mode" in
        plain) us=$(measure --mode plain --message "CALL lookup 1") ;;
        actor) us=$(measure --mode actor --message "CALL lookup 1") ;;
        sessions) us=$(measure --mode sessions) ;;
        sessions-chained) us=$(measure --mode sessions --caller-chains) ;;
      esac
      results[$mode]="${results[$mode]:-} $us"
      echo "run $run $mode: $us us/turn" >&2
    done
  done

  plain=$(echo "${results[plain]}" | median)
  echo
  echo "| path ($conversations conversations x $turns turns, $runs runs) | CPU per turn, median (runs) | x plain |"
  echo "|---|---|---|"
  for mode in "${modes[@]}"; do
    m=$(echo "${results[$mode]}" | median)
    ratio=$(awk -v a="$m" -v b="$plain" 'BEGIN { printf "%.2f", a / b }')
    echo "| $mode | $m us (${results[$mode]# }) | $ratio |"
    echo "$mode,$turns,$m" >> "$csv"
  done
  echo
done
