#!/usr/bin/env bash
# How fast `civico serve` is ready on an existing database, and how much memory it holds idle.
#
# Usage: bench/start.sh [RUNS]   (default 7)
# Environment: DB=sqlite (default) or postgres (a throwaway cluster, scripts/pg-test-cluster.sh);
#              IDLE (5): seconds to wait after ready before reading the idle RSS.
#
# Prepares a database once with `civico demo` (the demo town: catalogue, contents, accounts,
# payments), stops it, then RUNS times: starts `civico serve` on it and measures the time from the
# start of the process to the first 200 of /readyz (the database reached, every listener open),
# polled every 5 ms, and the CPU time it used until then, then the process's resident memory (VmRSS) after IDLE seconds of idleness,
# and its peak (VmHWM). Prints each run and the medians.
# Targets (issue "Fast for the logged-in resident"): ready in under 1 s, idle RSS under 60 MB.
set -euo pipefail

runs=${1:-7}
idle=${IDLE:-5}
dbkind=${DB:-sqlite}

die() {
  echo "bench/start.sh: error: $*" >&2
  exit 1
}

cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -f go.mod ]] || die "run from a civico checkout"
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
command -v curl >/dev/null 2>&1 || die "curl not found"
[[ "$runs" =~ ^[0-9]+$ && "$runs" -ge 1 ]] || die "RUNS must be a positive number"

tmp=$(mktemp -d)
pid=""
pgdir=""
cleanup() {
  [[ -z "$pid" ]] || { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  [[ -z "$pgdir" ]] || scripts/pg-test-cluster.sh stop "$pgdir" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building civico" >&2
go build -o "$tmp/civico" ./cmd/civico || die "go build failed"

port=$((20000 + RANDOM % 10000))
export CIVICO_DATA_DIR="$tmp/data" CIVICO_ADDR="127.0.0.1:$port" CIVICO_PARTECIPA_ADDR="127.0.0.1:$((port + 1))"
export CIVICO_METRICS_ADDR="127.0.0.1:$((port + 3))" CIVICO_ACCESS_LOG=false
backend=SQLite
if [[ "$dbkind" == postgres ]]; then
  pgdir="$tmp/pg"
  # Run as root, the cluster belongs to the postgres user, who must reach it.
  chmod o+x "$tmp"
  CIVICO_DATABASE_URL=$(scripts/pg-test-cluster.sh start "$pgdir") || die "cannot start PostgreSQL"
  export CIVICO_DATABASE_URL
  backend="PostgreSQL (local throwaway cluster)"
fi

# wait_ready PID prints the milliseconds from $t0 to the first 200 of /readyz.
wait_ready() {
  local i
  for ((i = 0; i < 6000; i++)); do
    kill -0 "$1" 2>/dev/null || { tail -n 20 "$tmp/log" >&2; die "civico exited"; }
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/readyz" || true)" == 200 ]]; then
      echo $((($(date +%s%N) - t0) / 1000000))
      return 0
    fi
    sleep 0.005
  done
  die "not ready within 30 s"
}

echo "preparing the demo database ($backend)" >&2
t0=$(date +%s%N)
CIVICO_TLS_ADDR="127.0.0.1:$((port + 2))" "$tmp/civico" demo </dev/null >"$tmp/log" 2>&1 &
pid=$!
wait_ready "$pid" >/dev/null
# The demo's secret key and TLS files stay in the data dir: serve needs the key.
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
pid=""
# serve needs the settings the demo fills in by itself.
export CIVICO_SECRET_KEY_FILE="$tmp/data/demo-secret.key"
[[ -f "$CIVICO_SECRET_KEY_FILE" ]] || die "the demo left no secret key at $CIVICO_SECRET_KEY_FILE"

: >"$tmp/results"
for ((r = 1; r <= runs; r++)); do
  t0=$(date +%s%N)
  "$tmp/civico" serve </dev/null >"$tmp/log" 2>&1 &
  pid=$!
  ms=$(wait_ready "$pid")
  # The CPU the process used until ready (user + system, in clock ticks): on a loaded machine
  # the wall-clock time includes waiting for a core.
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15) * 1000 / hz}' "/proc/$pid/stat")
  sleep "$idle"
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
  echo "run $r: ready in $ms ms ($cpu ms of CPU), idle RSS $((rss / 1024)) MiB, peak $((hwm / 1024)) MiB" >&2
  echo "$ms $rss $hwm $cpu" >>"$tmp/results"
done

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
echo
echo "### civico serve: start and idle memory, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- machine: $(nproc) cores; $(go version); database: $backend, the demo town"
echo "- $runs runs; ready = first 200 of /readyz after the process starts; idle = ${idle} s after ready"
echo
echo "| figure | median | min | max |"
echo "| --- | ---: | ---: | ---: |"
for col in 1 4 2 3; do
  name=("" "ready (ms)" "idle RSS (MiB)" "peak RSS (MiB)" "CPU until ready (ms)")
  vals=$(awk -v c="$col" '{v = $c; if (c == 2 || c == 3) v = v / 1024; printf "%.1f\n", v}' "$tmp/results")
  printf "| %s | %s | %s | %s |\n" "${name[$col]}" "$(median <<<"$vals")" "$(sort -n <<<"$vals" | head -n 1)" "$(sort -n <<<"$vals" | tail -n 1)"
done
