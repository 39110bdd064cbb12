# Flow Builder: `make dev` runs the product locally, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: dev test lint bench install clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(INSTALLED)

dev: $(INSTALLED)
	$(BIN)/flowbuilder dev

test: $(INSTALLED)
	bash .ci/system-deps.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(INSTALLED)
	bash .ci/system-deps.sh
	$(BIN)/python -m bench.engine_overhead
	$(BIN)/python -m bench.api_import
	$(BIN)/python -m bench.api_latency
	$(BIN)/python -m bench.scheduler_dispatch

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .flowbuilder
