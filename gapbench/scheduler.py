"""The scheduler: advances many conversations at once, batching their pending turns per engine.

It knows neither the prompts' wording nor grading: a job is anything that can say which model
speaks next, what that model sees, and take the reply. Each round it groups the pending turns of
all active jobs by model and sends each group to its engine as one batch; a finished job frees its
slot at once, tells the engines its conversations are over (they free their caches), and may hand
back follow-up jobs (a grading request, relay branches) that start in the next round.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from gapbench.engines.base import ChatRequest, Completion, ContinuousEngine, Engine, cached_fraction


class Job(Protocol):
    @property
    def done(self) -> bool: ...

    def model(self) -> str: ...  # key into the engines mapping

    def request(self) -> ChatRequest: ...  # the next turn's request

    def take(self, completion: Completion) -> None: ...  # the reply (or error) to that request

    # Once done: tell the engines its conversations are over (each engine frees its own caches).
    def end(self, engines: Mapping[str, Engine]) -> None: ...


J = TypeVar("J", bound=Job)


@dataclass
class Throughput:
    """Running totals shown on the progress bar and returned at the end."""

    started: float
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0

    def add(self, c: Completion) -> None:
        self.prompt_tokens += c.prompt_tokens
        self.cached_tokens += c.cached_tokens
        self.completion_tokens += c.completion_tokens
        self.requests += 1

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @property
    def cached_fraction(self) -> float:
        return cached_fraction(self.cached_tokens, self.prompt_tokens)

    def postfix(self) -> str:
        rate = self.completion_tokens / self.elapsed if self.elapsed > 0 else 0.0
        return f"{rate:.0f} tok/s, {100 * self.cached_fraction:.0f}% prompt cached"


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text every record can hold: lone surrogates (from a server's JSON escapes) become U+FFFD.
    (A Python str holds code points, so any surrogate in one is unpaired.)"""
    return _SURROGATE.sub("\ufffd", text)


def clean(c: Completion) -> Completion:
    """A completion whose text and error can be written as UTF-8 (sanitised on intake, once)."""
    text, error = clean_text(c.text), c.error and clean_text(c.error)
    return c if (text, error) == (c.text, c.error) else replace(c, text=text, error=error)


def run_jobs(
    jobs: Iterable[J],
    engines: Mapping[str, Engine],
    *,
    max_concurrent: int,
    on_finish: Callable[[J], Iterable[J]],
    on_round: Callable[[Throughput], None] | None = None,
) -> Throughput:
    """Run ``jobs`` (and the follow-ups ``on_finish`` returns) to completion.

    Continuous engines (vLLM) get each pending turn as soon as it is pending and are stepped one
    engine step at a time, so a dialogue whose reply is done speaks again at once. Other engines
    (transformers, HTTP, scripted) get one batch per round with every pending turn of their model.
    Follow-ups go to the front of the queue so that finished dialogues reach their results (and
    relay bases their branches) before new dialogues start. An exception from an engine (as
    opposed to a per-request error completion) stops the run: what was finished is already saved.
    """
    queue: deque[J] = deque(jobs)
    active: list[J] = []
    # (engine, conversation id) -> the job whose request is in flight there. Keyed by engine, not
    # model name: model keys that name the same model share one engine.
    waiting: dict[tuple[int, str], J] = {}
    stats = Throughput(time.perf_counter())
    continuous = {id(e): e for e in engines.values() if isinstance(e, ContinuousEngine)}

    def deliver(engine: Engine, completions: Iterable[Completion]) -> None:
        for completion in completions:
            stats.add(completion)
            waiting.pop((id(engine), completion.conversation_id)).take(clean(completion))

    while queue or active:
        while queue and len(active) < max_concurrent:
            active.append(queue.popleft())
        busy = {id(job) for job in waiting.values()}
        groups: dict[str, list[tuple[J, ChatRequest]]] = defaultdict(list)
        for job in active:
            if not job.done and id(job) not in busy:
                groups[job.model()].append((job, job.request()))
        for model, members in groups.items():
            engine = engines[model]
            waiting.update(((id(engine), request.conversation_id), job) for job, request in members)
            requests = [request for _, request in members]
            if id(engine) in continuous:
                deliver(engine, continuous[id(engine)].submit(requests))
            else:
                deliver(engine, engine.generate(requests))
        for engine in continuous.values():
            if engine.in_flight:
                deliver(engine, engine.poll())
        still: list[J] = []
        for job in active:
            if not job.done:
                still.append(job)
                continue
            job.end(engines)
            queue.extendleft(reversed(list(on_finish(job))))
        active = still
        if on_round is not None:
            on_round(stats)
    return stats
