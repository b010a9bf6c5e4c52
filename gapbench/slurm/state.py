"""RUN_DIR/slurm/slurm.json, what a SLURM submission recorded, and the study plan its shards split."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pydantic import ConfigDict

from gapbench import rundir
from gapbench.study import DialogueSpec, Study, load_mazes, plan
from gapbench.validation import read_record

SLURM_DIR = "slurm"
STATE_FILE = "slurm.json"
STATE_FORMAT = 1  # slurm.json files before format_version read as 1


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
