"""Walk a route on the full maze and score it, under a coherent choice of coordinate scheme.

Distances are shortest-path distances through open cells of the full maze (not Manhattan), so the
weighted outcome measures progress along the real route: 1 at the goal, 0 for no progress, negative
when the walk ends further from the goal than it started.

Coordinates mean nothing without a scheme (origin, corner, axis order). Grading considers only
*self-consistent* readings: one scheme for the whole route, chosen among those under which the
agents' own stated positions and direction words agree with the walk. Among those it records two
grades: ``favourable`` (the study's rule: the reading that scores best) and ``consistent`` (the
reading that best matches the agents' statements; ties go to the most common scheme).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

from gapbench.grading.extract import Extraction
from gapbench.grading.schemes import ALL_SCHEMES, Scheme, Step, interpret, positions, to_cell
from gapbench.maze import MOVES, Cell, Maze

WalkEnd = Literal["goal", "wall", "off_grid", "not_adjacent", "route_ended", "no_route"]


@dataclass(frozen=True)
class Outcome:
    success: bool
    final: Cell  # last valid position
    weighted: float  # 1 - d(final, goal) / d(start, goal)
    moves: int  # valid moves made
    optimal_moves: int  # d(start, goal)
    optimal: bool | None  # success in exactly optimal_moves moves; None when not a success
    end: WalkEnd  # why the walk stopped
    cells: tuple[Cell, ...] = ()  # the valid positions walked, from the start

    @property
    def partial(self) -> float:
        """The follow-up study's partial credit: valid moves over the optimal path length, at most 1."""
        if self.end == "no_route":
            return 0.0
        return (
            1.0 if self.success else min(self.moves / self.optimal_moves, 1.0) if self.optimal_moves else 1.0
        )


def walk(maze: Maze, cells: list[Cell]) -> Outcome:
    """Follow ``cells`` (first one the start) until the goal, a wall, the edge, a jump or the end."""
    to_goal = maze.distances(maze.goal)
    optimal = to_goal[maze.start]
    position, moves, end = maze.start, 0, "route_ended"
    visited = [position]
    if position != maze.goal:
        for nxt in cells[1:]:
            if abs(nxt[0] - position[0]) + abs(nxt[1] - position[1]) != 1:
                end = "not_adjacent"
                break
            if not maze.in_bounds(nxt):
                end = "off_grid"
                break
            if not maze.is_open(nxt):
                end = "wall"
                break
            position, moves = nxt, moves + 1
            visited.append(position)
            if position == maze.goal:
                break
    success = position == maze.goal
    weighted = 1.0 - to_goal[position] / optimal if optimal else 1.0
    return Outcome(
        success=success,
        final=position,
        weighted=weighted,
        moves=moves,
        optimal_moves=optimal,
        optimal=(moves == optimal) if success else None,
        end="goal" if success else end,  # type: ignore[arg-type]
        cells=tuple(visited),
    )


def no_route(maze: Maze) -> Outcome:
    """An answer without a route: no progress, no credit of any kind."""
    return Outcome(
        False, maze.start, 0.0, 0, maze.distances(maze.goal)[maze.start], None, "no_route", (maze.start,)
    )


@dataclass(frozen=True)
class Reading:
    """One scheme's reading of a route: its walk and how well it fits the agents' statements."""

    outcome: Outcome
    scheme: Scheme | None  # None for routes of directions only
    evidence: int  # stated positions and direction words that agree with the walk
    stated: int  # how many there were


@dataclass(frozen=True)
class Grade:
    outcome: Outcome  # the favourable reading (the study's rule), the default
    scheme: Scheme | None  # the interpretation that won; None for routes of directions only
    symbols: str | None  # how the route was written (most common symbol kind), None if empty
    consistent: Reading | None = None  # the reading that best matches the agents' statements


def _hints(steps: tuple[Step, ...], scheme: Scheme, maze: Maze) -> tuple[int, int]:
    """(agreeing, total) direction hints ("right to (0,1)") along a route under ``scheme``."""
    path = positions(steps, scheme, maze.start, maze.size)
    agree = total = 0
    for k, step in enumerate(steps, start=1):
        if not step.is_direction and step.hint:
            total += 1
            dr, dc = MOVES[step.hint]
            agree += path[k] == (path[k - 1][0] + dr, path[k - 1][1] + dc)
    return agree, total


def _evidence(extraction: Extraction, scheme: Scheme, maze: Maze) -> tuple[int, int]:
    """(agreeing, total) stated positions, named goals and direction hints under ``scheme``: one scheme
    for everything the agents wrote, including a solo model's other answers."""
    steps = tuple(extraction.steps)
    path = positions(steps, scheme, maze.start, maze.size)
    agree, total = _hints(steps, scheme, maze)
    for route in extraction.side_routes:
        a, t = _hints(route, scheme, maze)
        agree, total = agree + a, total + t
    for goal in extraction.goals:
        total += 1
        agree += to_cell(goal, scheme, maze.size) == maze.goal
    for claim in extraction.claims:
        total += 1
        cell = to_cell(claim.cell, scheme, maze.size)
        agree += any(path[k] == cell for k in range(max(0, claim.lo), min(claim.hi, len(path) - 1) + 1))
    return agree, total


def _starts_near(steps: tuple[Step, ...], scheme: Scheme | None, maze: Maze) -> bool:
    """Is the route's first step (a cell) the start or a cell next to it under ``scheme``?"""
    if not steps or steps[0].is_direction or scheme is None:
        return True
    (r0, c0), (r1, c1) = positions(steps[:1], scheme, maze.start, maze.size)
    return abs(r1 - r0) + abs(c1 - c0) <= 1


def _adjacent(steps: tuple[Step, ...], scheme: Scheme, maze: Maze) -> int:
    path = positions(steps, scheme, maze.start, maze.size)
    return sum(abs(a[0] - b[0]) + abs(a[1] - b[1]) <= 1 for a, b in itertools.pairwise(path))


def _fits(steps: tuple[Step, ...], scheme: Scheme, size: int) -> bool:
    """Does every cell written lie on the grid under ``scheme``?"""
    cells = [to_cell(s, scheme, size) for s in steps if not s.is_direction]
    return all(0 <= r < size and 0 <= c < size for r, c in cells)


def grade_extraction(maze: Maze, extraction: Extraction, prior: Scheme | None = None) -> Grade:
    """Grade an extraction: walk it under every self-consistent scheme; keep the favourable and the
    consistent reading. ``prior`` (e.g. the LLM grader's declared scheme) breaks ties for the latter."""
    steps = tuple(extraction.steps)
    kinds: list[str] = [s.symbols for s in steps]
    symbols = max(set(kinds), key=lambda k: (kinds.count(k), k)) if kinds else None
    if extraction.no_route:
        outcome = no_route(maze)
        return Grade(outcome, None, None, Reading(outcome, None, 0, 0))
    coordinate = any(not s.is_direction for s in steps) or any(
        not c.cell.is_direction for c in extraction.claims
    )  # named goals alone decide nothing: a route of directions has no scheme
    if not coordinate:
        outcome = walk(maze, interpret(steps, ALL_SCHEMES[0], maze.start, maze.size))
        return Grade(outcome, None, symbols, Reading(outcome, None, 0, 0))
    stated = extraction.detail.get("convention") or {}
    readings = []
    for scheme in ALL_SCHEMES:
        agree, total = _evidence(extraction, scheme, maze)
        # A stated convention ("(x, y)", "counting from 1") counts like a stated position.
        agree += sum(getattr(scheme, k) == v for k, v in stated.items() if k in ("order", "origin"))
        total += len(stated)
        outcome = walk(maze, interpret(steps, scheme, maze.start, maze.size))
        readings.append(Reading(outcome, scheme, agree, total))
    # A scheme in which a cell the agents wrote lies off the grid ("(0, 2)" read 1-based) is not theirs.
    readings = [r for r in readings if r.scheme is not None and _fits(steps, r.scheme, maze.size)] or readings
    best_evidence = max(r.evidence for r in readings)
    coherent = [r for r in readings if r.evidence == best_evidence]
    # Of those, a reading whose first cell is the start or next to it: the agents know where they start.
    near = [r for r in coherent if _starts_near(steps, r.scheme, maze)]
    coherent = near or coherent

    def score(r: Reading) -> tuple:
        o = r.outcome
        return (o.weighted, o.success, -o.moves if o.success else o.moves)

    favourable = max(coherent, key=score)  # max keeps the first of equals: the prior order
    consistent = max(
        coherent,
        key=lambda r: (
            r.scheme == prior,
            _adjacent(steps, r.scheme, maze) if r.scheme is not None else 0,
            r.outcome.moves,
            -readings.index(r),
        ),
    )
    return Grade(favourable.outcome, favourable.scheme, symbols, consistent)


def grade(maze: Maze, steps: list[Step]) -> Grade:
    """Grade a bare route (no stated positions): the most favourable scheme wins.

    Ties go to the earliest scheme in ``ALL_SCHEMES`` (0-based, top-left, row-col first), so the
    reported scheme is stable."""
    return grade_extraction(maze, Extraction(tuple(steps), "rule"))
