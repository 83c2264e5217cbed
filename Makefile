# Kilowatt developer commands. Everything lives in local virtual environments (.venv for Kilowatt,
# .tools for the locker); nothing global. Setup installs exactly the lock (uv.lock for Python,
# package-lock.json for the npm peers of the tests): no resolution happens at install time.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
TOOLS := .tools
UV := $(TOOLS)/bin/uv
STAMP := $(VENV)/.installed
NODE_DIR := tests/interop/node
# uv must use the machine's Python (never download one) and this project's .venv.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON := $(PYTHON)

.PHONY: setup run test test-fast-paths-off coverage-core lint typecheck generate check-generated \
	check-lock lock bench clean

## The locker itself, pinned by version and hashes (tools/uv-requirements.txt).
$(UV): tools/uv-requirements.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q --disable-pip-version-check --require-hashes \
		-r tools/uv-requirements.txt
	touch $(UV)

$(STAMP): $(UV) pyproject.toml uv.lock $(wildcard $(NODE_DIR)/package-lock.json)
	$(UV) sync --locked --extra dev --quiet
	if [ -f $(NODE_DIR)/package-lock.json ] && command -v npm >/dev/null; then \
		npm ci --silent --no-audit --no-fund --prefix $(NODE_DIR); fi
	touch $(STAMP)

## make setup: create .venv and install exactly the lock (runtime + test dependencies)
setup: $(STAMP)

## make run: set up and start the CSMS on the embedded default (SQLite in ./kilowatt-data), in
## trial mode (any station and id token accepted; printed loudly at start)
run: $(STAMP)
	$(VENV)/bin/kilowatt serve --trial

## make test: set up and run the whole test suite, then the per-package coverage gate
## (scripts/coverage_gate.py: line+branch coverage of each package against its floor)
test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider --cov=kilowatt --cov-branch --cov-report=
	$(PY) scripts/coverage_gate.py

## make test-fast-paths-off: the end-to-end and transport suites with every fast path off
## (KILOWATT_FAST_PATHS=0: the plain library calls each speed trick falls back to)
test-fast-paths-off: $(STAMP)
	KILOWATT_FAST_PATHS=0 $(PY) -m pytest -q -p no:cacheprovider tests/e2e tests/transport tests/storage

## make check-lock: fail when uv.lock is out of step with pyproject.toml
check-lock: $(UV)
	$(UV) lock --check

## make lock: refresh uv.lock deliberately (newest versions pyproject.toml allows); commit it
lock: $(UV)
	$(UV) lock --upgrade
	cd $(NODE_DIR) && npm install --package-lock-only --no-audit --no-fund

## make coverage-core: 100% line and branch coverage of the sans-I/O OCPP core (src/kilowatt/ocpp
## minus the generated v16/v201/v21; see .coveragerc-core), without the slow hypothesis round trip
coverage-core: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests/ocpp tests/transport -k "not hypothesis_round_trip" \
		--cov=kilowatt.ocpp --cov-branch --cov-config=.coveragerc-core --cov-report=term-missing \
		--cov-fail-under=100

## make lint: ruff (check + format) and the layer contracts (import-linter, [tool.importlinter])
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests scripts bench examples
	$(VENV)/bin/ruff format --check src tests scripts bench examples
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy

generate: $(STAMP)
	$(PY) scripts/generate_messages.py

check-generated: $(STAMP)
	$(PY) scripts/generate_messages.py --check

bench: $(STAMP)
	$(PY) -m bench.codec

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
