"""Results: one typed record per dialogue, in append-only JSONL shards, read through one function.

A record is written as one line, flushed and fsynced; it counts only once its line is complete.
A crash can leave at most a torn last line, which readers ignore and writers cut off before
appending, so a killed run loses only the dialogues in flight and never duplicates one.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable

from gapbench.grading.record import GradeRecord
from gapbench.transcript import Transcript

RESULTS_DIR = "results"
RUN_FILE = "run.json"
MERGED_FILE = "merged.jsonl"  # beside results/, so readers of the shards never count a dialogue twice


@dataclass(frozen=True)
class DialogueRecord:
    dialogue_id: str
    run_hash: str  # hash of the config's result-relevant settings
    prompt_version: str
    condition: str  # solo_full | solo_distributed | collab | relay_primer | relay_recovery
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
    timings: dict[str, float] = field(default_factory=dict)

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
    def pair(self) -> str:
        return "+".join(self.models)

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
    def from_dict(cls, data: dict[str, Any]) -> "DialogueRecord":
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["transcript"] = Transcript.from_dict(data["transcript"])
        kwargs["grades"] = {k: GradeRecord.from_dict(g) for k, g in data["grades"].items()}
        return cls(**kwargs)


def shard_name(index: int, count: int) -> str:
    return f"shard-{index:04d}-of-{count:04d}.jsonl"


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
            raise OSError(f"cannot write results to {self.path}: {exc.strerror or exc}; free space or choose another output_dir, then rerun to resume") from None

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> "ResultsWriter":
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
    return sorted((run_dir / RESULTS_DIR).glob("shard-*.jsonl"))


def iter_records(paths: Iterable[Path]) -> Iterable[DialogueRecord]:
    for path in paths:
        with open(path, "rb") as f:
            for lineno, raw in enumerate(f, 1):
                if not raw.endswith(b"\n"):
                    break  # torn tail of a crashed write: not a record
                try:
                    yield DialogueRecord.from_dict(json.loads(raw))
                except (ValueError, KeyError, TypeError) as exc:
                    raise ValueError(f"{path}:{lineno}: corrupt record ({exc}); remove that line to go on") from None


def read_results(run_dir: Path | str, *, allow_mixed: bool = False) -> list[DialogueRecord]:
    """Every complete record of a run directory, deduplicated on dialogue id (first one wins).

    Refuses directories whose records come from different configs unless ``allow_mixed``.
    """
    run_dir = Path(run_dir)
    files = shard_files(run_dir)
    if not files:
        raise FileNotFoundError(f"{run_dir} has no results (expected {RESULTS_DIR}/shard-*.jsonl); run `gapbench run CONFIG` first")
    seen: dict[str, DialogueRecord] = {}
    for record in iter_records(files):
        seen.setdefault(record.dialogue_id, record)
    records = list(seen.values())
    hashes = sorted({r.run_hash for r in records})
    if len(hashes) > 1 and not allow_mixed:
        raise ValueError(f"{run_dir} mixes results of {len(hashes)} configs ({', '.join(hashes)}); keep one run per directory")
    return records


def write_run_info(run_dir: Path, info: dict[str, Any]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / f"{RUN_FILE}.{os.getpid()}.tmp"  # per process: shards of one run start together
    tmp.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, run_dir / RUN_FILE)


def read_run_info(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / RUN_FILE
    return json.loads(path.read_text()) if path.is_file() else None


@dataclass(frozen=True)
class MergeReport:
    path: Path | None  # None while dialogues are missing
    records: int
    missing: list[str]  # planned dialogue ids with no record


def merge(run_dir: Path, planned: list[str], run_hash: str) -> MergeReport:
    """One record per planned dialogue, in plan order, in RUN_DIR/merged.jsonl.

    Shards of any N are merged (records are keyed by dialogue id); nothing is written while a
    planned dialogue is missing, so a merged file is always the complete study.
    """
    records = {r.dialogue_id: r for r in read_results(run_dir)}
    foreign = sorted({r.run_hash for r in records.values()} - {run_hash})
    if foreign:
        raise ValueError(f"{run_dir} holds records of another config (hash {', '.join(foreign)}, run.json says {run_hash}); keep one run per directory")
    missing = [i for i in planned if i not in records]
    if missing:
        return MergeReport(None, 0, missing)
    path = run_dir / MERGED_FILE
    tmp = path.with_name(f"{MERGED_FILE}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for dialogue_id in planned:
            f.write(records[dialogue_id].to_json() + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return MergeReport(path, len(planned), [])


def export(run_dir: Path, out: Path) -> Path:
    """Write a run's records as a Hugging Face dataset (parquet), one row per dialogue."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    for r in read_results(run_dir):
        g = r.grade
        rows.append({
            "dialogue_id": r.dialogue_id, "run_hash": r.run_hash, "prompt_version": r.prompt_version,
            "condition": r.condition, "maze_id": r.maze_id, "maze_size": r.maze_size, "models": r.models,
            "pair": r.pair, "rollout": r.rollout, "seed": r.seed, "relay_k": r.relay_k,
            "relay_after": r.relay_after, "end": r.transcript.end, "turns": len(r.transcript.agent_messages),
            "success": g.success, "weighted": g.weighted, "grade_method": g.method,
            "grader_agreement": r.grader_agreement, **{f"{k}_tokens": v for k, v in r.tokens().items()},
            "transcript": r.transcript.to_json(), "grades": json.dumps({k: asdict(v) for k, v in r.grades.items()}),
        })  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    path = out / "dialogues.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path
