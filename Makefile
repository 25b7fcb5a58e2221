# Quick start: `make demo` runs the whole ShipStation -> TallyPrime flow on the embedded sandbox;
# `make test` runs the test suite. Both need only python3 (3.11+) and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench sandbox ui screenshots rehearsal bench-scale faults clean

# pip's and setuptools' own notices go to $(VENV)/install.log, shown only if the install fails.
$(STAMP): pyproject.toml
	@echo "Installing ml-connector and its dependencies into $(VENV) (first run only)..."
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip > $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@$(BIN)/python -m pip install --quiet -e '.[dev]' >> $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/ml-connector demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.webhooks
	$(BIN)/python -m bench.recon
	$(BIN)/python -m bench.tally_parse
	$(BIN)/python -m bench.walmart_stock
	$(BIN)/python -m bench.walmart_settlement
	$(BIN)/python -m bench.zoho_invoices
	$(BIN)/python -m bench.acumatica

sandbox: $(STAMP)
	$(BIN)/ml-connector sandbox

# The README's console screenshots, taken by the browser test as it clicks through the UI.
screenshots: $(STAMP)
	ML_CONNECTOR_SCREENSHOTS=docs/screenshots ML_CONNECTOR_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -n0 -q tests/browser

# Production rehearsal: PostgreSQL + Redis (as .ci/run starts them), the daemon and two Celery workers as
# separate processes, 2,000 orders, one worker killed halfway; both ledger backends.
rehearsal: $(STAMP)
	ML_CONNECTOR_REQUIRE_SERVICES=1 $(BIN)/python -m pytest -n0 -q tests/postgres tests/rehearsal

bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale --merchants 2 --merchants 5 --orders 2000

# Faults injected into every writing flow at 1,000 records; a table with 0 duplicates and 0 lost (an hour or more).
faults: $(STAMP)
	$(BIN)/python -m bench.faults --size 1000 --jobs 3

# The Dagster UI on the sandbox, with the demo's runs and sensors/schedules on (PORT=3000 by default).
ui: $(STAMP)
	$(BIN)/ml-connector ui --port $(or $(PORT),3000)

clean:
	rm -rf $(VENV) .ml-connector .pytest_cache .hypothesis
