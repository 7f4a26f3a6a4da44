# s3seal — every target runs on Node 24 (installed from the npm registry by
# scripts/ensure-node.sh when the machine's node is older) and provisions what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Binaries (Node 24, MinIO, etcd, kube-apiserver) are cached outside the work tree so a fresh
# clone on a warm machine reuses them; set S3SEAL_CACHE_DIR=.cache to keep them in the tree.
export S3SEAL_CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/s3seal
NODE_BIN := $(shell bash scripts/ensure-node.sh)
export PATH := $(NODE_BIN):$(PATH)
JEST := bash scripts/run-jest.sh

.PHONY: help setup build lint format typecheck test-deps test test-unit test-integration run clean format-vectors crds k8s-demo bench bench-quick

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 20

node_modules/.s3seal-installed: package.json package-lock.json packages/*/package.json
	npm ci --no-audit --no-fund
	@touch $@

setup: node_modules/.s3seal-installed ## install Node 24 and the npm dependencies (npm ci)

build: setup ## compile every package (tsc -b)
	npm run --silent build

typecheck: setup ## type-check sources and tests
	npx tsc -p tsconfig.json

lint: setup typecheck ## lint (eslint, type-aware), check formatting (prettier), lint the Dockerfiles (hadolint)
	npx eslint .
	npx prettier --check .
	bash scripts/lint-images.sh

format: setup ## rewrite files with prettier and eslint --fix
	npx prettier --write .
	npx eslint --fix .

test-deps: ## build or find MinIO, etcd, kube-apiserver, Vault; install redis-server, moto_server
	bash scripts/test-deps.sh

test-unit: setup ## unit tests only (no servers)
	$(JEST) --selectProjects unit

test-integration: setup test-deps build ## integration tests against real servers (the operator's end-to-end test runs the built proxy)
	$(JEST) --selectProjects integration

test: setup test-deps build ## everything CI runs: unit and integration tests
	$(JEST)

# Not part of `make test`: minutes of load on every core. Run it on a quiet machine.
bench: setup ## benchmarks, direct MinIO vs s3seal (~15 min): writes bench/results.json and docs/BENCHMARKS.md
	bash scripts/test-deps.sh minio redis warp
	npm run --silent build
	@# A failed phase is recorded in the results (and fails the target) after the rest is rendered.
	node packages/bench/dist/main.js; status=$$?; \
		node packages/bench/dist/render-main.js && npx prettier --write bench/results.json docs/BENCHMARKS.md && exit $$status

bench-quick: setup ## the benchmark harness on tiny sizes, 1 run (checks it; figures go to bench/out/, not committed)
	bash scripts/test-deps.sh minio redis warp
	npm run --silent build
	node packages/bench/dist/main.js --quick; status=$$?; node packages/bench/dist/render-main.js --quick && exit $$status

run: setup test-deps ## start MinIO, Valkey and the s3seal proxy locally (Ctrl-C stops them)
	npm run --silent build && node packages/cli/dist/main.js dev

k8s-demo: setup test-deps build ## the operator on a local kube-apiserver: apply a policy, watch a pod get the proxy
	node packages/cli/dist/main.js k8s-demo

format-vectors: setup ## rewrite the test vectors in docs/FORMAT.md (after a deliberate format change)
	S3SEAL_WRITE_VECTORS=1 $(JEST) --selectProjects unit --testPathPatterns format/vectors

crds: setup ## regenerate crds/ from packages/operator/src/api/schema.ts
	S3SEAL_WRITE_CRDS=1 $(JEST) --selectProjects unit --testPathPatterns operator/src/api/crd
	npx prettier --write crds/

# Container images. The production install inside them (scripts/prod-install.sh) is tested
# without Docker by packages/proxy/test/integration/production-install.test.ts.
.PHONY: images lint-images
IMAGE_REPOSITORY ?= ghcr.io/s3seal
IMAGE_TAG ?= $(shell node -p 'require("./package.json").version')
IMAGE_REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)

images: ## build ghcr.io/s3seal/proxy and /operator with docker build (needs a Docker engine)
	@command -v docker >/dev/null || { echo "make images: no docker command on this machine: install Docker, or build Dockerfile.proxy and Dockerfile.operator where it runs" >&2; exit 1; }
	@docker info >/dev/null 2>&1 || { echo "make images: docker finds no running Docker engine (docker info failed): start one, or set DOCKER_HOST to one" >&2; exit 1; }
	docker build -f Dockerfile.proxy --build-arg VERSION=$(IMAGE_TAG) --build-arg REVISION=$(IMAGE_REVISION) -t $(IMAGE_REPOSITORY)/proxy:$(IMAGE_TAG) .
	docker build -f Dockerfile.operator --build-arg VERSION=$(IMAGE_TAG) --build-arg REVISION=$(IMAGE_REVISION) -t $(IMAGE_REPOSITORY)/operator:$(IMAGE_TAG) .

lint-images: ## lint Dockerfile.proxy and Dockerfile.operator (hadolint, installed on first use, and the project's rules)
	bash scripts/lint-images.sh

clean: ## remove build outputs (not the binary cache)
	npm run --silent clean || true
	rm -rf coverage .cache/rig

# The property/fuzz tests (*.fuzz.test.ts) with many more runs than `make test` gives them
# (200 per property there). S3SEAL_FUZZ_RUNS=100000 make fuzz for a longer session.
.PHONY: fuzz
fuzz: setup ## property and fuzz tests with S3SEAL_FUZZ_RUNS (default 20000) runs per property
	S3SEAL_FUZZ_RUNS=$${S3SEAL_FUZZ_RUNS:-20000} $(JEST) --selectProjects unit --testPathPatterns '\.fuzz\.test\.ts$$'

# Not part of `make test` (which runs a 40-second variant, packages/proxy/test/integration/soak.test.ts).
.PHONY: soak
soak: setup ## soak the proxy: 64 clients for 10 min (S3SEAL_SOAK_SECONDS, S3SEAL_SOAK_CLIENTS); writes bench/out/soak.json
	bash scripts/test-deps.sh minio redis
	npm run --silent build
	node packages/bench/dist/soak-main.js
