#!/usr/bin/env bash
# Crash durability test of the real binary (crashtest/): `civico demo` on SQLite and on PostgreSQL
# takes concurrent signup requests, registration completions (the link read from the outbox, some
# followed twice at once) and clarity ratings over HTTP while it is killed with SIGKILL at random
# moments (CRASH_KILLS times per database) and restarted on the same data; then every write it
# acknowledged must be in the database exactly once, nothing twice, each transaction's rows all
# there or none, the database intact and `civico audit verify` passing.
#
# Usage, from anywhere in the repository:   scripts/ci/crash.sh
# Environment:
#   CIVICO_CRASH_POSTGRES_URL  a PostgreSQL server URL whose user may CREATE DATABASE (each run makes
#                              a fresh database there and drops it); without it, a throwaway cluster
#                              is started with scripts/pg-test-cluster.sh and removed afterwards
#   CRASH_DBS                  which databases: "sqlite,postgres" (default), "sqlite" or "postgres"
#   CRASH_KILLS                kills per database (default 25)
#   CRASH_PAYMENT_KILLS        kills per database between a payment's gateway success and civico's commit (default 4)
#   CRASH_SEED                 repeat a run (the seed is printed by every run)
#   CRASH_ARGS                 more flags for the harness (go run ./crashtest -h lists them)
# Needs Go, and PostgreSQL 15's server programs for the PostgreSQL part. About five minutes on 2 cores (the payments
# scenario restarts civico and waits for reconciliation after each of its kills: 10-30 s each).
# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" crash.sh
[[ -d crashtest ]] || fail "no crashtest/ in $ci_root"

dbs=${CRASH_DBS:-sqlite,postgres}
kills=${CRASH_KILLS:-25}
if ! [[ "$kills" =~ ^[0-9]+$ ]] || ((kills < 1)); then
  fail "CRASH_KILLS must be a positive number, not '$kills'"
fi
payment_kills=${CRASH_PAYMENT_KILLS:-4}
if ! [[ "$payment_kills" =~ ^[0-9]+$ ]]; then
  fail "CRASH_PAYMENT_KILLS must be a number (0: no payments scenario), not '$payment_kills'"
fi

# ---------------------------------------------------------------------------------------------
header "1/3 build the harness (crashtest/) and civico"
go build -o "$tmp/crashtest" ./crashtest ||
  fail "the crash harness does not build (errors above)" "fix crashtest/ (or what it imports: internal/cf, internal/db)"
go build -o "$tmp/civico" ./cmd/civico ||
  fail "civico does not build (errors above): fix the build first"
echo "built $tmp/crashtest and $tmp/civico"

# ---------------------------------------------------------------------------------------------
header "2/3 PostgreSQL"
if [[ ",$dbs," == *",postgres,"* ]]; then
  if [[ -n "${CIVICO_CRASH_POSTGRES_URL:-}" ]]; then
    echo "using CIVICO_CRASH_POSTGRES_URL (a fresh database is created on that server)"
  else
    start_pg_cluster ||
      fail "scripts/pg-test-cluster.sh could not start a throwaway PostgreSQL (its message is above)" \
        "install PostgreSQL 15's server programs (apt-get install -y postgresql-15), or set CIVICO_CRASH_POSTGRES_URL," \
        "or run only SQLite: CRASH_DBS=sqlite $0"
    export CIVICO_CRASH_POSTGRES_URL=$pg_url
    echo "throwaway cluster: $CIVICO_CRASH_POSTGRES_URL"
  fi
else
  echo "skipped (CRASH_DBS=$dbs)"
fi

# ---------------------------------------------------------------------------------------------
header "3/3 kill, restart, check: $dbs, $kills kills and $payment_kills payment kills each"
args=(-db "$dbs" -kills "$kills" -payment-kills "$payment_kills" -binary "$tmp/civico")
if [[ -n "${CRASH_SEED:-}" ]]; then args+=(-seed "$CRASH_SEED"); fi
# shellcheck disable=SC2206 # CRASH_ARGS is a list of flags, split on purpose
if [[ -n "${CRASH_ARGS:-}" ]]; then args+=($CRASH_ARGS); fi
status=0
"$tmp/crashtest" "${args[@]}" || status=$?
case $status in
0) ;;
2) fail "the harness refused its arguments (${args[*]}): see its message above" ;;
*)
  fail "civico lost or duplicated acknowledged writes, or broke its database, across SIGKILLs (details above)" \
    "'acknowledged but not in the database': a handler answered before its transaction committed -" \
    "  look for a response written before DB.Tx/ExecContext returns, or a write moved to a goroutine;" \
    "'in the database N times': a write applied twice (a retry, or a non-idempotent replay at start);" \
    "'torn', 'N audit entries/sessions, want 1', 'and so is its registration link': a signup's or a" \
    "  completion's writes are not in one transaction; 'completed N times': a link made two accounts or two 303s;" \
    "'acknowledged ... but afterwards: 0 mails': a signup answered before its mail was committed;" \
    "integrity or 'civico audit verify' failures: the database or the audit chain is damaged after a crash;" \
    "'exited while starting': civico does not start again on the crashed data (its log is printed above)." \
    "payments: 'reconciliation did not settle it': an attempt the gateway had paid stayed in payment after the restart -" \
    "  look at Service.Reconcile and the reconciliation job (CIVICO_PAYMENTS_RECONCILE_AFTER); 'N receipts, N settlements':" \
    "  a payment settled twice or half (settleTx is one transaction, idempotent per attempt); 'does not balance': civico payments report;" \
    "repeat exactly: CRASH_SEED=<seed printed above> CRASH_DBS=<database> $0"
  ;;
esac
