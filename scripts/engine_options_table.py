"""Rewrite the README's engine options table from the option models (tests/test_engine_registry.py checks it)."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's gapbench, whichever is installed

from gapbench.engines.registry import options_markdown  # noqa: E402

BLOCK = re.compile(r"(<!-- engine-options:begin -->\n).*?(\n<!-- engine-options:end -->)", re.DOTALL)

if __name__ == "__main__":
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    readme.write_text(BLOCK.sub(lambda m: m.group(1) + options_markdown() + m.group(2), text), encoding="utf-8")
    print(f"wrote the engine options table of {readme}")
