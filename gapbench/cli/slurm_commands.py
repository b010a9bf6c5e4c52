"""`gapbench slurm submit / status / resume` and `gapbench merge`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cmd_slurm_submit(args: argparse.Namespace) -> None:
    from gapbench import slurm

    res = slurm.Resources(
        partition=args.partition,
        gpus_per_task=args.gpus_per_task,
        cpus_per_task=args.cpus_per_task,
        mem=args.mem,
        time=args.time,
        account=args.account,
        qos=args.qos,
        array_parallelism=args.array_parallelism,
        extra_sbatch=tuple(args.extra_sbatch),
        setup=tuple(args.setup),
    )
    slurm.submit(Path(args.config), args.shards, res, gapbench=args.gapbench, dry_run=args.dry_run)


def _cmd_slurm_status(args: argparse.Namespace) -> None:
    from gapbench import slurm

    run_dir = Path(args.run_dir)
    print(slurm.format_status(run_dir, *slurm.status(run_dir)))


def _cmd_slurm_resume(args: argparse.Namespace) -> None:
    from gapbench import slurm

    slurm.resume(Path(args.run_dir), extra_sbatch=tuple(args.extra_sbatch))


def _cmd_merge(args: argparse.Namespace) -> None:
    from gapbench.results import merge, shard_counts
    from gapbench.slurm import run_plan
    from gapbench.study import select_shard

    run_dir = Path(args.run_dir)
    info, specs = run_plan(run_dir)
    report = merge(run_dir, [s.id for s in specs], info.results_hash)
    if report.unplanned:
        print(
            f"gapbench merge: warning: {report.unplanned} records are of dialogues the plan does not hold; left out",
            file=sys.stderr,
        )
    if report.path is not None:
        print(f"wrote {report.records} dialogues to {report.path}")
        return
    counts = shard_counts(run_dir) or [1]
    missing = set(report.missing)
    print(
        f"gapbench merge: {len(missing)} of {len(specs)} dialogues have no record yet; nothing written",
        file=sys.stderr,
    )
    for i in range(counts[-1]):
        ids = [s.id for s in select_shard(specs, (i, counts[-1])) if s.id in missing]
        if ids:
            print(f"  shard {i}/{counts[-1]}: {len(ids)} missing: {' '.join(ids)}", file=sys.stderr)
    hint = (
        "`gapbench slurm resume RUN_DIR`"
        if (run_dir / "slurm").is_dir()
        else "`gapbench run CONFIG --shard i/N`"
    )
    print(f"finish them with {hint}, then merge again", file=sys.stderr)
    raise SystemExit(1)


def add_slurm(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "slurm",
        help="shard a study over a SLURM job array: submit, status, resume",
        description="One array task per shard runs `gapbench run CONFIG --shard i/N`; a chained job merges. See slurm/README.md.",
    )
    ssub = p.add_subparsers(dest="slurm_command", required=True, help="`--help` after one explains it")
    s = ssub.add_parser(
        "submit",
        help="submit one array task per shard and a merge job after them",
        description=(
            "Render the batch scripts into RUN_DIR/slurm/, submit the array (one task per shard, requeued "
            "with its progress kept when USR1 arrives 90 s before the time limit) and a merge job chained "
            "with --dependency=afterok. Logs go to RUN_DIR/slurm/logs/."
        ),
    )
    s.add_argument("config", help="experiment YAML")
    s.add_argument("--shards", type=int, required=True, metavar="N", help="number of shards = array tasks")
    s.add_argument("--partition", help="sbatch --partition")
    s.add_argument(
        "--gpus-per-task", type=int, metavar="G", help="GPUs per shard (e.g. 1, or the tensor-parallel size)"
    )
    s.add_argument("--cpus-per-task", type=int, metavar="C", help="CPU cores per shard")
    s.add_argument("--mem", help="memory per shard, e.g. 64G")
    s.add_argument("--time", help="time limit per shard, e.g. 4:00:00")
    s.add_argument("--account", help="sbatch --account")
    s.add_argument("--qos", help="sbatch --qos")
    s.add_argument("--array-parallelism", type=int, metavar="K", help="run at most K shards at once")
    s.add_argument(
        "--extra-sbatch",
        action="append",
        default=[],
        metavar="OPTION",
        help="another sbatch option, e.g. --constraint=a100 (repeatable)",
    )
    s.add_argument(
        "--setup",
        action="append",
        default=[],
        metavar="SHELL",
        help="shell line run before gapbench, e.g. 'module load cuda' (repeatable, not quoted)",
    )
    s.add_argument(
        "--gapbench", help="gapbench executable on the compute nodes (default: the one of this Python)"
    )
    s.add_argument("--dry-run", action="store_true", help="print the batch scripts and submit nothing")
    s.set_defaults(func=_cmd_slurm_submit)
    st = ssub.add_parser(
        "status",
        help="per shard: pending, running, done or failed, and dialogues done",
        description="Per shard of a submitted study: its SLURM state (pending, running, done, failed) and dialogues recorded.",
    )
    st.add_argument("run_dir", help="the study's output_dir")
    st.set_defaults(func=_cmd_slurm_status)
    r = ssub.add_parser(
        "resume",
        help="resubmit the unfinished shards (same N and script) and a new merge job",
        description="Resubmit the shards without all their records, with the same shard count and script, and chain a new merge job.",
    )
    r.add_argument("run_dir", help="the study's output_dir")
    r.add_argument(
        "--extra-sbatch",
        action="append",
        default=[],
        metavar="OPTION",
        help="override an sbatch option, e.g. --time=8:00:00 (repeatable)",
    )
    r.set_defaults(func=_cmd_slurm_resume)


def add_merge(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    m = sub.add_parser(
        "merge",
        help="merge a run's shards into RUN_DIR/merged.jsonl (one record per dialogue)",
        description=(
            "Deduplicate the shards on dialogue id and write every planned dialogue once, in plan order, to "
            "RUN_DIR/merged.jsonl (outside results/, so readers of the shards never count twice). Exits 1 and "
            "lists the missing dialogue ids by shard when any is missing."
        ),
    )
    m.add_argument("run_dir", help="the study's output_dir")
    m.set_defaults(func=_cmd_merge)
