"""`gapbench regrade`: grade stored transcripts again with the current grader, without rerunning
any dialogue.

Each record keeps its old grades beside the new ones: a grade whose version differs from the new
one moves to the key ``METHOD@VERSION`` (e.g. ``rule@unversioned``), and the new grade takes the
plain key (``rule`` or ``llm``) that reports read. An unchanged grader gives identical grades, and
then nothing is archived. Shard files are rewritten whole, atomically (a temporary file, fsync,
rename), so a crash leaves either the old or the new file, never a mix.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from gapbench import rundir
from gapbench.grading.extract import Extraction
from gapbench.grading.record import GradeRecord, grade_transcript
from gapbench.maze import Maze
from gapbench.results import MERGED_FILE, DialogueRecord, iter_records, shard_files
from gapbench.transcript import Transcript

LLMExtractor = Callable[[Sequence[Transcript]], list[Extraction]]


@dataclass(frozen=True)
class RegradeReport:
    files: int
    records: int
    changed: int  # records whose primary grade changed (success or weighted)
    archived: int  # old grades kept under METHOD@VERSION


def _mazes(run_dir: Path) -> dict[str, Maze]:
    """The run's mazes by content id, rebuilt from the config stored in run.json."""
    from gapbench.study import Study, load_mazes

    info = rundir.read_info(run_dir)
    if info is None:
        raise ValueError(f"{run_dir}: run.json is missing; regrade needs the run's own run.json")
    config = Study.model_validate(info.config)
    base = Path(info.config_path or run_dir / "config.yaml").parent
    return {m.id: m.maze for m in load_mazes(config, base)}


def _merge(record: DialogueRecord, method: str, new: GradeRecord) -> tuple[DialogueRecord, int]:
    grades = dict(record.grades)
    archived = 0
    old = grades.get(method)
    if old is not None and old != new:
        key = f"{method}@{old.version}"
        if old.version == new.version:
            key = f"{method}@{old.version}-previous"
        grades[key] = old
        archived = 1
    grades[method] = new
    primary = record.primary
    if method == "llm" and primary != "referee":  # the referee's executed route stays the ground truth
        primary = "llm" if new.error is None else "rule"
    return replace(record, grades=grades, primary=primary), archived


def regrade(
    run_dir: Path | str,
    *,
    llm: LLMExtractor | None = None,
) -> RegradeReport:
    """Regrade every record of ``run_dir`` with the rule grader, or with ``llm`` (a function from
    transcripts to LLM extractions, e.g. ``grading.llm.extractor(engine)``)."""
    run_dir = Path(run_dir)
    files = shard_files(run_dir)
    merged = run_dir / MERGED_FILE
    if merged.is_file():
        files.append(merged)
    if not files:
        raise FileNotFoundError(
            f"{run_dir} has no results to regrade (expected results/shard-*.jsonl); run `gapbench run CONFIG` first"
        )
    mazes = _mazes(run_dir)
    method = "rule" if llm is None else "llm"
    total = changed = archived = 0
    for path in files:
        with rundir.shard_lock(path):  # a run still writing this shard would lose what it adds meanwhile
            records = list(iter_records([path]))
            missing = sorted({r.maze_id for r in records} - mazes.keys())
            if missing:
                raise ValueError(
                    f"{path}: records refer to mazes the run's config does not produce ({', '.join(missing[:3])}); was the maze set changed?"
                )
            extractions = llm([r.transcript for r in records]) if llm is not None else None
            out: list[DialogueRecord] = []
            for i, r in enumerate(records):
                maze = mazes[r.maze_id]
                new = (
                    grade_transcript(maze, r.transcript, extractions[i])
                    if extractions is not None
                    else grade_transcript(maze, r.transcript)
                )
                before = r.grade
                updated, n = _merge(r, method, new)
                archived += n
                changed += (before.success, before.weighted) != (
                    updated.grade.success,
                    updated.grade.weighted,
                )
                out.append(updated)
                total += 1
            _rewrite(path, out)
    return RegradeReport(len(files), total, changed, archived)


def _rewrite(path: Path, records: list[DialogueRecord]) -> None:
    tmp = path.with_name(f"{path.name}.regrade-{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for r in records:
            f.write(r.to_json() + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    # The rename is durable once the directory entry is.
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def describe(report: RegradeReport) -> str:
    return (
        f"regraded {report.records} records in {report.files} file(s): {report.changed} changed outcome, "
        f"{report.archived} earlier grades kept beside the new ones"
    )
