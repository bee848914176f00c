#!/usr/bin/env bash
# Static security checks of civico's Go code:
#   1. gosec (github.com/securego/gosec, pinned version) on ./... : every finding must be fixed, or
#      justified on its line with `// #nosec Gxxx -- reason` (rule ids and a reason are mandatory:
#      a bare #nosec fails too);
#   2. govulncheck with an OFFLINE vulnerability database, built from the golang.org/x/vulndb module
#      (fetched through the Go module proxy) with its cmd/indexdb: fails on any vulnerability that
#      the code can reach (symbol level) in the standard library or in a dependency.
#
# Usage, from anywhere in the repository:   scripts/ci/security.sh
# Environment:
#   CIVICO_TOOLS_CACHE   where the tools and the database are kept between runs
#                        (default ${XDG_CACHE_HOME:-$HOME/.cache}/civico-ci)
#   GOSEC_VERSION, GOVULNCHECK_VERSION, VULNDB_VERSION   override the pinned versions
#   SECURITY_VULN_ALLOW  space-separated vulnerability ids (GO-YYYY-NNNN) to report without failing,
#                        e.g. while a Go toolchain upgrade is on its way; keep it empty normally
# Needs Go (on PATH or at /usr/local/go/bin) and the Go module proxy. A first run fetches and builds
# the tools and the database (a few minutes); later runs reuse them (under a minute on 2 cores).
# Does not touch go.mod or go.sum: tools are installed with `go install pkg@version`.
set -euo pipefail

GOSEC_VERSION=${GOSEC_VERSION:-v2.30.0}
GOVULNCHECK_VERSION=${GOVULNCHECK_VERSION:-v1.9.0}
VULNDB_VERSION=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}

start_time=$SECONDS
step="setup"
header() {
  step=$1
  printf '\n==== security [%s +%ds] %s ====\n' "$(date -u +%H:%M:%S)" "$((SECONDS - start_time))" "$step"
}
fail() {
  printf '\nSECURITY CHECK FAILED in step "%s":\n' "$step" >&2
  printf '  %s\n' "$@" >&2
  printf 'security.sh failed after %ds\n' "$((SECONDS - start_time))" >&2
  exit 1
}
# problem records a failed check and lets the others run; the script fails at the end.
problems=()
problem() {
  printf '\nFAILED: %s\n' "$1" >&2
  printf '  %s\n' "${@:2}" >&2
  problems+=("$1")
}
# shellcheck disable=SC2154 # rc is assigned inside the trap
trap 'rc=$?; printf "\nsecurity.sh: step \"%s\": command at line %s exited with status %s\n" "$step" "$LINENO" "$rc" >&2' ERR

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
[[ -f go.mod ]] || fail "no go.mod in $(pwd): this script must live in scripts/ci/ of the repository"
root=$(pwd)
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || fail "go not found on PATH nor at /usr/local/go/bin/go" "install Go (the version in go.mod)"
if [[ -z "${HOME:-}" ]]; then
  HOME=$(getent passwd "$(id -u)" | cut -d: -f6)
  export HOME="${HOME:-/root}"
fi
cache=${CIVICO_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/civico-ci}
mkdir -p "$cache"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Tool installs and downloads run outside the module, so they never touch go.mod.
outside() { (cd "$tmp" && GOFLAGS='' "$@"); }
go_mod_before=$(cat go.mod go.sum | sha256sum)

# ---------------------------------------------------------------------------------------------
header "1/4 tools: gosec $GOSEC_VERSION, govulncheck $GOVULNCHECK_VERSION"
bin="$cache/bin"
mkdir -p "$bin"
gosec="$bin/gosec-$GOSEC_VERSION"
govulncheck="$bin/govulncheck-$GOVULNCHECK_VERSION"
install_tool() { # install_tool PKG@VERSION OUTPUT
  local gobin="$tmp/gobin"
  mkdir -p "$gobin"
  outside env GOBIN="$gobin" go install "$1" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "go install $1 failed (output above)" "check that the Go module proxy is reachable (GOPROXY=$(go env GOPROXY))"; }
  mv "$gobin/$(basename "${1%@*}")" "$2"
}
[[ -x "$gosec" ]] || install_tool "github.com/securego/gosec/v2/cmd/gosec@$GOSEC_VERSION" "$gosec"
[[ -x "$govulncheck" ]] || install_tool "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION" "$govulncheck"
echo "gosec: $gosec"
echo "govulncheck: $govulncheck"

# ---------------------------------------------------------------------------------------------
header "2/4 gosec"
# Every suppression must name its rules and give a reason.
gofiles=()
while IFS= read -r -d '' f; do
  if [[ -f "$f" ]]; then gofiles+=("$f"); fi
done < <(git ls-files -z --cached --others --exclude-standard -- '*.go')
bare=""
if ((${#gofiles[@]} > 0)); then
  bare=$(grep -nE '#nosec' "${gofiles[@]}" | grep -vE '#nosec G[0-9]{3}( G[0-9]{3})* -- [^ ]' || true)
fi
if [[ -n "$bare" ]]; then
  echo "$bare" >&2
  fail "these #nosec comments lack rule ids or a reason (listed above)" \
    "write them as: // #nosec G304 -- the path comes from the operator's configuration"
fi
gosec_status=0
"$gosec" -nosec-require-rules -nosec-require-justification -fmt text -stdout -no-fail -out "$tmp/gosec.txt" ./... >/dev/null 2>"$tmp/gosec.err" || gosec_status=$?
if ((gosec_status != 0)); then
  cat "$tmp/gosec.err" >&2
  fail "gosec itself failed (status $gosec_status, output above)"
fi
sed -e 's/\x1b\[[0-9;]*m//g' "$tmp/gosec.txt" >"$tmp/gosec.plain"
issues=$(grep -cE '^\[[^]]+:[0-9-]+\] - G[0-9]+' "$tmp/gosec.plain" || true)
nosec=$(grep -oE 'Nosec *: *[0-9]+' "$tmp/gosec.plain" | grep -oE '[0-9]+' || echo 0)
echo "gosec: $(grep -oE 'Files *: *[0-9]+' "$tmp/gosec.plain" | grep -oE '[0-9]+' || echo '?') files, $issues findings, $nosec justified with #nosec"
if ((issues > 0)); then
  sed "s|$root/||" "$tmp/gosec.plain"
  echo "---- gosec findings ----" >&2
  grep -E '^\[[^]]+:[0-9-]+\] - G[0-9]+' "$tmp/gosec.plain" | sed "s|$root/||" >&2
  problem "gosec reported $issues findings (listed above, with the code after 'Results:')" \
    "fix each one; if one is a false positive, justify it on the flagged line (or the line above the statement):" \
    "  // #nosec G104 -- why this is safe, precisely" \
    "reproduce: go run github.com/securego/gosec/v2/cmd/gosec@$GOSEC_VERSION ./..."
fi

# ---------------------------------------------------------------------------------------------
header "3/4 offline vulnerability database (golang.org/x/vulndb@$VULNDB_VERSION)"
db="$cache/vulndb-$VULNDB_VERSION"
if [[ -s "$db/index/db.json" && -s "$db/index/modules.json" && -d "$db/ID" ]]; then
  echo "reusing $db"
else
  dir=$(outside go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -n "$dir" && -d "$dir/data/osv" ]] ||
    fail "could not download golang.org/x/vulndb@$VULNDB_VERSION, or it has no data/osv" \
      "check the Go module proxy, or set VULNDB_VERSION to a version it has (go list -m -versions does not list pseudo-versions: take the newest from the proxy's @latest)"
  indexdb="$bin/indexdb-$VULNDB_VERSION"
  [[ -x "$indexdb" ]] || install_tool "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" "$indexdb"
  echo "building the database from $(find "$dir/data/osv" -name '*.json' | wc -l) OSV reports"
  rm -rf "$db.tmp"
  "$indexdb" -vulns "$dir/data/osv" -out "$db.tmp" >"$tmp/indexdb.log" 2>&1 ||
    { cat "$tmp/indexdb.log" >&2; fail "indexdb could not build the vulnerability database (output above)"; }
  rm -rf "$db"
  mv "$db.tmp" "$db"
  echo "built $db ($(du -sh "$db" | cut -f1))"
fi
echo "database: $(find "$db/ID" -name '*.json' | wc -l) vulnerability reports"

# ---------------------------------------------------------------------------------------------
header "4/4 govulncheck ./... (offline)"
echo "Go toolchain: $(go env GOVERSION)"
vuln_status=0
"$govulncheck" -db "file://$db" ./... >"$tmp/vuln.txt" 2>&1 || vuln_status=$?
cat "$tmp/vuln.txt"
case $vuln_status in
0) echo "govulncheck: no reachable vulnerabilities" ;;
3)
  mapfile -t found < <(sed -n 's/^Vulnerability #[0-9]*: \(GO-[0-9]*-[0-9]*\).*/\1/p' "$tmp/vuln.txt" | sort -u)
  blocking=()
  for id in "${found[@]}"; do
    if [[ " ${SECURITY_VULN_ALLOW:-} " == *" $id "* ]]; then
      echo "allowed by SECURITY_VULN_ALLOW: $id"
    else
      blocking+=("$id")
    fi
  done
  if ((${#blocking[@]} > 0)); then
    stdlib=$(grep -c '^  Standard library' "$tmp/vuln.txt" || true)
    problem "govulncheck found ${#blocking[@]} vulnerabilities the code can reach: ${blocking[*]} (details above)" \
      "in the standard library ($stdlib of them): upgrade Go to the 'Fixed in' version, e.g. add 'toolchain go1.X.Y'" \
      "  to go.mod (Go fetches that toolchain through the module proxy) or install it on the machines;" \
      "in a module: go get MODULE@FIXED_VERSION && go mod tidy, and commit go.mod and go.sum"
  fi
  ;;
*) problem "govulncheck failed to run (status $vuln_status, output above)" ;;
esac

[[ "$(cat go.mod go.sum | sha256sum)" == "$go_mod_before" ]] ||
  fail "go.mod or go.sum changed during the checks: restore them (git checkout go.mod go.sum) and report this script's bug"
if ((${#problems[@]} > 0)); then
  step="summary"
  fail "${#problems[@]} checks failed (each one explained above):" "${problems[@]}"
fi
printf '\nsecurity checks passed in %ds\n' "$((SECONDS - start_time))"
