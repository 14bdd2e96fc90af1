# One task surface for people and CI. Every target installs what it needs first.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
RUN := $(UV) run --frozen --no-sync
# Prometheus's promtool, for the alert tests (Debian's prometheus package; see the script).
PROMTOOL := $(TOOLS)/bin/promtool

# `make image`: the container image, labelled; PYTHON_DIGEST=sha256:... pins the base image.
IMAGE ?= chat-import
PYTHON_DIGEST ?=
VERSION := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' pyproject.toml)

.PHONY: setup promtool lint test test-fast check demo bench schemas image clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode compiled once at install: every process the tests, the demo and the benchmark start
# then imports in about a second instead of three (nothing writes .pyc files where
# PYTHONDONTWRITEBYTECODE is set).
$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-extras --all-groups --compile-bytecode
	touch $@

setup: $(VENV)/.synced ## create the virtualenv with every locked dependency

$(PROMTOOL):
	scripts/install-promtool.sh $@

promtool: $(PROMTOOL) ## install promtool into .tools/ (the alert tests run it)

lint: setup ## format check, lint, types, secrets, lock up to date
	$(UV) lock --check
	$(RUN) ruff format --check service tests bench
	$(RUN) ruff check service tests bench
	$(RUN) mypy
	$(RUN) detect-secrets-hook --baseline .secrets.baseline $$(git ls-files -- service tests bench deploy scripts README.md)

# pytest exits 5 when it collected no test: make fails on it like on any other non-zero code, so
# a suite that silently lost its tests does not pass.
test: setup $(PROMTOOL) ## the whole suite: unit, real broker, emulator over HTTP
	$(RUN) pytest -q

test-fast: setup $(PROMTOOL) ## only the tests that need no broker
	$(RUN) pytest -q -m "not kafka"

check: lint test ## what CI runs: every lint, then the whole suite

demo: setup ## the whole pipeline on this machine: embedded broker, emulator, service, sample export
	$(RUN) chat-import demo

bench: setup ## throughput against the emulator at the provider's limits, and a naive baseline
	$(RUN) python -m bench

schemas: setup ## regenerate schemas/ from the models
	$(RUN) python -m service.schemas && $(RUN) python -m service.asyncapi

image: ## build the container image with its OCI labels (needs docker)
	docker build \
	  --build-arg PYTHON_DIGEST=$(PYTHON_DIGEST) \
	  --build-arg VERSION=$(VERSION) \
	  --build-arg REVISION=$$(git rev-parse HEAD) \
	  --build-arg CREATED=$$(date -u +%Y-%m-%dT%H:%M:%SZ) \
	  -t $(IMAGE):$(VERSION) .

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
