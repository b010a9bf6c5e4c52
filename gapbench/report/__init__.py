"""`gapbench report`: aggregate runs into report.md, report.json, PNG plots and a self-contained report.html.

Loading (load.py) is the only I/O before the outputs; tables.py turns labelled dialogues into typed
tables (from measures.py, with usage.py for tokens, cache and notation, references.py for the paper
and people); sections.py lays them out (outcomes.py, diagnostics.py, with cells.py for cell text) as
document.py sections, once for both Markdown and HTML.
"""

from __future__ import annotations

import dataclasses
import json
import math
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from gapbench.report import completeness, html, plots, tables, viewer
from gapbench.report.document import to_markdown
from gapbench.report.load import load_runs, registry_relations
from gapbench.report.sections import sections

__all__ = ["build_report", "load_published"]

DEFAULT_PER_GROUP = 50


def load_published() -> dict[str, Any]:
    """The paper's published numbers (gapbench/data/published.yaml) with their source."""
    return yaml.safe_load(files("gapbench").joinpath("data/published.yaml").read_text(encoding="utf-8"))


def _plain(value: Any) -> Any:
    """JSON-ready: dataclasses as dicts, NaN as null."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def build_report(
    run_dirs: list[Path] | list[str],
    out: Path | str,
    *,
    per_group: int = DEFAULT_PER_GROUP,
    complete_only: bool = True,
) -> Path:
    """Write the report of one or more runs into ``out``; returns the path of report.html.

    ``per_group`` caps the dialogues embedded in the transcript viewer per (run, condition, models, K);
    0 embeds all. With ``complete_only`` (the default) the tables use only the mazes on which every
    planned cell finished (see `completeness`); otherwise every dialogue.
    """
    out = Path(out)
    loaded = load_runs([Path(d) for d in run_dirs])
    links, registry_note = registry_relations()
    used = completeness.balance(loaded) if complete_only else loaded.entries
    report = tables.build(
        used, loaded.runs, links, load_published(), {"relations": registry_note} if registry_note else {}
    )
    out.mkdir(parents=True, exist_ok=True)
    drawn = plots.draw_all(report, out)
    secs = [completeness.section(loaded, len(used), complete_only), *sections(report, drawn)]
    title = "gapbench report: " + ", ".join(r.name for r in loaded.runs)
    (out / "report.md").write_text(to_markdown(secs, title), encoding="utf-8")
    (out / "report.json").write_text(
        json.dumps(_plain(report), indent=1, allow_nan=False) + "\n", encoding="utf-8"
    )
    chosen = viewer.select(loaded.entries, per_group)
    labels = {r.run_dir: r.models for r in loaded.runs}
    dialogues = [
        viewer.dialogue_data(e, loaded.mazes.get((e.run, e.record.maze_id)), labels[e.run])
        for e in chosen.entries
    ]
    shown = f"{len(dialogues)} of {chosen.total} dialogues" + (
        f" (at most {per_group} per run, condition, models and K)" if len(dialogues) < chosen.total else ""
    )
    subtitle = f"{len(loaded.entries)} dialogues from {len(loaded.runs)} run(s). Published numbers: {report.source.get('title', '')}, arXiv {report.source.get('arxiv', '')}."
    page = html.render(secs, out, title=title, subtitle=subtitle, dialogues=dialogues, viewer_note=shown)
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
