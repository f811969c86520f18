#!/usr/bin/env bash
# Single-node Apache Kafka in KRaft mode (broker + controller in one JVM) for feedmesh tests, built
# only from Maven Central jars (org.apache.kafka:kafka_2.13 and its runtime dependencies, resolved
# by mvn). Adapted from the team's verified reference recipe.
#
#   kafka.sh install   resolve the jars into $INFRA_HOME/kafka-$KAFKA_VERSION (no-op when there)
#   kafka.sh start     format the data dir on first use, start, wait until the broker answers an
#                      ApiVersions request (no-op if already running)
#   kafka.sh stop      stop it (TERM, then KILL after $KAFKA_STOP_TIMEOUT s); no-op when not running
#   kafka.sh restart   stop + start (data is kept)
#   kafka.sh status    one line: running or not, pid, port, ready or not, RSS; exit 1 when stopped
#   kafka.sh env       export lines for the feedmesh services (FEEDMESH_KAFKA_BROKERS)
#   kafka.sh topics ARGS...        kafka-topics against this broker, e.g. `topics --list`,
#                                  `topics --create --topic t --partitions 3`
#   kafka.sh tool CLASS ARGS...    any class of kafka-tools, e.g. org.apache.kafka.tools.ConsoleProducer
#                                  (the tools are fetched into $INFRA_HOME/kafka-tools-$KAFKA_TOOLS_VERSION
#                                  on first use; `kafka.sh install-tools` fetches them ahead)
#   kafka.sh logtail   last lines of the server log          kafka.sh reset  stop, delete the data
#   kafka.sh installed exit 0 when installed      kafka.sh precheck  exit 1 if a port is taken
#
# Environment:
#   KAFKA_VERSION       (4.4.0)   3.9.x also works (controller.quorum.voters, reload4j logging)
#   KAFKA_TOOLS_VERSION (4.3.1)   org.apache.kafka:kafka-tools for `topics`/`tool`: Maven Central has
#                                 no kafka-tools 4.4.0 (2026-11-23); a 4.3 admin client talks to a
#                                 4.4 broker like any other client
#   KAFKA_HOST          (127.0.0.1)
#   KAFKA_PORT          (19092)   PLAINTEXT listener for clients
#   KAFKA_CONTROLLER_PORT (19093) KRaft controller listener (recorded at format time: after changing
#                                 it, `kafka.sh reset`)
#   KAFKA_DATA_DIR      ($INFRA_HOME/data/kafka-$KAFKA_VERSION)
#   KAFKA_HEAP          (512m)    -Xms and -Xmx
#   KAFKA_JVM_OPTS      ()        extra JVM options
#   KAFKA_NUM_PARTITIONS (1)      default for auto-created topics
#   KAFKA_READY_TIMEOUT (120)     seconds to wait for readiness    KAFKA_STOP_TIMEOUT (30)
#   KAFKA_JAVA          (auto)    java binary (17+); auto: JAVA_HOME, PATH, /usr/lib/jvm
#   INFRA_HOME          ($HOME/.cache/feedmesh-infra)
set -euo pipefail
NAME=kafka
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
SCALA_VERSION="${SCALA_VERSION:-2.13}"
KAFKA_HOST="${KAFKA_HOST:-127.0.0.1}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$INFRA_DATA/kafka-$KAFKA_VERSION}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
KAFKA_NUM_PARTITIONS="${KAFKA_NUM_PARTITIONS:-1}"
KAFKA_READY_TIMEOUT="${KAFKA_READY_TIMEOUT:-120}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
check_port KAFKA_PORT; check_port KAFKA_CONTROLLER_PORT

KAFKA_TOOLS_VERSION="${KAFKA_TOOLS_VERSION:-4.3.1}"

# the install directory has the reference recipe's layout, so an INFRA_HOME it filled is reused
HOME_DIR="$INFRA_HOME/kafka-$KAFKA_VERSION"
LIB="$HOME_DIR/lib"
MARKER="$HOME_DIR/.installed"
TOOLS_DIR="$INFRA_HOME/kafka-tools-$KAFKA_TOOLS_VERSION"
RUN="$INFRA_RUN/kafka"
PIDFILE="$RUN/pid"
LOG="$RUN/server.log"
CONF="$RUN/server.properties"
MAJOR="${KAFKA_VERSION%%.*}"

# Kafka 3.x logs through slf4j 1.7 -> reload4j; Kafka 4.x through slf4j 1.7 -> log4j2 (log4j-api and
# log4j-core come with kafka_2.13 4.x, the slf4j binding does not).
logging_deps() {
  if [ "$MAJOR" -ge 4 ]; then
    echo '<dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.25.5</version></dependency>'
  else
    echo '<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>'
    echo '<dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>'
  fi
}

write_log_configs() {  # $1 = dir; server.* logs INFO to stdout, tools.* logs WARN to stderr
  if [ "$MAJOR" -ge 4 ]; then
    for f in server:INFO:SYSTEM_OUT tools:WARN:SYSTEM_ERR; do
      IFS=: read -r name level target <<<"$f"
      cat > "$1/log4j2-$name.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <Console name="out" target="$target"><PatternLayout pattern="[%d] %p %m (%c)%n"/></Console>
  </Appenders>
  <Loggers>
    <Root level="$level"><AppenderRef ref="out"/></Root>
  </Loggers>
</Configuration>
EOF
    done
  else
    for f in server:INFO:System.out tools:WARN:System.err; do
      IFS=: read -r name level target <<<"$f"
      cat > "$1/log4j-$name.properties" <<EOF
log4j.rootLogger=$level, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.Target=$target
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
    done
  fi
}

log_opt() {  # $1 = server | tools
  if [ "$MAJOR" -ge 4 ]; then echo "-Dlog4j2.configurationFile=$HOME_DIR/log4j2-$1.xml"
  else echo "-Dlog4j.configuration=file:$HOME_DIR/log4j-$1.properties"; fi
}

installed() { [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$KAFKA_VERSION" ]; }

do_install() {
  if installed; then log "kafka $KAFKA_VERSION already installed: $HOME_DIR"; return 0; fi
  local t0=$SECONDS tmp
  mkdir -p "$INFRA_HOME"
  tmp="$(mktemp -d "$INFRA_HOME/.kafka-install.XXXXXX")"
  cat > "$tmp/pom.xml" <<EOF
<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.feedmesh</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_$SCALA_VERSION</artifactId><version>$KAFKA_VERSION</version></dependency>
    $(logging_deps)
  </dependencies>
</project>
EOF
  log "installing: resolving org.apache.kafka:kafka_$SCALA_VERSION:$KAFKA_VERSION runtime jars with mvn (~45 MB)"
  mvn_resolve "$tmp" "$tmp/mvn.log" dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime \
    || { tail -n 30 "$tmp/mvn.log" >&2; rm -rf "$tmp"; die "mvn could not resolve kafka_$SCALA_VERSION:$KAFKA_VERSION"; }
  write_log_configs "$tmp"
  echo "$KAFKA_VERSION" > "$tmp/.installed"
  rm -rf "$HOME_DIR"; mv "$tmp" "$HOME_DIR"
  log "installed kafka $KAFKA_VERSION ($(find "$LIB" -name '*.jar' | wc -l) jars, $(du -sm "$LIB" | cut -f1) MB) in $((SECONDS - t0)) s: $HOME_DIR"
}
cmd_install() { installed && { log "kafka $KAFKA_VERSION already installed: $HOME_DIR"; return 0; }
                mvn_install "kafka-$KAFKA_VERSION" do_install; }

# kafka-tools (TopicCommand, ConsoleProducer, ...) in a classpath of its own: it may be another
# version than the server's jars
tools_installed() { [ -f "$TOOLS_DIR/.installed" ]; }
do_install_tools() {
  tools_installed && return 0
  local t0=$SECONDS tmp
  mkdir -p "$INFRA_HOME"
  tmp="$(mktemp -d "$INFRA_HOME/.kafka-tools-install.XXXXXX")"
  cat > "$tmp/pom.xml" <<EOF
<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.feedmesh</groupId><artifactId>kafka-tools-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_TOOLS_VERSION</version></dependency>
    $(logging_deps)
  </dependencies>
</project>
EOF
  log "installing kafka tools: resolving org.apache.kafka:kafka-tools:$KAFKA_TOOLS_VERSION with mvn"
  mvn_resolve "$tmp" "$tmp/mvn.log" dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime \
    || { tail -n 30 "$tmp/mvn.log" >&2; rm -rf "$tmp"; die "mvn could not resolve kafka-tools:$KAFKA_TOOLS_VERSION (set KAFKA_TOOLS_VERSION)"; }
  touch "$tmp/.installed"
  rm -rf "$TOOLS_DIR"; mv "$tmp" "$TOOLS_DIR"
  log "installed kafka-tools $KAFKA_TOOLS_VERSION ($(find "$TOOLS_DIR/lib" -name '*.jar' | wc -l) jars) in $((SECONDS - t0)) s: $TOOLS_DIR"
}
cmd_install_tools() { tools_installed || mvn_install "kafka-tools-$KAFKA_TOOLS_VERSION" do_install_tools; }

java_bin() { pick_java 17 || die "no Java 17 or newer found (Kafka $KAFKA_VERSION needs 17+); set KAFKA_JAVA"; }

write_server_properties() {
  {
    echo "# generated by scripts/infra/kafka.sh on each start; edit the script, not this file"
    echo "process.roles=broker,controller"
    echo "node.id=1"
    if [ "$MAJOR" -ge 4 ]; then
      echo "controller.quorum.bootstrap.servers=$KAFKA_HOST:$KAFKA_CONTROLLER_PORT"
    else
      echo "controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT"
    fi
    cat <<EOF
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA_DIR
num.partitions=$KAFKA_NUM_PARTITIONS
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
group.initial.rebalance.delay.ms=0
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
EOF
  } > "$CONF"
}

format_if_needed() {
  local stamp="$KAFKA_DATA_DIR/.feedmesh-controller"
  if [ -f "$KAFKA_DATA_DIR/meta.properties" ]; then
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" != "$KAFKA_HOST:$KAFKA_CONTROLLER_PORT" ]; then
      die "$KAFKA_DATA_DIR was formatted for controller $(cat "$stamp"), not $KAFKA_HOST:$KAFKA_CONTROLLER_PORT; run '$0 reset' (deletes the data) or set KAFKA_DATA_DIR"
    fi
    return 0
  fi
  mkdir -p "$KAFKA_DATA_DIR"
  # Cluster id: 16 random bytes, base64url without padding (what `StorageTool random-uuid` prints).
  # An id starting with '-' would be read as an option, so draw again.
  local cid=-; while [ "${cid#-}" != "$cid" ]; do cid="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"; done
  local extra=(); [ "$MAJOR" -ge 4 ] && extra=(--standalone)
  log "formatting $KAFKA_DATA_DIR (cluster id $cid)"
  # StorageTool prints log lines on stdout: never take its output as a value
  "$(java_bin)" -Xmx256m "$(log_opt tools)" -cp "$LIB/*" kafka.tools.StorageTool format \
    -t "$cid" -c "$CONF" "${extra[@]}" >"$RUN/format.log" 2>&1 \
    || { cat "$RUN/format.log" >&2; die "StorageTool format failed"; }
  echo "$KAFKA_HOST:$KAFKA_CONTROLLER_PORT" > "$stamp"
}

ADDR="$KAFKA_HOST:$KAFKA_PORT"
pid_alive() { pid_matches "$PIDFILE" "kafka.Kafka $CONF"; }
# server.properties is written at start only, so it describes the running broker
running_addr() { sed -n 's#^advertised.listeners=PLAINTEXT://##p' "$CONF"; }

# ApiVersions v0 request (api key 18, correlation id 1, client id "hc"); a broker that serves
# requests answers with correlation id 1 and error code 0. Listeners are bound before the broker
# processes requests, so an open port alone does not mean ready.
api_versions_ok() {
  local r
  r="$( (exec 3<>"/dev/tcp/$KAFKA_HOST/$KAFKA_PORT" || exit 1
         printf '\x00\x00\x00\x0c\x00\x12\x00\x00\x00\x00\x00\x01\x00\x02hc' >&3
         timeout 3 head -c 10 <&3 | od -An -tx1 | tr -d ' \n') 2>/dev/null)" || return 1
  [[ "$r" == ????????000000010000 ]]
}
ready() { grep -q "Kafka Server started" "$LOG" 2>/dev/null && api_versions_ok; }

cmd_logtail() { { echo "---- last lines of $LOG:"; tail -n 40 "$LOG" 2>/dev/null | cut -c1-400; echo "----"; } >&2; }
show_failure() { [ -n "${INFRA_NO_LOGTAIL:-}" ] || cmd_logtail; }

precheck() {
  if pid_alive; then check_running_addr; return 0; fi
  ensure_ports_free "$KAFKA_HOST" "$KAFKA_PORT:KAFKA_PORT" "$KAFKA_CONTROLLER_PORT:KAFKA_CONTROLLER_PORT"
}

cmd_start() {
  mkdir -p "$RUN"
  exec 9>"$RUN/lock"; flock -w "$KAFKA_READY_TIMEOUT" 9 || die "another kafka.sh holds $RUN/lock"
  if pid_alive; then check_running_addr; log "already running (pid $(cat "$PIDFILE")) on $KAFKA_HOST:$KAFKA_PORT"; return 0; fi
  precheck
  installed || cmd_install
  local java; java="$(java_bin)"
  write_server_properties
  format_if_needed
  [ -f "$LOG" ] && mv -f "$LOG" "$LOG.1"
  local t0; t0=$(now_ms)
  # shellcheck disable=SC2086
  spawn "$PIDFILE" "$LOG" "$java" "-Xms$KAFKA_HEAP" "-Xmx$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true ${KAFKA_JVM_OPTS:-} "$(log_opt server)" -cp "$LIB/*" kafka.Kafka "$CONF"
  local pid; pid="$(cat "$PIDFILE")"
  log "starting kafka $KAFKA_VERSION on $KAFKA_HOST:$KAFKA_PORT (pid $pid)"
  local deadline=$((SECONDS + KAFKA_READY_TIMEOUT)) next=$((SECONDS + 30)) s0=$SECONDS
  while [ $SECONDS -lt $deadline ]; do
    if ! alive "$pid"; then
      log "kafka exited during start-up (log: $LOG)"; show_failure; rm -f "$PIDFILE"; exit 1
    fi
    if ready; then
      log "kafka $KAFKA_VERSION ready on $KAFKA_HOST:$KAFKA_PORT (pid $pid) in $(( $(now_ms) - t0 )) ms," \
          "RSS $(rss "$pid"), data $KAFKA_DATA_DIR, log $LOG"
      return 0
    fi
    if [ $SECONDS -ge $next ]; then log "still waiting for the broker on $KAFKA_HOST:$KAFKA_PORT ($((SECONDS - s0)) s)"; next=$((SECONDS + 30)); fi
    sleep 0.2
  done
  log "kafka not ready after ${KAFKA_READY_TIMEOUT}s (KAFKA_READY_TIMEOUT; log: $LOG)"; show_failure
  log "stopping pid $pid"; cmd_stop
  exit 1
}

cmd_stop() {
  if ! pid_alive; then rm -f "$PIDFILE"; log "kafka not running"; return 0; fi
  local pid t0=$SECONDS; pid="$(cat "$PIDFILE")"
  stop_pid "$PIDFILE" "$KAFKA_STOP_TIMEOUT" || true
  log "stopped kafka pid $pid in $((SECONDS - t0)) s"
}

cmd_status() { server_status ready "kafka $KAFKA_VERSION, log $LOG"; }

cmd_tool() {  # CLASS ARGS...
  installed || cmd_install   # log4j2-tools.xml lives in the server install
  cmd_install_tools
  local java; java="$(java_bin)"
  "$java" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "$(log_opt tools)" -cp "$TOOLS_DIR/lib/*" "$@"
}

if is_common_command "${1:-}"; then run_common_command "$1"; exit; fi
case "${1:-}" in
  env)       echo "export FEEDMESH_KAFKA_BROKERS=$KAFKA_HOST:$KAFKA_PORT" ;;
  topics)    shift; cmd_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_HOST:$KAFKA_PORT" "$@" ;;
  install-tools) cmd_install_tools ;;
  tool)      shift; cmd_tool "$@" ;;
  reset)     cmd_stop; rm -rf "$KAFKA_DATA_DIR"; log "deleted $KAFKA_DATA_DIR" ;;
  *) script_usage >&2; exit 2 ;;
esac
