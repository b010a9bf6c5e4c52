"""Results: one typed record per dialogue, in append-only JSONL shards, read through one function.

A record is written as one line, flushed and fsynced; it counts only once its line is complete.
A crash can leave at most a torn last line, which readers ignore and writers cut off before
appending, so a killed run loses only the dialogues in flight and never duplicates one.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ConfigDict

from gapbench.grading.record import GradeRecord
from gapbench.rundir import MERGED_FILE, RESULTS_DIR, check_same_config
from gapbench.transcript import Transcript
from gapbench.validation import read_record

log = logging.getLogger(__name__)

# A record's condition: the config's conditions with `relay` split into its two arms (the protocol
# plays both arms and the referee as `collab`: a record's transcript.condition).
CONDITIONS = ("solo_full", "solo_distributed", "collab", "referee", "relay_primer", "relay_recovery")
RECORD_FORMAT = (
    3  # 3: intervention and the referee condition; 2: format_version; 1: records before it (read as such)
)


def pair_name(models: Iterable[str]) -> str:
    """The one name of a seating, first speaker first: ``a+b``."""
    return "+".join(models)


@dataclass(frozen=True)
class DialogueRecord:
    """One dialogue as stored: one JSON line of a shard, read by `from_dict` (unknown fields refused)."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    dialogue_id: str
    run_hash: str  # hash of the config's result-relevant settings
    prompt_version: str
    condition: str  # solo_full | solo_distributed | collab | referee | relay_primer | relay_recovery
    maze_id: str
    maze_size: int
    models: list[str]  # model keys seated at the start, first speaker first
    rollout: int
    seed: int
    transcript: Transcript
    grades: dict[str, GradeRecord]  # by method; always "rule", plus "llm" with an LLM grader
    primary: str  # the grade that counts
    relay_k: int | None = None
    relay_after: list[str] | None = None
    base_id: str | None = None
    intervention: str = "none"  # the prompt overlay (none, a shipped name, or an overlay file's stem)
    timings: dict[str, float] = field(default_factory=dict)
    format_version: int = 1  # records without it are format 1; writers write RECORD_FORMAT

    @property
    def grade(self) -> GradeRecord:
        return self.grades[self.primary]

    @property
    def grader_agreement(self) -> bool | None:
        """Do the LLM and rule extractions lead to the same outcome? None without an LLM grader."""
        if "llm" not in self.grades:
            return None
        a, b = self.grades["llm"], self.grades["rule"]
        return a.success == b.success and abs(a.weighted - b.weighted) < 1e-9

    @property
    def referee_agreement(self) -> bool | None:
        """Does the rule grader's route equal the referee's executed one? None without a referee."""
        if "referee" not in self.grades:
            return None
        return (
            self.grades["rule"].cells == self.grades["referee"].cells
            and self.grades["rule"].end == self.grades["referee"].end
        )

    @property
    def pair(self) -> str:
        return pair_name(self.models)

    def tokens(self) -> dict[str, int]:
        msgs = self.transcript.agent_messages
        return {
            "prompt": sum(m.prompt_tokens or 0 for m in msgs),
            "completion": sum(m.completion_tokens or 0 for m in msgs),
            "cached": sum(m.cached_tokens or 0 for m in msgs),
        }

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Any) -> DialogueRecord:
        """A record from its JSON form, every field type-checked; ValueError names the bad field."""
        record = read_record(cls, data, top="(the line)")
        if record.format_version > RECORD_FORMAT:
            raise ValueError(
                f"format_version {record.format_version} is newer than this gapbench reads ({RECORD_FORMAT}); upgrade gapbench"
            )
        if record.condition not in CONDITIONS:
            raise ValueError(f"condition: {record.condition!r} is not one of {', '.join(CONDITIONS)}")
        seats = 1 if record.condition.startswith("solo") else 2
        if len(record.models) != seats:
            raise ValueError(
                f"models: {record.condition} seats {seats} model(s), the record names {len(record.models)}"
            )
        if record.primary not in record.grades:
            raise ValueError(
                f"primary: {record.primary!r} is not one of its grades ({', '.join(record.grades) or 'none'})"
            )
        for method, g in record.grades.items():
            if not math.isfinite(g.weighted):
                raise ValueError(f"grades.{method}.weighted: {g.weighted} is not a finite number")
        return record


def shard_name(index: int, count: int) -> str:
    return f"shard-{index:04d}-of-{count:04d}.jsonl"


def shard_counts(run_dir: Path) -> list[int]:
    """The N of every shard file of a run (shards never move between N), sorted."""
    return sorted({int(p.stem.rsplit("-of-", 1)[1]) for p in shard_files(run_dir)})


class ResultsWriter:
    """Appends records to one shard file; every record is flushed and fsynced before it counts."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        _cut_torn_tail(path)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, record: DialogueRecord) -> None:
        line = memoryview((record.to_json() + "\n").encode("utf-8"))
        size = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            while line:  # unbuffered: nothing is left behind to flush (and fail) later
                line = line[os.write(self._fd, line) :]
            os.fsync(self._fd)
        except OSError as exc:
            # Disk full or gone: leave the shard as it was (no half record), then stop the run.
            try:
                os.ftruncate(self._fd, size)
            except OSError:
                pass
            raise OSError(
                f"cannot write results to {self.path}: {exc.strerror or exc}; free space or choose another output_dir, then rerun to resume"
            ) from None

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cut_torn_tail(path: Path) -> None:
    """Drop an incomplete last line left by a crash mid-write."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return
        f.seek(0)
        data = f.read()
        f.truncate(data.rfind(b"\n") + 1)


def shard_files(run_dir: Path) -> list[Path]:
    # Only readable files: another shard's path that cannot be opened (a dangling link, a shard whose task
    # failed to start) must not stop this one.
    return sorted(p for p in (run_dir / RESULTS_DIR).glob("shard-*.jsonl") if p.is_file())


def iter_records(paths: Iterable[Path]) -> Iterable[DialogueRecord]:
    for path in paths:
        with open(path, "rb") as f:
            for lineno, raw in enumerate(f, 1):
                if not raw.endswith(b"\n"):
                    break  # torn tail of a crashed write: not a record
                try:
                    record = DialogueRecord.from_dict(json.loads(raw))
                except (ValueError, RecursionError) as exc:
                    raise ValueError(
                        f"{path}:{lineno}: not a gapbench record ({exc}); fix or remove that line"
                    ) from None
                yield record


def latest(records: Iterable[DialogueRecord]) -> dict[str, DialogueRecord]:
    """One record per dialogue id. A dialogue redone after an error (``--retry-errors``) counts by its
    redo; otherwise the first record wins, and two that disagree are reported."""
    seen: dict[str, DialogueRecord] = {}
    for record in records:
        kept = seen.get(record.dialogue_id)
        if kept is None or (kept.transcript.end == "error" and record.transcript.end != "error"):
            seen[record.dialogue_id] = record
        elif record.transcript.end != "error" and _outcome(kept) != _outcome(record):
            log.warning(
                "dialogue %s has two records that disagree (%s vs %s); the first is kept",
                record.dialogue_id,
                _outcome(kept),
                _outcome(record),
            )
    return seen


def _outcome(r: DialogueRecord) -> tuple[str, bool, float]:
    return (r.transcript.end, r.grade.success, r.grade.weighted)


def read_results(run_dir: Path | str) -> list[DialogueRecord]:
    """Every complete record of a run directory, one per dialogue id (see `latest`).

    Refuses directories whose records come from different configs.
    """
    run_dir = Path(run_dir)
    files = shard_files(run_dir)
    if not files:
        raise FileNotFoundError(
            f"{run_dir} has no results (expected {RESULTS_DIR}/shard-*.jsonl); run `gapbench run CONFIG` first"
        )
    records = list(latest(iter_records(files)).values())
    for r in records:
        check_same_config(run_dir, records[0].run_hash, r.run_hash, "keep one run per directory")
    return records


@dataclass(frozen=True)
class MergeReport:
    path: Path | None  # None while dialogues are missing
    records: int
    missing: list[str]  # planned dialogue ids with no record
    unplanned: int  # records of dialogues the plan does not hold (left out of merged.jsonl)


def merge(run_dir: Path, planned: list[str], run_hash: str) -> MergeReport:
    """One record per planned dialogue, in plan order, in RUN_DIR/merged.jsonl.

    Shards of any N are merged (records are keyed by dialogue id); nothing is written while a
    planned dialogue is missing, so a merged file is always the complete study.
    """
    records = {r.dialogue_id: r for r in read_results(run_dir)}
    for r in records.values():
        check_same_config(run_dir, run_hash, r.run_hash, "keep one run per directory")
    unplanned = len(records.keys() - set(planned))
    missing = [i for i in planned if i not in records]
    if missing:
        return MergeReport(None, 0, missing, unplanned)
    path = run_dir / MERGED_FILE
    tmp = path.with_name(f"{MERGED_FILE}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for dialogue_id in planned:
            f.write(records[dialogue_id].to_json() + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return MergeReport(path, len(planned), [], unplanned)


def export(run_dir: Path, out: Path) -> Path:
    """Write a run's records as a Hugging Face dataset (parquet), one row per dialogue."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    for r in read_results(run_dir):
        g = r.grade
        rows.append(
            {
                "dialogue_id": r.dialogue_id,
                "run_hash": r.run_hash,
                "prompt_version": r.prompt_version,
                "condition": r.condition,
                "maze_id": r.maze_id,
                "maze_size": r.maze_size,
                "models": r.models,
                "pair": r.pair,
                "rollout": r.rollout,
                "seed": r.seed,
                "relay_k": r.relay_k,
                "relay_after": r.relay_after,
                "intervention": r.intervention,
                "end": r.transcript.end,
                "turns": len(r.transcript.agent_messages),
                "success": g.success,
                "weighted": g.weighted,
                "grade_method": g.method,
                "grader_agreement": r.grader_agreement,
                **{f"{k}_tokens": v for k, v in r.tokens().items()},
                "transcript": r.transcript.to_json(),
                "grades": json.dumps({k: asdict(v) for k, v in r.grades.items()}),
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    path = out / "dialogues.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path
