#!/usr/bin/env bash
# Clients that stop reading: N SSE clients each ask the gateway for about KIB KiB of output (the simulator's
# "LONG KIB": 16 KiB deltas, then the done events that repeat the text) and read it at 1 KiB/s. Prints the
# gateway's resident set idle and while they are stalled, and the GC heap the runtime reports on /metrics.
#   bench/stalled-clients.sh [CLIENTS=10] [KIB=12288] [SETTLE_SECONDS=15] [extra gateway arguments...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. bench/common.sh
clients="${1:-10}"
kib="${2:-12288}"
settle="${3:-15}"
shift $(( $# < 3 ? $# : 3 ))
sim_port=5299
gw_port=5288

dotnet build -c Release src/Simulator -v q -nologo > /dev/null
dotnet build -c Release src/Host -v q -nologo > /dev/null

track_processes
start_simulator "$sim_port"
start_gateway "$gw_port" "$sim_port" "$@"
gw=$gateway_pid

rss() { awk '/VmRSS/ { print int($2 / 1024) }' "/proc/$gw/status"; }
heap() { curl -s "http://127.0.0.1:$gw_port/metrics" | awk '/^dotnet_gc_last_collection_heap_size_bytes/ { s += $2 } END { print int(s / 1048576) }'; }

# One turn first, so that what is measured is the stalled turns, not the first turn's JIT and pools.
curl -s -o /dev/null -H "Authorization: Bearer sk-fantasy-dev" -H "Content-Type: application/json" \
  -d '{"model":"m","input":"hello","stream":true}' "http://127.0.0.1:$gw_port/v1/responses"
sleep 2
idle=$(rss)
for i in $(seq 1 "$clients"); do
  curl -s -o /dev/null --limit-rate 1k -N -H "Authorization: Bearer sk-fantasy-dev" -H "Content-Type: application/json" \
    -d "{\"model\":\"m\",\"input\":\"LONG $kib\",\"stream\":true,\"store\":false}" "http://127.0.0.1:$gw_port/v1/responses" &
  pids+=($!)
done
sleep "$settle"
stalled=$(rss)
echo "gateway RSS: idle ${idle} MB -> ${clients} stalled clients ${stalled} MB (+$((stalled - idle)) MB); GC heap after the last collection: $(heap) MB"
