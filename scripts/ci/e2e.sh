#!/usr/bin/env bash
# civico's browser journeys and accessibility checks (package ./e2e): the real
# binary runs `civico demo`, headless Chromium uses it as residents do, and
# axe-core checks every page against WCAG 2.1 A/AA. Run from anywhere:
#   scripts/ci/e2e.sh [extra go test flags, e.g. -run TestBrowse]
# Installs what is missing: Debian's chromium and libnss3-tools (apt-get, as
# root), axe-core (npm, pinned, cached in ${XDG_CACHE_HOME:-$HOME/.cache}/civico-e2e).
# Never downloads a browser. The two accessibility crawls, side by side,
# take most of the time: a whole run took 2m52s on 2 cores before the hijack
# journeys (about 25 s more), and 8m41s with them while other jobs kept the
# load average at 14; hence the 15-minute timeout.
#
# Settings: CIVICO_E2E_CHROMIUM (default /usr/bin/chromium),
# CIVICO_E2E_ARTIFACTS (default e2e/artifacts: screenshots, HTML and logs of
# failing tests), CIVICO_E2E_TIMEOUT (go test -timeout, default 15m).
set -euo pipefail

AXE_VERSION=4.14.1
start_time=$SECONDS
step="setup"

# fail prints what went wrong and what to fix, then stops.
fail() {
  printf '\nE2E FAILED in step "%s":\n' "$step" >&2
  printf '  %s\n' "$@" >&2
  exit 1
}
trap 'rc=$?; printf "\nE2E FAILED in step \"%s\": command at scripts/ci/e2e.sh line %s exited with status %s\n" "$step" "$LINENO" "$rc" >&2' ERR

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
[[ -f go.mod && -d e2e ]] || fail "no go.mod and e2e/ in $(pwd): the script must live in scripts/ci/ of the repository"
repo=$(pwd)

tmp=$(mktemp -d)
policy_dir=/etc/chromium/policies/managed
cleanup() {
  local rc=$?
  trap - ERR
  # The tests remove the Chromium policy they install; a test process that was
  # killed cannot. Remove the ones whose demo no longer listens.
  local f port
  for f in "$policy_dir"/civico-e2e-*.json; do
    [[ -e "$f" ]] || continue
    port=${f##*/civico-e2e-}
    port=${port%.json}
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      rm -f "$f" || true
    fi
  done
  rm -rf "$tmp"
  if ((rc == 0)); then
    printf '\nE2E passed in %ds\n' "$((SECONDS - start_time))"
  else
    printf '\nE2E failed after %ds\n' "$((SECONDS - start_time))" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT

apt_updated=""
apt_install() {
  if [[ "$(id -u)" != 0 ]]; then
    fail "missing Debian packages: $*" "install them (apt-get install -y $*) or run this script as root"
  fi
  echo "installing with apt-get: $*"
  if [[ -z "$apt_updated" ]]; then
    apt-get update -qq >"$tmp/apt.log" 2>&1 || { tail -n 20 "$tmp/apt.log" >&2; fail "apt-get update failed (see above)"; }
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>"$tmp/apt.log" 2>&1 ||
    { tail -n 20 "$tmp/apt.log" >&2; fail "apt-get install $* failed (see above)"; }
}

# ---------------------------------------------------------------------------------------------
step="prerequisites"
echo "==== e2e: prerequisites"
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || fail "go not found on PATH nor at /usr/local/go/bin/go" "install Go (the version in go.mod)"
if [[ -z "${HOME:-}" ]]; then
  HOME=$(getent passwd "$(id -u)" | cut -d: -f6)
  export HOME="${HOME:-/root}"
fi

chromium=${CIVICO_E2E_CHROMIUM:-/usr/bin/chromium}
missing=()
if [[ ! -x "$chromium" ]]; then
  [[ -n "${CIVICO_E2E_CHROMIUM:-}" ]] && fail "CIVICO_E2E_CHROMIUM=$chromium is not an executable"
  missing+=(chromium)
fi
command -v certutil >/dev/null 2>&1 && command -v pk12util >/dev/null 2>&1 || missing+=(libnss3-tools)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]} > 0)); then
  apt_install "${missing[@]}"
fi
[[ -x "$chromium" ]] || fail "no browser at $chromium after installing chromium"
echo "browser: $("$chromium" --version 2>/dev/null | head -n 1)"

# axe-core, pinned, installed once into the cache and reused.
cache=${XDG_CACHE_HOME:-$HOME/.cache}/civico-e2e/npm
axe_js="$cache/node_modules/axe-core/axe.min.js"
installed=""
if [[ -f "$cache/node_modules/axe-core/package.json" ]]; then
  installed=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$cache/node_modules/axe-core/package.json" | head -n 1)
fi
if [[ "$installed" != "$AXE_VERSION" || ! -f "$axe_js" ]]; then
  echo "installing axe-core@$AXE_VERSION with npm into $cache"
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-audit --no-fund --loglevel=error "axe-core@$AXE_VERSION" >"$tmp/npm.log" 2>&1 ||
    { tail -n 20 "$tmp/npm.log" >&2; fail "npm install axe-core@$AXE_VERSION failed (see above)" "the npm registry must be reachable, or copy axe-core into $cache"; }
fi
[[ -f "$axe_js" ]] || fail "axe-core installed, but $axe_js is missing"
echo "axe-core: $AXE_VERSION ($axe_js)"

# ---------------------------------------------------------------------------------------------
step="browser journeys and accessibility (go test ./e2e/)"
echo "==== e2e: go test ./e2e/"
artifacts=${CIVICO_E2E_ARTIFACTS:-$repo/e2e/artifacts}
if [[ -z "${CIVICO_E2E_ARTIFACTS:-}" ]]; then
  rm -rf "$artifacts" # only the default folder: what is there is from an earlier run
fi
export CIVICO_E2E=1 CIVICO_AXE_JS="$axe_js" CIVICO_E2E_ARTIFACTS="$artifacts" CIVICO_E2E_CHROMIUM="$chromium"
log="$tmp/go-test.log"
status=0
go test -count=1 -v -timeout "${CIVICO_E2E_TIMEOUT:-15m}" "$@" ./e2e/ 2>&1 | tee "$log" || status=${PIPESTATUS[0]}

skipped=$(grep -E '^\s*--- SKIP' "$log" || true)
if ((status != 0)); then
  echo "---- failures ----" >&2
  grep -E '^\s*--- FAIL|^FAIL|^panic:|\[build failed\]' "$log" >&2 || true
  fail "the browser journeys or the accessibility checks failed (go test ./e2e/, status $status): see the messages above" \
    "a journey failed: what the resident saw is in $artifacts (<Test>.png, <Test>.html, <Test>.demo.log)" \
    "TestAccessibility failed: fix the markup named under each rule (element, html, fix); the list is also in $artifacts/*.axe.txt" \
    "reproduce one test: scripts/ci/e2e.sh -run TestName"
fi
if [[ -n "$skipped" ]]; then
  echo "$skipped" >&2
  if [[ "$(id -u)" == 0 ]]; then
    fail "some tests were skipped (above) although the script runs as root with everything installed" \
      "a skip here hides a check: read its message in the log above"
  fi
  echo "warning: the tests above were skipped (not running as root)" >&2
fi
echo "e2e: $(grep -cE '^--- PASS' "$log" || true) tests passed"
