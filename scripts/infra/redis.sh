#!/usr/bin/env bash
# Redis for feedmesh tests, from Debian's redis-server package, run by this script (not by the
# Debian service) on loopback with no persistence: a cache that starts empty every time.
#
#   redis.sh install   apt-get install -y redis-server (apt-get update first only when that fails);
#                      no-op when redis-server and redis-cli are there; needs root
#   redis.sh start     start redis-server in the background, wait until it answers PING
#                      (no-op if already running)
#   redis.sh stop      SHUTDOWN NOSAVE, then TERM, then KILL after $REDIS_STOP_TIMEOUT s
#   redis.sh restart   stop + start (the data is dropped: nothing is persisted)
#   redis.sh status    one line: running or not, pid, port, ready or not, RSS; exit 1 when stopped
#   redis.sh env       export lines for the feedmesh services (FEEDMESH_REDIS_URL)
#   redis.sh cli ARGS...           redis-cli against this server
#   redis.sh logtail   last lines of the log       redis.sh installed / precheck (as for the others)
#
# Environment:
#   REDIS_HOST (127.0.0.1)   REDIS_PORT (16379)   REDIS_READY_TIMEOUT (20)   REDIS_STOP_TIMEOUT (10)
#   REDIS_MAXMEMORY (0 = no limit; e.g. 256mb, then allkeys-lru eviction)
#   INFRA_HOME ($HOME/.cache/feedmesh-infra): pid file and log under $INFRA_HOME/run/feedmesh/redis
set -euo pipefail
NAME=redis
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

REDIS_HOST="${REDIS_HOST:-127.0.0.1}"
REDIS_PORT="${REDIS_PORT:-16379}"
REDIS_READY_TIMEOUT="${REDIS_READY_TIMEOUT:-20}"
REDIS_STOP_TIMEOUT="${REDIS_STOP_TIMEOUT:-10}"
REDIS_MAXMEMORY="${REDIS_MAXMEMORY:-0}"
check_port REDIS_PORT

RUN="$INFRA_RUN/redis"
PIDFILE="$RUN/pid"
LOG="$RUN/server.log"

installed() { command -v redis-server >/dev/null && command -v redis-cli >/dev/null; }

apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=300 redis-server; }

do_install() {
  if installed; then log "redis already installed: $(redis-server --version | cut -d' ' -f1-3)"; return 0; fi
  [ "$(id -u)" = 0 ] || die "redis-server is not installed and installing it needs root: sudo apt-get install -y redis-server"
  command -v apt-get >/dev/null || die "redis-server is not installed and there is no apt-get; install Redis 7 so that redis-server and redis-cli are on PATH"
  local t0=$SECONDS aptlog="$INFRA_HOME/redis-apt.log"
  mkdir -p "$INFRA_HOME"; : > "$aptlog"
  # The package's postinst would start the Debian service (redis on 6379) through invoke-rc.d;
  # a policy-rc.d that answers 101 stops that. Only added when the machine has none.
  local policy=/usr/sbin/policy-rc.d added=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# temporary, from feedmesh scripts/infra/redis.sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; added=1
  fi
  log "installing: apt-get install -y redis-server (log: $aptlog)"
  local rc=0
  with_heartbeat "installing redis-server with apt-get" "$aptlog" apt_install || rc=$?
  if [ $rc != 0 ]; then
    log "apt-get install failed (package lists missing or stale?); running apt-get update and trying again"
    with_heartbeat "running apt-get update" "$aptlog" apt-get update -o DPkg::Lock::Timeout=300 || true
    rc=0; with_heartbeat "installing redis-server with apt-get" "$aptlog" apt_install || rc=$?
  fi
  [ -n "$added" ] && rm -f "$policy"
  if [ $rc != 0 ] || ! installed; then tail -n 20 "$aptlog" >&2; die "apt-get install -y redis-server failed (log: $aptlog)"; fi
  log "installed $(redis-server --version | cut -d' ' -f1-3) with apt-get in $((SECONDS - t0)) s"
}
cmd_install() { installed && { log "redis already installed: $(redis-server --version | cut -d' ' -f1-3)"; return 0; }
                with_lock "$LOCKS/redis-install.lock" 900 do_install; }

ADDR="$REDIS_HOST:$REDIS_PORT"
# a redis-server whose working directory is our run directory (it chdirs to --dir)
pid_alive() { pid_matches "$PIDFILE" "redis-server " && [ "$(readlink "/proc/$(cat "$PIDFILE")/cwd")" = "$RUN" ]; }
# redis-server rewrites its process title to "redis-server HOST:PORT"
running_addr() { cmdline_of "$(cat "$PIDFILE")" | sed -n 's/^[^ ]*redis-server \([^ ]*\).*/\1/p'; }
cli() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" "$@"; }
ready() { [ "$(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

cmd_logtail() { { echo "---- last lines of $LOG:"; tail -n 30 "$LOG" 2>/dev/null; echo "----"; } >&2; }
show_failure() { [ -n "${INFRA_NO_LOGTAIL:-}" ] || cmd_logtail; }

precheck() { if pid_alive; then check_running_addr; return 0; fi; ensure_ports_free "$REDIS_HOST" "$REDIS_PORT:REDIS_PORT"; }

cmd_start() {
  mkdir -p "$RUN"
  exec 9>"$RUN/lock"; flock -w "$REDIS_READY_TIMEOUT" 9 || die "another redis.sh holds $RUN/lock"
  if pid_alive; then check_running_addr; log "already running (pid $(cat "$PIDFILE")) on $REDIS_HOST:$REDIS_PORT"; return 0; fi
  precheck
  installed || cmd_install
  [ -f "$LOG" ] && mv -f "$LOG" "$LOG.1"
  # volatile-lru: every key of the feed's read model but its celebrity epoch has an expiry, and the
  # epoch must not be evicted (docs/operations.md, "The read model").
  local mem=(); [ "$REDIS_MAXMEMORY" != 0 ] && mem=(--maxmemory "$REDIS_MAXMEMORY" --maxmemory-policy volatile-lru)
  local t0; t0=$(now_ms)
  # no config file: everything on the command line; --daemonize no because spawn detaches it
  spawn "$PIDFILE" "$LOG" redis-server --bind "$REDIS_HOST" --port "$REDIS_PORT" \
    --save "" --appendonly no --dir "$RUN" --daemonize no --logfile "" --loglevel notice \
    --protected-mode yes --zset-max-listpack-entries 512 "${mem[@]}"
  local pid; pid="$(cat "$PIDFILE")"
  local deadline=$((SECONDS + REDIS_READY_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if ! alive "$pid"; then
      log "redis exited during start-up (log: $LOG)"; show_failure; rm -f "$PIDFILE"; exit 1
    fi
    if ready; then
      log "redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') ready on $REDIS_HOST:$REDIS_PORT (pid $pid) in $(( $(now_ms) - t0 )) ms, RSS $(rss "$pid"), no persistence, log $LOG"
      return 0
    fi
    sleep 0.1
  done
  log "redis not answering PING on $REDIS_HOST:$REDIS_PORT after ${REDIS_READY_TIMEOUT}s (log: $LOG)"; show_failure
  cmd_stop; exit 1
}

cmd_stop() {
  if ! pid_alive; then rm -f "$PIDFILE"; log "redis not running"; return 0; fi
  local pid; pid="$(cat "$PIDFILE")"
  timeout 5 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  local _i; for _i in $(seq 1 30); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then stop_pid "$PIDFILE" "$REDIS_STOP_TIMEOUT" || true; fi
  rm -f "$PIDFILE"
  log "stopped redis pid $pid"
}

cmd_status() { server_status ready "redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), log $LOG"; }

if is_common_command "${1:-}"; then run_common_command "$1"; exit; fi
case "${1:-}" in
  env)       echo "export FEEDMESH_REDIS_URL=redis://$REDIS_HOST:$REDIS_PORT" ;;
  cli)       shift; cli "$@" ;;
  reset)     cmd_stop ;;
  *) script_usage >&2; exit 2 ;;
esac
