# Two commands matter: `make demo` (run the pipeline on the bundled corpus) and `make test`.
# Each creates .venv when absent and installs what it needs.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= out/demo

.PHONY: demo test lint eval notebooks bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files re-run the install when pyproject.toml changes.
$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,ocr]'
	@touch $@ $(VENV)/.installed-base

# The run writes the tables and the panel; then the exports, the codebook and the review page.
demo: $(VENV)/.installed-base
	$(BIN)/extractor run corpora/ --out $(DEMO) --no-progress
	$(BIN)/extractor export $(DEMO) --format csv --format xlsx --format dta --format parquet --format duckdb
	$(BIN)/extractor codebook --out $(DEMO)/codebook
	$(BIN)/extractor review $(DEMO)

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

eval: $(VENV)/.installed-base
	$(BIN)/extractor eval ../shared/gold tests/golden --floors tests/golden/floors.yaml

notebooks: $(VENV)/.installed-dev
	$(BIN)/python -m extractor.notebooks notebooks

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py

clean:
	rm -rf out .pytest_cache .ruff_cache
