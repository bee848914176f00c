#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for civico's tests: fast, local, disposable.
#
# Usage:
#   scripts/pg-test-cluster.sh start DIR   initialise DIR if needed, start the server, create the
#                                          database civico_test and print ONLY its URL on stdout:
#                                          postgres://USER@127.0.0.1:PORT/civico_test?sslmode=disable
#   scripts/pg-test-cluster.sh stop DIR    stop the server (DIR is left in place: remove it yourself)
#   scripts/pg-test-cluster.sh url DIR     print the URL of the running cluster in DIR
#   scripts/pg-test-cluster.sh status DIR  exit 0 if the cluster in DIR is running
#
# Typical use:
#   dir=$(mktemp -d)
#   export CIVICO_TEST_POSTGRES_URL=$(scripts/pg-test-cluster.sh start "$dir")
#   go test ./...
#   scripts/pg-test-cluster.sh stop "$dir" && rm -rf "$dir"
#
# Layout of DIR: data/ (the cluster), postgres.log (server log), port (the TCP port in use),
# user (the superuser name) and the server's unix socket, DIR/.s.PGSQL.PORT.
#
# PostgreSQL refuses to run as root: run as root, the cluster belongs to the unprivileged
# `postgres` system user (DIR is chowned to it); run as any other user, it belongs to that user,
# who is also the database superuser. The server listens on 127.0.0.1 only, on a free port, with
# trust authentication (any local user may connect: use it for tests only), and with fsync off:
# a crash may lose the data, which is the point of a throwaway cluster.
#
# Environment: PG_BINDIR overrides where initdb, pg_ctl, pg_isready and psql are looked up
# (default: /usr/lib/postgresql/15/bin, else the newest /usr/lib/postgresql/*/bin, else PATH).
set -euo pipefail

prog=$(basename "$0")
# runuser lives in /usr/sbin, which a minimal PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"
dbname=civico_test

die() {
  echo "$prog: error: $*" >&2
  exit 1
}

usage() {
  echo "usage: $prog start|stop|url|status DIR" >&2
  exit 2
}

# find_bindir sets bindir to the directory holding the PostgreSQL server programs.
find_bindir() {
  if [[ -n "${PG_BINDIR:-}" ]]; then
    bindir=$PG_BINDIR
  elif [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
    bindir=/usr/lib/postgresql/15/bin
  else
    bindir=
    local d
    while IFS= read -r d; do
      if [[ -x "$d/initdb" ]]; then bindir=$d; fi
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k4 -n)
    if [[ -z "$bindir" ]] && command -v initdb >/dev/null 2>&1; then
      bindir=$(dirname "$(command -v initdb)")
    fi
  fi
  [[ -n "$bindir" ]] ||
    die "PostgreSQL server programs not found (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH). On Debian: apt-get install -y postgresql-15 (or set PG_BINDIR)"
  local p
  for p in initdb pg_ctl pg_isready psql; do
    [[ -x "$bindir/$p" ]] || die "$bindir/$p is missing or not executable (install postgresql-15, or set PG_BINDIR)"
  done
}

# as_owner runs a command as the cluster's owner, from inside DIR (so that the owner, who may not
# read the caller's working directory, gets no "could not change directory" warnings).
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    (cd "$dir" && runuser -u postgres -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

# port_in_use tells whether something on this machine accepts connections on 127.0.0.1:$1.
port_in_use() {
  if command -v ss >/dev/null 2>&1; then
    [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# pick_port prints a random TCP port that nothing listens on, below the kernel's ephemeral
# range (32768+) so that outgoing connections cannot take it meanwhile.
pick_port() {
  local p i
  for ((i = 0; i < 100; i++)); do
    p=$((15000 + RANDOM % 17000))
    if ! port_in_use "$p"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# postmaster_pid prints the PID recorded in DIR/data/postmaster.pid, if any.
postmaster_pid() {
  head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true
}

# is_zombie tells whether process $1 has exited but not been reaped yet (kill -0, and so
# pg_ctl status, still sees such a process).
is_zombie() {
  [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" == Z ]]
}

is_running() {
  local pid
  pid=$(postmaster_pid)
  [[ -n "$pid" ]] || return 1
  is_zombie "$pid" && return 1
  as_owner "$bindir/pg_ctl" status -D "$dir/data" >/dev/null 2>&1
}

print_url() {
  local port user
  port=$(cat "$dir/port" 2>/dev/null) || die "$dir/port is missing: was the cluster started with '$prog start'?"
  user=$(cat "$dir/user" 2>/dev/null) || die "$dir/user is missing: was the cluster started with '$prog start'?"
  echo "postgres://$user@127.0.0.1:$port/$dbname?sslmode=disable"
}

show_log() {
  if [[ -s "$1" ]]; then
    echo "---- last lines of $1 ----" >&2
    tail -n 30 "$1" >&2
    echo "----" >&2
  fi
}

init_cluster() {
  local user=$1
  echo "$prog: initialising a new cluster in $dir/data" >&2
  if ! as_owner "$bindir/initdb" -D "$dir/data" -U "$user" --auth=trust -E UTF8 --locale=C --no-sync \
    >"$dir/initdb.log" 2>&1; then
    show_log "$dir/initdb.log"
    rm -rf "$dir/data"
    die "initdb failed (full output in $dir/initdb.log)"
  fi
  # Settings for a fast, local, disposable server. The port is given at each start.
  cat >>"$dir/data/postgresql.conf" <<EOF

# ---- added by $prog: a throwaway test cluster ----
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
unix_socket_permissions = 0777
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
checkpoint_timeout = 30min
max_wal_size = 1GB
log_min_messages = warning
log_min_error_statement = panic
log_timezone = 'UTC'
timezone = 'UTC'
EOF
  echo "$user" >"$dir/user"
}

cmd_start() {
  local user
  if [[ "$(id -u)" == 0 ]]; then
    id postgres >/dev/null 2>&1 ||
      die "running as root but there is no 'postgres' system user to own the cluster (install postgresql-15, or run as an unprivileged user)"
    command -v runuser >/dev/null 2>&1 || die "runuser (util-linux) is needed to run PostgreSQL as 'postgres'"
    user=postgres
  else
    user=$(id -un) || die "cannot tell the current user's name"
  fi

  mkdir -p "$dir" || die "cannot create $dir"
  dir=$(cd "$dir" && pwd -P) # absolute: the server runs from elsewhere, and the URL files must be found
  # The socket path must fit in sockaddr_un (107 bytes): DIR/.s.PGSQL.NNNNN.
  ((${#dir} <= 90)) || die "path $dir is too long for a unix socket (at most 90 characters): choose a shorter DIR"
  case $dir in *\'* | *\\*) die "DIR must not contain quotes or backslashes: $dir" ;; esac

  if [[ "$(id -u)" == 0 ]]; then
    if [[ -d "$dir/data" ]]; then
      [[ "$(stat -c %U "$dir/data")" == postgres ]] ||
        die "$dir/data exists but is not owned by 'postgres': remove it, or use another DIR"
    fi
    chown postgres: "$dir" || die "cannot chown $dir to postgres"
    chmod 0700 "$dir"
    runuser -u postgres -- test -w "$dir" -a -x "$dir" ||
      die "user 'postgres' cannot enter $dir: a parent directory is not searchable by others (chmod o+x it, or use e.g. DIR=\$(mktemp -d))"
  else
    [[ -w "$dir" ]] || die "$dir is not writable by $(id -un)"
  fi

  if [[ -f "$dir/data/PG_VERSION" ]]; then
    [[ -f "$dir/user" ]] || echo "$user" >"$dir/user"
    if is_running; then
      echo "$prog: the cluster in $dir is already running" >&2
      print_url
      return 0
    fi
  elif [[ -e "$dir/data" ]]; then
    die "$dir/data exists but holds no cluster (no PG_VERSION): remove it, or use another DIR"
  else
    init_cluster "$user"
  fi
  user=$(cat "$dir/user")

  # A server that died without cleaning up leaves postmaster.pid behind; PostgreSQL clears it by
  # itself unless the dead postmaster is an unreaped zombie, which it mistakes for a live one.
  local oldpid
  oldpid=$(postmaster_pid)
  if [[ -n "$oldpid" ]] && is_zombie "$oldpid"; then
    echo "$prog: removing the stale postmaster.pid of the dead server $oldpid" >&2
    rm -f "$dir/data/postmaster.pid"
  fi

  # Start on a free port; if another process takes it meanwhile, try another one.
  local port attempt started=
  for attempt in 1 2 3 4 5; do
    port=$(pick_port) || die "found no free TCP port on 127.0.0.1"
    : >"$dir/postgres.log"
    if [[ "$(id -u)" == 0 ]]; then chown postgres: "$dir/postgres.log"; fi
    if as_owner "$bindir/pg_ctl" start -D "$dir/data" -l "$dir/postgres.log" -w -t 60 -o "-c port=$port" >&2; then
      started=1
      break
    fi
    if grep -qiE 'could not (bind|create any TCP/IP)|address already in use' "$dir/postgres.log"; then
      echo "$prog: port $port was taken, trying another one (attempt $attempt)" >&2
      continue
    fi
    break
  done
  if [[ -z "$started" ]]; then
    show_log "$dir/postgres.log"
    die "the PostgreSQL server in $dir did not start (log: $dir/postgres.log)"
  fi
  echo "$port" >"$dir/port"

  # pg_ctl -w already waited; make sure the TCP listener answers too.
  local i
  for ((i = 0; i < 60; i++)); do
    if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$user" -d postgres -t 1; then
      break
    fi
    sleep 0.5
  done
  if ! "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$user" -d postgres -t 5; then
    show_log "$dir/postgres.log"
    die "the server in $dir started but does not accept connections on 127.0.0.1:$port"
  fi

  local psql=("$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$user")
  local exists
  exists=$(PGCONNECT_TIMEOUT=10 "${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$dbname'") ||
    die "cannot query the server on 127.0.0.1:$port as $user"
  if [[ "$exists" != 1 ]]; then
    PGCONNECT_TIMEOUT=10 "${psql[@]}" -d postgres -c "CREATE DATABASE $dbname" >&2 ||
      die "cannot create the database $dbname"
  fi
  print_url
}

cmd_stop() {
  [[ -d "$dir" ]] || die "$dir does not exist"
  dir=$(cd "$dir" && pwd -P)
  if [[ ! -f "$dir/data/PG_VERSION" ]]; then
    echo "$prog: $dir holds no cluster (no data/PG_VERSION): nothing to stop" >&2
    return 0
  fi
  if ! is_running; then
    echo "$prog: the cluster in $dir is not running" >&2
    return 0
  fi
  if as_owner "$bindir/pg_ctl" stop -D "$dir/data" -m fast -w -t 30 >&2; then
    return 0
  fi
  echo "$prog: fast shutdown failed, trying immediate shutdown" >&2
  as_owner "$bindir/pg_ctl" stop -D "$dir/data" -m immediate -w -t 30 >&2 ||
    die "could not stop the server in $dir (log: $dir/postgres.log)"
}

[[ $# -eq 2 ]] || usage
action=$1
dir=$2
[[ -n "$dir" ]] || usage
# Keep a caller's libpq settings from steering the commands below.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGOPTIONS PGDATA PGSSLMODE
find_bindir

case "$action" in
start) cmd_start ;;
stop) cmd_stop ;;
url)
  dir=$(cd "$dir" 2>/dev/null && pwd -P) || die "$2 does not exist"
  is_running || die "the cluster in $dir is not running"
  print_url
  ;;
status)
  dir=$(cd "$dir" 2>/dev/null && pwd -P) || die "$2 does not exist"
  if is_running; then
    echo "running: $(print_url)" >&2
  else
    echo "not running" >&2
    exit 1
  fi
  ;;
*) usage ;;
esac
