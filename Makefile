# Two commands for a new user: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: demo test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

demo: $(STAMP)
	$(BIN)/matcher solve instances/sample --out results/sample

test: $(DEVSTAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --benchmark-disable --nbmake tests benchmarks notebooks

lint: $(DEVSTAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) results .pytest_cache
