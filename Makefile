# Two commands set up and run everything on a fresh machine:
#   make run    creates .venv, installs CellDeck, opens the console on the simulator
#   make test   creates .venv, installs CellDeck + test tools, runs every test headless
# and one builds the installer (docs/packaging.md):
#   make package   PyInstaller bundle in dist/celldeck/ and dist/celldeck_<version>_<arch>.deb
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PKG_STAMP := $(VENV)/.packaging

.PHONY: setup run test lint bench package clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	tools/qt-system-libs.sh display
	$(BIN)/celldeck --demo

# three workers on two cores: a third of the run waits on simulators in real time
test: $(STAMP)
	$(BIN)/ruff check app hardware tests
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest -n 3 --dist load

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
	$(BIN)/python -m tests.benchmarks.bench_run_host

$(PKG_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,package]'
	touch $(PKG_STAMP)

package: $(PKG_STAMP)
	tools/packaging-tools.sh
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN \
		--distpath dist --workpath build/pyinstaller packaging/celldeck.spec
	packaging/linux/build-deb.sh dist/celldeck dist

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
