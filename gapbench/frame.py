"""A run's records as one flat pandas table, for notebooks: one row per dialogue and grade.

A dialogue graded by the rule grader and an LLM grader (or the referee, or an older grader version
kept by `gapbench regrade`) has one row per grade; ``primary`` marks the grade that counts, so
``frame[frame.primary]`` has one row per dialogue.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from gapbench.grading.record import GradeRecord
from gapbench.grading.schemes import Scheme
from gapbench.results import DialogueRecord, read_results

if TYPE_CHECKING:
    import pandas


def _grade_columns(key: str, g: GradeRecord, primary: bool) -> dict[str, Any]:
    c = g.consistent or {}
    return {
        "grader": key,
        "grader_version": g.version,
        "primary": primary,
        "success": g.success,
        "weighted": g.weighted,
        "partial": g.partial,
        "moves": g.moves,
        "optimal_moves": g.optimal_moves,
        "optimal": g.optimal,
        "grade_end": g.end,
        "scheme": Scheme(**g.scheme).describe() if g.scheme else None,
        "symbols": g.symbols,
        "grade_error": g.error,
        "consistent_success": c.get("success"),
        "consistent_weighted": c.get("weighted"),
        "consistent_partial": c.get("partial"),
        "consistent_moves": c.get("moves"),
        "consistent_end": c.get("end"),
    }


def _dialogue_columns(r: DialogueRecord) -> dict[str, Any]:
    tokens = r.tokens()
    return {
        "dialogue_id": r.dialogue_id,
        "run_hash": r.run_hash,
        "format_version": r.format_version,
        "prompt_version": r.prompt_version,
        "condition": r.condition,
        "maze_id": r.maze_id,
        "maze_size": r.maze_size,
        "pair": r.pair,
        "first": r.models[0],
        "second": r.models[1] if len(r.models) > 1 else None,
        "rollout": r.rollout,
        "seed": r.seed,
        "relay_k": r.relay_k,
        "relay_after": "+".join(r.relay_after) if r.relay_after else None,
        "base_id": r.base_id,
        "intervention": r.intervention,
        "end": r.transcript.end,
        "turns": len(r.transcript.agent_messages),
        "prompt_tokens": tokens["prompt"],
        "completion_tokens": tokens["completion"],
        "cached_tokens": tokens["cached"],
        "seconds": r.timings.get("seconds"),
    }


def results_frame(run_dir: Path | str) -> pandas.DataFrame:
    """Every record of ``run_dir`` (as `read_results` reads them), one row per dialogue and grade."""
    import pandas

    rows = [
        {**_dialogue_columns(r), **_grade_columns(key, g, key == r.primary)}
        for r in read_results(run_dir)
        for key, g in r.grades.items()
    ]
    frame: pandas.DataFrame = pandas.DataFrame(rows)
    return frame
