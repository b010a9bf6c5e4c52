"""Coordinate schemes: the route step type, the 16 ways cells can be numbered, and how one scheme
maps written steps to grid cells (and back, for tests and the viewer).

A step is a direction (screen-relative, needs no scheme) or two coordinate symbols. A ``Scheme`` is
an origin (0 or 1), the corner that holds it and the axis order; ``to_cell``, ``positions`` and
``interpret`` apply one scheme, ``render_route`` writes cells in one; ``convention`` reads a scheme
the agents state ("(x, y)", "counting from 1").
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Literal

from gapbench.grading.text import normalise
from gapbench.maze import MOVES, Cell

Corner = Literal["top_left", "top_right", "bottom_left", "bottom_right"]
Order = Literal["row_col", "col_row"]
Symbols = Literal["directions", "number_number", "letter_number", "number_letter", "letter_letter"]
CORNERS: tuple[Corner, ...] = ("top_left", "top_right", "bottom_left", "bottom_right")
ORDERS: tuple[Order, ...] = ("row_col", "col_row")

_COORD_SYMBOL = re.compile(r"\d{1,3}|[A-Z]")


@dataclass(frozen=True)
class Step:
    """One route step as written: a direction (``first`` = up/down/left/right, ``second`` = ""), or
    a cell as two raw symbols (digits or a letter), e.g. ``("B", "3")``.

    Some notations fix part of the scheme themselves: ``order`` for ``row 2, col 3`` or
    ``(x=2, y=1)`` (stored row first), ``origin`` for ordinals ("second row" is 1-based). ``hint`` is
    a direction written beside a cell ("down to (1,0)"): evidence for the scheme, not a second move.
    """

    first: str
    second: str = ""
    order: Order | None = None
    origin: int | None = None
    hint: str = ""

    def __post_init__(self) -> None:
        ok = (
            self.first in MOVES
            if self.second == ""
            else all(_COORD_SYMBOL.fullmatch(s) for s in (self.first, self.second))
        )
        if not ok or (self.hint and self.hint not in MOVES):
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

    def same_move(self, other: Step) -> bool:
        """Written the same way (a restatement), ignoring hints."""
        return (self.first, self.second, self.order, self.origin) == (
            other.first,
            other.second,
            other.order,
            other.origin,
        )

    def as_list(self) -> list[str]:
        """The stored form: ``[direction]`` or ``[a, b]`` (+ fixed order / origin when written)."""
        if self.is_direction:
            return [self.first]
        extra = (
            ([self.order or ""] + ([str(self.origin)] if self.origin is not None else []))
            if (self.order or self.origin is not None)
            else []
        )
        return [self.first, self.second, *extra]

    @classmethod
    def from_list(cls, parts: list[str]) -> Step:
        if len(parts) == 1:
            return cls(parts[0])
        order = parts[2] if len(parts) > 2 and parts[2] else None
        origin = int(parts[3]) if len(parts) > 3 else None
        return cls(parts[0], parts[1], order, origin)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Scheme:
    """How coordinate symbols map to cells. Directions are screen-relative and need none of it."""

    origin: int = 0  # 0- or 1-based numbers (letters always start at A)
    corner: Corner = "top_left"  # which corner is (origin, origin)
    order: Order = "row_col"

    def describe(self) -> str:
        return f"{self.origin}-based, {self.order}, origin {self.corner}"


# The prior order: how often agents write each scheme (0-based row-col from the top-left first). Ties
# between equally good readings go to the earlier one, so the reported scheme is stable.
ALL_SCHEMES: tuple[Scheme, ...] = tuple(
    Scheme(origin, corner, order) for corner, order, origin in itertools.product(CORNERS, ORDERS, (0, 1))
)


def _index(symbol: str, origin: int) -> int:
    return ord(symbol.upper()) - ord("A") if symbol.isalpha() else int(symbol) - origin


def to_cell(step: Step, scheme: Scheme, size: int) -> Cell:
    """The cell a coordinate step names under ``scheme`` (may be off the grid)."""
    origin = scheme.origin if step.origin is None else step.origin
    a, b = _index(step.first, origin), _index(step.second, origin)
    order = step.order or scheme.order
    row, col = (a, b) if order == "row_col" else (b, a)
    if scheme.corner in ("bottom_left", "bottom_right"):
        row = size - 1 - row
    if scheme.corner in ("top_right", "bottom_right"):
        col = size - 1 - col
    return row, col


def positions(steps: list[Step] | tuple[Step, ...], scheme: Scheme, start: Cell, size: int) -> list[Cell]:
    """The position after each step (``[0]`` is the start), as the agents meant it under ``scheme``.
    A coordinate step naming the current cell is a restatement: the position does not change."""
    cells = [start]
    for step in steps:
        if step.is_direction:
            dr, dc = MOVES[step.first]
            cells.append((cells[-1][0] + dr, cells[-1][1] + dc))
        else:
            cells.append(to_cell(step, scheme, size))
    return cells


def interpret(steps: list[Step] | tuple[Step, ...], scheme: Scheme, start: Cell, size: int) -> list[Cell]:
    """Cells visited, starting with ``start``, restatements of the current cell dropped."""
    visited = [start]
    for cell in positions(steps, scheme, start, size)[1:]:
        if cell != visited[-1]:
            visited.append(cell)
    return visited


def render_route(
    cells: list[Cell], scheme: Scheme, size: int, symbols: Symbols = "number_number", style: str = "words"
) -> str:
    """Write a route (consecutive cells after the start) in a scheme; the inverse of parsing.

    ``style`` applies to directions: ``words`` (up), ``letters`` (U), ``compass`` (north)."""
    if symbols == "directions":
        names = {v: k for k, v in MOVES.items()}
        words = {
            "words": {},
            "letters": {k: k[0].upper() for k in MOVES},
            "compass": {"up": "north", "down": "south", "left": "west", "right": "east"},
        }[style]
        out = []
        for (r0, c0), (r1, c1) in itertools.pairwise(cells):
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
        sa, sb = (
            chr(ord("A") + v) if k == "letter" else str(v + scheme.origin) for k, v in zip(kinds, (a, b))
        )
        parts.append(f"{sa}{sb}" if symbols in ("letter_number", "number_letter") else f"({sa}, {sb})")
    return " -> ".join(parts)


_COL_ROW = re.compile(
    r"\bcol(?:umn)?s?\s+(?:are|=)\s+letters\b|\(\s*x\s*,\s*y\s*\)|\bx\s*(?:=|is|:)\s*(?:the\s+)?col(?:umn)?s?\b|\bcol(?:umn)?s?\s+first\b|\(\s*col(?:umn)?\s*,\s*row\s*\)|\bletters?\s*(?:=|are|is|for)\s*(?:the\s+)?col",
    re.IGNORECASE,
)
_ROW_COL = re.compile(
    r"\brows?\s+(?:are|=)\s+letters\b|\(\s*r(?:ow)?\s*,\s*c(?:ol(?:umn)?)?\s*\)|\brows?\s+first\b|\brow[\s,-]+col(?:umn)?\b|\bletters?\s*(?:=|are|is|for)\s*(?:the\s+)?row",
    re.IGNORECASE,
)
_ONE_BASED = re.compile(
    r"\b(?:1|one)[\s-]*(?:based|indexed)\b|\b(?:count(?:ing)?|number(?:ing|ed)?|start(?:ing)?|index(?:ed|ing)?)\s+(?:\w+\s+){0,3}?from\s+(?:1|one)\b|\bfrom\s+1\b",
    re.IGNORECASE,
)
_ZERO_BASED = re.compile(
    r"\b(?:0|zero)[\s-]*(?:based|indexed)\b|\b(?:count(?:ing)?|number(?:ing|ed)?|start(?:ing)?|index(?:ed|ing)?)\s+(?:\w+\s+){0,3}?from\s+(?:0|zero)\b|\bfrom\s+0\b",
    re.IGNORECASE,
)


def convention(text: object) -> dict[str, object]:
    """A coordinate convention the agents state ("(x, y)", "row first", "counting from 1"): the
    attributes of the scheme it fixes. Evidence for the scheme search, like a stated position."""
    text = normalise(text)
    out: dict[str, object] = {}
    col_row, row_col = _COL_ROW.search(text), _ROW_COL.search(text)
    if bool(col_row) != bool(row_col):
        out["order"] = "col_row" if col_row else "row_col"
    one, zero = _ONE_BASED.search(text), _ZERO_BASED.search(text)
    if bool(one) != bool(zero):
        out["origin"] = 1 if one else 0
    return out
