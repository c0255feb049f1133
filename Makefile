# `make run` and `make test` each do all their own set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DASHBOARD_SOURCES := $(wildcard dashboard/src/*) dashboard/build.mjs dashboard/package.json

.PHONY: run test lint typecheck schema clean dashboard

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

# The dashboard page (served at /dashboard): npm ci when the lockfile changes,
# the bundler (esbuild) when a source does.
dashboard/node_modules/.installed: dashboard/package-lock.json
	cd dashboard && npm ci --no-audit --no-fund
	touch $@

dashboard/dist/.built: dashboard/node_modules/.installed $(DASHBOARD_SOURCES)
	cd dashboard && npm run --silent build
	touch $@

dashboard: dashboard/dist/.built

run: $(STAMP) dashboard
	$(BIN)/carepay migrate
	$(BIN)/carepay seed --demo --if-empty
	$(BIN)/carepay serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck dashboard
	$(BIN)/python -m pytest

schema: $(STAMP)
	$(BIN)/carepay export-schema > schema.graphql

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dashboard/dist dashboard/node_modules
