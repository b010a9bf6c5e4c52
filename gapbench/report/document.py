"""The report as a document: sections of text tables and plots, and their Markdown (html.py renders HTML)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass(frozen=True)
class Section:
    key: str  # also the key of report.notes and of the plot file name
    title: str
    text: str
    tables: list[Table] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)  # PNG file names
    note: str | None = None  # why the section is empty or partial


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(secs: list[Section], title: str) -> str:
    lines = [f"# {title}", ""]
    for s in secs:
        lines += [f"## {s.title}", "", s.text, ""]
        if s.note:
            lines += [f"> Note: {s.note}", ""]
        for t in s.tables:
            if t.caption:
                lines += [f"**{t.caption}**", ""]
            lines.append("| " + " | ".join(_md_cell(h) for h in t.headers) + " |")
            lines.append("|" + "---|" * len(t.headers))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in t.rows]
            lines.append("")
        lines += [f"![{s.title}]({p})" for p in s.plots]
        if s.plots:
            lines.append("")
    return "\n".join(lines)
