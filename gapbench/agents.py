"""Scripted reference agents: the whole loop (maze -> dialogue -> extraction -> grade) with no model.

They implement the engine interface and read everything from the chat they are given (their map
from the ``[user]`` instructions, the partner's map and moves from ``[other agent]`` messages), so
they exercise the real prompts, role flipping and grading.

- ``scripted:oracle`` shares its map, plans on the merged map, proposes one move per turn, agrees
  with correct proposals and says ACTI! at the goal: success on every maze.
- ``scripted:degraded:P`` errs with probability P (seeded): misreports cells of its map, wanders
  off the plan, loses count of its position, and agrees blindly, so failures of every kind happen.

Both respond to the interventions they find in their instructions (a known truth for tests and for
``examples/interventions.yaml``): under ``share_map_first`` and ``grid_labels`` the degraded agent
misreports half as many cells (each); it loses count of its position half as often under
``coordinate_convention`` and never under ``state_position`` (it recounts to state it) or the referee
(it reads the position the referee announces); under the referee it disagrees with a move into a
wall it can see instead of agreeing blindly; under ``structured_moves`` every message ends with one
tag line, and the degraded agent writes a malformed one with probability P/2.
"""

from __future__ import annotations

import inspect
import random
import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Protocol, TypeVar

from gapbench.engines.base import ChatMessage, ChatRequest, Completion
from gapbench.maze import GOAL, HIDDEN, MOVES, OPEN, START, WALL, Cell

# A map row, compact (`@.?#`) or spaced (`@ . ? #`), after an optional row number (labelled maps).
_GRID_LINE = re.compile(r"^\s*(?:\d+ )?\s*([@*.#?](?:\s*[@*.#?])+)\s*$")
_AGREED = re.compile(r"Agreed: we move (up|down|left|right)")
_PROPOSAL = re.compile(r"I propose we move (up|down|left|right)")
PREFIX = "scripted:"  # model names of scripted agents: scripted:NAME[:ARGS]
_PARTNER = "[other agent]: "
_REFEREE_AT = re.compile(r"now at row (\d+), column (\d+)")
# The clauses of the shipped overlays (gapbench/protocol/overlays) and of the referee, as the agents recognise them.
_CLAUSES = {
    "coordinate_convention": re.compile(r"agree with the other agent on one coordinate system"),
    "state_position": re.compile(r"state your current position"),
    "share_map_first": re.compile(r"describe your whole map"),
    "grid_labels": re.compile(r"rows and columns of your map are numbered"),
    "structured_moves": re.compile(r"^MOVE: up$", re.MULTILINE),
    "referee": re.compile(r"A referee executes each move"),
}


def interventions_in(instructions: str) -> set[str]:
    """The interventions (and the referee) whose clauses ``instructions`` hold."""
    return {name for name, clause in _CLAUSES.items() if clause.search(instructions)}


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

    def reply(self, chat: Sequence[ChatMessage], seed: int | None) -> str:
        if chat and chat[0].role == "user":
            return self._solo(chat, seed)
        own_map = _grid(chat[1].content) if len(chat) > 1 else None
        if own_map is None:
            return "I cannot find my map in the instructions."
        ways = interventions_in(chat[1].content)
        p = self.error_rate
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
        agreed = [
            d
            for m in chat[1:]
            if m.role == "assistant" or _PARTNER in m.content
            for d in _AGREED.findall(m.content)
        ]
        slip = (
            0.0 if ways & {"state_position", "referee"} else p / 2 if "coordinate_convention" in ways else p
        )
        slipped = (
            random.Random(f"{seed}:{len(mine)}:slip").random() < slip
        )  # its own stream: the other errors stay as they were
        counted = agreed[:-1] if agreed and slipped else agreed  # loses count of the last move
        position = start
        for direction in counted:
            position = (position[0] + MOVES[direction][0], position[1] + MOVES[direction][1])
        announced = [m for c in chat[2:] if c.role == "user" for m in _REFEREE_AT.finditer(c.content)]
        if "referee" in ways and announced:
            position = (int(announced[-1].group(1)) - 1, int(announced[-1].group(2)) - 1)
        parts: list[str] = []
        if not mine:
            misreport = p * (0.5 if "share_map_first" in ways else 1) * (0.5 if "grid_labels" in ways else 1)
            parts.append(
                "Here is my map (? marks cells hidden from me):\n" + self._share(own_map, rng, misreport)
            )
            if "coordinate_convention" in ways:
                parts.append("Let us use (row, column) coordinates, counting from 0 at the top-left.")
        if "state_position" in ways:
            parts.append(f"I am at ({position[0]}, {position[1]}).")
        proposal = _PROPOSAL.search(theirs[-1]) if theirs else None
        tag = ""
        if proposal:
            direction = proposal.group(1)
            target = (position[0] + MOVES[direction][0], position[1] + MOVES[direction][1])
            on_grid = 0 <= target[0] < size and 0 <= target[1] < size
            careful = self.error_rate == 0 or "referee" in ways  # a referee makes a wall hit final at once
            if careful and (not on_grid or belief[target[0]][target[1]] == WALL):
                parts.append(f"I disagree: ({target[0]}, {target[1]}) is a wall or off the map on my side.")
                tag = "DISAGREE"
            else:  # the degraded agent agrees blindly
                parts.append(f"Agreed: we move {direction} to ({target[0]}, {target[1]}).")
                position, tag = target, "AGREE"
        structured = "structured_moves" in ways
        if position == goal:
            parts.append("We have reached the goal. ACTI!")
        elif structured and tag == "AGREE":
            pass  # one tag per message: the partner proposes the next move
        elif partner_map is None and not structured:
            parts.append("Please share your map so we can plan the route.")
        else:
            direction = self._plan(belief, position, goal, rng)
            dr, dc = MOVES[direction]
            parts.append(f"I propose we move {direction} to ({position[0] + dr}, {position[1] + dc}).")
            tag = f"MOVE: {direction}"
        if structured:
            tag = tag or "DISAGREE"
            parts.append(
                f"Move {tag.split()[-1].lower()}" if rng.random() < p / 2 else tag
            )  # malformed: no move
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

    def _share(self, rows: list[str], rng: random.Random, rate: float) -> str:
        out = []
        for row in rows:
            cells = list(row)
            for c, ch in enumerate(cells):
                if ch in (OPEN, WALL) and rng.random() < rate:
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
                if (
                    0 <= nxt[0] < size
                    and 0 <= nxt[1] < size
                    and nxt not in prev
                    and belief[nxt[0]][nxt[1]] != WALL
                ):
                    prev[nxt] = (cell, name)
                    queue.append(nxt)
        step = prev.get(position)
        return step[1] if step else rng.choice(sorted(MOVES))


class Agent(Protocol):
    """A scripted policy: the reply to a chat, from the chat alone (and the turn's seed)."""

    def reply(self, chat: Sequence[ChatMessage], seed: int | None) -> str: ...


AgentFactory = Callable[..., Agent]  # called with the text after `scripted:NAME:`, split on ':'
ENTRY_POINTS = "gapbench.agents"  # third-party agents: `name = "package.module:factory"`
_AGENTS: dict[str, AgentFactory] = {}
F = TypeVar("F", bound=AgentFactory)


def register_agent(name: str) -> Callable[[F], F]:
    """Decorator: ``@register_agent("mine")`` on a factory (or class) called with the arguments of
    ``scripted:mine:A:B`` as strings ("A", "B"); studies then name the model ``scripted:mine:A:B``.
    The factory raises ValueError for arguments it does not take."""
    if not name or ":" in name:
        raise ValueError(f"agent name {name!r}: give a plain name such as 'mine' (no ':')")

    def register(factory: F) -> F:
        _AGENTS[name] = factory
        return factory

    return register


def agent_names() -> list[str]:
    """Registered agents and those installed packages declare, without importing them."""
    return list(dict.fromkeys([*_AGENTS, *(ep.name for ep in entry_points(group=ENTRY_POINTS))]))


@register_agent("oracle")
def _oracle() -> ScriptedAgent:
    return ScriptedAgent()


@register_agent("degraded")
def _degraded(p: str) -> ScriptedAgent:
    try:
        rate = float(p)
    except ValueError:
        rate = -1.0
    if not 0 < rate <= 1:
        raise ValueError(f"P is an error rate with 0 < P <= 1 (got {p!r}), e.g. scripted:degraded:0.2")
    return ScriptedAgent(rate)


def parse_scripted(name: str) -> Agent:
    """The agent of ``scripted:NAME[:ARGS...]``: built-ins (oracle, degraded:P), `register_agent`
    and the ``gapbench.agents`` entry points (loaded on first use)."""
    prefix, _, rest = name.partition(":")
    agent, *args = rest.split(":")
    if prefix != "scripted" or not agent:
        raise ValueError(f"{name!r} is not a scripted agent; write scripted:NAME, e.g. scripted:oracle")
    if agent not in _AGENTS:
        found = [ep for ep in entry_points(group=ENTRY_POINTS) if ep.name == agent]
        if not found:
            raise ValueError(
                f"unknown scripted agent {name!r}; use scripted:oracle, scripted:degraded:P with 0 < P <= 1 "
                f"or a registered agent ({', '.join(agent_names())})"
            )
        loaded = found[0].load()  # the module may register itself with @register_agent
        _AGENTS.setdefault(agent, loaded)
    factory = _AGENTS[agent]
    try:
        inspect.signature(factory).bind(*args)
        return factory(*args)
    except TypeError:
        takes = ", ".join(inspect.signature(factory).parameters) or "no arguments"
        raise ValueError(f"unknown scripted agent {name!r}: scripted:{agent} takes {takes}") from None
    except ValueError as exc:
        raise ValueError(f"unknown scripted agent {name!r}: {exc}") from None


class ScriptedEngine:
    """Serves scripted agents through the engine interface (no tokens, no cache)."""

    def __init__(self, name: str) -> None:
        self.agent = parse_scripted(name)
        self.name = name

    def generate(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        return [
            Completion(r.conversation_id, self.agent.reply(r.messages, r.sampling.seed), finish_reason="stop")
            for r in requests
        ]

    def end(self, conversation_id: str) -> None:
        pass

    def close(self) -> None:
        pass
