# The two-command quick start: `make demo` and `make test`. Everything either needs is installed
# here, into .venv, so a fresh machine needs nothing but Python 3.11 and Go.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint typecheck unit cluster bench docs clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: venv
	$(BIN)/python -m gitops_gen.demo

lint: venv
	$(BIN)/ruff format --check gitops_gen tests benchmarks
	$(BIN)/ruff check gitops_gen tests benchmarks

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest

test: lint typecheck unit

docs: venv
	$(BIN)/python -m gitops_gen.cli_reference README.md

bench: venv
	$(BIN)/python benchmarks/render_bench.py

bench-promote: venv
	$(BIN)/python benchmarks/promote_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
