#!/usr/bin/env bash
# promtool, Prometheus' rule checker and rule unit-test runner (test/rules.real.test.ts checks
# deploy/prometheus/ with it), without the Prometheus server: Debian's `prometheus` package is
# fetched with `apt-get download` (not installed: no service, no dependencies, no root needed when
# apt's package lists are there), unpacked with dpkg-deb, and only usr/bin/promtool (and the
# package's copyright file) kept, in $INFRA_HOME/promtool-$PROMTOOL_VERSION.
#
#   promtool.sh install     fetch and unpack (no-op when there)
#   promtool.sh path        the promtool binary (installs first when missing)
#   promtool.sh version     promtool --version
#   promtool.sh installed   exit 0 when installed
#
# Environment:
#   PROMTOOL_VERSION (2.42.0): Prometheus' version; the machine's apt sources must carry a
#     `prometheus` package of it (Debian 12: 2.42.0+ds-5+deb12u1; any Debian revision of it does)
#   INFRA_HOME ($HOME/.cache/feedmesh-infra)
# Needs apt-get and dpkg-deb (Debian, Ubuntu); when apt knows no such package, runs apt-get update
# first (as root) and tries again.
set -euo pipefail
NAME=promtool
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

PROMTOOL_VERSION="${PROMTOOL_VERSION:-2.42.0}"
[[ "$PROMTOOL_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "PROMTOOL_VERSION='$PROMTOOL_VERSION' is not a version like 2.42.0"
DIR="$INFRA_HOME/promtool-$PROMTOOL_VERSION"
BIN="$DIR/promtool"
APTLOG="$INFRA_HOME/promtool-apt.log"

# Debian's build reports "promtool, version 2.42.0+ds (branch: debian/sid, ...)"
installed() { [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -Eq "^promtool, version ${PROMTOOL_VERSION//./\\.}([+ ]|$)"; }

# deb_version: the newest `prometheus` package version apt knows for Prometheus $PROMTOOL_VERSION
# (an epoch and the Debian suffixes allowed: 2.42.0+ds-5+deb12u1), or nothing
deb_version() {
  apt-cache madison prometheus 2>/dev/null \
    | awk -F' *[|] *' -v v="$PROMTOOL_VERSION" '$3 ~ /Packages$/ { u = $2; sub(/^[0-9]+:/, "", u); if (index(u, v "+") == 1 || index(u, v "-") == 1) { print $2; exit } }'
}

do_install() {
  if installed; then return 0; fi
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null \
    || die "needs apt-get and dpkg-deb (Debian, Ubuntu); elsewhere put Prometheus $PROMTOOL_VERSION's promtool at $BIN"
  local t0=$SECONDS deb
  mkdir -p "$INFRA_HOME"; : > "$APTLOG"
  deb="$(deb_version)"
  if [ -z "$deb" ] && [ "$(id -u)" = 0 ]; then
    log "apt knows no prometheus $PROMTOOL_VERSION package (package lists missing or stale?); running apt-get update"
    with_heartbeat "running apt-get update" "$APTLOG" apt-get update -o DPkg::Lock::Timeout=300 || true
    deb="$(deb_version)"
  fi
  if [ -z "$deb" ]; then
    local known; known="$(apt-cache madison prometheus 2>/dev/null | awk -F' *[|] *' '$3 ~ /Packages$/ {print $2}' | paste -sd' ' -)"
    local hint="set PROMTOOL_VERSION to the Prometheus version of one of those"
    [ "$(id -u)" = 0 ] || hint="run apt-get update as root, or $hint"
    die "apt has no prometheus package of version $PROMTOOL_VERSION (it has: ${known:-none}); $hint"
  fi
  local tmp="$DIR.tmp"
  rm -rf "$tmp"; mkdir -p "$tmp"
  log "installing: apt-get download prometheus=$deb, keeping only promtool (~19 MB download)"
  # apt-get download writes into the current directory; as root it warns that it downloads
  # unsandboxed (the _apt user cannot write here): harmless, and kept in the log
  (cd "$tmp" && with_heartbeat "downloading prometheus=$deb" "$APTLOG" apt-get download "prometheus=$deb") \
    || { tail -n 20 "$APTLOG" >&2; die "apt-get download prometheus=$deb failed (log: $APTLOG)"; }
  local pkg; pkg="$(find "$tmp" -maxdepth 1 -name 'prometheus_*.deb' | head -1)"
  [ -n "$pkg" ] || die "apt-get download left no prometheus_*.deb in $tmp (log: $APTLOG)"
  dpkg-deb -x "$pkg" "$tmp/root" || die "dpkg-deb -x $pkg failed"
  [ -x "$tmp/root/usr/bin/promtool" ] || die "$pkg has no usr/bin/promtool"
  mkdir -p "$DIR"
  mv -f "$tmp/root/usr/bin/promtool" "$BIN.new"
  cp -f "$tmp/root/usr/share/doc/prometheus/copyright" "$DIR/copyright" 2>/dev/null || true
  echo "$deb" > "$DIR/deb-version"
  mv -f "$BIN.new" "$BIN"
  rm -rf "$tmp"
  installed || die "unpacked $BIN, but '$BIN --version' does not report $PROMTOOL_VERSION: $("$BIN" --version 2>&1 | head -1)"
  log "installed promtool $PROMTOOL_VERSION (Debian prometheus $deb) in $((SECONDS - t0)) s: $BIN"
}
cmd_install() {
  if installed; then log "promtool $PROMTOOL_VERSION already installed: $BIN"; return 0; fi
  with_lock "$LOCKS/promtool-$PROMTOOL_VERSION.lock" 300 do_install
}

case "${1:-}" in
  install)   cmd_install ;;
  installed) installed ;;
  path)      installed || cmd_install >&2; echo "$BIN" ;;
  version)   installed || cmd_install >&2; "$BIN" --version ;;
  *) script_usage >&2; exit 2 ;;
esac
