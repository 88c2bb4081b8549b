#!/usr/bin/env bash
# A shared upstream budget under load: tenants a, b, c (weights 1:1:2) with CONVERSATIONS conversations each send turns
# back to back through one gateway for SECONDS, against a simulator whose organization allows RPM requests a minute
# (6000 = 100/s, far below what they offer); a fourth tenant "capped" (RequestsPerMinute 60 at the gateway, MaxWait 0)
# runs 5 conversations beside them. The driver prints the upstream's admitted and refused requests, each tenant's
# completed turns (whole run and steady part, after the simulator's full starting bucket is spent), the gateway's own
# 429s and any upstream 429 a client saw. RATE_LIMITS=off runs the same with the shared budget off (each session alone).
#   bench/rate-limits.sh [CONVERSATIONS=50] [SECONDS=40] [RPM=6000] [STEADY_AFTER=15]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. bench/common.sh
conversations="${1:-50}"
seconds="${2:-40}"
rpm="${3:-6000}"
steady="${4:-15}"
sim_port=5297
gw_port=5289

dotnet build -c Release src/Simulator -v q -nologo > /dev/null
dotnet build -c Release src/Host -v q -nologo > /dev/null
dotnet build -c Release bench/Fantasy.Actors.LoadDriver -v q -nologo > /dev/null

track_processes
taskset -c 1 dotnet src/Simulator/bin/Release/net10.0/Fantasy.Actors.Simulator.dll --port "$sim_port" --requests-per-minute "$rpm" > /dev/null 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$sim_port/_stats"

hocon=()
if [ "${RATE_LIMITS:-on}" = off ]; then hocon=(--Fantasy:Hocon="fantasy.rate-limits.enabled = off"); fi
start_pinned_gateway "$gw_port" "$sim_port" \
  --Fantasy:Tenants:a:Keys:0=sk-a --Fantasy:Tenants:b:Keys:0=sk-b \
  --Fantasy:Tenants:c:Keys:0=sk-c --Fantasy:Tenants:c:Weight=2 \
  --Fantasy:Tenants:capped:Keys:0=sk-capped --Fantasy:Tenants:capped:Limits:RequestsPerMinute=60 --Fantasy:Tenants:capped:Limits:MaxWait=00:00:00 \
  --Fantasy:Gateway:WarmUp=false "${hocon[@]}"

dotnet bench/Fantasy.Actors.LoadDriver/bin/Release/net10.0/Fantasy.Actors.LoadDriver.dll --mode rate-limits \
  --gateway "http://127.0.0.1:$gw_port/v1/" --stats "http://127.0.0.1:$sim_port/_stats" \
  --tenants "a=sk-a=$conversations,b=sk-b=$conversations,c=sk-c=$conversations,capped=sk-capped=5" \
  --seconds "$seconds" --steady-after "$steady"
