"""`gapbench run`: study -> plan -> run directory -> engines -> scheduler -> records -> result.

Resumable by construction: the plan has stable ids, every finished dialogue is one fsynced record,
and a rerun of the same command skips the ids already in its shard.
"""

from __future__ import annotations

import signal
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gapbench import rundir
from gapbench.engines.base import Engine
from gapbench.grading.extract import RULE_GRADER_VERSION, Extraction
from gapbench.grading.llm import GRADER_VERSION
from gapbench.jobs import DialogueJob, RunContext, make_record
from gapbench.protocol import Layout
from gapbench.protocol.interventions import NONE
from gapbench.results import (
    RESULTS_DIR,
    DialogueRecord,
    ResultsWriter,
    iter_records,
    latest,
    read_results,
    shard_files,
    shard_name,
)
from gapbench.scheduler import Throughput, run_jobs
from gapbench.serving import build_engines, check_study, fit_layouts
from gapbench.study import (
    DialogueSpec,
    Shard,
    Study,
    StudySource,
    describe_plan,
    load_mazes,
    load_study,
    plan,
    select_shard,
)

if TYPE_CHECKING:
    import pandas


class Interrupted(BaseException):
    """SIGTERM / SIGUSR1 (e.g. SLURM preemption): finished records are saved; rerun to resume.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` on the way (a grading
    failure recorded on its dialogue, an engine error) can swallow it."""


@dataclass
class Run:
    """What a run did, and where its records are (`gapbench.run` and `gapbench run` return it)."""

    run_dir: Path
    shard_file: Path
    written: int  # records this call added
    skipped: int  # dialogues already recorded by an earlier call
    total: int  # dialogues in the (shard's) plan
    throughput: Throughput | None  # None when nothing was generated
    deferred: list[str] = field(
        default_factory=list
    )  # transient failures, not recorded: a rerun retries them

    def records(self) -> list[DialogueRecord]:
        """Every record of the run directory, one per dialogue."""
        return read_results(self.run_dir)

    def frame(self) -> pandas.DataFrame:
        """The records as a table, one row per dialogue and grade (see `gapbench.results_frame`)."""
        from gapbench.frame import results_frame

        return results_frame(self.run_dir)


def run_experiment(
    study: StudySource,
    *,
    engines: Mapping[str, Engine] | None = None,
    output_dir: Path | None = None,
    shard: Shard = (0, 1),
    new_run: bool = False,
    dry_run: bool = False,
    retry_errors: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> Run:
    """Run one shard of a study (a YAML path, a dict or a `Study`) and record it in its run directory.

    ``engines`` maps model keys to ready engines, used instead of building them (the caller closes
    them); ``output_dir`` overrides the study's.
    """
    loaded = load_study(study, output_dir=output_dir)
    config, run_dir, given = loaded.study, loaded.run_dir, dict(engines or {})
    mazes = {m.id: m for m in load_mazes(config, loaded.base)}
    specs = select_shard(plan(config, list(mazes)), shard)
    shard_file = run_dir / RESULTS_DIR / shard_name(*shard)
    results_hash = rundir.run_hash(config, list(mazes))
    check_study(config, run_dir, served=given)
    moved = rundir.open_run(run_dir, results_hash, loaded.path, new_run=new_run, dry_run=dry_run)
    if moved:
        echo(moved)
    with ExitStack() as stack:
        if not dry_run:
            stack.enter_context(rundir.shard_lock(shard_file))
        done = _done(run_dir, results_hash, retry_errors) if moved is None else {}
        todo = [s for s in specs if s.id not in done]
        if dry_run:
            echo(describe_plan(config, specs, list(mazes.values()), len(specs) - len(todo)))
            return Run(run_dir, shard_file, 0, len(done), len(specs), None)
        echo(
            f"run {config.name} -> {run_dir} ({len(todo)} of {len(specs)} dialogues to go, shard {shard[0]}/{shard[1]})"
        )
        if not todo:
            return Run(run_dir, shard_file, 0, len(specs), len(specs), None)
        engines, layouts = _engines(config, specs, given, stack, echo)
        bar = stack.enter_context(_progress(len(specs), len(specs) - len(todo), progress))
        versions = {"rule": RULE_GRADER_VERSION, "llm": GRADER_VERSION}
        info = rundir.new_info(config, results_hash, loaded.path, versions)
        records = _Records(run_dir, info, loaded.text(), shard_file, bar)
        stack.callback(records.close)
        run = RunContext(config, mazes, layouts, records.write, todo)
        stack.enter_context(_interruptible())
        stats = run_jobs(
            run.first_jobs(done),
            engines,
            max_concurrent=config.max_concurrent,
            on_finish=lambda job: job.finish(run),
            on_round=None if bar is None else lambda t: bar.set_postfix_str(t.postfix(), refresh=False),
        )
    skipped = len(specs) - len(todo)
    return Run(run_dir, shard_file, records.written, skipped, len(specs), stats, run.deferred)


def _engines(
    config: Study,
    specs: list[DialogueSpec],
    given: Mapping[str, Engine],
    stack: ExitStack,
    echo: Callable[[str], None],
) -> tuple[dict[str, Engine], dict[str, Layout]]:
    """An engine for every model key the shard needs (those given, the others built here and closed
    on the way out), and each talking model's message layout."""
    grader = set() if config.grader == "rule" else {config.grader.model}
    keys = {k for s in specs for k in s.seated} | grader
    built = build_engines(config, sorted(keys - set(given)))
    for engine in {id(e): e for e in built.values()}.values():  # keys naming one model share it
        stack.callback(engine.close)
    engines = {**built, **given}
    talking = {k for s in specs if s.protocol_condition == "collab" for k in s.seated}
    layouts = fit_layouts(config.protocol.load(), {k: e for k, e in engines.items() if k in talking}, echo)
    return engines, layouts


@dataclass
class _Records:
    """Where finished dialogues go: the directory becomes this run's with the first record (run.json
    and the study's copy), then every record is appended to the shard and counted on the bar."""

    run_dir: Path
    info: rundir.RunInfo
    study_text: str
    shard_file: Path
    bar: Any
    writer: ResultsWriter | None = None
    written: int = 0

    def write(self, job: DialogueJob, llm: Extraction | None) -> None:
        if self.writer is None:
            rundir.claim(self.run_dir, self.info, self.study_text)
            self.writer = ResultsWriter(self.shard_file)
        self.writer.write(make_record(job, llm, self.info.results_hash))
        self.written += 1
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


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


@contextmanager
def _progress(total: int, initial: int, enabled: bool) -> Iterator[Any]:
    """The progress bar (None when disabled), closed on the way out."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(
        total=total, initial=initial, desc="dialogues", unit="dlg", dynamic_ncols=True, file=sys.stderr
    )
    try:
        yield bar
    finally:
        bar.close()


def _raise_interrupted(signum: int, _frame: Any) -> None:
    raise Interrupted(
        f"stopped by signal {signal.Signals(signum).name}; finished dialogues are saved, rerun to resume"
    )


@contextmanager
def _interruptible() -> Iterator[None]:
    """SIGTERM and SIGUSR1 raise `Interrupted` inside (in the main thread); the handlers before are restored."""
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGUSR1):
        try:
            previous[sig] = signal.signal(sig, _raise_interrupted)
        except ValueError:  # not the main thread
            pass
    try:
        yield
    finally:
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
