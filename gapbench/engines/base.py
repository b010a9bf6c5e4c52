"""The one interface every generation backend implements.

Engines know nothing about mazes or dialogues: a batch of chat requests goes in, completions come
out. A request's ``conversation_id`` lets an engine keep that conversation's KV cache between calls
(each turn's prompt extends the previous one). The engine owns those caches: it frees one when told
the conversation is over, by ``end`` or by a request marked ``last``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length", "error"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class Sampling:
    max_tokens: int = 256  # always explicit: vLLM silently defaults to 16
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    seed: int | None = None  # per-request seed, so sampled runs are reproducible and resumable
    stop: tuple[str, ...] = ()
    min_tokens: int = 0  # the benchmark forces equal lengths across engines with this


@dataclass(frozen=True)
class ChatRequest:
    conversation_id: str  # stable across turns of one agent's conversation (cache key)
    messages: tuple[ChatMessage, ...]
    sampling: Sampling = field(default_factory=Sampling)
    last: bool = False  # the conversation's final request: nothing is kept for it once answered


@dataclass(frozen=True)
class Completion:
    conversation_id: str
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens served from a cache rather than prefilled
    finish_reason: FinishReason = "stop"
    error: str | None = None  # set when this request failed; the rest of the batch goes on
    retryable: bool = False  # the failure was the server's, not the request's (outage, timeout, 429/5xx)


def cached_fraction(cached_tokens: int, prompt_tokens: int) -> float:
    """The share of prompt tokens served from a cache (0 when there were none): the one cache-hit ratio."""
    return cached_tokens / prompt_tokens if prompt_tokens else 0.0


class EngineError(RuntimeError):
    """A failure that concerns the whole engine (bad spec, missing package, out of memory)."""


@runtime_checkable
class Engine(Protocol):
    name: str

    def generate(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Complete every request; results in request order. Per-request failures come back as
        ``Completion(finish_reason="error", error=...)``, never as an exception."""
        ...

    def end(self, conversation_id: str) -> None:
        """The conversation is over: free what is kept for it (nothing happens for an unknown one)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class TemplatedEngine(Engine, Protocol):
    """An engine that renders chats with a chat template of its own (transformers, vLLM), so it can
    tell whether a chat's shape survives rendering. Engines without one (a server renders, scripted
    agents) take every chat as it comes."""

    def renders(self, messages: Sequence[ChatMessage]) -> bool:
        """True when the template renders ``messages`` without error and keeps every message."""
        ...


@runtime_checkable
class ContinuousEngine(Engine, Protocol):
    """An engine that also batches continuously: requests join the running batch as they come
    (vLLM). The scheduler submits a dialogue's next turn as soon as its previous one finishes,
    instead of waiting for the slowest member of a round."""

    @property
    def in_flight(self) -> int: ...

    def submit(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Queue requests; returns error completions for those that could not be queued."""
        ...

    def poll(self) -> list[Completion]:
        """Advance one step; the completions of requests that finished in it."""
        ...
