# Two entry points for a fresh machine (Python 3.11+ and Java 17 present, nothing else):
#   make demo   start a local Kafka, stream good and bad records through the guard, report
#   make test   lint, type-check and run every test (unit + real-broker integration)
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: demo test lint kafka-fetch bench clean

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

# Fetching Kafka once up front keeps the download out of any test's timeout.
kafka-fetch: $(BIN)/.installed
	PYTHON=$(BIN)/python scripts/kafka-local fetch

test: lint kafka-fetch
	$(BIN)/pytest -ra

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
