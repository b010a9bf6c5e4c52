"""A wheel works without the checkout: it carries the model cards and the example studies."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_carries_the_registry_and_the_default_study(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(ROOT)],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("gapbench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    cards = {p.name for p in (ROOT / "models").glob("*.yaml")}
    assert {f"gapbench/models/{c}" for c in cards} <= names
    assert {
        "gapbench/examples/quickstart.yaml",
        "gapbench/protocol/templates/v1.yaml",
        "gapbench/protocol/templates/v2.yaml",
    } <= names
    assert "gapbench/report/template.html" in names and "gapbench/data/published.yaml" in names
    play = {f"gapbench/play/static/{f}" for f in ("index.html", "play.js", "play.css")} | {
        "gapbench/report/maze.js",
        "gapbench/report/maze.css",
    }
    assert (
        play | {"gapbench/examples/play.yaml"} <= names
    )  # what `gapbench play` serves and its default study

    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
    )
    env = {k: v for k, v in os.environ.items() if k != "GAPBENCH_MODELS"} | {"PYTHONPATH": str(site)}
    probe = (
        "import gapbench, gapbench.registry as r, gapbench.study as e; "
        "print(gapbench.__file__); print(len(r.registry())); print(e.load_config(e.DEFAULT_CONFIG)[0].name)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    origin, count, name = out.stdout.split()
    assert origin.startswith(str(site)) and int(count) == len(cards) and name


def test_readme_layout_names_every_module_and_folder():
    """The README's layout section is the map of the tree: every module of gapbench/ (and every
    top-level folder of the checkout) is named in it, and it names nothing that is gone."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout") : readme.index("## Contributing")]
    package = ROOT / "gapbench"
    modules = {p.stem for p in package.glob("*.py")} - {"__init__"}
    packages = {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
    inner = {p.stem for d in packages for p in (package / d).glob("*.py")} - {"__init__", "__main__"}
    folders = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    folders &= {"gapbench", "models", "examples", "scripts", "slurm", "docs", "tests"}
    missing = sorted(
        n
        for n in (modules | {f"{p}/" for p in packages} | inner | {f"{f}/" for f in folders})
        if not re.search(rf"(?<![\w/]){re.escape(n)}", layout)
    )
    assert not missing, f"README layout does not name: {', '.join(missing)}"
    named = set(re.findall(r"\b(\w+)\.py\b", layout)) | set(re.findall(r"\b(\w+)/", layout))
    scripts = {p.stem for p in (ROOT / "scripts").iterdir()}
    gone = sorted(
        named - modules - packages - folders - scripts - {"__init__", "_resources", "data", "grading"}
    )
    assert not gone, f"README layout names what is not in the tree: {', '.join(gone)}"
