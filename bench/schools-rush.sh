#!/usr/bin/env bash
# The school enrolment's rush (issue 19): 10,000 parents press "send" at the same instant for
# 1,000 places, on SQLite and on PostgreSQL (BenchmarkRush in internal/schools: the store's
# Enrol as the portal calls it, each enrolment with its mail in the outbox).
#
# Usage: bench/schools-rush.sh [RUNS]   (default 3 rushes on each database)
#
# Uses CIVICO_TEST_POSTGRES_URL when set, otherwise starts a PostgreSQL cluster of its own
# (scripts/pg-test-cluster.sh). Prints per database and run: the accepted writes per second
# (the 1,000 places over the time until the last was given: the places go to the first writes
# committed), the answers per second (every submission is a committed
# write: accepted, or a place on the waiting list), civico's CPU per answer (SQLite runs inside
# civico; PostgreSQL's server is not counted) and the p99 of one parent's wait for the answer,
# which for a burst started in one instant is the burst's length. Each run also checks that
# exactly 1,000 were accepted.
set -euo pipefail

runs=${1:-3}
[[ "$runs" =~ ^[0-9]+$ && "$runs" -ge 1 ]] || { echo "bench/schools-rush.sh: RUNS must be a number from 1" >&2; exit 2; }
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
tmp=$(mktemp -d)
cleanup() {
  [[ -d "$tmp/pg" ]] && scripts/pg-test-cluster.sh stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
url=${CIVICO_TEST_POSTGRES_URL:-}
if [[ -z "$url" ]]; then
  chmod o+x "$tmp" # the cluster belongs to the postgres user when run as root
  mkdir -p "$tmp/pg"
  url=$(scripts/pg-test-cluster.sh start "$tmp/pg")
fi
go test -c -o "$tmp/schools.test" ./internal/schools

out=$(cd internal/schools && CIVICO_TEST_POSTGRES_URL=$url "$tmp/schools.test" -test.run XXX \
  -test.bench 'Rush' -test.benchtime=1x -test.count="$runs" 2>&1) || { echo "$out" >&2; exit 1; }
awk '/^BenchmarkRush\// {
  name = $1; sub(/^BenchmarkRush\//, "", name); sub(/-[0-9]+$/, "", name)
  for (i = 3; i < NF; i++) {
    if ($(i+1) == "accepted/s") a = $i
    if ($(i+1) == "answers/s") w = $i
    if ($(i+1) == "cpu-µs/answer") c = $i
    if ($(i+1) == "p99-ms") p = $i
  }
  printf "%-10s %12.0f %12.0f %16.0f %10.0f\n", name, a, w, c, p
  n++
}
BEGIN { printf "%-10s %12s %12s %16s %10s\n", "database", "accepted/s", "answers/s", "cpu µs/answer", "p99 ms" }
END { if (n == 0) { print "no benchmark ran" > "/dev/stderr"; exit 1 } }' <<<"$out"
uptime
