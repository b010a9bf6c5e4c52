"""Route normalisation: the one place that turns how agents write routes into grid cells.

Agents are given no output format, so a route may be directions (up/D/north...), coordinate pairs
``(r, c)`` / ``[r, c]`` / ``r1c2``, letter-number cells (``A1``, ``1A``, ``(A, B)``), 0- or 1-based,
row-col or col-row, with the origin in any corner. ``parse_route`` reads the symbols as written;
``interpret`` applies one ``Scheme``; grading tries every scheme and keeps the most favourable.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Literal

from gapbench.maze import MOVES, Cell

Corner = Literal["top_left", "top_right", "bottom_left", "bottom_right"]
Order = Literal["row_col", "col_row"]
Symbols = Literal["directions", "number_number", "letter_number", "number_letter", "letter_letter"]
CORNERS: tuple[Corner, ...] = ("top_left", "top_right", "bottom_left", "bottom_right")
ORDERS: tuple[Order, ...] = ("row_col", "col_row")


_COORD_SYMBOL = re.compile(r"\d{1,3}|[A-Z]")


@dataclass(frozen=True)
class Step:
    """One route step as written: a direction (``first`` = up/down/left/right, ``second`` = ""),
    or a cell as two raw symbols (digits or a letter), e.g. ``("B", "3")``."""

    first: str
    second: str = ""

    def __post_init__(self) -> None:
        ok = self.first in MOVES if self.second == "" else all(_COORD_SYMBOL.fullmatch(s) for s in (self.first, self.second))
        if not ok:
            raise ValueError(
                f"bad route step ({self.first!r}, {self.second!r}): expected a direction (up/down/left/right) "
                "or two coordinate symbols, each a number or a single capital letter"
            )

    @property
    def is_direction(self) -> bool:
        return self.second == ""

    @property
    def symbols(self) -> Symbols:
        if self.is_direction:
            return "directions"
        kind = ["letter" if s.isalpha() else "number" for s in (self.first, self.second)]
        return f"{kind[0]}_{kind[1]}"  # type: ignore[return-value]


@dataclass(frozen=True)
class Scheme:
    """How coordinate symbols map to cells. Directions are screen-relative and need none of it."""

    origin: int = 0  # 0- or 1-based numbers (letters always start at A)
    corner: Corner = "top_left"  # which corner is (origin, origin)
    order: Order = "row_col"

    def describe(self) -> str:
        return f"{self.origin}-based, {self.order}, origin {self.corner}"


ALL_SCHEMES: tuple[Scheme, ...] = tuple(
    Scheme(origin, corner, order) for origin, corner, order in itertools.product((0, 1), CORNERS, ORDERS)
)

_DIRECTION_WORDS = {
    "up": "up", "u": "up", "north": "up",
    "down": "down", "d": "down", "south": "down",
    "left": "left", "l": "left", "west": "left",
    "right": "right", "r": "right", "east": "right",
}  # fmt: skip
_SYM = r"(\d{1,2}|[A-Za-z])"
_ROUTE_TOKEN = re.compile(
    r"[\(\[]\s*" + _SYM + r"\s*[,;]\s*" + _SYM + r"\s*[\)\]]"  # (r, c)  [r, c]  (A, B)
    r"|\b[rR](\d{1,2})\s*[cC](\d{1,2})\b"  # r1c2
    r"|\brow\s*(\d{1,2})\s*,?\s*(?:col|column)\s*(\d{1,2})\b"  # row 1, column 2
    r"|\b([A-Z])(\d{1,2})\b"  # A1
    r"|\b(\d{1,2})([A-Z])\b"  # 1A
    r"|\b(up|down|left|right|north|south|east|west)\b"  # words
    r"|\b([UDLR](?:[\s,]*[UDLR])*)\b",  # U, D, L, R singly or as a sequence (R, R, D / RRD)
    re.IGNORECASE,
)
_CONNECTOR = re.compile(r"\s*(?:to|into|onto|towards|toward|at|->|=>|:)?\s*", re.IGNORECASE)


def parse_route(text: str) -> list[Step]:
    """Every route symbol in ``text``, in order. Never raises; returns [] for text with none."""
    if not isinstance(text, str):
        return []
    steps: list[Step] = []
    prev_end, prev_direction = 0, False
    for m in _ROUTE_TOKEN.finditer(text):
        # "down to (1, 0)" is one move: the cell replaces the direction written just before it.
        joined = prev_direction and _CONNECTOR.fullmatch(text[prev_end : m.start()]) is not None
        before = len(steps)
        g = m.groups()
        pair = next((i for i in range(0, 10, 2) if g[i] is not None), None)
        if pair is not None:
            a, b = g[pair], g[pair + 1]
            if pair >= 6 and not (a + b).upper() == a + b:
                continue  # "a1" / "1a" in prose: letter cells are written in capitals
            if joined:
                steps.pop()
            steps.append(Step(a.upper(), b.upper()))
        elif g[10] is not None:
            steps.append(Step(_DIRECTION_WORDS[g[10].lower()]))
        else:
            letters = [ch for ch in g[11] if ch.isalpha()]
            if all(ch.isupper() for ch in letters):  # lower-case single letters are prose
                steps.extend(Step(_DIRECTION_WORDS[ch.lower()]) for ch in letters)
        if len(steps) != before or joined:
            prev_end, prev_direction = m.end(), steps[-1].is_direction
    return steps


def _index(symbol: str, origin: int) -> int:
    return ord(symbol.upper()) - ord("A") if symbol.isalpha() else int(symbol) - origin


def to_cell(step: Step, scheme: Scheme, size: int) -> Cell:
    """The cell a coordinate step names under ``scheme`` (may be off the grid)."""
    a, b = _index(step.first, scheme.origin), _index(step.second, scheme.origin)
    row, col = (a, b) if scheme.order == "row_col" else (b, a)
    if scheme.corner in ("bottom_left", "bottom_right"):
        row = size - 1 - row
    if scheme.corner in ("top_right", "bottom_right"):
        col = size - 1 - col
    return row, col


def interpret(steps: list[Step], scheme: Scheme, start: Cell, size: int) -> list[Cell]:
    """Positions visited, starting with ``start``. A coordinate step naming the current cell is a
    restatement, not a move, so it is skipped."""
    cells = [start]
    for step in steps:
        if step.is_direction:
            dr, dc = MOVES[step.first]
            nxt = (cells[-1][0] + dr, cells[-1][1] + dc)
        else:
            nxt = to_cell(step, scheme, size)
            if nxt == cells[-1]:
                continue
        cells.append(nxt)
    return cells


def render_route(
    cells: list[Cell], scheme: Scheme, size: int, symbols: Symbols = "number_number", style: str = "words"
) -> str:
    """Write a route (consecutive cells after the start) in a scheme; the inverse of parsing.

    ``style`` applies to directions: ``words`` (up), ``letters`` (U), ``compass`` (north)."""
    if symbols == "directions":
        names = {v: k for k, v in MOVES.items()}
        words = {"words": {}, "letters": {k: k[0].upper() for k in MOVES}, "compass": {
            "up": "north", "down": "south", "left": "west", "right": "east"}}[style]
        out = []
        for (r0, c0), (r1, c1) in zip(cells, cells[1:]):
            name = names[(r1 - r0, c1 - c0)]
            out.append(words.get(name, name))
        return ", ".join(out)
    parts = []
    for row, col in cells[1:]:
        if scheme.corner in ("bottom_left", "bottom_right"):
            row = size - 1 - row
        if scheme.corner in ("top_right", "bottom_right"):
            col = size - 1 - col
        a, b = (row, col) if scheme.order == "row_col" else (col, row)
        kinds = symbols.split("_")
        sa, sb = (chr(ord("A") + v) if k == "letter" else str(v + scheme.origin) for k, v in zip(kinds, (a, b)))
        parts.append(f"{sa}{sb}" if symbols in ("letter_number", "number_letter") else f"({sa}, {sb})")
    return " -> ".join(parts)
