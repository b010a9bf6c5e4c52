"""`gapbench play` (the human-AI web game) and `gapbench bench`."""

from __future__ import annotations

import argparse
from pathlib import Path

from gapbench.cli.args import UserError


def _cmd_play(args: argparse.Namespace) -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise UserError("the web game needs FastAPI and uvicorn: pip install 'gapbench[play]'") from None
    from gapbench.play.lab import PLAY_CONFIG, open_lab
    from gapbench.play.server import check_address, serve

    if not 0 < args.port < 65536:
        raise UserError(f"--port {args.port}: give a port between 1 and 65535, e.g. 8765")
    if args.max_chars < 1:
        raise UserError(f"--max-chars {args.max_chars}: give at least 1")
    check_address(args.host, args.port)
    lab = open_lab(
        Path(args.config) if args.config else PLAY_CONFIG,
        model=args.model,
        seat=args.seat,
        mazes=Path(args.mazes) if args.mazes else None,
        games=args.games,
        out=Path(args.out) if args.out else None,
        max_chars=args.max_chars,
        consent=Path(args.consent) if args.consent else None,
    )
    try:
        serve(lab, host=args.host, port=args.port)
    except KeyboardInterrupt:
        pass  # Ctrl+C: every finished game is already recorded
    finally:
        lab.close()
    print(f"gapbench play: stopped; the games are in {lab.run_dir}")


def add_play(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "play",
        help="a person plays the maze game with a model in the browser; games are recorded and graded like runs",
        description=(
            "Serve the maze game on a local web page: a person takes one seat, MODEL the other (through its engine: "
            "transformers, vLLM, an OpenAI-compatible server or a scripted agent). Each participant gets a random id and "
            "plays the study's mazes in turn, seats balanced across mazes and participants. Every game is one graded "
            "record in RUN_DIR (condition collab, the person as human:<id>), read by `gapbench report`."
        ),
    )
    p.add_argument(
        "config",
        nargs="?",
        help="a study YAML whose mazes, protocol, turn limit and sampling are used (default: examples/play.yaml)",
    )
    p.add_argument(
        "--model",
        required=True,
        metavar="NAME",
        help="a key of the study's models, a registry name, or scripted:oracle",
    )
    p.add_argument(
        "--seat",
        choices=["first", "second"],
        help="the person always speaks first / second (default: balanced)",
    )
    p.add_argument(
        "--mazes",
        metavar="DIR",
        help="play this maze set (`gapbench mazes generate`) instead of the study's mazes",
    )
    p.add_argument(
        "--games", type=int, metavar="N", help="games per participant: the first N mazes (default: all)"
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; any other needs the printed token)",
    )
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument(
        "--out", metavar="RUN_DIR", help="run directory for the records (default: runs/play-<study name>)"
    )
    p.add_argument(
        "--consent",
        metavar="FILE",
        help="a text file shown before the first game (default: a short generic consent text)",
    )
    p.add_argument(
        "--max-chars",
        type=int,
        default=1000,
        metavar="N",
        help="longest message a person may send (default 1000)",
    )
    p.set_defaults(func=_cmd_play)


def _cmd_bench(args: argparse.Namespace) -> None:
    from gapbench.bench import main_bench

    main_bench(args)


def add_bench(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from gapbench.bench import add_arguments

    p = sub.add_parser(
        "bench",
        help="dialogue throughput: naive HF loop (a) vs the transformers engine (b) vs the vLLM engine (c)",
        description=(
            "Run one fixed dialogue workload (every reply forced to --max-tokens, greedy) against the naive "
            "baseline (a: one dialogue at a time, model.generate on the whole chat), gapbench's transformers "
            "engine (b: batched, KV reuse; b0: without reuse) and gapbench's vLLM engine (c), each in its own "
            "subprocess, and print dialogues per hour, tokens/s, cached vs prefilled prompt tokens and peak "
            "memory in one table. See docs/PERFORMANCE.md."
        ),
    )
    add_arguments(p)
    p.set_defaults(func=_cmd_bench)
