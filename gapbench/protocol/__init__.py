"""The dialogue protocol: prompts, role flipping and the end of a dialogue.

The protocol turns a transcript into the chat each agent sees next and decides when a dialogue is
over. It knows nothing about engines: the scheduler asks a ``Dialogue`` for the next speaker's
model and chat, generates the reply however it likes, and hands the text back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gapbench.engines.base import ChatMessage
from gapbench.maze import Maze, View
from gapbench.protocol.templates import DEFAULT_TEMPLATES, Layout, Templates, configure, load_templates
from gapbench.transcript import AGENTS, Condition, DialogueEnd, Message, Speaker, Transcript

__all__ = [
    "CONDITIONS",
    "DEFAULT_TEMPLATES",
    "Dialogue",
    "Layout",
    "Templates",
    "chat_for",
    "configure",
    "fit_layout",
    "load_templates",
    "opening_messages",
    "says_done",
]

CONDITIONS: tuple[Condition, ...] = ("solo_full", "solo_distributed", "collab")


def opening_messages(
    condition: Condition, maze: Maze, views: tuple[View, View], *, max_turns: int, templates: Templates
) -> list[Message]:
    """The intermediary's first ``[user]`` message(s): each agent's instructions with its map."""
    t = templates
    look = dict(spaced=t.map_style == "spaced", labels=t.map_labels)
    if condition == "collab":
        return [
            Message("user", t.fill("collab", map=view.render(**look), max_turns=max_turns), audience=agent)
            for agent, view in zip(AGENTS, views)
        ]
    if condition == "solo_full":
        return [
            Message(
                "user", t.fill("solo_full", map=maze.render(**look), max_turns=max_turns), audience="agent_1"
            )
        ]
    if condition == "solo_distributed":
        maps = dict(map_1=views[0].render(**look), map_2=views[1].render(**look))
        return [Message("user", t.fill("solo_distributed", max_turns=max_turns, **maps), audience="agent_1")]
    raise ValueError(f"unknown condition {condition!r}; expected one of {', '.join(CONDITIONS)}")


def chat_for(
    messages: Sequence[Message],
    agent: Speaker,
    templates: Templates,
    *,
    relayed: bool = True,
    layout: Layout | None = None,
) -> tuple[ChatMessage, ...]:
    """What ``agent`` sees: its own messages as assistant turns, everything else as user turns
    (prefixed ``[user]:`` or ``[other agent]:``). ``layout`` (default: the templates') says what
    happens to consecutive user turns, as for the second speaker's task and its partner's first
    message: ``separate`` keeps them apart, as the study did; ``merged`` joins them into one, for
    chat templates that require user and assistant turns to alternate.

    ``relayed=False`` (solo conditions: one model, one prompt) drops the intermediary's system
    message and the prefixes, which only make sense when a partner exists."""
    merged = (layout or templates.layout) == "merged"
    chat: list[ChatMessage] = [ChatMessage("system", templates.system)] if relayed else []
    for m in messages:
        if m.speaker == agent:
            chat.append(ChatMessage("assistant", m.text))
            continue
        if m.speaker == "user":
            if m.audience not in ("all", agent):
                continue
            text = templates.user_prefix + m.text if relayed else m.text
        else:
            text = templates.partner_prefix + m.text
        if merged and chat and chat[-1].role == "user":
            chat[-1] = ChatMessage("user", chat[-1].content + "\n\n" + text)
        else:
            chat.append(ChatMessage("user", text))
    return tuple(chat)


def fit_layout(templates: Templates, renders: Callable[[Sequence[ChatMessage]], bool] | None) -> Layout:
    """The layout a model gets: the templates' own, unless it is ``separate`` and the model's chat
    template cannot render two user turns in a row (``renders`` says so for the second speaker's first
    chat); then ``merged``. ``renders=None``: no local template to ask (a server renders; scripted agents)."""
    if templates.layout == "merged" or renders is None:
        return templates.layout
    probe = [Message("user", "The task.", audience="agent_2"), Message("agent_1", "The first message.")]
    return "separate" if renders(chat_for(probe, "agent_2", templates, layout="separate")) else "merged"


class Environment(Protocol):
    """What enforces the rules during a dialogue (the referee); the study had none."""

    end: str | None  # set once the game is over: goal, wall or off_grid

    def observe(
        self, transcript: Transcript
    ) -> str | None: ...  # after an agent message: a [user] note for both agents

    def summary(self) -> dict[str, Any]: ...  # kept in the transcript's meta


def says_done(text: str, templates: Templates) -> bool:
    """True when a message contains the completion phrase (any capitalisation)."""
    return re.search(re.escape(templates.completion_phrase), text, re.IGNORECASE) is not None


@dataclass
class Dialogue:
    """One dialogue in progress. Mutable on purpose: the scheduler appends replies as they come.

    ``seats`` are the models of agent_1 (speaks first) and agent_2. With ``relay = (k, seats_after)``
    the seats change once ``k`` agent messages exist (relay inference).
    """

    maze_id: str
    condition: Condition
    seats: tuple[str, ...]
    max_turns: int
    templates: Templates
    messages: list[Message]
    relay: tuple[int, tuple[str, ...]] | None = None
    layouts: dict[str, Layout] = field(default_factory=dict)  # per model, where not the templates' own
    end: DialogueEnd = "in_progress"
    error: str | None = None
    meta: dict = field(default_factory=dict)
    environment: Environment | None = None  # the referee, in the referee condition

    @classmethod
    def start(
        cls,
        *,
        maze: Maze,
        views: tuple[View, View],
        condition: Condition,
        seats: tuple[str, ...],
        max_turns: int = 50,
        templates: Templates | None = None,
        relay: tuple[int, tuple[str, ...]] | None = None,
        prefix: Transcript | None = None,
        meta: dict | None = None,
        layouts: dict[str, Layout] | None = None,
        environment: Environment | None = None,
    ) -> Dialogue:
        """A new dialogue, or (``prefix``) one continuing the first turns of a stored transcript."""
        templates = templates or load_templates()
        want_seats = 2 if condition == "collab" else 1
        if len(seats) != want_seats:
            raise ValueError(f"{condition} needs {want_seats} model(s) in seats, got {len(seats)}")
        if max_turns < 1:
            raise ValueError(f"max_turns must be >= 1, got {max_turns}")
        if relay is not None and not 0 < relay[0] < max_turns:
            raise ValueError(f"relay K={relay[0]} must be between 1 and max_turns-1={max_turns - 1}")
        if prefix is not None:
            if prefix.maze_id != maze.id or prefix.condition != condition:
                raise ValueError("prefix transcript is for another maze or condition")
            messages = list(prefix.messages)
        else:
            messages = opening_messages(condition, maze, views, max_turns=max_turns, templates=templates)
        dialogue = cls(
            maze.id,
            condition,
            tuple(seats),
            max_turns,
            templates,
            messages,
            relay,
            dict(layouts or {}),
            meta=dict(meta or {}),
            environment=environment,
        )
        dialogue._update_end()
        return dialogue

    @property
    def turns(self) -> int:
        return sum(m.speaker != "user" for m in self.messages)

    @property
    def done(self) -> bool:
        return self.end != "in_progress"

    def speaker(self) -> Speaker:
        if self.condition != "collab":
            return "agent_1"
        return AGENTS[self.turns % 2]

    def model(self) -> str:
        """The model that writes the next message (after the relay swap, the new one)."""
        seats = self.seats
        if self.relay is not None and self.turns >= self.relay[0]:
            seats = self.relay[1]
        return seats[AGENTS.index(self.speaker())]

    def layout(self, model: str) -> Layout:
        return self.layouts.get(model, self.templates.layout)

    def chat(self) -> tuple[ChatMessage, ...]:
        relayed = self.condition == "collab"
        return chat_for(
            self.messages, self.speaker(), self.templates, relayed=relayed, layout=self.layout(self.model())
        )

    def add_reply(self, text: str, **stats: object) -> None:
        """Record the next speaker's message (``stats``: token counts, finish reason)."""
        if self.done:
            raise RuntimeError(f"dialogue on maze {self.maze_id} already ended ({self.end})")
        self.messages.append(Message(self.speaker(), text, model=self.model(), **stats))  # type: ignore[arg-type]
        if self.condition != "collab" and self.turns == 1:
            self.messages.append(Message("user", self.templates.critic, audience="agent_1"))
        if self.environment is not None:
            note = self.environment.observe(self.transcript())
            if note is not None:
                self.messages.append(Message("user", note, audience="all"))
            if self.environment.end is not None:
                self.end = "goal" if self.environment.end == "goal" else "wall"
                return
        self._update_end()

    def fail(self, error: str) -> None:
        self.end, self.error = "error", error

    def give_up(self) -> None:
        """A person playing a seat ends the game before the goal (gapbench play)."""
        if not self.done:
            self.end = "gave_up"

    def _update_end(self) -> None:
        agent_msgs = [m for m in self.messages if m.speaker != "user"]
        if self.condition != "collab":
            if len(agent_msgs) >= 2:
                self.end = "answered"
        elif agent_msgs and says_done(agent_msgs[-1].text, self.templates):
            self.end = "acti"
        elif len(agent_msgs) >= self.max_turns:
            self.end = "max_turns"

    def transcript(self) -> Transcript:
        """The dialogue as a record; a collaboration's ``meta["layout"]`` says each model's layout."""
        meta = dict(self.meta)
        if self.condition == "collab":
            models = dict.fromkeys((*self.seats, *(self.relay[1] if self.relay else ())))
            meta["layout"] = {m: self.layout(m) for m in models}
        if self.environment is not None:
            meta["referee"] = self.environment.summary()
        return Transcript(
            maze_id=self.maze_id,
            condition=self.condition,
            agents=self.seats,
            messages=tuple(self.messages),
            end=self.end,
            prompt_version=self.templates.version,
            error=self.error,
            meta=meta,
        )
