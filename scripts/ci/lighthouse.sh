#!/usr/bin/env bash
# Lighthouse (npm lighthouse@12.2.3, with Debian's chromium) on the home page,
# a service page and the "Dove e quando" finder of the demo town. Prints the
# performance, accessibility and best-practices scores; fails when
# accessibility is below 100 or performance or best practices below 90.
# (Targets: performance 95+, accessibility 100. The national model obliges a
# town scoring below 50 on performance to publish an improvement plan.)
# Usage: scripts/ci/lighthouse.sh [CIVICO_BINARY]
# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" lighthouse.sh

header "prerequisites"
cache="$ci_cache/lighthouse"
ensure_commands /usr/bin/chromium=chromium npm=npm python3=python3 curl=curl
if [[ ! -x "$cache/node_modules/.bin/lighthouse" ]]; then
  mkdir -p "$cache"
  (cd "$cache" && npm i -E lighthouse@12.2.3 --no-audit --no-fund --silent) || fail "npm could not install lighthouse@12.2.3"
fi

header "civico demo"
bin=${1:-}
if [[ -z "$bin" ]]; then
  bin="$tmp/civico"
  go build -o "$bin" ./cmd/civico || fail "go build ./cmd/civico failed"
fi
pid=""
stop_demo() { stop_pid "$pid"; }
on_exit stop_demo
port=$(free_port)
partecipa_port=$(free_port)
tls_port=$(free_port)
metrics_port=$(free_port)
check_ports_free portal="$port" partecipa="$partecipa_port" tls="$tls_port" metrics="$metrics_port"
CIVICO_DATA_DIR="$tmp/data" CIVICO_ADDR="127.0.0.1:$port" CIVICO_PARTECIPA_ADDR="127.0.0.1:$partecipa_port" \
  CIVICO_TLS_ADDR="127.0.0.1:$tls_port" CIVICO_METRICS_ADDR="127.0.0.1:$metrics_port" CIVICO_ACCESS_LOG=false \
  "$bin" demo </dev/null >"$tmp/demo.log" 2>&1 &
pid=$!
wait_healthy "http://127.0.0.1:$port/healthz" "$pid" "civico demo" || { tail -5 "$tmp/demo.log"; fail "$wait_error"; }
# The demo's start runs its jobs' first pass (the dashboard's figures, the
# time-use results: a few seconds of a core) after it is healthy. Lighthouse
# measures the browser's main thread, which they slowed (the home page's
# Total Blocking Time 470 ms on one run): wait for the process to fall quiet
# (under 50 ms of CPU in each of three seconds in a row: the jobs start a
# few seconds after the process), at most 40 s, then measure the pages.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
prev=$(cpu_ticks "$pid")
calm=0
for ((waited = 1; waited <= 40; waited++)); do
  sleep 1
  cur=$(cpu_ticks "$pid")
  if (((cur - prev) * 1000 / hz < 50)); then calm=$((calm + 1)); else calm=0; fi
  prev=$cur
  ((calm < 3)) || break
done
echo "civico demo quiet after ${waited} s"

header "Lighthouse"
status=0
printf '| page | performance | accessibility | best practices |\n| --- | ---: | ---: | ---: |\n'
for path in / /servizi/anagrafe-e-stato-civile/carta-identita-elettronica /dove-e-quando; do
  out="$tmp/report.json"
  # Lighthouse itself sometimes fails to record a load ("NO_NAVSTART",
  # "NO_FCP" on a busy machine): such a run measured nothing, so it is
  # repeated (three attempts); a page that loads and scores low is not.
  ok=""
  for attempt in 1 2 3; do
    rm -f "$out"
    if CHROME_PATH=/usr/bin/chromium "$cache/node_modules/.bin/lighthouse" "http://127.0.0.1:$port$path" --quiet \
      --output=json --output-path="$out" --only-categories=performance,accessibility,best-practices \
      --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage" \
      >"$tmp/lh.log" 2>&1 && python3 -c "import json,sys; sys.exit(1 if json.load(open('$out')).get('runtimeError') else 0)" 2>/dev/null; then
      ok=1
      break
    fi
    echo "lighthouse could not measure $path (attempt $attempt of 3):" >&2
    tail -3 "$tmp/lh.log" >&2
  done
  [[ -n "$ok" ]] || fail "lighthouse failed on $path three times (above)"
  read -r perf a11y bp < <(python3 -c "
import json,sys; c=json.load(open('$out'))['categories']
print(round(c['performance']['score']*100), round(c['accessibility']['score']*100), round(c['best-practices']['score']*100))")
  printf '| %s | %s | %s | %s |\n' "$path" "$perf" "$a11y" "$bp"
  if ((a11y < 100 || perf < 90 || bp < 90)); then
    python3 -c "
import json; r=json.load(open('$out'))
for k,a in r['audits'].items():
    if a.get('score') is not None and a['score']<0.9 and a.get('scoreDisplayMode') in ('binary','numeric'):
        print('  failing audit:', k, a.get('title',''), a.get('displayValue',''))" >&2
    status=1
  fi
done
((status == 0)) || fail "a page is below the targets (accessibility 100, performance and best practices 90): see the failing audits above"
