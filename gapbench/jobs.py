"""The jobs of a run: dialogues, their grading requests and relay branches, and the record a
finished dialogue becomes.

The scheduler advances jobs without knowing what they are; a finished job says itself what follows
it (`finish`): a grading request, the relay branches it is the base of, or its record.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from gapbench.engines.base import ChatRequest, Completion, Engine, Sampling
from gapbench.grading.extract import Extraction
from gapbench.grading.llm import grader_request, parse_grader_output
from gapbench.grading.record import grade_transcript
from gapbench.mazeset import MazeItem
from gapbench.protocol import Dialogue, Layout, Templates
from gapbench.protocol.interventions import load_overlay, overlay_name
from gapbench.referee import REFEREE_METHOD, Referee, referee_extraction
from gapbench.results import RECORD_FORMAT, DialogueRecord
from gapbench.study import DialogueSpec, LLMGraderConfig, Study
from gapbench.transcript import AGENTS, Transcript


def _turn_seed(spec: DialogueSpec, turn: int) -> int:
    return int(hashlib.sha256(f"{spec.seed}:{spec.id}:{turn}".encode()).hexdigest()[:8], 16)


@dataclass
class DialogueJob:
    """One dialogue of the plan, turn by turn: each agent's model sees its own conversation."""

    spec: DialogueSpec
    maze: MazeItem
    dialogue: Dialogue
    config: Study
    started: float = field(default_factory=time.time)
    transient: str | None = None  # a retryable engine failure ended it: not a result

    @property
    def done(self) -> bool:
        return self.dialogue.done

    def model(self) -> str:
        return self.dialogue.model()

    def request(self) -> ChatRequest:
        model, speaker = self.dialogue.model(), self.dialogue.speaker()
        s = self.config.sampling
        sampling = Sampling(
            max_tokens=s.max_tokens,
            temperature=s.temperature,
            top_p=s.top_p,
            seed=_turn_seed(self.spec, self.dialogue.turns),
        )
        return ChatRequest(self._conversation(speaker, model), self.dialogue.chat(), sampling)

    def take(self, c: Completion) -> None:
        if c.error:
            self.transient = c.error if c.retryable else None
            self.dialogue.fail(f"{self.dialogue.model()}: {c.error}")
        else:
            self.dialogue.add_reply(
                c.text,
                prompt_tokens=c.prompt_tokens,
                completion_tokens=c.completion_tokens,
                cached_tokens=c.cached_tokens,
                finish_reason=c.finish_reason,
            )

    def end(self, engines: Mapping[str, Engine]) -> None:
        """Tell the engines that every conversation of this dialogue is over (each agent's, with
        each model it had: relay swaps one). Seats no engine serves (a person's) have none."""
        seatings = [self.spec.seats, *([self.spec.relay_after] if self.spec.relay_after else [])]
        for seats in seatings:
            for speaker, model in zip(AGENTS, seats):
                if model in engines:
                    engines[model].end(self._conversation(speaker, model))

    def finish(self, run: RunContext) -> list[RunJob]:
        """Its grading request and relay branches, or its record when the rule grader is the grader."""
        if self.transient:
            run.deferred.append(f"{self.spec.id}: {self.transient}")
            return []  # not recorded, and its relay branches wait for it: a rerun retries them
        follow: list[RunJob] = []
        if self.spec.base_id is None:
            follow += run.branches(self.spec.id, self.dialogue.transcript())
        if run.grader is not None:
            return [GradingJob(self, run.grader.model, run.grader.max_tokens), *follow]
        run.record(self, None)
        return follow

    def _conversation(self, speaker: str, model: str) -> str:
        return f"{self.spec.id}/{speaker}/{model}"


@dataclass
class GradingJob:
    """One request to the LLM grader for a finished dialogue."""

    source: DialogueJob
    grader: str
    max_tokens: int
    extraction: Extraction | None = None
    transient: str | None = None

    @property
    def done(self) -> bool:
        return self.extraction is not None

    def model(self) -> str:
        return self.grader

    def request(self) -> ChatRequest:
        return grader_request(
            self.source.dialogue.transcript(), f"grade/{self.source.spec.id}", max_tokens=self.max_tokens
        )

    def take(self, c: Completion) -> None:
        self.transient = c.error if c.retryable else None
        self.extraction = (
            Extraction((), "llm", error=f"grader failed: {c.error}")
            if c.error
            else parse_grader_output(c.text)
        )

    def end(self, engines: Mapping[str, Engine]) -> None:
        """Nothing to end: its one request was its conversation's last (`ChatRequest.last`)."""

    def finish(self, run: RunContext) -> list[RunJob]:
        if self.transient:
            run.deferred.append(f"{self.source.spec.id} (grading): {self.transient}")
        else:
            run.record(self.source, self.extraction)
        return []


RunJob = DialogueJob | GradingJob  # what a run schedules


@dataclass
class RunContext:
    """What the jobs of one run share: the study and its mazes, each model's layout, the relay
    branches waiting for their base, and where finished dialogues go (``record``)."""

    study: Study
    mazes: Mapping[str, MazeItem]
    layouts: dict[str, Layout]
    record: Callable[[DialogueJob, Extraction | None], None]
    todo: list[DialogueSpec]
    relays: dict[str, list[DialogueSpec]] = field(init=False)
    deferred: list[str] = field(default_factory=list)  # transient failures, not recorded
    _templates: dict[tuple[str, bool], Templates] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.relays = defaultdict(list)
        for spec in self.todo:
            if spec.base_id is not None:
                self.relays[spec.base_id].append(spec)

    @property
    def grader(self) -> LLMGraderConfig | None:
        return None if self.study.grader == "rule" else self.study.grader

    def start(self, spec: DialogueSpec, prefix: Transcript | None = None) -> DialogueJob:
        item = self.mazes[spec.maze_id]
        referee = spec.condition == "referee"
        variant = (spec.intervention, referee)
        if variant not in self._templates:
            self._templates[variant] = self.study.templates_for(spec.intervention, referee=referee)
        dialogue = Dialogue.start(
            maze=item.maze,
            views=item.views,
            condition=spec.protocol_condition,
            seats=spec.seats,
            max_turns=self.study.max_turns,
            templates=self._templates[variant],
            relay=(spec.relay_k, spec.relay_after) if spec.relay_k and spec.relay_after else None,
            prefix=prefix,
            layouts=self.layouts,
            environment=(
                Referee(item.maze, structured=load_overlay(spec.intervention).structured) if referee else None
            ),
        )
        return DialogueJob(spec, item, dialogue, self.study)

    def branches(self, base_id: str, base: Transcript) -> list[DialogueJob]:
        """The relay branches of a finished base rollout, each from its first K turns."""
        return [
            self.start(spec, prefix=first_turns(base, spec.relay_k or 0))
            for spec in self.relays.pop(base_id, [])
        ]

    def first_jobs(self, done: Mapping[str, DialogueRecord]) -> list[RunJob]:
        """The jobs to start with: relay branches whose base finished in an earlier (interrupted)
        run first, then every rollout to do."""
        resumed: list[RunJob] = [
            job
            for base_id in list(self.relays)
            if base_id in done
            for job in self.branches(base_id, done[base_id].transcript)
        ]
        return resumed + [self.start(s) for s in self.todo if s.base_id is None]


def first_turns(base: Transcript, k: int) -> Transcript:
    """The base transcript up to its k-th agent message (all of it if shorter)."""
    kept, agents = [], 0
    for m in base.messages:
        if m.speaker != "user":
            if agents == k:
                break
            agents += 1
        kept.append(m)
    return Transcript(
        base.maze_id, base.condition, base.agents, tuple(kept), "in_progress", base.prompt_version
    )


def make_record(job: DialogueJob, llm: Extraction | None, run_hash: str) -> DialogueRecord:
    """A finished dialogue's record: its transcript and every grade (rule, the LLM grader's, the
    referee's), the primary one named."""
    transcript = job.dialogue.transcript()
    maze = job.maze.maze
    grades = {"rule": grade_transcript(maze, transcript)}
    primary = "rule"
    if llm is not None:
        grades["llm"] = grade_transcript(maze, transcript, llm)
        primary = "llm" if llm.error is None else "rule"  # unusable grader output: fall back, recorded
    if "referee" in transcript.meta:  # the executed route is the ground truth; the graders are checks
        grades[REFEREE_METHOD] = grade_transcript(
            maze, transcript, referee_extraction(transcript.meta["referee"])
        )
        primary = REFEREE_METHOD
    spec = job.spec
    finished = time.time()
    return DialogueRecord(
        dialogue_id=spec.id,
        run_hash=run_hash,
        prompt_version=transcript.prompt_version,
        condition=spec.condition,
        maze_id=spec.maze_id,
        maze_size=maze.size,
        models=list(spec.seats),
        rollout=spec.rollout,
        seed=spec.seed,
        transcript=transcript,
        grades=grades,
        primary=primary,
        relay_k=spec.relay_k,
        relay_after=list(spec.relay_after) if spec.relay_after else None,
        base_id=spec.base_id,
        intervention=overlay_name(spec.intervention),
        timings={"started": job.started, "finished": finished, "seconds": finished - job.started},
        format_version=RECORD_FORMAT,
    )
