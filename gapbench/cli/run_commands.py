"""`gapbench run`, `gapbench export` and `gapbench prompts show`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gapbench.cli.args import EXIT_RETRY, out_dir, parse_shard


def _cmd_run(args: argparse.Namespace) -> int:
    from gapbench.quickstart import epilogue, is_quickstart
    from gapbench.results import read_results
    from gapbench.runner import Interrupted, run_experiment, summary_table
    from gapbench.study import DEFAULT_CONFIG

    config = Path(args.config) if args.config else DEFAULT_CONFIG
    try:
        result = run_experiment(
            config,
            output_dir=Path(args.output_dir) if args.output_dir else None,
            shard=args.shard,
            new_run=args.new_run,
            dry_run=args.dry_run,
            retry_errors=args.retry_errors,
            progress=not args.no_progress,
        )
    except Interrupted as exc:
        print(f"gapbench run: {exc}", file=sys.stderr)
        raise SystemExit(143) from None
    if args.dry_run:
        return 0
    print(f"\nwrote {result.written} new records to {result.shard_file}")
    if result.throughput is not None and result.throughput.requests:
        print(
            f"generation: {result.throughput.completion_tokens} tokens in {result.throughput.elapsed:.0f} s, {result.throughput.postfix()}"
        )
    if result.written or result.skipped:
        records = read_results(result.run_dir)
        print()
        print(summary_table(records))
        if is_quickstart(config):
            print()
            print(epilogue(records))
    if result.deferred:
        print(
            f"gapbench run: {len(result.deferred)} dialogue(s) met a passing engine failure and were not recorded "
            f"(e.g. {result.deferred[0]}); rerun the same command to retry them",
            file=sys.stderr,
        )
        return EXIT_RETRY
    return 0


def _cmd_export(args: argparse.Namespace) -> None:
    from gapbench.results import export

    out = Path(args.out) if args.out else Path(args.run_dir) / "export"
    print(f"wrote {export(Path(args.run_dir), out)}")


def add_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="run a study (default: examples/quickstart.yaml); rerun the same command to resume",
        description=(
            "Run every dialogue a config plans, grade it and append one record per dialogue to the "
            "run's results. Interrupted runs resume where they stopped when the same command is rerun."
        ),
    )
    p.add_argument(
        "config", nargs="?", help="experiment YAML (default: the quickstart: SmolLM2 on CPU, 8 mazes)"
    )
    p.add_argument(
        "--output-dir",
        type=out_dir("--output-dir", "runs/pilot"),
        metavar="DIR",
        help="write the run here instead of the config's output_dir (e.g. one study, two runs)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (dialogues per condition, token estimate) and exit",
    )
    p.add_argument(
        "--shard",
        type=parse_shard,
        default=(0, 1),
        metavar="i/N",
        help="run only shard i of N (SLURM arrays)",
    )
    p.add_argument(
        "--new-run", action="store_true", help="the config changed: move old results aside and start afresh"
    )
    p.add_argument(
        "--retry-errors",
        action="store_true",
        help="also redo dialogues recorded as errors (context overflow, refusals)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_run)
    e = sub.add_parser(
        "export",
        help="write a run's records as a Hugging Face dataset (parquet)",
        description="Write one row per dialogue (settings, outcome, tokens, transcript and grades as JSON) to DIR/dialogues.parquet; from Python, gapbench.results_frame gives a pandas frame.",
    )
    e.add_argument("run_dir", help="a run directory (the output_dir of `gapbench run`)")
    e.add_argument(
        "--out", type=out_dir("--out", "report"), help="output directory (default: RUN_DIR/export)"
    )
    e.set_defaults(func=_cmd_export)


def _cmd_prompts_show(args: argparse.Namespace) -> None:
    from gapbench.prompts import show_prompts
    from gapbench.study import DEFAULT_CONFIG

    config = Path(args.config) if args.config else DEFAULT_CONFIG
    print(
        show_prompts(
            config,
            condition=args.condition,
            maze=args.maze,
            agent=args.agent,
            model=args.model,
            intervention=args.intervention,
        ),
        end="",
    )


def add_prompts(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "prompts",
        help="inspect what the agents of a study are given",
        description="Print the chats a study's agents get, before spending GPU hours on them.",
    )
    psub = p.add_subparsers(dest="prompts_command", required=True, help="`--help` after one explains it")
    s = psub.add_parser(
        "show",
        help="print the exact chat each agent sees at its first turn (with --model: as the model's template renders it)",
        description=(
            "Print the chat each agent is given at its first turn, for the study's conditions on one of its mazes; "
            "agent 2's chat holds a stand-in for agent 1's first message. With --model, also the text and token "
            "count of that chat under the model's chat template, and the layout the model gets."
        ),
    )
    s.add_argument("config", nargs="?", help="experiment YAML (default: the quickstart)")
    s.add_argument(
        "--condition",
        choices=["solo_full", "solo_distributed", "collab", "referee"],
        help="one condition (default: the study's)",
    )
    s.add_argument(
        "--intervention",
        default="none",
        help="collaboration prompts under this intervention of the study (default: none)",
    )
    s.add_argument("--maze", type=int, default=0, metavar="I", help="which of the study's mazes (default 0)")
    s.add_argument("--agent", type=int, choices=[1, 2], help="one agent (default: both)")
    s.add_argument(
        "--model",
        metavar="NAME",
        help="a key of the study's models, or a registry name, card or model directory",
    )
    s.set_defaults(func=_cmd_prompts_show)
