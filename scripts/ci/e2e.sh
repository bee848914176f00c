#!/usr/bin/env bash
# civico's browser journeys and accessibility checks (package ./e2e): the real
# binary runs `civico demo`, headless Chromium uses it as residents do, and
# axe-core checks every page against WCAG 2.1 A/AA. Run from anywhere:
#   scripts/ci/e2e.sh [extra go test flags, e.g. -run TestBrowse]
# Installs what is missing: Debian's chromium and libnss3-tools (apt-get, as
# root), axe-core (npm, pinned, cached in ~/.cache/civico-ci/e2e-npm, see lib.sh).
# Never downloads a browser. The two accessibility crawls, side by side,
# take most of the time: a whole run took 2m52s on 2 cores before the hijack
# journeys (about 25 s more), and 8m41s with them while other jobs kept the
# load average at 14; hence the 15-minute timeout.
#
# Settings: CIVICO_E2E_CHROMIUM (default /usr/bin/chromium),
# CIVICO_E2E_ARTIFACTS (default e2e/artifacts: screenshots, HTML and logs of
# failing tests), CIVICO_E2E_TIMEOUT (go test -timeout, default 25m).
#
# Any skipped test fails the script, whoever runs it: a skip here is a check that did not run (the
# smart-card journey, for one, skips when it cannot write Chromium's policy, i.e. without root).
# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" e2e.sh

AXE_VERSION=4.14.1
[[ -d e2e ]] || fail "no e2e/ in $ci_root"
repo=$ci_root

policy_dir=/etc/chromium/policies/managed
# The tests used to install a Chromium policy file per port (now one shared file, civico-e2e.json, which they
# prune themselves); a test process that was killed cannot remove its file, and a stale file that sorts after
# the current one would override it (Chromium does not merge a policy across files): remove them, before and after.
# Remove the ones whose demo no longer listens.
remove_stale_policies() {
  local f port
  for f in "$policy_dir"/civico-e2e-*.json; do
    [[ -e "$f" ]] || continue
    port=${f##*/civico-e2e-}
    port=${port%.json}
    if ! port_in_use "$port"; then
      rm -f "$f" || true
    fi
  done
}
remove_stale_policies
on_exit remove_stale_policies

# ---------------------------------------------------------------------------------------------
header "prerequisites"
chromium=${CIVICO_E2E_CHROMIUM:-/usr/bin/chromium}
if [[ ! -x "$chromium" && -n "${CIVICO_E2E_CHROMIUM:-}" ]]; then
  fail "CIVICO_E2E_CHROMIUM=$chromium is not an executable"
fi
ensure_commands "$chromium=chromium" certutil=libnss3-tools pk12util=libnss3-tools npm=npm
[[ -x "$chromium" ]] || fail "no browser at $chromium after installing chromium"
echo "browser: $("$chromium" --version 2>/dev/null | head -n 1)"

# axe-core, pinned, installed once into the cache and reused.
cache=$ci_cache/e2e-npm
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
header "browser journeys and accessibility (go test ./e2e/)"
artifacts=${CIVICO_E2E_ARTIFACTS:-$repo/e2e/artifacts}
if [[ -z "${CIVICO_E2E_ARTIFACTS:-}" ]]; then
  rm -rf "$artifacts" # only the default folder: what is there is from an earlier run
fi
export CIVICO_E2E=1 CIVICO_AXE_JS="$axe_js" CIVICO_E2E_ARTIFACTS="$artifacts" CIVICO_E2E_CHROMIUM="$chromium"
log="$tmp/go-test.log"
status=0
go test -count=1 -v -timeout "${CIVICO_E2E_TIMEOUT:-25m}" "$@" ./e2e/ 2>&1 | tee "$log" || status=${PIPESTATUS[0]}

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
  fail "$(grep -cE '^\s*--- SKIP' <<<"$skipped") tests were skipped (above; each one's reason is in the log above it): a skip here is a check that did not run" \
    "run this script as root (the smart-card journey installs a Chromium policy in $policy_dir)," \
    "with the programs it installs; a skip for any other reason is a bug in the test or in this script"
fi
passed=$(grep -cE '^--- PASS' "$log" || true)
((passed > 0)) || fail "no test ran (go test ./e2e/ $*): check the -run pattern"
echo "e2e: $passed tests passed, none skipped"
