# feedmesh: every target runs on the project's own Node 24 and tools from node_modules.
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: help install start test gen check-gen lint typecheck breaking bench-rpc bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

# npm runs on the system's Node: on one older than 22 it warns EBADENGINE for every package that
# declares Node 22 or 24. `npm exec` puts the locked `node` package first on the PATH, so this
# install runs on the Node 24 the project uses (same lock, same result as `npm install`).
NODE_LOCKED := $(shell sed -n '/"node_modules\/node": {/{n;s/.*"version": "\(.*\)".*/\1/p;}' package-lock.json)

node_modules/.bin/node: package.json package-lock.json
	npm exec --yes --package=node@$(NODE_LOCKED) -- npm install --no-audit --no-fund
	@touch $@

install: node_modules/.bin/node ## install dependencies (Node 24 included)

start: install ## start every service in one process on the embedded store (127.0.0.1:8080 and :8081)
	npm start

test: install ## every check and every test (what CI runs)
	npm test

gen: install ## regenerate gen/ (TypeScript, descriptor set, OpenAPI) and deploy/envoy/mesh.yaml from proto/
	buf generate
	buf build -o gen/feedmesh.binpb
	node --import tsx scripts/gen/openapi.ts
	node --import tsx deploy/envoy/render.ts
	node --import tsx scripts/gen/prometheusrule.ts

check-gen: install ## fail if gen/ is stale
	bash scripts/check-gen.sh

lint: install ## buf lint and biome
	buf lint
	biome check .

typecheck: install ## strict TypeScript
	tsc -p .

BREAKING_AGAINST ?= .git\#branch=main
breaking: install ## buf breaking (FILE rules) against BREAKING_AGAINST (default: the main branch)
	buf breaking --against '$(BREAKING_AGAINST)'

bench-rpc: install ## echo throughput and latency of grpc-js and connect-node, side by side
	npm run bench:rpc

bench: install ## the feed on the real stack vs its ceilings and the naive pull (≤ 30 min; docs/benchmarks.md)
	bash scripts/infra/infra.sh up
	bash scripts/infra/postgres.sh start
	bash scripts/infra/ghz.sh install || echo "bench: ghz could not be installed (needs Go); the run goes on without it"
	eval "$$(bash scripts/infra/infra.sh env)" && eval "$$(bash scripts/infra/postgres.sh env)" && node --import tsx bench/feed/run.ts

clean: ## remove the embedded data directory
	rm -rf data

.PHONY: up down ps restart infra-up infra-down
up: install ## the microservices mode: infrastructure + every target in its own process (real backends)
	bash scripts/mesh.sh up

down: ## stop every target and the infrastructure
	bash scripts/mesh.sh down

ps: ## what runs, where, and its health
	bash scripts/mesh.sh ps

restart: ## restart one target of make up: make restart T=feed
	@[ -n "$(T)" ] || { echo "usage: make restart T=<target>" >&2; exit 2; }
	bash scripts/mesh.sh restart $(T)

infra-up: ## start only the servers the tests need (Cassandra, Kafka, Redis, S3)
	bash scripts/infra/infra.sh up

infra-down: ## stop the servers
	bash scripts/infra/infra.sh down
