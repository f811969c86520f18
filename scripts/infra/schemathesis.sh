#!/usr/bin/env bash
# Schemathesis, the API fuzzer the test command runs against the edge (test/fuzz.real.test.ts):
# the PyPI package in a venv under $INFRA_HOME, installed on first use, reused after.
#
#   schemathesis.sh install   venv + schemathesis==$SCHEMATHESIS_VERSION (no-op when there)
#   schemathesis.sh path      the st executable (installs first when missing)
#   schemathesis.sh version
#
# Environment: SCHEMATHESIS_VERSION (4.32.5)   PYTHON (python3)   INFRA_HOME ($HOME/.cache/feedmesh-infra)
set -euo pipefail
NAME=schemathesis
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
PYTHON="${PYTHON:-python3}"
VENV="$INFRA_HOME/schemathesis-$SCHEMATHESIS_VERSION"
BIN="$VENV/bin/st"

installed() { [ -x "$BIN" ] && "$VENV/bin/python" -c "import schemathesis, sys; sys.exit(schemathesis.__version__ != '$SCHEMATHESIS_VERSION')" 2>/dev/null; }

do_install() {
  if installed; then return 0; fi
  command -v "$PYTHON" >/dev/null || die "$PYTHON is not on PATH (apt-get install -y python3 python3-venv, or set PYTHON)"
  local t0=$SECONDS
  rm -rf "$VENV"; mkdir -p "$INFRA_HOME"
  log "installing schemathesis==$SCHEMATHESIS_VERSION from PyPI into $VENV"
  "$PYTHON" -m venv "$VENV" || die "$PYTHON -m venv failed (Debian: apt-get install -y python3-venv)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" \
    || die "pip could not install schemathesis==$SCHEMATHESIS_VERSION"
  installed || die "schemathesis $SCHEMATHESIS_VERSION installed, but $BIN does not report it"
  log "installed schemathesis $SCHEMATHESIS_VERSION in $((SECONDS - t0)) s"
}
cmd_install() {
  if installed; then log "schemathesis $SCHEMATHESIS_VERSION already installed: $BIN"; return 0; fi
  mkdir -p "$LOCKS"; with_lock "$LOCKS/schemathesis-$SCHEMATHESIS_VERSION.lock" 600 do_install
}

case "${1:-}" in
  install) cmd_install ;;
  path)    installed || cmd_install >&2; echo "$BIN" ;;
  version) installed || cmd_install >&2; "$BIN" --version ;;
  *) script_usage >&2; exit 2 ;;
esac
