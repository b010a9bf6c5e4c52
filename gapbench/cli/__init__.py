"""The `gapbench` command. Thin: parse arguments, call one library function per command.

Heavy imports (torch, transformers, vllm, datasets) happen inside the command functions so that
`gapbench --help` stays instant.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback

from gapbench.cli import (
    grading_commands,
    maze_commands,
    model_commands,
    play_commands,
    report_commands,
    run_commands,
    slurm_commands,
)
from gapbench.cli.args import UserError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gapbench",
        description=(
            "gapbench measures the collaboration gap: two copies of a language model each see half "
            "of a maze and must talk their way to the goal. Run a study with `gapbench run CONFIG`."
        ),
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (anywhere on the line)"
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="`gapbench COMMAND --help` explains each"
    )
    maze_commands.add_mazes(sub)
    run_commands.add_run(sub)
    run_commands.add_prompts(sub)
    report_commands.add_report(sub)
    grading_commands.add_grading(sub)
    report_commands.add_plan_power(sub)
    model_commands.add_models(sub)
    slurm_commands.add_slurm(sub)
    slurm_commands.add_merge(sub)
    play_commands.add_bench(sub)
    play_commands.add_play(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from gapbench.engines.base import EngineError
    from gapbench.redact import redact_text

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(
        [a for a in argv if a != "--debug"]
    )  # --debug works anywhere on the line
    args.debug = "--debug" in argv
    logging.basicConfig(format="gapbench: %(levelname)s: %(message)s", level=logging.WARNING)
    try:
        code = args.func(args)
    except (UserError, ValueError, OSError, EngineError) as exc:
        # Library code raises these with messages written for the user (bad input, missing or
        # corrupt files, an unwritable or full disk, a server that refuses).
        if args.debug:
            traceback.print_exc()
        print(f"gapbench {args.command}: error: {redact_text(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code or 0
