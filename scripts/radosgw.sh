#!/usr/bin/env bash
# A throwaway S3 server (Ceph radosgw) for one test run.
#
#   scripts/radosgw.sh start STATE_DIR   prints FIRN_S3_ENDPOINT=…, FIRN_S3_ACCESS_KEY_ID=…,
#                                        FIRN_S3_SECRET_ACCESS_KEY=…, FIRN_S3_REGION=… lines
#   scripts/radosgw.sh stop STATE_DIR    stops it and removes STATE_DIR
#
# `start` installs radosgw, ceph-mon and ceph-osd with apt-get when missing (as root), then runs a
# one-node cluster entirely under STATE_DIR: one monitor, one OSD on memstore (the objects live in
# the OSD's memory, nothing on disk) and radosgw, on free ports of 127.0.0.1, with no systemd and
# no cephx. It creates an S3 user with random keys and no bucket (tests make their own).
# The OSD may hold FIRN_RGW_MEMSTORE_BYTES of objects in memory (default 8 GiB; benchmarks raise it).
# The facts behind each setting are in STACK.md §4 (about 13 s from nothing on this machine).
set -euo pipefail

HOST=127.0.0.1
RGW_NAME=client.rgw.firn

usage() {
  echo "usage: $0 start|stop STATE_DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
state=$2

log() { echo "radosgw.sh: $*" >&2; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Polls `$@` every 0.25 s for up to $1 seconds.
wait_for() {
  local secs=$1 what=$2 i
  shift 2
  for i in $(seq 1 $((secs * 4))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  log "$what not ready after $secs s (logs in $state/log)"
  return 1
}

install_if_missing() {
  command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null && return 0
  [ "$(id -u)" = 0 ] || { log "radosgw, ceph-mon and ceph-osd are not installed (apt-get install radosgw ceph-mon ceph-osd)"; exit 1; }
  log "installing radosgw ceph-mon ceph-osd"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends radosgw ceph-mon ceph-osd >&2
}

ceph_() { ceph --conf "$state/ceph.conf" --connect-timeout 5 "$@"; }

osd_up() { ceph_ osd stat | grep -q '1 up'; }

rgw_answers() { curl -sf -o /dev/null "http://$HOST:$rgw_port/"; }

start() {
  install_if_missing
  mkdir -p "$state"
  [ ! -e "$state/ceph.conf" ] || { log "$state already holds a run (stop it first)"; exit 1; }
  state=$(cd "$state" && pwd)
  mkdir -p "$state/run" "$state/log" "$state/mon" "$state/osd"
  local fsid mon_port
  fsid=$(cat /proc/sys/kernel/random/uuid)
  mon_port=$(free_port)
  rgw_port=$(free_port)
  cat >"$state/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:$HOST:$mon_port
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = ${FIRN_RGW_MEMSTORE_BYTES:-8589934592}
run dir = $state/run
pid file = $state/run/\$name.pid
log file = $state/log/\$name.log
admin socket = $state/run/\$name.asok
mon data = $state/mon/\$cluster-\$id
osd data = $state/osd/\$cluster-\$id
keyring = $state/keyring

[$RGW_NAME]
rgw frontends = beast endpoint=$HOST:$rgw_port
rgw data = $state/rgw
# Deleted objects' data go to radosgw's garbage collector, which by default frees them after 2 h:
# on memstore, deleted bytes would keep filling the OSD's memory (a benchmark filled 8 GiB so).
rgw gc obj min wait = 5
rgw gc processor period = 5
EOF
  echo "http://$HOST:$rgw_port" >"$state/endpoint"

  monmaptool --create --addv a "[v2:$HOST:$mon_port]" --fsid "$fsid" "$state/monmap" >/dev/null
  ceph-mon --conf "$state/ceph.conf" --mkfs -i a --monmap "$state/monmap" >/dev/null 2>&1
  ceph-mon --conf "$state/ceph.conf" -i a 2>>"$state/log/daemons.err"
  wait_for 30 "ceph-mon" ceph_ -s

  local id
  id=$(ceph_ osd create)
  mkdir -p "$state/osd/ceph-$id"
  ceph-osd --conf "$state/ceph.conf" -i "$id" --mkfs >/dev/null 2>&1
  ceph-osd --conf "$state/ceph.conf" -i "$id" 2>>"$state/log/daemons.err"
  wait_for 60 "ceph-osd" osd_up

  mkdir -p "$state/rgw"
  # setsid: a wrapper's timeout or Ctrl-C on the caller's process group must not take it down.
  setsid radosgw --conf "$state/ceph.conf" -n "$RGW_NAME" </dev/null >/dev/null 2>&1
  wait_for 90 "radosgw on port $rgw_port" rgw_answers

  local access secret
  access=$(tr -dc 'A-Z0-9' </dev/urandom | head -c 20 || true)
  secret=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 40 || true)
  radosgw-admin --conf "$state/ceph.conf" user create --uid=firn-test --display-name='Firn tests' \
    --access-key="$access" --secret-key="$secret" >/dev/null 2>>"$state/log/daemons.err"
  echo "FIRN_S3_ENDPOINT=http://$HOST:$rgw_port"
  echo "FIRN_S3_ACCESS_KEY_ID=$access"
  echo "FIRN_S3_SECRET_ACCESS_KEY=$secret"
  echo "FIRN_S3_REGION=us-east-1"
}

# Kills the daemon whose pid file is $1 and waits for it to end (SIGKILL after 10 s).
kill_pidfile() {
  local f=$1 pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.25
  done
  kill -9 "$pid" 2>/dev/null || true
}

stop() {
  [ -d "$state" ] || { log "no state in $state (nothing to stop)"; exit 0; }
  # radosgw first (it talks to the OSD), then the OSD, then the monitor.
  kill_pidfile "$state/run/$RGW_NAME.pid"
  local f
  for f in "$state"/run/osd.*.pid; do kill_pidfile "$f"; done
  kill_pidfile "$state/run/mon.a.pid"
  rm -rf "$state"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
