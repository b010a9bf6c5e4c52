"""The labelled grading corpus and `gapbench grading check`: how accurate is a grader?

A corpus case is a full maze, a transcript and the gold executed route with its outcome (format:
tests/data/grading/README.md). ``check`` grades every case with any grader (the rule extractor, or
an LLM grader served by any engine) and measures route-exact and outcome-exact accuracy, the
weighted-outcome error, false credit (gold weighted <= 0, graded > 0) and missed credit, overall
and per phenomenon, under both scheme rules (favourable and consistent).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from gapbench.grading.record import GradeRecord
from gapbench.grading.validate import WalkEnd
from gapbench.maze import MOVES, Cell, Maze, MazeError, parse_maze
from gapbench.transcript import Message, Transcript
from gapbench.validation import describe

Rule = Literal["favourable", "consistent"]
CRITIC = "Review your solution and give your final answer."


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GoldOutcome(_Strict):
    success: bool
    weighted: float
    end: WalkEnd
    final: list[int]


class Gold(_Strict):
    route: list[Literal["up", "down", "left", "right"] | list[int]] | None
    outcome: GoldOutcome


class CaseMessage(_Strict):
    speaker: Literal["agent_1", "agent_2"]
    text: str


class Case(_Strict):
    id: str
    condition: Literal["collab", "solo_full", "solo_distributed"]
    phenomena: list[str]
    note: str
    maze: str
    messages: list[CaseMessage]
    gold: Gold

    def full_maze(self) -> Maze:
        return parse_maze(self.maze)

    def transcript(self) -> Transcript:
        """The case as a transcript; solo answers get the critic turn between them."""
        messages: list[Message] = []
        for i, m in enumerate(self.messages):
            if self.condition != "collab" and i == 1:
                messages.append(Message("user", CRITIC, audience="agent_1"))
            messages.append(Message(m.speaker, m.text))
        return Transcript(
            self.full_maze().id, self.condition, ("corpus", "corpus"), tuple(messages), "acti", "corpus"
        )

    def gold_cells(self) -> list[Cell] | None:
        """The gold route as the cells it names, from the start (None: no route)."""
        if self.gold.route is None:
            return None
        cells = [self.full_maze().start]
        for step in self.gold.route:
            if isinstance(step, str):
                dr, dc = MOVES[step]
                cells.append((cells[-1][0] + dr, cells[-1][1] + dc))
            else:
                cells.append((step[0], step[1]))
        return cells


def load_corpus(path: Path | str) -> list[Case]:
    """Every case in ``path`` (a YAML file, or a folder searched recursively, ``tools/`` skipped)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no such grading corpus; pass --corpus DIR (see tests/data/grading/README.md)"
        )
    files = (
        [path]
        if path.is_file()
        else sorted(p for p in path.rglob("*.yaml") if "tools" not in p.relative_to(path).parts)
    )
    cases: list[Case] = []
    seen: dict[str, Path] = {}
    for file in files:
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or []
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ValueError(f"{file}: not a readable YAML file ({str(exc).splitlines()[0]})") from None
        if not isinstance(data, list):
            raise ValueError(f"{file}: expected a YAML list of cases, got {type(data).__name__}")
        for n, item in enumerate(data):
            label = item.get("id", f"#{n}") if isinstance(item, dict) else f"#{n}"
            try:
                case = Case.model_validate(item)
                case.full_maze()
            except ValidationError as exc:
                raise ValueError(f"{file}: case {label}: field {describe(exc)}") from None
            except MazeError as exc:
                raise ValueError(f"{file}: case {label}: field maze: {exc}") from None
            if case.id in seen:
                raise ValueError(
                    f"{file}: case id {case.id} is used twice (also in {seen[case.id]}); ids must be unique"
                )
            seen[case.id] = file
            cases.append(case)
    if not cases:
        raise ValueError(f"{path}: no grading cases found (expected *.yaml files holding lists of cases)")
    return cases


@dataclass(frozen=True)
class CaseResult:
    case: Case
    grade: GradeRecord
    rule: Rule

    @property
    def reading(self) -> dict:
        g = self.grade
        if self.rule == "consistent" and g.consistent is not None:
            return g.consistent
        return {"success": g.success, "weighted": g.weighted, "end": g.end, "cells": g.cells}

    @property
    def weighted(self) -> float:
        w = float(self.reading["weighted"])
        return w if math.isfinite(w) else 0.0

    @property
    def outcome_exact(self) -> bool:
        gold = self.case.gold.outcome
        return bool(self.reading["success"]) == gold.success and abs(self.weighted - gold.weighted) < 1e-3

    @property
    def route_exact(self) -> bool:
        gold = self.case.gold.outcome
        if gold.end == "no_route":
            return self.reading["end"] == "no_route"
        cells = [tuple(c) for c in (self.reading.get("cells") or [])]
        return self.reading["end"] == gold.end and cells == _walked(self.case)

    @property
    def false_credit(self) -> bool:
        return self.case.gold.outcome.weighted <= 0 and self.weighted > 1e-9

    @property
    def missed_credit(self) -> bool:
        return self.case.gold.outcome.weighted > 0 and self.weighted <= 1e-9


def _walked(case: Case) -> list[Cell]:
    """The gold route's valid positions: its cells up to the end of the walk."""
    from gapbench.grading.validate import walk

    cells = case.gold_cells()
    return list(walk(case.full_maze(), cells).cells) if cells is not None else []


@dataclass(frozen=True)
class Score:
    n: int
    route_exact: float
    outcome_exact: float
    weighted_error: float  # mean |graded - gold| weighted outcome
    false_credit: int
    false_credit_base: int  # cases whose gold weighted <= 0
    missed_credit: int
    missed_credit_base: int  # cases whose gold weighted > 0

    @classmethod
    def of(cls, results: Sequence[CaseResult]) -> Score:
        n = len(results)
        return cls(
            n=n,
            route_exact=sum(r.route_exact for r in results) / n,
            outcome_exact=sum(r.outcome_exact for r in results) / n,
            weighted_error=sum(abs(r.weighted - r.case.gold.outcome.weighted) for r in results) / n,
            false_credit=sum(r.false_credit for r in results),
            false_credit_base=sum(r.case.gold.outcome.weighted <= 0 for r in results),
            missed_credit=sum(r.missed_credit for r in results),
            missed_credit_base=sum(r.case.gold.outcome.weighted > 0 for r in results),
        )

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class CheckReport:
    grader: str
    corpus: str
    rule: Rule
    results: list[CaseResult]

    @property
    def overall(self) -> Score:
        return Score.of(self.results)

    def by(self, key: Callable[[CaseResult], Sequence[str]]) -> dict[str, Score]:
        groups: dict[str, list[CaseResult]] = defaultdict(list)
        for r in self.results:
            for k in key(r):
                groups[k].append(r)
        return {k: Score.of(v) for k, v in sorted(groups.items())}

    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if not (r.route_exact and r.outcome_exact)]

    def as_dict(self) -> dict:
        return {
            "grader": self.grader,
            "corpus": self.corpus,
            "rule": self.rule,
            "overall": self.overall.as_dict(),
            "by_condition": {k: s.as_dict() for k, s in self.by(lambda r: [r.case.condition]).items()},
            "by_phenomenon": {k: s.as_dict() for k, s in self.by(lambda r: r.case.phenomena).items()},
        }


def check(
    cases: Sequence[Case],
    grades: Sequence[GradeRecord],
    *,
    grader: str,
    corpus: str,
    rule: Rule = "favourable",
) -> CheckReport:
    return CheckReport(grader, corpus, rule, [CaseResult(c, g, rule) for c, g in zip(cases, grades)])


def _pct(x: float) -> str:
    return f"{100 * x:5.1f}%"


def _row(label: str, s: Score) -> str:
    return (
        f"{label:<22} {s.n:>5} {_pct(s.route_exact):>8} {_pct(s.outcome_exact):>8} {s.weighted_error:>8.3f}"
        f" {s.false_credit:>4}/{s.false_credit_base:<4} {s.missed_credit:>4}/{s.missed_credit_base:<4}"
    )


def format_report(report: CheckReport, *, show_failures: int = 0) -> str:
    head = (
        f"{'':<22} {'n':>5} {'route=':>8} {'outcome=':>8} {'|w err|':>8} {'false cr.':>9} {'missed cr.':>9}"
    )
    lines = [
        f"grader {report.grader} on {report.corpus} ({report.overall.n} cases), scheme rule: {report.rule}",
        "",
        head,
        "-" * len(head),
    ]
    lines.append(_row("all", report.overall))
    for k, s in report.by(lambda r: [r.case.condition]).items():
        lines.append(_row(k, s))
    lines += ["", "by phenomenon:", head, "-" * len(head)]
    for k, s in report.by(lambda r: r.case.phenomena).items():
        lines.append(_row(k, s))
    lines += [
        "",
        "route= : the walked cells and the end of the walk equal the gold's; outcome= : same success and weighted (±0.001)",
        "false cr.: graded weighted > 0 where the gold is <= 0 (of such cases); missed cr.: graded <= 0 where the gold is > 0",
    ]
    for r in report.failures()[:show_failures]:
        lines += [
            "",
            f"FAIL {r.case.id} ({', '.join(r.case.phenomena)}): graded {r.reading['end']} w={r.weighted:.3f} steps={r.grade.steps}",
            f"     gold {r.case.gold.outcome.end} w={r.case.gold.outcome.weighted} route={r.case.gold.route}",
        ]
    return "\n".join(lines)
