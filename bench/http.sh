#!/usr/bin/env bash
# HTTP throughput of civico's pages against the machine's ceiling, a hello-world net/http server
# (bench/hello), measured with wrk on loopback.
#
# Usage: bench/http.sh [PATH...]          (default PATH: /)
#   e.g. bench/http.sh / /notizie /eventi
# Environment: DURATION (10s), CONNECTIONS (32), THREADS (2) for wrk; CIVICO_DATABASE_URL is passed
# to `civico demo` (empty: SQLite in a temporary data dir).
#
# Prints a markdown table: target, req/s, p50, p99, and req/s as a percentage of hello's.
# Target: a database-backed page should reach at least 20% of the hello-world ceiling.
#
# wrk and the servers share the machine's cores: the absolute numbers say little, the ratio to
# hello is what to compare between commits. All traffic stays on 127.0.0.1.
set -euo pipefail

duration=${DURATION:-10s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
paths=("$@")
((${#paths[@]} > 0)) || paths=(/)

die() {
  echo "bench/http.sh: error: $*" >&2
  exit 1
}

cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -f go.mod ]] || die "run from a civico checkout (no go.mod in $(pwd))"
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || die "go not found: add /usr/local/go/bin to PATH"
command -v curl >/dev/null 2>&1 || die "curl not found: apt-get install -y curl"

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk with apt-get" >&2
  if [[ "$(id -u)" == 0 ]]; then
    sudo=()
  else
    command -v sudo >/dev/null 2>&1 || die "wrk is missing and sudo is not available: install wrk as root (apt-get install -y wrk)"
    sudo=(sudo)
  fi
  # Try the package lists as they are first; refresh them only if that fails.
  if ! "${sudo[@]}" apt-get install -y -qq wrk >&2; then
    "${sudo[@]}" apt-get update -qq >&2 || die "apt-get update failed"
    "${sudo[@]}" apt-get install -y -qq wrk >&2 || die "apt-get install -y wrk failed"
  fi
  command -v wrk >/dev/null 2>&1 || die "wrk is still not on PATH after installing it"
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building civico and bench/hello" >&2
go build -o "$tmp/civico" ./cmd/civico || die "go build ./cmd/civico failed"
go build -o "$tmp/hello" ./bench/hello || die "go build ./bench/hello failed"

# free_port prints a TCP port on 127.0.0.1 that nothing listens on, below the ephemeral range.
free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((15000 + RANDOM % 17000))
    if [[ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]] && ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# wait_up URL PID LOG waits up to 30 s for URL to answer 200 while process PID lives.
wait_up() {
  local url=$1 pid=$2 log=$3 i
  for ((i = 0; i < 60; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$log" >&2
      die "the server for $url exited (log above)"
    fi
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)" == 200 ]]; then
      return 0
    fi
    sleep 0.5
  done
  tail -n 20 "$log" >&2
  die "$url did not answer 200 within 30 s"
}

portal_port=$(free_port) || die "no free port"
partecipa_port=$(free_port) || die "no free port"
hello_port=$(free_port) || die "no free port"
while [[ "$partecipa_port" == "$portal_port" ]]; do partecipa_port=$(free_port); done
while [[ "$hello_port" == "$portal_port" || "$hello_port" == "$partecipa_port" ]]; do hello_port=$(free_port); done

mkdir -p "$tmp/data"
CIVICO_DATA_DIR="$tmp/data" CIVICO_DATABASE_URL="${CIVICO_DATABASE_URL:-}" \
  CIVICO_ADDR="127.0.0.1:$portal_port" CIVICO_PARTECIPA_ADDR="127.0.0.1:$partecipa_port" \
  "$tmp/civico" demo </dev/null >"$tmp/civico.log" 2>&1 &
pids+=($!)
civico_pid=$!
"$tmp/hello" -addr "127.0.0.1:$hello_port" </dev/null >"$tmp/hello.log" 2>&1 &
pids+=($!)
hello_pid=$!

wait_up "http://127.0.0.1:$hello_port/" "$hello_pid" "$tmp/hello.log"
wait_up "http://127.0.0.1:$portal_port/healthz" "$civico_pid" "$tmp/civico.log"

# Every path must answer 200 before it is measured: a fast 404 would look like a fast page.
for p in "${paths[@]}"; do
  [[ "$p" == /* ]] || die "path '$p' must start with /"
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$portal_port$p" || true)
  [[ "$code" == 200 ]] || die "GET $p answered $code, not 200: not measuring it"
done

# to_ms converts a wrk duration (123.45us, 1.23ms, 1.05s, 2.00m) to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000; else if (u != "ms") { print "?"; exit }
    printf "%.2f", n
  }'
}

# run NAME URL runs wrk and appends "NAME rps p50ms p99ms errors" to $tmp/results.
run() {
  local name=$1 url=$2 out="$tmp/wrk-$RANDOM.txt" rps p50 p99 errors
  echo "wrk -t$threads -c$connections -d$duration --latency $url" >&2
  wrk -t"$threads" -c"$connections" -d"$duration" --latency "$url" >"$out" 2>&1 ||
    { cat "$out" >&2; die "wrk failed against $url"; }
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(awk '$1 == "50%" {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  [[ -n "$rps" && -n "$p50" && -n "$p99" ]] || { cat "$out" >&2; die "cannot read wrk's output for $url"; }
  errors=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$out")
  echo "$name $rps $(to_ms "$p50") $(to_ms "$p99") $errors" >>"$tmp/results"
  echo "  -> $rps req/s, p50 $p50, p99 $p99, errors $errors" >&2
}

: >"$tmp/results"
run hello "http://127.0.0.1:$hello_port/"
for p in "${paths[@]}"; do
  run "civico $p" "http://127.0.0.1:$portal_port$p"
done

cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
backend="SQLite"
[[ -z "${CIVICO_DATABASE_URL:-}" ]] || backend="PostgreSQL"

echo
echo "### civico HTTP benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- machine: $(nproc) cores, ${cpu:-unknown CPU}"
echo "- $(go version)"
echo "- civico version: $("$tmp/civico" version </dev/null 2>&1 | head -n 1), database: $backend"
echo "- wrk -t$threads -c$connections -d$duration --latency, all on 127.0.0.1"
echo
echo "| target | req/s | p50 | p99 | vs hello |"
echo "| --- | ---: | ---: | ---: | ---: |"
# The target name may contain spaces ("civico /notizie"): the four numbers are the last fields.
awk '{
  errors = $NF; p99 = $(NF-1); p50 = $(NF-2); rps = $(NF-3)
  name = $1; for (i = 2; i <= NF-4; i++) name = name " " $i
  if (NR == 1) ceiling = rps
  ratio = (ceiling > 0) ? sprintf("%.0f%%", 100 * rps / ceiling) : "?"
  note = (errors > 0) ? sprintf(" (%d errors)", errors) : ""
  printf "| %s%s | %.0f | %s ms | %s ms | %s |\n", name, note, rps, p50, p99, ratio
}' "$tmp/results"
echo
echo "A database-backed page should reach at least 20% of hello's req/s."
