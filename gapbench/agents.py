"""Scripted reference agents: the whole loop (maze -> dialogue -> extraction -> grade) with no model.

They implement the engine interface and read everything from the chat they are given (their map
from the ``[user]`` instructions, the partner's map and moves from ``[other agent]`` messages), so
they exercise the real prompts, role flipping and grading.

- ``scripted:oracle`` shares its map, plans on the merged map, proposes one move per turn, agrees
  with correct proposals and says ACTI! at the goal: success on every maze.
- ``scripted:degraded:P`` errs with probability P (seeded): misreports cells of its map, wanders
  off the plan, and agrees blindly, so failures of every kind happen.
"""

from __future__ import annotations

import random
import re
from collections import deque
from dataclasses import dataclass
from typing import Sequence

from gapbench.engines.base import ChatMessage, ChatRequest, Completion
from gapbench.maze import GOAL, HIDDEN, MOVES, OPEN, START, WALL, Cell

# A map row, compact (`@.?#`) or spaced (`@ . ? #`), after an optional row number (labelled maps).
_GRID_LINE = re.compile(r"^\s*(?:\d+ )?\s*([@*.#?](?:\s*[@*.#?])+)\s*$")
_AGREED = re.compile(r"Agreed: we move (up|down|left|right)")
_PROPOSAL = re.compile(r"I propose we move (up|down|left|right)")
PREFIX = "scripted:"
_PARTNER = "[other agent]: "


def _grids(text: str) -> list[list[str]]:
    """The blocks of map lines in ``text``, as rows of symbols."""
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        if row := _GRID_LINE.match(line):
            blocks[-1].append(re.sub(r"\s", "", row.group(1)))
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _grid(text: str) -> list[str] | None:
    """The first block of map lines in ``text``."""
    return next(iter(_grids(text)), None)


@dataclass(frozen=True)
class ScriptedAgent:
    error_rate: float = 0.0  # 0 = oracle

    @property
    def name(self) -> str:
        return f"{PREFIX}oracle" if self.error_rate == 0 else f"{PREFIX}degraded:{self.error_rate:g}"

    def reply(self, chat: Sequence[ChatMessage], seed: int | None) -> str:
        if chat and chat[0].role == "user":
            return self._solo(chat, seed)
        own_map = _grid(chat[1].content) if len(chat) > 1 else None
        if own_map is None:
            return "I cannot find my map in the instructions."
        mine = [m.content for m in chat if m.role == "assistant"]
        theirs = [m.content.split(_PARTNER, 1)[1] for m in chat if m.role == "user" and _PARTNER in m.content]
        rng = random.Random(f"{seed}:{len(mine)}")
        size = len(own_map)
        start = next((r, row.index(START)) for r, row in enumerate(own_map) if START in row)
        goal = next((r, row.index(GOAL)) for r, row in enumerate(own_map) if GOAL in row)
        partner_map = next((g for t in theirs if (g := _grid(t)) and len(g) == size), None)
        belief = [list(row) for row in own_map]
        for r in range(size if partner_map else 0):
            for c in range(size):
                if belief[r][c] == HIDDEN:
                    belief[r][c] = partner_map[r][c]  # type: ignore[index]
        position = start
        for text in [m.content for m in chat[1:] if m.role == "assistant" or _PARTNER in m.content]:
            for direction in _AGREED.findall(text):
                position = (position[0] + MOVES[direction][0], position[1] + MOVES[direction][1])
        parts: list[str] = []
        if not mine:
            parts.append("Here is my map (? marks cells hidden from me):\n" + self._share(own_map, rng))
        proposal = _PROPOSAL.search(theirs[-1]) if theirs else None
        if proposal:
            direction = proposal.group(1)
            target = (position[0] + MOVES[direction][0], position[1] + MOVES[direction][1])
            on_grid = 0 <= target[0] < size and 0 <= target[1] < size
            if self.error_rate == 0 and (not on_grid or belief[target[0]][target[1]] == WALL):
                parts.append(f"I disagree: ({target[0]}, {target[1]}) is a wall or off the map on my side.")
            else:  # the degraded agent agrees blindly
                parts.append(f"Agreed: we move {direction} to ({target[0]}, {target[1]}).")
                position = target
        if position == goal:
            parts.append("We have reached the goal. ACTI!")
        elif partner_map is None:
            parts.append("Please share your map so we can plan the route.")
        else:
            direction = self._plan(belief, position, goal, rng)
            dr, dc = MOVES[direction]
            parts.append(f"I propose we move {direction} to ({position[0] + dr}, {position[1] + dc}).")
        return "\n".join(parts)

    def _solo(self, chat: Sequence[ChatMessage], seed: int | None) -> str:
        """Solo conditions: merge the map(s) in the prompt and answer a route as coordinates."""
        rng = random.Random(f"{seed}:solo:{len(chat)}")
        maps = _grids(chat[0].content)
        if not maps:
            return "I cannot find the map in the prompt."
        belief = [list(row) for row in maps[0]]
        for other in maps[1:]:
            for r, row in enumerate(other[: len(belief)]):
                for c, ch in enumerate(row[: len(belief)]):
                    if belief[r][c] == HIDDEN:
                        belief[r][c] = ch
        start = next((r, row.index(START)) for r, row in enumerate(belief) if START in row)
        goal = next((r, row.index(GOAL)) for r, row in enumerate(belief) if GOAL in row)
        route = [start]
        while route[-1] != goal and len(route) <= 4 * len(belief) ** 2:
            dr, dc = MOVES[self._plan(belief, route[-1], goal, rng)]
            route.append((route[-1][0] + dr, route[-1][1] + dc))
        return "Route: " + " -> ".join(f"({r}, {c})" for r, c in route)

    def _share(self, rows: list[str], rng: random.Random) -> str:
        out = []
        for row in rows:
            cells = list(row)
            for c, ch in enumerate(cells):
                if ch in (OPEN, WALL) and rng.random() < self.error_rate:
                    cells[c] = WALL if ch == OPEN else OPEN  # misreport
            out.append(" ".join(cells))
        return "\n".join(out)

    def _plan(self, belief: list[list[str]], position: Cell, goal: Cell, rng: random.Random) -> str:
        """First move of a shortest path on the believed map (unknown cells count as open)."""
        size = len(belief)
        if rng.random() < self.error_rate:
            return rng.choice(sorted(MOVES))  # wander
        prev: dict[Cell, tuple[Cell, str] | None] = {goal: None}
        queue = deque([goal])
        while queue:  # BFS backwards from the goal, so prev[cell] is the next step to take
            cell = queue.popleft()
            for name, (dr, dc) in sorted(MOVES.items()):
                nxt = (cell[0] - dr, cell[1] - dc)
                if 0 <= nxt[0] < size and 0 <= nxt[1] < size and nxt not in prev and belief[nxt[0]][nxt[1]] != WALL:
                    prev[nxt] = (cell, name)
                    queue.append(nxt)
        step = prev.get(position)
        return step[1] if step else rng.choice(sorted(MOVES))


def parse_scripted(name: str) -> ScriptedAgent:
    """``scripted:oracle`` or ``scripted:degraded:P`` (0 < P <= 1)."""
    parts = name.split(":")
    if parts[:2] == ["scripted", "oracle"] and len(parts) == 2:
        return ScriptedAgent()
    if parts[:2] == ["scripted", "degraded"] and len(parts) == 3:
        try:
            rate = float(parts[2])
        except ValueError:
            rate = -1.0
        if 0 < rate <= 1:
            return ScriptedAgent(rate)
    raise ValueError(f"unknown scripted agent {name!r}; use scripted:oracle or scripted:degraded:P with 0 < P <= 1")


class ScriptedEngine:
    """Serves scripted agents through the engine interface (no tokens, no cache)."""

    def __init__(self, name: str) -> None:
        self.agent = parse_scripted(name)
        self.name = self.agent.name

    def generate(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        return [
            Completion(r.conversation_id, self.agent.reply(r.messages, r.sampling.seed), finish_reason="stop")
            for r in requests
        ]

    def release(self, conversation_ids: Sequence[str]) -> None:
        pass

    def close(self) -> None:
        pass

