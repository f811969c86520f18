#!/usr/bin/env bash
# Fails when gen/ is not what the protos generate: regenerates into a temporary directory and
# compares, so a proto change without `make gen` (or a hand edit of gen/) cannot land.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
buf generate -o "$tmp"
buf build -o "$tmp/gen/feedmesh.binpb"
if ! diff -r gen "$tmp/gen" >"$tmp/diff.txt"; then
  echo "check-gen: gen/ is stale; run 'make gen' and commit the result. Differences:" >&2
  head -n 40 "$tmp/diff.txt" >&2
  exit 1
fi
echo "check-gen: gen/ is up to date"
