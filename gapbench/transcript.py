"""Transcript records: what was said in one dialogue (or one solo attempt), as typed data.

A transcript holds every message, including the intermediary's ``[user]`` instructions (with the
agent they were addressed to), so each agent's prompt can be rebuilt from it exactly; relay runs
continue a stored transcript rather than regenerate it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import ConfigDict

from gapbench.validation import read_record

Speaker = Literal["user", "agent_1", "agent_2"]
DialogueEnd = Literal[
    "acti", "max_turns", "answered", "error", "gave_up", "in_progress", "goal", "wall"
]  # gave_up: a person ended a game (gapbench play); goal, wall: a referee ended it
Condition = Literal["solo_full", "solo_distributed", "collab"]
AGENTS: tuple[Speaker, Speaker] = ("agent_1", "agent_2")


@dataclass(frozen=True)
class Message:
    __pydantic_config__ = ConfigDict(extra="forbid")

    speaker: Speaker
    text: str
    audience: str = "all"  # for "user" messages: which agent it was shown to ("agent_1", "agent_2", "all")
    model: str | None = None  # the model that wrote an agent message
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    finish_reason: str | None = None


@dataclass(frozen=True)
class Transcript:
    __pydantic_config__ = ConfigDict(extra="forbid")

    maze_id: str
    condition: Condition
    agents: tuple[str, ...]  # models seated as agent_1 (speaks first) and agent_2 at the start
    messages: tuple[Message, ...]
    end: DialogueEnd
    prompt_version: str
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # free-form: relay K, scripted seeds, ...

    @property
    def agent_messages(self) -> list[Message]:
        return [m for m in self.messages if m.speaker != "user"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Transcript:
        """A transcript from its JSON form (the reader records use); ValueError names the bad field."""
        if not isinstance(data, dict):
            raise ValueError(f"transcript: expected a JSON object, got {type(data).__name__}")
        try:
            return read_record(cls, data)
        except ValueError as exc:
            raise ValueError(f"transcript: {exc}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Transcript:
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"transcript: not valid JSON ({exc})") from None
        return cls.from_dict(data)
