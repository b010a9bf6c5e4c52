"""Submit a study's shards as a SLURM array, read their state from squeue and the shard files,
and resubmit the failed ones."""

from __future__ import annotations

import getpass
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from gapbench import rundir
from gapbench.results import MERGED_FILE, RESULTS_DIR, iter_records, shard_counts, shard_name
from gapbench.slurm.batch import Resources, SlurmError, array_spec, default_gapbench, scripts
from gapbench.slurm.state import SLURM_DIR, STATE_FILE, SlurmState, Submission, planned_specs
from gapbench.study import load_config, select_shard

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


@dataclass(frozen=True)
class ShardStatus:
    index: int
    state: str  # pending | running | done | failed
    done: int  # dialogues recorded
    total: int  # dialogues planned
    job: str | None  # array task, e.g. 1234_3
    note: str = ""


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
