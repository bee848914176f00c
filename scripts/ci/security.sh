#!/usr/bin/env bash
# Static security checks of civico's Go code:
#   1. gosec (github.com/securego/gosec, pinned version) on ./... : every finding must be fixed, or
#      justified on its line with `// #nosec Gxxx -- reason` (rule ids and a reason are mandatory:
#      a bare #nosec fails too); and gosec must have scanned every package of `go list ./...` (less
#      those excluded below, each with its reason) and every one of their files: a package it could
#      not load, or skipped, would otherwise pass as clean;
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
# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" security.sh

GOSEC_VERSION=${GOSEC_VERSION:-v2.30.0}
GOVULNCHECK_VERSION=${GOVULNCHECK_VERSION:-v1.9.0}
VULNDB_VERSION=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}

# Packages gosec does not scan, on purpose: "PATH reason", PATH relative to the module (as
# -exclude-dir takes it). None today: every package of `go list ./...` is scanned, and the check
# after gosec fails when one is missing. Add one only with the reason it cannot or need not be.
gosec_excluded=()

# problem records a failed check and lets the others run; the script fails at the end.
problems=()
problem() {
  printf '\nFAILED: %s\n' "$1" >&2
  printf '  %s\n' "${@:2}" >&2
  problems+=("$1")
}

root=$ci_root
cache=$ci_cache
mkdir -p "$cache"
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
  go_outside env GOBIN="$gobin" go install "$1" >"$tmp/install.log" 2>&1 ||
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
exclude_args=()
for entry in "${gosec_excluded[@]}"; do
  exclude_args+=("-exclude-dir=${entry%% *}")
done
gosec_status=0
"$gosec" -nosec-require-rules -nosec-require-justification -fmt text -stdout -no-fail -out "$tmp/gosec.txt" \
  "${exclude_args[@]}" ./... >/dev/null 2>"$tmp/gosec.err" || gosec_status=$?
if ((gosec_status != 0)); then
  cat "$tmp/gosec.err" >&2
  fail "gosec itself failed (status $gosec_status, output above)"
fi
sed -e 's/\x1b\[[0-9;]*m//g' "$tmp/gosec.txt" >"$tmp/gosec.plain"

# Did gosec scan everything it should? A package it cannot load is left out with no finding, and
# the report would look clean. Its log names each file it checks ("Checking file: PATH"): the
# packages (folders) and files scanned must be those of `go list ./...` (the files Go builds, test
# files aside, as gosec runs without -tests), less the excluded folders.
go list -f '{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{range .CgoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}' ./... |
  grep -v '^$' | sort -u >"$tmp/want.files"
for entry in "${gosec_excluded[@]}"; do
  grep -v "^$root/${entry%% *}/" "$tmp/want.files" >"$tmp/want.tmp" || true
  mv "$tmp/want.tmp" "$tmp/want.files"
done
sed -n 's/.*Checking file: //p' "$tmp/gosec.err" | sort -u >"$tmp/got.files"
xargs -r -n 1 dirname <"$tmp/want.files" | sort -u >"$tmp/want.pkgs"
xargs -r -n 1 dirname <"$tmp/got.files" | sort -u >"$tmp/got.pkgs"
all_pkgs=$(go list ./... | wc -l)
echo "gosec scanned $(wc -l <"$tmp/got.pkgs") packages and $(wc -l <"$tmp/got.files") files;" \
  "go list ./... has $all_pkgs packages, ${#gosec_excluded[@]} excluded on purpose: $(wc -l <"$tmp/want.pkgs") packages and $(wc -l <"$tmp/want.files") files to scan"
if [[ ${#gosec_excluded[@]} -gt 0 ]]; then
  printf '  excluded: %s\n' "${gosec_excluded[@]}"
fi
missing_pkgs=$(comm -23 "$tmp/want.pkgs" "$tmp/got.pkgs" | sed "s|^$root/\{0,1\}|./|")
extra_pkgs=$(comm -13 "$tmp/want.pkgs" "$tmp/got.pkgs" | sed "s|^$root/\{0,1\}|./|")
missing_files=$(comm -23 "$tmp/want.files" "$tmp/got.files" | sed "s|^$root/||")
if [[ -n "$missing_pkgs$extra_pkgs$missing_files" ]]; then
  grep -E 'Golang errors|error|Error' "$tmp/gosec.err" "$tmp/gosec.plain" >&2 || true
  problem "gosec did not scan exactly the packages it should (go list ./..., less gosec_excluded)" \
    ${missing_pkgs:+"packages not scanned: $(echo "$missing_pkgs" | paste -sd ' ')"} \
    ${extra_pkgs:+"packages scanned but not expected: $(echo "$extra_pkgs" | paste -sd ' ')"} \
    ${missing_files:+"files not scanned: $(echo "$missing_files" | head -n 20 | paste -sd ' ')"} \
    "a package gosec cannot load (a type error, a build constraint, a cgo file) is left out silently:" \
    "  see its log: $gosec ./... 2>&1 | grep -E 'Import directory|Checking package|error'" \
    "fix what keeps it out, or add it to gosec_excluded in scripts/ci/security.sh with the reason"
fi
if grep -q 'Golang errors' "$tmp/gosec.plain"; then
  sed -n '/Golang errors/,/^$/p' "$tmp/gosec.plain" >&2
  problem "gosec could not type-check some files (above): its rules did not run on them fully"
fi
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
  dir=$(go_outside go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
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
