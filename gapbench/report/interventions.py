"""Interventions and the referee: how much of the collaboration gap each one closes. Pure functions, no I/O.

Per model (two copies of it) and per collaboration variant (collab, referee) x intervention: the
outcomes, the change against plain collaboration without intervention, and the fraction of the
solo - collab gap closed, (collab_I - collab_none) / (solo - collab_none), every part paired on the
same mazes and resampled together (gapbench.stats.paired_ratio). Solo runs without interventions,
so every row is measured against the study's own baseline. Beside them: wall hits and
disagreements per dialogue, and for the referee how often the rule grader's route is the route the
referee executed.
"""

from __future__ import annotations

from dataclasses import dataclass

from gapbench.grading.acts import read_message
from gapbench.grading.text import message_text
from gapbench.protocol.interventions import NONE, parse_tag
from gapbench.report.load import Entry
from gapbench.report.measures import (
    SOLO,
    Contrast,
    Metrics,
    by_maze,
    difference,
    group,
    metrics,
)
from gapbench.stats import Estimate, mean_ci, paired_ratio
from gapbench.transcript import Message

VARIANTS = ("collab", "referee")


@dataclass(frozen=True)
class InterventionRow:
    model: str  # two copies of it
    condition: str  # collab | referee
    intervention: str
    metrics: Metrics
    solo: str | None  # the solo condition the gap is measured against (solo_distributed when run)
    change: Contrast | None  # minus collab without intervention, paired by maze
    closed: Estimate | None  # share of the weighted solo - collab gap closed; None: baseline, or no gap
    closed_success: Estimate | None  # the same for binary success
    walls: float  # dialogues ending in a wall (or off the maze), per dialogue
    disagreements: float  # agent messages that disagree, per dialogue
    referee_agreement: Estimate | None  # referee only: the grader's route equals the executed one


def disagrees(message: Message) -> bool:
    """A DISAGREE tag line, or (without a tag line) a rejection the grader's dialogue acts find."""
    tag = parse_tag(message.text)
    return tag.kind == "disagree" if tag is not None else read_message(message_text(message.text)).rejects


def _wall(e: Entry) -> bool:
    return e.record.grade.end in ("wall", "off_grid")


def rows(entries: list[Entry]) -> list[InterventionRow]:
    """One row per (model, variant, intervention) with two copies of one model in collab or referee."""
    talk = [e for e in entries if e.record.condition in VARIANTS and len(set(e.models)) == 1]
    if {e.record.intervention for e in talk} == {NONE} and not any(
        e.record.condition == "referee" for e in talk
    ):
        return []  # nothing beyond the study: the main tables say it all
    cells = group(talk, lambda e: (e.models[0], e.record.condition, e.record.intervention))
    solo = group(
        (e for e in entries if e.record.condition in SOLO), lambda e: (e.models[0], e.record.condition)
    )
    out = []
    for (model, condition, intervention), es in sorted(
        cells.items(), key=lambda kv: (kv[0][0], VARIANTS.index(kv[0][1]), kv[0][2] != NONE, kv[0][2])
    ):
        base = cells.get((model, "collab", NONE), [])
        solo_name = next((c for c in ("solo_distributed", "solo_full") if solo.get((model, c))), None)
        baseline = condition == "collab" and intervention == NONE
        closed: dict[str, Estimate | None] = {o: None for o in ("weighted", "success")}
        if base and solo_name and not baseline:
            for o in closed:
                parts = [by_maze(es, o), by_maze(base, o), by_maze(solo[(model, solo_name)], o)]  # type: ignore[arg-type]
                closed[o] = paired_ratio(parts, [1, -1, 0], [0, -1, 1])
        referee = [e for e in es if e.record.referee_agreement is not None]
        summary = metrics(es)
        assert summary is not None  # a group is never empty
        out.append(
            InterventionRow(
                model,
                condition,
                intervention,
                summary,
                solo_name,
                None if baseline or not base else difference(es, base),
                closed["weighted"],
                closed["success"],
                sum(map(_wall, es)) / len(es),
                sum(disagrees(m) for e in es for m in e.record.transcript.agent_messages) / len(es),
                mean_ci(
                    [float(bool(e.record.referee_agreement)) for e in referee],
                    clusters=[e.record.maze_id for e in referee],
                )
                if referee
                else None,
            )
        )
    return out
