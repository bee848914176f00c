# shellcheck shell=bash
# The one preamble of civico's CI: .ci/run, scripts/test.sh and every scripts/ci/*.sh source this
# file first, so that each of them still runs alone, from anywhere:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" NAME     (NAME says who speaks: "CI", "fuzz.sh"...)
# Sourcing it:
#   - turns on bash's strict mode (set -euo pipefail) and moves to the repository's root ($ci_root);
#   - finds Go (on PATH, else /usr/local/go/bin), pins GOTOOLCHAIN (below), fills in HOME, GOCACHE
#     and GOMODCACHE when they are missing, and drops any -mod= from GOFLAGS;
#   - makes a scratch folder, $tmp, removed at exit with whatever was registered with on_exit;
#   - says at exit "NAME passed in Ns" or "NAME failed after Ns", and, when a command fails without
#     an explicit check, where (file, line, status).
# It gives: header and fail (steps and their durations, failures that say what to fix), on_exit,
# ensure_commands and apt_install (Debian packages, as root), free_port and check_ports_free (TCP
# ports on 127.0.0.1), status_of, wait_healthy and stop_pid (a server under test), go_outside, and
# $ci_cache (tools kept between runs: CIVICO_TOOLS_CACHE, default ~/.cache/civico-ci).
# Nothing here prints unless something fails: .ci/run prints the toolchain it found.
set -euo pipefail

ci_name=${1:-${0##*/}}
ci_start=$SECONDS
ci_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
step="setup"

# fail prints what went wrong and what to fix, one argument a line, then stops.
fail() {
  printf '\n%s FAILED in step "%s":\n' "$ci_name" "$step" >&2
  printf '  %s\n' "$@" >&2
  exit 1
}

# Any command failing without an explicit check still says where the script stopped.
ci_on_err() {
  printf '\n%s FAILED in step "%s": command at %s line %s exited with status %s\n' \
    "$ci_name" "$step" "${2#"$ci_root"/}" "$3" "$1" >&2
}
trap 'ci_on_err $? "${BASH_SOURCE[0]:-?}" "$LINENO"' ERR

cd "$ci_root"
[[ -f go.mod ]] || fail "no go.mod in $ci_root: scripts/ci/lib.sh must live in scripts/ci/ of the repository"

# ---------------------------------------------------------------------------------------------
# Steps and their durations. header NAME closes the step running (printing how long it took)
# and opens NAME; ci_steps and ci_step_secs keep every closed step, for .ci/run's table.
ci_steps=()
ci_step_secs=()
ci_step_start=""

# fmt_secs N prints N seconds as 42s, 3m05s or 1h02m03s.
fmt_secs() {
  local s=$1
  if ((s >= 3600)); then
    printf '%dh%02dm%02ds' $((s / 3600)) $((s % 3600 / 60)) $((s % 60))
  elif ((s >= 60)); then
    printf '%dm%02ds' $((s / 60)) $((s % 60))
  else
    printf '%ds' "$s"
  fi
}

end_step() {
  [[ -n "$ci_step_start" ]] || return 0
  local d=$((SECONDS - ci_step_start))
  ci_steps+=("$step")
  ci_step_secs+=("$d")
  ci_step_start=""
  printf -- '---- %s: %s took %s ----\n' "$ci_name" "$step" "$(fmt_secs "$d")"
}

header() {
  end_step
  step=$1
  ci_step_start=$SECONDS
  printf '\n==== %s [%s +%s] %s ====\n' "$ci_name" "$(date -u +%H:%M:%S)" "$(fmt_secs $((SECONDS - ci_start)))" "$step"
}

# ---------------------------------------------------------------------------------------------
# Scratch space and what to undo at exit. on_exit FUNCTION registers a function to run at exit
# (the last registered first, failures ignored); ci_rc holds the exit status while they run.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/civico-ci.XXXXXX")
ci_exit_hooks=()
ci_rc=0
on_exit() { ci_exit_hooks+=("$1"); }
ci_exit() {
  ci_rc=$?
  trap - ERR
  set +e
  local i
  for ((i = ${#ci_exit_hooks[@]} - 1; i >= 0; i--)); do
    "${ci_exit_hooks[i]}"
  done
  rm -rf "$tmp"
  if ((ci_rc == 0)); then
    printf '\n%s passed in %s\n' "$ci_name" "$(fmt_secs $((SECONDS - ci_start)))"
  else
    printf '\n%s failed after %s\n' "$ci_name" "$(fmt_secs $((SECONDS - ci_start)))" >&2
  fi
  exit "$ci_rc"
}
trap ci_exit EXIT

# ---------------------------------------------------------------------------------------------
# Go. CI and the scripts build and test with Go 1.26.10: it fixes standard-library
# vulnerabilities that govulncheck finds reachable in 1.26.8 (net/http, crypto/tls, crypto/x509,
# html/template). The go command fetches that toolchain from the module proxy once (about 76 MB).
export GOTOOLCHAIN=go1.26.10
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 ||
  fail "go not found on PATH nor at /usr/local/go/bin/go" "install Go (the version in go.mod) at /usr/local/go and add /usr/local/go/bin to PATH"
# Go needs a home for its caches: keep whatever is configured, only fill in what is missing.
if [[ -z "${HOME:-}" ]]; then
  HOME=$(getent passwd "$(id -u)" | cut -d: -f6)
  export HOME="${HOME:-/root}"
fi
if [[ -z "$(go env GOCACHE 2>/dev/null)" ]]; then
  export GOCACHE="${TMPDIR:-/tmp}/civico-ci-cache/go-build"
fi
if [[ -z "$(go env GOMODCACHE 2>/dev/null)" ]]; then
  export GOMODCACHE="${TMPDIR:-/tmp}/civico-ci-cache/gomod"
fi
# CI builds with the committed go.mod and go.sum as they are: drop any -mod= from GOFLAGS (Go's
# default for a module without vendor/ is -mod=readonly, which fails on a stale go.sum; and
# `go install pkg@version` refuses most -mod= values).
ci_goflags=$(go env GOFLAGS)
if [[ "$ci_goflags" == *-mod=* ]]; then
  ci_cleaned=""
  for ci_f in $ci_goflags; do
    [[ "$ci_f" == -mod=* ]] || ci_cleaned="$ci_cleaned $ci_f"
  done
  export GOFLAGS="${ci_cleaned# }"
  unset ci_cleaned ci_f
fi

# go_outside CMD... runs CMD (go install, go mod download) outside the module, so that it never
# reads or touches go.mod and go.sum.
go_outside() { (cd "$tmp" && GOWORK=off "$@"); }

# Where tools, browsers' helpers and databases are kept between runs.
# shellcheck disable=SC2034 # for the scripts that source this file
ci_cache=${CIVICO_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/civico-ci}

# ---------------------------------------------------------------------------------------------
# Debian packages. apt_install PKG... installs them (as root; apt-get update once per script).
ci_apt_updated=""
apt_install() {
  if [[ "$(id -u)" != 0 ]]; then
    fail "missing Debian packages: $*" "install them (apt-get install -y $*) or run this as root"
  fi
  echo "installing with apt-get: $*"
  if [[ -z "$ci_apt_updated" ]]; then
    apt-get update -qq >"$tmp/apt.log" 2>&1 || { tail -n 20 "$tmp/apt.log" >&2; fail "apt-get update failed (see above)"; }
    ci_apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>"$tmp/apt.log" 2>&1 ||
    { tail -n 20 "$tmp/apt.log" >&2; fail "apt-get install $* failed (see above)"; }
}

# ensure_commands CMD=PACKAGE... installs, in one apt-get run, the packages whose command (a name
# on PATH, or an absolute path) is missing.
ensure_commands() {
  local pair missing=()
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
  done
  if ((${#missing[@]} > 0)); then
    apt_install "${missing[@]}"
  fi
}

# ---------------------------------------------------------------------------------------------
# TCP ports on 127.0.0.1. port_in_use P: something listens on P (ss, else a connection attempt).
port_in_use() {
  if command -v ss >/dev/null 2>&1 && [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]; then
    return 0
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port prints a port that nothing listens on and that this script has not handed out yet,
# below the kernel's ephemeral range (32768 and up), where connections' own ports come from.
# Call it as p=$(free_port): the ports handed out are remembered in a file, as $(...) is a subshell.
free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((15000 + RANDOM % 17000))
    grep -qx "$p" "$tmp/ports" 2>/dev/null && continue
    if ! port_in_use "$p"; then
      echo "$p" >>"$tmp/ports"
      echo "$p"
      return 0
    fi
  done
  fail "found no free TCP port on 127.0.0.1"
}

# check_ports_free WHAT=PORT... fails unless every port is still free: call it right before
# starting what listens on them (a port picked earlier may have been taken since).
check_ports_free() {
  local pair
  for pair in "$@"; do
    if port_in_use "${pair#*=}"; then
      fail "port ${pair#*=}, picked for ${pair%%=*}, was taken by another process before it could be used:" \
        "$(ss -Hltnp "sport = :${pair#*=}" 2>/dev/null || true)" \
        "another job on this machine raced for it: run again (each run picks new random ports)"
    fi
  done
}

# ---------------------------------------------------------------------------------------------
# A throwaway PostgreSQL cluster (scripts/pg-test-cluster.sh), removed at exit.
# start_pg_cluster sets pg_url to its URL; returns non-zero (the reason on stderr) when it cannot.
ci_pgdir=""
stop_pg_cluster() {
  if [[ -n "$ci_pgdir" ]]; then
    "$ci_root/scripts/pg-test-cluster.sh" stop "$ci_pgdir" >/dev/null 2>&1
    rm -rf "$ci_pgdir"
    ci_pgdir=""
  fi
}
# shellcheck disable=SC2034 # pg_url is for the caller
start_pg_cluster() {
  ci_pgdir=$(mktemp -d "${TMPDIR:-/tmp}/civico-pg.XXXXXX")
  on_exit stop_pg_cluster
  pg_url=$("$ci_root/scripts/pg-test-cluster.sh" start "$ci_pgdir")
}

# ---------------------------------------------------------------------------------------------
# A server under test.
# status_of URL [curl options...] prints the HTTP status code (000 when there is no answer).
status_of() {
  local url=$1
  shift
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" "$url" || true
}

# wait_healthy URL PID [WHAT] waits up to 30 s for URL to answer 200 while process PID runs.
# Prints how long it took; otherwise returns 1 with the reason in $wait_error.
# shellcheck disable=SC2034 # wait_error is for the caller
wait_healthy() {
  local url=$1 pid=$2 what=${3:-the server} i
  wait_error=""
  for ((i = 0; i < 60; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait_error="$what exited before answering $url"
      return 1
    fi
    if [[ "$(status_of "$url" --max-time 2)" == 200 ]]; then
      echo "$url: 200 after $((i / 2)) s"
      return 0
    fi
    sleep 0.5
  done
  wait_error="$what did not answer 200 on $url within 30 s"
  return 1
}

# stop_pid PID: SIGTERM, then SIGKILL after 5 s; reaps it. Nothing when PID is empty or gone.
stop_pid() {
  local pid=${1:-} i
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
