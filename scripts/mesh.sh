#!/usr/bin/env bash
# The microservices mode on the real backends: every target in its own process, on its own ports,
# calling the others over gRPC, with Cassandra, Kafka, Redis, S3 (and Zipkin for traces), behind an
# Envoy edge on the all-in-one mode's addresses (deploy/envoy/mesh.yaml): Connect, gRPC-Web and gRPC
# on 127.0.0.1:8080, gRPC on 127.0.0.1:8081, routed by RPC path to each target's own ports.
#
#   scripts/mesh.sh up               start the infrastructure, every target, then the edge
#                                    (idempotent; MESH_EDGE=0: no edge)
#   scripts/mesh.sh down             stop the edge, every target, then the infrastructure
#   scripts/mesh.sh stop             stop the edge and every target; the infrastructure keeps running
#   scripts/mesh.sh ps               each target and the edge: pid, ports, health; then the
#                                    infrastructure
#   scripts/mesh.sh restart TARGET   stop and start one target (the others keep running)
#
# Each target runs under a supervisor (this script's hidden `supervise` command, in its own
# session): a target that exits (a crash, SIGKILL, an OOM kill) is started again after 1 s, then
# 2, 4 ... up to 30 s while it keeps failing within a minute of its start, as Kubernetes restarts a
# container; each restart is a line in the target's log. `stop`, `down` and `restart` stop the
# supervisor first.
#   scripts/mesh.sh logs TARGET      the path of a target's log
#
# State (pids, logs, the shared secret) lives in $MESH_HOME (default .cache/mesh in the checkout).
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
MESH_HOME="${MESH_HOME:-$ROOT/.cache/mesh}"
TARGETS=(identity graph post media feed fanout engagement notification search)
EDGE="$ROOT/scripts/infra/envoy.sh"
mkdir -p "$MESH_HOME/logs" "$MESH_HOME/run"

say() { echo "mesh.sh: $*" >&2; }

index() { local i; for i in "${!TARGETS[@]}"; do [ "${TARGETS[$i]}" = "$1" ] && { echo "$i"; return; }; done; say "unknown target $1 (${TARGETS[*]})"; exit 2; }
http_port() { echo $((8100 + 10 * $(index "$1"))); }
grpc_port() { echo $((8101 + 10 * $(index "$1"))); }
pid_of() { local f="$MESH_HOME/run/$1.pid"; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"; }

mesh_env() {
  local t
  eval "$("$ROOT/scripts/infra/infra.sh" env)"
  [ -f "$MESH_HOME/secret" ] || { head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$MESH_HOME/secret"; chmod 600 "$MESH_HOME/secret"; }
  export FEEDMESH_SECRET="$(cat "$MESH_HOME/secret")"
  export FEEDMESH_STORE=cassandra
  export FEEDMESH_LOG_LEVEL="${FEEDMESH_LOG_LEVEL:-info}"
  for t in "${TARGETS[@]}"; do
    [ "$t" = fanout ] && continue
    export "FEEDMESH_${t^^}_ADDR=127.0.0.1:$(grpc_port "$t")"
  done
  if "$ROOT/scripts/infra/infra.sh" status zipkin >/dev/null 2>&1; then
    export OTEL_TRACES_EXPORTER=zipkin OTEL_EXPORTER_ZIPKIN_ENDPOINT="${OTEL_EXPORTER_ZIPKIN_ENDPOINT:-http://127.0.0.1:19411/api/v2/spans}"
  fi
}

start_target() {
  local t="$1" pid
  if pid="$(pid_of "$t")"; then say "$t already runs (pid $pid)"; return 0; fi
  rm -f "$MESH_HOME/run/$t.stop"
  setsid bash "$ROOT/scripts/mesh.sh" supervise "$t" </dev/null >>"$MESH_HOME/logs/$t.log" 2>&1 &
  echo $! >"$MESH_HOME/run/$t.supervisor"
  for _ in $(seq 1 50); do pid_of "$t" >/dev/null && return 0; sleep 0.1; done
}

# The supervisor: runs the target, and runs it again when it exits, until stop_target asks it not to.
supervise() {
  local t="$1" delay=1 started rc
  export FEEDMESH_HTTP_ADDR="127.0.0.1:$(http_port "$t")" FEEDMESH_GRPC_ADDR="127.0.0.1:$(grpc_port "$t")"
  export FEEDMESH_WORKER_ID="$(index "$t")"
  trap '' HUP
  while :; do
    started=$SECONDS
    "$ROOT/bin/feedmesh" --target="$t" &
    echo $! >"$MESH_HOME/run/$t.pid"
    rc=0; wait $! || rc=$?
    [ -f "$MESH_HOME/run/$t.stop" ] && break
    [ $((SECONDS - started)) -ge 60 ] && delay=1
    echo "mesh.sh: $t exited with status $rc; starting it again in $delay s"
    sleep "$delay"
    [ -f "$MESH_HOME/run/$t.stop" ] && break
    delay=$((delay < 16 ? delay * 2 : 30))
  done
  rm -f "$MESH_HOME/run/$t.pid" "$MESH_HOME/run/$t.supervisor"
}

wait_target() {
  local t="$1" i
  for i in $(seq 1 600); do
    if curl -sf -o /dev/null "http://127.0.0.1:$(http_port "$t")/healthz"; then return 0; fi
    if ! pid_of "$t" >/dev/null; then say "$t exited; last lines of $MESH_HOME/logs/$t.log:"; tail -n 20 "$MESH_HOME/logs/$t.log" >&2; return 1; fi
    sleep 0.1
  done
  say "$t did not become healthy in 60 s; see $MESH_HOME/logs/$t.log"
  return 1
}

stop_target() {
  local t="$1" pid sup i
  touch "$MESH_HOME/run/$t.stop" # the supervisor starts it no more
  pid="$(pid_of "$t")" || pid=""
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  sup="$(cat "$MESH_HOME/run/$t.supervisor" 2>/dev/null || true)"
  if [ -n "$sup" ]; then
    for i in $(seq 1 20); do kill -0 "$sup" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$sup" 2>/dev/null || true
  fi
  rm -f "$MESH_HOME/run/$t.pid" "$MESH_HOME/run/$t.supervisor"
}

cmd_ps() {
  local t pid health
  printf '%-13s %-8s %-22s %-22s %s\n' TARGET PID HTTP GRPC HEALTH
  for t in "${TARGETS[@]}"; do
    pid="$(pid_of "$t" || echo -)"
    health=down
    [ "$pid" != - ] && health="$(curl -s -m 2 "http://127.0.0.1:$(http_port "$t")/healthz" | tr -d '\n' || true)"
    printf '%-13s %-8s %-22s %-22s %s\n' "$t" "$pid" "127.0.0.1:$(http_port "$t")" "127.0.0.1:$(grpc_port "$t")" "${health:-unhealthy}"
  done
  # the edge: its status line is "envoy STATE pid=N ADDR HEALTH rss=... envoy VERSION, upstreams healthy H/N, ..."
  local edge
  edge="$("$EDGE" status 2>/dev/null || true)"
  if [[ "$edge" == *" running "* ]]; then
    pid="$(sed -n 's/.* pid=\([0-9]*\) .*/\1/p' <<<"$edge")"
    health="$(awk '{print $5}' <<<"$edge")"
    [[ "$edge" =~ upstreams\ healthy\ ([0-9?/]+) ]] && health="$health, upstreams healthy ${BASH_REMATCH[1]}"
  else
    pid=- health=down
  fi
  printf '%-13s %-8s %-22s %-22s %s\n' "edge (envoy)" "$pid" "127.0.0.1:8080" "127.0.0.1:8081" "$health"
  "$ROOT/scripts/infra/infra.sh" status || true
  "$ROOT/scripts/infra/postgres.sh" status 2>/dev/null || true  # the naive pull's database (make bench)
}

case "${1:-}" in
  up)
    "$ROOT/scripts/infra/infra.sh" up cassandra kafka redis s3 zipkin
    mesh_env
    # identity first: it creates the keyspace's shared tables and the signing key the others fetch.
    start_target identity && wait_target identity
    for t in "${TARGETS[@]}"; do [ "$t" = identity ] || start_target "$t"; done
    for t in "${TARGETS[@]}"; do wait_target "$t"; done
    edge_rc=0
    if [ "${MESH_EDGE:-1}" != 0 ]; then "$EDGE" start || edge_rc=$?; fi
    cmd_ps
    if [ "$edge_rc" != 0 ]; then say "the targets run, but the edge did not start (see above; log: $("$EDGE" logfile))"; exit 1; fi
    say "up; logs in $MESH_HOME/logs (edge: $("$EDGE" logfile))"
    say "traces: http://127.0.0.1:19411/zipkin/ (every target and the edge send them to Zipkin)"
    say "metrics (Prometheus text): http://127.0.0.1:<target's HTTP port>/metrics, e.g. the feed's at http://127.0.0.1:$(http_port feed)/metrics; the edge's at http://127.0.0.1:19901/stats/prometheus"
    ;;
  down|stop)
    say "stopping the edge and the targets (each drains its calls first, up to 15 s)"
    "$EDGE" stop
    for t in "${TARGETS[@]}"; do
      if pid_of "$t" >/dev/null; then (stop_target "$t" && say "stopped $t") & fi
    done
    wait
    if [ "$1" != stop ]; then
      say "stopping the servers"
      "$ROOT/scripts/infra/infra.sh" down
      "$ROOT/scripts/infra/postgres.sh" stop
    fi
    ;;
  ps) cmd_ps ;;
  restart)
    [ -n "${2:-}" ] || { say "usage: mesh.sh restart TARGET"; exit 2; }
    mesh_env
    stop_target "$2"; start_target "$2"; wait_target "$2"
    ;;
  logs) echo "$MESH_HOME/logs/${2:?usage: mesh.sh logs TARGET}.log" ;;
  supervise) supervise "${2:?}" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
esac
