"""Route extraction: transcript in, the route that was executed (as written) out.

Two extractors share the ``Extraction`` type: the rule-based one below (deterministic, no model) and
the LLM grader (``grading.llm``). Both go through the same interpretation and walk (``validate``).

The rule extractor follows the game's own rule: a move is executed when one agent's concrete
proposal is accepted by the other, or when both state the same move. See docs/GRADING.md for the
semantics with examples.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from typing import Literal

from gapbench.grading import cues
from gapbench.grading.acts import Acts, read_message
from gapbench.grading.schemes import Step, convention
from gapbench.grading.table import Table, Turn, answer, confirm_narration, next_table, proposals
from gapbench.grading.text import message_text
from gapbench.transcript import Transcript

RULE_GRADER_VERSION = "rule-14"


@dataclass(frozen=True)
class Claim:
    """A position the agents stated in message ``message``, valid after between ``lo`` and ``hi``
    executed steps."""

    cell: Step
    lo: int
    hi: int
    message: int


@dataclass(frozen=True)
class Extraction:
    steps: tuple[Step, ...]
    method: Literal["rule", "llm"]
    message_index: tuple[int, ...] = ()  # per step: index in transcript.messages where it was agreed
    error: str | None = None  # why nothing could be extracted (the route is then empty)
    detail: dict = field(default_factory=dict)  # extractor-specific (e.g. the LLM's declared scheme)
    claims: tuple[Claim, ...] = ()  # stated positions: evidence for the scheme, never moves
    no_route: bool = False  # the answer gives no route at all (solo): weighted 0, never partial credit
    goals: tuple[Step, ...] = ()  # cells named as the goal ("the goal is (4,1)"): evidence for the scheme
    side_routes: tuple[tuple[Step, ...], ...] = ()  # other answers' routes: their hints are evidence too
    version: str = RULE_GRADER_VERSION


def _collab(transcript: Transcript) -> Extraction:
    """The moves both agents agreed to (``grading.table``), with the positions they stated."""
    steps: list[Step] = []
    where: list[int] = []
    claims: list[Claim] = []
    table = Table()
    texts: list[str] = []
    apart = False  # the agents split up: each moves alone until they regroup or accept a move
    goals: list[Step] = []
    at: Step | None = None
    reached = False  # ``at`` is a cell the agents moved to (their stated positions can be wrong)
    for i, m in enumerate(transcript.messages):
        if m.speaker == "user":
            continue
        texts.append(message_text(m.text))
        acts = read_message(texts[-1])
        apart = (apart or bool(cues.SPLIT_UP.search(texts[-1]))) and not cues.REGROUP.search(texts[-1])
        before = len(steps)
        moving = proposals(acts, steps)
        turn = Turn()
        if apart and not acts.accepts:
            table = Table()  # apart, only an explicit acceptance makes a joint move
        elif table.steps and table.speaker != m.speaker:
            table, turn = answer(table, acts, moving, at)
            steps += turn.accepted
            where += [i] * len(turn.accepted)
            apart = apart and not turn.accepted
        confirm_narration(table, acts, moving, turn.consumed)
        table = next_table(table, acts, moving, turn, m.speaker)
        # where the agents are, as written: the cell last reached; after a direction, the position stated
        if turn.accepted:
            at, reached = (None, False) if turn.accepted[-1].is_direction else (turn.accepted[-1], True)
        for r in acts.claims:
            if not _ORIGIN_AFTER.match(acts.text, r.end):
                claims += [Claim(s, before, len(steps), i) for s in r.steps if not s.is_direction]
                if not reached:
                    at = next((s for s in reversed(r.steps) if not s.is_direction), at)
        goals += _goal_cells(acts)
    error = None if steps else "no agreed moves found"
    stated = convention("\n".join(texts))
    return Extraction(
        tuple(steps),
        "rule",
        tuple(where),
        error=error,
        claims=tuple(claims),
        detail={"convention": stated} if stated else {},
        goals=tuple(goals),
    )


# Solo answers: the final route usually follows a marker, and may span lines (a list).
_FINAL_MARKER = re.compile(
    r"\b(?:final|corrected|revised|updated|complete|my)\s+(?:answer|solution|route|path|list|sequence|moves)\b|\b(?:final|solution|route|path|answer|moves)\s*(?:is)?\s*:",
    re.IGNORECASE,
)
_PARAGRAPH = re.compile(r"\n\s*\n")


def _enumerates_directions(run: tuple[Step, ...]) -> bool:
    """ "The possible moves are up, down, left and right" lists options, not a route."""
    names = [s.first for s in run if s.is_direction]
    return len(run) == 4 and len(set(names)) == 4


# '"start": [0, 0]', 'Goal: (4,5)', "(0, 0) at the top-left": a landmark beside the route, not a step
_LABELLED = re.compile(
    r"\b(?:start|starting|goal|begin|end|exit|origin|target|current)\W{0,3}\s*[:=]\s*$", re.IGNORECASE
)


def _route_in(acts: Acts, lo: int, hi: int) -> tuple[Step, ...]:
    runs = [
        r
        for r in acts.runs
        if r.role == "proposal"
        and lo <= r.start < hi
        and not _enumerates_directions(r.steps)
        and not (
            len(r.steps) == 1
            and (
                _LABELLED.search(acts.text, max(0, r.start - 16), r.start)
                or _ORIGIN_AFTER.match(acts.text, r.end)
            )
        )
    ]
    if any(sum(not s.is_direction for s in r.steps) >= 2 for r in runs):
        # A list of cells is the route; "a more direct route down the first column:" only names it.
        runs = [r for r in runs if not all(s.is_direction for s in r.steps)]
    return tuple(s for r in runs for s in r.steps)


def _solo_route(acts: Acts) -> tuple[Step, ...]:
    """The route of one solo answer: every proposed step after the last final-answer marker; else
    the last paragraph that proposes two or more steps; else the last proposed step."""
    text = acts.text
    markers = list(_FINAL_MARKER.finditer(text))
    if markers:
        route = _route_in(acts, markers[-1].start(), len(text))
        if route:
            return route
    bounds = [0] + [m.end() for m in _PARAGRAPH.finditer(text)] + [len(text)]
    routes = [_route_in(acts, lo, hi) for lo, hi in itertools.pairwise(bounds)]
    long = [r for r in routes if len(r) >= 2]
    short = [r for r in routes if r]
    return long[-1] if long else short[-1] if short else ()


def _walks(route: tuple[Step, ...]) -> bool:
    """Does a solo answer's route go anywhere? One cell alone ("Is (0, 0) the top-left?") or two
    cells far apart ("bfs(grid, (0, 0), (4, 4))") name places, not a route."""
    if not route or any(s.is_direction for s in route) or len(route) > 2:
        return bool(route)
    if len(route) == 1:
        return False
    a, b = route
    if not all(x.isdigit() for x in (a.first, a.second, b.first, b.second)):
        return True
    return abs(int(a.first) - int(b.first)) + abs(int(a.second) - int(b.second)) <= 1


def _solo(transcript: Transcript) -> Extraction:
    # each answer read once: its acts, and the route it gives
    answers = [
        (i, acts, _solo_route(acts))
        for i, m in enumerate(transcript.messages)
        if m.speaker != "user"
        for acts in [read_message(message_text(m.text))]
    ]
    for k, (i, final, route) in enumerate(reversed(answers)):
        if not _walks(route) and k == 0 and _DECLINES.search(final.text):
            break  # the final answer declines to give a route: the first answer's does not stand
        if _walks(route):
            # Conventions and the stated start count from every answer (the first often sets them up);
            # other stated positions only from the answer whose route is walked: an earlier answer's
            # "From (5,0) we go right" is about its own route.
            claims: list[Claim] = []
            for j, acts, _ in answers:
                for r in acts.claims:
                    at_start = _START.search(acts.text, max(0, r.start - 30), r.start) is not None
                    if (at_start or j == i) and not _ORIGIN_AFTER.match(acts.text, r.end):
                        claims += [
                            Claim(s, 0, 0 if at_start else len(route), j)
                            for s in r.steps
                            if not s.is_direction
                        ]
            stated = convention("\n".join(acts.text for _, acts, _ in answers))
            return Extraction(
                route,
                "rule",
                (i,) * len(route),
                claims=tuple(claims),
                detail={"convention": stated} if stated else {},
                goals=tuple(g for _, acts, _ in answers for g in _goal_cells(acts)),
                side_routes=tuple(other for j, _, other in answers if j != i and _walks(other)),
            )
    return Extraction((), "rule", error="the answer gives no route", no_route=True)


# "I am unable to provide a definitive list", "No valid path exists": an answer that gives no route
_DECLINES = re.compile(
    r"\b(?:unable to|cannot|can't|can not|not able to|won't)\s+(?:\w+\s+){0,2}?(?:provide|give|determine|find|commit|construct)"
    r"|\bno (?:valid |possible |complete )?(?:path|route|solution)\b",
    re.IGNORECASE,
)

# "(0, 0) at the top-left", "(1,1) being the upper-left corner": the scheme's origin, not a position
_ORIGIN_AFTER = re.compile(
    r"\W{0,3}(?:(?:is|being|=|as|at|in|for)\s+)?(?:the\s+)?(?:top|upper|bottom|lower)[- ]?(?:left|right)\b",
    re.IGNORECASE,
)


def _goal_cells(acts: Acts) -> list[Step]:
    """The cells a message names as the goal (a fixed point of the maze, so evidence for the scheme)."""
    return [
        r.steps[0]
        for r in acts.runs
        if len(r.steps) == 1
        and not r.steps[0].is_direction
        and r.role != "negated"
        and (
            cues.GOAL_NAMED_BEFORE.search(acts.text, max(0, r.start - 40), r.start) is not None
            or cues.GOAL_INFO.match(acts.text, r.end) is not None
        )
    ]


_START = re.compile(r"\bstart(?:ing)?\b[^.\n]*$", re.IGNORECASE)


def with_stated_evidence(extraction: Extraction, transcript: Transcript) -> Extraction:
    """``extraction`` (e.g. the LLM grader's) with what the agents stated in ``transcript``: their
    positions, named goals and conventions, the evidence the scheme search checks a reading against.
    A position stated in a message holds between the moves executed before it and those it completes
    (the extraction's own ``message_index``); a solo model's, as the rule extractor reads them (the
    start and conventions from every answer, other positions along the route)."""
    stated = extract_rule(transcript)
    where = extraction.message_index
    n = len(extraction.steps)
    known = len(where) == n and min(where, default=0) >= 0
    convention_stated = stated.detail.get("convention")
    detail = {**extraction.detail, **({"convention": convention_stated} if convention_stated else {})}
    if transcript.condition != "collab":
        claims = tuple(Claim(c.cell, 0, 0 if c.hi == 0 else n, c.message) for c in stated.claims)
        return replace(
            extraction, claims=claims, goals=stated.goals, side_routes=stated.side_routes, detail=detail
        )
    claims = tuple(
        Claim(c.cell, sum(m < c.message for m in where), sum(m <= c.message for m in where), c.message)
        if known
        else Claim(c.cell, 0, n, c.message)  # the grader gave no turns: anywhere along the route
        for c in stated.claims
    )
    return replace(extraction, claims=claims, goals=stated.goals, detail=detail)


def extract_rule(transcript: Transcript) -> Extraction:
    """Deterministic extraction. Collaboration: the moves both agents agreed to, with the positions
    they stated. Solo: the route of the final answer (the first answer's if the final one has none)."""
    if not any(m.speaker != "user" for m in transcript.messages):
        return Extraction(
            (), "rule", error="transcript has no agent messages", no_route=transcript.condition != "collab"
        )
    if transcript.condition != "collab":
        return _solo(transcript)
    return _collab(transcript)
