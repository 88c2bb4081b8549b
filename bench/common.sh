# Shared by the bench scripts (sourced): medians of a list of numbers, waiting for a local endpoint.

# Prints the median of the whitespace-separated numbers on stdin (integer).
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

# Waits up to 20 s for URL to answer.
wait_for() {
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.2
  done
  echo "nothing answers at $1" >&2
  return 1
}

# Builds the simulator and the load driver (Release), then starts the simulator on core 1 alone (one processor) on
# port $1, stops it when the script exits, and waits until it answers. Sets DOTNET_TC_CallCountingDelayMs=0 for
# what runs after (optimised code without tiered compilation's quiet period; see RESULTS.md).
start_pinned_simulator() {
  dotnet build -c Release src/Simulator -v q -nologo > /dev/null
  dotnet build -c Release bench/Fantasy.Actors.LoadDriver -v q -nologo > /dev/null
  export DOTNET_TC_CallCountingDelayMs=0
  DOTNET_PROCESSOR_COUNT=1 taskset -c 1 dotnet src/Simulator/bin/Release/net10.0/Fantasy.Actors.Simulator.dll --port "$1" > /dev/null 2>&1 &
  simulator_pid=$!
  trap 'kill $simulator_pid 2> /dev/null || true' EXIT
  wait_for "http://127.0.0.1:$1/_stats"
}

# Processes started by the helpers below; they are stopped when the script exits (call track_processes first).
track_processes() {
  pids=()
  trap 'for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done' EXIT
}

# Starts the standalone simulator (Release, built already) on port $1 and waits until it answers.
start_simulator() {
  dotnet src/Simulator/bin/Release/net10.0/Fantasy.Actors.Simulator.dll --port "$1" > /dev/null 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$1/_stats"
}

# Starts a fresh gateway (Release, built already) on port $1 in front of the simulator on port $2 (conversations in
# memory unless GATEWAY_PERSISTENCE names a provider: the figures of the other scripts are without persistence), with any further
# arguments; sets gateway_pid and waits until it answers.
start_gateway() {
  local port="$1" upstream="$2"
  shift 2
  dotnet src/Host/bin/Release/net10.0/Fantasy.Actors.Host.dll --urls "http://127.0.0.1:$port" \
    --Fantasy:Upstream:BaseUrl="http://127.0.0.1:$upstream/v1" --Fantasy:Upstream:ApiKey=sk-bench \
    --Fantasy:Persistence:Provider="${GATEWAY_PERSISTENCE:-None}" "$@" > /dev/null 2>&1 &
  gateway_pid=$!
  pids+=($gateway_pid)
  wait_for "http://127.0.0.1:$port/healthz"
}

# As start_gateway, on core 0 alone, logging warnings only.
start_pinned_gateway() {
  local port="$1" upstream="$2"
  shift 2
  taskset -c 0 dotnet src/Host/bin/Release/net10.0/Fantasy.Actors.Host.dll --urls "http://127.0.0.1:$port" \
    --Fantasy:Upstream:BaseUrl="http://127.0.0.1:$upstream/v1" --Fantasy:Upstream:ApiKey=sk-bench \
    --Fantasy:Persistence:Provider="${GATEWAY_PERSISTENCE:-None}" --Fantasy:Logging:MinimumLevel=Warning "$@" > /dev/null 2>&1 &
  gateway_pid=$!
  pids+=($gateway_pid)
  wait_for "http://127.0.0.1:$port/healthz"
}

# Starts a throwaway PostgreSQL server of the machine's own (initdb in a temp directory, trust authentication, a
# free loopback port; as root through runuser -u postgres) and sets pg_connection; it is stopped when the script
# exits (call track_processes first; pg_dir is removed then).
start_postgres() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -1)
  [ -x "$bin/initdb" ] || { echo "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin" >&2; return 1; }
  pg_dir=$(mktemp -d /tmp/fantasy-bench-pg.XXXXXX)
  local port as=()
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$pg_dir"; as=(runuser -u postgres --); fi
  "${as[@]}" "$bin/initdb" -D "$pg_dir/data" -A trust -U postgres -E UTF8 --no-sync > /dev/null
  "${as[@]}" "$bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w -o "-c listen_addresses=127.0.0.1 -p $port -k $pg_dir -c fsync=on" start > /dev/null
  pg_stop=("${as[@]}" "$bin/pg_ctl" -D "$pg_dir/data" -m immediate stop)
  trap '"${pg_stop[@]}" > /dev/null 2>&1 || true; rm -rf "$pg_dir"; for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done' EXIT
  pg_port=$port
  pg_bin=$bin
  pg_connection="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres;Pooling=true"
}

# A new empty database on the throwaway server; prints its connection string.
new_pg_database() {
  "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres "$1"
  echo "Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=$1;Pooling=true"
}
