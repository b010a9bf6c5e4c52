"""The measures every table is made of: outcome means with maze-clustered CIs and paired
differences, over labelled dialogues (gapbench.stats, docs/STATISTICS.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from gapbench.report.load import Entry
from gapbench.stats import Difference, Estimate, mean_ci, paired_contrast

SOLO = ("solo_full", "solo_distributed")


@dataclass(frozen=True)
class Metrics:
    """Weighted outcome and binary success (or differences of them)."""

    weighted: Estimate
    success: Estimate
    errors: int = 0  # dialogues in n that ended in an engine error (they score 0)


@dataclass(frozen=True)
class Contrast:
    """A paired difference (gapbench.stats.Difference) of both outcomes."""

    weighted: Difference
    success: Difference


def weighted(entries: Iterable[Entry]) -> list[float]:
    return [e.record.grade.weighted for e in entries]


def success(entries: Iterable[Entry]) -> list[float]:
    return [float(e.record.grade.success) for e in entries]


def metrics(entries: list[Entry]) -> Metrics | None:
    """Means over mazes (each maze's dialogues averaged first), CIs resampling mazes."""
    if not entries:
        return None
    mazes = [e.record.maze_id for e in entries]
    errors = sum(e.record.transcript.end == "error" for e in entries)
    return Metrics(
        mean_ci(weighted(entries), clusters=mazes), mean_ci(success(entries), clusters=mazes), errors
    )


Outcome = Literal["weighted", "success"]


def by_maze(entries: Iterable[Entry], outcome: Outcome) -> dict[str, list[float]]:
    """Maze id -> the outcomes of that maze's dialogues."""
    out: dict[str, list[float]] = defaultdict(list)
    for e in entries:
        out[e.record.maze_id].append(float(getattr(e.record.grade, outcome)))
    return out


def paired(
    cells: list[list[Entry]], weights: list[float], outcome: Outcome = "weighted"
) -> Difference | None:
    """A contrast of cells on the mazes all of them finished (see gapbench.stats.paired_contrast)."""
    return paired_contrast([by_maze(c, outcome) for c in cells], weights, binary=outcome == "success")


def difference(a: list[Entry], b: list[Entry]) -> Contrast | None:
    """a minus b on both outcomes, paired by maze; None when they share no maze."""
    w, s = paired([a, b], [1, -1]), paired([a, b], [1, -1], "success")
    return Contrast(w, s) if w and s else None


def group(entries: Iterable[Entry], key: Callable[[Entry], Any]) -> dict[Any, list[Entry]]:
    out: dict[Any, list[Entry]] = defaultdict(list)
    for e in entries:
        out[key(e)].append(e)
    return out
