"""The LLM grader: a third model reads a transcript and writes the route as a structured object.

As in the study, the grader declares the scheme the agents used and lists, per turn, the cells or
directions, whether each was a move or only considered, and which agent. Only moves count. The
steps then go through the same interpretation and walk as the rule extractor's (``validate``); the
declared scheme is recorded and breaks ties in the ``consistent`` reading, but is not trusted.

The reply may be JSON or YAML (the study's grader wrote YAML), in a code fence or not. Parsing is
linear in the reply and never raises.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from gapbench.engines.base import ChatMessage, ChatRequest, Engine, Sampling
from gapbench.grading.extract import Extraction
from gapbench.grading.routes import parse_route
from gapbench.grading.schemes import Scheme, Step
from gapbench.grading.text import normalise
from gapbench.transcript import Transcript

GRADER_VERSION = "llm-3"

INSTRUCTIONS = """You grade a transcript of a maze game. Two agents (agent_1 and agent_2) each saw part of a grid maze and talked until they reached the goal, said ACTI!, or ran out of turns. A move happened only when BOTH agents agreed to it (one proposed a concrete move and the other accepted it, or both stated the same move). A solo player instead wrote one route as its answer.

Your job: write down the route that was actually taken, turn by turn, exactly as the agents wrote it. Reply with a single YAML (or JSON) object and nothing else, with these keys:

maze_origin: 0 or 1. Is the first row/column numbered 0 or 1? (1 if the agents call the start cell (1, 1) or A1, or name cells by ordinal words such as "second row, third column".)
maze_orientation: which corner the agents treat as (0, 0) (or (1, 1)): top_left (rows counted downwards from the top, the usual reading of a printed map), bottom_left (y grows upwards, as in maths), top_right or bottom_right.
coordinates_orientation: row_col if the first coordinate is the row (e.g. "(row 2, col 3)", "r2c3", "second row, third column"), col_row if the first coordinate is the column (e.g. "(x, y)").
coordinates_symbols: number_number for (1, 2); letter_letter for (A, B); letter_number for A1 or (A, 1); number_letter for 1A or (1, A); directions when the agents moved by up, down, left, right.
If the transcript never shows a convention, give maze_origin: 0, maze_orientation: top_left, coordinates_orientation: row_col.
route: a list with one entry for EVERY agent message, in order:
  - turn: the message number shown in the transcript
    coordinates: the cell(s) or direction(s) of this turn: a list of pairs such as [[1, 2]] or [["A", 3]], copied as written, or a list of directions such as ["down"]; [] if the message names none
    turn_type: move if this turn completes the agreement on a move (the move is executed now), consider if the cell or direction was only proposed, discussed, asked about, rejected, or is a statement of the current position
    agent: agent_1, agent_2, or both (both when the move was agreed by both)

Rules:
- One entry per step: "down twice" is ["down", "down"]; "right three times to (2, 4)" is ["right", "right", "right"]. Never add a cell that the transcript does not write: a jump between cells that are far apart stays a jump. Write arrows, emoji arrows, U/D/L/R, compass words (north = up, south = down, west = left, east = right) and other languages as up, down, left or right.
- Keep one form for the whole route: coordinates or directions, whichever the agents used most; mix them only if unavoidable.
- Copy coordinates as written (numbers as numbers, letters as letters); do not convert them to another scheme.
- A message that completes one move and proposes the next is a move entry for the completed move; the new proposal becomes a move when the partner accepts it.
- If the partner accepts only part of a plan ("just the first two"), the move is only that part. Narrating or restating a move already agreed ("Executing: down, down", "Moved down") is consider, so no move is counted twice.
- A position statement ("we are at (2, 2)") is not a move: record it as consider. Questions, proposals that the other agent rejects, negated moves ("we can't go left") and hypothetical moves ("if we went right") are consider. A conditional acceptance ("yes, if it is open for you") is a move once the condition is confirmed.
- An agreed multi-step plan ("right, right, down" - "agreed") is one move turn with all its steps.
- You cannot see the maze: record every agreed move, including one that the agents later find runs into a wall; the route is walked on the full maze afterwards, and the walk stops at the first wall or at the goal.
- For a solo transcript, the route has one entry: the final proposed route (the answer after the review, or the first answer if the final one gives none), as move by agent_1, with the turn of the message that writes it out and all its cells or directions (include the start cell if the answer lists it). If the answer gives no route at all, reply with route: [] and coordinates_symbols: directions.

Example (YAML):
maze_origin: 0
maze_orientation: top_left
coordinates_orientation: row_col
coordinates_symbols: number_number
route:
  - {turn: 0, coordinates: [[0, 1]], turn_type: consider, agent: agent_1}
  - {turn: 1, coordinates: [[0, 1]], turn_type: move, agent: both}
  - {turn: 2, coordinates: [[1, 1]], turn_type: consider, agent: agent_1}
  - {turn: 3, coordinates: [], turn_type: consider, agent: agent_2}"""


def grader_request(transcript: Transcript, conversation_id: str, *, max_tokens: int) -> ChatRequest:
    lines = [
        f"message {i} ({m.speaker}): {m.text}"
        for i, m in enumerate(transcript.messages)
        if m.speaker != "user"
    ]
    body = f"Condition: {transcript.condition}\n\nTranscript:\n" + "\n\n".join(lines)
    return ChatRequest(
        conversation_id,
        (ChatMessage("system", INSTRUCTIONS), ChatMessage("user", body)),
        Sampling(max_tokens=max_tokens, temperature=0.0),
        last=True,  # one request a transcript: the engine keeps nothing for it
    )


class _Turn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    turn: int | None = None
    coordinates: list[Any] = []
    turn_type: Literal["move", "consider"]
    agent: str | None = None

    @field_validator("coordinates", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        if v is None:
            return []
        if isinstance(v, (str, int)):
            return [v]
        if (
            isinstance(v, list)
            and len(v) == 2
            and all(isinstance(x, (int, str)) for x in v)
            and not any(isinstance(x, str) and x.strip().lower() in _DIRECTIONS for x in v)
        ):
            return [v]  # one pair written flat: [1, 2]
        return v


class _Output(BaseModel):
    model_config = ConfigDict(extra="ignore")
    maze_origin: Literal[0, 1] = 0
    maze_orientation: Literal["top_left", "bottom_left", "top_right", "bottom_right"] = "top_left"
    coordinates_orientation: Literal["row_col", "col_row"] = "row_col"
    coordinates_symbols: str | None = None
    route: list[_Turn]


_DIRECTIONS = {"up", "down", "left", "right", "north", "south", "east", "west", "u", "d", "l", "r"}
_FENCE = re.compile(r"```[ \t]*(?:json|yaml|yml)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_MAX_REPLY = 2_000_000


def _load(text: str) -> Any:
    """The reply's object: the first JSON object in ``text`` if it holds a route, else the text as
    YAML (whose route entries may be JSON-style flow mappings, ``{"turn": 0, ...}``: the first
    brace is then not the object), else that JSON object; None if nothing parses."""
    fence = _FENCE.search(text)
    body = fence.group(1) if fence else text
    first: Any = None
    brace = body.find("{")
    if brace >= 0:
        try:
            first = json.JSONDecoder().raw_decode(body, brace)[0]
        except (ValueError, RecursionError):
            pass
        if isinstance(first, dict) and ("route" in first or "turns" in first):
            return first
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        whole = yaml.load(body, Loader=loader)
    except (yaml.YAMLError, RecursionError, ValueError):
        whole = None
    return whole if isinstance(whole, dict) else first if first is not None else whole


def _legacy(data: dict) -> dict:
    """Accept the first grader format ({"scheme": {...}, "turns": [...]}) as well."""
    raw_scheme, raw_turns = data.get("scheme"), data.get("turns")
    scheme: dict = raw_scheme if isinstance(raw_scheme, dict) else {}
    turns: list = raw_turns if isinstance(raw_turns, list) else []
    route = []
    for t in turns:
        if isinstance(t, dict):
            coords = (
                [t["coordinates"]]
                if t.get("coordinates") is not None
                else ([t["direction"]] if t.get("direction") else [])
            )
            route.append(
                {
                    "turn": t.get("turn"),
                    "coordinates": coords,
                    "turn_type": t.get("type"),
                    "agent": t.get("agent"),
                }
            )
    return {
        "maze_origin": scheme.get("origin", 0),
        "maze_orientation": scheme.get("orientation", "top_left"),
        "coordinates_orientation": scheme.get("order", "row_col"),
        "coordinates_symbols": scheme.get("symbols"),
        "route": route,
    }


def _steps(item: Any) -> list[Step]:
    """One entry of ``coordinates``: a pair, a direction, or a string holding either."""
    if (
        isinstance(item, list)
        and len(item) == 2
        and all(isinstance(x, (int, str)) and not isinstance(x, bool) for x in item)
    ):
        try:
            first, second = (normalise(str(x)).strip().upper() for x in item)
            return [Step(first, second)]
        except ValueError:
            return []
    if isinstance(item, str):
        return parse_route(item)
    return []


def parse_grader_output(text: object) -> Extraction:
    """Parse the grader's reply (JSON or YAML, fenced or not) into an extraction. Never raises."""
    if not isinstance(text, str) or not text.strip():
        return Extraction((), "llm", error="grader output is empty", version=GRADER_VERSION)
    data = _load(text[:_MAX_REPLY])
    if not isinstance(data, dict):
        return Extraction((), "llm", error="grader output has no YAML or JSON object", version=GRADER_VERSION)
    if "route" not in data and "turns" in data and isinstance(data.get("scheme"), dict):
        data = _legacy(data)
    try:
        parsed = _Output.model_validate(data)
    except (ValidationError, RecursionError) as exc:
        first = str(exc).splitlines()[0][:200]
        return Extraction(
            (), "llm", error=f"grader output does not follow the schema: {first}", version=GRADER_VERSION
        )
    steps: list[Step] = []
    where: list[int] = []
    for t in parsed.route:
        if t.turn_type != "move":
            continue
        for item in t.coordinates:
            for step in _steps(item):
                steps.append(step)
                where.append(t.turn if t.turn is not None else -1)
    declared = Scheme(parsed.maze_origin, parsed.maze_orientation, parsed.coordinates_orientation)
    detail = {
        "declared_scheme": {
            "origin": declared.origin,
            "corner": declared.corner,
            "order": declared.order,
            "symbols": parsed.coordinates_symbols,
        }
    }
    return Extraction(tuple(steps), "llm", tuple(where), detail=detail, version=GRADER_VERSION)


def declared_scheme(extraction: Extraction) -> Scheme | None:
    d = extraction.detail.get("declared_scheme")
    try:
        return Scheme(d["origin"], d["corner"], d["order"]) if isinstance(d, dict) else None
    except (KeyError, TypeError):
        return None


_IDS = itertools.count()


def extractor(
    engine: Engine, *, max_tokens: int = 1024, batch_size: int = 16
) -> Callable[[Sequence[Transcript]], list[Extraction]]:
    """Grade transcripts with a grader model behind any engine, ``batch_size`` requests at a time.
    A failed request becomes that transcript's extraction error."""

    def run(transcripts: Sequence[Transcript]) -> list[Extraction]:
        out: list[Extraction] = []
        for start in range(0, len(transcripts), batch_size):
            requests = [
                grader_request(t, f"grade/{next(_IDS)}", max_tokens=max_tokens)
                for t in transcripts[start : start + batch_size]
            ]
            for c in engine.generate(requests):
                out.append(
                    Extraction((), "llm", error=f"grader failed: {c.error}", version=GRADER_VERSION)
                    if c.error
                    else parse_grader_output(c.text)
                )
        return out

    return run
