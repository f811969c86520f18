#!/usr/bin/env bash
# ghz (github.com/bojand/ghz), the gRPC load tool, built from source with `go install` from the Go
# module proxy into $INFRA_HOME/bin (pinned; the benchmarks' "load tool the field knows").
#
#   ghz.sh install     go install github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION (no-op when the binary
#                      already reports that module version)
#   ghz.sh installed   exit 0 when the pinned version is installed
#   ghz.sh path        print the binary's path (install first)
#
# Environment: GHZ_VERSION (v0.93.0), INFRA_HOME ($HOME/.cache/feedmesh-infra); needs Go on PATH
# (or in /usr/local/go/bin).
set -euo pipefail
INFRA_HOME="${INFRA_HOME:-$HOME/.cache/feedmesh-infra}"
GHZ_VERSION="${GHZ_VERSION:-v0.93.0}"
BIN="$INFRA_HOME/bin/ghz"
PKG=github.com/bojand/ghz/cmd/ghz

log() { echo "ghz.sh: $*" >&2; }
die() { log "$*"; exit 1; }
command -v go >/dev/null || { [ -x /usr/local/go/bin/go ] && PATH="/usr/local/go/bin:$PATH"; }

bin_version() { go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'; }
installed() { [ -x "$BIN" ] && command -v go >/dev/null && [ "$(bin_version "$BIN")" = "$GHZ_VERSION" ]; }

do_install() {
  if installed; then log "ghz $GHZ_VERSION already installed: $BIN"; return 0; fi
  command -v go >/dev/null || die "go is not on PATH (install Go 1.22+ to build ghz)"
  mkdir -p "$INFRA_HOME/bin"
  local tmp t0=$SECONDS; tmp="$(mktemp -d)"
  log "building ghz $GHZ_VERSION with go install (Go module proxy; about a minute on a cold cache)"
  GOBIN="$tmp" GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install -ldflags "-X main.version=$GHZ_VERSION" "$PKG@$GHZ_VERSION" \
    || { rm -rf "$tmp"; die "go install $PKG@$GHZ_VERSION failed"; }
  mv "$tmp/ghz" "$BIN"; rmdir "$tmp"
  log "installed ghz $GHZ_VERSION in $((SECONDS - t0)) s: $BIN"
}

case "${1:-install}" in
  install)   mkdir -p "$INFRA_HOME/locks"
             ( exec 8>"$INFRA_HOME/locks/ghz-install.lock"; flock -w 900 8 || die "timed out waiting for another ghz install"; do_install ) ;;
  installed) installed ;;
  path)      installed || die "ghz $GHZ_VERSION is not installed (run: $0 install)"; echo "$BIN" ;;
  -h|--help|help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown command: $1 (install, installed, path)" ;;
esac
