"""docs/API.md runs: its python blocks are executed in order, in one namespace, in an empty directory."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "API.md"


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE)


def test_every_python_block_of_the_api_docs_runs(tmp_path, monkeypatch):
    blocks = python_blocks()
    assert len(blocks) == 4
    assert len(blocks[0].strip().splitlines()) < 10  # a study from a notebook in under 10 lines
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "api_docs"}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["mine", "notebook", "stubborn"]
