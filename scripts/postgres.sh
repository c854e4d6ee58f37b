#!/usr/bin/env bash
# A fresh PostgreSQL database for one test run.
#
#   scripts/postgres.sh start STATE_DIR   prints postgres://… for a new, uniquely named database
#   scripts/postgres.sh stop STATE_DIR    drops it, and stops the server only if `start` started it
#
# `start` uses, in order: a server already answering on 127.0.0.1:$FIRN_PG_PORT (default 5432);
# a Debian cluster configured for that port, started with pg_ctlcluster; a throwaway cluster made
# with initdb in a temporary directory (installing the postgresql package first if there is none).
# postgres refuses to run as root, so as root the server and initdb run as the user postgres.
# The database belongs to a role made for the run, with a random password, so the URL works
# whether the server asks TCP clients for a password (Debian's default) or trusts them.
# STATE_DIR (created if missing) records what `stop` must undo; nothing else is kept.
set -euo pipefail

PORT=${FIRN_PG_PORT:-5432}
HOST=127.0.0.1

usage() {
  echo "usage: $0 start|stop STATE_DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
state=$2

log() { echo "postgres.sh: $*" >&2; }

# Runs a command as the user postgres when we are root (postgres will not run as root).
as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

pg_bin() {
  local v
  v=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
  [ -n "$v" ] && echo "/usr/lib/postgresql/$v/bin"
}

answers() { pg_isready -q -h "$HOST" -p "$PORT" -t 1 2>/dev/null; }

wait_ready() {
  local i
  for i in $(seq 1 60); do
    answers && return 0
    sleep 0.5
  done
  log "no server answered on $HOST:$PORT after 30 s"
  return 1
}

# A Debian cluster (VERSION NAME) whose configured port is $PORT, if any.
find_cluster() {
  local conf v name port
  for conf in /etc/postgresql/*/*/postgresql.conf; do
    [ -f "$conf" ] || continue
    port=$(sed -n 's/^[[:space:]]*port[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "$conf" | tail -n 1)
    [ "${port:-5432}" = "$PORT" ] || continue
    name=$(basename "$(dirname "$conf")")
    v=$(basename "$(dirname "$(dirname "$conf")")")
    echo "$v $name"
    return 0
  done
  return 1
}

# Superuser psql: over TCP as postgres when the server trusts it, else over the Unix socket.
admin_psql() {
  local sock
  sock=$(cat "$state/socket")
  if [ "$sock" = tcp ]; then
    psql -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PORT" -U postgres -d postgres -w "$@"
  else
    as_postgres psql -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$PORT" -d postgres "$@"
  fi
}

choose_admin_path() {
  if psql -X -q -h "$HOST" -p "$PORT" -U postgres -d postgres -w -c 'SELECT 1' >/dev/null 2>&1; then
    echo tcp >"$state/socket"
    return
  fi
  local dir
  for dir in "$state/cluster-socket" /var/run/postgresql /tmp; do
    if [ -S "$dir/.s.PGSQL.$PORT" ] && as_postgres psql -X -q -h "$dir" -p "$PORT" -d postgres -c 'SELECT 1' >/dev/null 2>&1; then
      echo "$dir" >"$state/socket"
      return
    fi
  done
  log "the server on $HOST:$PORT answers, but neither TCP as postgres without a password nor a local socket lets us in"
  exit 1
}

start_server() {
  local cluster bin dir
  if cluster=$(find_cluster); then
    log "starting cluster $cluster"
    # shellcheck disable=SC2086
    pg_ctlcluster --skip-systemctl-redirect $cluster start
    echo "cluster $cluster" >"$state/started"
    wait_ready
    return
  fi
  bin=$(pg_bin || true)
  if [ -z "$bin" ]; then
    [ "$(id -u)" = 0 ] || { log "no PostgreSQL installed (install the postgresql package)"; exit 1; }
    log "installing postgresql"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
    bin=$(pg_bin)
  fi
  dir=$(mktemp -d "${TMPDIR:-/tmp}/firn-pg-cluster.XXXXXX")
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  log "no cluster for port $PORT; a throwaway one in $dir"
  as_postgres "$bin/initdb" --no-sync -A trust -U postgres -D "$dir/data" >/dev/null
  as_postgres mkdir "$dir/socket"
  echo "initdb $dir" >"$state/started"
  as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-c listen_addresses=$HOST -p $PORT -k $dir/socket -c fsync=off" start >/dev/null
  ln -s "$dir/socket" "$state/cluster-socket"
  wait_ready
}

stop_server() {
  local how a b bin
  read -r how a b <"$state/started"
  case $how in
    cluster)
      log "stopping cluster $a $b (started by this script)"
      pg_ctlcluster --skip-systemctl-redirect "$a" "$b" stop -m fast
      ;;
    initdb)
      bin=$(pg_bin)
      log "stopping and removing the throwaway cluster $a"
      as_postgres "$bin/pg_ctl" -D "$a/data" -m fast -w stop >/dev/null || true
      rm -rf "$a"
      ;;
  esac
}

case $cmd in
  start)
    mkdir -p "$state"
    [ ! -e "$state/db" ] || { log "$state already holds a run (stop it first)"; exit 1; }
    echo "$PORT" >"$state/port"
    if answers; then
      echo "none" >"$state/started"
    else
      start_server
    fi
    choose_admin_path
    run="firn_ci_$(date -u +%Y%m%d%H%M%S)_$$_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
    password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    admin_psql -c "CREATE ROLE $run LOGIN PASSWORD '$password'" -c "CREATE DATABASE $run OWNER $run" >/dev/null
    echo "$run" >"$state/db"
    echo "postgres://$run:$password@$HOST:$PORT/$run"
    ;;
  stop)
    [ -d "$state" ] || { log "no state in $state (nothing to stop)"; exit 0; }
    [ -f "$state/port" ] && PORT=$(cat "$state/port")
    if [ -f "$state/db" ]; then
      run=$(cat "$state/db")
      admin_psql -c "DROP DATABASE IF EXISTS $run WITH (FORCE)" -c "DROP ROLE IF EXISTS $run" >/dev/null || log "could not drop $run"
    fi
    [ -f "$state/started" ] && stop_server
    rm -rf "$state"
    ;;
  *) usage ;;
esac
