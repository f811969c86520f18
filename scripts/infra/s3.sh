#!/usr/bin/env bash
# Local S3-compatible object store for feedmesh tests: versitygw (posix backend), built from source
# with `go install`, on loopback, with fixed test credentials and the media bucket created.
# Adapted from the team's verified reference recipe (which checked pre-signed PUT/GET, expiry,
# multipart and ListObjectsV2 from @aws-sdk/client-s3 with forcePathStyle: true).
#
#   s3.sh install   build the binary into $INFRA_HOME/bin (no-op when the pinned version is there)
#   s3.sh start     start on $S3_HOST:$S3_PORT with data in $S3_DATA_DIR, wait until healthy, create
#                   $S3_BUCKET if missing (no-op if running; the bucket is still ensured)
#   s3.sh stop      stop it (TERM, then KILL after 10 s); no-op when not running
#   s3.sh restart   stop + start (data is kept)
#   s3.sh status    one line: running or not, pid, port, ready or not, RSS; exit 1 when stopped
#   s3.sh env       export lines for the feedmesh services (FEEDMESH_S3_*)
#   s3.sh curl ARGS...   curl with this server's SigV4 credentials, e.g. `s3.sh curl http://127.0.0.1:19000/`
#   s3.sh logtail   last lines of the log    s3.sh reset  stop and delete the data directory
#   s3.sh installed / precheck (as for the others)
#
# Environment:
#   S3_HOST        (127.0.0.1)   S3_PORT (19000)   S3 API listen address
#   S3_DATA_DIR    ($INFRA_HOME/data/s3)  must support user xattrs (ext4, xfs and tmpfs do)
#   S3_ACCESS_KEY  (feedmesh)             root access key (test credentials, loopback only)
#   S3_SECRET_KEY  (feedmesh-secret-key)  root secret
#   S3_REGION      (us-east-1)
#   S3_BUCKET      (feedmesh-media)       created at start when missing
#   S3_CORS_ORIGIN (*)                    default CORS origin when a bucket has no CORS rules
#   S3_VERBOSE     (0)                    1 = log every request
#   S3_READY_TIMEOUT (30)
#   VERSITYGW_VERSION (v1.8.0)
#   INFRA_HOME     ($HOME/.cache/feedmesh-infra)
#   GOPATH, GOMODCACHE, GOCACHE, GOPROXY, GOFLAGS: honoured as set (go's defaults otherwise:
#   ~/go/pkg/mod and ~/.cache/go-build); GOBIN is ignored (the binary goes to $INFRA_HOME/bin)
set -euo pipefail
NAME=s3
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

S3_HOST="${S3_HOST:-127.0.0.1}"
S3_PORT="${S3_PORT:-19000}"
S3_DATA_DIR="${S3_DATA_DIR:-$INFRA_DATA/s3}"
S3_ACCESS_KEY="${S3_ACCESS_KEY:-feedmesh}"
S3_SECRET_KEY="${S3_SECRET_KEY:-feedmesh-secret-key}"
S3_REGION="${S3_REGION:-us-east-1}"
S3_BUCKET="${S3_BUCKET:-feedmesh-media}"
S3_CORS_ORIGIN="${S3_CORS_ORIGIN:-*}"
S3_VERBOSE="${S3_VERBOSE:-0}"
S3_READY_TIMEOUT="${S3_READY_TIMEOUT:-30}"
VERSITYGW_VERSION="${VERSITYGW_VERSION:-v1.8.0}"
check_port S3_PORT

PKG="github.com/versity/versitygw/cmd/versitygw"
BIN_DIR="$INFRA_HOME/bin"
BIN="$BIN_DIR/versitygw-$VERSITYGW_VERSION"   # same path as the reference recipe: its build is reused
HEALTH=/health
RUN="$INFRA_RUN/s3"
PIDFILE="$RUN/pid"
LOG="$RUN/server.log"
ENDPOINT="http://$S3_HOST:$S3_PORT"

installed() { [ -x "$BIN" ]; }

go_bin() {
  if command -v go >/dev/null; then command -v go; return 0; fi
  [ -x /usr/local/go/bin/go ] && { echo /usr/local/go/bin/go; return 0; }
  die "go is not on PATH (versitygw is built with go install; install Go 1.24 or newer)"
}

do_install() {
  if installed; then log "versitygw $VERSITYGW_VERSION already installed: $BIN"; return 0; fi
  local go; go="$(go_bin)"
  mkdir -p "$BIN_DIR"
  local tmp; tmp="$(mktemp -d "$BIN_DIR/.build.XXXXXX")"; local t0=$SECONDS
  log "installing: go install $PKG@$VERSITYGW_VERSION ($("$go" version | cut -d' ' -f3); about 2 min on 2 cores with cold Go caches, seconds with warm ones; log: $tmp/go.log)"
  # GOBIN points at a private directory (a user's GOBIN or GOPATH/bin stays untouched); the module
  # and build caches are go's own (GOMODCACHE, GOCACHE), so other projects share them.
  if ! with_heartbeat "building versitygw with go" "$tmp/go.log" \
       env GOBIN="$tmp" GOFLAGS="${GOFLAGS:-} -buildvcs=false" "$go" install "$PKG@$VERSITYGW_VERSION"; then
    tail -n 30 "$tmp/go.log" >&2; cp "$tmp/go.log" "$BIN_DIR/versitygw-build.log" 2>/dev/null || true; rm -rf "$tmp"
    die "go install $PKG@$VERSITYGW_VERSION failed (log: $BIN_DIR/versitygw-build.log)"
  fi
  mv "$tmp/versitygw" "$BIN"; rm -rf "$tmp"
  log "installed $BIN ($(du -m "$BIN" | cut -f1) MB) in $((SECONDS - t0)) s"
}
cmd_install() { installed && { log "versitygw $VERSITYGW_VERSION already installed: $BIN"; return 0; }
                with_lock "$LOCKS/versitygw-$VERSITYGW_VERSION.lock" 1800 do_install; }

ADDR="$S3_HOST:$S3_PORT"
pid_alive() { pid_matches "$PIDFILE" "$BIN --port "; }
running_addr() { cmdline_of "$(cat "$PIDFILE")" | sed -n 's/.* --port \([^ ]*\) .*/\1/p'; }
healthy() { curl -fsS --max-time 2 -o /dev/null "$ENDPOINT$HEALTH" 2>/dev/null; }

# curl with AWS Signature V4 (curl >= 7.75); x-amz-content-sha256 is required by S3 servers
s3curl() {
  curl -sS --max-time 10 --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

ensure_bucket() {
  [ -n "$S3_BUCKET" ] || return 0
  local code
  code="$(s3curl -o /dev/null -w '%{http_code}' -I "$ENDPOINT/$S3_BUCKET" 2>/dev/null || true)"
  case "$code" in
    200) log "bucket $S3_BUCKET exists"; return 0 ;;
    404) ;;
    *) die "HEAD $ENDPOINT/$S3_BUCKET answered HTTP $code (expected 200 or 404; wrong credentials S3_ACCESS_KEY/S3_SECRET_KEY?)" ;;
  esac
  local out
  out="$(s3curl -X PUT -w '\n%{http_code}' "$ENDPOINT/$S3_BUCKET" 2>&1 || true)"
  case "${out##*$'\n'}" in
    200) log "created bucket $S3_BUCKET" ;;
    409) log "bucket $S3_BUCKET exists" ;;
    *) die "could not create bucket $S3_BUCKET: $out" ;;
  esac
}

cmd_logtail() { { echo "---- last lines of $LOG:"; tail -n 30 "$LOG" 2>/dev/null; echo "----"; } >&2; }
show_failure() { [ -n "${INFRA_NO_LOGTAIL:-}" ] || cmd_logtail; }

precheck() { if pid_alive; then check_running_addr; return 0; fi; ensure_ports_free "$S3_HOST" "$S3_PORT:S3_PORT"; }

cmd_start() {
  mkdir -p "$RUN"
  exec 9>"$RUN/lock"; flock -w "$S3_READY_TIMEOUT" 9 || die "another s3.sh holds $RUN/lock"
  if pid_alive; then
    check_running_addr
    log "already running (pid $(cat "$PIDFILE")) on $ENDPOINT"
    healthy && ensure_bucket
    return 0
  fi
  precheck
  installed || cmd_install
  command -v curl >/dev/null || die "curl is not on PATH (apt-get install -y curl)"
  mkdir -p "$S3_DATA_DIR"
  [ -f "$LOG" ] && mv -f "$LOG" "$LOG.1"
  local quiet=(--quiet); [ "$S3_VERBOSE" = 1 ] && quiet=()
  local t0; t0=$(now_ms)
  spawn "$PIDFILE" "$LOG" env ROOT_ACCESS_KEY="$S3_ACCESS_KEY" ROOT_SECRET_KEY="$S3_SECRET_KEY" "$BIN" --port "$S3_HOST:$S3_PORT" --region "$S3_REGION" --health "$HEALTH" \
    --cors-allow-origin "$S3_CORS_ORIGIN" "${quiet[@]}" posix "$S3_DATA_DIR"
  local pid; pid="$(cat "$PIDFILE")"
  local deadline=$((SECONDS + S3_READY_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if ! alive "$pid"; then
      log "versitygw exited during start-up (log: $LOG)"; show_failure; rm -f "$PIDFILE"; exit 1
    fi
    if healthy; then
      log "versitygw $VERSITYGW_VERSION ready on $ENDPOINT (pid $pid) in $(( $(now_ms) - t0 )) ms, RSS $(rss "$pid"), data $S3_DATA_DIR, log $LOG"
      ensure_bucket
      return 0
    fi
    sleep 0.1
  done
  log "versitygw not healthy at $ENDPOINT$HEALTH after ${S3_READY_TIMEOUT}s (log: $LOG)"; show_failure
  cmd_stop; exit 1
}

cmd_stop() {
  if ! pid_alive; then rm -f "$PIDFILE"; log "versitygw not running"; return 0; fi
  local pid; pid="$(cat "$PIDFILE")"
  stop_pid "$PIDFILE" 10 || true
  log "stopped versitygw pid $pid"
}

cmd_status() { server_status healthy "versitygw $VERSITYGW_VERSION, bucket $S3_BUCKET, log $LOG" unhealthy; }

cmd_env() {
  cat <<EOF
export FEEDMESH_S3_ENDPOINT=$ENDPOINT
export FEEDMESH_S3_BUCKET=$S3_BUCKET
export FEEDMESH_S3_ACCESS_KEY_ID=$S3_ACCESS_KEY
export FEEDMESH_S3_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export FEEDMESH_S3_REGION=$S3_REGION
EOF
}

if is_common_command "${1:-}"; then run_common_command "$1"; exit; fi
case "${1:-}" in
  env)       cmd_env ;;
  curl)      shift; s3curl "$@" ;;
  reset)     cmd_stop; rm -rf "$S3_DATA_DIR"; log "deleted $S3_DATA_DIR" ;;
  *) script_usage >&2; exit 2 ;;
esac
