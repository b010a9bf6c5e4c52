"""`gapbench.run`: a study in (a file, its content as a dict, or a `Study`), a typed `Run` out.

The same run as `gapbench run CONFIG`: same plan, same run directory, resumable by calling again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gapbench.engines.base import Engine
from gapbench.results import DialogueRecord, read_results
from gapbench.study import StudySource

if TYPE_CHECKING:
    import pandas

    from gapbench.scheduler import Throughput


@dataclass(frozen=True)
class Run:
    """What a call of `run` did, and where its records are."""

    run_dir: Path
    written: int  # records this call added
    skipped: int  # dialogues already recorded by an earlier call
    total: int  # dialogues in the (shard's) plan
    throughput: Throughput | None  # None when nothing was generated
    deferred: list[str] = field(default_factory=list)  # passing engine failures: call again to retry

    def records(self) -> list[DialogueRecord]:
        """Every record of the run directory, one per dialogue."""
        return read_results(self.run_dir)

    def frame(self) -> pandas.DataFrame:
        """The records as a table, one row per dialogue and grade (see `results_frame`)."""
        from gapbench.frame import results_frame

        return results_frame(self.run_dir)


def run(
    study: StudySource,
    *,
    engines: Mapping[str, Engine] | None = None,
    output_dir: str | Path | None = None,
    shard: tuple[int, int] = (0, 1),
    progress: bool = True,
) -> Run:
    """Run every dialogue of ``study`` that its run directory does not hold yet.

    ``study`` is a YAML path, its content as a dict (relative paths from the working directory) or a
    `Study`. ``engines`` maps model keys of the study to engines you built (they are used as they
    are and not closed); ``output_dir`` replaces the study's; ``shard`` is ``(i, n)``: only shard i
    of n. ``progress``: a progress bar and the runner's notices; without it, `run` prints nothing.
    """
    from gapbench.runner import run_experiment

    result = run_experiment(
        study,
        engines=engines,
        output_dir=Path(output_dir) if output_dir is not None else None,
        shard=shard,
        progress=progress,
        echo=print if progress else _quiet,
    )
    return Run(
        result.run_dir, result.written, result.skipped, result.total, result.throughput, list(result.deferred)
    )


def _quiet(_line: str) -> None:
    """Without progress, `run` prints nothing."""
