"""`gapbench.run`: a study in (a file, its content as a dict, or a `Study`), a typed `Run` out.

The same run as `gapbench run CONFIG`: same plan, same run directory, resumable by calling again.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gapbench.engines.base import Engine
from gapbench.runner import Run, run_experiment
from gapbench.study import StudySource


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
    return run_experiment(
        study,
        engines=engines,
        output_dir=Path(output_dir) if output_dir is not None else None,
        shard=shard,
        progress=progress,
        echo=print if progress else _quiet,
    )


def _quiet(_line: str) -> None:
    """Without progress, `run` prints nothing."""
