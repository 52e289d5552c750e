# Thin wrappers around the `telemetry` CLI. Configuration comes from the
# environment (see `make env`); every target works on a fresh machine.

VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
CLI     := $(BIN)/telemetry
STAMP   := $(VENV)/.installed

# The stack's profile: local (one plaintext node each, the default) or cluster
# (production shape: make up PROFILE=cluster). Every target follows it.
PROFILE ?= $(or $(TELEMETRY_PROFILE),local)
export TELEMETRY_PROFILE := $(PROFILE)

# run-pipeline knobs (override on the command line: make run-pipeline CARS=10)
CARS     ?= 20
DURATION ?= 60
RATE     ?= 2000
TRACK    ?= short
PARTITIONS ?=

.DEFAULT_GOAL := help
.PHONY: help setup venv constraints up down status logs clean env register-schemas check-schemas \
        produce submit-job cancel-job run-pipeline live test test-unit test-cluster check-deploy lint bench mutate

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## create .venv and install the project into it, at the versions in constraints.txt

LOCK_VENV := .venv-constraints
# `--all` lists setuptools, a dev dependency pip freeze otherwise leaves out on Python 3.11.
constraints: ## re-resolve pyproject.toml's dependencies into constraints.txt (newest allowed)
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q --upgrade pip
	$(LOCK_VENV)/bin/pip install -q -e '.[dev]'
	{ sed -n '/^#/p' constraints.txt; $(LOCK_VENV)/bin/pip freeze --all --exclude pip --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(LOCK_VENV)

setup: $(STAMP) ## venv + fetch Kafka, Apicurio, Flink and Iceberg jars and build MinIO into the cache
	$(CLI) setup

up: setup ## start the local stack (idempotent; PROFILE=cluster for the production shape)
	$(CLI) up

down: ## stop what `make up` started (by pid file)
	@if [ -x $(CLI) ]; then $(CLI) down; fi

status: $(STAMP) ## health, pid and memory of each service
	$(CLI) status

logs: $(STAMP) ## last lines of every service log (SERVICE=kafka for one, FOLLOW=1 to follow)
	$(CLI) logs $(if $(FOLLOW),-f) $(SERVICE)

clean: ## stop the stack and delete its data directory
	@if [ -x $(CLI) ]; then $(CLI) clean; else rm -rf .data .data-cluster; fi

env: $(STAMP) ## print the effective configuration as export lines
	@$(CLI) env

register-schemas: up ## register every schema version and set compatibility levels
	$(CLI) schemas register

check-schemas: $(STAMP) ## parse, compatibility and immutability checks of schemas/
	$(CLI) schemas check

produce: register-schemas ## run the simulated producer (CARS, DURATION, RATE)
	$(CLI) produce --cars $(CARS) --duration $(DURATION) --rate $(RATE)

submit-job: up ## submit the Flink job to the local cluster
	$(CLI) job submit

cancel-job: $(STAMP) ## cancel the running Flink job
	$(CLI) job cancel

run-pipeline: setup ## the whole pipeline: stack, schemas, topic, job, producer, summary
	$(CLI) run-pipeline --cars $(CARS) --duration $(DURATION) --rate $(RATE) --track $(TRACK) \
		$(if $(PARTITIONS),--partitions $(PARTITIONS))

live: up ## the live timing page on http://127.0.0.1:8090/ (PORT=... for another); Ctrl-C stops
	$(CLI) live $(if $(PORT),--port $(PORT))

# Each tier prints its slowest tests: where `make test`'s time goes, in every CI log.
DURATIONS := --durations=25 --durations-min=5

test: setup check-schemas ## schema checks, unit and deployment tests, the local stack's and the cluster profile's tiers side by side (tests/tiers.py)
	$(BIN)/python tests/tiers.py $(DURATIONS)

test-cluster: setup ## the cluster-profile tests only (starts the cluster profile)
	TELEMETRY_PROFILE=cluster $(BIN)/pytest tests/cluster

test-unit: $(STAMP) ## unit tests only (no servers, no builds, no .data: run on empty folders to prove it)
	@empty=$$(mktemp -d) && TELEMETRY_DATA_DIR=$$empty/data TELEMETRY_CACHE_DIR=$$empty/cache \
		$(BIN)/pytest tests/unit; status=$$?; rm -rf $$empty; exit $$status

check-deploy: $(STAMP) ## docker-compose config and the Kubernetes validator on infra/ (built on first use; no engine, no cluster)
	$(BIN)/pytest tests/deploy

lint: $(STAMP) ## ruff, mypy (strict on the core), the layers' import contracts (pyproject.toml), function sizes
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q -p no:cacheprovider tests/unit/test_function_size.py

mutate: $(STAMP) ## mutation testing of the modules whose mistakes corrupt data (mutmut; slow, not in `make test`)
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results

bench: register-schemas ## the producer, consumers and the job against Kafka's own perf tools, one table (~5 min)
	$(BIN)/python bench/compare.py
