#!/usr/bin/env bash
# civico's test command: every package on SQLite, and on PostgreSQL as well
# when CIVICO_TEST_POSTGRES_URL names a server (scripts/pg-test-cluster.sh
# starts a throwaway one). Extra arguments go to `go test` (after -timeout 30m,
# so a -timeout of yours wins).
# It sets up Go as CI does (scripts/ci/lib.sh: Go found at /usr/local/go/bin,
# GOTOOLCHAIN=go1.26.10, whose earlier 1.26 releases have reachable
# standard-library vulnerabilities, caches, GOFLAGS without -mod=).
# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/ci/lib.sh" test.sh
if [ -z "${CIVICO_TEST_POSTGRES_URL:-}" ]; then
  echo "PostgreSQL runs skipped: set CIVICO_TEST_POSTGRES_URL to run them too, e.g." >&2
  echo "  export CIVICO_TEST_POSTGRES_URL=\$(scripts/pg-test-cluster.sh start /tmp/civico-pg)" >&2
else
  echo "Running every database test on SQLite and on PostgreSQL." >&2
fi
status=0
# cmd/civico builds the whole portal for each of its tests, on both engines:
# a few minutes on an idle 2-core machine, past go test's default 10 minutes
# on a loaded one. A hung test still ends, with its stack, after 30.
go test -timeout 30m "$@" ./... || status=$?
exit "$status"
