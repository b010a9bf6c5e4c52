"""`gapbench run`: config -> plan -> dialogues (scheduler + engines) -> grades -> results shard.

Resumable by construction: the plan has stable ids, every finished dialogue is one fsynced record,
and a rerun of the same command skips the ids already in its shard.
"""

from __future__ import annotations

import hashlib
import json
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gapbench import rundir
from gapbench.engines.base import ChatRequest, Completion, Engine, Sampling, TemplatedEngine
from gapbench.experiment import DialogueSpec, ExperimentConfig, GeneratedMazes, load_config, plan
from gapbench.grading.extract import RULE_GRADER_VERSION, Extraction
from gapbench.grading.llm import GRADER_VERSION, grader_request, parse_grader_output
from gapbench.grading.record import grade_transcript
from gapbench.mazeset import MazeItem, build_set, load_set
from gapbench.protocol import Dialogue, Layout, Templates, fit_layout
from gapbench.protocol.interventions import NONE, load_overlay, overlay_name
from gapbench.redact import redact_text
from gapbench.referee import REFEREE_METHOD, Referee, referee_extraction
from gapbench.results import (
    RECORD_FORMAT,
    RESULTS_DIR,
    DialogueRecord,
    ResultsWriter,
    iter_records,
    latest,
    shard_files,
    shard_name,
)
from gapbench.scheduler import Throughput, run_jobs
from gapbench.transcript import Transcript

Shard = tuple[int, int]  # (index, count)


class Interrupted(BaseException):
    """SIGTERM / SIGUSR1 (e.g. SLURM preemption): finished records are saved; rerun to resume.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` on the way (a grading
    failure recorded on its dialogue, an engine error) can swallow it."""


MAX_DIALOGUES = 1_000_000  # a plan above this is a typo (rollouts: 1000000000), not a study


def load_mazes(config: ExperimentConfig, config_dir: Path) -> list[MazeItem]:
    """All mazes of the config's sources, in order; duplicates (same content id) are kept once.

    The plan's size is checked first, so a typo fails at once instead of generating forever.
    """
    sets = {
        i: load_set(Path(s.path) if Path(s.path).is_absolute() else config_dir / s.path)
        for i, s in enumerate(config.mazes)
        if not isinstance(s, GeneratedMazes)
    }
    count = sum(len(m.items) for m in sets.values()) + sum(
        s.count for s in config.mazes if isinstance(s, GeneratedMazes)
    )
    size = count * config.rollouts * len(plan(config.model_copy(update={"rollouts": 1}), ["one maze"]))
    if size > MAX_DIALOGUES:
        raise ValueError(
            f"rollouts/mazes: the plan would hold {size:,} dialogues ({count:,} mazes x {config.rollouts:,} rollouts), "
            f"above the cap of {MAX_DIALOGUES:,}; lower rollouts or the maze count, or split the study"
        )
    items: dict[str, MazeItem] = {}
    for i, source in enumerate(config.mazes):
        mazeset = (
            build_set(source.params(), count=source.count, seed=source.seed)
            if isinstance(source, GeneratedMazes)
            else sets[i]
        )
        for item in mazeset.items:
            items.setdefault(item.id, item)
    return list(items.values())


def select_shard(specs: list[DialogueSpec], shard: Shard) -> list[DialogueSpec]:
    """Specs of one shard, by stable id. Relay branches go with the rollout they continue."""
    index, count = shard
    if not (count >= 1 and 0 <= index < count):
        raise ValueError(f"shard {index}/{count} is out of range: use --shard i/N with 0 <= i < N")
    return [
        s
        for s in specs
        if int(hashlib.sha256((s.base_id or s.id).encode()).hexdigest()[:8], 16) % count == index
    ]


def _turn_seed(spec: DialogueSpec, turn: int) -> int:
    return int(hashlib.sha256(f"{spec.seed}:{spec.id}:{turn}".encode()).hexdigest()[:8], 16)


@dataclass
class DialogueJob:
    spec: DialogueSpec
    maze: MazeItem
    dialogue: Dialogue
    config: ExperimentConfig
    started: float = field(default_factory=time.time)
    transient: str | None = None  # a retryable engine failure ended it: not a result
    _ids: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    @property
    def done(self) -> bool:
        return self.dialogue.done

    def model(self) -> str:
        return self.dialogue.model()

    def request(self) -> ChatRequest:
        model, speaker = self.dialogue.model(), self.dialogue.speaker()
        cid = f"{self.spec.id}/{speaker}/{model}"
        self._ids[model].add(cid)
        s = self.config.sampling
        sampling = Sampling(
            max_tokens=s.max_tokens,
            temperature=s.temperature,
            top_p=s.top_p,
            seed=_turn_seed(self.spec, self.dialogue.turns),
        )
        return ChatRequest(cid, self.dialogue.chat(), sampling)

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

    def conversation_ids(self) -> dict[str, set[str]]:
        return self._ids


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

    def conversation_ids(self) -> dict[str, set[str]]:
        return {self.grader: {f"grade/{self.source.spec.id}"}}


@dataclass(frozen=True)
class ModelChoice:
    """What serves one model key: a scripted agent (backend None) or a registry model on a backend."""

    model: str
    backend: str | None
    options: dict[str, Any]

    @property
    def ident(self) -> str:
        return json.dumps([self.model, self.backend, sorted(self.options.items())], default=str)


def resolve_model(config: ExperimentConfig, key: str) -> ModelChoice:
    """The model, backend and checked options of a key of ``models`` (or of a registry name, for the
    grader). Everything here is known before loading a model, so --dry-run reports it."""
    from gapbench.agents import PREFIX, parse_scripted
    from gapbench.engines import engine_options
    from gapbench.experiment import ModelEntry
    from gapbench.registry import load_spec

    entry = config.entry(key) if key in config.models else ModelEntry(model=key)
    field_name = f"models.{key}" if key in config.models else "grader.model"
    if entry.model.startswith(PREFIX):
        try:
            parse_scripted(entry.model)
        except ValueError as exc:
            raise ValueError(f"{field_name}: {exc}") from None
        if entry.engine not in (None, "scripted") or entry.options:
            raise ValueError(
                f"{field_name}: a scripted agent takes no engine or options; remove `engine` and `options` from it"
            )
        return ModelChoice(entry.model, None, {})
    if entry.engine == "scripted":
        raise ValueError(
            f"{field_name}.engine: scripted needs a scripted model (scripted:oracle or scripted:degraded:P), not {entry.model!r}"
        )
    try:
        spec = load_spec(entry.model)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{field_name}: {exc}") from None
    backend = entry.engine or spec.engine.backend
    try:
        options = engine_options(
            backend, {**(spec.engine.options if backend == spec.engine.backend else {}), **entry.options}
        )
    except ValueError as exc:
        raise ValueError(f"{field_name}.options: {exc}") from None
    if config.sampling.max_tokens >= spec.max_model_len:
        raise ValueError(
            f"sampling.max_tokens: {config.sampling.max_tokens} is not below the context of {entry.model} "
            f"({spec.max_model_len} tokens); lower it"
        )
    return ModelChoice(entry.model, backend, options)


def check_study(config: ExperimentConfig, run_dir: Path) -> None:
    """Everything --dry-run can check before a model loads: every model and the grader resolve, and
    the output directory can be written."""
    grader = [] if config.grader == "rule" else [config.grader.model]
    for key in [*config.models, *grader]:
        resolve_model(config, key)
    rundir.check_writable(run_dir)


def build_engines(config: ExperimentConfig, keys: Iterable[str]) -> dict[str, Engine]:
    """One engine per distinct (model, engine, options); keys naming the same share it."""
    from gapbench.agents import ScriptedEngine

    built: dict[str, Engine] = {}
    engines: dict[str, Engine] = {}
    for key in keys:
        choice = resolve_model(config, key)
        if choice.ident not in built:
            if choice.backend is None:
                built[choice.ident] = ScriptedEngine(choice.model)
            else:
                from gapbench.engines import build_engine
                from gapbench.registry import load_spec

                built[choice.ident] = build_engine(
                    load_spec(choice.model), backend=choice.backend, **choice.options
                )
        engines[key] = built[choice.ident]
    return engines


def fit_layouts(
    templates: Templates, engines: dict[str, Engine], echo: Callable[[str], None]
) -> dict[str, Layout]:
    """Each talking model's message layout: the templates' own, or merged where its chat template
    cannot render the separate one (found by rendering the second speaker's first chat), with a notice."""
    layouts: dict[str, Layout] = {}
    for key, engine in engines.items():
        layouts[key] = fit_layout(templates, engine.renders if isinstance(engine, TemplatedEngine) else None)
        if layouts[key] != templates.layout:
            echo(
                f"notice: {key}: its chat template cannot render two user turns in a row; using the merged layout"
            )
    return layouts


def describe_plan(
    config: ExperimentConfig, specs: list[DialogueSpec], mazes: list[MazeItem], done: int
) -> str:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for s in specs:
        label = "+".join(s.seats) + (f" -> {'+'.join(s.relay_after)} @K={s.relay_k}" if s.relay_k else "")
        counts[
            (s.condition + ("" if s.intervention == NONE else f" + {overlay_name(s.intervention)}"), label)
        ] += 1
    sizes = sorted({m.maze.size for m in mazes})
    lines = [
        f"plan: {len(specs)} dialogues on {len(mazes)} mazes (sizes {', '.join(map(str, sizes))}), {done} already done",
        "",
    ]
    lines.append(f"{'condition':<34} {'models':<40} {'dialogues':>9}")
    for (cond, label), n in sorted(counts.items()):
        lines.append(f"{cond:<34} {label:<40} {n:>9}")
    turns = {"solo_full": 2, "solo_distributed": 2}
    max_gen = (
        sum(turns.get(s.condition, config.max_turns - (s.relay_k or 0)) for s in specs)
        * config.sampling.max_tokens
    )
    # ~4 characters a token: the instructions plus one map, the text every dialogue starts from.
    templates = config.protocol.load()
    opening = len(templates.system) + len(templates.collab) + len(templates.legend)
    opening += sum(len(m.maze.render()) for m in mazes) // max(len(mazes), 1)
    lines += [
        "",
        f"tokens: at most {max_gen:,} generated (messages x max_tokens={config.sampling.max_tokens}); "
        f"each dialogue's prompts start near {opening // 4} tokens and grow by its messages",
        f"grader: {config.grader if config.grader == 'rule' else config.grader.model}",
    ]
    return "\n".join(lines)


@dataclass
class RunResult:
    run_dir: Path
    shard_file: Path
    written: int
    skipped: int
    total: int
    throughput: Throughput | None
    deferred: list[str] = field(
        default_factory=list
    )  # transient failures, not recorded: a rerun retries them


def run_experiment(
    config_path: Path,
    *,
    shard: Shard = (0, 1),
    new_run: bool = False,
    dry_run: bool = False,
    retry_errors: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> RunResult:
    config, run_dir = load_config(config_path)
    mazes = load_mazes(config, config_path.parent)
    by_id = {m.id: m for m in mazes}
    specs = select_shard(plan(config, list(by_id)), shard)
    shard_file = run_dir / RESULTS_DIR / shard_name(*shard)
    results_hash = rundir.run_hash(config, list(by_id))
    check_study(config, run_dir)
    moved = rundir.open_run(run_dir, results_hash, config_path, new_run=new_run, dry_run=dry_run)
    if moved:
        echo(moved)
    with ExitStack() as stack:
        if not dry_run:
            stack.enter_context(rundir.shard_lock(shard_file))
        done_records = _done(run_dir, results_hash, retry_errors) if moved is None else {}
        if dry_run:
            echo(describe_plan(config, specs, mazes, sum(s.id in done_records for s in specs)))
            return RunResult(run_dir, shard_file, 0, len(done_records), len(specs), None)
        info = rundir.new_info(
            config, results_hash, config_path, {"rule": RULE_GRADER_VERSION, "llm": GRADER_VERSION}
        )
        return _run(config, info, config_path, specs, by_id, shard, shard_file, done_records, progress, echo)


def _done(run_dir: Path, results_hash: str, retry_errors: bool) -> dict[str, DialogueRecord]:
    """Dialogues already recorded in any shard of this run (of any N); with ``retry_errors``,
    those that ended in an error count as not done."""
    done = latest(iter_records(shard_files(run_dir)))
    for r in done.values():
        rundir.check_same_config(
            run_dir / RESULTS_DIR,
            results_hash,
            r.run_hash,
            "move the directory aside or set another output_dir",
        )
    return {k: r for k, r in done.items() if not (retry_errors and r.transcript.end == "error")}


def _run(
    config: ExperimentConfig,
    info: rundir.RunInfo,
    config_path: Path,
    specs: list[DialogueSpec],
    by_id: dict[str, MazeItem],
    shard: Shard,
    shard_file: Path,
    done_records: dict[str, DialogueRecord],
    progress: bool,
    echo: Callable[[str], None],
) -> RunResult:
    run_dir = shard_file.parent.parent
    todo = [s for s in specs if s.id not in done_records]
    relays: dict[str, list[DialogueSpec]] = defaultdict(list)
    for s in todo:
        if s.base_id is not None:
            relays[s.base_id].append(s)
    templates = config.protocol.load()
    variants = {
        (s.intervention, s.condition == "referee"): config.templates_for(
            s.intervention, referee=s.condition == "referee"
        )
        for s in specs
    }
    grader = None if config.grader == "rule" else config.grader
    keys = sorted(
        {k for s in specs for k in (*s.seats, *(s.relay_after or ()))} | ({grader.model} if grader else set())
    )
    echo(
        f"run {config.name} -> {run_dir} ({len(todo)} of {len(specs)} dialogues to go, shard {shard[0]}/{shard[1]})"
    )
    if not todo:
        return RunResult(run_dir, shard_file, 0, len(specs), len(specs), None)
    engines = build_engines(config, keys)
    talking = {
        k for s in specs if s.protocol_condition == "collab" for k in (*s.seats, *(s.relay_after or ()))
    }
    layouts = fit_layouts(templates, {k: e for k, e in engines.items() if k in talking}, echo)

    def start(spec: DialogueSpec, prefix: Transcript | None = None) -> DialogueJob:
        item = by_id[spec.maze_id]
        relay = (spec.relay_k, spec.relay_after) if spec.relay_k else None
        referee = (
            Referee(item.maze, structured=load_overlay(spec.intervention).structured)
            if spec.condition == "referee"
            else None
        )
        dialogue = Dialogue.start(
            maze=item.maze,
            views=item.views,
            condition=spec.protocol_condition,
            seats=spec.seats,  # type: ignore[arg-type]
            max_turns=config.max_turns,
            templates=variants[(spec.intervention, referee is not None)],
            relay=relay,
            prefix=prefix,
            layouts=layouts,
            environment=referee,
        )
        return DialogueJob(spec, item, dialogue, config)

    def branches(base_id: str, base: Transcript) -> list[DialogueJob]:
        return [start(spec, prefix=_first_turns(base, spec.relay_k or 0)) for spec in relays.pop(base_id, [])]

    bar = _progress(len(specs), len(specs) - len(todo), progress)
    writer: ResultsWriter | None = None
    written = 0
    deferred: list[str] = []

    def finish(job: Any) -> list[Any]:
        nonlocal written, writer
        follow: list[Any] = []
        if isinstance(job, DialogueJob):
            if job.transient:
                deferred.append(f"{job.spec.id}: {job.transient}")
                return []  # not recorded, and its relay branches wait for it: a rerun retries them
            if job.spec.base_id is None:
                follow += branches(job.spec.id, job.dialogue.transcript())
            if grader is not None:
                return [GradingJob(job, grader.model, grader.max_tokens), *follow]
            source, llm = job, None
        else:
            if job.transient:
                deferred.append(f"{job.source.spec.id} (grading): {job.transient}")
                return []
            source, llm = job.source, job.extraction
        if writer is None:  # the first record: only now does the directory become this run's
            rundir.claim(run_dir, info, redact_text(config_path.read_text(encoding="utf-8")))
            writer = ResultsWriter(shard_file)
        writer.write(_record(source, llm, info.results_hash))
        written += 1
        if bar is not None:
            bar.update(1)
        return follow

    # Relay branches whose base finished in an earlier (interrupted) run start right away.
    initial: list[Any] = []
    for base_id in list(relays):
        if base_id in done_records:
            initial += branches(base_id, done_records[base_id].transcript)
    initial += [start(s) for s in todo if s.base_id is None]

    def on_round(stats: Throughput) -> None:
        if bar is not None:
            bar.set_postfix_str(stats.postfix(), refresh=False)

    previous = _install_signal_handlers()
    try:
        stats = run_jobs(
            initial, engines, max_concurrent=config.max_concurrent, on_finish=finish, on_round=on_round
        )
    finally:
        _restore_signal_handlers(previous)
        if writer is not None:
            writer.close()
        if bar is not None:
            bar.close()
        for engine in {id(e): e for e in engines.values()}.values():
            engine.close()
    return RunResult(run_dir, shard_file, written, len(specs) - len(todo), len(specs), stats, deferred)


def _first_turns(base: Transcript, k: int) -> Transcript:
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


def _record(job: DialogueJob, llm: Extraction | None, run_hash: str) -> DialogueRecord:
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


def _progress(total: int, initial: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(
        total=total, initial=initial, desc="dialogues", unit="dlg", dynamic_ncols=True, file=sys.stderr
    )


def _raise_interrupted(signum: int, _frame: Any) -> None:
    raise Interrupted(
        f"stopped by signal {signal.Signals(signum).name}; finished dialogues are saved, rerun to resume"
    )


def _install_signal_handlers() -> dict[int, Any]:
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGUSR1):
        try:
            previous[sig] = signal.signal(sig, _raise_interrupted)
        except ValueError:  # not the main thread
            pass
    return previous


def _restore_signal_handlers(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def summary_table(records: list[DialogueRecord]) -> str:
    """Per models and condition: success and weighted outcome with 95% CIs, turns, tokens."""
    from gapbench.stats import mean_ci

    groups: dict[tuple[str, str], list[DialogueRecord]] = defaultdict(list)
    for r in records:
        label = (
            r.pair
            + (f" K={r.relay_k}" if r.relay_k else "")
            + ("" if r.intervention == NONE else f" +{r.intervention}")
        )
        groups[(label, r.condition)].append(r)
    header = f"{'models':<40} {'condition':<17} {'n':>4}  {'success [95% CI]':<19} {'weighted [95% CI]':<20} {'turns':>5} {'tokens':>7} {'errors':>6}"
    lines = [header, "-" * len(header)]
    for (label, cond), rs in sorted(groups.items()):
        succ = mean_ci([float(r.grade.success) for r in rs])
        wtd = mean_ci([r.grade.weighted for r in rs])
        turns = sum(len(r.transcript.agent_messages) for r in rs) / len(rs)
        tokens = sum(r.tokens()["completion"] for r in rs) / len(rs)
        errors = sum(r.transcript.end == "error" for r in rs)
        lines.append(
            f"{label:<40} {cond:<17} {len(rs):>4}  {succ!s:<19} {wtd!s:<20} {turns:>5.1f} {tokens:>7.0f} {errors:>6}"
        )
    from gapbench.grading.agreement import rule_vs_llm

    for kind, solo in (("solo", True), ("collaboration", False)):
        a = rule_vs_llm(r.grades for r in records if r.condition.startswith("solo") == solo)
        if a.n:
            lines.append(f"\nLLM grader vs rule grader, {kind}: {a.describe()}")
    refereed = [r.referee_agreement for r in records if r.referee_agreement is not None]
    if refereed:
        lines.append(
            f"\nrule grader vs referee: the same route in {sum(refereed)} of {len(refereed)} refereed dialogues"
        )
    return "\n".join(lines)
