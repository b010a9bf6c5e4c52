"""Walk a route on the full maze and score it.

Distances are shortest-path distances through open cells of the full maze (not Manhattan), so the
weighted outcome measures progress along the real route: 1 at the goal, 0 for no progress, negative
when the walk ends further from the goal than it started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gapbench.grading.routes import ALL_SCHEMES, Scheme, Step, interpret
from gapbench.maze import Cell, Maze

EndReason = Literal["goal", "wall", "off_grid", "not_adjacent", "route_ended"]


@dataclass(frozen=True)
class Outcome:
    success: bool
    final: Cell  # last valid position
    weighted: float  # 1 - d(final, goal) / d(start, goal)
    moves: int  # valid moves made
    optimal_moves: int  # d(start, goal)
    optimal: bool | None  # success in exactly optimal_moves moves; None when not a success
    end: EndReason  # why the walk stopped


def walk(maze: Maze, cells: list[Cell]) -> Outcome:
    """Follow ``cells`` (first one the start) until the goal, a wall, the edge, a jump or the end."""
    to_goal = maze.distances(maze.goal)
    optimal = to_goal[maze.start]
    position, moves, end = maze.start, 0, "route_ended"
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
        end="goal" if success else end,
    )


@dataclass(frozen=True)
class Grade:
    outcome: Outcome
    scheme: Scheme | None  # the interpretation that won; None for routes of directions only
    symbols: str | None  # how the route was written (most common symbol kind), None if empty


def grade(maze: Maze, steps: list[Step]) -> Grade:
    """Score ``steps`` under every coordinate scheme and keep the most favourable one.

    Ties go to the earliest scheme in ``ALL_SCHEMES`` (0-based, top-left, row-col first), so the
    reported scheme is stable.
    """
    kinds = [s.symbols for s in steps]
    symbols = max(set(kinds), key=lambda k: (kinds.count(k), k)) if kinds else None
    if all(s.is_direction for s in steps):
        return Grade(walk(maze, interpret(steps, ALL_SCHEMES[0], maze.start, maze.size)), None, symbols)
    best: tuple[tuple, Outcome, Scheme] | None = None
    for rank, scheme in enumerate(ALL_SCHEMES):
        outcome = walk(maze, interpret(steps, scheme, maze.start, maze.size))
        key = (outcome.weighted, outcome.success, -outcome.moves if outcome.success else outcome.moves, -rank)
        if best is None or key > best[0]:
            best = (key, outcome, scheme)
    assert best is not None
    return Grade(best[1], best[2], symbols)
