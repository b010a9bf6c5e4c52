"""The labelled grading corpus (tests/data/grading): loading and an independent gold walker.

The walker is deliberately tiny and shares no code with gapbench's grading, so the corpus labels
do not inherit the grader's mistakes.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import yaml

CORPUS = Path(__file__).parent / "data" / "grading"
SPLITS = ("dev", "heldout")
_STEP = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


def load_cases(split: str) -> list[dict]:
    cases: list[dict] = []
    for path in sorted((CORPUS / split).glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            case["_file"] = path.name
            cases.append(case)
    return cases


def _grid(maze_text: str) -> list[str]:
    return [row.replace(" ", "") for row in maze_text.strip().splitlines() if row.strip()]


def _distances(grid: list[str], source: tuple[int, int]) -> dict[tuple[int, int], int]:
    n = len(grid)
    dist = {source: 0}
    queue = deque([source])
    while queue:
        r, c = queue.popleft()
        for dr, dc in _STEP.values():
            nr, nc = r + dr, c + dc
            if 0 <= nr < n and 0 <= nc < n and grid[nr][nc] != "#" and (nr, nc) not in dist:
                dist[(nr, nc)] = dist[(r, c)] + 1
                queue.append((nr, nc))
    return dist


def walk_gold(maze_text: str, route: list | None) -> dict:
    """Outcome of ``route`` (directions or [row, col] cells) on the full maze."""
    grid = _grid(maze_text)
    n = len(grid)
    find = lambda ch: next((r, row.index(ch)) for r, row in enumerate(grid) if ch in row)  # noqa: E731
    start, goal = find("@"), find("*")
    to_goal = _distances(grid, goal)
    pos, end = start, "route_ended"
    if route is None:
        end = "no_route"
    else:
        for step in route:
            if pos == goal:
                break
            if isinstance(step, str):
                dr, dc = _STEP[step]
                nxt = (pos[0] + dr, pos[1] + dc)
            else:
                nxt = (int(step[0]), int(step[1]))
                if abs(nxt[0] - pos[0]) + abs(nxt[1] - pos[1]) != 1:
                    end = "not_adjacent"
                    break
            if not (0 <= nxt[0] < n and 0 <= nxt[1] < n):
                end = "off_grid"
                break
            if grid[nxt[0]][nxt[1]] == "#":
                end = "wall"
                break
            pos = nxt
    if pos == goal:
        end = "goal"
    weighted = round(1 - to_goal[pos] / to_goal[start], 4)
    return {"success": pos == goal, "weighted": weighted, "end": end, "final": [pos[0], pos[1]]}


def walked(maze_text: str, route: list | None) -> tuple[list[list[int]], str]:
    """The cells a route visits and how its walk ends."""
    if route is None:
        return [], "no_route"
    cells = [walk_gold(maze_text, route[:k])["final"] for k in range(len(route) + 1)]
    visited = [c for i, c in enumerate(cells) if i == 0 or c != cells[i - 1]]
    return visited, walk_gold(maze_text, route)["end"]


def agreement(maze_text: str, gold: list | None, other: list | None) -> tuple[bool, bool]:
    """(route-exact, outcome-exact) of a second reading ``other`` against ``gold``, as
    ``gapbench grading check`` defines them for a grader."""
    a, b = walk_gold(maze_text, gold), walk_gold(maze_text, other)
    outcome = a["success"] == b["success"] and abs(a["weighted"] - b["weighted"]) <= 0.001
    return walked(maze_text, gold) == walked(maze_text, other), outcome
