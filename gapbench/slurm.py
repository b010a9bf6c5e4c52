"""Shard a study over a SLURM job array: submit, watch, resume; a chained job merges the shards.

Array task i runs `gapbench run CONFIG --shard i/N` and appends only to its own shard file. Shards
are fixed by stable dialogue ids (study.select_shard), and N is recorded at submit time in
RUN_DIR/slurm/slurm.json, so a resumed or requeued task always redoes exactly its own leftovers.
State comes from squeue (jobs still queued) plus the shard files and the per-shard done/failed
markers the batch script writes; sacct would need slurmdbd, which many clusters don't expose.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from pydantic import ConfigDict

from gapbench import rundir
from gapbench.results import MERGED_FILE, RESULTS_DIR, iter_records, shard_counts, shard_name
from gapbench.study import DialogueSpec, Study, load_config, load_mazes, plan, select_shard
from gapbench.validation import read_record

SLURM_DIR = "slurm"
STATE_FILE = "slurm.json"
STATE_FORMAT = 1  # slurm.json files before format_version read as 1
SIGNAL_SECONDS = 90  # USR1 this long before the time limit: time to save, requeue and exit
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_QUEUED = {
    "PENDING": "pending",
    "REQUEUED": "pending",
    "REQUEUE_HOLD": "pending",
    "CONFIGURING": "pending",
    "RUNNING": "running",
    "COMPLETING": "running",
    "SUSPENDED": "running",
    "STOPPED": "running",
}


class SlurmError(ValueError):
    """SLURM is missing or refused a request; the message says what to do."""


@dataclass(frozen=True)
class Resources:
    """What each array task asks SLURM for. Values are passed through to sbatch, quoted."""

    partition: str | None = None
    gpus_per_task: int | None = None
    cpus_per_task: int | None = None
    mem: str | None = None
    time: str | None = None
    account: str | None = None
    qos: str | None = None
    array_parallelism: int | None = None  # at most K tasks of the array run at once
    extra_sbatch: tuple[str, ...] = ()  # further sbatch options, e.g. --constraint=a100
    setup: tuple[str, ...] = ()  # shell lines run before gapbench (module load, source venv); not quoted

    def sbatch_options(self, *, merge: bool = False) -> list[str]:
        """sbatch options of the array tasks; the merge job gets only where and how long to run."""
        named: dict[str, str | int | None] = {
            "partition": self.partition,
            "account": self.account,
            "qos": self.qos,
            "time": self.time,
        }
        if not merge:
            named |= {
                "gpus-per-task": self.gpus_per_task,
                "cpus-per-task": self.cpus_per_task,
                "mem": self.mem,
            }
        options = [f"--{k}={v}" for k, v in named.items() if v is not None]
        return options if merge else options + list(self.extra_sbatch)


@dataclass
class Submission:
    __pydantic_config__ = ConfigDict(extra="forbid")

    array_job: str
    indices: list[int]
    merge_job: str | None
    submitted: str


@dataclass
class SlurmState:
    """RUN_DIR/slurm/slurm.json: what was submitted, so status and resume need only the run dir."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    config: str  # absolute path of the config the tasks run
    results_hash: str
    shards: int
    gapbench: str
    array_parallelism: int | None
    submissions: list[Submission] = field(default_factory=list)
    format_version: int = 1  # files without it are format 1; writers write STATE_FORMAT

    @classmethod
    def load(cls, run_dir: Path) -> SlurmState:
        path = run_dir / SLURM_DIR / STATE_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"{run_dir} has no SLURM submission ({path} is missing); submit with `gapbench slurm submit CONFIG --shards N`"
            )
        try:
            state = read_record(cls, json.loads(path.read_text()))
        except ValueError as exc:
            raise ValueError(
                f"{path} is not a gapbench SLURM state ({exc}); restore it, or submit again"
            ) from None
        if state.format_version > STATE_FORMAT:
            raise ValueError(
                f"{path}: format_version {state.format_version} is newer than this gapbench reads ({STATE_FORMAT}); upgrade gapbench"
            )
        return state

    def save(self, run_dir: Path) -> None:
        path = run_dir / SLURM_DIR / STATE_FILE
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        os.replace(tmp, path)

    def latest(self, index: int) -> Submission | None:
        """The last submission that ran shard ``index``."""
        return next((s for s in reversed(self.submissions) if index in s.indices), None)


@dataclass(frozen=True)
class ShardStatus:
    index: int
    state: str  # pending | running | done | failed
    done: int  # dialogues recorded
    total: int  # dialogues planned
    job: str | None  # array task, e.g. 1234_3
    note: str = ""


def planned_specs(config: Study, config_dir: Path) -> list[DialogueSpec]:
    """The study's dialogues, as `gapbench run` plans them."""
    return plan(config, [m.id for m in load_mazes(config, config_dir)])


def run_plan(run_dir: Path) -> tuple[rundir.RunInfo, list[DialogueSpec]]:
    """What a run's results were made with (run.json) and its plan."""
    info = rundir.read_info(run_dir)
    if info is None:
        raise FileNotFoundError(
            f"{run_dir} has no run.json: no shard has started yet; run `gapbench run CONFIG` or wait for the SLURM tasks"
        )
    try:
        config = Study.model_validate(info.config)
    except ValueError as exc:
        raise ValueError(
            f"{run_dir / rundir.RUN_FILE}: its config is not valid ({str(exc).splitlines()[0]}); restore run.json"
        ) from None
    return info, planned_specs(config, Path(info.config_path).parent if info.config_path else run_dir)


def render(template: str, values: dict[str, str]) -> str:
    """Fill ``{{name}}`` placeholders of a template in gapbench/slurm_templates; every one must be given."""
    text = resources.files("gapbench").joinpath("slurm_templates").joinpath(template).read_text()
    unknown = set(_PLACEHOLDER.findall(text)) - set(values)
    if unknown:
        raise KeyError(f"{template}: no value for {', '.join(sorted(unknown))}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def array_spec(indices: list[int], parallelism: int | None = None) -> str:
    """sbatch --array value: 0-3,7,9-10 with an optional %K limit."""
    ranges: list[list[int]] = []
    for i in sorted(set(indices)):
        if ranges and i == ranges[-1][1] + 1:
            ranges[-1][1] = i
        else:
            ranges.append([i, i])
    indices_text = ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ranges)
    return indices_text + (f"%{parallelism}" if parallelism else "")


def default_gapbench() -> str:
    """The gapbench next to this interpreter (the same venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "gapbench"
    found = str(beside) if beside.is_file() else shutil.which("gapbench")
    if not found:
        raise SlurmError("cannot find the gapbench executable; pass --gapbench /path/to/venv/bin/gapbench")
    return str(Path(found).absolute())


def check_values(values: dict[str, object]) -> None:
    """Refuse a value with a newline or any other control character: in a batch script it would end
    its #SBATCH directive (and sbatch stops reading directives) or start a shell command of its own."""
    for label, value in values.items():
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, str) and any(ord(c) < 32 or ord(c) == 127 for c in v):
                raise SlurmError(
                    f"{label}: {v!r} holds a control character (newline, tab, ...); batch scripts take each value on one line, remove it"
                )


def scripts(
    config_path: Path, run_dir: Path, shards: int, res: Resources, gapbench: str, name: str
) -> tuple[str, str]:
    """The array and merge batch scripts of a study."""
    check_values(
        {
            "name": name,
            "output_dir": str(run_dir),
            "config": str(config_path),
            "--gapbench": gapbench,
            "--partition": res.partition,
            "--account": res.account,
            "--qos": res.qos,
            "--time": res.time,
            "--mem": res.mem,
            "--extra-sbatch": res.extra_sbatch,
            "--setup": res.setup,
        }
    )
    q = shlex.quote
    slurm_dir = run_dir / SLURM_DIR
    setup = "\n".join(res.setup)
    array = render(
        "array.sbatch.tmpl",
        {
            "job_name": q(f"gapbench-{name}"),
            "array": array_spec(list(range(shards)), res.array_parallelism),
            "log": q(str(slurm_dir / "logs" / "%A_%a.out")),
            "signal_seconds": str(SIGNAL_SECONDS),
            "sbatch_lines": "\n".join(f"#SBATCH {q(o)}" for o in res.sbatch_options()),
            "gapbench": q(gapbench),
            "config": q(str(config_path)),
            "shards": str(shards),
            "markers": q(str(slurm_dir / "shards")),
            "setup": setup,
        },
    )
    merge = render(
        "merge.sbatch.tmpl",
        {
            "job_name": q(f"gapbench-{name}-merge"),
            "log": q(str(slurm_dir / "logs" / "merge-%j.out")),
            "sbatch_lines": "\n".join(f"#SBATCH {q(o)}" for o in res.sbatch_options(merge=True)),
            "setup": setup,
            "gapbench": q(gapbench),
            "run_dir": q(str(run_dir)),
        },
    )
    return array, merge


def _slurm(args: list[str]) -> str:
    """Run a SLURM client command; its own message is shown when it refuses."""
    if shutil.which(args[0]) is None:
        raise SlurmError(
            f"{args[0]} not found on PATH: run this on a SLURM login node, or run the study here without SLURM "
            "with `gapbench run CONFIG` (one shard: `gapbench run CONFIG --shard i/N`)"
        )
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SlurmError(f"{args[0]} failed: {(proc.stderr or proc.stdout).strip()}")
    return proc.stdout


def _sbatch(options: list[str], script: Path) -> str:
    return _slurm(["sbatch", "--parsable", *options, str(script)]).strip().split(";")[0]


def _check_extra(options: tuple[str, ...]) -> None:
    bad = [o for o in options if not o.startswith("-")]
    if bad:
        raise ValueError(
            f"--extra-sbatch takes sbatch options like --constraint=a100, got {', '.join(map(repr, bad))}"
        )


def submit(
    config_path: Path,
    shards: int,
    res: Resources = Resources(),
    *,
    gapbench: str | None = None,
    dry_run: bool = False,
    echo: Callable[[str], None] = print,
) -> SlurmState | None:
    """Submit one array task per shard and a merge job that runs once all of them succeeded."""
    config_path = config_path.resolve()
    config, run_dir = load_config(config_path)
    planned = planned_specs(config, config_path.parent)
    results_hash = rundir.run_hash(config, sorted({d.maze_id for d in planned}))
    if not 1 <= shards <= len(planned):
        raise ValueError(
            f"--shards {shards}: use 1 to {len(planned)} (the study has {len(planned)} dialogues)"
        )
    _check_extra(res.extra_sbatch)
    gapbench = str(Path(gapbench).absolute()) if gapbench else default_gapbench()
    array, merge = scripts(config_path, run_dir, shards, res, gapbench, config.name)
    if dry_run:
        echo(
            f"# {run_dir / SLURM_DIR / 'array.sbatch'}\n{array}\n# {run_dir / SLURM_DIR / 'merge.sbatch'} "
            f"(submitted with --dependency=afterok:<array job>)\n{merge}"
        )
        return None
    _check_run_dir(run_dir, config_path, results_hash, shards)
    slurm_dir = run_dir / SLURM_DIR
    (slurm_dir / "logs").mkdir(parents=True, exist_ok=True)
    (slurm_dir / "array.sbatch").write_text(array)
    (slurm_dir / "merge.sbatch").write_text(merge)
    state = SlurmState(str(config_path), results_hash, shards, gapbench, res.array_parallelism)
    _submit_array(run_dir, state, list(range(shards)), [], [])
    last = state.submissions[-1]
    echo(
        f"submitted array job {last.array_job} ({shards} shards of {len(planned)} dialogues) and merge job {last.merge_job}"
    )
    echo(f"logs: {slurm_dir / 'logs'}; watch: gapbench slurm status {shlex.quote(str(run_dir))}")
    return state


def _check_run_dir(run_dir: Path, config_path: Path, results_hash: str, shards: int) -> None:
    """Refuse to mix: a second submission, another config's results, or shards of another N."""
    if (run_dir / SLURM_DIR / STATE_FILE).exists():
        raise ValueError(
            f"{run_dir} was already submitted; see `gapbench slurm status {run_dir}` and resubmit unfinished shards with `gapbench slurm resume {run_dir}`"
        )
    rundir.open_run(run_dir, results_hash, config_path, new_run=False, dry_run=False)
    counts = shard_counts(run_dir)
    if counts and counts != [shards]:
        raise ValueError(
            f"{run_dir} already has shards of N={', '.join(map(str, counts))}: submit with --shards {counts[0]} to continue them (shards never move between N)"
        )


def _submit_array(
    run_dir: Path, state: SlurmState, indices: list[int], extra: list[str], also_wait_for: list[str]
) -> None:
    """sbatch the array for ``indices`` (recorded at once), then the merge job chained after it."""
    slurm_dir = run_dir / SLURM_DIR
    job = _sbatch(
        [f"--array={array_spec(indices, state.array_parallelism)}", *extra], slurm_dir / "array.sbatch"
    )
    state.submissions.append(Submission(job, sorted(indices), None, datetime.now(timezone.utc).isoformat()))
    state.save(run_dir)
    state.submissions[-1].merge_job = _sbatch(
        [f"--dependency=afterok:{':'.join([job, *also_wait_for])}"], slurm_dir / "merge.sbatch"
    )
    state.save(run_dir)


def _queue(jobs: set[str]) -> dict[str, str]:
    """SLURM state of our queued jobs, by job ("1234" or array task "1234_5")."""
    out = _slurm(["squeue", "--noheader", "--array", f"--user={getpass.getuser()}", "--format=%F|%K|%T|%i"])
    queued: dict[str, str] = {}
    for line in out.splitlines():
        array_job, task, slurm_state, job_id = line.strip().split("|")
        if array_job in jobs:
            queued[f"{array_job}_{task}" if task not in ("N/A", "") else job_id] = slurm_state
    return queued


def status(run_dir: Path) -> tuple[SlurmState, list[ShardStatus], str]:
    """Every shard's state and count of recorded dialogues, and a line about the merge job."""
    state = SlurmState.load(run_dir)
    config, _ = load_config(Path(state.config))
    planned = planned_specs(config, Path(state.config).parent)
    now = rundir.run_hash(config, sorted({d.maze_id for d in planned}))
    rundir.check_same_config(
        run_dir,
        state.results_hash,
        now,
        f"{state.config} changed since it was submitted; restore it, or submit the new config with another output_dir",
    )
    queued = _queue(
        {s.array_job for s in state.submissions} | {s.merge_job for s in state.submissions if s.merge_job}
    )
    markers = run_dir / SLURM_DIR / "shards"
    shards = []
    for i in range(state.shards):
        ids = {d.id for d in select_shard(planned, (i, state.shards))}
        path = run_dir / RESULTS_DIR / shard_name(i, state.shards)
        done = len(ids & {r.dialogue_id for r in iter_records([path])}) if path.exists() else 0
        sub = state.latest(i)
        job = f"{sub.array_job}_{i}" if sub else None
        failed = markers / f"shard-{i:04d}.failed"
        if job in queued:
            shards.append(
                ShardStatus(i, _QUEUED.get(queued[job], "running"), done, len(ids), job, queued[job].lower())
            )
        elif done == len(ids):
            shards.append(ShardStatus(i, "done", done, len(ids), job))
        else:
            note = (
                f"{failed.read_text().split(' at=')[0]}; log {run_dir / SLURM_DIR / 'logs' / f'{job}.out'}"
                if failed.exists()
                else "left the queue unfinished (cancelled, killed or node failure)"
            )
            shards.append(ShardStatus(i, "failed", done, len(ids), job, note))
    merge_job = state.submissions[-1].merge_job if state.submissions else None
    if (run_dir / MERGED_FILE).exists():
        merge = f"merged: {run_dir / MERGED_FILE}"
    elif merge_job in queued:
        merge = f"merge job {merge_job}: {queued[merge_job].lower()}"
    else:
        merge = f"merge job {merge_job}: gone without {MERGED_FILE} (see its log); merge with `gapbench merge {run_dir}`"
    return state, shards, merge


def format_status(run_dir: Path, state: SlurmState, shards: list[ShardStatus], merge: str) -> str:
    jobs = ", ".join(s.array_job for s in state.submissions)
    lines = [
        f"{run_dir}: {state.shards} shards, array jobs {jobs}",
        f"{'shard':>5}  {'state':<8} {'dialogues':>11}  {'job':<12} note",
    ]
    for s in shards:
        lines.append(f"{s.index:>5}  {s.state:<8} {f'{s.done}/{s.total}':>11}  {s.job or '-':<12} {s.note}")
    counts = {k: sum(s.state == k for s in shards) for k in ("done", "running", "pending", "failed")}
    lines += ["", ", ".join(f"{n} {k}" for k, n in counts.items() if n) + f"; {merge}"]
    return "\n".join(lines)


def resume(
    run_dir: Path, *, extra_sbatch: tuple[str, ...] = (), echo: Callable[[str], None] = print
) -> list[int]:
    """Resubmit the failed shards as a new array (same N, same script) and chain a new merge job.

    Shards still queued are left alone (two tasks must never append to one shard file); the new
    merge job also waits for them.
    """
    _check_extra(extra_sbatch)
    state, shards, _ = status(run_dir)
    todo = [s.index for s in shards if s.state == "failed"]
    queued = [s for s in shards if s.state in ("pending", "running")]
    if not todo:
        echo(
            f"nothing to resume: {len(queued)} shards still queued, the others done"
            if queued
            else f"all {state.shards} shards are done"
        )
        return []
    old_merge = state.submissions[-1].merge_job
    if old_merge and old_merge in _queue({old_merge}):
        _slurm(["scancel", old_merge])  # its dependency can no longer be satisfied
    _submit_array(run_dir, state, todo, list(extra_sbatch), [s.job for s in queued if s.job])
    last = state.submissions[-1]
    echo(
        f"resubmitted shards {array_spec(todo)} of {state.shards} as array job {last.array_job}; merge job {last.merge_job}"
    )
    if queued:
        echo(f"left alone (still queued): shards {array_spec([s.index for s in queued])}")
    return todo
