"""report.html: one self-contained file (plots inline as base64, dialogues as JSON, plain JS viewer),
so it can be mailed or opened from any disk without a server."""

from __future__ import annotations

import base64
import json
import re
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Any

from gapbench.report.document import Section, Table


def _table(t: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in t.headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in t.rows)
    caption = f"<caption>{escape(t.caption)}</caption>" if t.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img class="plot" alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _section(s: Section, out: Path) -> str:
    parts = [f'<section id="{escape(s.key)}"><h2>{escape(s.title)}</h2>', f"<p>{escape(s.text)}</p>"]
    if s.note:
        parts.append(f'<p class="note">{escape(s.note)}</p>')
    parts += [_table(t) for t in s.tables]
    parts += [_image(out / p, s.title) for p in s.plots]
    parts.append("</section>")
    return "\n".join(parts)


def _script_json(data: Any) -> str:
    """JSON safe inside a <script> element: no '<' can close it early."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def render(
    secs: list[Section],
    out: Path,
    *,
    title: str,
    subtitle: str,
    dialogues: list[dict[str, Any]],
    viewer_note: str,
) -> str:
    template = files("gapbench.report").joinpath("template.html").read_text(encoding="utf-8")
    values = {
        "TITLE": escape(title),
        "SUBTITLE": escape(subtitle),
        "BODY": "\n".join(_section(s, out) for s in secs),
        "VIEWER_NOTE": escape(viewer_note),
        "DATA": _script_json(dialogues),
        "MAZE_JS": files("gapbench.report").joinpath("maze.js").read_text(encoding="utf-8"),
        "MAZE_CSS": files("gapbench.report").joinpath("maze.css").read_text(encoding="utf-8"),
    }
    # One pass, so placeholders inside substituted text (a transcript, a model name) stay as written.
    return re.sub(r"\{\{([A-Z_]+)\}\}", lambda m: values[m.group(1)], template)
