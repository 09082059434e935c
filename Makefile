# Two commands set up and run everything on a fresh machine:
#   make run    creates .venv, installs CellDeck, opens the console on the simulator
#   make test   creates .venv, installs CellDeck + test tools, runs every test headless
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: setup run test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	tools/qt-system-libs.sh display
	$(BIN)/celldeck --demo

test: $(STAMP)
	$(BIN)/ruff check app hardware tests
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check app hardware tests

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tests.benchmarks.bench_telemetry
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tests.benchmarks.bench_roundtrip
	$(BIN)/python -m tests.benchmarks.bench_audit
	$(BIN)/python -m tests.benchmarks.bench_historian
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tests.benchmarks.bench_run_screen
	$(BIN)/python -m tests.benchmarks.bench_review
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tests.benchmarks.bench_run_detail

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
