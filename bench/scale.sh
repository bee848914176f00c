#!/usr/bin/env bash
# Several civico processes on one PostgreSQL, behind a real load balancer (scaletest/): a throwaway
# PostgreSQL, the demo town prepared on it once (`civico demo`), three `civico serve` processes on
# that one database (each on ports of its own, their public addresses HAProxy's frontends), and
# HAProxy in front (round-robin, no sticky sessions, health checks on /readyz; its configuration
# is written in the scratch folder and it runs in the foreground as the harness's child).
# It checks, each failing with its own message:
#   1. a resident logged in through HAProxy is known to every process;
#   2. single sign-on: a code issued by one process is exchanged at another (around the ring);
#   3. the mail outbox delivers exactly once (signups through HAProxy, mail to an SMTP server
#      inside the harness);
#   4. a back-channel logout is delivered exactly once;
#   5. `civico oidc rotate-keys` is in every process's JWKS at once, and every process signs
#      with the new key within the documented 30 s;
#   6. one process killed with SIGKILL under concurrent writes loses no acknowledged write, and
#      the others keep serving (the errors of the kill window are counted and printed).
# Then, unless CHECK_ONLY=1, throughput through HAProxy with 1, 2 and 3 processes (wrk -t2 -c32, a
# logged-in page and an anonymous one) with the CPU time per request, as a markdown table.
#
# Usage, from anywhere in the repository:   bench/scale.sh          (about 2 minutes)
#                                           CHECK_ONLY=1 bench/scale.sh   (CI: about 1 minute)
# Environment:
#   CHECK_ONLY           1: the checks only, no throughput (no wrk needed)
#   SCALE_POSTGRES_URL   a PostgreSQL server URL whose user may CREATE DATABASE (a fresh database
#                        is made there and dropped); without it, a throwaway cluster is started
#                        with scripts/pg-test-cluster.sh and removed afterwards
#   BENCH_DURATION       each wrk run (default 5s)
#   SCALE_ARGS           more flags for the harness (go run ./scaletest -h lists them)
# Needs Go, PostgreSQL 15's server programs, HAProxy (apt-get install -y haproxy, done here as
# root when missing) and for the throughput wrk (likewise).
# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/ci/lib.sh" scale.sh
[[ -d scaletest ]] || fail "no scaletest/ in $ci_root"

check_only=${CHECK_ONLY:-0}
duration=${BENCH_DURATION:-5s}
[[ "$duration" =~ ^[1-9][0-9]*s$ ]] || fail "BENCH_DURATION must be whole seconds such as 5s, not '$duration'"

# ---------------------------------------------------------------------------------------------
header "1/4 tools: haproxy (and wrk for the throughput)"
# HAProxy lives in /usr/sbin, which a minimal PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"
ensure_commands haproxy=haproxy
if [[ "$check_only" != 1 ]]; then
  ensure_commands wrk=wrk
fi
haproxy -v | sed -n 1p # sed reads it all: head would leave haproxy writing into a closed pipe (SIGPIPE, status 141 under pipefail)

# ---------------------------------------------------------------------------------------------
header "2/4 build the harness (scaletest/) and civico"
go build -o "$tmp/scaletest" ./scaletest ||
  fail "the scale harness does not build (errors above)" "fix scaletest/ (or what it imports: internal/db, internal/mail/mailtest)"
go build -o "$tmp/civico" ./cmd/civico ||
  fail "civico does not build (errors above): fix the build first"
echo "built $tmp/scaletest and $tmp/civico"

# ---------------------------------------------------------------------------------------------
header "3/4 PostgreSQL"
if [[ -n "${SCALE_POSTGRES_URL:-}" ]]; then
  echo "using SCALE_POSTGRES_URL (a fresh database is created on that server)"
else
  start_pg_cluster ||
    fail "scripts/pg-test-cluster.sh could not start a throwaway PostgreSQL (its message is above)" \
      "install PostgreSQL 15's server programs (apt-get install -y postgresql-15), or set SCALE_POSTGRES_URL"
  export SCALE_POSTGRES_URL=$pg_url
  echo "throwaway cluster: $SCALE_POSTGRES_URL"
fi

# ---------------------------------------------------------------------------------------------
header "4/4 three civico processes on one PostgreSQL behind HAProxy"
args=(-binary "$tmp/civico" -haproxy "$(command -v haproxy)" -bench-duration "$duration")
if [[ "$check_only" == 1 ]]; then
  args+=(-check-only)
else
  args+=(-wrk "$(command -v wrk)")
fi
# shellcheck disable=SC2206 # SCALE_ARGS is a list of flags, split on purpose
if [[ -n "${SCALE_ARGS:-}" ]]; then args+=($SCALE_ARGS); fi
status=0
"$tmp/scaletest" "${args[@]}" || status=$?
case $status in
0) ;;
2) fail "the harness refused its arguments (${args[*]}): see its message above" ;;
*)
  fail "several civico processes on one database do not behave as one (the failing check is above, with the logs' folder)" \
    "1: a session one process opened is unknown to another - sessions must be read from the database;" \
    "2: a code issued by one process is refused by another - authorization requests and codes must be in the database, and the" \
    "   processes must share CIVICO_SECRET_KEY and CIVICO_BASE_URL; 3/4: a mail or a logout token sent twice (or never) -" \
    "   the outbox's claims (SKIP LOCKED, leases) are not exclusive across processes; 5: a process caches the keys too long;" \
    "6: an acknowledged write missing or doubled after a SIGKILL, or errors once HAProxy had routed around the dead process"
  ;;
esac
