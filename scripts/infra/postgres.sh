#!/usr/bin/env bash
# PostgreSQL from Debian's postgresql package, for the naive-pull baseline of `make bench`: an own
# cluster (initdb) on a loopback port with its own data directory, run by this script (not by the
# Debian service), TCP only, trust authentication on loopback (a benchmark database, no secrets).
#
#   postgres.sh install   apt-get install -y postgresql (apt-get update first only when that fails);
#                         no-op when initdb/postgres/pg_isready are there; needs root
#   postgres.sh start     initdb on first use, start, wait until pg_isready answers (no-op if running)
#   postgres.sh stop      fast shutdown (INT), then TERM, then KILL after $POSTGRES_STOP_TIMEOUT s
#   postgres.sh restart   stop + start (data is kept)
#   postgres.sh status    one line: running or not, pid, port, ready or not, RSS; exit 1 when stopped
#   postgres.sh env       export lines (FEEDMESH_BENCH_PG_URL) for bench/feed
#   postgres.sh psql ARGS...   psql against this server as $POSTGRES_USER
#   postgres.sh reset     stop, delete the data directory
#   postgres.sh logtail / logfile / installed / precheck   as for the other servers
#
# Environment:
#   POSTGRES_HOST (127.0.0.1)   POSTGRES_PORT (15432)   POSTGRES_USER (feedmesh, the superuser)
#   POSTGRES_READY_TIMEOUT (30)   POSTGRES_STOP_TIMEOUT (20)
#   POSTGRES_SHARED_BUFFERS (256MB)
#   POSTGRES_DATA_DIR ($INFRA_HOME/data/postgres). PostgreSQL refuses to run as root: as root the
#     server runs as the `postgres` account the Debian package creates; when that account cannot
#     enter INFRA_HOME (e.g. under /root, mode 700), the data lives in /var/lib/feedmesh-postgres/
#     and $POSTGRES_DATA_DIR is a symlink to it (no permission of /root is changed).
#   INFRA_HOME ($HOME/.cache/feedmesh-infra): pid file and log under $INFRA_HOME/run/feedmesh/postgres
set -euo pipefail
NAME=postgres
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

POSTGRES_HOST="${POSTGRES_HOST:-127.0.0.1}"
POSTGRES_PORT="${POSTGRES_PORT:-15432}"
POSTGRES_USER="${POSTGRES_USER:-feedmesh}"
POSTGRES_READY_TIMEOUT="${POSTGRES_READY_TIMEOUT:-30}"
POSTGRES_STOP_TIMEOUT="${POSTGRES_STOP_TIMEOUT:-20}"
POSTGRES_SHARED_BUFFERS="${POSTGRES_SHARED_BUFFERS:-256MB}"
POSTGRES_DATA_DIR="${POSTGRES_DATA_DIR:-$INFRA_DATA/postgres}"
check_port POSTGRES_PORT

RUN="$INFRA_RUN/postgres"
PIDFILE="$RUN/pid"
LOG="$RUN/server.log"
ADDR="$POSTGRES_HOST:$POSTGRES_PORT"

# the newest installed major version's binaries (Debian keeps them off PATH)
pgbin() { local d; d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"; echo "${d:-/nonexistent}"; }
installed() { local b; b="$(pgbin)"; [ -x "$b/initdb" ] && [ -x "$b/postgres" ] && [ -x "$b/pg_isready" ]; }

apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=300 postgresql; }

do_install() {
  if installed; then log "postgres already installed: $("$(pgbin)/postgres" --version)"; return 0; fi
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed and installing it needs root: sudo apt-get install -y postgresql"
  command -v apt-get >/dev/null || die "PostgreSQL is not installed and there is no apt-get; install PostgreSQL 13+ (initdb, postgres, pg_isready)"
  local t0=$SECONDS aptlog="$INFRA_HOME/postgres-apt.log"
  mkdir -p "$INFRA_HOME"; : > "$aptlog"
  # The package's postinst would start the Debian cluster on 5432 through invoke-rc.d; a
  # policy-rc.d that answers 101 stops that (as redis.sh does). Only added when the machine has none.
  local policy=/usr/sbin/policy-rc.d added=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# temporary, from feedmesh scripts/infra/postgres.sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; added=1
  fi
  log "installing: apt-get install -y postgresql (log: $aptlog)"
  local rc=0
  with_heartbeat "installing postgresql with apt-get" "$aptlog" apt_install || rc=$?
  if [ $rc != 0 ]; then
    log "apt-get install failed (package lists missing or stale?); running apt-get update and trying again"
    with_heartbeat "running apt-get update" "$aptlog" apt-get update -o DPkg::Lock::Timeout=300 || true
    rc=0; with_heartbeat "installing postgresql with apt-get" "$aptlog" apt_install || rc=$?
  fi
  [ -n "$added" ] && rm -f "$policy"
  if [ $rc != 0 ] || ! installed; then tail -n 20 "$aptlog" >&2; die "apt-get install -y postgresql failed (log: $aptlog)"; fi
  log "installed $("$(pgbin)/postgres" --version) with apt-get in $((SECONDS - t0)) s"
}
cmd_install() { installed && { log "postgres already installed: $("$(pgbin)/postgres" --version)"; return 0; }
                with_lock "$LOCKS/postgres-install.lock" 900 do_install; }

# As root, run as the Debian package's `postgres` account; otherwise as ourselves.
as_server() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi; }

# The data directory the server really uses (see POSTGRES_DATA_DIR above).
DATA=""
resolve_data() {
  DATA="$POSTGRES_DATA_DIR"
  [ -L "$POSTGRES_DATA_DIR" ] && DATA="$(readlink -f "$POSTGRES_DATA_DIR")"
  [ "$(id -u)" = 0 ] || return 0
  id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' account (created by Debian's postgresql package)"
  [ -L "$POSTGRES_DATA_DIR" ] && return 0
  mkdir -p "$(dirname "$POSTGRES_DATA_DIR")"
  if ! as_server test -x "$(dirname "$POSTGRES_DATA_DIR")"; then
    DATA="/var/lib/feedmesh-postgres/$(echo "$POSTGRES_DATA_DIR" | md5sum | cut -c1-8)"
    log "the postgres account cannot enter $(dirname "$POSTGRES_DATA_DIR"); data in $DATA (symlinked from $POSTGRES_DATA_DIR)"
    mkdir -p "$DATA"; chown postgres:postgres "$(dirname "$DATA")" "$DATA"; chmod 700 "$DATA"
    if [ -d "$POSTGRES_DATA_DIR" ]; then rmdir "$POSTGRES_DATA_DIR" 2>/dev/null || true; fi
    ln -sfn "$DATA" "$POSTGRES_DATA_DIR"
  fi
}

pid_alive() { pid_matches "$PIDFILE" "postgres -D "; }
running_addr() { cmdline_of "$(cat "$PIDFILE")" | sed -n 's/.*listen_addresses=\([^ ]*\).* port=\([0-9]*\).*/\1:\2/p'; }
ready() { timeout 3 "$(pgbin)/pg_isready" -q -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -U "$POSTGRES_USER" -d postgres; }

cmd_logtail() { { echo "---- last lines of $LOG:"; tail -n 30 "$LOG" 2>/dev/null; echo "----"; } >&2; }
show_failure() { [ -n "${INFRA_NO_LOGTAIL:-}" ] || cmd_logtail; }

precheck() { if pid_alive; then check_running_addr; return 0; fi; ensure_ports_free "$POSTGRES_HOST" "$POSTGRES_PORT:POSTGRES_PORT"; }

cmd_start() {
  mkdir -p "$RUN"
  exec 9>"$RUN/lock"; flock -w "$POSTGRES_READY_TIMEOUT" 9 || die "another postgres.sh holds $RUN/lock"
  if pid_alive; then check_running_addr; log "already running (pid $(cat "$PIDFILE")) on $ADDR"; return 0; fi
  precheck
  installed || cmd_install
  resolve_data
  local bin; bin="$(pgbin)"
  if [ ! -s "$DATA/PG_VERSION" ]; then
    mkdir -p "$DATA"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$DATA"; chmod 700 "$DATA"
    log "initdb $DATA (superuser $POSTGRES_USER, trust on loopback)"
    as_server "$bin/initdb" -D "$DATA" -U "$POSTGRES_USER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >>"$LOG" 2>&1 \
      || { show_failure; die "initdb failed (log: $LOG)"; }
  fi
  [ -f "$LOG" ] && mv -f "$LOG" "$LOG.1"
  local t0; t0=$(now_ms)
  # Everything on the command line; TCP on loopback only, no unix socket (its default directory
  # belongs to the Debian service).
  local as=(); [ "$(id -u)" = 0 ] && as=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  spawn "$PIDFILE" "$LOG" "${as[@]}" "$bin/postgres" -D "$DATA" -c listen_addresses="$POSTGRES_HOST" -c port="$POSTGRES_PORT" \
    -c unix_socket_directories= -c shared_buffers="$POSTGRES_SHARED_BUFFERS" -c max_connections=200 \
    -c fsync=on -c synchronous_commit=on -c logging_collector=off
  local pid; pid="$(cat "$PIDFILE")"
  local deadline=$((SECONDS + POSTGRES_READY_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if ! alive "$pid"; then log "postgres exited during start-up (log: $LOG)"; show_failure; rm -f "$PIDFILE"; exit 1; fi
    if ready; then
      log "$("$bin/postgres" --version) ready on $ADDR (pid $pid) in $(( $(now_ms) - t0 )) ms, RSS $(rss "$pid"), data $DATA, log $LOG"
      return 0
    fi
    sleep 0.2
  done
  log "postgres not ready on $ADDR after ${POSTGRES_READY_TIMEOUT}s (log: $LOG)"; show_failure
  cmd_stop; exit 1
}

cmd_stop() {
  if ! pid_alive; then rm -f "$PIDFILE"; log "postgres not running"; return 0; fi
  local pid; pid="$(cat "$PIDFILE")"
  kill -INT "$pid" 2>/dev/null || true   # fast shutdown: roll back open transactions, checkpoint
  local _i; for _i in $(seq 1 $((POSTGRES_STOP_TIMEOUT * 10))); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then stop_pid "$PIDFILE" 5 || true; fi
  rm -f "$PIDFILE"
  log "stopped postgres pid $pid"
}

cmd_status() { server_status ready "$("$(pgbin)/postgres" --version 2>/dev/null || echo 'postgres not installed'), log $LOG"; }

if is_common_command "${1:-}"; then run_common_command "$1"; exit; fi
case "${1:-}" in
  env)   echo "export FEEDMESH_BENCH_PG_URL=postgres://$POSTGRES_USER@$POSTGRES_HOST:$POSTGRES_PORT/postgres" ;;
  psql)  shift; "$(pgbin)/psql" -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -U "$POSTGRES_USER" "$@" ;;
  reset) cmd_stop; resolve_data; rm -rf "${DATA:?}"; [ -L "$POSTGRES_DATA_DIR" ] && rm -f "$POSTGRES_DATA_DIR"; log "deleted $DATA" ;;
  *) script_usage >&2; exit 2 ;;
esac
