# Quick start: `make demo` runs the whole ShipStation -> TallyPrime flow on the embedded sandbox;
# `make test` runs the test suite. Both need only python3 (3.11+) and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench sandbox clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
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

clean:
	rm -rf $(VENV) .ml-connector .pytest_cache .hypothesis
