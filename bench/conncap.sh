#!/usr/bin/env bash
# What the connection caps (CIVICO_MAX_CONNS, CIVICO_MAX_CONNS_PER_CLIENT) cost: civico built from
# the working tree against civico built from BASE, the commit before the caps, both serving the demo
# town, measured with wrk in alternating runs (the machine's noise falls on both alike). Each path is
# measured with kept-alive connections, as browsers and proxies use them, and with a new connection
# for every request (wrk -H "Connection: close"), where the caps do their work at accept and close.
#
# Usage: bench/conncap.sh [BASE]     (default: the parent of the commit that added internal/web/conns.go)
# Environment: ROUNDS (3), DURATION (8s), CONNECTIONS (32, under the per-client cap of 128), PATHS ("/healthz /").
# Prints one line per run, then a markdown table of the medians.
set -euo pipefail

rounds=${ROUNDS:-3}
duration=${DURATION:-8s}
connections=${CONNECTIONS:-32}
read -r -a paths <<<"${PATHS:-/healthz /}"

die() {
  echo "bench/conncap.sh: error: $*" >&2
  exit 1
}

cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -f go.mod ]] || die "run from a civico checkout"
command -v wrk >/dev/null 2>&1 || die "wrk is missing: apt-get install -y wrk"
base=${1:-$(git log --diff-filter=A --format=%H -- internal/web/conns.go | tail -n 1)^}
base=$(git rev-parse --short "$base") || die "unknown commit $base"

tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building civico at $base (base) and from the working tree (caps)" >&2
mkdir -p "$tmp/src"
git archive "$base" | tar -x -C "$tmp/src"
(cd "$tmp/src" && CGO_ENABLED=0 go build -o "$tmp/civico-base" ./cmd/civico) || die "building $base failed"
CGO_ENABLED=0 go build -o "$tmp/civico-caps" ./cmd/civico || die "building the working tree failed"

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

declare -A port
for v in base caps; do
  port[$v]=$(free_port) || die "no free port"
  mkdir -p "$tmp/data-$v"
  env -u CIVICO_DATABASE_URL CIVICO_DATA_DIR="$tmp/data-$v" CIVICO_ACCESS_LOG=false \
    CIVICO_ADDR="127.0.0.1:${port[$v]}" CIVICO_PARTECIPA_ADDR="127.0.0.1:$(free_port)" \
    CIVICO_TLS_ADDR="127.0.0.1:$(free_port)" CIVICO_METRICS_ADDR="127.0.0.1:$(free_port)" \
    "$tmp/civico-$v" demo </dev/null >"$tmp/$v.log" 2>&1 &
  pids+=($!)
  for ((i = 0; i < 60; i++)); do
    curl -fs -o /dev/null "http://127.0.0.1:${port[$v]}/healthz" && break
    kill -0 "${pids[-1]}" 2>/dev/null || { tail -n 20 "$tmp/$v.log" >&2; die "civico ($v) exited"; }
    sleep 0.5
  done
done

results="$tmp/results"
for ((round = 1; round <= rounds; round++)); do
  for mode in keep-alive new-connection; do
    for path in "${paths[@]}"; do
      for v in base caps; do
        hdr=()
        [[ $mode == new-connection ]] && hdr=(-H "Connection: close")
        out=$(wrk -t2 -c"$connections" -d"$duration" --latency "${hdr[@]}" "http://127.0.0.1:${port[$v]}$path")
        rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
        errors=$(grep -o 'Socket errors.*' <<<"$out" || true)
        echo "round $round: $mode $path $v: $rps req/s, p50 $p50, p99 $p99 $errors" >&2
        echo "$mode $path $v $rps" >>"$results"
      done
    done
  done
done

echo
echo "Medians of $rounds runs of wrk -t2 -c$connections -d$duration; base is $base."
echo
echo "| connections | path | base req/s | caps req/s | caps / base |"
echo "| --- | --- | ---: | ---: | ---: |"
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
for mode in keep-alive new-connection; do
  for path in "${paths[@]}"; do
    b=$(awk -v m="$mode" -v p="$path" '$1 == m && $2 == p && $3 == "base" {print $4}' "$results" | median)
    c=$(awk -v m="$mode" -v p="$path" '$1 == m && $2 == p && $3 == "caps" {print $4}' "$results" | median)
    printf '| %s | %s | %.0f | %.0f | %.0f%% |\n' "$mode" "$path" "$b" "$c" "$(awk -v b="$b" -v c="$c" 'BEGIN {print 100 * c / b}')"
  done
done
