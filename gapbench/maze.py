"""Mazes: generation, the study's text form, split views and shortest paths.

Cells are ``(row, col)``, 0-based, origin top-left. A maze is deterministic from
``(MazeParams, seed)`` and carries a content id (a hash of its text), so results refer to mazes by
content rather than by list position.
"""

from __future__ import annotations

import hashlib
import random
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

Cell = tuple[int, int]

START, GOAL, OPEN, WALL, HIDDEN = "@", "*", ".", "#", "?"
MOVES: dict[str, Cell] = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


class MazeError(ValueError):
    """Bad maze input; the message says what was expected and how to fix it."""


@dataclass(frozen=True)
class MazeParams:
    size: int = 6  # N of the N x N grid; the study's main setting is 6
    density: float = 0.30  # probability that a cell (other than start and goal) is a wall
    start: Cell = (0, 0)  # the study's examples start top-left
    min_path: int | None = None  # shortest start-goal path at least this long (default: N)
    max_path: int | None = None  # ... and at most this long (default: 2N - 2, the far corner)

    def __post_init__(self) -> None:
        if not 2 <= self.size <= 64:
            raise MazeError(f"size must be between 2 and 64, got {self.size}")
        if not 0.0 <= self.density < 1.0:
            raise MazeError(f"density must be in [0, 1), got {self.density}")
        if not all(0 <= x < self.size for x in self.start):
            raise MazeError(f"start {self.start} is off a {self.size}x{self.size} grid")
        lo, hi = self.path_range
        if not 1 <= lo <= hi:
            raise MazeError(f"need 1 <= min_path <= max_path, got min_path={lo}, max_path={hi}")
        if lo >= self.size * self.size:
            raise MazeError(
                f"min_path={lo} cannot fit on a {self.size}x{self.size} grid (at most {self.size**2 - 1})"
            )

    @property
    def path_range(self) -> tuple[int, int]:
        # Uniform target lengths in [N, 2N-2] give a mean of ~8 steps on 6x6, as in the study.
        lo = self.min_path if self.min_path is not None else self.size
        hi = self.max_path if self.max_path is not None else max(lo, 2 * (self.size - 1))
        return lo, hi


@dataclass(frozen=True)
class Maze:
    """A full maze: ``rows`` hold only ``.`` and ``#``; start and goal are kept apart."""

    rows: tuple[str, ...]
    start: Cell
    goal: Cell

    @property
    def size(self) -> int:
        return len(self.rows)

    @property
    def id(self) -> str:
        """Stable content id: the same maze gets the same id wherever it was generated."""
        return hashlib.sha256(self.render(spaced=False).encode()).hexdigest()[:12]

    def symbol(self, cell: Cell) -> str:
        if cell == self.start:
            return START
        if cell == self.goal:
            return GOAL
        return self.rows[cell[0]][cell[1]]

    def render(self, *, spaced: bool = True, labels: bool = False) -> str:
        """The study's text form: one row per line, ``@`` start, ``*`` goal, ``.`` path, ``#`` wall."""
        rows = ["".join(self.symbol((r, c)) for c in range(self.size)) for r in range(self.size)]
        return render_rows(rows, spaced=spaced, labels=labels)

    def in_bounds(self, cell: Cell) -> bool:
        return 0 <= cell[0] < self.size and 0 <= cell[1] < self.size

    def is_open(self, cell: Cell) -> bool:
        return self.in_bounds(cell) and self.rows[cell[0]][cell[1]] != WALL

    def neighbours(self, cell: Cell) -> Iterator[Cell]:
        for dr, dc in MOVES.values():
            nxt = (cell[0] + dr, cell[1] + dc)
            if self.is_open(nxt):
                yield nxt

    def distances(self, source: Cell) -> dict[Cell, int]:
        """Shortest-path distances (BFS through open cells) from ``source`` to every reachable cell."""
        dist = {source: 0}
        queue = deque([source])
        while queue:
            cell = queue.popleft()
            for nxt in self.neighbours(cell):
                if nxt not in dist:
                    dist[nxt] = dist[cell] + 1
                    queue.append(nxt)
        return dist

    def shortest_path(self, source: Cell | None = None) -> list[Cell] | None:
        """Cells from ``source`` (default: start) to the goal inclusive; None if unreachable."""
        source = self.start if source is None else source
        to_goal = self.distances(self.goal)
        if source not in to_goal:
            return None
        path = [source]
        while path[-1] != self.goal:
            path.append(min(self.neighbours(path[-1]), key=lambda c: (to_goal.get(c, 1 << 30), c)))
        return path


@dataclass(frozen=True)
class View:
    """One agent's partial map: like the maze's text, with ``?`` for the cells it cannot see."""

    rows: tuple[str, ...]  # symbols per cell, including @ * ? . #

    def render(self, *, spaced: bool = True, labels: bool = False) -> str:
        return render_rows(self.rows, spaced=spaced, labels=labels)

    def visible(self) -> int:
        return sum(ch != HIDDEN for row in self.rows for ch in row)


def render_rows(rows: Iterable[str], *, spaced: bool = True, labels: bool = False) -> str:
    """Rows of symbols as text: ``@ . #`` (spaced) or ``@.#`` (compact, the study's prompts); with
    ``labels``, 0-based column numbers above and row numbers on the left (from 11 columns on, cells are
    padded to the numbers' width and always spaced)."""
    rows = list(rows)
    sep = " " if spaced else ""
    if not labels:
        return "\n".join(sep.join(row) for row in rows)
    width = len(str(max(len(rows), len(rows[0]) if rows else 0) - 1))
    sep = sep if width == 1 else " "
    margin = " " * (width + 1)
    header = margin + sep.join(str(c).rjust(width) for c in range(len(rows[0]) if rows else 0))
    body = [str(r).rjust(width) + " " + sep.join(ch.rjust(width) for ch in row) for r, row in enumerate(rows)]
    return "\n".join([header, *body])


def _rng(*parts: object) -> random.Random:
    """A generator seeded from a hash of ``parts``: stable across runs, platforms and versions."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def generate(params: MazeParams = MazeParams(), seed: int = 0, index: int = 0) -> Maze:
    """A solvable maze, deterministic from ``(params, seed, index)`` (``index``: position in a set).

    Walls fall independently with probability ``density``; the goal is a reachable cell whose
    shortest-path distance is drawn uniformly from the lengths in ``path_range`` that this layout
    offers (layouts offering none are redrawn).
    """
    rng = _rng("maze", params.size, params.density, params.start, params.path_range, seed, index)
    lo, hi = params.path_range
    n = params.size
    for _ in range(10_000):
        grid = [[WALL if rng.random() < params.density else OPEN for _ in range(n)] for _ in range(n)]
        grid[params.start[0]][params.start[1]] = OPEN
        rows = tuple("".join(row) for row in grid)
        maze = Maze(rows=rows, start=params.start, goal=params.start)
        by_length: dict[int, list[Cell]] = {}
        for cell, d in maze.distances(params.start).items():
            if lo <= d <= hi:
                by_length.setdefault(d, []).append(cell)
        if by_length:
            length = rng.choice(sorted(by_length))
            goal = rng.choice(sorted(by_length[length]))
            return Maze(rows=rows, start=params.start, goal=goal)
    raise MazeError(
        f"could not place a goal {lo}-{hi} steps from the start on a {n}x{n} grid at density "
        f"{params.density} after 10000 layouts; lower the density or widen min_path/max_path"
    )


def split_views(maze: Maze, seed: int = 0) -> tuple[View, View]:
    """Two complementary partial maps: every cell except start and goal is visible in exactly one.

    Half of those cells (rounded down) go to the first view, chosen by a seeded shuffle.
    """
    cells = [
        (r, c) for r in range(maze.size) for c in range(maze.size) if (r, c) not in (maze.start, maze.goal)
    ]
    _rng("split", maze.id, seed).shuffle(cells)
    first = set(cells[: len(cells) // 2])
    views = []
    for mine in (lambda cell: cell in first, lambda cell: cell not in first):
        rows = tuple(
            "".join(
                maze.symbol((r, c)) if (r, c) in (maze.start, maze.goal) or mine((r, c)) else HIDDEN
                for c in range(maze.size)
            )
            for r in range(maze.size)
        )
        views.append(View(rows))
    a, b = views
    if merge_views(a, b) != maze:
        raise AssertionError("split views do not reassemble the maze")  # a bug, never user input
    return a, b


def merge_views(a: View, b: View) -> Maze:
    """The maze two views reveal together; raises if they disagree or leave cells hidden."""
    if len(a.rows) != len(b.rows):
        raise MazeError(f"views differ in size: {len(a.rows)} vs {len(b.rows)} rows")
    merged = []
    for r, (ra, rb) in enumerate(zip(a.rows, b.rows)):
        row = []
        for c, (x, y) in enumerate(zip(ra, rb)):
            if x == HIDDEN:
                x = y
            elif y not in (HIDDEN, x):
                raise MazeError(f"views disagree at row {r}, col {c}: {x!r} vs {y!r}")
            if x == HIDDEN:
                raise MazeError(f"cell at row {r}, col {c} is hidden in both views")
            row.append(x)
        merged.append("".join(row))
    return parse_maze("\n".join(merged))


_SYMBOLS = {START, GOAL, OPEN, WALL, HIDDEN}


def _grid_from_text(text: str, *, allow_hidden: bool, what: str) -> list[str]:
    if not isinstance(text, str) or not text.strip():
        raise MazeError(f"{what}: empty text; expected one row per line using {' '.join(sorted(_SYMBOLS))}")
    rows = ["".join(line.split()) for line in text.strip().splitlines() if line.strip()]
    allowed = _SYMBOLS if allow_hidden else _SYMBOLS - {HIDDEN}
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            if ch not in allowed:
                hint = " ('?' marks hidden cells, allowed only in views)" if ch == HIDDEN else ""
                raise MazeError(
                    f"{what}: unknown symbol {ch!r} at row {r}, col {c}{hint}; "
                    f"expected one of {' '.join(sorted(allowed))}"
                )
    n = len(rows)
    bad = [(r, len(row)) for r, row in enumerate(rows) if len(row) != n]
    if bad:
        r, width = bad[0]
        raise MazeError(f"{what}: not square: {n} rows but row {r} has {width} cells; every row needs {n}")
    for sym, name in ((START, "start"), (GOAL, "goal")):
        count = sum(row.count(sym) for row in rows)
        if count != 1:
            raise MazeError(f"{what}: expected exactly one {name} {sym!r}, found {count}")
    return rows


def _find(rows: list[str], symbol: str) -> Cell:
    return next((r, row.index(symbol)) for r, row in enumerate(rows) if symbol in row)


def parse_maze(text: str) -> Maze:
    """Read a full maze from its text form (spaces between symbols optional); must be solvable."""
    rows = _grid_from_text(text, allow_hidden=False, what="maze")
    start, goal = _find(rows, START), _find(rows, GOAL)
    clean = tuple(row.replace(START, OPEN).replace(GOAL, OPEN) for row in rows)
    maze = Maze(rows=clean, start=start, goal=goal)
    if goal not in maze.distances(start):
        raise MazeError(f"maze: no path from the start {start} to the goal {goal}; open a wall between them")
    return maze


def parse_view(text: str) -> View:
    """Read one agent's partial map (``?`` allowed)."""
    return View(tuple(_grid_from_text(text, allow_hidden=True, what="view")))


def path_lengths(mazes: Iterable[Maze]) -> list[int]:
    return [len(m.shortest_path() or []) - 1 for m in mazes]
