# Quick start: `make demo` runs the whole ShipStation -> TallyPrime flow on the embedded sandbox;
# `make test` runs the test suite. Both need only python3 (3.11+) and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench sandbox ui clean

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

sandbox: $(STAMP)
	$(BIN)/ml-connector sandbox

# The Dagster UI on the sandbox, with the demo's runs and sensors/schedules on (PORT=3000 by default).
ui: $(STAMP)
	$(BIN)/ml-connector ui --port $(or $(PORT),3000)

clean:
	rm -rf $(VENV) .ml-connector .pytest_cache .hypothesis
