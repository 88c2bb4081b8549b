#!/usr/bin/env bash
# What reading a store:false response back from its session's journal costs, after a restart: one gateway (Release,
# embedded simulator, SQLite) records a conversation of TURNS chained store:false turns (one session), is stopped, and a
# new process on the same file answers retrieve and input_items for the last, the middle and the first response (READS
# times each, the first of them cold), then a one-off turn (no X-Session-Id) chaining from the middle response by id —
# its context read from the journal as well.
#   bench/journal-readback.sh [TURNS=200] [READS=5]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. bench/common.sh
turns="${1:-200}"
reads="${2:-5}"
port=5181
base="http://127.0.0.1:$port/v1"
key="Authorization: Bearer sk-fantasy-dev"

dotnet build -c Release src/Host -v q -nologo > /dev/null
work=$(mktemp -d /tmp/fantasy-bench-readback.XXXXXX)
gateway_pid=""
trap 'kill $gateway_pid 2> /dev/null || true; rm -rf "$work"' EXIT
start_gateway() {
  dotnet src/Host/bin/Release/net10.0/Fantasy.Actors.Host.dll --urls "http://127.0.0.1:$port" \
    --Fantasy:Persistence:Provider=Sqlite "--Fantasy:Persistence:ConnectionString=Data Source=$work/fantasy.db" > "$work/gateway.log" 2>&1 &
  gateway_pid=$!
  wait_for "http://127.0.0.1:$port/healthz"
}
stop_gateway() { kill "$gateway_pid"; wait "$gateway_pid" 2> /dev/null || true; }
id_of() { python3 -c 'import sys, json; print(json.load(sys.stdin)["id"])'; }

start_gateway
previous=""
for i in $(seq 1 "$turns"); do
  chain=""
  [ -n "$previous" ] && chain=",\"previous_response_id\":\"$previous\""
  previous=$(curl -sf "$base/responses" -H "$key" -H "X-Session-Id: long" -H "Content-Type: application/json" \
    -d "{\"model\":\"gpt-5\",\"store\":false$chain,\"input\":\"turn $i\"}" | id_of)
  [ "$i" = 1 ] && first=$previous
  [ "$i" = $((turns / 2)) ] && middle=$previous
done
last=$previous
stop_gateway
echo "recorded $turns turns: $(du -k "$work/fantasy.db" | cut -f1) KB on disk; restarting"

start_gateway
time_of() { curl -s -o "$work/answer.json" -w "%{http_code} %{time_total}" "$@" -H "$key"; }
for read in $(seq 1 "$reads"); do
  printf 'read %s:' "$read"
  printf ' input_items(turn %s, limit=100) %s s;' "$turns" "$(time_of "$base/responses/$last/input_items?limit=100")"
  printf ' retrieve turn %s %s s;' "$turns" "$(time_of "$base/responses/$last")"
  printf ' turn %s %s s;' $((turns / 2)) "$(time_of "$base/responses/$middle")"
  printf ' turn 1 %s s\n' "$(time_of "$base/responses/$first")"
done
for read in $(seq 1 3); do
  printf 'one-off turn chained from turn %s: %s s\n' $((turns / 2)) "$(time_of "$base/responses" -H "Content-Type: application/json" \
    -d "{\"model\":\"gpt-5\",\"store\":false,\"previous_response_id\":\"$middle\",\"input\":\"branch\"}")"
done
python3 -c 'import json, sys; print("its answer:", json.load(open(sys.argv[1]))["output"][0]["content"][0]["text"])' "$work/answer.json"
stop_gateway
