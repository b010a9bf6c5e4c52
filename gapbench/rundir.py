"""The run directory contract: what a run directory holds, who may write it, which config may continue it.

    RUN_DIR/run.json                      RunInfo, written just before the first record (never rebuilt)
    RUN_DIR/config.yaml                   a copy of the config that made it
    RUN_DIR/results/shard-i-of-N.jsonl    records (results.py), one writer at a time (.lock beside it)
    RUN_DIR/merged.jsonl, RUN_DIR/slurm/  merge output, SLURM state

Every command that continues or reads a run compares config hashes through `check_same_config`.
The hash covers what changes results, the mazes by their content ids (not a maze set's path).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from gapbench.redact import redact
from gapbench.validation import describe

if TYPE_CHECKING:
    from gapbench.study import Study

RUN_FILE = "run.json"
RESULTS_DIR = "results"
MERGED_FILE = "merged.jsonl"  # beside results/, so readers of the shards never count a dialogue twice
RUN_FORMAT = 2  # 1: run.json before RunInfo (no format_version)
_CLAIM_LOCK = ".run.lock"
# What gapbench itself puts in a run directory; anything else marks a directory gapbench did not make.
# (config.yaml is written after run.json, so one without run.json is the user's, never overwritten.)
OWN_ENTRIES = frozenset({RUN_FILE, RESULTS_DIR, MERGED_FILE, "slurm", "export", _CLAIM_LOCK})


class RunDirError(ValueError):
    """The run directory cannot be used as asked; the message says why and what to do."""


class RunLocked(RunDirError):
    """Another live process writes this shard."""


class RunInfo(BaseModel):
    """RUN_DIR/run.json: which config made the records, so later commands need only the directory."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: int = 1
    name: str
    results_hash: str
    config: dict[str, Any]
    config_path: str | None = None
    prompt_version: str | None = None
    grader_version: str | dict[str, str] | None = (
        None  # by grader (rule, llm); a string before grader versions
    )
    created: str | None = None


def run_hash(config: Study, maze_ids: Sequence[str]) -> str:
    """Hash of everything that changes results: the settings and the mazes' content ids.

    output_dir, name and max_concurrent do not change results; where the mazes came from does not
    either, only which mazes they are (so a maze set regenerated in place is a new study).
    """
    from gapbench.protocol import load_templates
    from gapbench.protocol.interventions import NONE, load_overlay

    data = config.model_dump(mode="json", exclude={"output_dir", "max_concurrent", "name", "mazes"})
    data["protocol"]["templates"] = load_templates(config.protocol.templates).version  # a file by its content
    if config.interventions == [NONE]:
        del data["interventions"]  # studies without interventions keep the hash they had before the factor
    else:
        data["interventions"] = [
            f"{o.name}@{o.version}" for o in map(load_overlay, config.interventions)
        ]  # files by content
    data["maze_ids"] = sorted(maze_ids)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def new_info(
    config: Study, results_hash: str, config_path: Path | None, grader_version: dict[str, str]
) -> RunInfo:
    return RunInfo(
        format_version=RUN_FORMAT,
        name=config.name,
        results_hash=results_hash,
        config=redact(config.model_dump(mode="json")),
        config_path=None if config_path is None else str(config_path.resolve()),
        prompt_version=config.protocol.load().version,
        grader_version=grader_version,
        created=datetime.now(timezone.utc).isoformat(),
    )


def check_same_config(where: Path | str, expected: str, found: str | None, fix: str) -> None:
    """The one same-config check: results of config ``found`` may not join a run of ``expected``."""
    if found is not None and found != expected:
        raise RunDirError(
            f"{where} holds results of another config (hash {found}, expected {expected}); {fix}"
        )


def read_info(run_dir: Path) -> RunInfo | None:
    """RUN_DIR/run.json, validated; None when there is none."""
    path = run_dir / RUN_FILE
    if not path.is_file():
        return None
    try:
        info = RunInfo.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        problem = describe(exc) if isinstance(exc, ValidationError) else f"(top level): {exc}"
        raise RunDirError(
            f"{path} is not a gapbench run.json ({problem}); restore it from a backup, or move the directory aside"
        ) from None
    if info.format_version > RUN_FORMAT:
        raise RunDirError(
            f"{path}: format_version {info.format_version} is newer than this gapbench reads ({RUN_FORMAT}); upgrade gapbench"
        )
    return info


def write_info(run_dir: Path, info: RunInfo) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / f"{RUN_FILE}.{os.getpid()}.tmp"
    tmp.write_text(info.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, run_dir / RUN_FILE)


def has_records(run_dir: Path) -> bool:
    # is_file(): a shard path that cannot be read (a dangling link, a shard that failed to start) holds no records.
    return any(p.is_file() and p.stat().st_size > 0 for p in (run_dir / RESULTS_DIR).glob("shard-*.jsonl"))


def check_output_dir(run_dir: Path, config_path: Path | None) -> None:
    """Refuse places a run must never write into, or move aside with --new-run."""
    run_dir = run_dir.resolve()
    forbidden = {Path("/"): "the file system root", Path.home().resolve(): "the home directory"}
    if run_dir in forbidden:
        raise RunDirError(
            f"output_dir {run_dir} is {forbidden[run_dir]}; set output_dir to a directory of its own, e.g. runs/NAME"
        )
    if config_path is not None and config_path.resolve().is_relative_to(run_dir):
        raise RunDirError(
            f"output_dir {run_dir} contains the config {config_path}; set output_dir to a directory of its own, e.g. runs/NAME"
        )
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"output_dir {run_dir} is a file; set output_dir to a directory")


def _check_own(run_dir: Path) -> None:
    """A directory without run.json may hold only what gapbench puts there before the first record."""
    if not run_dir.is_dir():
        return
    foreign = sorted(
        p.name
        for p in run_dir.iterdir()
        if p.name not in OWN_ENTRIES and not p.name.startswith(f"{RUN_FILE}.")
    )
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise RunDirError(
            f"output_dir {run_dir} is not empty ({shown}) and was not made by gapbench; set output_dir to a new directory"
        )


def check_writable(run_dir: Path) -> None:
    """The run directory can be created and written (checked at --dry-run, before any model loads)."""
    probe = run_dir
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise RunDirError(
            f"output_dir {run_dir}: {probe} is a file, not a directory; set output_dir elsewhere"
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise RunDirError(
            f"output_dir {run_dir}: {probe} is not writable by this user; set output_dir elsewhere or fix its permissions"
        )


def open_run(
    run_dir: Path, results_hash: str, config_path: Path | None, *, new_run: bool, dry_run: bool
) -> str | None:
    """Check a run directory before anything in it is read or skipped; with ``new_run``, move a
    finished run of another config aside. Returns a line to show when something was (or would be) moved."""
    check_output_dir(run_dir, config_path)
    info = read_info(run_dir)
    if info is None:
        if has_records(run_dir):
            raise RunDirError(
                f"{run_dir} has records but no {RUN_FILE}, so their config cannot be checked; restore {RUN_FILE}, "
                "or move the directory aside and start afresh"
            )
        _check_own(run_dir)
        return None
    if info.results_hash == results_hash:
        return None
    if not new_run:
        check_same_config(
            run_dir,
            results_hash,
            info.results_hash,
            "rerun with --new-run to move the old results aside and start afresh, or set another output_dir",
        )
    aside = run_dir.with_name(f"{run_dir.name}.old-{info.results_hash}-{int(time.time())}")
    if dry_run:
        return f"--new-run would move the previous results to {aside}"
    shutil.move(str(run_dir), aside)
    return f"moved the previous results to {aside}"


def claim(run_dir: Path, info: RunInfo, config_text: str) -> None:
    """Write run.json and the config copy just before the first record, unless a run of the same
    config did; a run of another config that got there first wins and this one stops."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / _CLAIM_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            existing = read_info(run_dir)
            if existing is not None:
                check_same_config(
                    run_dir,
                    info.results_hash,
                    existing.results_hash,
                    "another config started writing here first; set another output_dir",
                )
                return
            write_info(run_dir, info)
            (run_dir / "config.yaml").write_text(config_text, encoding="utf-8")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def shard_lock(shard: Path) -> Iterator[None]:
    """Hold SHARD.lock exclusively while writing ``shard``; a second writer refuses at once.

    The kernel drops a flock when its holder dies (kill -9 included), so a stale lock file is
    simply taken over. The holder's host, PID and start time are written into it for the message.
    """
    shard.parent.mkdir(parents=True, exist_ok=True)
    path = shard.with_name(shard.name + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "a process that is starting"
            raise RunLocked(
                f"{shard} is being written by {holder}; wait for it to finish or stop it, then rerun"
            ) from None
        stamp = f"host {socket.gethostname()} pid {os.getpid()} since {datetime.now(timezone.utc).isoformat(timespec='seconds')}"
        os.ftruncate(fd, 0)
        os.pwrite(fd, stamp.encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the flock
