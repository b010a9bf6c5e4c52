"""How complete the reported runs are, and the balanced subset comparisons use.

Dialogues that end early (often successes) finish first, so a run stopped part-way over-represents
them; comparing conditions on whatever finished is biased. Each run's plan is rebuilt from its
run.json: a cell (run, condition, models, K) is done when every planned dialogue of it has a
record, and with ``complete_only`` every table uses only the mazes on which all planned dialogues
of every run that plans them are done, so compared cells stand on the same mazes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from gapbench.protocol.interventions import overlay_name
from gapbench.report.document import Section, Table
from gapbench.report.load import Entry, Loaded
from gapbench.results import pair_name


@dataclass(frozen=True)
class Cell:
    run: str
    condition: str
    models: str
    k: int | None
    planned: int
    done: int
    errors: int  # records that ended in an engine error (counted in done)


def cells(loaded: Loaded) -> list[Cell]:
    """Done / planned and errors per cell of every run whose plan is known."""
    labels = {r.run_dir: r.models for r in loaded.runs}
    out = []
    for run, planned in loaded.plans.items():
        records = {e.record.dialogue_id: e.record for e in loaded.entries if e.run == run}
        counts: Counter = Counter()
        done: Counter = Counter()
        errors: Counter = Counter()
        for d in planned:
            condition = d.condition + (
                "" if d.intervention == "none" else f" + {overlay_name(d.intervention)}"
            )
            key = (condition, pair_name(labels[run].get(k, k) for k in d.seats), d.relay_k)
            counts[key] += 1
            if d.id in records:
                done[key] += 1
                errors[key] += records[d.id].transcript.end == "error"
        out += [
            Cell(run, c, m, k, n, done[(c, m, k)], errors[(c, m, k)])
            for (c, m, k), n in sorted(counts.items(), key=str)
        ]
    return out


def complete_mazes(loaded: Loaded) -> dict[str, set[str]]:
    """Per run with a known plan: the mazes on which every run that plans them has finished all."""
    unfinished: set[str] = set()
    maze_ids: dict[str, set[str]] = {}
    for run, planned in loaded.plans.items():
        done = {e.record.dialogue_id for e in loaded.entries if e.run == run}
        maze_ids[run] = {d.maze_id for d in planned}
        unfinished |= {d.maze_id for d in planned if d.id not in done}
    return {run: mazes - unfinished for run, mazes in maze_ids.items()}


def balance(loaded: Loaded) -> list[Entry]:
    """Entries on complete mazes only (runs without a known plan are kept whole)."""
    keep = complete_mazes(loaded)
    return [e for e in loaded.entries if e.run not in keep or e.record.maze_id in keep[e.run]]


def section(loaded: Loaded, used: int, complete_only: bool) -> Section:
    """The report's first section: completeness per cell, with a warning when any run is partial."""
    cs = cells(loaded)
    planned, done = sum(c.planned for c in cs), sum(c.done for c in cs)
    warning = None
    if done < planned:
        warning = f"WARNING: partial run(s): {done} of {planned} planned dialogues are done, and early finishers (often successes) are over-represented. "
        warning += (
            f"Tables use the {used} dialogues on mazes that every cell finished (--complete-only, the default)."
            if complete_only
            else f"Tables use all {used} finished dialogues (--no-complete-only): comparisons between conditions may be biased."
        )
    unknown = [r.run_dir for r in loaded.runs if r.run_dir not in loaded.plans and r.records]
    if unknown:
        warning = (
            warning + " " if warning else ""
        ) + f"Completeness unknown (no plan from run.json) for {', '.join(unknown)}."
    rows = [
        [c.run, c.condition, c.models, str(c.k or "-"), f"{c.done}/{c.planned}", str(c.errors)] for c in cs
    ]
    text = "Dialogues done out of planned per run, condition, models and K; errors are records that ended in an engine error (counted as done)."
    return Section(
        "completeness",
        "Completeness",
        text,
        [Table(["run", "condition", "models", "K", "done/planned", "errors"], rows)],
        note=warning,
    )
