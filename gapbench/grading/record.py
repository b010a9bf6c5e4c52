"""Grades as stored: one ``GradeRecord`` per grader and version, made by one safe function.

``grade_transcript`` is the only way a run, a regrade or a corpus check turns a transcript into a
grade: extraction, scheme choice and walk. A failure inside grading becomes that grade's ``error``
(with a zero score) instead of an exception, so one strange message can never stop a run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import ConfigDict

from gapbench.grading.extract import Extraction, extract_rule, with_stated_evidence
from gapbench.grading.llm import declared_scheme
from gapbench.grading.validate import Grade, Outcome, Reading, WalkEnd, grade_extraction, no_route
from gapbench.maze import Maze
from gapbench.transcript import Transcript
from gapbench.validation import read_record


def _outcome_fields(o: Outcome) -> dict[str, Any]:
    return {
        "success": o.success,
        "weighted": o.weighted,
        "final": list(o.final),
        "moves": o.moves,
        "end": o.end,
        "partial": o.partial,
    }


@dataclass(frozen=True)
class GradeRecord:
    """One extraction of the route and its grade on the full maze (the favourable reading), with
    the consistent reading beside it."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    method: str  # rule | llm
    steps: list[list[str]]  # the route as written: [direction] or [symbol, symbol (, order, origin)]
    success: bool
    weighted: float
    final: list[int]
    moves: int
    optimal_moves: int
    optimal: bool | None
    end: WalkEnd
    scheme: dict[str, Any] | None  # the winning interpretation (origin, corner, order)
    symbols: str | None  # how the route was written
    error: str | None = None  # extraction problem (e.g. the grader's output was not valid JSON)
    detail: dict[str, Any] = field(default_factory=dict)
    version: str = "unversioned"  # the grader that made it (records before versioning: unversioned)
    partial: float | None = None  # valid moves / optimal path length, at most 1 (the follow-up's score)
    consistent: dict[str, Any] | None = None  # the consistent reading: outcome fields, scheme, evidence
    cells: list[list[int]] | None = None  # the valid positions walked, from the start

    @classmethod
    def build(cls, extraction: Extraction, grade: Grade) -> GradeRecord:
        o = grade.outcome
        c: Reading | None = grade.consistent
        return cls(
            method=extraction.method,
            steps=[s.as_list() for s in extraction.steps],
            success=o.success,
            weighted=o.weighted,
            final=list(o.final),
            moves=o.moves,
            optimal_moves=o.optimal_moves,
            optimal=o.optimal,
            end=o.end,
            scheme=asdict(grade.scheme) if grade.scheme else None,
            symbols=grade.symbols,
            error=extraction.error,
            detail=dict(extraction.detail),
            version=extraction.version,
            partial=o.partial,
            consistent=None
            if c is None
            else {
                **_outcome_fields(c.outcome),
                "scheme": asdict(c.scheme) if c.scheme else None,
                "evidence": c.evidence,
                "stated": c.stated,
                "cells": [list(cell) for cell in c.outcome.cells],
            },
            cells=[list(cell) for cell in o.cells],
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeRecord:
        """A grade as stored (records before versioning included); ValueError names the bad field."""
        return read_record(cls, data)


def grade_transcript(
    maze: Maze,
    transcript: Transcript,
    extraction: Extraction | Callable[[Transcript], Extraction] = extract_rule,
) -> GradeRecord:
    """Extract (unless given an extraction), choose the scheme, walk. Never raises."""
    method = extraction.method if isinstance(extraction, Extraction) else "rule"
    try:
        ex = extraction if isinstance(extraction, Extraction) else extraction(transcript)
        if ex.method == "llm":
            ex = with_stated_evidence(ex, transcript)  # the scheme is checked against the agents' words
        if transcript.condition != "collab" and not ex.steps and not ex.no_route:
            ex = Extraction(
                (),
                ex.method,
                error=ex.error or "the answer gives no route",
                detail=ex.detail,
                no_route=True,
                version=ex.version,
            )
        return GradeRecord.build(ex, grade_extraction(maze, ex, prior=declared_scheme(ex)))
    except Exception as exc:
        failed = Extraction(
            (), method, error=f"grading failed: {type(exc).__name__}: {exc}"[:500], no_route=True
        )
        o = no_route(maze)
        return GradeRecord.build(failed, Grade(o, None, None, Reading(o, None, 0, 0)))
