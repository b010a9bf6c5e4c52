"""Our models beside others: the paper's published homogeneous figures, and people who played with
the models (gapbench play) beside two copies of the model on the same mazes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gapbench.play import is_human
from gapbench.report.load import Entry
from gapbench.report.measures import Contrast, Metrics, difference, group, metrics

if TYPE_CHECKING:
    from gapbench.report.tables import HomogeneousRow


@dataclass(frozen=True)
class HumanAIRow:
    """A model playing with people (`gapbench play`), beside two copies of it on the same mazes."""

    model: str
    person_first: Metrics | None  # the person speaks first, the model second
    model_first: Metrics | None
    ai_ai: Metrics | None  # two copies of the model (homogeneous collaboration), from any run of the report
    participants: int
    gave_up: int  # games the person gave up
    versus_ai: Contrast | None = None  # human-AI (both orders) minus AI-AI, paired by maze
    ordering: Contrast | None = None  # person first minus model first


@dataclass(frozen=True)
class PublishedHomogeneous:
    model: str
    weighted: float
    success: float | None
    ours: Metrics | None  # None for the paper's models


def human_ai(people: list[Entry], ai: list[Entry]) -> list[HumanAIRow]:
    """Per model that played with people: each seat order, and two copies of the model on the same mazes."""

    def model(e: Entry) -> str:
        return next(m for m in e.models if not is_human(m))

    copies = group(
        (e for e in ai if e.record.condition == "collab" and len(set(e.models)) == 1), lambda e: e.models[0]
    )
    rows = []
    for name, es in sorted(group(people, model).items()):
        first = [e for e in es if is_human(e.models[0])]
        second = [e for e in es if not is_human(e.models[0])]
        base = copies.get(name, [])
        rows.append(
            HumanAIRow(
                name,
                metrics(first),
                metrics(second),
                metrics(base),
                participants=len({m for e in es for m in e.models if is_human(m)}),
                gave_up=sum(e.record.transcript.end == "gave_up" for e in es),
                versus_ai=difference(es, base) if base else None,
                ordering=difference(first, second) if first and second else None,
            )
        )
    return rows


def published_homogeneous(
    published: dict[str, Any], rows: list[HomogeneousRow]
) -> list[PublishedHomogeneous]:
    """The paper's homogeneous pairs and ours on one scale, best first."""
    out = [
        PublishedHomogeneous(p["model"], float(p["weighted"]), p.get("success"), None)
        for p in published.get("homogeneous", [])
    ]
    out += [
        PublishedHomogeneous(r.model, r.collab.weighted.mean, r.collab.success.mean, r.collab)
        for r in rows
        if r.collab
    ]
    return sorted(out, key=lambda p: -p.weighted)
