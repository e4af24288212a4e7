# drsn_fd: make install | run | test | lint | bench
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install run test lint bench clean

$(BIN)/drsn-train: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,cluster]'
	touch $@

install: $(BIN)/drsn-train  ## a .venv with CPU torch and the package with its test extras

run: install  ## train drsn_cw on the embedded simulated data at -5 dB, then test it
	$(BIN)/drsn-train model=drsn_cw noise.snr=-5 trainer.epochs=30

test: install  ## the test suite (real-CWRU tests need DRSN_CWRU_ROOT)
	$(BIN)/python -m pytest -q -ra --durations=15 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check drsn_fd tests scripts

bench: install  ## speed and memory table (docs/benchmarks.md)
	$(BIN)/python scripts/benchmark.py

clean:
	rm -rf build dist *.egg-info .pytest_cache outputs multirun
