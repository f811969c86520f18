#!/usr/bin/env bash
# Zipkin (trace UI and back end, in-memory storage) for feedmesh local runs: the Zipkin server exec
# jar from Maven Central (io.zipkin:zipkin-server:$ZIPKIN_VERSION:exec), Java 17+, on loopback.
# Takes Zipkin v2 JSON on POST /api/v2/spans (Node: @opentelemetry/exporter-zipkin); no OTLP.
# Adapted from the team's verified reference recipe (traces.sh).
#
#   zipkin.sh install   fetch the jar into $INFRA_HOME/zipkin-$ZIPKIN_VERSION (no-op when there)
#   zipkin.sh start     start, wait until /health answers (no-op if already running)
#   zipkin.sh stop      stop it (TERM, then KILL after 15 s); no-op when not running
#   zipkin.sh restart   stop + start (in-memory: traces are dropped)
#   zipkin.sh status    one line: running or not, pid, port, ready or not, RSS; exit 1 when stopped
#   zipkin.sh env       export lines for OpenTelemetry clients (OTEL_EXPORTER_ZIPKIN_ENDPOINT)
#   zipkin.sh logtail   last lines of the log    zipkin.sh installed / precheck (as for the others)
#
# Environment:
#   ZIPKIN_VERSION (3.6.1)   ZIPKIN_HOST (127.0.0.1)   ZIPKIN_PORT (19411)   ZIPKIN_HEAP (256m)
#   ZIPKIN_READY_TIMEOUT (90)   ZIPKIN_JAVA (auto: JAVA_HOME, PATH, /usr/lib/jvm; 17+)
#   INFRA_HOME ($HOME/.cache/feedmesh-infra)
set -euo pipefail
NAME=zipkin
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

ZIPKIN_VERSION="${ZIPKIN_VERSION:-3.6.1}"
ZIPKIN_HOST="${ZIPKIN_HOST:-127.0.0.1}"
ZIPKIN_PORT="${ZIPKIN_PORT:-19411}"
ZIPKIN_HEAP="${ZIPKIN_HEAP:-256m}"
ZIPKIN_READY_TIMEOUT="${ZIPKIN_READY_TIMEOUT:-90}"
check_port ZIPKIN_PORT

# same path as the reference recipe: a jar it fetched is reused
ZIPKIN_DIR="$INFRA_HOME/zipkin-$ZIPKIN_VERSION"
ZIPKIN_JAR="$ZIPKIN_DIR/zipkin-server-$ZIPKIN_VERSION-exec.jar"
RUN="$INFRA_RUN/zipkin"
PIDFILE="$RUN/pid"
LOG="$RUN/server.log"
HEALTH_URL="http://$ZIPKIN_HOST:$ZIPKIN_PORT/health"

installed() { [ -s "$ZIPKIN_JAR" ]; }

do_install() {
  if installed; then log "zipkin $ZIPKIN_VERSION already installed: $ZIPKIN_JAR"; return 0; fi
  local t0=$SECONDS
  mkdir -p "$ZIPKIN_DIR"; rm -rf "$ZIPKIN_DIR.tmp"
  log "installing: fetching io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec with mvn (~135 MB)"
  # dependency:copy needs no pom.xml; it writes the artifact under its Maven file name.
  mvn_resolve "$ZIPKIN_DIR" "$ZIPKIN_DIR/mvn.log" dependency:copy \
      "-Dartifact=io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec" -DoutputDirectory="$ZIPKIN_DIR.tmp" \
    || { tail -n 30 "$ZIPKIN_DIR/mvn.log" >&2; die "mvn could not fetch io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec"; }
  mv "$ZIPKIN_DIR.tmp/zipkin-server-$ZIPKIN_VERSION-exec.jar" "$ZIPKIN_JAR"; rm -rf "$ZIPKIN_DIR.tmp"
  log "installed $ZIPKIN_JAR ($(du -m "$ZIPKIN_JAR" | cut -f1) MB) in $((SECONDS - t0)) s"
}
cmd_install() { installed && { log "zipkin $ZIPKIN_VERSION already installed: $ZIPKIN_JAR"; return 0; }
                mvn_install "zipkin-$ZIPKIN_VERSION" do_install; }

ADDR="$ZIPKIN_HOST:$ZIPKIN_PORT"
pid_alive() { pid_matches "$PIDFILE" "-jar $ZIPKIN_JAR "; }
running_addr() {
  cmdline_of "$(cat "$PIDFILE")" | sed -n 's/.*--armeria\.ports\[0\]\.ip=\([^ ]*\) --armeria\.ports\[0\]\.port=\([0-9]*\) .*/\1:\2/p'
}
healthy() { curl -fsS --max-time 2 -o /dev/null "$HEALTH_URL" 2>/dev/null; }

cmd_logtail() { { echo "---- last lines of $LOG:"; tail -n 40 "$LOG" 2>/dev/null | cut -c1-400; echo "----"; } >&2; }
show_failure() { [ -n "${INFRA_NO_LOGTAIL:-}" ] || cmd_logtail; }

precheck() { if pid_alive; then check_running_addr; return 0; fi; ensure_ports_free "$ZIPKIN_HOST" "$ZIPKIN_PORT:ZIPKIN_PORT"; }

cmd_start() {
  mkdir -p "$RUN"
  exec 9>"$RUN/lock"; flock -w "$ZIPKIN_READY_TIMEOUT" 9 || die "another zipkin.sh holds $RUN/lock"
  if pid_alive; then check_running_addr; log "already running (pid $(cat "$PIDFILE")) on $ZIPKIN_HOST:$ZIPKIN_PORT"; return 0; fi
  precheck
  installed || cmd_install
  command -v curl >/dev/null || die "curl is not on PATH (apt-get install -y curl)"
  local java; java="$(pick_java 17)" || die "no Java 17 or newer found; set ZIPKIN_JAVA"
  [ -f "$LOG" ] && mv -f "$LOG" "$LOG.1"
  local t0; t0=$(now_ms)
  # STORAGE_TYPE=mem is the default; bind to one address through Armeria's port list.
  spawn "$PIDFILE" "$LOG" "$java" -Xms64m "-Xmx$ZIPKIN_HEAP" -XX:+ExitOnOutOfMemoryError -XX:TieredStopAtLevel=1 \
    -jar "$ZIPKIN_JAR" "--armeria.ports[0].ip=$ZIPKIN_HOST" "--armeria.ports[0].port=$ZIPKIN_PORT" \
    "--armeria.ports[0].protocols=http"
  local pid; pid="$(cat "$PIDFILE")"
  log "starting zipkin $ZIPKIN_VERSION on $ZIPKIN_HOST:$ZIPKIN_PORT (pid $pid)"
  local deadline=$((SECONDS + ZIPKIN_READY_TIMEOUT)) next=$((SECONDS + 30)) s0=$SECONDS
  while [ $SECONDS -lt $deadline ]; do
    if ! alive "$pid"; then
      log "zipkin exited during start-up (log: $LOG)"; show_failure; rm -f "$PIDFILE"; exit 1
    fi
    if healthy; then
      log "zipkin $ZIPKIN_VERSION ready on http://$ZIPKIN_HOST:$ZIPKIN_PORT/zipkin/ (pid $pid) in $(( $(now_ms) - t0 )) ms, RSS $(rss "$pid"), log $LOG"
      return 0
    fi
    if [ $SECONDS -ge $next ]; then log "still waiting for $HEALTH_URL ($((SECONDS - s0)) s)"; next=$((SECONDS + 30)); fi
    sleep 0.2
  done
  log "zipkin not healthy at $HEALTH_URL after ${ZIPKIN_READY_TIMEOUT}s (log: $LOG)"; show_failure
  cmd_stop; exit 1
}

cmd_stop() {
  if ! pid_alive; then rm -f "$PIDFILE"; log "zipkin not running"; return 0; fi
  local pid; pid="$(cat "$PIDFILE")"
  stop_pid "$PIDFILE" 15 || true
  log "stopped zipkin pid $pid"
}

cmd_status() { server_status healthy "zipkin $ZIPKIN_VERSION, UI http://$ADDR/zipkin/, log $LOG"; }

if is_common_command "${1:-}"; then run_common_command "$1"; exit; fi
case "${1:-}" in
  env)       echo "export OTEL_EXPORTER_ZIPKIN_ENDPOINT=http://$ZIPKIN_HOST:$ZIPKIN_PORT/api/v2/spans" ;;
  reset)     cmd_stop ;;
  *) script_usage >&2; exit 2 ;;
esac
