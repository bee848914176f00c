#!/usr/bin/env bash
# What one logged-in request costs, civico and PostgreSQL apart: the figures docs/CAPACITY.md rests on.
#
# Usage: bench/capacity.sh [N]   (default 2000 requests a page)
#
# Starts a PostgreSQL cluster of its own (scripts/pg-test-cluster.sh) and runs, on it, every page a
# logged-in resident opens (BenchmarkResidentPages in cmd/civico: the demo's card holder, whole
# requests through the portal's middleware chain, rendered at every request), N requests each, and
# prints per page: civico's CPU time per request (cpu-ns/op), PostgreSQL's (db-cpu-ns/op: the CPU
# its server processes for the benchmark's database spent, read from /proc, resolution 10 ms over
# the whole loop) and the queries of one request; then the sum over the pages and what one core
# of each serves per second.
set -euo pipefail

n=${1:-2000}
[[ "$n" =~ ^[0-9]+$ && "$n" -ge 100 ]] || { echo "bench/capacity.sh: N must be a number from 100" >&2; exit 2; }
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
tmp=$(mktemp -d)
cleanup() {
  scripts/pg-test-cluster.sh stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
chmod o+x "$tmp" # the cluster belongs to the postgres user when run as root
mkdir -p "$tmp/pg"
url=$(scripts/pg-test-cluster.sh start "$tmp/pg")
go test -c -o "$tmp/civico.test" ./cmd/civico

out=$(cd cmd/civico && CIVICO_TEST_POSTGRES_URL=$url "$tmp/civico.test" -test.run XXX \
  -test.bench 'ResidentPages/postgres/' -test.benchtime="${n}x" 2>&1) || { echo "$out" >&2; exit 1; }
awk '/^BenchmarkResidentPages\/postgres\// {
  name = $1; sub(/^BenchmarkResidentPages\/postgres\//, "", name); sub(/-[0-9]+$/, "", name)
  for (i = 3; i < NF; i++) {
    if ($(i+1) == "cpu-ns/op") c = $i / 1000
    if ($(i+1) == "db-cpu-ns/op") d = $i / 1000
    if ($(i+1) == "queries/op") q = $i
  }
  printf "%-16s %10.0f %14.0f %8.1f %10.0f\n", name, c, d, q, c + d
  tc += c; td += d; tq += q; pages++
}
BEGIN { printf "%-16s %10s %14s %8s %10s\n", "page", "civico µs", "PostgreSQL µs", "queries", "total µs" }
END {
  if (pages == 0) { print "no benchmark ran" > "/dev/stderr"; exit 1 }
  printf "%-16s %10.0f %14.0f %8.1f %10.0f\n", "mean of " pages, tc / pages, td / pages, tq / pages, (tc + td) / pages
  printf "one core serves %.0f requests/s of civico and %.0f of PostgreSQL (the mean page)\n", 1e6 / (tc / pages), 1e6 / (td / pages)
}' <<<"$out"
