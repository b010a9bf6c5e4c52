"""`gapbench report` and `gapbench plan-power`."""

from __future__ import annotations

import argparse
from pathlib import Path

from gapbench.cli.args import UserError, out_dir


def _cmd_report(args: argparse.Namespace) -> None:
    from gapbench.report import build_report

    path = build_report(
        [Path(d) for d in args.run_dirs],
        Path(args.out),
        per_group=args.per_group,
        complete_only=args.complete_only,
    )
    print(f"wrote {path.parent}/report.md, report.json, the plots and {path}")


def add_report(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "report",
        help="aggregate one or more runs into report.md, report.json, PNG plots and report.html",
        description=(
            "Aggregate runs: solo vs collaboration and the collaboration gap, heterogeneous pairs and ordering, "
            "relay, base vs distilled models, efficiency, grader agreement and coordinate schemes, beside the "
            "paper's published numbers. report.html is self-contained, with a transcript viewer."
        ),
    )
    p.add_argument(
        "run_dirs", nargs="+", metavar="RUN_DIR", help="run directories (the output_dir of `gapbench run`)"
    )
    p.add_argument("--out", type=out_dir("--out", "report"), required=True, help="output directory")
    p.add_argument(
        "--per-group",
        type=int,
        default=50,
        metavar="N",
        help="dialogues per run, condition, models and K embedded in the transcript viewer (default 50; 0: all)",
    )
    p.add_argument(
        "--complete-only",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="tables use only the mazes on which every planned cell finished, so a partial run compares balanced sets (default: on)",
    )
    p.set_defaults(func=_cmd_report)


def _cmd_plan_power(args: argparse.Namespace) -> None:
    from gapbench.power import plan_power

    if not 0 < args.effect < 2:
        raise UserError(
            f"--effect {args.effect}: give the smallest difference in weighted outcome worth detecting, e.g. 0.1"
        )
    if not (0 < args.alpha < 1 and 0 < args.power < 1):
        raise UserError(
            "--alpha and --power are probabilities between 0 and 1, e.g. --alpha 0.05 --power 0.8"
        )
    pilot = [Path(d) for d in args.pilot] if args.pilot else None
    print(
        plan_power(
            Path(args.config),
            args.effect,
            pilot=pilot,
            alpha=args.alpha,
            power=args.power,
            max_mazes=args.max_mazes,
        )
    )


def add_plan_power(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "plan-power",
        help="mazes and rollouts needed to detect a gap, ordering effect, collapse or relay gain, and the GPU time",
        description=(
            "For each comparison the config's design makes (collaboration gap, ordering effect, base vs distilled "
            "collapse, relay gain over weak + weak): the mazes and rollouts a paired test needs to detect --effect with --power at --alpha, from "
            "a pilot run's maze-to-maze and rollout-to-rollout variance (stated defaults without one), and the GPU "
            "time of the whole study from the pilot's tokens and throughput. See docs/STATISTICS.md."
        ),
    )
    p.add_argument("config", help="experiment YAML of the planned study")
    p.add_argument(
        "--effect",
        type=float,
        required=True,
        help="smallest difference in weighted outcome worth detecting, e.g. 0.1",
    )
    p.add_argument(
        "--pilot",
        action="append",
        metavar="RUN_DIR",
        help="a pilot run directory (repeatable); its variance and speed are used",
    )
    p.add_argument("--power", type=float, default=0.8, help="chance to detect the effect (default 0.8)")
    p.add_argument(
        "--alpha",
        type=float,
        default=0.05,
        help="two-sided level per comparison (default 0.05; Holm makes the report stricter)",
    )
    p.add_argument(
        "--max-mazes",
        type=int,
        metavar="N",
        help="mazes available (e.g. a fixed maze set): use more rollouts instead",
    )
    p.set_defaults(func=_cmd_plan_power)
