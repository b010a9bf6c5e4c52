"""`gapbench mazes generate / show`."""

from __future__ import annotations

import argparse
from pathlib import Path


def _cmd_mazes_generate(args: argparse.Namespace) -> None:
    from gapbench import mazeset
    from gapbench.maze import MazeParams

    params = MazeParams(size=args.size, density=args.density, min_path=args.min_path, max_path=args.max_path)
    path = mazeset.generate_set(params, count=args.count, seed=args.seed, out=Path(args.out))
    print(f"wrote {args.count} mazes to {path}")


def _cmd_mazes_show(args: argparse.Namespace) -> None:
    from gapbench import mazeset

    print(mazeset.describe(mazeset.load_set(Path(args.dir)), index=args.index))


def add_mazes(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "mazes",
        help="generate and inspect maze sets",
        description="Generate maze sets (parquet, with both split views and the optimal path) and print them.",
    )
    msub = p.add_subparsers(dest="mazes_command", required=True, help="`--help` after one explains it")
    g = msub.add_parser(
        "generate",
        help="write a maze set (a Hugging Face dataset in parquet) with both split views",
        description="Generate COUNT solvable mazes, deterministic from the parameters and --seed.",
    )
    g.add_argument("--size", type=int, default=6, help="grid side N (default 6, the study's main setting)")
    g.add_argument("--density", type=float, default=0.30, help="wall probability (default 0.30)")
    g.add_argument("--count", type=int, default=100, help="number of mazes (default 100)")
    g.add_argument("--seed", type=int, default=0, help="seed of the whole set (default 0)")
    g.add_argument("--min-path", type=int, default=None, help="shortest start-goal path at least this long")
    g.add_argument("--max-path", type=int, default=None, help="shortest start-goal path at most this long")
    g.add_argument("--out", required=True, help="output directory")
    g.set_defaults(func=_cmd_mazes_generate)
    s = msub.add_parser(
        "show",
        help="print a maze of a set and both agents' views",
        description="Print one maze of a set as text (@ start, * goal, # wall) and the half each agent sees (? hidden).",
    )
    s.add_argument("dir", help="a maze set directory written by `gapbench mazes generate`")
    s.add_argument("--index", type=int, default=0, help="which maze (default 0)")
    s.set_defaults(func=_cmd_mazes_show)
