# make demo: the telephone chain on the bundled offline model (ROUNDS=100 for the full run)
# make test: the test suite (needs Redis on 127.0.0.1:6379; .ci/run starts one)
VENV ?= .venv
PYTHON ?= python3
ROUNDS ?= 10
BIN := $(VENV)/bin

.PHONY: demo test setup lint bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch comes as the CPU build pinned in constraints.txt; llama-cpp-python compiles on first install.
$(VENV)/.installed: $(BIN)/activate pyproject.toml constraints.txt
	$(BIN)/pip install -c constraints.txt -e '.[local,dev]'
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(BIN)/driftlab run examples/telephone-chain.yaml --rounds $(ROUNDS) --out runs/demo

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python bench/engine_overhead.py
	$(BIN)/python bench/concurrency.py
	$(BIN)/python bench/local_backend.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
