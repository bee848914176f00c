#!/usr/bin/env bash
# HTTP throughput of civico's pages against the machine's ceiling, a hello-world net/http server
# (bench/hello), measured with wrk on loopback, anonymous or logged in, on SQLite or PostgreSQL.
#
# Usage: bench/http.sh [PATH...]
#   With no PATH: the standard pages (below); with some: those, e.g. bench/http.sh / /novita
#   LOGIN=card bench/http.sh                      every page as the demo's card holder
#   LOGIN=card DB=postgres bench/http.sh          the same on PostgreSQL
#
# Environment:
#   DURATION (10s), CONNECTIONS (32), THREADS (2)  for wrk
#   LOGIN   none (default): an anonymous visitor, whom the page cache serves;
#           password: Mario Rossi, logged in through the login form (POST /accedi);
#           card: Luca Ferrari, logged in with his smart card over TLS (GET /login/crs with the
#           demo card authority's certificate, as a browser does): the only one who may open
#           the payments page (substantial assurance).
#           Either way the session cookie is made by a real login, and every request carries it:
#           a session never reads the page cache, so every page is rendered at every request.
#   DB      sqlite (default, in a temporary data dir) or postgres: a new database on
#           BENCH_POSTGRES_URL (a server URL whose user may CREATE DATABASE; dropped at the end),
#           or without it a throwaway cluster (scripts/pg-test-cluster.sh, fsync off) in the
#           temporary dir. CIVICO_DATABASE_URL, when set, is used as it is instead.
#   PIN     with DB=postgres, 1 pins PostgreSQL to CPU 1 and civico and wrk to CPU 0 (taskset);
#           default: all share every core.
#   VOLUME  1 (with LOGIN=card): a town's volume first (issues 14 and 15). bench/volume copies the
#           bench's application 100,000 times (200 of them Luca Ferrari's, the rest 200 each of
#           made-up residents; a third to assign, a third in progress, a third closed), and
#           `civico payments import` loads 500 notices of his (a CSV, as the finance office
#           would); the operator Paola Esposito gets the desk role (`civico user grant`) and logs
#           in with her card; measured: the resident's pages as below, and the back office's
#           queue (/backoffice/pratiche, all five queues counted) as the operator sees it.
#   CIVICO_PAGE_CACHE_TTL and any other CIVICO_ setting are passed to `civico demo`.
#
# The standard pages: home, a service page, an office page, the finder, the coordination view,
# the JSON API (/api/v1/offices, /api/v1/services), the booking's first step (the offices) and
# its third (the free slots of the registry office's identity card over 60 days), the public
# dashboard with the demo's history since 2008; logged in also the profile, the personal area
# (/area-personale and its tabs), the Sportello's applications list and the detail of an
# application the bench submits first through the resident's pages (the school canteen's form),
# and with LOGIN=card the payments page.
#
# Prints a markdown table: target, req/s, p50, p99, req/s as a percentage of hello's, and the
# database statements of one request of the page (X-Civico-Queries, CIVICO_DEBUG_QUERIES).
# Target: a database-backed page should reach at least 20% of the hello-world ceiling.
#
# wrk and the servers share the machine's cores: the absolute numbers say little, the ratio to
# hello is what to compare between commits. All traffic stays on 127.0.0.1.
set -euo pipefail

duration=${DURATION:-10s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
login=${LOGIN:-none}
dbkind=${DB:-sqlite}
pin=${PIN:-0}
volume=${VOLUME:-0}
paths=("$@")

die() {
  echo "bench/http.sh: error: $*" >&2
  exit 1
}

cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -f go.mod ]] || die "run from a civico checkout (no go.mod in $(pwd))"
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || die "go not found: add /usr/local/go/bin to PATH"
command -v curl >/dev/null 2>&1 || die "curl not found: apt-get install -y curl"
case "$login" in none | password | card) ;; *) die "LOGIN must be none, password or card, not '$login'" ;; esac
case "$dbkind" in sqlite | postgres) ;; *) die "DB must be sqlite or postgres, not '$dbkind'" ;; esac
[[ "$pin" == 0 || "$dbkind" == postgres ]] || die "PIN=1 pins PostgreSQL: it needs DB=postgres"
[[ "$pin" == 0 ]] || command -v taskset >/dev/null 2>&1 || die "PIN=1 needs taskset (util-linux)"
case "$volume" in 0) ;; 1) [[ "$login" == card ]] || die "VOLUME=1 needs LOGIN=card (the payments page and the bench's application are the card holder's)" ;; *) die "VOLUME must be 0 or 1, not '$volume'" ;; esac

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk with apt-get" >&2
  if [[ "$(id -u)" == 0 ]]; then
    sudo=()
  else
    command -v sudo >/dev/null 2>&1 || die "wrk is missing and sudo is not available: install wrk as root (apt-get install -y wrk)"
    sudo=(sudo)
  fi
  # Try the package lists as they are first; refresh them only if that fails.
  if ! "${sudo[@]}" apt-get install -y -qq wrk >&2; then
    "${sudo[@]}" apt-get update -qq >&2 || die "apt-get update failed"
    "${sudo[@]}" apt-get install -y -qq wrk >&2 || die "apt-get install -y wrk failed"
  fi
  command -v wrk >/dev/null 2>&1 || die "wrk is still not on PATH after installing it"
fi

tmp=$(mktemp -d)
pids=()
pgdir=""
pgdrop=""
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  if [[ -n "$pgdrop" ]]; then
    psql -q "$BENCH_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $pgdrop" >/dev/null 2>&1 || true
  fi
  if [[ -n "$pgdir" ]]; then
    scripts/pg-test-cluster.sh stop "$pgdir" >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building civico and bench/hello" >&2
go build -o "$tmp/civico" ./cmd/civico || die "go build ./cmd/civico failed"
go build -o "$tmp/hello" ./bench/hello || die "go build ./bench/hello failed"
if [[ "$volume" == 1 ]]; then
  go build -o "$tmp/volume" ./bench/volume || die "go build ./bench/volume failed"
fi

# free_port prints a TCP port on 127.0.0.1 that nothing listens on, below the ephemeral range.
free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((15000 + RANDOM % 17000))
    if [[ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]] && ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# wait_up URL PID LOG waits up to 30 s for URL to answer 200 while process PID lives.
wait_up() {
  local url=$1 pid=$2 log=$3 i
  for ((i = 0; i < 60; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$log" >&2
      die "the server for $url exited (log above)"
    fi
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)" == 200 ]]; then
      return 0
    fi
    sleep 0.5
  done
  tail -n 20 "$log" >&2
  die "$url did not answer 200 within 30 s"
}

ports=()
for _ in 1 2 3 4 5; do
  p=$(free_port) || die "no free port"
  while [[ " ${ports[*]} " == *" $p "* ]]; do p=$(free_port) || die "no free port"; done
  ports+=("$p")
done
portal_port=${ports[0]} partecipa_port=${ports[1]} hello_port=${ports[2]} tls_port=${ports[3]} metrics_port=${ports[4]}

# The database: SQLite in the data dir, or a PostgreSQL database of the bench's own.
database_url=${CIVICO_DATABASE_URL:-}
backend="SQLite"
if [[ "$dbkind" == postgres ]]; then
  backend="PostgreSQL"
  command -v psql >/dev/null 2>&1 || die "DB=postgres needs psql (apt-get install -y postgresql-client)"
  if [[ -n "$database_url" ]]; then
    backend="PostgreSQL (CIVICO_DATABASE_URL)"
  elif [[ -n "${BENCH_POSTGRES_URL:-}" ]]; then
    pgdrop="civico_bench_$$_$RANDOM"
    psql -q "$BENCH_POSTGRES_URL" -c "CREATE DATABASE $pgdrop" >/dev/null || die "cannot create a database on BENCH_POSTGRES_URL"
    database_url=$(awk -v u="$BENCH_POSTGRES_URL" -v d="$pgdrop" 'BEGIN {
      q = ""; i = index(u, "?"); if (i) { q = substr(u, i); u = substr(u, 1, i - 1) }
      sub(/\/[^\/]*$/, "", u); print u "/" d q }')
    backend="PostgreSQL (BENCH_POSTGRES_URL)"
  else
    pgdir="$tmp/pg"
    # Run as root, the cluster belongs to the postgres user, who must reach it.
    chmod o+x "$tmp"
    database_url=$(scripts/pg-test-cluster.sh start "$pgdir") || die "cannot start a PostgreSQL cluster (scripts/pg-test-cluster.sh)"
    backend="PostgreSQL (a throwaway local cluster, fsync off)"
  fi
  if [[ "$pin" == 1 ]]; then
    [[ -n "$pgdir" ]] || die "PIN=1 pins the bench's own cluster: unset BENCH_POSTGRES_URL and CIVICO_DATABASE_URL"
    taskset -a -p -c 1 "$(head -n 1 "$pgdir/data/postmaster.pid")" >/dev/null || die "cannot pin PostgreSQL to CPU 1"
    backend="$backend, pinned to CPU 1 (civico and wrk on CPU 0)"
  fi
fi
# cpu0 prefixes a command to run it on CPU 0 when PostgreSQL has CPU 1 (PIN=1). A prefix, not
# a function: a background command's $! must be the server itself, which cleanup stops.
cpu0=()
[[ "$pin" != 1 ]] || cpu0=(taskset -c 0)

mkdir -p "$tmp/data"
# civico_env runs a command with the portal's database and data directory (the CLI, bench/volume).
civico_env() {
  CIVICO_DATA_DIR="$tmp/data" CIVICO_DATABASE_URL="$database_url" "$@"
}
CIVICO_DATA_DIR="$tmp/data" CIVICO_DATABASE_URL="$database_url" CIVICO_DEBUG_QUERIES=true \
  CIVICO_ADDR="127.0.0.1:$portal_port" CIVICO_PARTECIPA_ADDR="127.0.0.1:$partecipa_port" \
  CIVICO_TLS_ADDR="127.0.0.1:$tls_port" CIVICO_METRICS_ADDR="127.0.0.1:$metrics_port" \
  "${cpu0[@]}" "$tmp/civico" demo </dev/null >"$tmp/civico.log" 2>&1 &
pids+=($!)
civico_pid=$!
"${cpu0[@]}" "$tmp/hello" -addr "127.0.0.1:$hello_port" </dev/null >"$tmp/hello.log" 2>&1 &
pids+=($!)
hello_pid=$!

wait_up "http://127.0.0.1:$hello_port/" "$hello_pid" "$tmp/hello.log"
wait_up "http://127.0.0.1:$portal_port/healthz" "$civico_pid" "$tmp/civico.log"

portal="http://127.0.0.1:$portal_port"

# session_of prints the civico_session cookie a response's headers (file $1) set.
session_of() {
  tr -d '\r' <"$1" | awk -F'[=;]' 'tolower($1) == "set-cookie: civico_session" {print $2; exit}'
}

# The login: a real one, as a browser makes it; every request then carries its cookie.
cookie=()
if [[ "$login" == password ]]; then
  curl -s -o /dev/null -D "$tmp/login.h" --max-time 30 "$portal/accedi" \
    --data-urlencode email=mario.rossi@demo.civico.invalid --data-urlencode password=Tram-Sesto-alle-7 ||
    die "the password login failed"
  who="Mario Rossi, password"
elif [[ "$login" == card ]]; then
  ca="$tmp/data/ca"
  curl -s -o /dev/null -D "$tmp/login.h" --max-time 30 --cacert "$ca/ca.pem" \
    --cert "$ca/cards/luca-ferrari.pem" --key "$ca/cards/luca-ferrari.key" "https://127.0.0.1:$tls_port/login/crs" ||
    die "the card login failed"
  who="Luca Ferrari, smart card"
fi
if [[ "$login" != none ]]; then
  session=$(session_of "$tmp/login.h")
  [[ -n "$session" ]] || { cat "$tmp/login.h" >&2; die "the $login login set no session cookie"; }
  cookie=(-H "Cookie: civico_session=$session")
  echo "logged in: $who" >&2
fi

# post PATH EXPECTED-LOCATION-SUFFIX CURL-ARGS... sends a form as the logged-in resident and
# prints where it leads (a 303's Location).
post() {
  local path=$1 want=$2 loc
  shift 2
  loc=$(curl -s -o "$tmp/post.html" -w '%{http_code} %{redirect_url}' --max-time 30 "${cookie[@]}" "$@" "$portal$path") ||
    die "POST $path failed"
  [[ "$loc" == "303 "*"$want" ]] || { grep -o 'invalid-feedback[^<]*' "$tmp/post.html" >&2 || true; die "POST $path answered '$loc', not a 303 to ...$want"; }
  echo "${loc#303 $portal}"
}

if ((${#paths[@]} == 0)); then
  paths=(/ /servizi/anagrafe-e-stato-civile/carta-identita-elettronica /amministrazione/uffici/anagrafe
    "/dove-e-quando?quando=sabato" "/coordinamento-orari?categoria=anagrafe-e-stato-civile"
    /api/v1/offices /api/v1/services
    /prenota-appuntamento "/prenota-appuntamento/orario?ufficio=anagrafe&servizio=carta-identita-elettronica"
    /dati/cruscotto)
  if [[ "$login" != none ]]; then
    # An application of the resident's, submitted through the pages as a resident submits it.
    step=$(post /servizi-online/iscrizione-mensa-scolastica /richiedente -d privacy=1)
    application=${step%/richiedente}
    post "$step" /modulo -d given_name=Luca -d family_name=Ferrari -d email=bench@example.org -d phone='02 1234567' \
      -d address='Via Frova 12' -d action=next >/dev/null
    post "$application/modulo" /riepilogo -d alunno_nome=Sara -d alunno_cognome=Ferrari -d alunno_cf=RSSMRA85T10A562S \
      -d scuola=primaria_parini -d classe=2B -d giorni=lun -d giorni=mer -d dieta=normale -d action=next >/dev/null
    post "$application/invia" /ricevuta -d confirm=1 >/dev/null
    if [[ "$volume" == 1 ]]; then
      echo "volume: 100,000 applications (200 of the resident's), 500 notices of his" >&2
      civico_env "$tmp/volume" -template "${application##*/}" -n 100000 -owned 199 -per-resident 200 ||
        die "bench/volume failed"
      fiscal_code=$(grep -o 'Luca Ferrari ([A-Z0-9]\{16\})' "$tmp/civico.log" | head -n 1 | tr -d '()' | awk '{print $3}')
      [[ -n "$fiscal_code" ]] || die "no fiscal code of Luca Ferrari in the demo's log"
      year=$(date -u +%Y)
      {
        echo "id,codice_fiscale,nominativo,categoria,causale,anno,importo,scadenza,rate"
        for ((i = 1; i <= 500; i++)); do
          printf 'BENCH-%04d,%s,Luca Ferrari,mensa,Mensa scolastica %d,%d,"%d,%02d",%d-%02d-%02d,\n' \
            "$i" "$fiscal_code" "$i" "$year" $((20 + i % 30)) $((i % 100)) $((year + 1)) $((1 + i % 12)) $((1 + i % 28))
        done
      } >"$tmp/notices.csv"
      civico_env "$tmp/civico" payments import "$tmp/notices.csv" </dev/null >"$tmp/import.log" 2>&1 ||
        { tail -n 20 "$tmp/import.log" >&2; die "civico payments import failed"; }
      civico_env "$tmp/civico" user grant --email paola.esposito@demo.civico.invalid --role desk </dev/null >"$tmp/grant.log" 2>&1 ||
        { cat "$tmp/grant.log" >&2; die "civico user grant failed"; }
      curl -s -o /dev/null -D "$tmp/operator.h" --max-time 30 --cacert "$ca/ca.pem" \
        --cert "$ca/cards/paola-esposito.pem" --key "$ca/cards/paola-esposito.key" "https://127.0.0.1:$tls_port/login/crs" ||
        die "the operator's card login failed"
      operator_session=$(session_of "$tmp/operator.h")
      [[ -n "$operator_session" ]] || { cat "$tmp/operator.h" >&2; die "the operator's card login set no session cookie"; }
      operator_cookie=(-H "Cookie: civico_session=$operator_session")
      echo "operator logged in: Paola Esposito, smart card, role desk" >&2
    fi
    paths+=(/profilo /area-personale /area-personale/messaggi /area-personale/servizi /area-personale/documenti
      /area-personale/attivita /area-personale/pratiche "$application")
    [[ "$login" != card ]] || paths+=(/area-personale/pagamenti)
    [[ "$volume" != 1 ]] || paths+=(/backoffice/pratiche)
  fi
fi

# use_cookie PATH sets cur to the curl/wrk arguments that log PATH's requests in: the operator's
# session for the back office, the resident's otherwise.
operator_cookie=(${operator_cookie[@]+"${operator_cookie[@]}"})
use_cookie() {
  if [[ "$1" == /backoffice* && ${#operator_cookie[@]} -gt 0 ]]; then cur=("${operator_cookie[@]}"); else cur=("${cookie[@]}"); fi
}

# The dashboard shows the demo's history once its first collection has counted it (a few
# seconds after the start, tens on a loaded machine): measured before, it would be an empty page.
for p in "${paths[@]}"; do
  if [[ "$p" == /dati/cruscotto* || "$p" == /backoffice/cruscotto* ]]; then
    for ((i = 0; i < 240; i++)); do
      grep -q 'dashboard: figures collected' "$tmp/civico.log" && break
      kill -0 "$civico_pid" 2>/dev/null || die "civico exited (log: $tmp/civico.log)"
      sleep 0.5
    done
    grep -q 'dashboard: figures collected' "$tmp/civico.log" ||
      echo "bench/http.sh: warning: no dashboard collection logged within 120 s (a database counted before?): measuring the dashboard as it is" >&2
    break
  fi
done

# Every path must answer 200 before it is measured: a fast 404 or a redirect to the login would
# look like a fast page. Its database statements are read from a second request, as wrk's see
# the page (the first may fill a cache of shared contents); an anonymous page that the page cache
# answers shows 0.
declare -A queries
if [[ "$login" != none ]]; then
  # The login just changed the account: each process keeps it out of its session cache for a few
  # seconds (identity.SessionCache.HotFor, 5 s), and reads the session from the database meanwhile.
  # Pages are measured as the resident gets them after that.
  sleep 6
fi
for p in "${paths[@]}"; do
  [[ "$p" == /* ]] || die "path '$p' must start with /"
  for _ in 1 2; do
    use_cookie "$p"
    code=$(curl -s -o /dev/null -D "$tmp/probe.h" -w '%{http_code}' --max-time 10 "${cur[@]}" "$portal$p" || true)
    [[ "$code" == 200 ]] || die "GET $p answered $code, not 200: not measuring it"
  done
  queries[$p]=$(tr -d '\r' <"$tmp/probe.h" | awk 'tolower($1) == "x-civico-queries:" {print $2}')
done

# to_ms converts a wrk duration (123.45us, 1.23ms, 1.05s, 2.00m) to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000; else if (u != "ms") { print "?"; exit }
    printf "%.2f", n
  }'
}

# run NAME URL [WRK-ARGS...] runs wrk and appends "NAME rps p50ms p99ms errors" to $tmp/results.
run() {
  local name=$1 url=$2 out="$tmp/wrk-$RANDOM.txt" rps p50 p99 errors
  echo "wrk -t$threads -c$connections -d$duration --latency $url" >&2
  "${cpu0[@]}" wrk -t"$threads" -c"$connections" -d"$duration" --latency "${@:3}" "$url" >"$out" 2>&1 ||
    { cat "$out" >&2; die "wrk failed against $url"; }
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(awk '$1 == "50%" {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  [[ -n "$rps" && -n "$p50" && -n "$p99" ]] || { cat "$out" >&2; die "cannot read wrk's output for $url"; }
  errors=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$out")
  echo "$name $rps $(to_ms "$p50") $(to_ms "$p99") $errors ${queries[${name#civico }]:--}" >>"$tmp/results"
  echo "  -> $rps req/s, p50 $p50, p99 $p99, errors $errors" >&2
}

: >"$tmp/results"
run hello "http://127.0.0.1:$hello_port/"
for p in "${paths[@]}"; do
  use_cookie "$p"
  run "civico $p" "$portal$p" "${cur[@]}"
done

cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
echo
echo "### civico HTTP benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- machine: $(nproc) cores, ${cpu:-unknown CPU}"
echo "- $(go version)"
echo "- civico version: $("$tmp/civico" version </dev/null 2>&1 | head -n 1), database: $backend"
if [[ "$login" == none ]]; then
  echo "- anonymous visitor (page cache TTL: ${CIVICO_PAGE_CACHE_TTL:-10s})"
else
  echo "- logged in ($who): every page rendered at every request"
  [[ "$volume" != 1 ]] || echo "- a town's volume: 100,000 applications, 200 of them the resident's, and 500 notices of his; /backoffice/pratiche as the operator Paola Esposito (card, role desk)"
fi
echo "- wrk -t$threads -c$connections -d$duration --latency, all on 127.0.0.1"
echo
echo "| target | req/s | p50 | p99 | vs hello | queries |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
# The target name may contain spaces ("civico /notizie"): the five values are the last fields.
awk '{
  q = $NF; errors = $(NF-1); p99 = $(NF-2); p50 = $(NF-3); rps = $(NF-4)
  name = $1; for (i = 2; i <= NF-5; i++) name = name " " $i
  if (NR == 1) ceiling = rps
  ratio = (ceiling > 0) ? sprintf("%.1f%%", 100 * rps / ceiling) : "?"
  note = (errors > 0) ? sprintf(" (%d errors)", errors) : ""
  printf "| %s%s | %.0f | %s ms | %s ms | %s | %s |\n", name, note, rps, p50, p99, ratio, q
}' "$tmp/results"
echo
echo "A database-backed page should reach at least 20% of hello's req/s."
