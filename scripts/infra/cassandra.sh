#!/usr/bin/env bash
# Single-node Apache Cassandra 5.0 for feedmesh tests, built only from Maven Central jars
# (cassandra-all and its runtime dependencies, fetched by `mvn`). Stands in for ScyllaDB: same CQL,
# same drivers (Node `cassandra-driver`: contactPoints ['127.0.0.1:19042'], localDataCenter
# 'datacenter1'). Adapted from the team's verified reference recipe.
#
#   cassandra.sh install   resolve cassandra-all + runtime deps into $INFRA_HOME/cassandra-$VER/lib
#                          (no-op when complete)
#   cassandra.sh start     write config, start in the background, wait until CQL answers on
#                          $CASSANDRA_HOST:$CASSANDRA_PORT; no-op (exit 0) when already running
#   cassandra.sh stop      TERM (Cassandra drains and flushes), KILL after $CASSANDRA_STOP_TIMEOUT s
#   cassandra.sh restart   stop + start
#   cassandra.sh status    one line: running or not, pid, port, ready or not, RSS; exit 1 when stopped
#   cassandra.sh env       export lines for the feedmesh services (FEEDMESH_CASSANDRA_*)
#   cassandra.sh nodetool ARGS...   nodetool over local JMX (needs CASSANDRA_JMX_PORT != 0)
#   cassandra.sh logtail   the errors and last lines of the logs (what a failed start shows)
#   cassandra.sh reset     stop and delete the data directory
#   cassandra.sh installed exit 0 when installed      cassandra.sh precheck  exit 1 if a port is taken
#
# Environment:
#   CASSANDRA_VERSION        (5.0.9)        cassandra-all version on Maven Central
#   INFRA_HOME               ($HOME/.cache/feedmesh-infra)
#   CASSANDRA_HOST           (127.0.0.1)    listen_address and rpc_address
#   CASSANDRA_PORT           (19042)        CQL native transport
#   CASSANDRA_STORAGE_PORT   (17000)        internode port (bound on CASSANDRA_HOST only)
#   CASSANDRA_JMX_PORT       (17199)        local-only JMX for nodetool; 0 = no JMX
#   CASSANDRA_DATA_DIR       ($INFRA_HOME/data/cassandra)  data, commitlog, hints, saved caches
#   CASSANDRA_HEAP_MAX       (1g)           -Xmx      CASSANDRA_HEAP_MIN (256m) -Xms
#   CASSANDRA_MLOCK          (0)            1 = let Cassandra mlockall() (as root this pins the
#                                           whole committed heap in RSS; 0 drops CAP_IPC_LOCK)
#   CASSANDRA_READY_TIMEOUT  (240)          seconds to wait for CQL at start
#   CASSANDRA_STOP_TIMEOUT   (60)
#   CASSANDRA_CDS            (1)            1 = AppCDS class-data archive: the first clean stop writes
#                                           it ($INFRA_HOME/cassandra-$VER/cds-*.jsa, ~60 MB), later
#                                           starts load it (about 2 s faster); 0 = off
#   CASSANDRA_JIT            (c1)           c1 = -XX:TieredStopAtLevel=1 (starts sooner, faster in
#                                           short test runs on 2 cores); full = C2 as well
#   CASSANDRA_JAVA           (auto)         java binary; auto picks a Java 17 (or 11): Cassandra
#                                           5.0 supports 11 and 17 only (Java 25 fails at start)
#   CASSANDRA_JVM_OPTS       ()             extra JVM options, appended
set -euo pipefail
NAME=cassandra
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

CASSANDRA_VERSION="${CASSANDRA_VERSION:-5.0.9}"
CASSANDRA_HOST="${CASSANDRA_HOST:-127.0.0.1}"
CASSANDRA_PORT="${CASSANDRA_PORT:-19042}"
CASSANDRA_STORAGE_PORT="${CASSANDRA_STORAGE_PORT:-17000}"
CASSANDRA_JMX_PORT="${CASSANDRA_JMX_PORT:-17199}"
CASSANDRA_DATA_DIR="${CASSANDRA_DATA_DIR:-$INFRA_DATA/cassandra}"
CASSANDRA_HEAP_MAX="${CASSANDRA_HEAP_MAX:-1g}"
CASSANDRA_HEAP_MIN="${CASSANDRA_HEAP_MIN:-256m}"
CASSANDRA_MLOCK="${CASSANDRA_MLOCK:-0}"
CASSANDRA_READY_TIMEOUT="${CASSANDRA_READY_TIMEOUT:-240}"
CASSANDRA_STOP_TIMEOUT="${CASSANDRA_STOP_TIMEOUT:-60}"
CASSANDRA_JVM_OPTS="${CASSANDRA_JVM_OPTS:-}"
CASSANDRA_CDS="${CASSANDRA_CDS:-1}"
CASSANDRA_JIT="${CASSANDRA_JIT:-c1}"
check_port CASSANDRA_PORT; check_port CASSANDRA_STORAGE_PORT; check_port CASSANDRA_JMX_PORT

# the install directory has the reference recipe's layout, so an INFRA_HOME it filled is reused
HOME_DIR="$INFRA_HOME/cassandra-$CASSANDRA_VERSION"
LIB="$HOME_DIR/lib"
MARKER="$HOME_DIR/.complete"
RUN="$INFRA_RUN/cassandra"
CONF="$RUN/conf"
PIDFILE="$RUN/pid"
LOG="$RUN/system.log"        # Cassandra's own log (logback)
OUTLOG="$RUN/stdout.log"     # JVM stdout/stderr (JVM warnings, crashes)
CDS_PENDING="$RUN/cds.pending"  # archive path the running JVM dumps to at exit

# ---------------------------------------------------------------- install
installed() { [ -f "$MARKER" ] && [ -f "$LIB/cassandra-all-$CASSANDRA_VERSION.jar" ]; }

do_install() {
  if installed; then log "cassandra $CASSANDRA_VERSION already installed: $LIB"; return 0; fi
  mkdir -p "$HOME_DIR"
  cat > "$HOME_DIR/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.infra</groupId>
  <artifactId>cassandra-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>$CASSANDRA_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
  local t0=$SECONDS
  log "installing: resolving org.apache.cassandra:cassandra-all:$CASSANDRA_VERSION and its runtime dependencies with mvn (~70 MB)"
  rm -rf "$HOME_DIR/lib.tmp"
  if ! mvn_resolve "$HOME_DIR" "$HOME_DIR/mvn.log" dependency:copy-dependencies \
          -DoutputDirectory=lib.tmp -DincludeScope=runtime; then
    tail -n 30 "$HOME_DIR/mvn.log" >&2; die "mvn dependency:copy-dependencies failed (log: $HOME_DIR/mvn.log)"
  fi
  [ -f "$HOME_DIR/lib.tmp/cassandra-all-$CASSANDRA_VERSION.jar" ] || die "cassandra-all-$CASSANDRA_VERSION.jar missing after mvn"
  rm -rf "$LIB"; mv "$HOME_DIR/lib.tmp" "$LIB"
  touch "$MARKER"
  log "installed cassandra $CASSANDRA_VERSION: $(find "$LIB" -name "*.jar" | wc -l) jars, $(du -sm "$LIB" | cut -f1) MB in $((SECONDS - t0)) s"
}
cmd_install() { installed && { log "cassandra $CASSANDRA_VERSION already installed: $LIB"; return 0; }
                mvn_install "cassandra-$CASSANDRA_VERSION" do_install; }

# ---------------------------------------------------------------- helpers
ADDR="$CASSANDRA_HOST:$CASSANDRA_PORT"
pid_alive() { pid_matches "$PIDFILE" "-Dcassandra.config=file://$CONF/cassandra.yaml"; }
# the config is written at start only, so it describes the running node
running_addr() { echo "$(sed -n 's/^rpc_address: //p' "$CONF/cassandra.yaml"):$(sed -n 's/^native_transport_port: //p' "$CONF/cassandra.yaml")"; }

# CQL OPTIONS request (protocol v4, stream 0); a ready node answers SUPPORTED (opcode 0x06).
cql_ping() {
  local r
  r="$( (exec 3<>"/dev/tcp/$CASSANDRA_HOST/$CASSANDRA_PORT" || exit 1
         printf '\x04\x00\x00\x00\x05\x00\x00\x00\x00' >&3
         timeout 3 head -c 9 <&3 | od -An -tx1 | tr -d ' \n') 2>/dev/null)" || return 1
  [[ "$r" == 8400000006* ]]   # version 0x84, flags, stream 0, opcode SUPPORTED
}

write_config() {
  mkdir -p "$CONF" "$CASSANDRA_DATA_DIR"
  cat > "$CONF/cassandra.yaml" <<EOF
# generated by scripts/infra/cassandra.sh on each start; edit the script, not this file
cluster_name: feedmesh-test
num_tokens: 16
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
auto_bootstrap: false
data_file_directories:
  - $CASSANDRA_DATA_DIR/data
commitlog_directory: $CASSANDRA_DATA_DIR/commitlog
saved_caches_directory: $CASSANDRA_DATA_DIR/saved_caches
hints_directory: $CASSANDRA_DATA_DIR/hints
cdc_raw_directory: $CASSANDRA_DATA_DIR/cdc_raw
commitlog_sync: periodic
commitlog_sync_period: 10000ms
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "$CASSANDRA_HOST:$CASSANDRA_STORAGE_PORT"
listen_address: $CASSANDRA_HOST
rpc_address: $CASSANDRA_HOST
storage_port: $CASSANDRA_STORAGE_PORT
ssl_storage_port: $((CASSANDRA_STORAGE_PORT + 1))
native_transport_port: $CASSANDRA_PORT
start_native_transport: true
endpoint_snitch: SimpleSnitch
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
# a fresh test node needs no 4.x wire/sstable compatibility
storage_compatibility_mode: NONE
# tests DROP/TRUNCATE often: no snapshot each time
auto_snapshot: false
concurrent_compactors: 1
# ScyllaDB has materialized views; Cassandra ships them off (experimental). SASI stays off.
materialized_views_enabled: true
EOF
  cat > "$CONF/logback.xml" <<EOF
<configuration scan="false">
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>$LOG</file>
    <append>true</append>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
EOF
  cat > "$CONF/logback-tools.xml" <<EOF
<configuration scan="false">
  <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder><pattern>%-5level %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="STDERR"/></root>
</configuration>
EOF
}

# module flags Cassandra needs on Java 17 (its conf/jvm17-server.options, plus the sun.nio.ch
# export that its client tools such as nodetool need)
module_opts() {
  cat <<'EOF'
-Djdk.attach.allowAttachSelf=true
--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED
--add-exports=java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED
--add-exports=java.rmi/sun.rmi.server=ALL-UNNAMED
--add-exports=java.sql/java.sql=ALL-UNNAMED
--add-exports=java.base/java.lang.ref=ALL-UNNAMED
--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED
--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
--add-exports=jdk.attach/sun.tools.attach=ALL-UNNAMED
--add-opens=java.base/java.lang.module=ALL-UNNAMED
--add-opens=java.base/jdk.internal.loader=ALL-UNNAMED
--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
--add-opens=java.base/jdk.internal.reflect=ALL-UNNAMED
--add-opens=java.base/jdk.internal.math=ALL-UNNAMED
--add-opens=java.base/jdk.internal.module=ALL-UNNAMED
--add-opens=java.base/jdk.internal.util.jar=ALL-UNNAMED
--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED
--add-opens=java.base/sun.nio.ch=ALL-UNNAMED
--add-opens=java.base/java.io=ALL-UNNAMED
--add-opens=java.base/java.lang.reflect=ALL-UNNAMED
--add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
--add-opens=java.base/java.lang=ALL-UNNAMED
--add-opens=java.base/java.util=ALL-UNNAMED
--add-exports=java.base/sun.nio.ch=ALL-UNNAMED
EOF
}

jvm_opts() {
  local mods; mapfile -t mods < <(module_opts)
  local o=(
    -Xms"$CASSANDRA_HEAP_MIN" -Xmx"$CASSANDRA_HEAP_MAX" -Xss256k
    -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1 -XX:MaxGCPauseMillis=300
    -XX:+ExitOnOutOfMemoryError -XX:+PerfDisableSharedMem
    -Djava.net.preferIPv4Stack=true
    "${mods[@]}"
    -Dio.netty.tryReflectionSetAccessible=true
    -Dio.netty.allocator.useCacheForAllThreads=true
    -Dio.netty.allocator.maxOrder=11
    # fast single-node start
    -Dcassandra.skip_wait_for_gossip_to_settle=0
    -Dcassandra.ring_delay_ms=1000
    # skip the start-up SkipListMemtable row-overhead estimate (4-6 s here; it measured 180-181)
    -Dcassandra.memtable.row_overhead_size=180
    # single node: no peers to tell about shutdown (default waits 2 s)
    -Dcassandra.shutdown_announce_in_ms=0
    -Dcassandra-foreground=yes
    -Dcassandra.storagedir="$CASSANDRA_DATA_DIR"
    -Dcassandra.logdir="$RUN"
    -Dlogback.configurationFile="file://$CONF/logback.xml"
  )
  if [ "$CASSANDRA_JMX_PORT" != 0 ]; then o+=(-Dcassandra.jmx.local.port="$CASSANDRA_JMX_PORT"); fi
  if [ "$CASSANDRA_JIT" = c1 ]; then o+=(-XX:TieredStopAtLevel=1); fi
  # shellcheck disable=SC2206
  [ -n "$CASSANDRA_JVM_OPTS" ] && o+=($CASSANDRA_JVM_OPTS)
  # pid_alive matches on this option
  o+=(-Dcassandra.config="file://$CONF/cassandra.yaml")
  printf '%s\n' "${o[@]}" | grep -v '^#'
}

cmd_logtail() {
  { echo "---- errors in $LOG:"
    grep -E '^(ERROR|WARN )|Exception|Caused by' "$LOG" 2>/dev/null | grep -v 'StartupChecks' | tail -n 15 | cut -c1-400
    echo "---- last lines of $LOG:"; tail -n 15 "$LOG" 2>/dev/null | cut -c1-400
    echo "---- last lines of $OUTLOG (JVM output, without class-data archive notes):"
    grep -v '\[cds\]' "$OUTLOG" 2>/dev/null | tail -n 15 | cut -c1-400
    echo "----"; } >&2
}
show_failure() { [ -n "${INFRA_NO_LOGTAIL:-}" ] || cmd_logtail; }

wait_ready() {  # $1 = t0 in ms, or empty
  local pid; pid="$(cat "$PIDFILE")"
  local t0=$SECONDS deadline=$((SECONDS + CASSANDRA_READY_TIMEOUT)) next=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    if ! pid_alive; then
      log "cassandra (pid $pid) exited during start-up (log: $LOG)"; show_failure
      rm -f "$PIDFILE"; exit 1
    fi
    if cql_ping; then
      local took=""; [ -n "${1:-}" ] && took=" in $(( $(now_ms) - $1 )) ms"
      log "cassandra $CASSANDRA_VERSION ready on $CASSANDRA_HOST:$CASSANDRA_PORT (pid $pid)$took, RSS $(rss "$pid"), data $CASSANDRA_DATA_DIR, log $LOG"
      return 0
    fi
    if [ $SECONDS -ge $next ]; then log "still waiting for CQL on $CASSANDRA_HOST:$CASSANDRA_PORT ($((SECONDS - t0)) s)"; next=$((SECONDS + 30)); fi
    sleep 0.5
  done
  log "cassandra not answering CQL on $CASSANDRA_HOST:$CASSANDRA_PORT after ${CASSANDRA_READY_TIMEOUT}s (CASSANDRA_READY_TIMEOUT; log: $LOG)"; show_failure
  log "stopping pid $pid"
  rm -f "$CDS_PENDING"   # a class-data archive of a start that never finished would be partial
  cmd_stop
  exit 1
}

precheck() {
  if pid_alive; then check_running_addr; return 0; fi
  ensure_ports_free "$CASSANDRA_HOST" "$CASSANDRA_PORT:CASSANDRA_PORT" "$CASSANDRA_STORAGE_PORT:CASSANDRA_STORAGE_PORT" \
    "$CASSANDRA_JMX_PORT:CASSANDRA_JMX_PORT:0 = no JMX"
}

# ---------------------------------------------------------------- commands
cmd_start() {
  mkdir -p "$RUN"
  exec 9>"$RUN/lock"; flock -w "$CASSANDRA_READY_TIMEOUT" 9 || die "another cassandra.sh holds $RUN/lock"
  if pid_alive; then check_running_addr; log "already running (pid $(cat "$PIDFILE"))"; wait_ready ""; return 0; fi
  rm -f "$PIDFILE"
  precheck
  installed || cmd_install
  local java; java="$(pick_java 11 17)" || die "no Java 17 or 11 found (Cassandra 5.0 runs on 11 or 17 only); set CASSANDRA_JAVA"
  local jver; jver="$("$java" -version 2>&1)"
  write_config
  [ -f "$LOG" ] && mv -f "$LOG" "$LOG.1"
  [ -f "$OUTLOG" ] && mv -f "$OUTLOG" "$OUTLOG.1"
  local opts; mapfile -t opts < <(jvm_opts)
  local pre=()
  # Cassandra calls mlockall(MCL_CURRENT); as root (CAP_IPC_LOCK) that succeeds and pins the heap
  if [ "$CASSANDRA_MLOCK" != 1 ] && [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null \
     && setpriv --inh-caps=-ipc_lock --bounding-set=-ipc_lock true 2>/dev/null; then
    pre=(setpriv --inh-caps=-ipc_lock --bounding-set=-ipc_lock)
  fi
  # AppCDS: one archive per JVM build (the JVM ignores an archive made by another build)
  local cds=() arch
  rm -f "$CDS_PENDING"
  if [ "$CASSANDRA_CDS" = 1 ]; then
    arch="$HOME_DIR/cds-$({ readlink -f "$java"; echo "$jver"; } | md5sum | cut -c1-10).jsa"
    rm -f "$arch.new"
    if [ -s "$arch" ]; then cds=(-XX:SharedArchiveFile="$arch")
    else cds=(-XX:ArchiveClassesAtExit="$arch.new"); echo "$arch" > "$CDS_PENDING"; fi
  fi
  local t0; t0=$(now_ms)
  spawn "$PIDFILE" "$OUTLOG" "${pre[@]}" "$java" "${cds[@]}" "${opts[@]}" -cp "$LIB/*" \
    org.apache.cassandra.service.CassandraDaemon
  log "starting cassandra $CASSANDRA_VERSION on $CASSANDRA_HOST:$CASSANDRA_PORT (pid $(cat "$PIDFILE"), $(head -1 <<< "$jver")${cds:+, ${cds[0]%%=*}})"
  wait_ready "$t0"
}

cmd_stop() {
  if ! pid_alive; then rm -f "$PIDFILE"; log "cassandra not running"; return 0; fi
  local pid; pid="$(cat "$PIDFILE")"
  local t0=$SECONDS
  stop_pid "$PIDFILE" "$CASSANDRA_STOP_TIMEOUT" || rm -f "$CDS_PENDING"
  if [ -f "$CDS_PENDING" ]; then   # clean exit after an archiving run: keep the archive
    local arch; arch="$(cat "$CDS_PENDING")"; rm -f "$CDS_PENDING"
    [ -s "$arch.new" ] && mv -f "$arch.new" "$arch" && log "saved class-data archive $arch for faster starts"
  fi
  log "stopped cassandra pid $pid in $((SECONDS - t0)) s"
}

cmd_status() { server_status cql_ping "cassandra $CASSANDRA_VERSION, log $LOG"; }

cmd_env() {
  cat <<EOF
export FEEDMESH_CASSANDRA_CONTACT_POINTS=$CASSANDRA_HOST:$CASSANDRA_PORT
export FEEDMESH_CASSANDRA_LOCAL_DC=datacenter1
EOF
}

cmd_nodetool() {
  [ "$CASSANDRA_JMX_PORT" != 0 ] || die "JMX is off (CASSANDRA_JMX_PORT=0)"
  installed || die "not installed (run: $0 install)"
  local java; java="$(pick_java 11 17)" || die "no Java 17 or 11 found"
  local mods; mapfile -t mods < <(module_opts)
  "$java" -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "${mods[@]}" -cp "$LIB/*" \
    -Dlogback.configurationFile="file://$CONF/logback-tools.xml" \
    org.apache.cassandra.tools.NodeTool -h 127.0.0.1 -p "$CASSANDRA_JMX_PORT" "$@"
}

if is_common_command "${1:-}"; then run_common_command "$1"; exit; fi
case "${1:-}" in
  env)       cmd_env ;;
  nodetool)  shift; cmd_nodetool "$@" ;;
  reset)     cmd_stop; rm -rf "$CASSANDRA_DATA_DIR"; log "deleted $CASSANDRA_DATA_DIR" ;;
  *) script_usage >&2; exit 2 ;;
esac
