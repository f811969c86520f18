#!/usr/bin/env bash
# Every check and every test, as CI runs them (npm test). Runs on the project's Node 24.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
step() { printf '\n== %s\n' "$*"; }

step "node $(node --version)"
step "buf lint"
buf lint
step "generated code is fresh"
bash scripts/check-gen.sh
step "type check"
tsc -p .
step "lint and format (biome)"
biome check .
step "tests (node:test)"
node --import tsx --test --test-reporter=spec --test-concurrency=1 \
  'services/**/*.test.ts' 'test/**/*.test.ts'
step "bench-rpc smoke run"
node --import tsx bench/rpc/run.ts --smoke
