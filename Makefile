# Two entry points for a fresh machine (Python 3.11+ and Java 17 present, nothing else):
#   make demo   start a local Kafka, stream good and bad records through the guard, report
#   make test   lint, type-check and run every test (unit + real-broker integration)
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: demo test test-cluster test-tools lint kafka-fetch contract-ci bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/guard demo

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Chromium and promtool, which some tests drive; from Debian's packages when missing.
test-tools:
	scripts/test-tools

# Fetching Kafka once up front keeps the download out of any test's timeout.
kafka-fetch: $(BIN)/.installed
	PYTHON=$(BIN)/python scripts/kafka-local fetch

# pytest last, so its summary closes the output. Four pytest-xdist workers: the 3-broker
# cluster tests share one worker and one cluster (tests/fixtures/brokers.py), the rest spread
# over the others; every cluster scenario runs (GUARD_FAULTS_CLUSTER=all). PYTEST_WORKERS=0 runs
# serially; GUARD_FAULTS_CLUSTER= leaves out the coordinator kills, rolling restart and one node
# down (marked cluster_long). Unit tests alone, no broker: `pytest -m "not integration"`.
PYTEST_WORKERS ?= 4
GUARD_FAULTS_CLUSTER ?= all
# Lint (mypy, ~22 s from cold) and contract-ci (~14 s) are one process each: run side by side.
test: $(BIN)/.installed kafka-fetch test-tools
	$(MAKE) --no-print-directory --output-sync=target -j2 lint contract-ci
	GUARD_FAULTS_CLUSTER=$(GUARD_FAULTS_CLUSTER) $(BIN)/pytest -ra --durations=30 \
		-n $(PYTEST_WORKERS) --dist loadgroup

# Just the 3-broker cluster scenarios, every one (about 15 minutes on 2 cores).
test-cluster: $(BIN)/.installed kafka-fetch
	GUARD_FAULTS_CLUSTER=all $(BIN)/pytest -ra tests/integration/faults/test_cluster.py

# What docs/ci.md recommends, run on this project's own example data: the contract check must
# pass, the stable sample must show no drift, and the drifted sample must be caught (exit 1).
contract-ci: $(BIN)/.installed
	$(BIN)/guard schemas check
	$(BIN)/guard drift report --subject orders --baseline examples/data/orders-baseline.jsonl \
		--current examples/data/orders-current-stable.jsonl --out build/drift/stable
	$(BIN)/guard drift report --subject orders --baseline examples/data/orders-baseline.jsonl \
		--current examples/data/orders-current-drifted.jsonl --out build/drift/drifted; \
		test $$? -eq 1

# The guard raced against raw clients, a hand-written loop and Quix Streams (benchmarks/bench.py);
# BENCH_ARGS=--quick for a couple of minutes, --long for the 1M-record RSS run.
BENCH_ARGS ?=
$(BIN)/.bench-installed: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

bench: $(BIN)/.bench-installed kafka-fetch
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build
