"""Transcript records: what was said in one dialogue (or one solo attempt), as typed data.

A transcript holds every message, including the intermediary's ``[user]`` instructions (with the
agent they were addressed to), so each agent's prompt can be rebuilt from it exactly; relay runs
continue a stored transcript rather than regenerate it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Speaker = Literal["user", "agent_1", "agent_2"]
EndReason = Literal[
    "acti", "max_turns", "answered", "error", "gave_up", "in_progress", "goal", "wall"
]  # gave_up: a person ended a game (gapbench play); goal, wall: a referee ended it
Condition = Literal["solo_full", "solo_distributed", "collab"]
AGENTS: tuple[Speaker, Speaker] = ("agent_1", "agent_2")


@dataclass(frozen=True)
class Message:
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
    maze_id: str
    condition: Condition
    agents: tuple[str, ...]  # models seated as agent_1 (speaks first) and agent_2 at the start
    messages: tuple[Message, ...]
    end: EndReason
    prompt_version: str
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # free-form: relay K, scripted seeds, ...

    @property
    def agent_messages(self) -> list[Message]:
        return [m for m in self.messages if m.speaker != "user"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        """Rebuild a transcript, naming the field that is missing or malformed."""
        if not isinstance(data, dict):
            raise ValueError(f"transcript: expected a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        missing = {"maze_id", "condition", "agents", "messages", "end", "prompt_version"} - data.keys()
        if missing:
            raise ValueError(f"transcript: missing field(s) {sorted(missing)}")
        messages = data["messages"]
        if not isinstance(messages, list):
            raise ValueError("transcript: field 'messages' must be a list")
        msg_fields = {f.name for f in fields(Message)}
        parsed = []
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or "speaker" not in m or not isinstance(m.get("text"), str):
                raise ValueError(f"transcript: messages[{i}] needs 'speaker' and a string 'text'")
            if m["speaker"] not in ("user", *AGENTS):
                raise ValueError(
                    f"transcript: messages[{i}].speaker is {m['speaker']!r}; expected user, agent_1 or agent_2"
                )
            parsed.append(Message(**{k: v for k, v in m.items() if k in msg_fields}))
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs.update(messages=tuple(parsed), agents=tuple(data["agents"]))
        return cls(**kwargs)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Transcript:
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"transcript: not valid JSON ({exc})") from None
        return cls.from_dict(data)
