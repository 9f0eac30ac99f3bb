# Arrowhook developer commands. `make dev` and `make test` work on a fresh machine: they build what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Lambda runtime is Python 3.13: use it for the virtual environment when pyenv (or PATH) has it,
# otherwise fall back to python3 (3.11+) with a warning.
PYTHON_313 := $(shell PYENV_VERSION=3.13.0 pyenv which python 2>/dev/null || command -v python3.13 2>/dev/null)
BOOTSTRAP_PYTHON := $(or $(PYTHON_313),python3)
# The layer and function Makefiles compile the Lambda runtime's bytecode with it (see layers/arrowhook/Makefile).
export BYTECODE_PYTHON := $(PYTHON_313)
VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
PY := $(VENV)/bin/python
SAM := $(SAM_VENV)/bin/sam
ENV ?= default

export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Stamped into the layer by `sam build` and served by GET /version.
export ARROWHOOK_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)

.PHONY: help install dev test lint typecheck security unit integration template load bench build sam-local validate deploy destroy upgrade-indexes clean openapi docs lock screenshots

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# Every install is from a lock with hashes (requirements/*.txt, layers/arrowhook/requirements.txt):
# pip refuses any file whose hash differs; --no-deps because a lock already lists every dependency
# (and pip cannot match the extras some packages ask for against it). `make lock` regenerates them.
$(VENV)/.installed: pyproject.toml requirements/dev.txt
	@if [ -z "$(PYTHON_313)" ]; then echo "warning: Python 3.13 not found, using $$(python3 --version) (Lambda runs 3.13)"; fi
	$(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

# aws-sam-cli pins an older pydantic than ours, so it lives in its own virtual environment.
$(SAM_VENV)/.installed: requirements/sam.txt
	python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements/sam.txt
	@touch $@

# checkov's dependency tree is large and conflicts with ours: its own virtual environment too.
$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements/checkov.txt
	@touch $@

# The console's front-end libraries, from npm at the versions package-lock.json pins (never a CDN):
# copied next to its own assets for `make dev` and the tests; `sam build` copies them into the artifact.
CONSOLE_VENDOR := functions/console/static/vendor/.installed
$(CONSOLE_VENDOR): functions/console/package.json functions/console/package-lock.json functions/console/Makefile
	$(MAKE) -C functions/console vendor VENDOR_DIR=static/vendor
	@touch $@

# The console's browser tests drive Debian's Chromium (a browser download by a test tool cannot work
# here). Installed when missing, where apt-get exists; elsewhere the browser tests say they are skipped.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the console's browser tests"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			--no-install-recommends chromium fonts-dejavu-core >/dev/null; \
	else echo "warning: no apt-get: install Chromium at $(CHROMIUM) (or set ARROWHOOK_CHROMIUM) for the browser tests"; fi

install: $(VENV)/.installed $(SAM_VENV)/.installed $(CONSOLE_VENDOR) ## create both virtual environments and the console's assets

dev: $(VENV)/.installed $(CONSOLE_VENDOR) ## run the whole stack locally on http://127.0.0.1:3000 (its data kept across restarts; FRESH=1 starts clean)
	$(VENV)/bin/arrowhook dev $(if $(FRESH),--fresh)

test: lint typecheck security $(SAM_VENV)/.installed $(CONSOLE_VENDOR) $(CHROMIUM) ## lint, type-check, security gates, then every test
	SAM_BIN=$(abspath $(SAM)) $(PY) -m pytest -n auto --dist loadscope

lint: $(VENV)/.installed ## ruff lint and format check; the layer's import contracts; zizmor on the workflows
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=layers/arrowhook $(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/zizmor --offline --config .github/zizmor.yml .github/workflows

typecheck: $(VENV)/.installed ## mypy --strict
	$(VENV)/bin/mypy

security: $(VENV)/.installed $(CHECKOV_VENV)/.installed ## checkov (template), bandit (code), pip-audit (locks)
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --file template.yaml
	$(VENV)/bin/bandit --quiet --recursive --configfile pyproject.toml layers/arrowhook/arrowhook functions tools
	@# pip-audit reads PyPI's vulnerability data; where that is unreachable it would pass vacuously, so say so.
	@if $(PY) -c "import urllib.request; urllib.request.urlopen('https://pypi.org/pypi/pip/24.0/json', timeout=10)" 2>/dev/null; then \
		$(VENV)/bin/pip-audit --strict --progress-spinner off --disable-pip --require-hashes \
			--requirement layers/arrowhook/requirements.txt --requirement requirements/dev.txt; \
	else echo "WARNING: PyPI's vulnerability data is unreachable from here: the locks were NOT audited"; fi

unit: $(VENV)/.installed ## in-process tests only: the layer (tests/unit), the handlers on the embedded AWS, the tools
	$(PY) -m pytest -n auto tests/unit tests/handlers tests/tools

integration: $(VENV)/.installed $(CONSOLE_VENDOR) $(CHROMIUM) ## integration tests only (local runtime over HTTP)
	$(PY) -m pytest tests/integration

compat: $(VENV)/.installed ## the previous release's stored data through this release (tests/compat)
	$(PY) -m pytest tests/compat

compat-snapshot: $(VENV)/.installed ## before a release: what RELEASE=<tag or commit> stores, as tests/compat's fixture (docs/deploy.md)
	@test -n "$(RELEASE)" || { echo "usage: make compat-snapshot RELEASE=<tag or commit> VERSION=<its version>"; exit 2; }
	rm -rf .compat-release && git worktree add --detach .compat-release "$(RELEASE)"
	cd .compat-release && PYTHONPATH=$$PWD/layers/arrowhook:$$PWD/tools:$$PWD $(abspath $(PY)) \
		$(abspath tests/compat/snapshot_release.py) $(abspath tests/compat)/release-$(or $(VERSION),$(RELEASE)).json; \
		status=$$?; cd .. && git worktree remove --force .compat-release; exit $$status

template: $(VENV)/.installed $(SAM_VENV)/.installed ## template checks only (cfn-lint, sam validate, sam build)
	SAM_BIN=$(abspath $(SAM)) $(PY) -m pytest tests/template

e2e: $(VENV)/.installed ## the end-to-end suite against a deployed stack: make e2e STACK=arrowhook-dev (make test runs it against make dev)
	@test -n "$(STACK)" || { echo "usage: make e2e STACK=<stack name> (your AWS credentials read its outputs and admin token)"; exit 2; }
	ARROWHOOK_E2E_STACK=$(STACK) $(PY) -m pytest -p no:randomly tests/e2e

load: $(VENV)/.installed ## concurrent webhooks + DynamoDB throttling + crashing archive runs on the local stack, then audit: zero lost, zero duplicated
	$(PY) tests/bench/load_webhook.py

bench: $(VENV)/.installed ## benchmarks: print figures and ratios, and write them to docs/benchmarks.md
	set -o pipefail; log=$$(mktemp); \
	{ for bench in cold_start_lambda bench_webhook bench_alerts bench_archive bench_local_stack bench_cli bench_delivery bench_cost bench_console bench_live bench_ledger; do \
		echo "$$ python tests/bench/$$bench.py"; $(PY) tests/bench/$$bench.py || exit 1; echo; done; } 2>&1 \
		| tee "$$log" && $(PY) tests/bench/write_report.py < "$$log"; status=$$?; rm -f "$$log"; exit $$status

screenshots: $(VENV)/.installed $(CONSOLE_VENDOR) $(CHROMIUM) ## refresh the README's console screenshots (runs the browser tests)
	$(PY) -m pytest -q tests/integration/console/
	mkdir -p docs/images
	for name in alerts-desktop alerts-phone; do cp .arrowhook/screenshots/$$name.png docs/images/console-$$name.png; done

# ARCH=x86_64 builds the functions for an x86_64 machine's `sam local` (no emulation); deploys stay arm64.
ARCH ?= arm64
build: $(SAM_VENV)/.installed ## sam build (python3.13 artifacts for ARCH: arm64, or x86_64 for sam local on x86_64; no Docker)
	$(if $(filter x86_64,$(ARCH)),LAMBDA_PLATFORM=manylinux2014_x86_64 $(SAM) build --parameter-overrides Architecture=x86_64,$(SAM) build)

sam-local: $(VENV)/.installed $(SAM_VENV)/.installed ## sam local invoke in Docker for every sample in events/, answers checked ("skipped: no Docker" without it)
	$(PY) -m arrowhook_tools.local.sam_local

validate: $(SAM_VENV)/.installed ## sam validate --lint
	$(SAM) validate --lint

restore-drill: $(VENV)/.installed ## both restores end to end on a local stack of its own: what came back, how long it took
	$(VENV)/bin/arrowhook restore drill

destroy: $(VENV)/.installed ## delete a deployed stack: make destroy STACK=arrowhook-dev (asks for its name; lists what stays)
	@test -n "$(STACK)" || { echo "make destroy STACK=<stack name>"; exit 2; }
	$(VENV)/bin/arrowhook destroy --stack "$(STACK)"

deploy: override ARCH := arm64
deploy: build ## sam deploy --config-env $(ENV) (ENV=prod for production; DEPLOY_FLAGS for CI)
	$(SAM) deploy --config-env $(ENV)$(if $(DEPLOY_FLAGS), $(DEPLOY_FLAGS))

upgrade-indexes: override ARCH := arm64
upgrade-indexes: build ## a stack deployed before the lean alert indexes: one deploy per index (docs/deploy.md)
	$(PY) -m arrowhook_tools.cli.index_upgrade --config-env $(ENV) --sam $(SAM)

clean: ## remove virtual environments and build output
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .arrowhook .pytest_cache .mypy_cache .ruff_cache \
		functions/console/node_modules functions/console/static/vendor

UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes
lock: $(VENV)/.installed ## re-resolve every lock (with hashes) after editing a *.in file or pyproject.toml
	$(UV_COMPILE) layers/arrowhook/requirements.in --output-file layers/arrowhook/requirements.txt
	$(UV_COMPILE) pyproject.toml --extra dev layers/arrowhook/requirements.in \
		--constraint layers/arrowhook/requirements.txt --output-file requirements/dev.txt
	$(UV_COMPILE) requirements/sam.in --output-file requirements/sam.txt
	$(UV_COMPILE) requirements/checkov.in --output-file requirements/checkov.txt
	$(UV_COMPILE) requirements/lambda-image.in --output-file requirements/lambda-image.txt

openapi: $(VENV)/.installed ## write openapi.json: the whole HTTP API in one OpenAPI document
	$(VENV)/bin/arrowhook openapi --output openapi.json

docs: $(VENV)/.installed openapi ## write everything generated from a source: openapi.json and the generated pages in docs/
	$(PY) -m arrowhook_tools.generators.docs
