"""The LLM grader: a third model reads a transcript and writes the route as strict JSON.

As in the study, the grader declares the scheme the agents used and lists, per turn, the cells or
directions, whether each was a move or only considered, and which agent. Only moves count; they
are then normalised under every scheme (the declared one is recorded, not trusted) and walked on
the full maze by the same code as the rule-based extraction.
"""

from __future__ import annotations

import json
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gapbench.engines.base import ChatMessage, ChatRequest, Sampling
from gapbench.grading.extract import Extraction
from gapbench.grading.routes import Step
from gapbench.transcript import Transcript

GRADER_VERSION = "g1"

_INSTRUCTIONS = """You grade a transcript of a maze game. Agents moved through a grid maze by agreeing on moves; solo players wrote a route. Extract the route that was actually taken.

Reply with JSON only, no other text, in exactly this shape:
{"scheme": {"origin": 0 or 1, "orientation": "top_left" | "bottom_left" | "top_right" | "bottom_right", "order": "row_col" | "col_row", "symbols": "number_number" | "letter_letter" | "letter_number" | "number_letter" | "directions"},
 "turns": [{"turn": <message number>, "coordinates": [<first>, <second>] or null, "direction": "up" | "down" | "left" | "right" | null, "type": "move" | "consider", "agent": "agent_1" | "agent_2" | "both"}]}

Rules: list positions in the order they were reached. "move" means the agents committed to the step (for collaboration: both agreed); "consider" means it was only proposed or discussed. Copy coordinates exactly as the agents wrote them (numbers as numbers, letters as letters); do not convert them. For a solo transcript, list only the final route, all as "move" by "agent_1"."""


class _Scheme(BaseModel):
    model_config = ConfigDict(extra="ignore")
    origin: Literal[0, 1] = 0
    orientation: Literal["top_left", "bottom_left", "top_right", "bottom_right"] = "top_left"
    order: Literal["row_col", "col_row"] = "row_col"
    symbols: Literal["number_number", "letter_letter", "letter_number", "number_letter", "directions"] = "number_number"


class _Turn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    turn: int | None = None
    coordinates: list[int | str] | None = Field(default=None, min_length=2, max_length=2)
    direction: Literal["up", "down", "left", "right"] | None = None
    type: Literal["move", "consider"]
    agent: Literal["agent_1", "agent_2", "both"] | None = None


class _GraderOutput(BaseModel):
    model_config = ConfigDict(extra="ignore")
    scheme: _Scheme
    turns: list[_Turn]


def grader_request(transcript: Transcript, conversation_id: str, *, max_tokens: int) -> ChatRequest:
    lines = [
        f"message {i} ({m.speaker}): {m.text}" for i, m in enumerate(transcript.messages) if m.speaker != "user"
    ]
    body = f"Condition: {transcript.condition}\n\nTranscript:\n" + "\n\n".join(lines)
    return ChatRequest(
        conversation_id,
        (ChatMessage("system", _INSTRUCTIONS), ChatMessage("user", body)),
        Sampling(max_tokens=max_tokens, temperature=0.0),
    )


_JSON_BLOCK = re.compile(r"\{.*\}", re.DOTALL)


def parse_grader_output(text: str) -> Extraction:
    """Strict parse: one JSON object (a ```json fence around it is tolerated), validated."""
    match = _JSON_BLOCK.search(text or "")
    if match is None:
        return Extraction((), "llm", error="grader output has no JSON object")
    try:
        parsed = _GraderOutput.model_validate(json.loads(match.group(0)))
    except (json.JSONDecodeError, ValidationError) as exc:
        first = str(exc).splitlines()[0][:200]
        return Extraction((), "llm", error=f"grader output is not valid grader JSON: {first}")
    steps: list[Step] = []
    where: list[int] = []
    for t in parsed.turns:
        if t.type != "move":
            continue
        try:
            if t.coordinates is not None:
                step = Step(*(str(x).strip().upper() for x in t.coordinates))
            elif t.direction is not None:
                step = Step(t.direction)
            else:
                continue
        except ValueError:
            continue  # a malformed cell ends nothing: the walk decides what a bad route is worth
        steps.append(step)
        where.append(t.turn if t.turn is not None else -1)
    return Extraction(tuple(steps), "llm", tuple(where), detail={"declared_scheme": parsed.scheme.model_dump()})
