#!/usr/bin/env bash
# civico's test command: every package on SQLite, and on PostgreSQL as well
# when CIVICO_TEST_POSTGRES_URL names a server (scripts/pg-test-cluster.sh
# starts a throwaway one). Extra arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
# go.mod names Go 1.26.10 (earlier 1.26 releases have reachable standard-library
# vulnerabilities); a machine whose go.env says GOTOOLCHAIN=local would refuse to
# build, so let the go command fetch that version when the installed one is older.
if [ "$(go env GOTOOLCHAIN)" = local ]; then export GOTOOLCHAIN=auto; fi
if [ -z "${CIVICO_TEST_POSTGRES_URL:-}" ]; then
  echo "PostgreSQL runs skipped: set CIVICO_TEST_POSTGRES_URL to run them too, e.g." >&2
  echo "  export CIVICO_TEST_POSTGRES_URL=\$(scripts/pg-test-cluster.sh start /tmp/civico-pg)" >&2
else
  echo "Running every database test on SQLite and on PostgreSQL." >&2
fi
exec go test "$@" ./...
