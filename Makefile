# make demo: the telephone chain on the bundled offline model (ROUNDS=100 for the full run)
# make test: the test suite (needs Redis on 127.0.0.1:6379; .ci/run starts one)
VENV ?= .venv
PYTHON ?= python3
ROUNDS ?= 10
BIN := $(VENV)/bin

.PHONY: demo look test setup llama lint bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# llama-cpp-python, built once with portable flags (no -march=native, no AMX, no AVX-512) and
# installed from its own wheel directory, never from pip's cache; a venv holding any other build
# of it is reinstalled. It goes first, so the install below finds it and builds nothing.
llama: $(BIN)/activate
	bash scripts/install-llama.sh $(BIN)/python

# torch comes as the CPU build pinned in constraints.txt.
$(VENV)/.installed: pyproject.toml constraints.txt | llama
	$(BIN)/pip install -c constraints.txt -e '.[local,local-server,dev]'
	touch $@

setup: llama $(VENV)/.installed

# make look: the synthetic channel only, no compile: a first look in seconds
look: $(BIN)/activate
	$(BIN)/pip install -q -c constraints.txt -e .
	$(BIN)/driftlab run examples/mixing-injection.yaml --out runs/look

demo: setup
	$(BIN)/driftlab run examples/telephone-chain.yaml --rounds $(ROUNDS) --out runs/demo

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python -m bench.engine_overhead
	$(BIN)/python -m bench.concurrency
	$(BIN)/python -m bench.local_backend

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
