"""Shard a study over a SLURM job array: submit, watch, resume; a chained job merges the shards.

Array task i runs `gapbench run CONFIG --shard i/N` and appends only to its own shard file. Shards
are fixed by stable dialogue ids (study.select_shard), and N is recorded at submit time in
RUN_DIR/slurm/slurm.json, so a resumed or requeued task always redoes exactly its own leftovers.
State comes from squeue (jobs still queued) plus the shard files and the per-shard done/failed
markers the batch script writes; sacct would need slurmdbd, which many clusters don't expose.

``batch`` writes the array and merge batch scripts, ``state`` keeps what was submitted (slurm.json)
and the study's plan, ``queue`` submits, watches and resumes through sbatch, squeue and scancel.
"""

from gapbench.slurm.batch import (
    Resources,
    SlurmError,
    array_spec,
    check_values,
    default_gapbench,
    render,
    scripts,
)
from gapbench.slurm.queue import ShardStatus, format_status, resume, status, submit
from gapbench.slurm.state import (
    SLURM_DIR,
    STATE_FILE,
    STATE_FORMAT,
    SlurmState,
    Submission,
    planned_specs,
    run_plan,
)

__all__ = [
    "SLURM_DIR",
    "STATE_FILE",
    "STATE_FORMAT",
    "Resources",
    "ShardStatus",
    "SlurmError",
    "SlurmState",
    "Submission",
    "array_spec",
    "check_values",
    "default_gapbench",
    "format_status",
    "planned_specs",
    "render",
    "resume",
    "run_plan",
    "scripts",
    "status",
    "submit",
]
