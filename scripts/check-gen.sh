#!/usr/bin/env bash
# Fails when gen/ (or the Envoy edge config derived from the protos) is not what the protos
# generate: regenerates into a temporary directory and compares, so a proto change without
# `make gen` (or a hand edit of a generated file) cannot land.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
buf generate -o "$tmp"
buf build -o "$tmp/gen/feedmesh.binpb"
mkdir -p "$tmp/gen/openapi" "$tmp/deploy/envoy"
node --import tsx scripts/gen/openapi.ts --out "$tmp/gen/openapi/feedmesh.openapi.json" 2>/dev/null
node --import tsx deploy/envoy/render.ts --out "$tmp/deploy/envoy/mesh.yaml" 2>/dev/null
mkdir -p "$tmp/deploy/prometheus"
node --import tsx scripts/gen/prometheusrule.ts --out "$tmp/deploy/prometheus/prometheusrule.yaml" 2>/dev/null
stale=0
if ! diff -r gen "$tmp/gen" >"$tmp/diff.txt"; then stale=1; fi
if ! diff deploy/envoy/mesh.yaml "$tmp/deploy/envoy/mesh.yaml" >>"$tmp/diff.txt"; then stale=1; fi
if ! diff deploy/prometheus/prometheusrule.yaml "$tmp/deploy/prometheus/prometheusrule.yaml" >>"$tmp/diff.txt"; then stale=1; fi
if [ "$stale" = 1 ]; then
  echo "check-gen: gen/, deploy/envoy/mesh.yaml or deploy/prometheus/prometheusrule.yaml is stale; run 'make gen' and commit the result. Differences:" >&2
  head -n 40 "$tmp/diff.txt" >&2
  exit 1
fi
echo "check-gen: gen/, deploy/envoy/mesh.yaml and deploy/prometheus/prometheusrule.yaml are up to date"
