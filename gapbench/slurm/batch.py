"""The array and merge batch scripts of a study, rendered from gapbench/slurm_templates."""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gapbench.slurm.state import SLURM_DIR

SIGNAL_SECONDS = 90  # USR1 this long before the time limit: time to save, requeue and exit
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


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
