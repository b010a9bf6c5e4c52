"""The bench's workload (what every engine runs) and one engine's measured pass over it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gapbench.engines.base import ChatRequest, cached_fraction
from gapbench.jobs import DialogueJob
from gapbench.registry import DEFAULT_MODEL

ENGINES: dict[str, str] = {
    "a": "naive HF generate, batch 1, no reuse",
    "b": "transformers engine, batched, KV reuse",
    "b0": "transformers engine, no KV reuse",
    "c": "vLLM engine, prefix cache",
    "c_raw": "raw vLLM: all prompts, one generate",
}
MODEL_KEY = "bench"  # the one model key of the bench's experiment config
NEVER_SAID = "\x00gapbench-bench-no-completion-phrase\x00"


@dataclass(frozen=True)
class Workload:
    """What every engine runs. The baseline may run only the first ``baseline_dialogues``."""

    model: str = DEFAULT_MODEL
    dialogues: int = 32
    turns: int = 10
    max_tokens: int = 96
    maze_size: int = 6
    seed: int = 0
    dtype: str | None = None  # default: the model card's
    device: str | None = None  # default: cuda when available, else cpu
    batch_size: int | None = None  # transformers engine; default: all dialogues in one batch
    baseline_dialogues: int | None = 4  # None: all
    raw_vllm: bool = False

    def __post_init__(self) -> None:
        if min(self.dialogues, self.turns, self.max_tokens) < 1:
            raise ValueError("dialogues, turns and max tokens must be at least 1")
        if self.baseline_dialogues is not None and not self.baseline_dialogues >= 1:
            raise ValueError("--baseline-dialogues must be at least 1")

    @property
    def baseline_count(self) -> int:
        return min(self.dialogues, self.baseline_dialogues or self.dialogues)


@dataclass(frozen=True)
class DecodeBound:
    """Pure decode speed of the model: ``batch`` rows stepping over a warm ``context``-token cache."""

    batch: int
    context: int
    steps: int
    tokens_per_s: float


@dataclass
class EngineRun:
    """One engine's pass over the workload; ``error`` says why there are no figures."""

    engine: str
    label: str
    dialogues: int = 0
    replies: int = 0
    seconds: float = 0.0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    prefilled_tokens: int = 0
    generated_tokens: int = 0
    peak_rss_mib: float | None = None
    peak_child_rss_mib: float | None = None  # vLLM's engine-core and worker processes, summed
    peak_cuda_mib: float | None = None
    load_seconds: float = 0.0
    bound: DecodeBound | None = None
    error: str | None = None

    @property
    def dialogues_per_hour(self) -> float:
        return 3600 * self.dialogues / self.seconds if self.seconds else 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.generated_tokens / self.seconds if self.seconds else 0.0

    @property
    def cached_fraction(self) -> float:
        return cached_fraction(self.cached_tokens, self.prompt_tokens)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineRun:
        """A run as a worker of this same gapbench wrote it (an unknown key is a TypeError)."""
        bound = data.get("bound")
        return cls(**{**data, "bound": DecodeBound(**bound) if bound else None})


@dataclass
class BenchJob(DialogueJob):
    """A `DialogueJob` whose replies are all exactly ``max_tokens`` long; ``sent`` keeps every request
    it made (the chats raw vLLM replays)."""

    sent: list[ChatRequest] = field(default_factory=list)

    def request(self) -> ChatRequest:
        request = super().request()
        request = replace(request, sampling=replace(request.sampling, min_tokens=request.sampling.max_tokens))
        self.sent.append(request)
        return request


def build_jobs(w: Workload, count: int | None = None) -> list[BenchJob]:
    """The workload's dialogues (the first ``count``), fresh: the same prompts for every engine.

    The opening messages come from the v1 templates (the prompts docs/PERFORMANCE.md was measured
    with); the dialogue itself gets a copy whose completion phrase is never said, so it ends at
    ``turns`` only, whichever engine's greedy text would have said it."""
    from gapbench.protocol import Dialogue, opening_messages
    from gapbench.study import GeneratedMazes, ProtocolConfig, SamplingConfig, Study, load_mazes, plan

    config = Study(
        name="bench",
        seed=w.seed,
        models={MODEL_KEY: w.model},
        conditions=["collab"],
        max_turns=max(w.turns, 2),
        mazes=[GeneratedMazes(size=w.maze_size, count=w.dialogues, seed=w.seed)],
        sampling=SamplingConfig(temperature=0.0, max_tokens=w.max_tokens),
        protocol=ProtocolConfig(templates="v1"),
    )
    mazes = {m.id: m for m in load_mazes(config, Path.cwd())}
    if len(mazes) < w.dialogues:
        raise ValueError(
            f"only {len(mazes)} distinct {w.maze_size}x{w.maze_size} mazes for {w.dialogues} dialogues; use larger mazes"
        )
    v1 = config.protocol.load()
    endless = replace(v1, completion_phrase=NEVER_SAID)
    jobs = []
    for dialogue_spec in plan(config, list(mazes))[: count or w.dialogues]:
        item = mazes[dialogue_spec.maze_id]
        opening = opening_messages("collab", item.maze, item.views, max_turns=w.turns, templates=v1)
        dialogue = Dialogue(item.maze.id, "collab", dialogue_spec.seats, w.turns, endless, opening)
        jobs.append(BenchJob(dialogue_spec, item, dialogue, config))
    return jobs


def tally(run: EngineRun, jobs: list[BenchJob], w: Workload) -> EngineRun:
    """``run`` with the jobs' counts, once every dialogue ran all its turns with full-length replies."""
    replies = []
    for job in jobs:
        d = job.dialogue
        if d.error or d.turns != w.turns:
            raise RuntimeError(
                f"dialogue {job.spec.id} ended after {d.turns} of {w.turns} turns: {d.error or d.end}"
            )
        for m in d.messages:
            if m.speaker == "user":
                continue
            if m.completion_tokens != w.max_tokens:
                raise RuntimeError(
                    f"dialogue {job.spec.id}: a reply has {m.completion_tokens} tokens, not the forced {w.max_tokens}"
                )
            replies.append(m)
    run.dialogues = len(jobs)
    run.replies = len(replies)
    run.prompt_tokens = sum(m.prompt_tokens or 0 for m in replies)
    run.cached_tokens = sum(m.cached_tokens or 0 for m in replies)
    run.generated_tokens = sum(m.completion_tokens or 0 for m in replies)
    run.prefilled_tokens = run.prompt_tokens - run.cached_tokens
    return run
