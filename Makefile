# Arrowhook developer commands. `make dev` and `make test` work on a fresh machine: they build what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Lambda runtime is Python 3.13: use it for the virtual environment when pyenv (or PATH) has it,
# otherwise fall back to python3 (3.11+) with a warning.
PYTHON_313 := $(shell PYENV_VERSION=3.13.0 pyenv which python 2>/dev/null || command -v python3.13 2>/dev/null)
BOOTSTRAP_PYTHON := $(or $(PYTHON_313),python3)
VENV := .venv
SAM_VENV := .venv-sam
PY := $(VENV)/bin/python
SAM := $(SAM_VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0
ENV ?= default

export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install dev test lint typecheck unit integration template bench build validate deploy clean openapi

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml layers/arrowhook/requirements.txt
	@if [ -z "$(PYTHON_313)" ]; then echo "warning: Python 3.13 not found, using $$(python3 --version) (Lambda runs 3.13)"; fi
	$(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r layers/arrowhook/requirements.txt -e '.[dev]'
	@touch $@

# aws-sam-cli pins an older pydantic than ours, so it lives in its own virtual environment.
$(SAM_VENV)/.installed:
	python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet "aws-sam-cli==$(SAM_CLI_VERSION)"
	@touch $@

install: $(VENV)/.installed $(SAM_VENV)/.installed ## create both virtual environments

dev: $(VENV)/.installed ## run the whole stack locally: embedded AWS + HTTP API on http://127.0.0.1:3000
	$(VENV)/bin/arrowhook dev

test: lint typecheck $(SAM_VENV)/.installed ## lint, type-check, then unit, integration and template tests
	SAM_BIN=$(abspath $(SAM)) $(PY) -m pytest

lint: $(VENV)/.installed ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed ## mypy --strict
	$(VENV)/bin/mypy

unit: $(VENV)/.installed ## unit tests only
	$(PY) -m pytest tests/unit

integration: $(VENV)/.installed ## integration tests only (local runtime over HTTP)
	$(PY) -m pytest tests/integration

template: $(VENV)/.installed $(SAM_VENV)/.installed ## template checks only (cfn-lint, sam validate, sam build)
	SAM_BIN=$(abspath $(SAM)) $(PY) -m pytest tests/template

bench: $(VENV)/.installed ## benchmarks: print figures and ratios
	$(PY) tests/bench/bench_webhook.py
	$(PY) tests/bench/bench_alerts.py
	$(PY) tests/bench/bench_archive.py

build: $(SAM_VENV)/.installed ## sam build (python3.13 / arm64 artifacts, no Docker)
	$(SAM) build

validate: $(SAM_VENV)/.installed ## sam validate --lint
	$(SAM) validate --lint

deploy: build ## sam deploy --config-env $(ENV) (ENV=prod for production)
	$(SAM) deploy --config-env $(ENV)

clean: ## remove virtual environments and build output
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .arrowhook .pytest_cache .mypy_cache .ruff_cache

openapi: $(VENV)/.installed ## write openapi.json: the whole HTTP API in one OpenAPI document
	$(VENV)/bin/arrowhook openapi --output openapi.json
