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
