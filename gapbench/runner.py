"""`gapbench run`: config -> plan -> dialogues (scheduler + engines) -> grades -> results shard.

Resumable by construction: the plan has stable ids, every finished dialogue is one fsynced record,
and a rerun of the same command skips the ids already in its shard.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from gapbench.engines.base import ChatRequest, Completion, Engine, Sampling, TemplatedEngine
from gapbench.experiment import DialogueSpec, ExperimentConfig, GeneratedMazes, load_config, plan
from gapbench.grading.extract import RULE_GRADER_VERSION, Extraction
from gapbench.grading.llm import GRADER_VERSION, grader_request, parse_grader_output
from gapbench.grading.record import grade_transcript
from gapbench.mazeset import MazeItem, build_set, load_set
from gapbench.protocol import Dialogue, Layout, Templates, fit_layout
from gapbench.results import (
    DialogueRecord, GradeRecord, ResultsWriter, iter_records, read_run_info, shard_name, write_run_info, RESULTS_DIR,
)  # fmt: skip
from gapbench.scheduler import Throughput, run_jobs
from gapbench.transcript import Transcript

Shard = tuple[int, int]  # (index, count)


class Interrupted(BaseException):
    """SIGTERM / SIGUSR1 (e.g. SLURM preemption): finished records are saved; rerun to resume.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` on the way (a grading
    failure recorded on its dialogue, an engine error) can swallow it."""


def load_mazes(config: ExperimentConfig, config_dir: Path) -> list[MazeItem]:
    """All mazes of the config's sources, in order; duplicates (same content id) are kept once."""
    items: dict[str, MazeItem] = {}
    for source in config.mazes:
        if isinstance(source, GeneratedMazes):
            mazeset = build_set(source.params(), count=source.count, seed=source.seed)
        else:
            path = Path(source.path)
            mazeset = load_set(path if path.is_absolute() else config_dir / path)
        for item in mazeset.items:
            items.setdefault(item.id, item)
    return list(items.values())


def select_shard(specs: list[DialogueSpec], shard: Shard) -> list[DialogueSpec]:
    """Specs of one shard, by stable id. Relay branches go with the rollout they continue."""
    index, count = shard
    if not (count >= 1 and 0 <= index < count):
        raise ValueError(f"shard {index}/{count} is out of range: use --shard i/N with 0 <= i < N")
    return [s for s in specs if int(hashlib.sha256((s.base_id or s.id).encode()).hexdigest()[:8], 16) % count == index]


def _turn_seed(spec: DialogueSpec, turn: int) -> int:
    return int(hashlib.sha256(f"{spec.seed}:{spec.id}:{turn}".encode()).hexdigest()[:8], 16)


@dataclass
class DialogueJob:
    spec: DialogueSpec
    maze: MazeItem
    dialogue: Dialogue
    config: ExperimentConfig
    started: float = field(default_factory=time.time)
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
        sampling = Sampling(max_tokens=s.max_tokens, temperature=s.temperature, top_p=s.top_p, seed=_turn_seed(self.spec, self.dialogue.turns))
        return ChatRequest(cid, self.dialogue.chat(), sampling)

    def take(self, c: Completion) -> None:
        if c.error:
            self.dialogue.fail(f"{self.dialogue.model()}: {c.error}")
        else:
            self.dialogue.add_reply(
                c.text, prompt_tokens=c.prompt_tokens, completion_tokens=c.completion_tokens,
                cached_tokens=c.cached_tokens, finish_reason=c.finish_reason,
            )  # fmt: skip

    def conversation_ids(self) -> dict[str, set[str]]:
        return self._ids


@dataclass
class GradingJob:
    """One request to the LLM grader for a finished dialogue."""

    source: DialogueJob
    grader: str
    max_tokens: int
    extraction: Extraction | None = None

    @property
    def done(self) -> bool:
        return self.extraction is not None

    def model(self) -> str:
        return self.grader

    def request(self) -> ChatRequest:
        return grader_request(self.source.dialogue.transcript(), f"grade/{self.source.spec.id}", max_tokens=self.max_tokens)

    def take(self, c: Completion) -> None:
        self.extraction = Extraction((), "llm", error=f"grader failed: {c.error}") if c.error else parse_grader_output(c.text)

    def conversation_ids(self) -> dict[str, set[str]]:
        return {self.grader: {f"grade/{self.source.spec.id}"}}


def build_engines(config: ExperimentConfig, keys: Iterable[str]) -> dict[str, Engine]:
    """One engine per distinct (model, engine, options); keys naming the same share it."""
    from gapbench.agents import PREFIX, ScriptedEngine

    built: dict[str, Engine] = {}
    engines: dict[str, Engine] = {}
    for key in keys:
        entry = config.entry(key) if key in config.models else None
        model = entry.model if entry else key
        options = dict(entry.options) if entry else {}
        if entry and entry.engine and entry.engine != "scripted":
            options["backend"] = entry.engine
        ident = json.dumps([model, sorted(options.items())], default=str)
        if ident not in built:
            if model.startswith(PREFIX):
                built[ident] = ScriptedEngine(model)
            else:
                from gapbench.engines import build_engine
                from gapbench.registry import load_spec

                built[ident] = build_engine(load_spec(model), **options)
        engines[key] = built[ident]
    return engines


def fit_layouts(templates: Templates, engines: dict[str, Engine], echo: Callable[[str], None]) -> dict[str, Layout]:
    """Each talking model's message layout: the templates' own, or merged where its chat template
    cannot render the separate one (found by rendering the second speaker's first chat), with a notice."""
    layouts: dict[str, Layout] = {}
    for key, engine in engines.items():
        layouts[key] = fit_layout(templates, engine.renders if isinstance(engine, TemplatedEngine) else None)
        if layouts[key] != templates.layout:
            echo(f"notice: {key}: its chat template cannot render two user turns in a row; using the merged layout")
    return layouts


def describe_plan(config: ExperimentConfig, specs: list[DialogueSpec], mazes: list[MazeItem], done: int) -> str:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for s in specs:
        label = "+".join(s.seats) + (f" -> {'+'.join(s.relay_after)} @K={s.relay_k}" if s.relay_k else "")
        counts[(s.condition, label)] += 1
    sizes = sorted({m.maze.size for m in mazes})
    lines = [f"plan: {len(specs)} dialogues on {len(mazes)} mazes (sizes {', '.join(map(str, sizes))}), {done} already done", ""]
    lines.append(f"{'condition':<18} {'models':<40} {'dialogues':>9}")
    for (cond, label), n in sorted(counts.items()):
        lines.append(f"{cond:<18} {label:<40} {n:>9}")
    turns = {"solo_full": 2, "solo_distributed": 2}
    max_gen = sum(turns.get(s.condition, config.max_turns - (s.relay_k or 0)) for s in specs) * config.sampling.max_tokens
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


def run_experiment(
    config_path: Path,
    *,
    shard: Shard = (0, 1),
    new_run: bool = False,
    dry_run: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> RunResult:
    config, run_dir = load_config(config_path)
    mazes = load_mazes(config, config_path.parent)
    by_id = {m.id: m for m in mazes}
    specs = select_shard(plan(config, list(by_id)), shard)
    shard_file = run_dir / RESULTS_DIR / shard_name(*shard)
    run_hash = config.results_hash()

    info = read_run_info(run_dir)
    if info is not None and info.get("results_hash") != run_hash:
        if not new_run:
            raise ValueError(
                f"{run_dir} holds results of a different config (hash {info.get('results_hash')}, now {run_hash}); "
                "rerun with --new-run to move the old results aside and start afresh, or set another output_dir"
            )
    if new_run and info is not None and not dry_run:
        aside = run_dir.with_name(f"{run_dir.name}.old-{info.get('results_hash', 'unknown')}-{int(time.time())}")
        shutil.move(str(run_dir), aside)
        echo(f"moved the previous results to {aside}")
        info = None
    done_records = {r.dialogue_id: r for r in iter_records([shard_file])} if shard_file.exists() and (info is not None) else {}
    if dry_run:
        echo(describe_plan(config, specs, mazes, sum(s.id in done_records for s in specs)))
        return RunResult(run_dir, shard_file, 0, len(done_records), len(specs), None)
    write_run_info(run_dir, {
        "name": config.name, "results_hash": run_hash, "prompt_version": config.protocol.load().version,
        "grader_version": {"rule": RULE_GRADER_VERSION, "llm": GRADER_VERSION}, "config": config.model_dump(mode="json"),
        "config_path": str(config_path.resolve()), "created": datetime.now(timezone.utc).isoformat(),
    })  # fmt: skip
    (run_dir / "config.yaml").write_text(config_path.read_text())

    todo = [s for s in specs if s.id not in done_records]
    relays: dict[str, list[DialogueSpec]] = defaultdict(list)
    for s in todo:
        if s.base_id is not None:
            relays[s.base_id].append(s)
    templates = config.protocol.load()
    grader = None if config.grader == "rule" else config.grader
    keys = sorted({k for s in specs for k in (*s.seats, *(s.relay_after or ()))} | ({grader.model} if grader else set()))
    echo(f"run {config.name} -> {run_dir} ({len(todo)} of {len(specs)} dialogues to go, shard {shard[0]}/{shard[1]})")
    if not todo:
        return RunResult(run_dir, shard_file, 0, len(specs), len(specs), None)
    engines = build_engines(config, keys)
    talking = {k for s in specs if s.protocol_condition == "collab" for k in (*s.seats, *(s.relay_after or ()))}
    layouts = fit_layouts(templates, {k: e for k, e in engines.items() if k in talking}, echo)

    def start(spec: DialogueSpec, prefix: Transcript | None = None) -> DialogueJob:
        item = by_id[spec.maze_id]
        relay = (spec.relay_k, spec.relay_after) if spec.relay_k else None
        dialogue = Dialogue.start(
            maze=item.maze, views=item.views, condition=spec.protocol_condition, seats=spec.seats,  # type: ignore[arg-type]
            max_turns=config.max_turns, templates=templates, relay=relay, prefix=prefix, layouts=layouts,
        )  # fmt: skip
        return DialogueJob(spec, item, dialogue, config)

    def branches(base_id: str, base: Transcript) -> list[DialogueJob]:
        return [start(spec, prefix=_first_turns(base, spec.relay_k or 0)) for spec in relays.pop(base_id, [])]

    bar = _progress(len(specs), len(specs) - len(todo), progress)
    writer = ResultsWriter(shard_file)
    written = 0

    def finish(job: Any) -> list[Any]:
        nonlocal written
        follow: list[Any] = []
        if isinstance(job, DialogueJob):
            if job.spec.base_id is None:
                follow += branches(job.spec.id, job.dialogue.transcript())
            if grader is not None:
                return [GradingJob(job, grader.model, grader.max_tokens), *follow]
            source, llm = job, None
        else:
            source, llm = job.source, job.extraction
        writer.write(_record(source, llm, run_hash))
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
        stats = run_jobs(initial, engines, max_concurrent=config.max_concurrent, on_finish=finish, on_round=on_round)
    finally:
        _restore_signal_handlers(previous)
        writer.close()
        if bar is not None:
            bar.close()
        for engine in {id(e): e for e in engines.values()}.values():
            engine.close()
    return RunResult(run_dir, shard_file, written, len(specs) - len(todo), len(specs), stats)


def _first_turns(base: Transcript, k: int) -> Transcript:
    """The base transcript up to its k-th agent message (all of it if shorter)."""
    kept, agents = [], 0
    for m in base.messages:
        if m.speaker != "user":
            if agents == k:
                break
            agents += 1
        kept.append(m)
    return Transcript(base.maze_id, base.condition, base.agents, tuple(kept), "in_progress", base.prompt_version)


def _record(job: DialogueJob, llm: Extraction | None, run_hash: str) -> DialogueRecord:
    transcript = job.dialogue.transcript()
    maze = job.maze.maze
    grades = {"rule": grade_transcript(maze, transcript)}
    primary = "rule"
    if llm is not None:
        grades["llm"] = grade_transcript(maze, transcript, llm)
        primary = "llm" if llm.error is None else "rule"  # unusable grader output: fall back, recorded
    spec = job.spec
    finished = time.time()
    return DialogueRecord(
        dialogue_id=spec.id, run_hash=run_hash, prompt_version=transcript.prompt_version,
        condition=spec.condition, maze_id=spec.maze_id, maze_size=maze.size, models=list(spec.seats),
        rollout=spec.rollout, seed=spec.seed, transcript=transcript, grades=grades, primary=primary,
        relay_k=spec.relay_k, relay_after=list(spec.relay_after) if spec.relay_after else None,
        base_id=spec.base_id, timings={"started": job.started, "finished": finished, "seconds": finished - job.started},
    )  # fmt: skip


def _progress(total: int, initial: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc="dialogues", unit="dlg", dynamic_ncols=True, file=sys.stderr)


def _raise_interrupted(signum: int, _frame: Any) -> None:
    raise Interrupted(f"stopped by signal {signal.Signals(signum).name}; finished dialogues are saved, rerun to resume")


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
        label = r.pair + (f" K={r.relay_k}" if r.relay_k else "")
        groups[(label, r.condition)].append(r)
    header = f"{'models':<28} {'condition':<17} {'n':>4}  {'success [95% CI]':<19} {'weighted [95% CI]':<20} {'turns':>5} {'tokens':>7} {'errors':>6}"
    lines = [header, "-" * len(header)]
    for (label, cond), rs in sorted(groups.items()):
        succ = mean_ci([float(r.grade.success) for r in rs])
        wtd = mean_ci([r.grade.weighted for r in rs])
        turns = sum(len(r.transcript.agent_messages) for r in rs) / len(rs)
        tokens = sum(r.tokens()["completion"] for r in rs) / len(rs)
        errors = sum(r.transcript.end == "error" for r in rs)
        lines.append(f"{label:<28} {cond:<17} {len(rs):>4}  {str(succ):<19} {str(wtd):<20} {turns:>5.1f} {tokens:>7.0f} {errors:>6}")
    from gapbench.grading.agreement import rule_vs_llm

    for kind, solo in (("solo", True), ("collaboration", False)):
        a = rule_vs_llm(r.grades for r in records if r.condition.startswith("solo") == solo)
        if a.n:
            lines.append(f"\nLLM grader vs rule grader, {kind}: {a.describe()}")
    return "\n".join(lines)
