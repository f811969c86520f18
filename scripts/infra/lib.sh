# shellcheck shell=bash disable=SC2034
# Helpers shared by the scripts in scripts/infra/ (sourced, never run). Each server script sets NAME
# (its short name, used in messages) before sourcing this file.
#
# Layout under $INFRA_HOME (default ~/.cache/feedmesh-infra):
#   <server>-<version>/, bin/     downloads and builds (kept; a second install is a no-op)
#   run/feedmesh/<server>/        pid file, logs, generated config (one directory per server)
#   data/<server>/                data directories (kept across restarts; `<server>.sh reset` deletes)
# run/ and data/ carry the project's own names so that they never collide with other scripts that
# use the same INFRA_HOME for other ports.

INFRA_HOME="${INFRA_HOME:-$HOME/.cache/feedmesh-infra}"
INFRA_RUN="$INFRA_HOME/run/feedmesh"
INFRA_DATA="$INFRA_HOME/data"
LOCKS="$INFRA_HOME/.locks"              # flock files: one install of a thing at a time

log() { echo "$NAME.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# check_port VAR: the variable must hold a port number (Kubernetes service links, for example, set
# REDIS_PORT=tcp://10.0.0.1:6379 in pods, which must not end up in a config file)
check_port() {
  local v="${!1}"
  [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -ge 0 ] && [ "$v" -le 65535 ] \
    || die "$1='$v' is not a port number (unset it, or set a number)"
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }   # HOST PORT: something accepts there

# who_listens PORT: "pid 123 (java)" from ss, when ss can tell
who_listens() {
  command -v ss >/dev/null || return 0
  ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/pid \2 (\1)/p' | head -1
}

# ensure_ports_free HOST PORT:VAR[:HINT] ...: die naming the first taken port and the variable that
# moves it
ensure_ports_free() {
  local host="$1" pv p v hint who; shift
  for pv in "$@"; do
    IFS=: read -r p v hint <<<"$pv"
    [ "$p" = 0 ] && continue
    if port_open "$host" "$p"; then
      who="$(who_listens "$p")"
      die "port $host:$p ($v) is already in use${who:+ by $who}, not by a $NAME this script started; stop that process or set $v to a free port${hint:+ ($hint)}"
    fi
  done
}

# alive PID: the process exists and is not a zombie (an orphan stays a zombie until PID 1 reaps it;
# on some container inits that takes a second or more)
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

rss() { awk '/VmRSS/{printf "%d MB", $2/1024}' "/proc/$1/status" 2>/dev/null || true; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# pid_matches PIDFILE PATTERN: the pid in PIDFILE is alive and its command line contains PATTERN
# (guards against a reused pid and against another instance)
pid_matches() {
  [ -f "$1" ] || return 1
  local pid; pid="$(cat "$1" 2>/dev/null)"
  [ -n "$pid" ] && alive "$pid" || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"
}

cmdline_of() { tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null; }

# check_running_addr: with pid_alive true, die unless the running server listens where the settings
# now say (ADDR; each script defines running_addr). A changed port must not look "already running",
# nor start a second instance over the first one's pid file.
check_running_addr() {
  local a; a="$(running_addr)"
  [ "$a" = "$ADDR" ] && return 0
  die "already running (pid $(cat "$PIDFILE")) on ${a:-?}, not on $ADDR as now configured; stop it first ($NAME.sh stop) or restore its settings"
}

# spawn PIDFILE LOG CMD...: start CMD in the background in its own session (a Ctrl-C in the terminal
# that ran `up` does not reach it), stdin from /dev/null, stdout+stderr to LOG; the process writes
# its own pid before exec'ing CMD, so the pid is the server's even when setsid has to fork.
spawn() {
  local pidfile="$1" logf="$2"; shift 2
  rm -f "$pidfile"
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" >>"$logf" 2>&1 </dev/null 9>&- &
  local _i; for _i in $(seq 1 100); do [ -s "$pidfile" ] && return 0; sleep 0.05; done
  die "could not start $1 (no pid written to $pidfile)"
}

# stop_pid PIDFILE TIMEOUT_S: TERM, then KILL after TIMEOUT_S; returns 1 when KILL was needed
stop_pid() {
  local pid; pid="$(cat "$1")"; local t="$2" rc=0
  kill -TERM "$pid" 2>/dev/null || true
  local _i; for _i in $(seq 1 $((t * 10))); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then
    log "pid $pid ignored TERM for ${t}s; sending KILL"; kill -KILL "$pid" 2>/dev/null || true; rc=1
    for _i in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
  fi
  rm -f "$1"
  return $rc
}

# with_heartbeat WHAT LOGFILE CMD...: run CMD (output appended to LOGFILE), printing "still WHAT (N s)" every
# 30 s so long installs show progress; returns CMD's exit code
with_heartbeat() {
  local what="$1" logf="$2"; shift 2
  local t0=$SECONDS
  "$@" >>"$logf" 2>&1 &
  local pid=$! next=$((SECONDS + 30))
  while alive "$pid"; do
    if [ $SECONDS -ge $next ]; then log "still $what ($((SECONDS - t0)) s)"; next=$((SECONDS + 30)); fi
    sleep 1
  done
  wait "$pid"
}

# with_lock FILE WAIT_S CMD...: run CMD holding an exclusive flock on FILE (fd 8)
with_lock() {
  local f="$1" w="$2"; shift 2
  mkdir -p "$(dirname "$f")"
  (
    exec 8>"$f"
    if ! flock -n 8; then
      local t0=$SECONDS
      log "waiting for another install to finish (lock $f)"
      flock -w "$w" 8 || die "timed out after ${w}s waiting for $f"
      log "waited $((SECONDS - t0)) s for $(basename "$f")"
    fi
    "$@"
  )
}

# mvn_install NAME FN: run install function FN holding the lock of NAME and the mvn lock: one mvn at a
# time per INFRA_HOME (Maven 3.8's local repository ~/.m2 has no locking for concurrent writers)
mvn_install() { with_lock "$LOCKS/$1.lock" 1800 with_lock "$LOCKS/mvn.lock" 1800 "$2"; }

# mvn_resolve DIR LOG ARGS...: mvn -B -q in DIR with ARGS, output to LOG, progress every 30 s
mvn_resolve() {
  local dir="$1" logf="$2"; shift 2
  command -v mvn >/dev/null || die "mvn is not on PATH (install Maven: apt-get install -y maven)"
  with_heartbeat "resolving with mvn" "$logf" \
    bash -c 'cd "$0" && exec mvn -B -q -Dstyle.color=never "$@"' "$dir" "$@"
}

java_major() { "$1" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/{print $2; exit}'; }

# pick_java MIN [MAX]: a java binary with MIN <= major <= MAX; ${NAME^^}_JAVA, then JAVA_HOME, then
# PATH, then /usr/lib/jvm/*
pick_java() {
  local min="$1" max="${2:-99}" var; var="${NAME^^}_JAVA"
  if [ -n "${!var:-}" ]; then echo "${!var}"; return 0; fi
  local c v
  for c in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java || true)" /usr/lib/jvm/*/bin/java; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    v="$(java_major "$c")"; [[ "$v" =~ ^[0-9]+$ ]] || continue
    if [ "$v" -ge "$min" ] && [ "$v" -le "$max" ]; then echo "$c"; return 0; fi
  done
  return 1
}

# status_line STATE PID ADDR READY [EXTRA]: the one-line format every script's `status` prints
status_line() {
  printf '%-9s %-7s pid=%-7s %-21s %-9s rss=%-7s %s\n' "$NAME" "$1" "${2:--}" "$3" "$4" "${5:--}" "${6:-}"
}

# server_status HEALTH_FN DETAILS [UNREADY]: the status line of this script's server: running or
# stopped, the address it really listens on (a changed port variable shows as "mismatch"), ready
# when HEALTH_FN succeeds. Exit 1 when stopped. Needs pid_alive and running_addr from the script.
server_status() {
  local health="$1" details="$2" unready="${3:-starting}" addr="$ADDR"
  if pid_alive; then
    local pid h="$unready"; pid="$(cat "$PIDFILE")"; addr="$(running_addr)"
    if [ "$addr" != "$ADDR" ]; then h=mismatch; elif "$health"; then h=ready; fi
    status_line running "$pid" "$addr" "$h" "$(rss "$pid" | tr -d ' ')" "$details"
  else
    status_line stopped "" "$addr" - "" ""; return 1
  fi
}

# is_common_command CMD: whether CMD is one of the commands every server script has, which
# run_common_command runs (install, installed, precheck, start, stop, restart, status, logtail,
# logfile, help).
is_common_command() {
  case "$1" in install|installed|precheck|start|stop|restart|status|logtail|logfile|help|-h|--help) return 0 ;; *) return 1 ;; esac
}
run_common_command() {
  case "$1" in
    install)   cmd_install ;;
    installed) installed ;;
    precheck)  precheck ;;
    start)     cmd_start ;;
    stop)      cmd_stop ;;
    restart)   cmd_stop; cmd_start ;;
    status)    cmd_status ;;
    logtail)   cmd_logtail ;;
    logfile)   echo "$LOG" ;;
    *)         script_usage ;;
  esac
}
script_usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
