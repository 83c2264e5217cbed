# Kilowatt developer commands. Everything lives in a local virtual environment (.venv); nothing global.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_DIR := tests/interop/node

.PHONY: setup run test coverage-core lint typecheck generate check-generated bench clean

$(STAMP): pyproject.toml $(wildcard $(NODE_DIR)/package.json)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	if [ -f $(NODE_DIR)/package.json ] && command -v npm >/dev/null; then npm install --silent --no-audit --no-fund --prefix $(NODE_DIR); fi
	touch $(STAMP)

setup: $(STAMP)

## make run: set up and start the CSMS on the embedded default (SQLite in ./kilowatt-data)
run: $(STAMP)
	$(VENV)/bin/kilowatt serve

## make test: set up and run the whole test suite
test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

## make coverage-core: 100% line and branch coverage of the sans-I/O OCPP core (src/kilowatt/ocpp
## minus the generated v16/v201/v21; see .coveragerc-core), without the slow hypothesis round trip
coverage-core: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests/ocpp tests/transport -k "not hypothesis_round_trip" \
		--cov=kilowatt.ocpp --cov-branch --cov-config=.coveragerc-core --cov-report=term-missing \
		--cov-fail-under=100

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests scripts bench examples
	$(VENV)/bin/ruff format --check src tests scripts bench examples

typecheck: $(STAMP)
	$(VENV)/bin/mypy

generate: $(STAMP)
	$(PY) scripts/generate_messages.py

check-generated: $(STAMP)
	$(PY) scripts/generate_messages.py --check

bench: $(STAMP)
	$(PY) -m bench.codec

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
