# Two commands on a fresh machine with only python3: `make demo` and `make test`.
# Each creates or reuses .venv and installs the locked dependencies (uv.lock) with uv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
UV := $(VENV)/bin/uv
RUN := $(VENV)/bin
DEMO_DIR ?= demo-workspace
UV_VERSION := 0.13.8
# Bytecode caches: without them every command recompiles scikit-learn, pandas and SciPy from source
# (an import of those took 12-15 s instead of 5 s here). Some shells set PYTHONDONTWRITEBYTECODE.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install demo test lint check bench soak clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml Makefile
	$(UV) sync --frozen --quiet --compile-bytecode --all-extras
	@touch $@

install: $(VENV)/.synced

# The main job on a fresh demo workspace (./demo-workspace is scratch space, made anew each run):
# one monitored cycle per monthly drop, then where the report and the call list are.
demo: install
	rm -rf $(DEMO_DIR)
	$(RUN)/riskwatch demo $(DEMO_DIR) --scenario concept --drift-month 5
	$(RUN)/riskwatch --config $(DEMO_DIR)/riskwatch.toml replay

lint: install
	$(RUN)/ruff check src tests benchmarks
	$(RUN)/ruff format --check src tests benchmarks
	$(RUN)/mypy
	$(RUN)/lint-imports

# One worker per core (pytest-xdist; each module on one worker, tests/conftest.py's scheduler);
# TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= auto
test: lint
	$(RUN)/pytest -n $(TEST_WORKERS) --dist loadgroup

# Every benchmark (not part of the tests), written to benchmarks/RESULTS.md.
bench: install
	$(RUN)/python benchmarks/run_all.py

# Crash safety at length (not part of the tests, minutes): 50 cycles killed at random points,
# each checked after recovery; figures printed and written to benchmarks/soak_results.md.
soak: install
	OMP_NUM_THREADS=1 $(RUN)/python benchmarks/soak_cycles.py --kills 50 --clients 1000

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
