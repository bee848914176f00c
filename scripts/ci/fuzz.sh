#!/usr/bin/env bash
# Runs every Go fuzz target of the repository (each `func FuzzXxx` in a *_test.go file) for a
# while: go test -run '^$' -fuzz '^FuzzXxx$' -fuzztime $FUZZTIME ./pkg. Fuzzing starts from the
# committed seed corpus in pkg/testdata/fuzz/FuzzXxx (go test runs every seed first, and plain
# `go test ./...` runs them as regression tests too).
#
# Usage, from anywhere in the repository:   scripts/ci/fuzz.sh [FuzzName ...]
# Environment:
#   FUZZTIME    how long each target fuzzes (default 10s; a duration such as 30s or 2m, or an
#               iteration count such as 5000x)
#   FUZZ_GRACE  seconds a run may take beyond FUZZTIME before it counts as hung (default 90: linking
#               the test binary, starting and stopping the workers, on a busy machine); with an
#               iteration count, the whole run's bound (default 300)
#
# A target fails CI when:
#   - it finds a failing input: go test writes it to pkg/testdata/fuzz/FuzzXxx/HASH, the script
#     names it and the command that reproduces it; fix the bug, then commit the file as a seed;
#   - a committed seed fails;
#   - it hangs: Go itself fails an input that runs for 10 s ("fuzzing process hung", written as
#     a failing input like any other), and the script kills a run still going FUZZ_GRACE seconds
#     after its FUZZTIME, with the command that reproduces it;
#   - it cannot get through its seeds (the "baseline coverage") within FUZZTIME: go test then stops
#     at the deadline and says PASS although it fuzzed nothing; here it fails.
# What it cannot see: an input that starts hanging less than 10 s before the deadline. Go's own
# check needs 10 s on one input; at the deadline Go stops the stuck worker and says PASS. With the
# default 10 s that is nearly every input fuzzing finds (seeds are covered: see above); FUZZTIME=60s
# gives the check 50 s of each run. (Watching the execution count for a stall does not tell a hang
# apart: the count also stands still for seconds while Go minimizes a new input, or on slow inputs
# such as FuzzDetect's documents; tried, it flagged 6 of 14 healthy targets in one CI run.)
#
# Go's fuzzing coordinator (Go 1.26; go.dev/issue/75804, fixed in 1.27) has a race at the
# -fuzztime deadline: it can fail a run with a bare "context deadline exceeded", no failing input,
# right at the deadline, having found nothing. A real timeout can end the same way (a worker busy
# on a hanging input when the deadline comes). What was decided, and why: such a run counts as the
# quirk only when its seeds were all done (a run that did not get through them fails at once) and
# it ended within the hard bound; it is then run again with the same number of executions as an
# iteration count (-fuzztime Nx), which sets no deadline and so cannot hit the race, under the same
# hard bound: it passes only if that rerun passes. Whatever fails in a rerun fails CI; the summary
# marks the targets that needed one.
# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" fuzz.sh

fuzztime=${FUZZTIME:-10s}

# go_secs DURATION prints a Go duration (1h2m3s, 90s, 1m, 500ms) in whole seconds, rounded up.
go_secs() {
  local d=$1 ms=0 n unit
  [[ "$d" =~ ^([0-9]+(h|ms|m|s))+$ ]] || return 1
  while [[ "$d" =~ ^([0-9]+)(h|ms|m|s)(.*)$ ]]; do
    n=${BASH_REMATCH[1]}
    unit=${BASH_REMATCH[2]}
    d=${BASH_REMATCH[3]}
    case $unit in
      h) ms=$((ms + n * 3600000)) ;;
      m) ms=$((ms + n * 60000)) ;;
      s) ms=$((ms + n * 1000)) ;;
      ms) ms=$((ms + n)) ;;
    esac
  done
  echo $(((ms + 999) / 1000))
}

if [[ "$fuzztime" =~ ^[0-9]+x$ ]]; then
  fuzz_secs=0
  hard=${FUZZ_GRACE:-300}
else
  fuzz_secs=$(go_secs "$fuzztime") || fail "FUZZTIME=$fuzztime is neither a duration like 10s or 2m nor a count like 5000x"
  hard=$((fuzz_secs + ${FUZZ_GRACE:-90}))
fi
[[ "$hard" =~ ^[0-9]+$ ]] || fail "FUZZ_GRACE must be a number of seconds, not '${FUZZ_GRACE:-}'"

header "finding fuzz targets"
# Tracked test files plus new ones git does not ignore (a fresh clone has only the tracked).
mapfile -d '' testfiles < <(git ls-files -z --cached --others --exclude-standard -- '*_test.go')
targets=() # "dir name"
for f in "${testfiles[@]}"; do
  [[ -f "$f" ]] || continue
  while IFS= read -r name; do
    targets+=("$(dirname "$f") $name")
  done < <(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*\*testing\.F).*/\1/p' "$f")
done
if (($# > 0)); then
  wanted=" $* "
  selected=()
  for t in "${targets[@]}"; do
    [[ "$wanted" == *" ${t#* } "* ]] && selected+=("$t")
  done
  targets=("${selected[@]}")
fi
((${#targets[@]} > 0)) || fail "no fuzz targets found${1:+ named $*}"
mapfile -t targets < <(printf '%s\n' "${targets[@]}" | sort)
echo "${#targets[@]} targets, $fuzztime each, each run killed after $hard s:"
printf '  %s\n' "${targets[@]}"

header "building the fuzzing test binaries"
# Built once per package (with -fuzz, go test instruments the code for coverage), so that the
# hard bound of each run below measures fuzzing, not compiling.
mapfile -t dirs < <(printf '%s\n' "${targets[@]%% *}" | sort -u)
for dir in "${dirs[@]}"; do
  first=""
  for t in "${targets[@]}"; do [[ "${t%% *}" == "$dir" ]] && first=${t#* } && break; done
  go test -c -o "$tmp/fuzz.test" -fuzz "^${first}\$" "./$dir" ||
    fail "the tests of ./$dir do not build with -fuzz (errors above)"
  echo "built ./$dir"
done
rm -f "$tmp/fuzz.test"

# Each target starts from its committed seeds only, with a fuzz cache of its own for this run
# (-test.fuzzcachedir, not GOCACHE/fuzz): the inputs a machine's cache gathers from run to run
# would make the seeds, and the time to get through them, grow without end and differ between
# machines. A run, and its rerun, go on from what that run found.

# crashers DIR NAME lists the failing inputs stored for a target.
crashers() { find "$1/testdata/fuzz/$2" -maxdepth 1 -type f 2>/dev/null | sort || true; }

# fuzz_run DIR NAME FUZZTIME BOUND LOG runs one target, killed (the whole process group: go, the
# test binary and its workers) after BOUND seconds, and sets: status (124 or 137 when killed),
# seeds_done (whether the baseline completed), seeds ("k/N" of the last baseline line), execs (the
# last count), elapsed (the coordinator's last "elapsed"), bare_deadline (a bare "context deadline
# exceeded"), new_inputs (failing inputs written by this run).
fuzz_run() {
  local dir=$1 name=$2 time=$3 bound=$4 log=$5
  crashers "$dir" "$name" >"$tmp/before"
  status=0
  timeout --kill-after=10 "$bound" go test -run '^$' -fuzz "^${name}\$" -fuzztime "$time" "./$dir" \
    -args -test.fuzzcachedir="$tmp/fuzzcache/$dir" >"$log" 2>&1 || status=$?
  crashers "$dir" "$name" >"$tmp/after"
  new_inputs=$(comm -13 "$tmp/before" "$tmp/after")
  seeds_done=""
  grep -q 'gathering baseline coverage: .*now fuzzing' "$log" && seeds_done=1
  seeds=$(grep -oE 'gathering baseline coverage: [0-9]+/[0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+/[0-9]+' || echo "?")
  execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+' || echo 0)
  elapsed=$(grep -oE '^fuzz: elapsed: [0-9]+s' "$log" | tail -n 1 | grep -oE '[0-9]+' || echo "?")
  bare_deadline=""
  if grep -q 'context deadline exceeded' "$log" && [[ -z "$new_inputs" ]] &&
    ! grep -qE 'Failing input written to|failure while testing seed corpus entry' "$log"; then
    bare_deadline=1
  fi
}

# judge DIR NAME TIME LOG: whether the run fuzz_run just made failed, and how; sets verdict to
# "ok", "recheck: why" (a bare deadline, worth a rerun without a deadline) or
# "FAIL: what", and prints the log, the failing inputs and the command that reproduces it.
judge() {
  local dir=$1 name=$2 time=$3 log=$4 c
  if ((status == 124 || status == 137)); then
    tail -n 20 "$log"
    if [[ -z "$seeds_done" ]]; then
      verdict="FAIL: hung in its seeds (baseline $seeds) and was killed after $hard s"
      echo "  reproduce: go test -run '^${name}\$' -v -timeout 60s ./$dir   (the seeds as tests: a hanging one panics with its stack)" >&2
    else
      verdict="FAIL: hung while fuzzing ($execs executions) and was killed after $hard s"
      echo "  reproduce: go test -run '^\$' -fuzz '^${name}\$' -fuzztime 30s ./$dir   (past 10 s on one input, Go writes it as a failing input)" >&2
    fi
  elif [[ -n "$new_inputs" ]] || grep -qE 'Failing input written to|failure while testing seed corpus entry' "$log"; then
    tail -n 40 "$log"
    if grep -q 'hung or terminated unexpectedly' "$log"; then
      verdict="FAIL: an input hung (10 s on one input) or crashed the process"
    else
      verdict="FAIL: found a failing input"
    fi
    if [[ -n "$new_inputs" ]]; then
      for c in $new_inputs; do
        echo "  failing input: $c" >&2
        echo "  reproduce:     go test -run '^${name}/$(basename "$c")\$' -timeout 60s ./$dir" >&2
      done
    else
      verdict="FAIL: a committed seed fails"
      echo "  reproduce: go test -run '^${name}\$' -v -timeout 60s ./$dir" >&2
    fi
  elif [[ -z "$seeds_done" ]] && { ((status == 0)) || [[ -n "$bare_deadline" ]]; }; then
    tail -n 20 "$log"
    verdict="FAIL: did not get through its seeds (baseline $seeds) within $time, so it fuzzed nothing"
    echo "  reproduce: go test -run '^${name}\$' -v -timeout 60s ./$dir   (each seed with its duration; a hanging one panics with its stack)" >&2
    echo "  a seed that hangs is a bug; seeds that are merely slow: make the target faster or the corpus smaller" >&2
  elif ((status == 0)); then
    verdict="ok"
  elif [[ -n "$bare_deadline" && "$time" != *x ]]; then
    verdict="recheck: a bare 'context deadline exceeded' (elapsed ${elapsed}s of $time, seeds done, no failing input)"
  else
    tail -n 40 "$log"
    verdict="FAIL: go test exited with status $status"
    if [[ -n "$bare_deadline" ]]; then
      verdict+=" (a bare \"context deadline exceeded\" in a run without a deadline: not Go's coordinator race)"
    fi
    echo "  reproduce: go test -run '^\$' -fuzz '^${name}\$' -fuzztime $time ./$dir" >&2
  fi
}

results=()
failures=()
n=0
for t in "${targets[@]}"; do
  dir=${t% *}
  name=${t#* }
  n=$((n + 1))
  header "$n/${#targets[@]} $name (./$dir)"
  echo "seed corpus: $(crashers "$dir" "$name" | wc -l) files in $dir/testdata/fuzz/$name"
  fuzz_run "$dir" "$name" "$fuzztime" "$hard" "$tmp/run.log"
  judge "$dir" "$name" "$fuzztime" "$tmp/run.log"
  note=""
  if [[ "$verdict" == recheck:* ]]; then
    grep -E '^fuzz: ' "$tmp/run.log" | tail -n 8
    echo "note: ${verdict#recheck: }; running it again without a deadline: -fuzztime $((execs > 1000 ? execs : 1000))x, killed after $hard s"
    note=" (rerun without a deadline after ${verdict#recheck: })"
    retry_time="$((execs > 1000 ? execs : 1000))x"
    fuzz_run "$dir" "$name" "$retry_time" "$hard" "$tmp/rerun.log"
    judge "$dir" "$name" "$retry_time" "$tmp/rerun.log"
    [[ "$verdict" != recheck:* ]] || verdict="FAIL: ${verdict#recheck: }, again in a run without a deadline"
  fi
  case $verdict in
    ok)
      echo "ok: $execs executions, seeds $seeds$note"
      results+=("ok    $name (./$dir): $execs executions, seeds $seeds$note")
      ;;
    *)
      echo "$name: $verdict$note" >&2
      failures+=("$name (./$dir)")
      results+=("FAIL  $name (./$dir): ${verdict#FAIL: }$note")
      ;;
  esac
done

header "summary"
printf '  %s\n' "${results[@]}"
if ((${#failures[@]} > 0)); then
  fail "${#failures[@]} of ${#targets[@]} fuzz targets failed: ${failures[*]}" \
    "each one's failing input (saved under PKG/testdata/fuzz/NAME/) or hang is named above with the command that reproduces it;" \
    "fix the code (or the property, if the target asserted something wrong), then commit a failing input as a regression seed"
fi
echo "fuzzing passed: ${#targets[@]} targets"
