# Flow Builder: `make dev` runs the product locally, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: dev test lint bench bench-peers install clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,browser,infra]'
	touch $@

install: $(INSTALLED)

dev: $(INSTALLED) system-deps-dev web
	$(BIN)/flowbuilder dev

.PHONY: system-deps-dev
system-deps-dev:
	bash .ci/system-deps.sh --dev

test: $(INSTALLED)
	bash .ci/system-deps.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Every benchmark, peers beside us, written to docs/performance.md (bench/write_report.py).
bench: $(INSTALLED) bench/peers/.venv/.installed
	bash .ci/system-deps.sh
	$(BIN)/python -m bench.write_report

# Prefect 3 and Celery in their own venv (bench/peers/.venv), never in the product's.
bench-peers: bench/peers/.venv/.installed

bench/peers/.venv/.installed: bench/peers/requirements.txt
	PYTHON=$(PYTHON) bash bench/peers/setup.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .flowbuilder web/dist web/node_modules bench/peers/.venv cdk.out build

# The web app (web/, Node 20+): built to web/dist, which `make dev` serves at /; skipped when up to date.
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json

.PHONY: web web-test

web: web/dist/index.html

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run build

web-test: web/node_modules/.package-lock.json
	cd web && npm test -- --run

# The AWS stack (docs/deploy.md). The CDK CLI comes from npm; the app runs on the venv's Python.
CDK ?= npx --yes aws-cdk@2
CDK_ENV := PATH="$(CURDIR)/$(BIN):$$PATH" JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

.PHONY: build-lambda synth deploy

build-lambda: $(INSTALLED)
	$(BIN)/python -m infra.build_lambda

synth: build-lambda web
	$(CDK_ENV) $(CDK) synth --quiet

deploy: build-lambda web
	$(CDK_ENV) $(CDK) deploy --require-approval broadening
